//! Comparing finished runs, for the dashboard's results table and its saved files: identical
//! configurations grouped into one row (mean ± σ of their wall times), each row's speedup over
//! its sequential baseline, the winner of each comparable set, and one sentence saying what
//! the comparison shows. Reads reports only; the sentence is built from the rows and the
//! catalog's own texts, never from a workload's name. A wrong result, and the workload's own
//! measure where wall time is not its lesson, are `verdict.rs`'s.

use std::borrow::Borrow;

use crate::engine::plan::runtime::Runtime;
use crate::engine::{Model, Plan, RunOutcome, RunReport, Schedule};
use crate::sweep::stats::Summary;
use crate::units::format_seconds;
use crate::workload::{Kind, Setup, Shape, Values, Wrong};
use verdict::{best_and_worst, sentence_for, wrong_of};

/// One row of the results table: one configuration, run once or more.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    /// Indices of the row's runs in the reports, oldest first.
    pub runs: Vec<usize>,
    /// The options (and schedule) that tell runs of one workload apart: `mutex`, `pipe`.
    pub variant: String,
    pub wall_mean: f64,
    /// The sample standard deviation of the wall times; None for a single run.
    pub wall_sd: Option<f64>,
    /// Over the baseline's mean wall time; None without a finished baseline.
    pub speedup: Option<f64>,
    pub efficiency: Option<f64>,
    /// The best right row among those of the same workload, size and tasks (two or more), by
    /// the workload's own measure, else by wall time.
    pub winner: bool,
    /// Why the row's result is wrong (lost updates, a checksum mismatch, a failed worker): it
    /// never wins, and the table marks it.
    pub wrong: Option<Wrong>,
}

impl Row {
    /// The latest run of the row.
    #[must_use]
    pub(crate) fn latest<'a, R: Borrow<RunReport>>(&self, reports: &'a [R]) -> Option<&'a RunReport> {
        self.runs.last().and_then(|at| reports.get(*at)).map(Borrow::borrow)
    }

    /// The row's runs, oldest first.
    pub(crate) fn reports<'a, R: Borrow<RunReport>>(&self, reports: &'a [R]) -> impl Iterator<Item = &'a RunReport> {
        self.runs.clone().into_iter().filter_map(move |at| reports.get(at)).map(Borrow::borrow)
    }

    /// The mean of `figure` over the row's runs.
    #[must_use]
    pub(crate) fn mean_of<R: Borrow<RunReport>>(&self, reports: &[R], figure: impl Fn(&RunReport) -> f64) -> f64 {
        Summary::of(&self.reports(reports).map(figure).collect::<Vec<_>>()).map_or(0.0, |summary| summary.mean)
    }
}

/// The texts of a row's cells, shared by the dashboard's table and the saved Markdown.
impl Row {
    /// `±12.3 ms`, or empty for a single run.
    #[must_use]
    pub(crate) fn spread_text(&self) -> String {
        self.wall_sd.map_or_else(String::new, |sd| format!("±{}", format_seconds(sd)))
    }

    /// `1.90×`, or `—` without a baseline.
    #[must_use]
    pub(crate) fn speedup_text(&self) -> String {
        self.speedup.map_or_else(|| "—".to_owned(), |s| format!("{s:.2}×"))
    }

    /// `95%`, or `—` without a baseline.
    #[must_use]
    pub(crate) fn efficiency_text(&self) -> String {
        self.efficiency.map_or_else(|| "—".to_owned(), |e| format!("{:.0}%", e * 100.0))
    }
}

/// The results table's model.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Comparison {
    pub rows: Vec<Row>,
    /// What the comparison of the latest run's set shows, when it has two finished rows.
    pub sentence: Option<String>,
    /// The rows the sentence compares: the faster, then the slower.
    pub compared: Option<(usize, usize)>,
}

