//! The dashboard's results, as they are saved: a Markdown table (the rows the dashboard shows,
//! with the sentence under them) and a JSON document whose rows hold each run's full report in
//! the run report's own shape ([`super::to_json`]). Text only: the dashboard writes the files.
//! The Markdown goes through the one Markdown writer (`markdown.rs`), as `run` and `bench` do.

use std::borrow::Borrow;
use std::fmt::Write;

use serde_json::{json, Value};

use super::compare::{Comparison, Row};
use super::sheet::{Align, Sheet};
use crate::engine::RunReport;
use crate::units::{format_bytes, format_duration, format_seconds};

/// What a row's lock cell says: `off`, or the switch interval when on; under Python the
/// interpreter's own GIL, `GIL on` or `GIL off`.
#[must_use]
fn lock_text(report: &RunReport) -> String {
    if let Some(python) = report.plan.runtime.interpreter() {
        return if python.gil { "GIL on" } else { "GIL off" }.to_owned();
    }
    report.plan.gil.map_or_else(|| "off".to_owned(), |interval| format!("on ({})", format_duration(interval)))
}

/// `ok` or `WRONG` where the checksum checks a computed result, else `—`.
#[must_use]
pub(crate) fn check_text(report: &RunReport) -> &'static str {
    match super::result_check(report) {
        Some(true) => "ok",
        Some(false) => "WRONG",
        None => "—",
    }
}

/// The results as a Markdown table, the winner of each set starred, `sentence` under it.
#[must_use]
pub(crate) fn to_markdown<R: Borrow<RunReport>>(
    reports: &[R],
    comparison: &Comparison,
    sentence: Option<&str>,
) -> String {
    let mut sheet = Sheet::new(&[
        ("#", Align::Right),
        ("workload", Align::Left),
        ("variant", Align::Left),
        ("runtime", Align::Left),
        ("model", Align::Left),
        ("workers", Align::Right),
        ("lock", Align::Left),
        ("runs", Align::Right),
        ("wall (mean)", Align::Right),
        ("± σ", Align::Right),
        ("speedup", Align::Right),
        ("eff", Align::Right),
        ("cpu", Align::Right),
        ("peak mem", Align::Right),
        ("figure", Align::Left),
        ("check", Align::Left),
        ("outcome", Align::Left),
    ]);
    for (index, row) in comparison.rows.iter().enumerate() {
        let Some(report) = row.latest(reports) else { continue };
        let star = match (&row.wrong, row.winner) {
            (Some(_), _) => " ✗",
            (None, true) => " ★",
            (None, false) => "",
        };
        sheet.push(vec![
            format!("{}{star}", index + 1),
            report.plan.workload.to_string(),
            if row.variant.is_empty() { "—".to_owned() } else { row.variant.clone() },
            super::runtime_text(&report.plan.runtime),
            report.plan.model.to_string(),
            report.plan.workers.to_string(),
            lock_text(report),
            row.runs.len().to_string(),
            format_seconds(row.wall_mean),
            row.spread_text(),
            row.speedup_text(),
            row.efficiency_text(),
            format_seconds(row.mean_of(reports, |r| r.cpu_seconds)),
            format_bytes(peak_of(row, reports)),
            report.metrics.headline().unwrap_or_else(|| "—".to_owned()),
            check_text(report).to_owned(),
            report.outcome.name().to_owned(),
        ]);
    }
    let mut out = String::from("# concur-tui results\n\n");
    out.push_str(&super::markdown::to_markdown(&sheet));
    out.push_str(
        "\n★ the best right row among those of the same workload, size and tasks: by the workload's own \
         measure where it has one, else the fastest. ✗ a wrong result (lost updates, a checksum mismatch, a \
         failed worker): it never wins. ",
    );
    out.push_str("Speedup: the sequential baseline's mean wall time over the row's; eff: speedup per worker.\n");
    if let Some(sentence) = sentence {
        let _ = write!(out, "\n{sentence}\n");
    }
    out
}

/// The results as JSON: one entry per row with its figures and every run's report, and
/// `sentence` as the summary.
#[must_use]
pub(crate) fn to_json<R: Borrow<RunReport>>(reports: &[R], comparison: &Comparison, sentence: Option<&str>) -> Value {
    let rows: Vec<Value> = comparison
        .rows
        .iter()
        .filter_map(|row| {
            let report = row.latest(reports)?;
            Some(json!({
                "workload": report.plan.workload.kind.name(),
                "variant": row.variant,
                "model": report.plan.model.name(),
                "runtime": super::runtime_json(&report.plan.runtime),
                "workers": report.plan.workers,
                // The emulated lock, or the interpreter's own GIL.
                "gil": report.plan.gil.is_some() || report.plan.runtime.interpreter().is_some_and(|python| python.gil),
                "wall_mean_seconds": row.wall_mean,
                "wall_stddev_seconds": row.wall_sd,
                "speedup": row.speedup,
                "efficiency": row.efficiency,
                "winner": row.winner,
                "runs": row.reports(reports).map(super::to_json).collect::<Vec<_>>(),
            }))
        })
        .collect();
    json!({ "results": rows, "summary": sentence })
}

/// The highest peak of a row's runs.
#[must_use]
pub(crate) fn peak_of<R: Borrow<RunReport>>(row: &Row, reports: &[R]) -> u64 {
    row.reports(reports).map(|r| r.peak_rss_bytes).max().unwrap_or(0)
}
