use std::time::Duration;

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::*;
use crate::engine::{Model, Plan, PlanRequest, RunReport};
use crate::workload::{by_name, Metrics, MetricsOf};

#[test]
fn the_base_columns_fit_an_80_column_terminal() {
    let base: u16 = BASE.iter().map(|(_, w)| w + 1).sum::<u16>() - 1;
    assert_eq!(base, 78);
    assert_eq!(extra_columns(78), vec![]);
}

#[test]
fn extra_columns_join_by_priority_as_width_allows() {
    assert_eq!(extra_columns(83), vec![Extra::Efficiency]);
    assert_eq!(extra_columns(119), vec![Extra::Efficiency, Extra::Outcome, Extra::Figure, Extra::PeakMemory]);
    assert_eq!(extra_columns(118), vec![Extra::Efficiency, Extra::Outcome, Extra::Figure, Extra::Cpu]);
    assert_eq!(extra_columns(200).len(), Extra::ALL.len());
}

/// A workload's own figure, as its metrics would headline it.
#[derive(Debug)]
struct Figure(&'static str);

impl Metrics for Figure {
    fn headline(&self) -> Option<String> {
        Some(self.0.to_owned())
    }

    fn json(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::Map::new()
    }
}

fn plan(workload: &str, model: Model, workers: usize, lock: bool, options: &[(&str, &str)]) -> Plan {
    let mut request = PlanRequest {
        workers: Some(workers),
        tasks: 16,
        size: Some(64),
        gil: lock.then_some(Duration::from_millis(5)),
        ..PlanRequest::new(by_name(workload).expect("workload"), model)
    };
    for (flag, value) in options {
        request.set(flag, value);
    }
    request.validate_with(&[0, 1]).expect("plan")
}

fn run(plan: &Plan, wall: f64, figure: Option<&'static str>) -> RunReport {
    let expected = plan.workload.kind.checksum_checks_result().then_some(7);
    RunReport {
        wall_seconds: wall,
        cpu_seconds: wall * plan.workers.min(2) as f64,
        peak_rss_bytes: 3 << 20,
        tasks_done: plan.tasks,
        checksum: 7,
        expected_checksum: expected,
        metrics: figure.map_or_else(MetricsOf::none, |text| MetricsOf(std::sync::Arc::new(Figure(text)))),
        ..RunReport::empty(plan.clone())
    }
}

/// Contention's strategies side by side, 1,000 io threads, memory's own figure, and cpu
/// sequential (twice), with the lock, and as processes (twice): the latest set is cpu's.
fn state() -> State {
    let mut state = State::new(2, Duration::from_secs(3));
    state.color = false;
    let racy = plan("contention", Model::Threads, 2, false, &[("strategy", "racy")]);
    let mutex = plan("contention", Model::Threads, 2, false, &[("strategy", "mutex")]);
    let io = plan("io", Model::Threads, 1000, false, &[]);
    let memory = plan("memory", Model::Processes, 2, false, &[]);
    let sequential = plan("cpu", Model::Sequential, 1, false, &[]);
    let locked = plan("cpu", Model::Threads, 2, true, &[]);
    let processes = plan("cpu", Model::Processes, 2, false, &[]);
    for report in [
        run(&racy, 0.21, Some("lost 512 of 32000")),
        run(&mutex, 0.96, Some("lost 0 of 32000")),
        run(&io, 0.203, None),
        run(&memory, 0.12, Some("PSS 324.0 MiB")),
        run(&sequential, 8.0, None),
        run(&sequential, 8.4, None),
        run(&locked, 9.4, None),
        run(&processes, 4.1, None),
        run(&processes, 4.3, None),
    ] {
        state.add_result(report);
    }
    state
}

fn snapshot(width: u16, height: u16, state: &State) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test backend");
    terminal.draw(|frame| render(frame, frame.area(), state, Theme::PLAIN)).expect("draw");
    terminal.backend().to_string()
}

#[test]
fn results_fold_repeats_mark_the_winner_and_say_what_it_shows() {
    let state = state();
    assert_eq!(state.comparison.rows.len(), 7);
    let winners: Vec<usize> =
        state.comparison.rows.iter().enumerate().filter(|(_, row)| row.winner).map(|(at, _)| at + 1).collect();
    assert_eq!(winners, vec![1, 7], "racy among contention's, processes among cpu's");
    insta::assert_snapshot!(snapshot(80, 12, &state));
}

#[test]
fn results_wide_enough_for_every_column() {
    insta::assert_snapshot!(snapshot(160, 11, &state()));
}

#[test]
fn the_columns_page_explains_every_results_header() {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("test backend");
    terminal.draw(|frame| render_columns_help(frame, frame.area(), Theme::PLAIN)).expect("draw");
    let page = terminal.backend().to_string();
    let explained: Vec<&str> = COLUMNS.iter().flat_map(|(names, _)| names.split_whitespace()).collect();
    for header in BASE.iter().map(|(name, _)| *name).chain(Extra::ALL.map(Extra::name)) {
        let header = if header.is_empty() { WINNER } else { header };
        assert!(header.split_whitespace().all(|word| explained.contains(&word)), "{header} unexplained");
    }
    for worker_header in ["/s", "task", "tasks", "core", "cpu", "lock wait", "split", "why"] {
        let explained = format!(" {worker_header}:");
        assert!(WORKER_COLUMNS.iter().any(|line| line.contains(&explained)), "{worker_header}");
    }
    insta::assert_snapshot!(page);
}
