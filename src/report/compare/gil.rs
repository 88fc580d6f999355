//! The real GIL beside the emulated lock: when the results hold both a CPython threads run and
//! a native threads run with the emulated lock, of one workload with as many workers and tasks,
//! the sentence sets their speedups side by side, each over its own runtime's sequential
//! baseline, and says whether they agree. That turns the emulation's fidelity from a claim
//! into a measurement.

use std::borrow::Borrow;

use super::Row;
use crate::engine::{Model, Plan, RunOutcome, RunReport};

/// Two speedups agree when they are within this fraction of each other. Each speedup is a ratio
/// of two mean wall times, each of which moves by a few percent from run to run on a shared
/// machine, so two honest measurements of one behaviour can differ by several percent; 10 % is
/// also the bound the harness holds itself to against a bare CPython script. A difference past
/// it is a difference in behaviour, not noise.
pub(crate) const AGREE_WITHIN: f64 = 0.10;

/// `CPython 3.11 threads × 2: 0.98×; emulated lock: 0.95×, within 10 % of each other.` when the
/// latest run is one of such a pair and both have a speedup; None otherwise.
#[must_use]
pub(crate) fn gil_beside_lock<R: Borrow<RunReport>>(rows: &[Row], reports: &[R], latest: usize) -> Option<String> {
    let latest_row = rows.iter().position(|row| row.runs.contains(&latest))?;
    let plan = &rows[latest_row].latest(reports)?.plan;
    let (python_at, native_at) = if python_threads(plan) {
        (latest_row, partner(rows, reports, plan, emulated_lock_threads)?)
    } else if emulated_lock_threads(plan) {
        (partner(rows, reports, plan, python_threads)?, latest_row)
    } else {
        return None;
    };
    let (python, native) = (rows[python_at].speedup?, rows[native_at].speedup?);
    let python_plan = &rows[python_at].latest(reports)?.plan;
    let words = crate::report::interpreter_words(&python_plan.runtime)?;
    let gil_off = python_plan.runtime.interpreter().is_some_and(|interpreter| !interpreter.gil);
    let figures = format!(
        "{words} threads × {}{}: {python:.2}×; emulated lock: {native:.2}×",
        python_plan.workers,
        if gil_off { " (GIL off)" } else { "" }
    );
    let percent = AGREE_WITHIN * 100.0;
    Some(if agree(python, native) {
        format!("{figures}, within {percent:.0}% of each other: the emulated lock behaves as this GIL here.")
    } else {
        format!(
            "{figures}: they differ by more than {percent:.0}% (CPython's speedup is {:.2}× the emulation's).",
            python / native.max(f64::MIN_POSITIVE)
        )
    })
}

/// Whether two speedups are within [`AGREE_WITHIN`] of each other, measured against the larger.
#[must_use]
pub(crate) fn agree(a: f64, b: f64) -> bool {
    (a - b).abs() <= AGREE_WITHIN * a.max(b)
}

/// CPython's `threading.Thread`, two workers or more.
fn python_threads(plan: &Plan) -> bool {
    plan.runtime.interpreter().is_some() && plan.model == Model::Threads && plan.workers > 1
}

/// Native threads sharing the emulated lock, two workers or more.
fn emulated_lock_threads(plan: &Plan) -> bool {
    plan.runtime.interpreter().is_none() && plan.model == Model::Threads && plan.gil.is_some() && plan.workers > 1
}

/// The latest right, finished row that `wanted` accepts, of `plan`'s workload, workers and tasks.
fn partner<R: Borrow<RunReport>>(rows: &[Row], reports: &[R], plan: &Plan, wanted: fn(&Plan) -> bool) -> Option<usize> {
    rows.iter().enumerate().rev().find_map(|(at, row)| {
        let other = &row.latest(reports)?.plan;
        let fits = row.wrong.is_none()
            && row.speedup.is_some()
            && row.latest(reports).is_some_and(|report| report.outcome == RunOutcome::Finished)
            && wanted(other)
            && other.workload.kind.name() == plan.workload.kind.name()
            && other.workers == plan.workers
            && other.tasks == plan.tasks;
        fits.then_some(at)
    })
}
