//! Presenting finished runs: the table, the JSON, the trace, the dashboard's results files, the
//! comparison (speedup, efficiency, rows of repeats, the winner) and a sweep's tables. Shared by
//! `run`, `bench` and the dashboard. Each format has one writer (`sheet.rs` aligned text,
//! `csv.rs`, `markdown.rs`) fed [`sheet::Sheet`]s; `rows.rs` makes a run's per-worker sheet and
//! `sweep.rs` a sweep's. The result types themselves are the engine's
//! ([`crate::engine::RunReport`]); this module only reads them and never starts or stops anything.

pub(crate) mod compare;
mod csv;
mod experiments;
mod json;
mod markdown;
pub(crate) mod results;
mod rows;
mod sheet;
mod sweep;
mod table;
mod trace;

pub(crate) use compare::{compare, Comparison};
pub(crate) use experiments::{experiments_json, experiments_markdown, experiments_text};
pub(crate) use json::{runtime_json, to_json};
pub(crate) use rows::{run_csv, run_markdown};
#[cfg(test)]
pub(crate) use sweep::gil_lines as sweep_gil_lines;
pub(crate) use sweep::{bench_csv, bench_json, bench_markdown, bench_text};
pub(crate) use table::{to_summary, to_table};
pub(crate) use trace::write_trace;

use crate::engine::plan::runtime::Runtime;
use crate::engine::RunReport;

/// The verdict of a run's checksum where it checks a computed result (cpu's sum, data's
/// histograms): None where it only proves that each task ran once (io's index + 1), or where
/// not every task completed. "checksum ok" on a run that computed nothing would claim too much.
#[must_use]
pub(crate) fn result_check(report: &RunReport) -> Option<bool> {
    if report.plan.workload.kind.checksum_checks_result() {
        report.checksum_ok()
    } else {
        None
    }
}

/// True when every task ran but nothing says in advance what the checksum should be (the
/// user's own function): the report shows the checksum for comparing runs, and says so.
#[must_use]
pub(crate) fn unchecked(report: &RunReport) -> bool {
    report.expected_checksum.is_none() && report.tasks_done == report.plan.tasks
}

/// What ran the workers and their lock, for a report's first line: `lock on (5 ms)` or
/// `lock off` for native workers, `CPython 3.11.7 · GIL on` for Python's.
#[must_use]
pub(crate) fn runtime_and_lock(plan: &crate::engine::Plan) -> String {
    match (plan.runtime.interpreter(), plan.gil) {
        (Some(_), _) => runtime_text(&plan.runtime),
        (None, Some(interval)) => format!("lock on ({})", crate::units::format_duration(interval)),
        (None, None) => "lock off".to_owned(),
    }
}

/// `CPython 3.11` (`CPython 3.13t` for a free-threaded build): the interpreter as a results row
/// and a sentence name it; None for native code.
#[must_use]
pub(crate) fn interpreter_words(runtime: &Runtime) -> Option<String> {
    let python = runtime.interpreter()?;
    let build = if python.free_threaded { "t" } else { "" };
    Some(format!("{} {}{build}", python.implementation, python.short_version()))
}

/// A results row's lock cell: the emulated lock `on` or `off` for native code; CPython's own
/// `GIL`, or `free` where a free-threaded build runs without it.
#[must_use]
pub(crate) fn lock_cell(plan: &crate::engine::Plan) -> &'static str {
    match (plan.runtime.interpreter(), plan.gil) {
        (Some(python), _) if python.gil => "GIL",
        (Some(_), _) => "free",
        (None, Some(_)) => "on",
        (None, None) => "off",
    }
}

/// The runtime in a saved file's or an export's row: `native`, or `CPython 3.11.7 · GIL on`.
#[must_use]
pub(crate) fn runtime_text(runtime: &Runtime) -> String {
    match runtime.interpreter() {
        Some(python) => format!("{} · GIL {}", python.label(), if python.gil { "on" } else { "off" }),
        None => "native".to_owned(),
    }
}

/// `baseline / this`: how many times faster than the baseline.
#[must_use]
pub(crate) fn speedup(baseline_wall: f64, wall: f64) -> Option<f64> {
    (wall > 0.0 && baseline_wall > 0.0).then(|| baseline_wall / wall)
}

pub(crate) use crate::sweep::stats::efficiency;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speedup_and_efficiency() {
        assert_eq!(speedup(2.0, 1.0), Some(2.0));
        assert_eq!(speedup(2.0, 0.0), None);
        assert!((efficiency(1.8, 2) - 0.9).abs() < 1e-12);
    }
}
