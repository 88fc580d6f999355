//! Drawing: a pure function of the dashboard's [`State`]. It decides nothing and changes
//! nothing; one file per panel, colours from [`theme`].

mod catalog;
mod chart;
mod cores;
mod cores_grid;
mod experiments;
mod footer;
mod glyphs;
mod help;
mod results;
mod settings;
pub(crate) mod theme;
mod timeline;
mod workers;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use crate::app::state::{Focus, Overlay, State};
use theme::Theme;

/// The smallest terminal the layout fits in.
pub(crate) const MIN_WIDTH: u16 = 80;
pub(crate) const MIN_HEIGHT: u16 = 24;

/// Paints the whole dashboard. Returns the worker rows the workers panel had room for, when
/// it was drawn: the loop hands it to `update` as the size of a page.
pub(crate) fn draw(frame: &mut Frame, state: &State) -> Option<usize> {
    let theme = Theme { color: state.color, background: state.background };
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        render_too_small(frame, area);
        return None;
    }
    let spare = area.height.saturating_sub(MIN_HEIGHT);
    // The sentence under the table takes up to two lines, an experiment's verdict three.
    let sentence_lines =
        if state.verdict_shown.is_some() { 3 } else { 2 * usize::from(state.comparison.sentence.is_some()) };
    let results_lines = state.comparison.rows.len() + sentence_lines;
    let results_height = 5 + (spare / 2).min(results_lines.saturating_sub(2) as u16);
    let catalog_height = 7 + (spare / 6).min(2);
    let [top, middle, results_area, footer_area] = Layout::vertical([
        Constraint::Length(catalog_height),
        Constraint::Min(11),
        Constraint::Length(results_height),
        Constraint::Length(1),
    ])
    .areas(area);
    let settings_width = if area.width >= 110 { 34 } else { 28 };
    let [settings_area, right] =
        Layout::horizontal([Constraint::Length(settings_width), Constraint::Min(0)]).areas(middle);
    let core_rows = cores::rows_wanted(state, right.width, right.height);
    let [cores_area, workers_area] =
        Layout::vertical([Constraint::Length(core_rows + 2), Constraint::Min(4)]).areas(right);

    let list_width = if area.width >= 110 { 24 } else { 20 };
    let [list_area, beside] = Layout::horizontal([Constraint::Length(list_width), Constraint::Min(0)]).areas(top);
    experiments::render_list(frame, list_area, state, theme);
    if state.focus == Focus::Experiments || state.course.is_some() {
        experiments::render_claim(frame, beside, state, theme);
    } else {
        catalog::render(frame, beside, state, theme);
    }
    let mut workers_rows = None;
    if state.sweep.is_some() {
        // The chart and its table need the room of the results too.
        chart::render(frame, middle.union(results_area), state, theme);
    } else if state.timeline.is_some() {
        timeline::render(frame, middle, state, theme);
    } else {
        settings::render(frame, settings_area, state, theme);
        cores::render(frame, cores_area, state, theme);
        workers_rows = Some(workers::render(frame, workers_area, state, theme));
    }
    if state.sweep.is_none() {
        results::render(frame, results_area, state, theme);
    }
    footer::render(frame, footer_area, state, theme);
    match state.overlay {
        Some(Overlay::Help) => help::render(frame, area, state, theme),
        Some(Overlay::Columns) => results::render_columns_help(frame, area, theme),
        None => {}
    }
    workers_rows
}

/// A bordered block whose border shows focus.
fn panel<'a>(title: impl Into<Line<'a>>, focused: bool, theme: Theme) -> Block<'a> {
    Block::bordered().title(title.into().style(theme.panel_title(focused))).border_style(theme.border(focused))
}

fn focused(state: &State, focus: Focus) -> bool {
    state.focus == focus && state.overlay.is_none()
}

