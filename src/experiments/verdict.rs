//! Judging an experiment's finished runs, as a pure function: each expectation's figure read
//! from the reports (the median over the rounds), checked against its bounds, and the verdict
//! said in the claim's own measure: **holds**, **does not hold**, or **can't tell** (too few
//! CPUs, a busy machine, runs that varied too much, figures between the bounds).
//!
//! A busy machine or a wide spread only ever takes a verdict towards "can't tell": a claim whose
//! every expectation held with its margin although other programs were busy still holds (they
//! slow a run down, which the margins allow for), but a claim that failed on a busy machine is
//! not blamed for it.

use std::fmt::Write;

use super::course::Finished;
use super::{Expect, Experiment, Figure};
use crate::engine::{RunOutcome, RunReport, WorkerOutcome};
use crate::units::{format_bytes, format_seconds, grouped};

/// What the runs say of the claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Outcome {
    Holds,
    DoesNotHold,
    CantTell,
}

impl Outcome {
    /// `holds`, `does not hold`, `can't tell`.
    #[must_use]
    pub(crate) fn text(self) -> &'static str {
        match self {
            Self::Holds => "holds",
            Self::DoesNotHold => "does not hold",
            Self::CantTell => "can't tell",
        }
    }
}

/// An experiment's verdict, with its figures.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Verdict {
    pub outcome: Outcome,
    /// The figures in brief, for a table cell: `lock 1.01×, processes 1.96×`.
    pub figure: String,
    /// One or two sentences a newcomer understands: the verdict, the figures, why.
    pub sentence: String,
    /// Other programs were busy during one of its timed runs, as the sentence says.
    pub busy: bool,
}

/// One figure of one run: the median over its rounds, as a value and in words.
#[derive(Debug, Clone, PartialEq)]
struct Reading {
    value: f64,
    /// `ran 1.96× as fast as one worker`.
    long: String,
    /// `1.96×`.
    short: String,
}

/// What one expectation found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    Holds,
    Fails,
    Between,
}

/// Judges `finished`, the runs of `experiment`, on a machine whose runs could use `cpus` CPUs.
#[must_use]
pub(crate) fn judge(experiment: &Experiment, finished: &[Finished], cpus: usize) -> Verdict {
    let mut facts: Vec<String> = Vec::new();
    let mut briefs: Vec<String> = Vec::new();
    let mut checks = Vec::new();
    let mut missing: Option<String> = None;
    let mut spread = false;
    let mut timed = false;
    let mut say = |run: usize, figure: Figure, rounds: &Option<Rounds>, missing: &mut Option<String>| {
        let label = experiment.runs.get(run).map(super::RunSpec::label).unwrap_or_default();
        match rounds {
            Some(rounds) => {
                let fact = format!("{label} {}", rounds.median.long);
                if !facts.contains(&fact) {
                    facts.push(fact);
                    let short = experiment.runs.get(run).map_or("", |spec| spec.short);
                    briefs.push(format!("{short} {}", rounds.median.short));
                }
            }
            None => {
                missing.get_or_insert_with(|| format!("{label} gave no {}", figure_name(figure)));
            }
        }
    };
    for expect in experiment.expects {
        let figure = expect.figure();
        timed |= figure.timed();
        let rounds: Vec<Option<Rounds>> =
            expect.runs().iter().map(|run| read_run(experiment, finished, *run, figure)).collect();
        for (run, reading) in expect.runs().iter().zip(&rounds) {
            say(*run, figure, reading, &mut missing);
        }
        let Some(rounds) = rounds.into_iter().collect::<Option<Vec<Rounds>>>() else { continue };
        let medians: Vec<f64> = rounds.iter().map(|run| run.median.value).collect();
        let verdict = check(expect, &medians);
        // The rounds disagree when one of them, judged alone, comes out otherwise.
        let count = rounds.iter().map(|run| run.values.len()).min().unwrap_or(0);
        spread |= figure.timed()
            && (0..count).any(|round| {
                let values: Vec<f64> = rounds.iter().map(|run| run.values[round]).collect();
                check(expect, &values) != verdict
            });
        checks.push(verdict);
    }
    for (run, figure) in experiment.shown {
        let rounds = read_run(experiment, finished, *run, *figure);
        let mut ignored = None;
        say(*run, *figure, &rounds, &mut ignored);
    }
    let busy = timed && finished.iter().any(|run| run.busy);
    let all_hold = missing.is_none() && checks.iter().all(|check| *check == Check::Holds);
    let any_fails = checks.contains(&Check::Fails);
    let doubt = if cpus < experiment.min_cpus {
        Some(format!("the runs could use {cpus} CPU here and the claim needs {}", experiment.min_cpus))
    } else if let Some(missing) = missing {
        Some(missing)
    } else if busy && !all_hold {
        Some("other programs were busy during the runs, so the figures may be off".to_owned())
    } else if spread {
        Some("the rounds disagreed: judged alone, one of them came out otherwise".to_owned())
    } else if !all_hold && !any_fails {
        Some("the figures fell between what the claim predicts and what would refute it".to_owned())
    } else {
        None
    };
    let facts = facts.join("; ");
    let (outcome, sentence) = match doubt {
        Some(doubt) => (Outcome::CantTell, join_facts("Can't tell", &facts, &format!("but {doubt}."))),
        None if all_hold => {
            let note = if busy { " Other programs were busy, and it held all the same." } else { "" };
            (Outcome::Holds, join_facts("Holds", &facts, &format!("{}{note}", experiment.because)))
        }
        None => (Outcome::DoesNotHold, join_facts("Does not hold here", &facts, experiment.otherwise)),
    };
    Verdict { outcome, figure: briefs.join(", "), sentence, busy }
}

