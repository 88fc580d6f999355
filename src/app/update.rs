//! `update`: the one place where the dashboard's state changes, driven by events, returning the
//! commands the loop must carry out. No I/O, no engine, no clock: tested on event sequences.

use nix::sys::signal::Signal;

use super::event::{Command, Event};
use super::keys::{action_for, available, Action};
use super::state::{
    CoreView, Focus, Overlay, Setting, Shutdown, State, TimelineMode, TimelineView, AFFINITIES, CORE_HISTORY,
    GRACES_MS, LOCK_CHOICES_MS, TASK_COUNTS, TIMELINE_WINDOWS_MS,
};
use crate::board::MAX_WORKERS;
use crate::engine::{DrainPolicy, Model, Phase, StopReason};
use crate::workload::{position, CATALOG};

/// Folds one event into the state.
pub(crate) fn update(state: &mut State, event: Event) -> Vec<Command> {
    match event {
        Event::Key(key) => match action_for(key) {
            Some(action) => act(state, action),
            None => Vec::new(),
        },
        // Nothing to remember: the next frame is drawn at the new size.
        Event::Resize => Vec::new(),
        Event::Signal(signal) => interrupt(state, Shutdown::Signal(signal)),
        Event::Cores(sample) => {
            state.cores.resize(sample.usage.len().max(1), CoreView::default());
            let run = state.share.split(&sample.usage, sample.interval);
            for ((core, usage), run) in state.cores.iter_mut().zip(sample.usage).zip(run) {
                core.usage = usage;
                core.run = run;
                core.history.push_back(usage.clamp(0.0, 100.0).round() as u8);
                while core.history.len() > CORE_HISTORY {
                    core.history.pop_front();
                }
            }
            Vec::new()
        }
        Event::Progress(view) => {
            state.share.observe(&view.workers);
            state.run = Some(view);
            Vec::new()
        }
        Event::Finished(report) => {
            state.run = None;
            state.share.end_run();
            state.workers_scroll = 0;
            state.message = Some(format!(
                "{} · {} × {}: {} in {}",
                report.plan.workload,
                report.plan.model,
                report.plan.workers,
                report.outcome.name(),
                crate::units::format_seconds(report.wall_seconds)
            ));
            if let Some(shutdown) = state.shutdown {
                state.interrupted = Some(report.clone());
                state.exit = Some(shutdown.exit_code());
            }
            state.add_result(report);
            Vec::new()
        }
        Event::Notice(message) => {
            state.message = Some(message);
            Vec::new()
        }
        Event::StartFailed(message) => {
            state.message = Some(message);
            if let Some(shutdown) = state.shutdown {
                state.exit = Some(shutdown.exit_code());
            }
            Vec::new()
        }
    }
}

/// Ctrl-C, q, SIGINT, SIGTERM, SIGHUP: drain the run then leave; a second one escalates.
fn interrupt(state: &mut State, shutdown: Shutdown) -> Vec<Command> {
    if !state.running() {
        state.exit = Some(shutdown.exit_code());
        return Vec::new();
    }
    let reason = match shutdown {
        Shutdown::Quit => StopReason::User,
        Shutdown::Signal(signal) => StopReason::Signal(signal),
    };
    // A second request reaches the engine as a second stop, which escalates at once.
    if state.shutdown.is_none() {
        state.shutdown = Some(shutdown);
    }
    state.overlay = None;
    vec![Command::Stop(reason)]
}

