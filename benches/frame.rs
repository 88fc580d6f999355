//! `cargo bench --bench frame`: what one dashboard frame costs with 1,000 workers running, step
//! by step (poll the run, sample the board into a view, fold it into the state, draw the real
//! UI into a 120×36 off-screen terminal), for threads and processes, timeline closed and open.
//! The workers are `io` (they sleep), so the figures are the dashboard's own work, not its
//! wait for a CPU that a thousand busy workers would take.

use std::time::Duration;

use concur_tui::dashboard::frame_cost::{measure, FrameCost};
use concur_tui::engine::{Engine, Model, Phase, PlanRequest, StopReason};
use concur_tui::workload::by_name;

const WORKERS: usize = 1000;
const FRAMES: usize = 200;

fn main() {
    let engine = Engine::new().expect("board");
    println!("## dashboard frame at {WORKERS} workers (io, 120x36), {FRAMES} frames 33 ms apart; median / p99");
    for model in [Model::Threads, Model::Processes] {
        let plan = PlanRequest {
            workers: Some(WORKERS),
            tasks: WORKERS as u64,
            size: Some(600_000),
            ..PlanRequest::new(by_name("io").expect("io"), model)
        }
        .validate()
        .expect("plan");
        let mut run = engine.start(&plan).expect("start 1,000 workers");
        // Until every worker is in its task, so each frame sees all of them.
        while run.board().slots()[..WORKERS].iter().any(|slot| slot.tid.load(std::sync::atomic::Ordering::Relaxed) == 0)
        {
            run.poll();
            std::thread::sleep(Duration::from_millis(10));
        }
        for timeline in [false, true] {
            let costs = measure(&mut run, FRAMES, (120, 36), timeline, Duration::from_millis(33));
            report(&format!("{model:?}, timeline {}", if timeline { "open" } else { "closed" }), &costs);
        }
        run.request_stop(StopReason::User);
        run.escalate();
        while run.poll() != Phase::Ended {
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = run.finish();
    }
}

fn report(label: &str, costs: &[FrameCost]) {
    let figure = |pick: fn(&FrameCost) -> Duration| {
        let mut times: Vec<Duration> = costs.iter().map(pick).collect();
        times.sort_unstable();
        let at = |q: f64| times[((times.len() - 1) as f64 * q).ceil() as usize].as_secs_f64() * 1000.0;
        format!("{:.2} / {:.2} ms", at(0.5), at(0.99))
    };
    println!(
        "{label}: frame {} (poll {}, sample {}, update {}, draw {})",
        figure(FrameCost::total),
        figure(|c| c.poll),
        figure(|c| c.sample),
        figure(|c| c.update),
        figure(|c| c.draw),
    );
}
