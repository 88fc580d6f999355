//! Each experiment's verdict, from fixed reports made here: its wording when the claim holds,
//! when it does not, and each reason to say "can't tell".

use std::sync::Arc;

use nix::sys::signal::Signal;

use super::*;
use crate::engine::{CrashReason, RunReport, WorkerReport};
use crate::experiments::course::Finished;
use crate::experiments::{by_experiment_name, EXPERIMENTS};
use crate::workload::{Metrics, MetricsOf};

/// A workload's figures as fixed JSON.
#[derive(Debug)]
struct Fixed(serde_json::Map<String, serde_json::Value>);

impl Metrics for Fixed {
    fn json(&self) -> serde_json::Map<String, serde_json::Value> {
        self.0.clone()
    }
}

/// What one made-up run reports.
#[derive(Debug, Clone)]
struct Fake {
    wall: f64,
    metrics: Vec<(&'static str, f64)>,
    startup: f64,
    idle_share: f64,
    /// Workers that die (the first ones), with the run failed.
    dead: usize,
}

fn fake(wall: f64) -> Fake {
    Fake { wall, metrics: Vec::new(), startup: 0.000_2, idle_share: 0.05, dead: 0 }
}

impl Fake {
    fn metric(mut self, name: &'static str, value: f64) -> Self {
        self.metrics.push((name, value));
        self
    }

    fn startup(self, startup: f64) -> Self {
        Self { startup, ..self }
    }

    fn idle(self, idle_share: f64) -> Self {
        Self { idle_share, ..self }
    }

    fn dead(self, dead: usize) -> Self {
        Self { dead, ..self }
    }

