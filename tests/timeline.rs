//! The record of every worker's states: `run --trace` through the real binary (the lock makes
//! threads take turns, processes run side by side, io threads block together), and the engine's
//! timeline in-process (every life covered from first instruction to end, without a gap).
//! Behaviour only: overlaps and orders, never how fast anything ran.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::{command, new_tag, run, wait_until, Reaped};
use concur_tui::board::Activity;
use concur_tui::engine::{Engine, Model, Phase, PlanRequest};
use concur_tui::workload::by_name;
use serde_json::Value;

/// One worker track of a trace: its complete events as (name, start µs, end µs).
type Track = Vec<(String, f64, f64)>;

fn trace_path() -> PathBuf {
    std::env::temp_dir().join(format!("concur-tui-trace-{}.json", new_tag()))
}

/// `run ARGS --trace FILE` to its end: the exit code and the worker tracks, by (pid, tid).
fn run_traced(args: &[&str]) -> (i32, BTreeMap<(i64, i64), Track>) {
    let (code, trace) = run_trace(args);
    assert_exact_cpu_tracks(&trace);
    (code, tracks(&trace))
}

/// `run ARGS --trace FILE` to its end: the exit code and the trace.
fn run_trace(args: &[&str]) -> (i32, Value) {
    let path = trace_path();
    let path_text = path.display().to_string();
    let output = run(&[&["run"], args, &["--trace", &path_text]].concat());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("no trace ({e}): {output:?}"));
    let _ = std::fs::remove_file(&path);
    (output.status.code().expect("exit code"), serde_json::from_str(&text).expect("JSON trace"))
}

/// The worker tracks of a trace (not the CPUs').
fn tracks(trace: &Value) -> BTreeMap<(i64, i64), Track> {
    let mut tracks: BTreeMap<(i64, i64), Track> = BTreeMap::new();
    for event in trace["traceEvents"].as_array().expect("traceEvents") {
        if event["ph"] == "X" && event["cat"] == "state" {
            let key = (event["pid"].as_i64().expect("pid"), event["tid"].as_i64().expect("tid"));
            let ts = event["ts"].as_f64().expect("ts");
            let dur = event["dur"].as_f64().expect("dur");
            assert!(dur >= 0.0, "{event}");
            let name = event["name"].as_str().expect("name").to_owned();
            tracks.entry(key).or_default().push((name, ts, ts + dur));
        }
    }
    tracks
}

/// A thread's stretch on a CPU, from the CPUs' tracks: (start µs, end µs).
type Stretch = (f64, f64);

/// The CPUs' tracks of a trace: each CPU's stretches, and each thread's (by pid and tid) per CPU.
#[allow(clippy::type_complexity)]
fn cpu_tracks(trace: &Value) -> (BTreeMap<i64, Vec<Stretch>>, BTreeMap<(i64, i64, i64), Vec<Stretch>>) {
    let (mut cpus, mut threads): (BTreeMap<i64, Vec<Stretch>>, BTreeMap<(i64, i64, i64), Vec<Stretch>>) =
        (BTreeMap::new(), BTreeMap::new());
    for event in trace["traceEvents"].as_array().expect("traceEvents") {
        if event["ph"] == "X" && event["cat"] == "cpu" {
            let cpu = event["tid"].as_i64().expect("a CPU's track") - 1;
            let ts = event["ts"].as_f64().expect("ts");
            let stretch = (ts, ts + event["dur"].as_f64().expect("dur"));
            cpus.entry(cpu).or_default().push(stretch);
            let thread =
                (event["args"]["pid"].as_i64().expect("pid"), event["args"]["tid"].as_i64().expect("tid"), cpu);
            threads.entry(thread).or_default().push(stretch);
        }
    }
    (cpus, threads)
}

