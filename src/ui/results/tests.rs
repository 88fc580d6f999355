use std::time::Duration;

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::*;
use crate::engine::{Model, Plan, PlanRequest, RunReport};
use crate::units::{brief_count, grouped};
use crate::workload::{by_name, Measure, Metrics, MetricsOf, Wrong};

#[test]
fn the_base_columns_fit_an_80_column_terminal() {
    let base: u16 = BASE.iter().map(|(_, w)| w + 1).sum::<u16>() - 1;
    assert_eq!(base, 78);
    assert_eq!(extra_columns(78, false, Some(14)), vec![]);
}

#[test]
fn extra_columns_join_by_priority_as_width_allows() {
    assert_eq!(extra_columns(83, false, Some(14)), vec![Extra::Efficiency]);
    assert_eq!(
        extra_columns(119, false, Some(14)),
        vec![Extra::Efficiency, Extra::Figure, Extra::Outcome, Extra::PeakMemory]
    );
    assert_eq!(extra_columns(118, false, Some(14)), vec![Extra::Efficiency, Extra::Figure, Extra::Outcome, Extra::Cpu]);
    // A wide figure (`write 123 MB/s, read 456 MB/s`) keeps its room whole before the outcome.
    assert_eq!(extra_columns(118, false, Some(29)), vec![Extra::Efficiency, Extra::Figure]);
    // No row with a figure: no column of `—`.
    assert_eq!(extra_columns(118, false, None), vec![Extra::Efficiency, Extra::Outcome, Extra::PeakMemory, Extra::Cpu]);
    assert_eq!(extra_columns(200, true, Some(14)).len(), Extra::ALL.len());
}

/// At 120×36 (the panel 118 columns inside) every figure shows whole, the widest included
/// (disk's, net's, contention's lost updates); at 80×24 the base columns show whole and the
/// figure column is left out rather than cut.
#[test]
fn every_figure_shows_whole_at_120_by_36() {
    let mut state = State::new(2, Duration::from_secs(3));
    state.color = false;
    let headlines = [
        ("disk", "write 123 MB/s, read 456 MB/s"),
        ("net", "12.3 MB/s, 512 ms a request"),
        ("memory", "PSS 324.0 MiB"),
        ("ipc", "p50 12.5 µs"),
        ("imbalance", "max idle 1.20 s"),
        ("contention", "lost 142224382 of 288000000"),
    ];
    for (workload, headline) in headlines {
        state.add_result(run(&plan(workload, Model::Threads, 2, false, &[]), 2.0, Some(headline)));
    }
    let wide = snapshot(120, 11, &state);
    for (_, headline) in headlines {
        assert!(wide.contains(headline), "{headline} cut:\n{wide}");
    }
    let narrow = snapshot(80, 11, &state);
    assert!(!narrow.contains("figure"), "{narrow}");
    insta::assert_snapshot!(format!("{wide}\n{narrow}"));
}

/// A workload's own figure, as its metrics would headline it, with what makes the result
/// wrong (`lost 512 of 32000`: 512 lost) and the measure a comparison ranks by.
#[derive(Debug, Default)]
struct Figure {
    headline: &'static str,
    lost: Option<(u64, u64)>,
    measure: Option<Measure>,
}

impl Metrics for Figure {
    fn headline(&self) -> Option<String> {
        Some(self.headline.to_owned())
    }

    fn json(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::Map::new()
    }

    fn wrong(&self) -> Option<Wrong> {
        self.lost.filter(|(lost, _)| *lost > 0).map(|(lost, of)| Wrong {
            brief: format!("{} lost", brief_count(lost)),
            whole: format!("lost {} of {} updates", grouped(lost), grouped(of)),
        })
    }

    fn measure(&self) -> Option<Measure> {
        self.measure.clone()
    }
}

