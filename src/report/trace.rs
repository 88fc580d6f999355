//! The trace export: a run's timeline in Chrome's Trace Event Format (JSON), which Perfetto and
//! chrome://tracing open. One track per worker, under its real pid and tid (tasks of the async
//! model, which share one thread, each get a track of their own on it); one complete event per
//! segment, named as the dashboard names the state (`off CPU` and `waiting for a CPU` included).
//! Above them, a process `CPUs` with a track per CPU: one complete event per stretch a worker's
//! thread spent there, as the kernel's switches told (a thread the kernel did not watch has none;
//! `otherData.cpu_tracks` says whether they are complete). It only reads a report.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{json, Value};

use super::RunReport;
use crate::engine::timeline::{CpuSlice, Segment, Timeline, WorkerTimeline};

/// The pid of the CPUs' tracks: above any real pid (at most 2^22).
const CPUS_PID: i32 = 1 << 23;

/// The trace of `report` as one JSON object.
#[must_use]
pub(crate) fn to_trace(report: &RunReport) -> Value {
    let timeline = &report.timeline;
    let own_pid = i32::try_from(std::process::id()).unwrap_or(0);
    let plan = &report.plan;
    let mut events = Vec::new();
    // One name per process: the program itself, or a worker process.
    let mut processes = BTreeMap::new();
    for worker in &timeline.workers {
        let name = if worker.pid == own_pid {
            format!("concur-tui {} {} × {}", plan.workload, plan.model, plan.workers)
        } else {
            format!("concur-tui worker-{}", worker.index)
        };
        processes.entry(worker.pid).or_insert(name);
    }
    for (pid, name) in processes {
        events.push(json!({"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": name}}));
    }
    for worker in &timeline.workers {
        let shared =
            timeline.workers.iter().filter(|other| (other.pid, other.tid) == (worker.pid, worker.tid)).count() > 1;
        let track = Track::of(worker, shared);
        let name = if shared {
            format!("task-{} (tid {})", worker.index, worker.tid)
        } else {
            format!("worker-{}", worker.index)
        };
        events.push(metadata(&track, "thread_name", &json!({"name": name})));
        events.push(metadata(&track, "thread_sort_index", &json!({"sort_index": worker.index})));
        for segment in &worker.segments {
            events.push(complete(timeline, &track, segment));
        }
    }
    events.extend(cpu_tracks(timeline));
    json!({
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {
            "workload": plan.workload.kind.name(),
            "model": plan.model.name(),
            "workers": plan.workers,
            "gil": plan.gil.is_some(),
            "outcome": report.outcome.name(),
            "observer": report.observer.name(),
            "cpu_tracks": cpu_tracks_source(timeline),
            "missed_state_changes": timeline.workers.iter().map(|worker| worker.missed).sum::<u64>(),
        },
    })
}

/// Writes the trace of `report` to `out`.
pub(crate) fn write_trace(report: &RunReport, out: &mut impl Write) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, &to_trace(report)).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Whether the CPU tracks hold every worker's time on a CPU: `exact` when the kernel watched
/// every life and none lost a switch to a full ring, `partial` when only some, `none` when none
/// (the schedstat fallback).
fn cpu_tracks_source(timeline: &Timeline) -> &'static str {
    let watched =
        timeline.workers.iter().filter(|life| life.watched_from_ns.is_some() && life.lost_switches == 0).count();
    match watched {
        0 => "none",
        _ if watched == timeline.workers.len() => "exact",
        _ => "partial",
    }
}

