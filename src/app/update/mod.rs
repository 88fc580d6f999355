//! `update`: the one place where the dashboard's state changes, driven by events, returning the
//! commands the loop must carry out. No I/O, no engine, no clock: tested on event sequences.

use nix::sys::signal::Signal;

use super::baseline::{baseline_request, BaselineStep};
use super::event::{Command, Event};
use super::keys::{action_for, available, Action};
use super::state::{
    CoreView, Focus, Overlay, Setting, Shutdown, State, TimelineMode, TimelineView, AFFINITIES, CORE_HISTORY,
    GRACES_MS, LOCK_CHOICES_MS, TASK_COUNTS, TIMELINE_WINDOWS_MS,
};
use crate::board::MAX_WORKERS;
use crate::engine::{Model, Phase, PlanError, PlanRequest, RunOutcome, RunReport, StopReason};

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
            end_run(state, &report);
            if state.course.is_some() {
                return experiment::run_ended(state, report);
            }
            // A baseline stopped to skip it measured nothing: it leaves no row, and a trace
            // asked for during it is the next run's, now on screen.
            let skipped = matches!(state.baseline, BaselineStep::Skip(_)) && report.outcome != RunOutcome::Finished;
            let mut next = after_baseline(state, &report);
            if !skipped {
                state.add_result(report);
                if std::mem::take(&mut state.export_pending) {
                    next.insert(0, Command::ExportTrace);
                }
            }
            next
        }
        Event::SweepRunFinished { report, others_cpu_seconds } => {
            end_run(state, &report);
            sweep::record(state, &report, others_cpu_seconds)
        }
        Event::Notice(message) => {
            state.message = Some(message);
            Vec::new()
        }
        Event::WorkersRows(rows) => {
            state.workers_table.set_page(rows);
            Vec::new()
        }
        Event::Responsiveness(figures) => {
            state.responsiveness = figures;
            Vec::new()
        }
        Event::Interpreter { name, answer } => {
            state.settings.runtime.answer(&name, answer);
            Vec::new()
        }
        Event::StartFailed(error) => {
            state.message = Some(format!("cannot run: {error}"));
            // What the settings check could not know (the memory free now, a failed fork):
            // the whole reason, wrapped, as Enter's own refusals.
            state.refusal = Some(format!("The run did not start: {error}."));
            sweep::give_up(state);
            experiment::give_up(state);
            state.baseline.end();
            if let Some(shutdown) = state.shutdown {
                state.exit = Some(shutdown.exit_code());
            }
            Vec::new()
        }
    }
}

/// The run's workers have all ended: the live view goes, and a shutdown that waited for it
/// can leave.
fn end_run(state: &mut State, report: &crate::engine::RunReport) {
    state.run = None;
    state.share.end_run();
    state.workers_table.rewind();
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
}

/// The run that waited for `ended`, its baseline: started when the baseline finished (and
/// nobody is leaving), dropped with a word why otherwise.
fn after_baseline(state: &mut State, ended: &RunReport) -> Vec<Command> {
    let (next, skipped) = match state.baseline.end() {
        BaselineStep::None => return Vec::new(),
        BaselineStep::RunFirst(next) => (next, false),
        BaselineStep::Skip(next) => (next, true),
    };
    if state.shutdown.is_some() {
        return Vec::new();
    }
    if skipped && ended.outcome != RunOutcome::Finished {
        state.message = Some(format!(
            "baseline skipped; now running {} · {} × {}",
            next.workload,
            next.model,
            next.workers.unwrap_or(1)
        ));
        return vec![Command::Start(next)];
    }
    if ended.outcome != RunOutcome::Finished {
        state.message = Some(format!(
            "the sequential baseline {}, so {} × {} did not start",
            ended.outcome.name(),
            next.model,
            next.workers.unwrap_or(1)
        ));
        return Vec::new();
    }
    state.message = Some(format!(
        "baseline done in {}; now running {} · {} × {}",
        crate::units::format_seconds(ended.wall_seconds),
        next.workload,
        next.model,
        next.workers.unwrap_or(1)
    ));
    vec![Command::Start(next)]
}