fn figure(headline: &'static str) -> Figure {
    let lost = headline
        .strip_prefix("lost ")
        .and_then(|rest| rest.split_once(" of "))
        .and_then(|(lost, of)| Some((lost.parse().ok()?, of.parse().ok()?)));
    Figure { headline, lost, measure: None }
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

fn run(plan: &Plan, wall: f64, headline: Option<&'static str>) -> RunReport {
    let expected = plan.workload.kind.checksum_checks_result().then_some(7);
    RunReport {
        wall_seconds: wall,
        cpu_seconds: wall * plan.workers.min(2) as f64,
        peak_rss_bytes: 3 << 20,
        tasks_done: plan.tasks,
        checksum: 7,
        expected_checksum: expected,
        metrics: headline.map_or_else(MetricsOf::none, |text| MetricsOf(std::sync::Arc::new(figure(text)))),
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
    assert_eq!(winners, vec![7], "processes among cpu's; contention's racy row lost updates, leaving mutex alone");
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

#[test]
fn a_racy_run_is_marked_wrong_says_how_many_updates_it_lost_and_is_never_starred() {
    let mut state = State::new(2, Duration::from_secs(3));
    state.color = false;
    let sequential = plan("contention", Model::Sequential, 1, false, &[("strategy", "racy")]);
    let racy = plan("contention", Model::Threads, 2, false, &[("strategy", "racy")]);
    let mutex = plan("contention", Model::Threads, 2, false, &[("strategy", "mutex")]);
    for report in [
        run(&sequential, 4.2, Some("lost 0 of 288000000")),
        run(&racy, 2.1, Some("lost 142224382 of 288000000")),
        run(&mutex, 9.6, Some("lost 0 of 288000000")),
    ] {
        state.add_result(report);
    }
    let rows = &state.comparison.rows;
    assert!(!rows[1].winner && rows[1].wrong.is_some(), "the fastest row lost updates");
    assert!(rows[0].winner, "the sequential run counted right and faster than the mutex");
    let narrow = snapshot(80, 7, &state);
    assert!(narrow.contains("✗") && narrow.contains("142M lost"), "{narrow}");
    insta::assert_snapshot!(format!("{narrow}\n{}", snapshot(140, 7, &state)));
}

/// One latency run answering requests at `rate` a second.
fn answering(plan: &Plan, wall: f64, rate: f64, p99: &str) -> RunReport {
    let measure = Measure {
        value: rate,
        higher_is_better: true,
        wins_by: "answered more requests a second",
        text: format!("{rate:.0} requests/s, p99 {p99}"),
    };
    let figure = Figure { headline: "", lost: None, measure: Some(measure) };
    RunReport { metrics: MetricsOf(std::sync::Arc::new(figure)), ..run(plan, wall, None) }
}

/// A run with a measure where smaller is better, as memory's PSS a worker and throttle's
/// distance from its limit.
fn measured(plan: &Plan, wall: f64, value: f64, wins_by: &'static str, text: &str) -> RunReport {
    let measure = Measure { value, higher_is_better: false, wins_by, text: text.to_owned() };
    let figure = Figure { headline: "", lost: None, measure: Some(measure) };
    RunReport { metrics: MetricsOf(std::sync::Arc::new(figure)), ..run(plan, wall, None) }
}

/// Each kind of verdict, drawn from fixed results: a wrong result, latency's requests a
/// second, memory's PSS a worker, throttle's limit, wall time with pinning, and a tie.
#[test]
fn each_verdict_in_its_own_words() {
    let pinned = {
        let mut pinned = plan("cpu", Model::Threads, 2, false, &[]);
        pinned.affinity = crate::engine::affinity::Affinity::Single;
        pinned
    };
    let cases: Vec<(&str, Vec<RunReport>)> = vec![
        (
            "contention",
            vec![
                run(
                    &plan("contention", Model::Threads, 2, false, &[("strategy", "mutex")]),
                    9.6,
                    Some("lost 0 of 32000"),
                ),
                run(
                    &plan("contention", Model::Threads, 2, false, &[("strategy", "racy")]),
                    2.1,
                    Some("lost 512 of 32000"),
                ),
            ],
        ),
        (
            "latency",
            vec![
                answering(&plan("latency", Model::Threads, 2, true, &[]), 4.0, 86.0, "2.3 s"),
                answering(&plan("latency", Model::Threads, 2, false, &[]), 4.0, 17_510.0, "1.2 ms"),
            ],
        ),
        (
            "memory",
            vec![
                measured(
                    &plan("memory", Model::Processes, 2, false, &[]),
                    3.4,
                    270e6,
                    "took less memory a worker",
                    "PSS 257.5 MiB a worker",
                ),
                measured(
                    &plan("memory", Model::Threads, 2, false, &[]),
                    3.5,
                    135e6,
                    "took less memory a worker",
                    "PSS 128.7 MiB a worker",
                ),
            ],
        ),
        (
            "throttle",
            vec![
                measured(
                    &plan("throttle", Model::Threads, 2, false, &[]),
                    3.5,
                    0.01,
                    "held its rate nearer the limit",
                    "4.0 tasks/s (limit 4)",
                ),
                measured(
                    &plan("throttle", Model::Async, 2, false, &[]),
                    3.4,
                    0.01,
                    "held its rate nearer the limit",
                    "4.0 tasks/s (limit 4)",
                ),
            ],
        ),
        ("pinning", vec![run(&pinned, 4.0, None), run(&plan("cpu", Model::Threads, 2, false, &[]), 3.0, None)]),
    ];
    let mut drawn = String::new();
    for (name, reports) in cases {
        let mut state = State::new(2, Duration::from_secs(3));
        state.color = false;
        for report in reports {
            state.add_result(report);
        }
        drawn.extend([name, ":\n", &snapshot(80, 6, &state), "\n"]);
    }
    insta::assert_snapshot!(drawn);
}