/// Where the kernel watched every worker, the CPUs' tracks are exact: on each CPU one thread at
/// a time, and a worker `running` on a CPU (from its first stretch on, since the kernel's
/// view begins at the engine's first poll after the worker started) is inside one of its own
/// stretches there. Allowance: the trace's rounding to a hundredth of a microsecond.
fn assert_exact_cpu_tracks(trace: &Value) {
    if trace["otherData"]["cpu_tracks"] != "exact" {
        eprintln!("the kernel's switches were not seen here: {}", trace["otherData"]["observer"]);
        return;
    }
    let (cpus, threads) = cpu_tracks(trace);
    assert!(!cpus.is_empty(), "exact CPU tracks, and none");
    for (cpu, stretches) in &cpus {
        let mut sorted = stretches.clone();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        for pair in sorted.windows(2) {
            assert!(pair[1].0 >= pair[0].1 - 0.01, "cpu{cpu}: two threads on it at once: {pair:?}");
        }
    }
    for event in trace["traceEvents"].as_array().expect("traceEvents") {
        if !(event["ph"] == "X" && event["cat"] == "state" && event["name"] == "running") {
            continue;
        }
        let (Some(cpu), Some(pid), Some(tid)) =
            (event["args"]["cpu"].as_i64(), event["pid"].as_i64(), event["tid"].as_i64())
        else {
            continue;
        };
        let ts = event["ts"].as_f64().expect("ts");
        let end = ts + event["dur"].as_f64().expect("dur");
        let first = threads.iter().filter(|((p, t, _), _)| (*p, *t) == (pid, tid)).flat_map(|(_, s)| s).map(|s| s.0);
        if first.fold(f64::INFINITY, f64::min) > ts || end - ts < 0.01 {
            continue;
        }
        let own = threads.get(&(pid, tid, cpu)).map(Vec::as_slice).unwrap_or_default();
        assert!(
            own.iter().any(|(start, stop)| *start <= ts + 0.01 && end <= stop + 0.01),
            "worker {pid}/{tid} running on cpu{cpu} from {ts} to {end} µs, off it by the kernel's switches"
        );
    }
}

/// Every track is contiguous, begins idle (before the first task) and names only known states.
fn assert_whole_lives(tracks: &BTreeMap<(i64, i64), Track>) {
    let names = ["running", "lock wait", "blocked", "idle", "paused", "draining", "waiting for a CPU", "off CPU"];
    for (key, track) in tracks {
        assert_eq!(track.first().map(|(name, ..)| name.as_str()), Some("idle"), "{key:?} does not begin idle");
        for pair in track.windows(2) {
            assert!((pair[0].2 - pair[1].1).abs() < 0.01, "{key:?}: gap or overlap between {pair:?}");
        }
        assert!(track.iter().all(|(name, ..)| names.contains(&name.as_str())), "{key:?}: {track:?}");
    }
}

fn intervals<'a>(track: &'a Track, name: &'a str) -> impl Iterator<Item = (f64, f64)> + 'a {
    track.iter().filter(move |(n, ..)| n == name).map(|(_, start, end)| (*start, *end))
}

fn total(track: &Track, name: &str) -> f64 {
    intervals(track, name).map(|(start, end)| end - start).sum()
}

/// Time during which both tracks were in state `name`.
fn overlap(a: &Track, b: &Track, name: &str) -> f64 {
    let mut sum = 0.0;
    for (a_start, a_end) in intervals(a, name) {
        for (b_start, b_end) in intervals(b, name) {
            sum += (a_end.min(b_end) - a_start.max(b_start)).max(0.0);
        }
    }
    sum
}

/// The running overlap of two workers, as a fraction of the shorter one's running time.
fn running_overlap(tracks: &BTreeMap<(i64, i64), Track>) -> f64 {
    let both: Vec<&Track> = tracks.values().collect();
    assert_eq!(both.len(), 2, "{tracks:?}");
    let shorter = total(both[0], "running").min(total(both[1], "running"));
    assert!(shorter > 0.0, "a worker never ran: {tracks:?}");
    overlap(both[0], both[1], "running") / shorter
}

