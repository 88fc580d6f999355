//! `cargo bench --bench observer`: what watching the workers' threads through the kernel costs,
//! as a ratio. The cpu kernel at 2 workers (threads, then processes), runs with the observer and
//! without it interleaved A B B A so that neither side gets the quieter moments of a shared
//! machine; the figure is the median of each round's ratio (observed ÷ unobserved wall time),
//! with the best of each side beside it. The goal: at most 1.03.
//!
//! `ROUNDS=N` sets the number of rounds (default 12); each round is four runs per model.

use std::time::Duration;

use concur_tui::engine::{Engine, Model, ObserverSource, Observing, PlanRequest, RunReport};
use concur_tui::workload::by_name;

fn main() {
    let rounds = std::env::var("ROUNDS").ok().and_then(|text| text.parse().ok()).unwrap_or(12usize).max(1);
    let mut engine = Engine::new().expect("board");
    println!("## observer cost, cpu kernel, 2 workers, 8 tasks of 20,000,000; {rounds} rounds of A B B A");
    for model in [Model::Threads, Model::Processes] {
        let mut ratios = Vec::new();
        let (mut best_on, mut best_off) = (f64::INFINITY, f64::INFINITY);
        let mut source = ObserverSource::None;
        for _ in 0..rounds {
            let mut on = Vec::new();
            let mut off = Vec::new();
            for observing in [Observing::Kernel, Observing::Off, Observing::Off, Observing::Kernel] {
                engine.set_observing(observing);
                let report = run(&engine, model);
                match observing {
                    Observing::Kernel => {
                        source = report.observer;
                        on.push(report.wall_seconds);
                    }
                    Observing::Off => off.push(report.wall_seconds),
                }
            }
            let (on, off) = (on.iter().sum::<f64>(), off.iter().sum::<f64>());
            ratios.push(on / off);
            best_on = best_on.min(on / 2.0);
            best_off = best_off.min(off / 2.0);
        }
        ratios.sort_by(f64::total_cmp);
        println!(
            "{model:<10} observed/unobserved median {:.3}× (min {:.3}, max {:.3}); best of each {:.1} ms / {:.1} ms = {:.3}×; source {}",
            ratios[ratios.len() / 2],
            ratios[0],
            ratios[ratios.len() - 1],
            best_on * 1e3,
            best_off * 1e3,
            best_on / best_off,
            source.name()
        );
    }
}

fn run(engine: &Engine, model: Model) -> RunReport {
    let plan = PlanRequest {
        workers: Some(2),
        tasks: 8,
        size: Some(20_000_000),
        ..PlanRequest::new(by_name("cpu").expect("cpu"), model)
    }
    .validate()
    .expect("a valid plan");
    let mut run = engine.start(&plan).expect("start");
    run.wait(Duration::from_millis(10), |_| {});
    let report = run.finish();
    assert_eq!(report.checksum_ok(), Some(true), "a benchmark run lost or repeated a task");
    report
}