/// Enter: the run asked for, or its sequential baseline first when none has finished, so that
/// its speedup is known without pressing `b`; refused at once, before any baseline, when the
/// settings cannot run.
fn run_with_baseline(state: &mut State) -> Vec<Command> {
    let request = state.settings.request(state.workload());
    if let Some(refusal) = refusal(state, &request) {
        state.refusal = Some(refusal);
        return Vec::new();
    }
    state.message = None;
    match state.missing_baseline(&request) {
        Some(baseline) => {
            state.message = Some(format!(
                "running the sequential baseline first, then {} × {} (Enter skips it)",
                request.model,
                request.workers.unwrap_or(1)
            ));
            state.baseline.run_first(request);
            vec![Command::Start(baseline)]
        }
        None => vec![Command::Start(request)],
    }
}

/// Why `request` cannot run, in whole sentences that name the keys that fix it; None when it
/// can. The check is the plan's own, against this machine's CPUs: the dashboard offers no CPU
/// list, so which CPUs they are does not matter.
fn refusal(state: &State, request: &PlanRequest) -> Option<String> {
    if let Err(why) = state.settings.runtime.runtime() {
        return Some(why);
    }
    let cpus: Vec<usize> = (0..state.cores.len().max(1)).collect();
    let error = request.validate_with(&cpus).err()?;
    Some(match error {
        PlanError::NoPythonTwin(workload, twins) => format!(
            "{workload} has no Python twin yet; under Python only {twins} run. Pick one of them, or press ←/→ on \
             the runtime row for native."
        ),
        PlanError::NotAsyncInPython(workload) => {
            format!("{workload}'s Python twin has no asyncio version. Press m for threads or processes.")
        }
        PlanError::GilWithAsync => "The interpreter lock does not apply to the async model: its one thread already \
                                    runs one task at a time. Press g to turn the lock off, or m for another model."
            .to_owned(),
        PlanError::NotAsync(workload, runs) => format!(
            "{workload} cannot run as tasks of one event loop (the async model runs {runs}). Press m for threads \
             or processes."
        ),
        other => format!("{} cannot run with these settings: {other}.", request.workload),
    })
}