/// A track per CPU: each thread's stretches there, once per thread (tasks sharing one thread
/// have the same stretches), as complete events named after the worker.
fn cpu_tracks(timeline: &Timeline) -> Vec<Value> {
    let mut threads: BTreeMap<(i32, i32), (String, Vec<CpuSlice>)> = BTreeMap::new();
    for life in timeline.workers.iter().filter(|life| !life.on_cpu.is_empty()) {
        let thread =
            threads.entry((life.pid, life.tid)).or_insert_with(|| (format!("worker-{}", life.index), Vec::new()));
        if thread.0 != format!("worker-{}", life.index) {
            thread.0 = format!("event loop (tid {})", life.tid);
        }
        thread.1.extend_from_slice(&life.on_cpu);
    }
    let mut per_cpu: BTreeMap<usize, Vec<(CpuSlice, String, i32, i32)>> = BTreeMap::new();
    for ((pid, tid), (name, mut slices)) in threads {
        slices.sort_by_key(|slice| (slice.cpu, slice.start_ns));
        // The union of each CPU's stretches: tasks that began to be watched at different polls
        // have overlapping copies of one thread's.
        let mut merged: Vec<CpuSlice> = Vec::new();
        for slice in slices {
            match merged.last_mut() {
                Some(last) if last.cpu == slice.cpu && slice.start_ns <= last.end_ns => {
                    last.end_ns = last.end_ns.max(slice.end_ns);
                }
                _ => merged.push(slice),
            }
        }
        for slice in merged {
            per_cpu.entry(slice.cpu).or_default().push((slice, name.clone(), pid, tid));
        }
    }
    if per_cpu.is_empty() {
        return Vec::new();
    }
    let mut events = vec![
        json!({"ph": "M", "name": "process_name", "pid": CPUS_PID, "tid": 0, "args": {"name": "CPUs"}}),
        json!({"ph": "M", "name": "process_sort_index", "pid": CPUS_PID, "tid": 0, "args": {"sort_index": -1}}),
    ];
    for (cpu, mut stretches) in per_cpu {
        let track = Track { pid: CPUS_PID, tid: i64::try_from(cpu).unwrap_or(i64::MAX - 1) + 1 };
        events.push(metadata(&track, "thread_name", &json!({"name": format!("cpu{cpu}")})));
        events.push(metadata(&track, "thread_sort_index", &json!({"sort_index": cpu})));
        stretches.sort_by_key(|(slice, ..)| slice.start_ns);
        for (slice, name, pid, tid) in stretches {
            events.push(json!({
                "ph": "X",
                "name": name,
                "cat": "cpu",
                "pid": track.pid,
                "tid": track.tid,
                "ts": micros(slice.start_ns.saturating_sub(timeline.started_ns)),
                "dur": micros(slice.end_ns.saturating_sub(slice.start_ns)),
                "args": {"pid": pid, "tid": tid},
            }));
        }
    }
    events
}

/// Where a worker's events go: its pid and a track id, its tid unless it shares that thread.
struct Track {
    pid: i32,
    tid: i64,
}

impl Track {
    /// Tasks sharing a thread would overlap on its one track; each gets an id of its own, above
    /// any real tid (at most 2^22), so that Perfetto draws one lane per task.
    fn of(worker: &WorkerTimeline, shared: bool) -> Self {
        let tid = if shared { (i64::from(worker.tid) << 16) + worker.index as i64 } else { i64::from(worker.tid) };
        Self { pid: worker.pid, tid }
    }
}

fn metadata(track: &Track, name: &str, args: &Value) -> Value {
    json!({"ph": "M", "name": name, "pid": track.pid, "tid": track.tid, "args": args})
}

/// A segment as a complete event, in microseconds since the run's start.
fn complete(timeline: &Timeline, track: &Track, segment: &Segment) -> Value {
    json!({
        "ph": "X",
        "name": segment.activity.name(),
        "cat": "state",
        "pid": track.pid,
        "tid": track.tid,
        "ts": micros(segment.start_ns.saturating_sub(timeline.started_ns)),
        "dur": micros(segment.duration_ns()),
        "args": {"cpu": segment.cpu},
    })
}