fn render_too_small(frame: &mut Frame, area: Rect) {
    let text = format!(
        "Terminal too small: {}×{}, the dashboard needs at least {MIN_WIDTH}×{MIN_HEIGHT}. \
         Resize it, or press q to quit.",
        area.width, area.height
    );
    let height = 4.min(area.height);
    let y = area.y + area.height.saturating_sub(height) / 2;
    frame.render_widget(
        Paragraph::new(text).wrap(Wrap { trim: true }).centered(),
        Rect { x: area.x, y, width: area.width, height },
    );
}

#[cfg(test)]
mod scale_tests;
#[cfg(test)]
mod tests {
    use std::time::Duration;

    use nix::sys::signal::Signal;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    use super::*;
    use crate::app::state::{Overlay, Priority};
    use crate::engine::{CrashReason, Model, Phase, PlanRequest, WorkerOutcome};
    use crate::engine::{RunOutcome, RunReport, WorkerReport};
    use crate::telemetry::{CoreSample, LockFigures, RunView, TimeSplit, WorkerState, WorkerView};
    use crate::workload::{by_name, MetricsOf};

    fn report(model: Model, workers: usize, wall: f64, outcome: RunOutcome) -> RunReport {
        let plan =
            PlanRequest { workers: Some(workers), tasks: 16, ..PlanRequest::new(by_name("cpu").expect("cpu"), model) }
                .validate_with(&[0, 1])
                .expect("plan");
        let worker_reports = (0..workers)
            .map(|index| WorkerReport {
                index,
                pid: 4000 + index as i32,
                tid: 4000 + index as i32,
                outcome: if index == 1 && outcome == RunOutcome::Failed {
                    WorkerOutcome::Crashed(CrashReason::Signal(Signal::SIGSEGV))
                } else {
                    WorkerOutcome::Done
                },
                tasks_done: 16 / workers as u64,
                cpu_seconds: wall * 0.95,
                cores: vec![index % 2],
                lock_wait_seconds: 0.0,
                waiting_for_cpu_seconds: 0.0,
                off_cpu_seconds: 0.0,
                startup_seconds: 0.000_2,
                busy_seconds: wall * 0.9,
                idle_seconds: wall * 0.1,
                rss_bytes: 0,
                pss_bytes: 0,
                traceback: None,
            })
            .collect();
        RunReport {
            plan,
            outcome,
            wall_seconds: wall,
            cpu_seconds: wall * 0.95 * workers as f64,
            peak_rss_bytes: 5 * 1024 * 1024,
            tasks_done: 16,
            checksum: 1,
            expected_checksum: Some(1),
            started_ns: 0,
            workers: worker_reports,
            metrics: MetricsOf::none(),
            replaced: Vec::new(),
            respawn_failures: Vec::new(),
            timeline: crate::engine::timeline::Timeline::default(),
            observer: crate::engine::ObserverSource::None,
        }
    }

    pub(super) fn worker(index: usize, state: WorkerState, progress: f64) -> WorkerView {
        WorkerView {
            index,
            state,
            tasks_done: index as u64,
            tasks_total: 8,
            task_progress: progress,
            rate: Some(9.5),
            core: Some(index % 2),
            cpu_seconds: 0.25,
            lock_wait_seconds: 0.125,
            waiting_for_cpu_seconds: 0.0,
            off_cpu_seconds: 0.0,
            pid: 5000,
            tid: 5001 + index as i32,
            reason: (state == WorkerState::Crashed).then(|| "crashed (panic: boom)".to_owned()),
            split: Some(TimeSplit {
                running: 0.55,
                waiting_for_cpu: 0.0,
                off_cpu: 0.0,
                lock_wait: 0.3,
                blocked: 0.05,
                idle: 0.1,
            }),
        }
    }