    fn report(&self, experiment: &Experiment, run: usize) -> RunReport {
        let plan = experiment
            .request(run, std::time::Duration::from_secs(1), &crate::experiments::python_pythons())
            .and_then(|request| request.validate_with(&[0, 1]).ok())
            .expect("a plan");
        let workers = plan.workers;
        let mut report = RunReport::empty(plan);
        report.wall_seconds = self.wall;
        report.workers = (0..workers)
            .map(|index| WorkerReport {
                index,
                pid: 100,
                tid: 100 + index as i32,
                outcome: if index < self.dead {
                    WorkerOutcome::Crashed(CrashReason::Signal(Signal::SIGSEGV))
                } else {
                    WorkerOutcome::Done
                },
                tasks_done: 1,
                cpu_seconds: self.wall,
                cores: vec![index % 2],
                lock_wait_seconds: 0.0,
                waiting_for_cpu_seconds: 0.0,
                off_cpu_seconds: 0.0,
                startup_seconds: self.startup,
                busy_seconds: self.wall * (1.0 - self.idle_share),
                idle_seconds: self.wall * self.idle_share,
                rss_bytes: 0,
                pss_bytes: 0,
                traceback: None,
            })
            .collect();
        if self.dead > 0 {
            report.outcome = RunOutcome::Failed;
        }
        let map = self.metrics.iter().map(|(name, value)| ((*name).to_owned(), serde_json::json!(value))).collect();
        report.metrics = MetricsOf(Arc::new(Fixed(map)));
        report
    }
}

/// Each configuration's made-up run, the same in every round, when the claim holds or not.
fn runs_of(name: &str, holds: bool) -> Vec<Fake> {
    let pick = |yes: Fake, no: Fake| if holds { yes } else { no };
    let value = |yes: f64, no: f64| if holds { yes } else { no };
    match name {
        "cpu-bound" | "python-cpu-bound" => vec![fake(1.0), pick(fake(0.98), fake(0.52)), pick(fake(0.51), fake(0.95))],
        "io-bound" => vec![fake(1.6), fake(0.21), pick(fake(0.22), fake(1.55))],
        "startup-memory" => vec![
            fake(0.5).startup(0.000_1).metric("pss_bytes", 2.0 * 36.0 * 1_048_576.0),
            pick(fake(0.5).startup(0.000_9), fake(0.5).startup(0.000_1))
                .metric("pss_bytes", 2.0 * value(90.0, 36.0) * 1_048_576.0),
        ],
        "crash" => vec![pick(fake(0.2).dead(1), fake(0.2).dead(2)), pick(fake(0.1).dead(2), fake(0.3).dead(1))],
        "lost-updates" => vec![
            fake(0.3).metric("lost_updates", value(5_917_727.0, 0.0)).metric("expected", 16e6),
            fake(0.9).metric("lost_updates", 0.0).metric("expected", 16e6),
        ],
        "convoy" => vec![
            fake(0.5).metric("requests_per_second", 9941.0).metric("p99_us", 2400.0),
            fake(0.5).metric("requests_per_second", value(200.0, 9000.0)).metric("p99_us", 11_300.0),
        ],
        "pinning" => vec![fake(1.0), fake(0.52), pick(fake(1.01), fake(0.55))],
        "scheduling" => {
            vec![fake(1.0), fake(0.7).idle(0.3), pick(fake(0.52).idle(0.02), fake(0.75).idle(0.31))]
        }
        "talking" => vec![
            fake(0.6).metric("p50_us", 8.0),
            fake(0.3).metric("p50_us", value(16.9, 8.2)),
            fake(0.2).metric("p50_us", 1.06),
        ],
        "python-io-bound" => vec![fake(1.6), pick(fake(0.21), fake(1.55))],
        "free-threaded" => vec![fake(1.0), pick(fake(0.52), fake(0.98))],
        other => panic!("no fixture for {other}"),
    }
}

/// Every round of every configuration, as a course records them.
fn finished(experiment: &Experiment, runs: &[Fake], busy: bool) -> Vec<Finished> {
    (0..experiment.rounds)
        .flat_map(|_| runs.iter().enumerate())
        .map(|(run, fake)| Finished { run, report: fake.report(experiment, run), busy })
        .collect()
}

fn verdict_of(name: &str, holds: bool, busy: bool, cpus: usize) -> Verdict {
    let experiment = by_experiment_name(name).expect("an experiment");
    judge(experiment, &finished(experiment, &runs_of(name, holds), busy), cpus)
}

#[test]
fn each_experiment_holds_and_does_not_hold_in_its_own_words() {
    let mut said = String::new();
    for experiment in EXPERIMENTS {
        for holds in [true, false] {
            let verdict = verdict_of(experiment.name, holds, false, 2);
            let expected = if holds { Outcome::Holds } else { Outcome::DoesNotHold };
            assert_eq!(verdict.outcome, expected, "{}: {}", experiment.name, verdict.sentence);
            let _ = writeln!(
                said,
                "{} [{}] {}\n  {}",
                experiment.name,
                verdict.outcome.text(),
                verdict.figure,
                verdict.sentence
            );
        }
    }
    insta::assert_snapshot!(said);
}

#[test]
fn each_reason_to_say_cant_tell() {
    let mut said = String::new();
    // A failure on a busy machine is not the claim's; a success there still holds.
    let busy = verdict_of("cpu-bound", false, true, 2);
    assert_eq!(busy.outcome, Outcome::CantTell);
    assert_eq!(verdict_of("cpu-bound", true, true, 2).outcome, Outcome::Holds);
    // Correctness does not depend on the machine's business.
    assert_eq!(verdict_of("lost-updates", false, true, 2).outcome, Outcome::DoesNotHold);
    let one_cpu = verdict_of("pinning", true, false, 1);
    // Between the bounds: processes 1.35× faster, neither shared nor serial.
    let experiment = by_experiment_name("cpu-bound").expect("cpu-bound");
    let between = judge(experiment, &finished(experiment, &[fake(1.0), fake(0.98), fake(0.74)], false), 2);
    // Rounds that disagree: one round's lock run as fast as the processes.
    let mut rounds = finished(experiment, &runs_of("cpu-bound", true), false);
    rounds[1].report.wall_seconds = 0.5;
    let disagree = judge(experiment, &rounds, 2);
    // A run that did not finish gives no speedup.
    let mut failed = finished(experiment, &runs_of("cpu-bound", true), false);
    failed[2].report.outcome = RunOutcome::Failed;
    failed[5].report.outcome = RunOutcome::Failed;
    failed[8].report.outcome = RunOutcome::Failed;
    let unfinished = judge(experiment, &failed, 2);
    for (why, verdict) in
        [("busy", busy), ("one CPU", one_cpu), ("between", between), ("rounds", disagree), ("failed", unfinished)]
    {
        assert_eq!(verdict.outcome, Outcome::CantTell, "{why}: {}", verdict.sentence);
        let _ = writeln!(said, "{why}: {}", verdict.sentence);
    }
    insta::assert_snapshot!(said);
}