/// Groups `reports` (oldest first) into rows and compares them.
#[must_use]
pub(crate) fn compare<R: Borrow<RunReport>>(reports: &[R]) -> Comparison {
    let mut rows: Vec<Row> = Vec::new();
    for (at, report) in reports.iter().map(Borrow::borrow).enumerate() {
        // Only finished runs of one configuration are repeats; a cancelled or failed run keeps
        // its own row, since its wall time measures something else.
        let same = rows.iter_mut().find(|row| {
            report.outcome == RunOutcome::Finished
                && row.runs.first().and_then(|first| reports.get(*first)).map(Borrow::borrow).is_some_and(|first| {
                    first.outcome == RunOutcome::Finished && same_configuration(&first.plan, &report.plan)
                })
        });
        match same {
            Some(row) => row.runs.push(at),
            None => rows.push(Row {
                runs: vec![at],
                variant: variant_of(&report.plan),
                wall_mean: 0.0,
                wall_sd: None,
                speedup: None,
                efficiency: None,
                winner: false,
                wrong: None,
            }),
        }
    }
    for row in &mut rows {
        let walls: Vec<f64> = row.reports(reports).map(|report| report.wall_seconds).collect();
        let spread = Summary::of(&walls);
        row.wall_mean = spread.map_or(0.0, |summary| summary.mean);
        row.wall_sd = spread.filter(|_| walls.len() > 1).map(|summary| summary.stddev);
        row.wrong =
            row.runs.iter().rev().filter_map(|at| reports.get(*at)).find_map(|report| wrong_of(report.borrow()));
    }
    let means: Vec<f64> = rows.iter().map(|row| row.wall_mean).collect();
    for index in 0..rows.len() {
        // A cancelled or failed run's wall time is not a time to do the work.
        let Some(report) = rows[index].latest(reports).filter(|r| r.outcome == RunOutcome::Finished) else {
            continue;
        };
        let base = baseline_row(&rows, reports, &report.plan);
        let speedup = base.and_then(|base| super::speedup(means[base], rows[index].wall_mean));
        rows[index].speedup = speedup;
        rows[index].efficiency = speedup.map(|s| super::efficiency(s, report.plan.workers));
    }
    mark_winners(&mut rows, reports);
    let latest = reports.len().checked_sub(1);
    let said = latest.and_then(|last| sentence_for(&rows, reports, last));
    let compared = said.as_ref().map(|(_, fast, slow)| (*fast, *slow));
    // The real GIL beside the emulated lock comes first: it is the pair the latest run made.
    let beside = latest.and_then(|last| gil::gil_beside_lock(&rows, reports, last));
    let sentence = match (beside, said.map(|(sentence, ..)| sentence)) {
        (Some(beside), Some(sentence)) => Some(format!("{beside} {sentence}")),
        (beside, sentence) => beside.or(sentence),
    };
    Comparison { rows, sentence, compared }
}

/// Whether two plans are the same configuration: what the table shows of a row.
fn same_configuration(a: &Plan, b: &Plan) -> bool {
    a.workload == b.workload
        && a.model == b.model
        && a.workers == b.workers
        && a.affinity == b.affinity
        && a.gil == b.gil
        && a.schedule == b.schedule
        && a.chunk == b.chunk
        && a.start == b.start
        && a.respawn == b.respawn
        && same_runtime(&a.runtime, &b.runtime)
}

/// Whether two runs ran on one runtime: both native, or one interpreter (the same version and
/// build, whatever its path: `python3` and `python3.11` may be one file).
#[must_use]
pub(crate) fn same_runtime(a: &Runtime, b: &Runtime) -> bool {
    match (a, b) {
        (Runtime::Native, Runtime::Native) => true,
        (Runtime::Python(a), Runtime::Python(b)) => a.label() == b.label() && a.gil == b.gil,
        _ => false,
    }
}

/// Whether two plans belong to one comparison: same workload, size and tasks, on one runtime
/// (a Python twin's size is in its own unit: its work is another amount).
fn comparable(a: &Plan, b: &Plan) -> bool {
    a.workload.kind.name() == b.workload.kind.name()
        && a.workload.size == b.workload.size
        && a.tasks == b.tasks
        && same_runtime(&a.runtime, &b.runtime)
}