fn micros(ns: u64) -> f64 {
    crate::units::ns_to_seconds(ns) * 1e6
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::Activity;
    use crate::engine::{Model, PlanRequest};
    use crate::workload::by_name;

    fn report(timeline: Timeline) -> RunReport {
        let plan = PlanRequest { workers: Some(2), ..PlanRequest::new(by_name("io").expect("io"), Model::Processes) }
            .validate_with(&[0, 1])
            .expect("plan");
        RunReport { wall_seconds: 1.0, started_ns: 1_000_000, timeline, ..RunReport::empty(plan) }
    }

    #[test]
    fn one_complete_event_per_segment_with_named_tracks() {
        let segment = |start_ns, end_ns, activity, cpu| Segment { start_ns, end_ns, activity, cpu };
        let timeline = Timeline {
            started_ns: 1_000_000,
            workers: vec![WorkerTimeline {
                index: 3,
                pid: 77,
                tid: 78,
                segments: vec![
                    segment(1_000_500, 1_002_000, Activity::Idle, Some(1)),
                    segment(1_002_000, 1_012_000, Activity::LockWait, None),
                ],
                missed: 2,
                ..WorkerTimeline::default()
            }],
        };
        let trace = to_trace(&report(timeline));
        let events = trace["traceEvents"].as_array().expect("events");
        let complete: Vec<_> = events.iter().filter(|e| e["ph"] == "X").collect();
        assert_eq!(complete.len(), 2);
        assert_eq!(complete[0]["name"], "idle");
        assert_eq!((complete[0]["pid"].as_i64(), complete[0]["tid"].as_i64()), (Some(77), Some(78)));
        assert_eq!((complete[0]["ts"].as_f64(), complete[0]["dur"].as_f64()), (Some(0.5), Some(1.5)));
        assert_eq!(complete[0]["args"]["cpu"], 1);
        assert_eq!(complete[1]["name"], "lock wait");
        assert!(complete[1]["args"]["cpu"].is_null());
        let named = |name: &str| events.iter().find(|e| e["ph"] == "M" && e["name"] == name).cloned();
        assert_eq!(named("thread_name").expect("thread name")["args"]["name"], "worker-3");
        assert_eq!(named("process_name").expect("process name")["args"]["name"], "concur-tui worker-3");
        assert_eq!(trace["otherData"]["missed_state_changes"], 2);
        let mut written = Vec::new();
        write_trace(&report(Timeline::default()), &mut written).expect("write");
        let parsed: Value = serde_json::from_slice(&written).expect("JSON");
        assert_eq!(parsed["traceEvents"].as_array().map(Vec::len), Some(0));
    }

    #[test]
    fn tasks_sharing_one_thread_get_a_track_each() {
        let task = |index| WorkerTimeline {
            index,
            pid: 77,
            tid: 78,
            segments: vec![Segment { start_ns: 1_000_000, end_ns: 2_000_000, activity: Activity::Blocked, cpu: None }],
            ..WorkerTimeline::default()
        };
        let trace = to_trace(&report(Timeline { started_ns: 1_000_000, workers: vec![task(0), task(1)] }));
        let events = trace["traceEvents"].as_array().expect("events");
        let tracks: Vec<_> =
            events.iter().filter(|e| e["ph"] == "X").map(|e| (e["pid"].clone(), e["tid"].clone())).collect();
        assert_eq!(tracks.len(), 2);
        assert_ne!(tracks[0], tracks[1], "two tasks drawn on one track");
        assert!(tracks.iter().all(|(pid, _)| pid == 77));
        let names: Vec<_> =
            events.iter().filter(|e| e["name"] == "thread_name").map(|e| e["args"]["name"].clone()).collect();
        assert_eq!(names, vec![json!("task-0 (tid 78)"), json!("task-1 (tid 78)")]);
    }

    #[test]
    fn each_cpu_gets_a_track_of_the_threads_that_ran_there_once_per_thread() {
        let slice = |start_ns, end_ns, cpu| CpuSlice { start_ns, end_ns, cpu };
        let life = |index, tid, on_cpu: Vec<CpuSlice>, activity| WorkerTimeline {
            index,
            pid: 77,
            tid,
            segments: vec![Segment { start_ns: 1_000_000, end_ns: 1_010_000, activity, cpu: Some(0) }],
            watched_from_ns: Some(1_000_000),
            on_cpu,
            ..WorkerTimeline::default()
        };
        let shared = vec![slice(1_000_000, 1_004_000, 1), slice(1_006_000, 1_010_000, 1)];
        let timeline = Timeline {
            started_ns: 1_000_000,
            workers: vec![
                life(0, 80, vec![slice(1_000_000, 1_005_000, 0)], Activity::Running),
                life(1, 81, vec![slice(1_005_000, 1_010_000, 0)], Activity::OffCpu),
                // Two tasks of one event loop: the thread's stretches once, not twice.
                life(2, 82, shared.clone(), Activity::Running),
                life(3, 82, shared[1..].to_vec(), Activity::Blocked),
            ],
        };
        let trace = to_trace(&report(timeline));
        assert_eq!(trace["otherData"]["cpu_tracks"], "exact");
        let events = trace["traceEvents"].as_array().expect("events");
        let on = |cpu: i64| -> Vec<(String, f64, f64)> {
            events
                .iter()
                .filter(|e| e["ph"] == "X" && e["cat"] == "cpu" && e["tid"].as_i64() == Some(cpu + 1))
                .map(|e| {
                    (
                        e["name"].as_str().unwrap_or("").to_owned(),
                        e["ts"].as_f64().unwrap_or(-1.0),
                        e["dur"].as_f64().unwrap_or(-1.0),
                    )
                })
                .collect()
        };
        assert_eq!(on(0), vec![("worker-0".to_owned(), 0.0, 5.0), ("worker-1".to_owned(), 5.0, 5.0)]);
        assert_eq!(
            on(1),
            vec![("event loop (tid 82)".to_owned(), 0.0, 4.0), ("event loop (tid 82)".to_owned(), 6.0, 4.0)]
        );
        let named = |name: &str| events.iter().filter(|e| e["ph"] == "M" && e["args"]["name"] == name).count();
        assert_eq!((named("CPUs"), named("cpu0"), named("cpu1")), (1, 1, 1));
        assert!(events.iter().any(|e| e["name"] == "off CPU"), "the new state keeps its name");
        let unwatched = Timeline {
            started_ns: 1_000_000,
            workers: vec![WorkerTimeline {
                watched_from_ns: None,
                on_cpu: Vec::new(),
                ..life(0, 80, Vec::new(), Activity::Running)
            }],
        };
        let trace = to_trace(&report(unwatched));
        assert_eq!(trace["otherData"]["cpu_tracks"], "none");
        assert!(trace["traceEvents"].as_array().expect("events").iter().all(|e| e["cat"] != "cpu"));
    }
}