/// `Holds: threads × 2 … 1.96×. The lock lets …`; the facts end in a full stop before the
/// reason, or run on into a "but" that finishes the sentence.
fn join_facts(verdict: &str, facts: &str, after: &str) -> String {
    let mut text = format!("{verdict}: {facts}");
    if facts.is_empty() {
        text = format!("{verdict}: ");
    }
    if after.starts_with("but ") {
        let _ = write!(text, "{}{after}", if facts.is_empty() { "" } else { ", " });
    } else {
        let _ = write!(text, ". {after}");
    }
    text
}

/// What one expectation finds in its values (one for a bound, two for a ratio).
fn check(expect: &Expect, values: &[f64]) -> Check {
    let (value, at_least, holds, fails) = match *expect {
        Expect::AtLeast { holds, fails, .. } => (values[0], true, holds, fails),
        Expect::AtMost { holds, fails, .. } => (values[0], false, holds, fails),
        Expect::Ratio { holds, fails, .. } => {
            let (a, b) = (values[0], values.get(1).copied().unwrap_or(0.0));
            if b <= 0.0 {
                return Check::Between;
            }
            (a / b, true, holds, fails)
        }
    };
    match at_least {
        true if value >= holds => Check::Holds,
        true if value < fails => Check::Fails,
        false if value <= holds => Check::Holds,
        false if value > fails => Check::Fails,
        _ => Check::Between,
    }
}

/// One figure of one run over its rounds.
#[derive(Debug, Clone, PartialEq)]
struct Rounds {
    /// Each round's value, in the order they ran.
    values: Vec<f64>,
    /// The median round's reading.
    median: Reading,
}

/// The figure of run `run` over its rounds; None when a round gave none.
fn read_run(experiment: &Experiment, finished: &[Finished], run: usize, figure: Figure) -> Option<Rounds> {
    let baseline = median(finished.iter().filter(|f| f.run == 0).map(|f| &f.report).filter_map(finished_wall));
    let workers = experiment.runs.get(run).map_or(1, |spec| spec.workers);
    let mut readings: Vec<Reading> = Vec::new();
    for report in finished.iter().filter(|f| f.run == run).map(|f| &f.report) {
        readings.push(read(report, figure, baseline, workers)?);
    }
    let values: Vec<f64> = readings.iter().map(|reading| reading.value).collect();
    readings.sort_by(|a, b| a.value.total_cmp(&b.value));
    let median = readings.get(readings.len() / 2)?.clone();
    Some(Rounds { values, median })
}

fn finished_wall(report: &RunReport) -> Option<f64> {
    (report.outcome == RunOutcome::Finished && report.wall_seconds > 0.0).then_some(report.wall_seconds)
}

