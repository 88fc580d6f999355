//! Presenting a finished run: the table, the JSON, the headline, and the comparison maths
//! (speedup, efficiency). Shared by `run`, `bench` and the dashboard. Each format has one
//! writer (`sheet.rs` aligned text, `csv.rs`, `markdown.rs`) fed [`sheet::Sheet`]s; `rows.rs`
//! makes a run's per-worker sheet and `bench.rs` a sweep's. The result types themselves are the
//! engine's ([`crate::engine::RunReport`]); this module only reads them and never starts or stops
//! anything.

mod bench;
mod csv;
mod json;
mod markdown;
mod rows;
mod sheet;
mod table;
mod trace;

pub(crate) use bench::{bench_csv, bench_json, bench_markdown, bench_text};
pub(crate) use json::to_json;
pub(crate) use rows::{run_csv, run_markdown};
pub(crate) use table::{to_summary, to_table};
pub(crate) use trace::write_trace;

use crate::engine::RunReport;

/// The one-line figure of a run, for the results table and the summary. Presentation, so it
/// lives here and not with the result type.
pub(crate) trait Headline {
    /// The figure that matters most for this run's workload, in a few words.
    fn headline(&self) -> String;
}

impl Headline for RunReport {
    /// The workload's own headline (`lost 12 of 4000000`), else whether the checksum held.
    fn headline(&self) -> String {
        self.metrics.headline().unwrap_or_else(|| match self.checksum_ok() {
            Some(true) => "checksum ok".to_owned(),
            Some(false) => "checksum WRONG".to_owned(),
            None => format!("{}/{} tasks", self.tasks_done, self.plan.tasks),
        })
    }
}

/// `baseline / this`: how many times faster than the baseline.
#[must_use]
pub(crate) fn speedup(baseline_wall: f64, wall: f64) -> Option<f64> {
    (wall > 0.0 && baseline_wall > 0.0).then(|| baseline_wall / wall)
}

pub(crate) use crate::bench::stats::efficiency;

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