fn act(state: &mut State, action: Action) -> Vec<Command> {
    if state.overlay.is_some() && !matches!(action, Action::Interrupt | Action::Quit) {
        if matches!(action, Action::CloseOverlay | Action::Help) {
            state.overlay = None;
        }
        return Vec::new();
    }
    if !available(action, state) {
        return Vec::new();
    }
    match action {
        Action::Up => move_selection(state, -1),
        Action::Down => move_selection(state, 1),
        Action::Left => change_setting(state, -1),
        Action::Right => change_setting(state, 1),
        Action::FocusNext => state.focus = state.focus.next(),
        Action::FocusPrevious => state.focus = state.focus.previous(),
        Action::Run => return vec![Command::Start(state.settings.request(state.workload()))],
        Action::RunBaseline => {
            let mut request = state.settings.request(state.workload());
            request.model = Model::Sequential;
            request.workers = Some(1);
            request.gil = None;
            request.affinity = crate::engine::affinity::Affinity::None;
            return vec![Command::Start(request)];
        }
        Action::CycleModel => change(state, Setting::Model, 1),
        Action::MoreWorkers => change(state, Setting::Workers, 1),
        Action::FewerWorkers => change(state, Setting::Workers, -1),
        Action::CycleAffinity => change(state, Setting::Affinity, 1),
        Action::ToggleLock => state.settings.lock = !state.settings.lock,
        Action::ToggleDrain => change(state, Setting::Drain, 1),
        Action::PauseResume => {
            let paused = state.run.as_ref().is_some_and(|run| run.phase == Phase::Paused);
            return vec![Command::SetPaused(!paused)];
        }
        Action::Cancel => return vec![Command::Stop(StopReason::User)],
        Action::InjectCrash => {
            let target = state.run.as_ref().and_then(|run| {
                let selected = run.workers.get(state.workers_scroll).filter(|w| is_live(w.state));
                selected.or_else(|| run.workers.iter().find(|w| is_live(w.state))).map(|w| w.index)
            });
            return target.map(Command::InjectCrash).into_iter().collect();
        }
        Action::Interrupt => return interrupt(state, Shutdown::Signal(Signal::SIGINT)),
        Action::Quit => return interrupt(state, Shutdown::Quit),
        Action::Help => state.overlay = Some(Overlay::Help),
        Action::Timeline => {
            state.timeline = match state.timeline {
                None => Some(TimelineView::new()),
                Some(view) if view.mode == TimelineMode::Workers => {
                    Some(TimelineView { mode: TimelineMode::Cpus, ..view })
                }
                Some(_) => None,
            }
        }
        Action::ZoomIn => {
            if let Some(view) = state.timeline.as_mut() {
                view.zoom = view.zoom.saturating_sub(1);
            }
        }
        Action::ZoomOut => {
            if let Some(view) = state.timeline.as_mut() {
                view.zoom = (view.zoom + 1).min(TIMELINE_WINDOWS_MS.len() - 1);
            }
        }
        Action::ExportTrace => return vec![Command::ExportTrace],
        Action::CloseOverlay => state.overlay = None,
    }
    Vec::new()
}

fn is_live(state: crate::telemetry::WorkerState) -> bool {
    matches!(state, crate::telemetry::WorkerState::Running | crate::telemetry::WorkerState::Pending)
}

fn move_selection(state: &mut State, step: isize) {
    let (position, len) = match state.focus {
        Focus::Catalog => (&mut state.selected, CATALOG.len()),
        Focus::Settings => (&mut state.setting, Setting::ALL.len()),
        Focus::Workers => (&mut state.workers_scroll, state.run.as_ref().map_or(0, |run| run.workers.len())),
        Focus::Results => (&mut state.results_scroll, state.results.len()),
    };
    if len == 0 {
        *position = 0;
        return;
    }
    *position = position.saturating_add_signed(step).min(len - 1);
}

fn change_setting(state: &mut State, step: isize) {
    let setting = Setting::ALL[state.setting.min(Setting::ALL.len() - 1)];
    change(state, setting, step);
}

/// Steps one setting up or down through its choices.
fn change(state: &mut State, setting: Setting, step: isize) {
    let workload = state.workload();
    let settings = &mut state.settings;
    match setting {
        Setting::Model => settings.model = cycle(&Model::ALL, &settings.model, step),
        Setting::Workers => {
            settings.workers = settings.workers.saturating_add_signed(step).clamp(1, MAX_WORKERS);
            if settings.model == Model::Sequential && settings.workers > 1 {
                settings.model = Model::Threads;
            }
        }
        Setting::Tasks => settings.tasks = cycle(&TASK_COUNTS, &settings.tasks, step),
        Setting::Size => {
            if let Some(size) = settings.sizes.get_mut(position(workload)) {
                *size = if step > 0 { size.saturating_mul(2) } else { (*size / 2).max(1) };
            }
        }
        Setting::Affinity => settings.affinity = cycle(&AFFINITIES, &settings.affinity, step),
        Setting::Lock => {
            let now = if settings.lock { settings.switch_interval.as_millis() as u64 } else { 0 };
            let ms = cycle(&LOCK_CHOICES_MS, &now, step);
            settings.lock = ms > 0;
            if ms > 0 {
                settings.switch_interval = std::time::Duration::from_millis(ms);
            }
        }
        Setting::Variant => settings.step_variant(workload, step),
        Setting::Drain => {
            settings.drain = match settings.drain {
                DrainPolicy::Chunk => DrainPolicy::Task,
                DrainPolicy::Task => DrainPolicy::Chunk,
            }
        }
        Setting::Grace => {
            let ms = cycle(&GRACES_MS, &(settings.grace.as_millis() as u64), step);
            settings.grace = std::time::Duration::from_millis(ms);
        }
    }
}

