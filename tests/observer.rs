//! The kernel observer leaves nothing open: after runs that end, a run cut short and a run
//! dropped midway, this process holds no perf event descriptor and no perf ring mapped. In a
//! test binary of its own, so that no other test's run is open while it counts.

use std::time::{Duration, Instant};

use concur_tui::engine::affinity::Affinity;
use concur_tui::engine::{Engine, Model, ObserverSource, Phase, PlanRequest, StopReason};
use concur_tui::workload::by_name;

/// This process's open perf event descriptors.
fn perf_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(Result::ok)
        .filter_map(|entry| std::fs::read_link(entry.path()).ok())
        .filter(|target| target.to_string_lossy().contains("perf_event"))
        .count()
}

/// This process's mappings of perf rings.
fn perf_mappings() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .expect("/proc/self/maps")
        .lines()
        .filter(|line| line.contains("perf_event"))
        .count()
}

/// Neither a descriptor nor a mapping is left.
fn assert_nothing_open(when: &str) {
    assert_eq!((perf_descriptors(), perf_mappings()), (0, 0), "descriptors and mappings {when}");
}

fn plan(model: Model, size: u64) -> concur_tui::engine::Plan {
    PlanRequest {
        workers: Some(2),
        tasks: 4,
        size: Some(size),
        affinity: Affinity::Single,
        ..PlanRequest::new(by_name("cpu").expect("cpu"), model)
    }
    .validate()
    .expect("plan")
}

#[test]
fn no_perf_descriptor_outlives_its_run_on_any_exit_path() {
    let engine = Engine::new().expect("board");
    assert_nothing_open("before any run");
    for model in [Model::Threads, Model::Processes, Model::Async] {
        // Tens of milliseconds: long enough that a poll finds the workers running, however soon
        // a run of cpu starts now that it needs no preparation.
        let mut run = engine.start(&plan(model, 30_000_000)).expect("start");
        run.wait(Duration::from_millis(10), |_| {});
        let report = run.finish();
        assert!(report.observer != ObserverSource::None || report.workers.is_empty(), "{model}: nothing observed");
        assert_nothing_open(&format!("{model}: after a finished run"));
    }
    // Stopped midway, and dropped without a report: the descriptors go with the run.
    for finish in [true, false] {
        let mut run = engine.start(&plan(Model::Threads, 2_000_000_000)).expect("start");
        let deadline = Instant::now() + Duration::from_secs(10);
        while perf_descriptors() == 0 && Instant::now() < deadline {
            run.poll();
            std::thread::sleep(Duration::from_millis(5));
        }
        // What the checks look for is there while the run lasts (where perf events are allowed).
        assert_eq!(perf_mappings(), perf_descriptors(), "one ring mapped per open event");
        run.request_stop(StopReason::User);
        if finish {
            while run.poll() != Phase::Ended {
                std::thread::sleep(Duration::from_millis(5));
            }
            let _ = run.finish();
        } else {
            drop(run);
        }
        assert_nothing_open(&format!("after a run stopped and {}", if finish { "finished" } else { "dropped" }));
    }
}