/// Two threads pinned to one CPU: the kernel's switches show each waiting for the CPU while the
/// other has it, so their `running` hardly overlaps. Where perf events are refused the trace
/// says so, and there is nothing to see.
#[test]
fn two_threads_on_one_cpu_take_turns_waiting_for_it() {
    let path = trace_path();
    let path_text = path.display().to_string();
    let args = ["run", "-w", "cpu", "-m", "threads", "-n", "2", "-t", "4", "-s", "20000000", "--affinity", "single"];
    let output = run(&[&args[..], &["--trace", &path_text]].concat());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("no trace ({e}): {output:?}"));
    let _ = std::fs::remove_file(&path);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let trace: Value = serde_json::from_str(&text).expect("JSON trace");
    if trace["otherData"]["observer"] != "perf" {
        eprintln!("perf events refused here: {}", trace["otherData"]["observer"]);
        return;
    }
    let tracks = tracks(&trace);
    assert_whole_lives(&tracks);
    assert_exact_cpu_tracks(&trace);
    // Both workers ran on cpu0, in turns: the CPU's track shows each of them.
    let (_, threads) = cpu_tracks(&trace);
    let on_one: Vec<i64> = threads.keys().map(|(_, _, cpu)| *cpu).collect();
    assert_eq!(threads.len(), 2, "{threads:?}");
    assert!(on_one.iter().all(|cpu| *cpu == on_one[0]), "pinned to one CPU, seen on {on_one:?}");
    assert!(threads.values().all(|stretches| stretches.len() > 1), "they did not take turns: {threads:?}");
    for (key, track) in &tracks {
        assert!(total(track, "waiting for a CPU") > 0.0, "{key:?} never waited for the CPU: {track:?}");
    }
    // The kernel's view begins at the engine's first poll after each worker started: from the
    // time both workers are observed (each has waited once), they are never on the CPU together.
    let observed = tracks
        .values()
        .filter_map(|track| intervals(track, "waiting for a CPU").next().map(|(start, _)| start))
        .fold(0.0, f64::max);
    let clipped: BTreeMap<(i64, i64), Track> = tracks
        .iter()
        .map(|(key, track)| {
            let kept = track.iter().filter(|(_, _, end)| *end > observed);
            (*key, kept.map(|(name, start, end)| (name.clone(), start.max(observed), *end)).collect())
        })
        .collect();
    let fraction = running_overlap(&clipped);
    assert!(fraction < 0.15, "two threads ran on one CPU together {:.0}% of the time", fraction * 100.0);
}

#[test]
fn under_the_lock_two_threads_take_turns() {
    let args = ["-w", "cpu", "-m", "threads", "-n", "2", "-t", "4", "-s", "20000000", "--gil"];
    let (code, tracks) = run_traced(&args);
    assert_eq!(code, 0);
    assert_whole_lives(&tracks);
    let pids: Vec<i64> = tracks.keys().map(|(pid, _)| *pid).collect();
    assert_eq!(pids[0], pids[1], "threads share their process");
    let fraction = running_overlap(&tracks);
    assert!(fraction < 0.15, "threads ran together {:.0}% of the time under the lock", fraction * 100.0);
    assert!(tracks.values().all(|track| total(track, "lock wait") > 0.0), "nobody waited for the lock");
}