/// The options that tell runs of one workload apart (`racy`, `pipe`), with the schedule where
/// the workload offers it as a variant or it is not the default.
#[must_use]
pub(crate) fn variant_of(plan: &Plan) -> String {
    let mut words = vec![plan.workload.variant()];
    let offers_schedule = plan
        .workload
        .kind
        .variants(false)
        .iter()
        .any(|variant| variant.sets.iter().any(|(flag, _)| *flag == "schedule"));
    if offers_schedule || plan.schedule != Schedule::Static {
        words.push(match plan.schedule {
            Schedule::Static => "static".to_owned(),
            Schedule::Dynamic => "dynamic".to_owned(),
        });
    }
    words.retain(|word| !word.is_empty());
    words.join(" ")
}

/// The workload as its sequential baseline runs it: the same size, tasks and options, read
/// for one worker thread. An option a sequential run cannot take (`--transfer pipe`, a
/// transport between processes) falls back to its default.
#[must_use]
pub(crate) fn baseline_setup(
    kind: &'static dyn Kind,
    size: u64,
    tasks: u64,
    given: &[(String, String)],
) -> Option<Setup> {
    let shape = Shape { workers: 1, tasks, processes: false };
    Setup::configure(kind, size, given, &shape).ok().or_else(|| {
        let numbers: Vec<(String, String)> = given
            .iter()
            .filter(|(flag, _)| {
                kind.options()
                    .iter()
                    .any(|spec| spec.flag == flag && matches!(spec.values, Values::Number { .. } | Values::Text))
            })
            .cloned()
            .collect();
        Setup::configure(kind, size, &numbers, &shape).ok()
    })
}

/// The baseline setup of a finished plan.
fn baseline_setup_of(plan: &Plan) -> Option<Setup> {
    let given: Vec<(String, String)> =
        plan.workload.options.iter().map(|(f, v)| (f.to_owned(), v.to_owned())).collect();
    baseline_setup(plan.workload.kind, plan.workload.size, plan.tasks, &given)
}

/// Whether `report` can serve as the baseline of runs on `runtime` whose baseline setup is
/// `target`: a Python run's speedup is over Python's own sequential run, a native one's over
/// native code's.
#[must_use]
pub(crate) fn is_baseline(report: &RunReport, target: &Setup, runtime: &Runtime) -> bool {
    report.outcome == RunOutcome::Finished
        && report.plan.workers == 1
        && report.plan.workload == *target
        && same_runtime(&report.plan.runtime, runtime)
}

/// The row a plan's speedup is measured against: the latest finished sequential row of its
/// baseline setup, else the latest finished 1-worker row of any model.
fn baseline_row<R: Borrow<RunReport>>(rows: &[Row], reports: &[R], plan: &Plan) -> Option<usize> {
    let target = baseline_setup_of(plan)?;
    let candidates = || {
        rows.iter()
            .enumerate()
            .rev()
            .filter(|(_, row)| row.latest(reports).is_some_and(|report| is_baseline(report, &target, &plan.runtime)))
    };
    candidates()
        .find(|(_, row)| row.latest(reports).is_some_and(|report| report.plan.model == Model::Sequential))
        .or_else(|| candidates().next())
        .map(|(at, _)| at)
}

fn mark_winners<R: Borrow<RunReport>>(rows: &mut [Row], reports: &[R]) {
    for index in 0..rows.len() {
        let Some(plan) = rows[index].latest(reports).map(|report| &report.plan) else { continue };
        let set = right_set(rows, reports, plan);
        let best = best_and_worst(rows, reports, &set).map(|(best, _)| best);
        rows[index].winner = set.len() > 1 && best == Some(index);
    }
}

/// The rows comparable with `plan` whose runs finished with a right result: the only ones
/// that may win.
fn right_set<R: Borrow<RunReport>>(rows: &[Row], reports: &[R], plan: &Plan) -> Vec<usize> {
    rows.iter()
        .enumerate()
        .filter(|(_, row)| {
            row.wrong.is_none()
                && row.latest(reports).is_some_and(|r| r.outcome == RunOutcome::Finished && comparable(&r.plan, plan))
        })
        .map(|(at, _)| at)
        .collect()
}

mod gil;
pub(crate) use gil::{agree, AGREE_WITHIN};
#[cfg(test)]
mod tests;
mod verdict;
