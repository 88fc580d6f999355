//! What a finished run means: the per-worker and run-wide figures, the comparison maths, and
//! the ways to print them (table, JSON, trace). Shared by `run` and the dashboard; it never
//! starts or stops anything.

mod json;
mod table;
mod trace;

pub use json::to_json;
pub use table::{to_summary, to_table};
pub use trace::{to_trace, write_trace};

use nix::sys::signal::Signal;

use crate::engine::timeline::Timeline;
use crate::engine::{Plan, WorkerOutcome};
use crate::workload::WorkloadKind;

/// How a run ended as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// Every worker did all its tasks.
    Finished,
    /// Stopped on request: by a signal, or by the user (None).
    Cancelled(Option<Signal>),
    /// Some worker crashed, failed or was killed from outside.
    Failed,
}

impl RunOutcome {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Finished => "finished",
            Self::Cancelled(_) => "cancelled",
            Self::Failed => "failed",
        }
    }

    /// The exit status of `concur-tui run`: 0 finished, 1 failed, 128+N after signal N.
    #[must_use]
    pub fn exit_code(self) -> i32 {
        match self {
            Self::Finished => 0,
            Self::Cancelled(Some(signal)) => 128 + signal as i32,
            Self::Cancelled(None) | Self::Failed => 1,
        }
    }
}

/// One worker's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerReport {
    pub index: usize,
    pub pid: i32,
    pub tid: i32,
    pub outcome: WorkerOutcome,
    pub tasks_done: u64,
    pub cpu_seconds: f64,
    /// Every CPU the worker was seen running on.
    pub cores: Vec<usize>,
    pub lock_wait_seconds: f64,
    /// From asking for the worker to its first instruction.
    pub startup_seconds: f64,
    /// Time inside tasks, and the rest of the run's wall time.
    pub busy_seconds: f64,
    pub idle_seconds: f64,
    /// What the worker measured of its own memory (the `memory` workload; 0 otherwise).
    pub rss_bytes: u64,
    pub pss_bytes: u64,
}

/// A finished run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    pub plan: Plan,
    pub outcome: RunOutcome,
    pub wall_seconds: f64,
    pub cpu_seconds: f64,
    /// This process's peak RSS plus each worker process's peak.
    pub peak_rss_bytes: u64,
    pub tasks_done: u64,
    /// Wrapping sum of the digests of every completed task.
    pub checksum: u64,
    /// What the checksum must be when every task ran exactly once, where known.
    pub expected_checksum: Option<u64>,
    /// CLOCK_MONOTONIC at the start, to order runs.
    pub started_ns: u64,
    pub workers: Vec<WorkerReport>,
    /// The workload's own run-wide figures, by their JSON names.
    pub metrics: Vec<(&'static str, serde_json::Value)>,
    /// What each worker did and when, from the board's state rings.
    pub timeline: Timeline,
}

impl RunReport {
    /// Median start-up cost over the workers that started.
    #[must_use]
    pub fn median_startup_seconds(&self) -> Option<f64> {
        let mut startups: Vec<f64> = self.workers.iter().map(|w| w.startup_seconds).filter(|s| *s > 0.0).collect();
        startups.sort_by(f64::total_cmp);
        startups.get(startups.len() / 2).copied()
    }

    /// The figure that matters most for this run's workload, in a few words.
    #[must_use]
    pub fn headline(&self) -> String {
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

    /// False when every task completed but the checksum says some ran twice or not at all.
    #[must_use]
    pub fn checksum_ok(&self) -> Option<bool> {
        self.expected_checksum.map(|expected| expected == self.checksum)
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
    fn exit_codes_follow_the_shell_convention() {
        assert_eq!(RunOutcome::Finished.exit_code(), 0);
        assert_eq!(RunOutcome::Failed.exit_code(), 1);
        assert_eq!(RunOutcome::Cancelled(Some(Signal::SIGINT)).exit_code(), 130);
        assert_eq!(RunOutcome::Cancelled(Some(Signal::SIGTERM)).exit_code(), 143);
        assert_eq!(RunOutcome::Cancelled(Some(Signal::SIGHUP)).exit_code(), 129);
    }

    #[test]
    fn speedup_and_efficiency() {
        assert_eq!(speedup(2.0, 1.0), Some(2.0));
        assert_eq!(speedup(2.0, 0.0), None);
        assert!((efficiency(1.8, 2) - 0.9).abs() < 1e-12);
    }
}
