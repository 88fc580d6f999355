//! `update`: the one place where the dashboard's state changes, driven by events, returning the
//! commands the loop must carry out. No I/O, no engine, no clock: tested on event sequences.

use nix::sys::signal::Signal;

use super::event::{Command, Event};
use super::keys::{action_for, available, Action};
use super::state::{
    CoreView, Focus, Overlay, Setting, Shutdown, State, TimelineMode, TimelineView, AFFINITIES, CORE_HISTORY,
    GRACES_MS, LOCK_CHOICES_MS, TASK_COUNTS, TIMELINE_WINDOWS_MS,
};
use super::workers::{first_row, order};
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
            state.workers_offset = 0;
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
        Event::WorkersRows(rows) => {
            state.workers_page = rows.max(1);
            Vec::new()
        }
        Event::Responsiveness(figures) => {
            state.responsiveness = figures;
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
        Action::PageUp => move_selection(state, -(state.workers_page as isize)),
        Action::PageDown => move_selection(state, state.workers_page as isize),
        Action::Home => move_selection(state, isize::MIN),
        Action::End => move_selection(state, isize::MAX),
        Action::CycleSort => state.workers_sort = state.workers_sort.next(),
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
                let shown = order(&run.workers, state.workers_sort);
                let selected = shown.get(state.workers_scroll).map(|at| &run.workers[*at]).filter(|w| is_live(w.state));
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
    let worker_rows = state.worker_rows();
    let (position, len) = match state.focus {
        Focus::Catalog => (&mut state.selected, CATALOG.len()),
        Focus::Settings => (&mut state.setting, Setting::ALL.len()),
        Focus::Workers => (&mut state.workers_scroll, worker_rows),
        Focus::Results => (&mut state.results_scroll, state.results.len()),
    };
    if len == 0 {
        *position = 0;
        return;
    }
    *position = position.saturating_add_signed(step).min(len - 1);
    if state.focus == Focus::Workers {
        state.workers_offset = first_row(len, state.workers_page, state.workers_scroll, state.workers_offset);
    }
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
mod tests;
