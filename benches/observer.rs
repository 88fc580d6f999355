//! `cargo bench --bench observer`: what watching the workers' threads through the kernel costs,
//! as a ratio. The cpu kernel at 2 workers (threads, then processes), runs with the observer and
//! without it interleaved A B B A so that neither side gets the quieter moments of a shared
//! machine; the figure is the median of each round's ratio (observed ÷ unobserved wall time),
//! with the best of each side beside it, and the same for the workers' CPU time, which other
//! programs disturb less than wall time (a switch's record is written on the switching thread's
//! time), and how many stretches on a CPU (switches in) the kernel reported a run: what the
//! observer's records cost grows with them. The goal: at most 1.03.
//!
//! `ROUNDS=N` sets the number of rounds (default 12); each round is four runs per model.

use std::time::Duration;

use concur_tui::engine::{Engine, Model, ObserverSource, Observing, PlanRequest, RunReport};
use concur_tui::workload::by_name;

fn main() {
    let rounds = std::env::var("ROUNDS").ok().and_then(|text| text.parse().ok()).unwrap_or(12usize).max(1);
    let mut engine = Engine::new().expect("board");
    println!("## observer cost, cpu kernel, 2 workers, 8 tasks of {SIZE}; {rounds} rounds of A B B A");
    for model in [Model::Threads, Model::Processes] {
        let mut wall = Ratios::default();
        let mut cpu = Ratios::default();
        let mut source = ObserverSource::None;
        let mut stretches = Vec::new();
        for _ in 0..rounds {
            let (mut on, mut off) = ([0.0; 2], [0.0; 2]);
            for observing in [Observing::Kernel, Observing::Off, Observing::Off, Observing::Kernel] {
                engine.set_observing(observing);
                let report = run(&engine, model);
                let side = match observing {
                    Observing::Kernel => {
                        source = report.observer;
                        stretches.push(report.timeline.workers.iter().map(|life| life.on_cpu.len()).sum::<usize>());
                        &mut on
                    }
                    Observing::Off => &mut off,
                };
                side[0] += report.wall_seconds / 2.0;
                side[1] += report.cpu_seconds / 2.0;
            }
            wall.add(on[0], off[0]);
            cpu.add(on[1], off[1]);
        }
        stretches.sort_unstable();
        let median = stretches.get(stretches.len() / 2).copied().unwrap_or(0);
        println!(
            "{model:<10} wall {}; source {}, a median {median} stretches on a CPU a run",
            wall.summary(),
            source.name()
        );
        println!("{:<10} cpu  {}", "", cpu.summary());
    }
}

/// The cpu kernel's size: a run of about a third of a second here, long beside a poll.
const SIZE: u64 = 60_000_000;

/// One measure's rounds: each round's ratio, and the best of each side.
#[derive(Default)]
struct Ratios {
    each: Vec<f64>,
    best_on: Option<f64>,
    best_off: Option<f64>,
}

impl Ratios {
    fn add(&mut self, on: f64, off: f64) {
        self.each.push(on / off);
        self.best_on = Some(self.best_on.map_or(on, |best| best.min(on)));
        self.best_off = Some(self.best_off.map_or(off, |best| best.min(off)));
    }

    fn summary(&mut self) -> String {
        self.each.sort_by(f64::total_cmp);
        let (on, off) = (self.best_on.unwrap_or(f64::NAN), self.best_off.unwrap_or(f64::NAN));
        format!(
            "observed/unobserved median {:.3}× (min {:.3}, max {:.3}); best of each {:.1} ms / {:.1} ms = {:.3}×",
            self.each.get(self.each.len() / 2).copied().unwrap_or(f64::NAN),
            self.each.first().copied().unwrap_or(f64::NAN),
            self.each.last().copied().unwrap_or(f64::NAN),
            on * 1e3,
            off * 1e3,
            on / off
        )
    }
}

fn run(engine: &Engine, model: Model) -> RunReport {
    let plan = PlanRequest {
        workers: Some(2),
        tasks: 8,
        size: Some(SIZE),
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