/// Enter while the baseline that runs first is in hand: it is stopped, and the run asked for
/// starts when it has ended (a long baseline, such as one worker doing the work of sixty, need
/// not be waited for; the run then shows no speedup until a baseline finishes).
fn skip_baseline(state: &mut State) -> Vec<Command> {
    if let Some(next) = state.baseline.skip() {
        state.message =
            Some(format!("skipping the baseline: stopping it, then {} × {}", next.model, next.workers.unwrap_or(1)));
    }
    vec![Command::Stop(StopReason::User)]
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
        // Tab turns the help's pages: the keys, then what the columns mean.
        if matches!(action, Action::FocusNext | Action::FocusPrevious) {
            state.overlay = match state.overlay {
                Some(Overlay::Help) => Some(Overlay::Columns),
                _ => Some(Overlay::Help),
            };
        }
        return Vec::new();
    }
    if !available(action, state) {
        return Vec::new();
    }
    // A refusal answers the key that caused it; the next one moves on.
    state.refusal = None;
    // A run of one's own is watched in the panels the chart hides.
    if matches!(action, Action::Run | Action::RunBaseline) {
        sweep::close(state);
    }
    // The verdict speaks of the experiment's runs: another run of one's own ends it.
    if matches!(action, Action::Run | Action::RunBaseline | Action::Sweep) {
        state.verdict_shown = None;
    }
    match action {
        Action::Up => move_selection(state, -1),
        Action::Down => move_selection(state, 1),
        Action::PageUp => move_selection(state, -(state.workers_table.page as isize)),
        Action::PageDown => move_selection(state, state.workers_table.page as isize),
        Action::Home => move_selection(state, isize::MIN),
        Action::End => move_selection(state, isize::MAX),
        Action::CycleSort => state.workers_table.cycle_sort(),
        // The catalog is drawn as a row of names: ←/→ move along it.
        Action::Left if state.focus == Focus::Catalog => move_selection(state, -1),
        Action::Right if state.focus == Focus::Catalog => move_selection(state, 1),
        Action::Left => change_setting(state, -1),
        Action::Right => change_setting(state, 1),
        Action::FocusNext => state.focus = state.focus.next(),
        Action::FocusPrevious => state.focus = state.focus.previous(),
        Action::Run if state.running() => return skip_baseline(state),
        Action::Run if state.focus == Focus::Experiments => return experiment::start(state),
        Action::Run => return run_with_baseline(state),
        Action::RunBaseline => return run_baseline(state),
        Action::CycleModel => change(state, Setting::Model, 1),
        Action::MoreWorkers => change(state, Setting::Workers, 1),
        Action::FewerWorkers => change(state, Setting::Workers, -1),
        Action::CycleAffinity => change(state, Setting::Affinity, 1),
        Action::ToggleLock => state.settings.lock = !state.settings.lock,
        Action::ToggleDrain => state.settings.toggle_drain(),
        Action::TogglePriority => state.settings.priority = state.settings.priority.toggled(),
        Action::PauseResume => {
            let paused = state.run.as_ref().is_some_and(|run| run.phase == Phase::Paused);
            return vec![Command::SetPaused(!paused)];
        }
        Action::Cancel | Action::CloseOverlay if sweep::in_progress(state) => return sweep::cancel(state),
        Action::Cancel => return vec![Command::Stop(StopReason::User)],
        Action::Sweep => return sweep_unless_refused(state),
        Action::InjectCrash => {
            let target = state.run.as_ref().and_then(|run| {
                let selected = state.workers_table.selected_worker(&run.workers).filter(|w| is_live(w.state));
                selected.or_else(|| run.workers.iter().find(|w| is_live(w.state))).map(|w| w.index)
            });
            return target.map(Command::InjectCrash).into_iter().collect();
        }
        Action::Interrupt => return interrupt(state, Shutdown::Signal(Signal::SIGINT)),
        Action::Quit => return interrupt(state, Shutdown::Quit),
        Action::Help => state.overlay = Some(Overlay::Help),
        Action::Timeline | Action::ZoomIn | Action::ZoomOut => timeline_key(state, action),
        // The run on screen is the one running: its trace is written once it has ended.
        Action::ExportTrace if state.running() => {
            state.export_pending = true;
            state.message = Some("e: this run's trace will be written when it ends".to_owned());
        }
        Action::ExportTrace => return vec![Command::ExportTrace],
        Action::SaveResults => return vec![Command::SaveResults],
        Action::CloseOverlay => {
            state.overlay = None;
            sweep::close(state);
        }
    }
    Vec::new()
}

/// `t` opens the timeline on workers, then CPUs, then closes it; `[` and `]` zoom it.
fn timeline_key(state: &mut State, action: Action) {
    match action {
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
        _ => {}
    }
}

/// `b`: the sequential baseline of the settings, refused at once as Enter's run is.
fn run_baseline(state: &mut State) -> Vec<Command> {
    let baseline = baseline_request(&state.settings.request(state.workload()));
    if let Some(refused) = baseline.as_ref().and_then(|request| refusal(state, request)) {
        state.refusal = Some(refused);
        return Vec::new();
    }
    state.message = None;
    baseline.map(Command::Start).into_iter().collect()
}

/// `p`: the sweep, unless the chosen interpreter cannot run it.
fn sweep_unless_refused(state: &mut State) -> Vec<Command> {
    if let Err(why) = state.settings.runtime.runtime() {
        state.refusal = Some(why);
        return Vec::new();
    }
    sweep::start(state)
}

