//! A finished run's per-worker rows as a [`Sheet`], for `run --format csv` and `markdown`: the
//! columns of the text table, numbers plain for CSV and readable for Markdown.

use super::csv::to_csv;
use super::markdown::to_markdown;
use super::sheet::{Align, Sheet, Style};
use crate::engine::affinity::format_cpu_list;
use crate::engine::RunReport;
use crate::units::format_seconds;

#[must_use]
pub(crate) fn workers_sheet(report: &RunReport, style: Style) -> Sheet {
    use Align::{Left, Right};
    let seconds = |name: &'static str| match style {
        Style::Human => name.to_owned(),
        Style::Data => format!("{}_s", name.replace([' ', '-'], "_")),
    };
    let (cpu, lock, startup) = (seconds("cpu"), seconds("lock wait"), seconds("start-up"));
    let mut sheet = Sheet::new(&[
        ("worker", Right),
        ("pid", Right),
        ("tid", Right),
        ("outcome", Left),
        ("tasks", Right),
        (&cpu, Right),
        ("cores", Left),
        (&lock, Right),
        (&startup, Right),
    ]);
    let time = |value: f64| match style {
        Style::Human => format_seconds(value),
        Style::Data => format!("{value:.6}"),
    };
    for worker in &report.workers {
        sheet.push(vec![
            worker.index.to_string(),
            worker.pid.to_string(),
            worker.tid.to_string(),
            worker.outcome.to_string(),
            worker.tasks_done.to_string(),
            time(worker.cpu_seconds),
            format_cpu_list(&worker.cores),
            time(worker.lock_wait_seconds),
            time(worker.startup_seconds),
        ]);
    }
    sheet
}

/// `run --format csv`: one row per worker.
#[must_use]
pub(crate) fn run_csv(report: &RunReport) -> String {
    to_csv(&workers_sheet(report, Style::Data))
}

/// `run --format markdown`: what ran, the workers' table, and how the run ended.
#[must_use]
pub(crate) fn run_markdown(report: &RunReport) -> String {
    let plan = &report.plan;
    let lock = super::runtime_and_lock(plan);
    let checksum = match report.checksum_ok() {
        Some(true) if !plan.workload.kind.checksum_checks_result() => " · every task ran once",
        Some(true) => " · checksum ok",
        Some(false) => " · checksum MISMATCH",
        None if super::unchecked(report) => &format!(" · checksum {}, which nothing can check", report.checksum),
        None => "",
    };
    format!(
        "## concur-tui run: {} · {} × {} · {} task(s) of {} · {lock}\n\n{}\n{} · wall {} · cpu {} · {}/{} tasks{checksum}\n",
        plan.workload,
        plan.model,
        plan.workers,
        plan.tasks,
        plan.workload.kind.size().show(plan.workload.size),
        to_markdown(&workers_sheet(report, Style::Human)),
        report.outcome.name(),
        format_seconds(report.wall_seconds),
        format_seconds(report.cpu_seconds),
        report.tasks_done,
        plan.tasks,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Model, PlanRequest, WorkerOutcome, WorkerReport};
    use crate::workload::by_name;

    fn fixed_report() -> RunReport {
        let plan = PlanRequest {
            workers: Some(2),
            tasks: 4,
            size: Some(1000),
            ..PlanRequest::new(by_name("cpu").expect("cpu"), Model::Processes)
        }
        .validate_with(&[0, 1])
        .expect("plan");
        let worker = |index: usize| WorkerReport {
            index,
            pid: 100 + index as i32,
            tid: 100 + index as i32,
            outcome: WorkerOutcome::Done,
            tasks_done: 2,
            cpu_seconds: 0.25 + index as f64 * 0.01,
            cores: vec![index],
            lock_wait_seconds: 0.0,
            waiting_for_cpu_seconds: 0.0,
            off_cpu_seconds: 0.0,
            startup_seconds: 0.000_4,
            busy_seconds: 0.25,
            idle_seconds: 0.0,
            rss_bytes: 0,
            pss_bytes: 0,
            traceback: None,
        };
        RunReport {
            wall_seconds: 0.26,
            cpu_seconds: 0.51,
            tasks_done: 4,
            workers: vec![worker(0), worker(1)],
            ..RunReport::empty(plan)
        }
    }

    #[test]
    fn csv_has_one_row_per_worker_in_plain_numbers() {
        insta::assert_snapshot!(run_csv(&fixed_report()).replace("\r\n", "\n"));
    }

    #[test]
    fn markdown_has_the_plan_the_workers_and_the_end() {
        insta::assert_snapshot!(run_markdown(&fixed_report()));
    }
}