#[test]
fn with_the_lock_two_processes_still_run_side_by_side() {
    let args = ["-w", "cpu", "-m", "processes", "-n", "2", "-t", "4", "-s", "20000000", "--gil"];
    let (code, tracks) = run_traced(&args);
    assert_eq!(code, 0);
    assert_whole_lives(&tracks);
    let pids: Vec<i64> = tracks.keys().map(|(pid, _)| *pid).collect();
    assert_ne!(pids[0], pids[1], "one track per worker process");
    // Meant to run, on a CPU or preempted by another program of this busy machine: the lock,
    // which is what this test is about, never held either back.
    let meant_to_run: BTreeMap<(i64, i64), Track> = tracks
        .iter()
        .map(|(key, track)| {
            let renamed = track.iter().map(|(name, start, end)| {
                let name = if name == "waiting for a CPU" { "running".to_owned() } else { name.clone() };
                (name, *start, *end)
            });
            (*key, renamed.collect())
        })
        .collect();
    let fraction = running_overlap(&meant_to_run);
    assert!(fraction > 0.5, "processes ran together only {:.0}% of the time", fraction * 100.0);
    assert!(tracks.values().all(|track| total(track, "lock wait") == 0.0), "a process waited for its own lock");
}

#[test]
fn sixteen_io_threads_block_at_the_same_time() {
    let (code, tracks) = run_traced(&["-w", "io", "-m", "threads", "-n", "16", "-t", "16", "-s", "200"]);
    assert_eq!(code, 0);
    assert_eq!(tracks.len(), 16);
    assert_whole_lives(&tracks);
    // Sweep over every start and end of a blocked segment: the most workers blocked at once.
    let mut edges: Vec<(f64, i32)> = Vec::new();
    for track in tracks.values() {
        for (start, end) in intervals(track, "blocked") {
            edges.push((start, 1));
            edges.push((end, -1));
        }
    }
    edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut now, mut most) = (0, 0);
    for (_, step) in edges {
        now += step;
        most = most.max(now);
    }
    assert!(most >= 8, "at most {most} workers were blocked at one instant");
}

#[test]
fn spawned_and_replaced_processes_each_get_a_whole_track() {
    let (code, tracks) =
        run_traced(&["-w", "cpu", "-m", "processes", "-n", "2", "-t", "4", "-s", "200000", "--start", "spawn"]);
    assert_eq!(code, 0);
    assert_eq!(tracks.len(), 2);
    assert_whole_lives(&tracks);
    let args = ["-w", "crash", "-m", "processes", "-n", "2", "-t", "8", "-s", "100000", "--crash", "segv"];
    let args = [&args[..], &["--schedule", "dynamic", "--respawn"]].concat();
    // Worker 0 crashes at its first task; with tasks handed out dynamically, a worker 0 that a
    // busy machine starts after the other took every task never crashes (a track that never
    // ran). That run proves nothing either way, so it is made again, a few times at most.
    let mut attempts = 0;
    let (code, tracks) = loop {
        attempts += 1;
        let (code, tracks) = run_traced(&args);
        let idle_throughout = tracks.values().any(|track| track.iter().all(|(name, ..)| name == "idle"));
        if !(tracks.len() == 2 && idle_throughout) || attempts == 5 {
            break (code, tracks);
        }
    };
    assert_eq!(code, 0, "the replacement finishes the run");
    assert_eq!(tracks.len(), 3, "the crashed worker and its replacement are two lives: {tracks:?}");
    assert_whole_lives(&tracks);
}

#[test]
fn the_trace_is_written_after_ctrl_c_and_shows_the_drain() {
    let tag = new_tag();
    let path = trace_path();
    let path_text = path.display().to_string();
    let args = ["run", "-w", "io", "-m", "processes", "-n", "2", "-t", "2", "-s", "5000", "--trace", &path_text];
    let child = Reaped::new(command(&tag, &args).stdout(std::process::Stdio::null()).spawn().expect("start"));
    let pid = child.id();
    let started = wait_until(Duration::from_secs(20), || common::workers_in_io_task(pid) == 2);
    assert!(started, "the workers never began their tasks");
    child.signal(libc::SIGINT);
    let output = child.wait_with_output();
    assert_eq!(output.status.code(), Some(130));
    common::assert_no_leftovers(&tag);
    let text = std::fs::read_to_string(&path).expect("a trace after Ctrl-C");
    let _ = std::fs::remove_file(&path);
    let tracks = tracks(&serde_json::from_str(&text).expect("JSON trace"));
    assert_eq!(tracks.len(), 2);
    assert_whole_lives(&tracks);
    for track in tracks.values() {
        assert!(total(track, "blocked") > 0.0, "{track:?}");
        assert_eq!(track.last().map(|(name, ..)| name.as_str()), Some("draining"), "{track:?}");
    }
}

