//! The fork discipline under stress: many forked workers while other threads of this process
//! allocate and print. A child that touched a lock held by another thread at fork time would
//! hang forever; the watchdog turns such a hang into a failure instead of a stuck test.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use concur_tui::engine::{Engine, Model, Phase, PlanRequest};
use concur_tui::workload::by_name;

#[test]
fn forked_workers_never_hang_while_other_threads_allocate_and_print() {
    let engine = Engine::new().expect("board");
    let busy = Arc::new(AtomicBool::new(true));
    let noise: Vec<_> = (0..3)
        .map(|n| {
            let busy = Arc::clone(&busy);
            std::thread::spawn(move || {
                let mut kept = Vec::new();
                while busy.load(Ordering::Relaxed) {
                    kept.push(vec![n as u8; 4096 + kept.len()]);
                    if kept.len() > 64 {
                        kept.clear();
                    }
                    println!("noise thread {n} holds {} buffers", kept.len());
                    eprintln!("noise thread {n} on stderr");
                }
            })
        })
        .collect();

    let plan = PlanRequest {
        workers: Some(24),
        tasks: 48,
        size: Some(20_000),
        ..PlanRequest::new(by_name("cpu").expect("cpu"), Model::Processes)
    }
    .validate()
    .expect("plan");
    let mut hung = None;
    for round in 0..10 {
        let mut run = engine.start(&plan).expect("start");
        let deadline = Instant::now() + Duration::from_secs(60);
        while run.poll() != Phase::Ended {
            if Instant::now() > deadline {
                hung = Some((round, run.live_pids()));
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if hung.is_some() {
            // Dropping the run kills and reaps what is left.
            drop(run);
            break;
        }
        let report = run.finish();
        assert_eq!(report.tasks_done, 48, "round {round}");
        assert_eq!(report.checksum_ok(), Some(true), "round {round}");
    }
    busy.store(false, Ordering::Relaxed);
    for thread in noise {
        thread.join().expect("noise thread");
    }
    assert!(hung.is_none(), "forked workers hung: {hung:?}");
}