    /// A fixed state: two finished runs and a third draining, two cores with history.
    pub(super) fn fixture() -> State {
        let mut state = State::new(2, Duration::from_secs(3));
        state.color = false;
        for i in 0..30u8 {
            crate::app::update(
                &mut state,
                crate::app::Event::Cores(CoreSample {
                    usage: vec![f32::from(i * 3), 97.0],
                    interval: Duration::from_millis(250),
                }),
            );
        }
        state.add_result(report(Model::Sequential, 1, 0.8, RunOutcome::Finished));
        state.add_result(report(Model::Processes, 2, 0.42, RunOutcome::Failed));
        let plan = PlanRequest {
            workers: Some(4),
            tasks: 32,
            gil: Some(Duration::from_millis(5)),
            ..PlanRequest::new(by_name("cpu").expect("cpu"), Model::Threads)
        }
        .validate_with(&[0, 1])
        .expect("plan");
        state.run = Some(RunView {
            phase: Phase::Draining { remaining: Duration::from_millis(2400) },
            elapsed: Duration::from_millis(1234),
            tasks_done: 6,
            workers: vec![
                worker(0, WorkerState::Draining, 0.5),
                worker(1, WorkerState::Crashed, 0.0),
                worker(2, WorkerState::LockWait, 0.25),
                worker(3, WorkerState::Running, 0.875),
            ],
            lock: Some(LockFigures { held: 0.97, handovers_per_second: 196.0, mean_wait_seconds: 0.0051 }),
            ..RunView::of_plan(plan)
        });
        state.message = Some("cpu · processes × 2: failed in 420.0 ms".into());
        state
    }