#[test]
fn a_trace_file_that_cannot_be_created_stops_the_run_before_it_starts() {
    let output = run(&["run", "-w", "io", "-n", "1", "-t", "1", "-s", "5", "--trace", "/nonexistent-dir/trace.json"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("/nonexistent-dir/trace.json"), "{stderr}");
    assert!(output.stdout.is_empty(), "a report was printed: nothing should have run");
}

#[test]
fn a_trace_path_that_is_a_link_is_refused_and_its_target_kept() {
    let dir = std::env::temp_dir().join(format!("concur-tui-trace-link-{}", common::new_tag()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let victim = dir.join("victim");
    std::fs::write(&victim, "precious").expect("the victim");
    let link = dir.join("trace.json");
    std::os::unix::fs::symlink(&victim, &link).expect("a planted link");
    let output = run(&["run", "-w", "io", "-n", "1", "-t", "1", "-s", "5", "--trace", link.to_str().expect("path")]);
    let kept = std::fs::read_to_string(&victim);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(output.status.code(), Some(2), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stderr).contains("symbolic link"));
    assert_eq!(kept.expect("the victim"), "precious");
}

#[test]
fn a_trace_to_a_full_disk_leaves_no_empty_file_and_says_so() {
    let Some(disk) = common::FullDisk::mount() else { return };
    let trace = disk.dir.join("trace.json");
    let output = run(&["run", "-w", "io", "-n", "1", "-t", "1", "-s", "5", "--trace", trace.to_str().expect("path")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("No space left on device") && stderr.contains("removed"), "{stderr}");
    assert!(disk.entries().is_empty(), "left {:?}", disk.entries());
}

/// In-process: the engine's timeline covers each worker from its first instruction to its end,
/// and a running `Run` shows it live.
#[test]
fn the_timeline_covers_every_life_and_grows_while_the_run_lasts() {
    let engine = Engine::new().expect("board");
    for model in [Model::Threads, Model::Processes] {
        let plan = PlanRequest {
            workers: Some(3),
            tasks: 6,
            size: Some(100),
            ..PlanRequest::new(by_name("io").expect("io"), model)
        }
        .validate()
        .expect("plan");
        let mut run = engine.start(&plan).expect("start");
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen_live = false;
        while run.poll() != Phase::Ended {
            assert!(Instant::now() < deadline, "{model}: run never ended");
            let live = run.timeline();
            seen_live |= live.workers.iter().any(|worker| worker.open && worker.time_in(Activity::Blocked) > 0);
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(seen_live, "{model}: the live timeline never showed a blocked worker");
        let report = run.finish();
        let timeline = &report.timeline;
        assert_eq!(timeline.workers.len(), 3, "{model}");
        for worker in &timeline.workers {
            let slot = engine.board().slot(worker.index);
            assert!(!worker.open);
            assert_eq!(worker.start_ns(), Some(slot.started_ns.load(Ordering::Relaxed)), "{model}: first instruction");
            assert_eq!(worker.end_ns(), Some(slot.finished_ns.load(Ordering::Relaxed)), "{model}: end");
            assert!(worker.segments.windows(2).all(|pair| pair[0].end_ns == pair[1].start_ns), "{model}");
            assert!(worker.segments.iter().all(|segment| segment.activity != Activity::End));
            assert_eq!((worker.pid, worker.tid), (report.workers[worker.index].pid, report.workers[worker.index].tid));
            assert_eq!(worker.missed, 0, "{model}: a few dozen events cannot overflow a 256-event ring");
        }
    }
}