fn median(values: impl Iterator<Item = f64>) -> Option<f64> {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied()
}

/// What the figure is called, for "gave no …".
fn figure_name(figure: Figure) -> &'static str {
    match figure {
        Figure::Speedup => "speedup (it or its baseline did not finish)",
        Figure::LostUpdates => "count of lost updates",
        Figure::RequestsPerSecond => "requests a second",
        Figure::RoundTrip => "round-trip time",
        Figure::PssPerWorker => "memory figure",
        Figure::StartUp => "start-up time",
        Figure::IdleShare => "idle time",
        Figure::Survivors => "workers' ends",
    }
}

/// A number from the workload's figures, by its name in the JSON contract (docs/headless.md).
fn metric(report: &RunReport, name: &str) -> Option<f64> {
    report.metrics.json().get(name).and_then(serde_json::Value::as_f64)
}

/// One report's figure. A run that failed gives none, except its workers' ends.
fn read(report: &RunReport, figure: Figure, baseline: Option<f64>, workers: usize) -> Option<Reading> {
    if figure != Figure::Survivors && report.outcome != RunOutcome::Finished {
        return None;
    }
    let reading = |value: f64, long: String, short: String| Some(Reading { value, long, short });
    match figure {
        Figure::Speedup => {
            let speedup = baseline? / finished_wall(report)?;
            reading(speedup, format!("ran {speedup:.2}× as fast as one worker"), format!("{speedup:.2}×"))
        }
        Figure::LostUpdates => {
            let lost = metric(report, "lost_updates")?;
            let of = grouped(metric(report, "expected").unwrap_or(0.0) as u64);
            let long = if lost > 0.0 {
                format!("lost {} of {of} updates", grouped(lost as u64))
            } else {
                format!("lost none of {of} updates")
            };
            reading(lost, long, format!("{} lost", grouped(lost as u64)))
        }
        Figure::RequestsPerSecond => {
            let rate = metric(report, "requests_per_second")?;
            let p99 = metric(report, "p99_us").map(|p99| format!(" (p99 {})", format_seconds(p99 / 1e6)));
            let long =
                format!("answered {} requests a second{}", grouped(rate.round() as u64), p99.unwrap_or_default());
            reading(rate, long, format!("{} req/s", grouped(rate.round() as u64)))
        }
        Figure::RoundTrip => {
            let p50 = metric(report, "p50_us")?;
            let text = micros(p50);
            reading(p50, format!("took {text} a round trip (median)"), text)
        }
        Figure::PssPerWorker => {
            let pss = metric(report, "pss_bytes")? / workers.max(1) as f64;
            let text = format_bytes(pss as u64);
            reading(pss, format!("took {text} of memory (PSS) a worker"), format!("{text} a worker"))
        }
        Figure::StartUp => {
            let startup = report.median_startup_seconds()?;
            let text = format_seconds(startup);
            reading(startup, format!("took {text} to start a worker (median)"), text)
        }
        Figure::IdleShare => {
            let idle: f64 = report.workers.iter().map(|worker| worker.idle_seconds).sum();
            let busy: f64 = report.workers.iter().map(|worker| worker.busy_seconds).sum();
            let share = (idle + busy > 0.0).then(|| idle / (idle + busy))?;
            let percent = format!("{:.0} %", share * 100.0);
            reading(share, format!("left its workers idle {percent} of the time"), format!("{percent} idle"))
        }
        Figure::Survivors => {
            let done = report.workers.iter().filter(|worker| worker.outcome == WorkerOutcome::Done).count();
            let of = report.workers.len();
            let long = if done == 0 {
                format!("had none of its {of} workers finish: they all died")
            } else {
                format!("had {done} of its {of} workers finish their tasks")
            };
            reading(done as f64, long, format!("{done}/{of} finished"))
        }
    }
}

/// `16.9 µs`, `1.06 µs`, `12.3 ms`.
fn micros(micros: f64) -> String {
    if micros < 10.0 {
        format!("{micros:.2} µs")
    } else {
        format_seconds(micros / 1e6)
    }
}

#[cfg(test)]
mod tests;