/// The next (or previous) choice after `current`, wrapping; the first when `current` is not
/// one of them.
fn cycle<T: Clone + PartialEq>(choices: &[T], current: &T, step: isize) -> T {
    let len = choices.len() as isize;
    let at = choices.iter().position(|c| c == current).map_or(if step > 0 { -1 } else { len }, |at| at as isize);
    choices[(at + step).rem_euclid(len) as usize].clone()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use super::*;

    fn press(state: &mut State, keys: &str) -> Vec<Command> {
        keys.chars()
            .flat_map(|c| {
                let code = match c {
                    '\n' => KeyCode::Enter,
                    '\t' => KeyCode::Tab,
                    '<' => KeyCode::Left,
                    '>' => KeyCode::Right,
                    other => KeyCode::Char(other),
                };
                update(state, Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
            })
            .collect()
    }

    fn ctrl_c(state: &mut State) -> Vec<Command> {
        update(state, Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)))
    }

    fn new_state() -> State {
        State::new(2, Duration::from_secs(3))
    }

    fn fake_run(state: &mut State) {
        let plan = state.settings.request(state.workload()).validate_with(&[0, 1]).expect("plan");
        state.run = Some(crate::telemetry::RunView::of_plan(plan));
    }

    #[test]
    fn enter_runs_the_selected_workload_with_the_settings() {
        let mut state = new_state();
        let commands = press(&mut state, "jm+g\n");
        let [Command::Start(request)] = commands.as_slice() else { panic!("{commands:?}") };
        assert_eq!(request.workload.name(), CATALOG[1].name());
        assert_eq!((request.model, request.workers), (Model::Processes, Some(3)));
        assert!(request.gil.is_some());
    }

    #[test]
    fn the_variant_row_picks_ipc_transports_between_processes_and_data_transfers() {
        let mut state = new_state();
        press(&mut state, "jjjm\tjjjjjj");
        assert_eq!((state.workload().name(), state.settings.model), ("ipc", Model::Processes));
        let commands = press(&mut state, ">>\n");
        let [Command::Start(request)] = commands.as_slice() else { panic!("{commands:?}") };
        assert_eq!(request.options, vec![("transport".to_owned(), "shm".to_owned())]);
        // Threads have only the channel: the row does not move, and the run uses the channel.
        let mut state = new_state();
        press(&mut state, "jjj\tjjjjjj>");
        let commands = press(&mut state, "\n");
        let [Command::Start(request)] = commands.as_slice() else { panic!("{commands:?}") };
        assert_eq!(request.options, vec![("transport".to_owned(), "channel".to_owned())]);
        let mut state = new_state();
        press(&mut state, "jjm\tjjjjjj>");
        assert_eq!(state.workload().name(), "data");
        let commands = press(&mut state, "\n");
        let [Command::Start(request)] = commands.as_slice() else { panic!("{commands:?}") };
        assert!(request.options.contains(&("transfer".to_owned(), "pipe".to_owned())), "{:?}", request.options);
        // Imbalance's variant is the run's schedule.
        let mut state = new_state();
        press(&mut state, "jjjjjj\tjjjjjj>");
        let commands = press(&mut state, "\n");
        let [Command::Start(request)] = commands.as_slice() else { panic!("{commands:?}") };
        assert_eq!((request.workload.name(), request.schedule), ("imbalance", crate::engine::Schedule::Dynamic));
    }

    #[test]
    fn plus_on_sequential_switches_to_threads() {
        let mut state = new_state();
        press(&mut state, "mm");
        assert_eq!(state.settings.model, Model::Sequential);
        press(&mut state, "+");
        assert_eq!((state.settings.model, state.settings.workers), (Model::Threads, 3));
    }

    #[test]
    fn settings_rows_change_with_left_and_right() {
        let mut state = new_state();
        press(&mut state, "\tjj>");
        assert_eq!(state.focus, Focus::Settings);
        assert_eq!(state.settings.tasks, 32);
        press(&mut state, "j>");
        assert_eq!(state.settings.size_of(CATALOG[0]), CATALOG[0].size().watchable * 2);
        press(&mut state, "jjjjj<");
        assert_eq!(state.settings.grace, Duration::from_secs(1));
    }

    #[test]
    fn quitting_without_a_run_leaves_at_once() {
        let mut state = new_state();
        assert!(press(&mut state, "q").is_empty());
        assert_eq!(state.exit, Some(0));
        let mut state = new_state();
        ctrl_c(&mut state);
        assert_eq!(state.exit, Some(130));
    }

    #[test]
    fn ctrl_c_drains_first_escalates_second_and_leaves_when_the_run_ends() {
        let mut state = new_state();
        fake_run(&mut state);
        assert_eq!(ctrl_c(&mut state), vec![Command::Stop(StopReason::Signal(Signal::SIGINT))]);
        assert_eq!(state.exit, None, "must wait for the workers");
        assert_eq!(ctrl_c(&mut state), vec![Command::Stop(StopReason::Signal(Signal::SIGINT))]);
        let report = crate::engine::RunReport {
            plan: state.run.as_ref().expect("run").plan.clone(),
            outcome: crate::engine::RunOutcome::Cancelled(Some(Signal::SIGINT)),
            wall_seconds: 0.3,
            cpu_seconds: 0.1,
            peak_rss_bytes: 1,
            tasks_done: 1,
            checksum: 0,
            expected_checksum: None,
            started_ns: 0,
            workers: Vec::new(),
            metrics: crate::workload::MetricsOf::none(),
            replaced: Vec::new(),
            respawn_failures: Vec::new(),
            timeline: crate::engine::timeline::Timeline::default(),
        };
        update(&mut state, Event::Finished(report));
        assert_eq!(state.exit, Some(130));
        assert!(state.interrupted.is_some());
    }

    #[test]
    fn sigterm_and_sighup_leave_with_their_own_status() {
        for (signal, code) in [(Signal::SIGTERM, 143), (Signal::SIGHUP, 129)] {
            let mut state = new_state();
            update(&mut state, Event::Signal(signal));
            assert_eq!(state.exit, Some(code));
        }
    }

    #[test]
    fn c_cancels_only_the_run_and_settings_are_frozen_while_it_runs() {
        let mut state = new_state();
        fake_run(&mut state);
        assert_eq!(press(&mut state, "c"), vec![Command::Stop(StopReason::User)]);
        assert_eq!(state.shutdown, None);
        let before = state.settings.clone();
        assert!(press(&mut state, "m+ag\n").is_empty());
        assert_eq!(state.settings, before);
    }

    #[test]
    fn space_pauses_and_resumes() {
        let mut state = new_state();
        fake_run(&mut state);
        assert_eq!(press(&mut state, " "), vec![Command::SetPaused(true)]);
        if let Some(run) = state.run.as_mut() {
            run.phase = Phase::Paused;
        }
        assert_eq!(press(&mut state, " "), vec![Command::SetPaused(false)]);
    }

    #[test]
    fn help_opens_and_swallows_keys_until_closed() {
        let mut state = new_state();
        press(&mut state, "?");
        assert_eq!(state.overlay, Some(Overlay::Help));
        assert!(press(&mut state, "\n").is_empty());
        update(&mut state, Event::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
        assert_eq!(state.overlay, None);
    }

    #[test]
    fn core_history_is_bounded() {
        let mut state = new_state();
        for i in 0..200 {
            update(
                &mut state,
                Event::Cores(crate::telemetry::CoreSample {
                    usage: vec![i as f32 % 100.0, 50.0],
                    interval: Duration::from_millis(250),
                }),
            );
        }
        assert_eq!(state.cores.len(), 2);
        assert_eq!(state.cores[0].history.len(), CORE_HISTORY);
    }

    #[test]
    fn core_samples_split_the_runs_load_from_other_programs_and_flag_a_busy_machine() {
        let mut state = new_state();
        fake_run(&mut state);
        let progress = |state: &mut State, cpu: [f64; 2]| {
            let mut view = state.run.clone().expect("run");
            view.workers =
                (0..2).map(|index| crate::telemetry::WorkerView::running(index, Some(index), cpu[index])).collect();
            update(state, Event::Progress(view));
        };
        let sample = |state: &mut State, usage: Vec<f32>| {
            update(state, Event::Cores(crate::telemetry::CoreSample { usage, interval: Duration::from_millis(250) }));
        };
        progress(&mut state, [0.0, 0.0]);
        for step in 1..=4 {
            // Worker 0 has core 0 to itself; worker 1 gets half of core 1, someone else the rest.
            progress(&mut state, [0.25 * f64::from(step), 0.125 * f64::from(step)]);
            sample(&mut state, vec![100.0, 100.0]);
        }
        assert_eq!((state.cores[0].usage, state.cores[0].run), (100.0, 100.0));
        assert_eq!((state.cores[1].usage, state.cores[1].run), (100.0, 50.0));
        assert_eq!(state.busy_machine(), Some(50.0));
        // A quiet second: no warning.
        for step in 5..=8 {
            progress(&mut state, [0.25 * f64::from(step), 0.125 * f64::from(step)]);
            sample(&mut state, vec![100.0, 55.0]);
        }
        assert_eq!(state.busy_machine(), None, "others use {}", state.share.others_recent());
        // Without a run there is no run's figure to doubt.
        sample(&mut state, vec![100.0, 100.0]);
        state.run = None;
        assert_eq!(state.busy_machine(), None);
    }

    #[test]
    fn cycling_wraps_both_ways() {
        assert_eq!(cycle(&[1, 2, 3], &3, 1), 1);
        assert_eq!(cycle(&[1, 2, 3], &1, -1), 3);
        assert_eq!(cycle(&[1, 2, 3], &7, 1), 1);
        assert_eq!(cycle(&[1, 2, 3], &7, -1), 3);
    }
}
