//! Presenting a finished run: the table, the JSON, the headline, and the comparison maths
//! (speedup, efficiency). Shared by `run` and the dashboard. The result types themselves are the
//! engine's ([`crate::engine::RunReport`]); this module only reads them and never starts or stops
//! anything.

mod json;
mod table;

pub use json::to_json;
pub use table::{to_summary, to_table};

use crate::engine::RunReport;
use crate::workload::WorkloadKind;

/// The one-line figure of a run, for the results table and the summary. Presentation, so it
/// lives here and not with the result type.
pub trait Headline {
    /// The figure that matters most for this run's workload, in a few words.
    fn headline(&self) -> String;
}

impl Headline for RunReport {
    fn headline(&self) -> String {
        let metric = |name: &str| self.metrics.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone());
        let number = |name: &str| metric(name).and_then(|v| v.as_u64()).unwrap_or(0);
        let crashed = self.workers.iter().filter(|w| w.outcome.is_failure()).count();
        match self.plan.workload {
            WorkloadKind::Contention => format!("lost {} of {}", number("lost_updates"), number("expected")),
            WorkloadKind::Memory => format!("PSS {}", crate::units::format_bytes(number("pss_bytes"))),
            WorkloadKind::Imbalance => {
                let idle = self.workers.iter().map(|w| w.idle_seconds).fold(0.0, f64::max);
                format!("max idle {}", crate::units::format_seconds(idle))
            }
            WorkloadKind::Crash if self.plan.respawn => format!("{} replaced", number("replaced_workers")),
            WorkloadKind::Crash => format!("{crashed} crashed"),
            WorkloadKind::Ipc => match metric("p50_us").and_then(|v| v.as_f64()) {
                Some(p50) => format!("p50 {p50:.1} µs"),
                None => format!("{}/{} tasks", self.tasks_done, self.plan.tasks),
            },
            WorkloadKind::Data
                if self.plan.options.transfer == crate::workload::Transfer::Pipe
                    && self.checksum_ok() == Some(true) =>
            {
                format!("ok, {} piped", crate::units::format_bytes(number("bytes_transferred")))
            }
            WorkloadKind::Cpu | WorkloadKind::Io | WorkloadKind::Data => match self.checksum_ok() {
                Some(true) => "checksum ok".to_owned(),
                Some(false) => "checksum WRONG".to_owned(),
                None => format!("{}/{} tasks", self.tasks_done, self.plan.tasks),
            },
        }
    }
}

/// `baseline / this`: how many times faster than the baseline.
#[must_use]
pub fn speedup(baseline_wall: f64, wall: f64) -> Option<f64> {
    (wall > 0.0 && baseline_wall > 0.0).then(|| baseline_wall / wall)
}

/// Speedup per worker, as a fraction (1.0 = perfect scaling).
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn efficiency(speedup: f64, workers: usize) -> f64 {
    speedup / workers.max(1) as f64
}

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
