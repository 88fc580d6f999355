//! The observer inside a real run: perf's switches on the timeline where the kernel allows them,
//! and schedstat's totals under a stand-in kernel that refuses perf events.

use std::sync::Arc;
use std::time::Duration;

use super::testing::RefusingPerfEvents;
use super::ObserverSource;
use crate::board::Activity;
use crate::engine::affinity::Affinity;
use crate::engine::{Engine, Model, PlanRequest, RunReport};
use crate::workload::by_name;

/// Two cpu threads pinned to one CPU, so that they must take turns on it, for a few tenths of a
/// second: schedstat is sampled, and a thread's last moments after its last sample are lost.
fn two_threads_on_one_cpu(engine: &Engine) -> RunReport {
    let plan = PlanRequest {
        workers: Some(2),
        tasks: 4,
        size: Some(20_000_000),
        affinity: Affinity::Single,
        ..PlanRequest::new(by_name("cpu").expect("cpu"), Model::Threads)
    }
    .validate()
    .expect("plan");
    let mut run = engine.start(&plan).expect("start");
    run.wait(Duration::from_millis(10), |_| {});
    run.finish()
}

#[test]
fn refused_perf_events_fall_back_to_schedstat_totals_and_leave_the_timeline_as_recorded() {
    let mut engine = Engine::new().expect("board");
    engine.observe_with(Arc::new(RefusingPerfEvents));
    let report = two_threads_on_one_cpu(&engine);
    assert_eq!(report.observer, ObserverSource::Schedstat);
    for worker in &report.workers {
        assert!(worker.waiting_for_cpu_seconds > 0.0, "worker {}: {report:?}", worker.index);
    }
    for kernel_only in [Activity::WaitingForCpu, Activity::OffCpu] {
        let derived = report.timeline.workers.iter().map(|life| life.time_in(kernel_only)).sum::<u64>();
        assert_eq!(derived, 0, "schedstat gives totals, never moments: no {}", kernel_only.name());
    }
    assert!(report.waiting_for_cpu_share().is_some_and(|share| share > 0.0));
    // No switch seen: no life claims to know when its thread was on a CPU, so the CPU lanes keep
    // the workers' own samples and say so.
    for life in &report.timeline.workers {
        assert_eq!((life.watched_from_ns, life.on_cpu.len()), (None, 0), "worker {}", life.index);
        assert!(life.time_in(Activity::Running) > 0, "worker {}: its own word stands", life.index);
    }
}

#[test]
fn two_threads_on_one_cpu_each_wait_for_it_between_their_turns() {
    let engine = Engine::new().expect("board");
    let report = two_threads_on_one_cpu(&engine);
    if report.observer != ObserverSource::Perf {
        eprintln!("perf events are refused here ({:?}): the fallback test covers this kernel", report.observer);
        return;
    }
    for life in &report.timeline.workers {
        assert!(life.time_in(Activity::WaitingForCpu) > 0, "worker {}: {:?}", life.index, life.segments);
        let watched = life.watched_from_ns.expect("watched by the kernel");
        assert!(life.on_cpu.len() > 1, "worker {}: on the CPU in turns, {:?}", life.index, life.on_cpu);
        assert!(life.on_cpu.iter().all(|slice| slice.start_ns >= watched && slice.end_ns >= slice.start_ns));
        assert!(life.on_cpu.windows(2).all(|pair| pair[0].end_ns <= pair[1].start_ns), "overlapping stretches");
        assert!(life.segments.windows(2).all(|pair| pair[0].end_ns == pair[1].start_ns), "a gap or an overlap");
        let total: u64 = Activity::ALL.iter().map(|activity| life.time_in(*activity)).sum();
        assert_eq!(total, life.end_ns().unwrap_or(0) - life.start_ns().unwrap_or(0), "the states tile the life");
    }
    for worker in &report.workers {
        assert!(worker.waiting_for_cpu_seconds > 0.0, "worker {}", worker.index);
    }
}

#[test]
fn with_observing_off_nothing_is_watched_and_the_run_says_so() {
    let mut engine = Engine::new().expect("board");
    engine.set_observing(super::Observing::Off);
    let report = two_threads_on_one_cpu(&engine);
    assert_eq!(report.observer, ObserverSource::None);
    assert!(report.waiting_for_cpu_share().is_none());
    assert!(report.timeline.workers.iter().all(|life| life.watched_from_ns.is_none() && life.on_cpu.is_empty()));
}

/// A process cannot record its own pause (SIGSTOP): with the kernel's switches its timeline shows
/// it paused from when it left its CPU, not off CPU for a cause unknown.
#[test]
fn a_process_paused_by_the_engine_is_paused_not_off_cpu() {
    let engine = Engine::new().expect("board");
    let plan = PlanRequest {
        workers: Some(1),
        tasks: 2,
        size: Some(40_000_000),
        ..PlanRequest::new(by_name("cpu").expect("cpu"), Model::Processes)
    }
    .validate()
    .expect("plan");
    let mut run = engine.start(&plan).expect("start");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while run.timeline().workers.first().is_none_or(|life| life.watched_from_ns.is_none()) {
        assert!(std::time::Instant::now() < deadline, "never watched");
        if run.poll() == crate::engine::Phase::Ended {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    run.set_paused(true);
    for _ in 0..20 {
        run.poll();
        std::thread::sleep(Duration::from_millis(5));
    }
    run.set_paused(false);
    run.wait(Duration::from_millis(10), |_| {});
    let report = run.finish();
    if report.observer != ObserverSource::Perf {
        eprintln!("perf events are refused here ({:?}): nothing to check", report.observer);
        return;
    }
    let life = &report.timeline.workers[0];
    let (paused, off) = (life.time_in(Activity::Paused), life.time_in(Activity::OffCpu));
    assert!(paused > 0 && off < paused, "paused {paused} ns, off CPU {off} ns: {:?}", life.segments);
}