fn is_live(state: crate::telemetry::WorkerState) -> bool {
    matches!(state, crate::telemetry::WorkerState::Running | crate::telemetry::WorkerState::Pending)
}

/// Moves the focused panel's selection `step` rows, stopping at either end.
fn move_selection(state: &mut State, step: isize) {
    let (position, len) = match state.focus {
        Focus::Experiments => (&mut state.experiment, crate::experiments::EXPERIMENTS.len()),
        Focus::Catalog => {
            select_workload(state, step);
            return;
        }
        Focus::Settings => (&mut state.setting, Setting::ALL.len()),
        Focus::Workers => {
            // The workers table also moves its view to keep the selection on screen.
            let len = state.worker_rows();
            state.workers_table.move_by(step, len);
            return;
        }
        Focus::Results => (&mut state.results_scroll, state.comparison.rows.len()),
    };
    *position = if len == 0 { 0 } else { position.saturating_add_signed(step).min(len - 1) };
}

/// Moves the catalog's selection, and the model to one the new workload runs: a workload that
/// cannot run on an event loop leaves async for threads, and says so.
fn select_workload(state: &mut State, step: isize) {
    let count = state.settings.catalog().count();
    state.selected = state.selected.saturating_add_signed(step).min(count.saturating_sub(1));
    leave_async_if_refused(state);
}

/// Async for a workload that cannot run on the chosen runtime's event loop becomes threads,
/// and a message says so.
fn leave_async_if_refused(state: &mut State) {
    let workload = state.workload();
    if state.settings.model == Model::Async && !state.settings.runs_on_loop(workload) {
        state.settings.model = Model::Threads;
        state.message = Some(format!("{workload} does not run on an event loop here: the model is now threads"));
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
        Setting::Model => {
            // Only the models this workload can run: async where it runs on an event loop.
            let models: Vec<Model> = Model::ALL
                .into_iter()
                .filter(|model| *model != Model::Async || settings.runs_on_loop(workload))
                .collect();
            settings.model = cycle(&models, &settings.model, step);
        }
        Setting::Workers => {
            settings.workers = settings.workers.saturating_add_signed(step).clamp(1, MAX_WORKERS);
            if settings.model == Model::Sequential && settings.workers > 1 {
                settings.model = Model::Threads;
            }
        }
        Setting::Tasks => settings.tasks = cycle(&TASK_COUNTS, &settings.tasks, step),
        Setting::Size => {
            // Doubling stops at the workload's limit (its twin's under Python), which a run
            // would refuse.
            let Some(spec) = settings.size_spec(workload) else { return };
            let limit = spec.max.unwrap_or(u64::MAX);
            let now = settings.size_of(workload);
            if let Some(size) = settings.size_slot(workload) {
                *size = if step > 0 { now.saturating_mul(2).min(limit) } else { (now / 2).max(1) };
            }
        }
        Setting::Affinity => settings.affinity = cycle(&AFFINITIES, &settings.affinity, step),
        Setting::Runtime => {
            settings.runtime.step(step);
            // An interpreter that cannot run says why as soon as it is chosen, not only on Enter.
            if let Err(why) = settings.runtime.runtime() {
                state.message = Some(why);
            }
            leave_async_if_refused(state);
        }
        Setting::Lock if settings.runtime.is_python() => {
            state.message = Some(
                "the GIL is the interpreter's own: pick native on the runtime row for the emulated lock".to_owned(),
            );
        }
        Setting::Lock => {
            let now = if settings.lock { settings.switch_interval.as_millis() as u64 } else { 0 };
            let ms = cycle(&LOCK_CHOICES_MS, &now, step);
            settings.lock = ms > 0;
            if ms > 0 {
                settings.switch_interval = std::time::Duration::from_millis(ms);
            }
        }
        Setting::Variant => settings.step_variant(workload, step),
        Setting::Stop => {
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

mod experiment;
pub(crate) mod sweep;
#[cfg(test)]
mod tests;
