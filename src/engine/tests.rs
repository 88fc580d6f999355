//! Tests of the engine as a whole: what a front end asks of it and what every worker model
//! does with that, across `plan/`, `workers/` and `run/`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::workers::pen::fake::{policy_of, BatchPen};
use super::{Engine, Model, Phase, PlanRequest, StartMethod, StopReason};
use crate::workload::by_name;

/// Every worker of every model runs admitted; the caller, which launched them, does not.
/// (A spawned worker re-executes the program, which a test binary is not: the dashboard's
/// end-to-end test covers it.)
#[test]
fn every_worker_admits_itself_and_the_launching_thread_stays_out() {
    let me = std::process::id() as i32;
    let caller = nix::unistd::gettid().as_raw();
    let mut engine = Engine::new().expect("board");
    engine.pen_workers(Arc::new(BatchPen));
    for (model, start) in
        [(Model::Threads, StartMethod::Fork), (Model::Processes, StartMethod::Fork), (Model::Async, StartMethod::Fork)]
    {
        let plan = PlanRequest {
            workers: Some(3),
            tasks: 3,
            size: Some(2000),
            start,
            ..PlanRequest::new(by_name("io").expect("io"), model)
        }
        .validate()
        .expect("plan");
        let mut run = engine.start(&plan).expect("start");
        // A worker's slot names its thread: in this process for threads and async, its own
        // process (pid = tid) for processes.
        let policies = || {
            (0..3)
                .map(|index| {
                    let tid = run.board().slot(index).tid.load(Ordering::Relaxed);
                    let pid = if model == Model::Processes { tid } else { me };
                    policy_of(pid, tid)
                })
                .collect::<Vec<_>>()
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while policies().iter().any(|policy| *policy != libc::SCHED_BATCH) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let seen = policies();
        run.request_stop(StopReason::User);
        run.escalate();
        while run.poll() != Phase::Ended {
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = run.finish();
        assert!(seen.iter().all(|policy| *policy == libc::SCHED_BATCH), "{model} {start:?}: {seen:?}");
        assert_eq!(policy_of(me, caller), libc::SCHED_OTHER, "{model} {start:?}: the caller was admitted");
    }
}
