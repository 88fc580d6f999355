//! What isolation buys: a crash injected into one worker (the dashboard's `x`) takes down only
//! that worker. A thread's panic is caught; a process dies of a real SIGSEGV and nobody else
//! notices.

use std::time::{Duration, Instant};

use concur_tui::engine::RunOutcome;
use concur_tui::engine::{CrashReason, Engine, Model, Phase, PlanRequest, WorkerOutcome};
use concur_tui::workload::by_name;
use nix::sys::signal::Signal;

fn crash_worker_zero(model: Model) -> concur_tui::engine::RunReport {
    let engine = Engine::new().expect("board");
    let plan = PlanRequest {
        workers: Some(2),
        tasks: 2,
        size: Some(400),
        ..PlanRequest::new(by_name("io").expect("io"), model)
    }
    .validate()
    .expect("plan");
    let mut run = engine.start(&plan).expect("start");
    let deadline = Instant::now() + Duration::from_secs(30);
    // Wait until worker 0 is inside its task, so that it reaches a chunk boundary after the ask.
    while run.board().slot(0).units_done.load(std::sync::atomic::Ordering::Relaxed) == 0 {
        assert!(Instant::now() < deadline, "worker 0 never started");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(run.inject_crash(0));
    while run.poll() != Phase::Ended {
        assert!(Instant::now() < deadline, "run never ended");
        std::thread::sleep(Duration::from_millis(5));
    }
    run.finish()
}

#[test]
fn a_crashed_process_dies_alone_of_a_real_segfault() {
    let report = crash_worker_zero(Model::Processes);
    assert_eq!(report.workers[0].outcome, WorkerOutcome::Crashed(CrashReason::Signal(Signal::SIGSEGV)));
    assert_eq!(report.workers[1].outcome, WorkerOutcome::Done);
    assert_eq!(report.workers[1].tasks_done, 1);
    assert_eq!(report.outcome, RunOutcome::Failed);
}

#[test]
fn a_panicking_thread_is_caught_and_its_sibling_finishes() {
    let report = crash_worker_zero(Model::Threads);
    assert_eq!(
        report.workers[0].outcome,
        WorkerOutcome::Crashed(CrashReason::Panic("crash injected on request".into()))
    );
    assert_eq!(report.workers[1].outcome, WorkerOutcome::Done);
    assert_eq!(report.outcome, RunOutcome::Failed);
}