    pub(super) fn render_with(width: u16, height: u16, paint: impl FnOnce(&mut Frame)) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test backend");
        terminal.draw(paint).expect("draw");
        terminal.backend().to_string()
    }

    pub(super) fn panel_snapshot(
        width: u16,
        height: u16,
        render: fn(&mut Frame, Rect, &State, Theme),
        state: &State,
    ) -> String {
        render_with(width, height, |frame| render(frame, frame.area(), state, Theme::PLAIN))
    }

    pub(super) fn workers_panel(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
        workers::render(frame, area, state, theme);
    }

    /// The list the dashboard opens on, with a verdict of each kind and an experiment running,
    /// and the selected claim beside it.
    #[test]
    fn experiments_list_and_the_claim_beside_it() {
        use crate::experiments::{Course, Outcome, Verdict, EXPERIMENTS};
        let mut state = fixture();
        let said = |outcome: Outcome, figure: &str| {
            Some(Verdict { outcome, figure: figure.to_owned(), sentence: String::new(), busy: false })
        };
        state.verdicts[0] = said(Outcome::Holds, "lock 1.02×, processes 1.96×");
        state.verdicts[1] = said(Outcome::CantTell, "threads 7.62×, lock 3.10×");
        state.verdicts[4] = said(Outcome::DoesNotHold, "racy 0 lost, mutex 0 lost");
        state.experiment = 5;
        state.course =
            Some(Course::new(&EXPERIMENTS[5], Duration::from_secs(3), crate::experiments::Pythons::default()));
        let list = panel_snapshot(20, 7, experiments::render_list, &state);
        state.experiment = 0;
        state.course = None;
        let claim = panel_snapshot(100, 9, experiments::render_claim, &state);
        insta::assert_snapshot!(format!("{list}\n{claim}"));
    }

    #[test]
    fn catalog_panel() {
        insta::assert_snapshot!(panel_snapshot(80, 7, catalog::render, &fixture()));
    }

    #[test]
    fn settings_panel_with_the_focused_row() {
        let mut state = fixture();
        state.run = None;
        state.focus = Focus::Settings;
        state.setting = 3;
        insta::assert_snapshot!(panel_snapshot(28, 11, settings::render, &state));
    }

    /// The bottom edge says at which priority the next run's workers go and why, in as many
    /// words as the panel has room for: at 80×24 (28 columns) and wider (44, 64).
    #[test]
    fn settings_panel_says_the_workers_priority_and_why() {
        let mut state = fixture();
        state.run = None;
        let mut shown = Vec::new();
        for priority in [Priority::Idle, Priority::Normal] {
            state.settings.priority = priority;
            for width in [28, 44, 64] {
                shown.push(panel_snapshot(width, 11, settings::render, &state));
            }
        }
        insta::assert_snapshot!(shown.join("\n"));
    }

    #[test]
    fn the_help_names_the_next_runs_priority() {
        let mut state = fixture();
        state.overlay = Some(Overlay::Help);
        state.settings.priority = Priority::Normal;
        let screen = render_with(80, 24, |frame| {
            draw(frame, &state);
        });
        assert!(screen.contains("workers: normal priority"), "{screen}");
        assert!(
            screen.contains("i       workers idle, so the screen keeps up at 1,000 / normal, as in run"),
            "{screen}"
        );
    }

    /// io under async with the lock on: the lock reads n/a; and a refusal of another
    /// combination, wrapped whole in the workers panel rather than cut on its border.
    #[test]
    fn the_lock_reads_na_under_async_and_a_refusal_wraps_whole() {
        let mut state = fixture();
        state.run = None;
        state.selected = crate::workload::CATALOG.iter().position(|kind| kind.name() == "io").expect("io");
        state.settings.model = Model::Async;
        state.settings.lock = true;
        let settings = panel_snapshot(28, 11, settings::render, &state);
        assert!(settings.contains("lock     n/a (async)"), "{settings}");
        state.refusal = Some(
            "contention cannot run as tasks of one event loop (the async model runs cpu, io, net, disk or \
             throttle). Press m for threads or processes."
                .to_owned(),
        );
        insta::assert_snapshot!(format!("{settings}\n{}", panel_snapshot(48, 7, workers_panel, &state)));
    }

    #[test]
    fn cores_panel() {
        insta::assert_snapshot!(panel_snapshot(52, 4, cores::render, &fixture()));
    }

    /// The fixture after a second in which workers 0 (on cpu0) and 3 (on cpu1) used `run` of
    /// their cores, while the cores' totals were `usage`.
    fn with_run_share(run: [f64; 2], usage: [f32; 2]) -> State {
        let mut state = fixture();
        for step in 0..=4 {
            let mut view = state.run.clone().expect("run");
            view.workers[0].cpu_seconds = run[0] / 100.0 * 0.25 * f64::from(step);
            view.workers[3].cpu_seconds = run[1] / 100.0 * 0.25 * f64::from(step);
            crate::app::update(&mut state, crate::app::Event::Progress(view));
            if step > 0 {
                crate::app::update(
                    &mut state,
                    crate::app::Event::Cores(CoreSample {
                        usage: usage.to_vec(),
                        interval: Duration::from_millis(250),
                    }),
                );
            }
        }
        state
    }

    #[test]
    fn cores_panel_splits_the_run_from_other_programs_on_a_busy_machine() {
        let state = with_run_share([100.0, 40.0], [100.0, 97.0]);
        assert_eq!(state.busy_machine(), Some(57.0));
        insta::assert_snapshot!(panel_snapshot(80, 4, cores::render, &state));
    }

    #[test]
    fn cores_panel_names_a_busy_machine_briefly_when_narrow() {
        let state = with_run_share([60.0, 0.0], [62.0, 100.0]);
        insta::assert_snapshot!(panel_snapshot(52, 4, cores::render, &state));
    }

    #[test]
    fn cores_panel_on_a_quiet_machine_has_no_warning() {
        let state = with_run_share([100.0, 75.0], [100.0, 80.0]);
        assert_eq!(state.busy_machine(), None);
        insta::assert_snapshot!(panel_snapshot(80, 4, cores::render, &state));
    }

    #[test]
    fn workers_panel_while_draining() {
        insta::assert_snapshot!(panel_snapshot(100, 8, workers_panel, &fixture()));
    }

    /// What the kernel saw, on a terminal wide enough for every column: a worker waiting for a
    /// CPU, one off its CPU, their columns and their parts of the time split.
    #[test]
    fn workers_panel_wide_with_the_kernels_states() {
        let mut state = fixture();
        if let Some(run) = state.run.as_mut() {
            run.phase = Phase::Running;
            for (worker, state) in run.workers.iter_mut().zip([
                WorkerState::Running,
                WorkerState::WaitingForCpu,
                WorkerState::OffCpu,
                WorkerState::LockWait,
            ]) {
                worker.state = state;
                worker.reason = None;
                worker.waiting_for_cpu_seconds = 0.25;
                worker.off_cpu_seconds = 0.0625;
                worker.split = Some(TimeSplit {
                    running: 0.4,
                    waiting_for_cpu: 0.2,
                    off_cpu: 0.2,
                    lock_wait: 0.1,
                    blocked: 0.0,
                    idle: 0.1,
                });
            }
        }
        let plain = panel_snapshot(140, 10, workers_panel, &state);
        assert!(plain.contains("off CPU") && plain.contains("cpu wait"), "{plain}");
        insta::assert_snapshot!(plain);
        state.color = true;
        let theme = Theme { color: true, background: state.background };
        let mut terminal = Terminal::new(TestBackend::new(140, 10)).expect("test backend");
        terminal.draw(|frame| workers_panel(frame, frame.area(), &state, theme)).expect("draw");
        let off = theme.activity(crate::board::Activity::OffCpu).fg.expect("a colour");
        let cells = terminal.backend().buffer().content();
        assert!(cells.iter().filter(|cell| cell.fg == off).count() > 7, "the state and the split in its colour");
    }

    #[test]
    fn workers_panel_with_the_workloads_live_line() {
        let mut state = fixture();
        if let Some(run) = state.run.as_mut() {
            run.live = Some("worker 0 answers 94 requests/s · p50 5.6 ms · p99 35.0 ms".to_owned());
        }
        insta::assert_snapshot!(panel_snapshot(100, 9, workers_panel, &state));
    }

    /// The live lines of throttle, latency, net and disk, and the lock's line, whole in the workers panel
    /// of a 120×36 terminal (86 columns); in that of an 80×24 one (52), cut after a whole word
    /// and marked `…`.
    #[test]
    fn workers_panel_live_lines_whole_at_120_by_36_and_marked_where_cut_at_80_by_24() {
        let mut state = fixture();
        let lines = [
            "123.4 tasks/s of 1000 (burst 16) · in flight ≤ 16 of 16 · token wait 12.3 s/worker",
            "worker 0 answers 17510 requests/s · p50 612.0 µs · p99 35.0 ms",
            "123.4 MB/s · 4096 requests · 5120 ms a request",
            "write 1234 MB/s, read 12345 MB/s · 4096 files of 1024 MiB",
        ];
        let mut shown = Vec::new();
        for live in lines {
            if let Some(run) = state.run.as_mut() {
                run.live = Some(live.to_owned());
            }
            for width in [86, 52] {
                shown.push(panel_snapshot(width, 7, workers_panel, &state));
            }
        }
        let wide: String = shown.iter().step_by(2).map(String::as_str).collect();
        assert!(lines.iter().all(|live| wide.contains(live)), "{wide}");
        insta::assert_snapshot!(shown.join("\n"));
    }

    #[test]
    fn workers_panel_narrow_after_a_run() {
        let mut state = fixture();
        state.run = None;
        insta::assert_snapshot!(panel_snapshot(52, 7, workers_panel, &state));
    }

    #[test]
    fn results_panel() {
        insta::assert_snapshot!(panel_snapshot(118, 6, results::render, &fixture()));
    }

    #[test]
    fn results_panel_wide_enough_for_every_column() {
        insta::assert_snapshot!(panel_snapshot(150, 5, results::render, &fixture()));
    }

    #[test]
    fn footer_while_running_and_idle() {
        let running = panel_snapshot(80, 1, footer::render, &fixture());
        let mut idle = fixture();
        idle.run = None;
        let idle = panel_snapshot(80, 1, footer::render, &idle);
        insta::assert_snapshot!(format!("{running}\n{idle}"));
    }

    #[test]
    fn help_overlay() {
        let mut state = fixture();
        state.overlay = Some(Overlay::Help);
        insta::assert_snapshot!(render_with(80, 24, |frame| {
            draw(frame, &state);
        }));
    }

    #[test]
    fn whole_dashboard_at_80_by_24() {
        insta::assert_snapshot!(render_with(80, 24, |frame| {
            draw(frame, &fixture());
        }));
    }

    /// The dashboard under CPython 3.11 (chosen on the runtime row, beside a python3.12 that
    /// is not installed and a python3.13 still being asked): the real GIL's threads run beside
    /// native threads with the emulated lock, each after its own sequential baseline.
    fn python_fixture() -> State {
        use crate::engine::plan::runtime::{Interpreter, PythonError, Runtime};
        let mut state = fixture();
        state.run = None;
        state.results.clear();
        state.focus = Focus::Settings;
        state.setting = 5;
        state.settings.runtime.offer(["python3", "python3.12", "python3.13"].map(std::path::PathBuf::from));
        let cpython = Interpreter {
            path: "/usr/bin/python3".into(),
            implementation: "CPython".to_owned(),
            version: (3, 11, 7),
            free_threaded: false,
            gil: true,
        };
        let answer = Ok(cpython.clone());
        crate::app::update(&mut state, crate::app::Event::Interpreter { name: "python3".into(), answer });
        let missing = PythonError::Unusable {
            path: "python3.12".to_owned(),
            reason: "it exited with exit status: 127: pyenv: python3.12: command not found".to_owned(),
        };
        crate::app::update(
            &mut state,
            crate::app::Event::Interpreter { name: "python3.12".into(), answer: Err(missing) },
        );
        state.settings.runtime.step(1);
        let on_python = |mut report: RunReport| {
            report.plan.runtime = Runtime::Python(cpython.clone());
            // The twin's watchable size, as the settings ask for it.
            report.plan.workload.size = 6_000_000;
            report
        };
        state.add_result(report(Model::Sequential, 1, 0.8, RunOutcome::Finished));
        let mut locked = report(Model::Threads, 2, 0.84, RunOutcome::Finished);
        locked.plan.gil = Some(Duration::from_millis(5));
        state.add_result(locked);
        state.add_result(on_python(report(Model::Sequential, 1, 3.9, RunOutcome::Finished)));
        state.add_result(on_python(report(Model::Threads, 2, 3.98, RunOutcome::Finished)));
        state.message = Some("cpu · threads × 2: finished in 3.98 s".into());
        state
    }

    #[test]
    fn under_python_the_rows_name_the_interpreter_and_its_gil_at_80_by_24_and_120_by_36() {
        let state = python_fixture();
        let small = render_with(80, 24, |frame| {
            draw(frame, &state);
        });
        assert!(small.contains("runtime  3.11.7 · GIL on"), "{small}");
        assert!(small.contains("lock     GIL on (3.11)"), "{small}");
        assert!(small.contains("size     6M ints"), "the twin's own size: {small}");
        assert!(small.contains("CPython 3.11 threads × 2: 0.98×; emulated lock: 0.95×"), "{small}");
        assert!(!small.contains("no baseline yet"), "Python's own baseline serves: {small}");
        insta::assert_snapshot!("python_80_by_24", small);
        let large = render_with(120, 36, |frame| {
            draw(frame, &state);
        });
        assert!(large.contains("CPython 3.11 · GIL on"), "{large}");
        insta::assert_snapshot!("python_120_by_36", large);
        let mut asking = state.clone();
        asking.settings.runtime.step(2);
        let row = panel_snapshot(28, 11, settings::render, &asking);
        assert!(row.contains("runtime  python3.13 …"), "{row}");
        asking.settings.runtime.step(-1);
        let row = panel_snapshot(28, 11, settings::render, &asking);
        assert!(row.contains("runtime  3.12 ✗ absent"), "{row}");
        assert!(row.contains("lock     —"), "no GIL to name: {row}");
    }

    #[test]
    fn a_small_terminal_gets_a_clear_message_not_a_broken_layout() {
        insta::assert_snapshot!(render_with(60, 15, |frame| {
            draw(frame, &fixture());
        }));
    }
}
