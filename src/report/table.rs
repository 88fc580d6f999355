//! The readable report of `run --format table`: one row per worker, then the totals.

use std::fmt::Write;

use crate::engine::affinity::{allowed_cpus, format_cpu_list};
use crate::engine::{Model, RunReport};
use crate::units::{format_bytes, format_seconds, truncate};

#[must_use]
pub(crate) fn to_table(report: &RunReport) -> String {
    let plan = &report.plan;
    let lock = super::runtime_and_lock(plan);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} · {} · {} worker(s) · {} task(s) of size {} · affinity {} · {lock}",
        plan.workload, plan.model, plan.workers, plan.tasks, plan.workload.size, plan.affinity
    );
    let _ = writeln!(
        out,
        "{:>3} {:>7} {:>7} {:<16} {:>5} {:>8} {:<6} {:>9} {:>9}",
        "#", "pid", "tid", "outcome", "tasks", "cpu", "cores", "lock wait", "start-up"
    );
    let mut notes = Vec::new();
    for worker in &report.workers {
        let outcome = worker.outcome.to_string();
        if outcome.len() > worker.outcome.name().len() {
            notes.push(format!("worker {}: {outcome}", worker.index));
        }
        let _ = writeln!(
            out,
            "{:>3} {:>7} {:>7} {:<16} {:>5} {:>8} {:<6} {:>9} {:>9}",
            worker.index,
            worker.pid,
            worker.tid,
            truncate(&outcome, 16),
            worker.tasks_done,
            format_seconds(worker.cpu_seconds),
            truncate(&format_cpu_list(&worker.cores), 6),
            format_seconds(worker.lock_wait_seconds),
            format_seconds(worker.startup_seconds),
        );
    }
    for note in notes {
        let _ = writeln!(out, "{note}");
    }
    let checksum = match report.checksum_ok() {
        // io's digests only prove that each task ran once: "checksum ok" would claim a result.
        Some(true) if !plan.workload.kind.checksum_checks_result() => "every task ran once".to_owned(),
        Some(true) => "checksum ok".to_owned(),
        Some(false) => format!("checksum MISMATCH ({} expected {:?})", report.checksum, report.expected_checksum),
        None if super::unchecked(report) => {
            format!("checksum {}, which nothing can check: compare it between runs", report.checksum)
        }
        None => format!("{}/{} tasks done", report.tasks_done, plan.tasks),
    };
    let _ = writeln!(
        out,
        "{} · wall {} · cpu {} · peak RSS {} · {checksum}",
        report.outcome.name(),
        format_seconds(report.wall_seconds),
        format_seconds(report.cpu_seconds),
        format_bytes(report.peak_rss_bytes),
    );
    if let Some(line) = waiting_line(report) {
        let _ = writeln!(out, "{line}");
    }
    let figures = workload_figures(report);
    if !figures.is_empty() {
        let _ = writeln!(out, "{}: {figures}", plan.workload);
    }
    out
}

/// How much of the workers' lives went to waiting for a CPU, and where that was seen: "1,000
/// threads on 2 CPUs: 99.8 % of worker time waiting for a CPU (perf)". None when nothing was
/// observed.
#[must_use]
pub(crate) fn waiting_line(report: &RunReport) -> Option<String> {
    let share = report.waiting_for_cpu_share()?;
    let plan = &report.plan;
    let mut pinned: Vec<usize> = plan.pinning.iter().flatten().copied().collect();
    pinned.sort_unstable();
    pinned.dedup();
    let cpus = if pinned.is_empty() { allowed_cpus().map_or(0, |cpus| cpus.len()) } else { pinned.len() };
    let workers = match plan.model {
        Model::Threads => "threads",
        Model::Processes => "processes",
        Model::Async => "tasks on one loop",
        Model::Sequential => "worker",
    };
    Some(format!(
        "{} {workers} on {cpus} CPU{}: {:.1} % of worker time waiting for a CPU ({})",
        group_thousands(plan.workers),
        if cpus == 1 { "" } else { "s" },
        share * 100.0,
        report.observer.name()
    ))
}

/// `1000` as `1,000`.
fn group_thousands(count: usize) -> String {
    let digits = count.to_string();
    let mut out = String::new();
    for (at, digit) in digits.chars().enumerate() {
        if at > 0 && (digits.len() - at).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// The workload's own figures, by their JSON names: what the run was for (lost updates,
/// latencies, bytes moved). The checksum and start-up are on the lines above.
fn workload_figures(report: &RunReport) -> String {
    let mut figures = report.metrics.json();
    if report.plan.respawn {
        figures.insert("replaced_workers".into(), report.replaced.len().into());
    }
    let parts: Vec<String> = figures
        .iter()
        .map(|(name, value)| {
            let value = match value {
                serde_json::Value::Number(n) if n.is_f64() => n.as_f64().map_or_else(String::new, format_figure),
                serde_json::Value::String(text) => text.clone(),
                serde_json::Value::Null => "—".to_owned(),
                other => other.to_string(),
            };
            format!("{name} {value}")
        })
        .collect();
    parts.join(" · ")
}

/// A measured number with three significant digits, without an exponent.
fn format_figure(value: f64) -> String {
    let magnitude = if value == 0.0 { 0 } else { value.abs().log10().floor() as i32 };
    let decimals = (2 - magnitude).clamp(0, 6) as usize;
    format!("{value:.decimals$}")
}

/// The few lines printed after the dashboard leaves during a run: what was running, why it
/// stopped, how each worker ended.
#[must_use]
pub(crate) fn to_summary(report: &RunReport, cause: &str) -> String {
    let plan = &report.plan;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "concur-tui: stopped by {cause} while running {} · {} × {} ({}/{} tasks done, {})",
        plan.workload,
        plan.model,
        plan.workers,
        report.tasks_done,
        plan.tasks,
        format_seconds(report.wall_seconds)
    );
    for worker in &report.workers {
        let _ = writeln!(
            out,
            "  worker {:>3}  pid {:>7}  {} after {} task(s)",
            worker.index, worker.pid, worker.outcome, worker.tasks_done
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{format_figure, group_thousands};

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(group_thousands(2), "2");
        assert_eq!(group_thousands(1000), "1,000");
        assert_eq!(group_thousands(123_456), "123,456");
    }

    #[test]
    fn figures_keep_three_significant_digits() {
        assert_eq!(format_figure(0.0), "0.00");
        assert_eq!(format_figure(7.04), "7.04");
        assert_eq!(format_figure(35.84), "35.8");
        assert_eq!(format_figure(123_456.7), "123457");
        assert_eq!(format_figure(0.000_123_4), "0.000123");
    }
}
