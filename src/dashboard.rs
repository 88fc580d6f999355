//! The dashboard's loop: the terminal guard, the key reader, signal and core-sampler threads,
//! and the engine calls that carry out `app::update`'s commands.
//!
//! It decides nothing: every event goes through [`update`], which alone changes the [`State`];
//! this loop only gathers events, hands the resulting [`Command`]s to the engine and has `ui`
//! draw the state, when its `pacer` says. It never touches a worker except through the
//! engine, and nothing in `app` or `ui` may import it.

mod cgroup;
pub mod frame_cost;
mod pacer;
mod priority;
pub(crate) mod terminal;

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam::channel::{select, unbounded, Receiver};
use nix::sys::signal::Signal;
use ratatui::crossterm::event::{self as term_event, Event as TermEvent};

use crate::app::event::StartError;
use crate::app::state::{Priority, Shutdown};
use crate::app::{update, Command, Event, State};
use crate::engine::{Engine, LaunchError, Pen, Phase, Run, RunOutcome};
use crate::signals::Listener;
use crate::telemetry::machine::MachineCpu;
use crate::telemetry::responsiveness::{Meter, Responsiveness, RING};
use crate::telemetry::{CoreSampler, RunView};
use pacer::{Activity, Pacer};
use priority::WorkersPen;
use terminal::{Screen, TerminalGuard};

/// Why the dashboard could not run.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DashboardError {
    #[error(transparent)]
    Engine(#[from] LaunchError),
    #[error("cannot use the terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

/// Why the results table could not be saved.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source}", path.display())]
pub(crate) struct SaveError {
    path: PathBuf,
    source: std::io::Error,
}

/// Where the results table went, its Markdown and its JSON file; None when there was none.
type Saved = Option<(PathBuf, PathBuf)>;

/// How the dashboard ended.
#[derive(Debug)]
pub(crate) struct Ending {
    pub exit_code: i32,
    /// What to print once the terminal is restored.
    pub summary: String,
}

/// What the dashboard opens on: the selected workload, by catalog position, and the settings;
/// the catalog has focus when a `run` flag named them, the experiments list otherwise.
#[derive(Debug)]
pub(crate) struct Opening {
    pub workload: usize,
    pub settings: crate::app::state::Settings,
    pub on_catalog: bool,
}

/// Runs the dashboard until the user quits or a signal ends it.
pub(crate) fn run(grace: Duration, theme: crate::cli::ThemeChoice, opening: Opening) -> Result<Ending, DashboardError> {
    // The board first, before any other thread exists.
    let engine = Engine::new()?;
    // Before any worker: each admits itself to it at its start.
    let (pen, placed) = WorkersPen::new();
    let in_cgroup = pen.in_cgroup();
    let pen: Arc<dyn Pen> = pen;
    let signals = Listener::start()?;
    let cores = CoreSampler::start()?;
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let mut state = State::new(cpus, grace);
    state.selected = opening.workload;
    state.settings = opening.settings;
    if opening.on_catalog {
        state.focus = crate::app::state::Focus::Catalog;
    }
    state.workers_in_cgroup = in_cgroup;
    state.color = crate::ui::theme::Theme::from_env().color;
    // Only `--theme auto` asks the terminal for its background, and only where colour is on.
    let mut guard = TerminalGuard::enter(theme == crate::cli::ThemeChoice::Auto && state.color)?;
    state.background = theme.background(guard.background);
    // Only now: the reader holds crossterm's event lock while it waits for a key, so no
    // terminal query can run beside it.
    let keys = spawn_key_reader()?;
    let interpreters = ask_interpreters(&mut state);
    let sources = Sources { keys, signals, cores };
    let mut dashboard = Loop::new(engine, pen, state, cpus, interpreters);
    while dashboard.state.exit.is_none() {
        if !dashboard.terminal_gone && dashboard.draw_if_due(guard.screen()).is_err() {
            // EIO: the terminal hung up. The run drains and the results are saved all the same.
            dashboard.terminal_lost();
        }
        let activity = activity(dashboard.run.as_ref());
        let dirty = dashboard.dirty && !dashboard.terminal_gone;
        dashboard.gather(&sources, dashboard.pacer.wait(Instant::now(), dirty, activity));
        dashboard.tick(activity);
        dashboard.apply_events();
        if let Some(pace) = dashboard.pacer.cores_pace(dashboard.run.is_some()) {
            sources.cores.set_pace(pace);
        }
    }
    drop(guard);
    let state = &dashboard.state;
    let exit_code = state.exit.unwrap_or(0);
    let saved = save_results(state);
    let ending = Ending { exit_code, summary: summary(state, &saved, &placement(state, &placed)) };
    // The threads that feed the loop stop before the engine goes.
    drop(sources);
    Ok(ending)
}

/// Where the loop's events come from, besides the run it polls.
struct Sources {
    /// Terminal input, each with the instant it was read.
    keys: Receiver<(Event, Instant)>,
    signals: Listener,
    cores: CoreSampler,
}

/// Offers the interpreters on PATH in the runtime row and asks each, on a thread of its own,
/// what it is: the dashboard opens at once, and the row fills in as they answer (a pyenv shim
/// takes a fifth of a second, an interpreter that hangs at most the probe's 10 s).
fn ask_interpreters(state: &mut State) -> Receiver<Event> {
    state.settings.runtime.offer(crate::engine::plan::runtime::interpreters_on_path());
    let (send, answers) = unbounded();
    crate::app::runtimes::ask_all(state.settings.runtime.to_ask(), move |name, answer| {
        let _ = send.send(Event::Interpreter { name, answer });
    });
    answers
}

/// What the loop carries from one pass to the next.
/// Fields drop in this order: the run before the engine that started it.
struct Loop {
    run: Option<Run>,
    state: State,
    /// Events not yet handed to `update`.
    queue: VecDeque<Event>,
    /// The state changed since the last frame.
    dirty: bool,
    pacer: Pacer,
    meter: Meter,
    /// When each key not yet on screen was read.
    keys_read: Vec<Instant>,
    /// The CPUs whose busy time a sweep's run is measured against.
    allowed: Vec<usize>,
    /// Some while the run in hand is a sweep's.
    sweep_run: Option<SweepRunStart>,
    /// A draw failed or the key reader ended: nothing is drawn any more.
    terminal_gone: bool,
    /// A SIGHUP, received or inferred from the terminal's end, went to `update`.
    hangup_queued: bool,
    /// The interpreters' answers to what they are; None once every one has answered.
    interpreters: Option<Receiver<Event>>,
    engine: Engine,
    /// Where a run's workers go at idle priority (the settings' `i`); dropped after the engine,
    /// which holds it while a run is penned, so the workers' cgroup goes last.
    pen: Arc<dyn Pen>,
}

impl Loop {
    fn new(engine: Engine, pen: Arc<dyn Pen>, state: State, cpus: usize, interpreters: Receiver<Event>) -> Self {
        Self {
            run: None,
            state,
            queue: VecDeque::new(),
            dirty: true,
            pacer: Pacer::new(Instant::now()),
            meter: Meter::default(),
            keys_read: Vec::new(),
            allowed: crate::engine::affinity::allowed_cpus().unwrap_or_else(|_| (0..cpus).collect()),
            sweep_run: None,
            terminal_gone: false,
            hangup_queued: false,
            interpreters: Some(interpreters),
            engine,
            pen,
        }
    }

    /// The terminal went away (a draw failed, the key reader ended): a hang-up, told once, so
    /// that the run drains as on one SIGHUP rather than escalating to a kill.
    fn terminal_lost(&mut self) {
        self.terminal_gone = true;
        if !self.hangup_queued {
            self.hangup_queued = true;
            self.queue.push_back(Event::Signal(Signal::SIGHUP));
        }
    }

    /// A signal for `update`. The kernel's SIGHUP for a terminal already known gone is the same
    /// news, not a second request; a second SIGHUP sent on purpose still escalates.
    fn signalled(&mut self, signal: Signal) {
        if signal == Signal::SIGHUP {
            if self.terminal_gone && self.hangup_queued {
                return;
            }
            self.hangup_queued = true;
        }
        self.queue.push_back(Event::Signal(signal));
    }

    /// Draws the state when the pacer says a frame is due, and times it and the keys it answers.
    fn draw_if_due(&mut self, screen: &mut Screen) -> std::io::Result<()> {
        let started = Instant::now();
        let keyed = !self.keys_read.is_empty();
        if !self.pacer.frame_due(started, self.dirty, keyed) {
            return Ok(());
        }
        self.pacer.frame_started(started);
        let mut workers_rows = None;
        screen.draw(|frame| workers_rows = crate::ui::draw(frame, &self.state))?;
        let drawn = Instant::now();
        self.dirty = false;
        self.meter.frame.push(drawn - started);
        for read in self.keys_read.drain(..) {
            self.meter.key_to_screen.push(drawn - read);
        }
        if let Some(rows) = workers_rows.filter(|rows| *rows != self.state.workers_table.page) {
            let _ = update(&mut self.state, Event::WorkersRows(rows));
        }
        // Shown from the next frame on.
        if self.pacer.figures_due(Instant::now(), keyed, self.run.is_some()) {
            let _ = update(&mut self.state, Event::Responsiveness(self.meter.figures()));
            self.pacer.figures_shown(drawn);
            self.dirty = true;
        }
        Ok(())
    }

    /// Waits up to `wait` for a key, a signal or a core sample, and queues what came.
    fn gather(&mut self, sources: &Sources, wait: Duration) {
        // An ended reader would make every `select` return at once: a loop that spins.
        let no_keys = crossbeam::channel::never();
        let keys = if self.terminal_gone { &no_keys } else { &sources.keys };
        // Every asker gone: a disconnected channel would make every `select` return at once.
        let answers = self.interpreters.clone().unwrap_or_else(crossbeam::channel::never);
        select! {
            recv(&answers) -> answer => match answer {
                Ok(answer) => self.queue.push_back(answer),
                Err(_) => self.interpreters = None,
            },
            recv(keys) -> key => match key {
                Ok(first) => {
                    // Keys typed in a burst (a paste, auto-repeat) are all answered by one frame.
                    for (event, read) in std::iter::once(first).chain(keys.try_iter()) {
                        if matches!(event, Event::Key(_)) {
                            self.keys_read.push(read);
                        }
                        self.queue.push_back(event);
                    }
                }
                // The reader ended: the terminal is gone, as on a hang-up.
                Err(_) => self.terminal_lost(),
            },
            recv(sources.signals.received) -> signal => {
                if let Ok(signal) = signal {
                    self.signalled(signal);
                }
            }
            recv(sources.cores.samples) -> sample => {
                if let Ok(sample) = sample {
                    self.queue.push_back(Event::Cores(sample));
                }
            }
            default(wait) => {}
        }
    }

    /// The engine's part of a frame (reaping, draining 1,000 rings, sampling the board), which
    /// costs milliseconds at a thousand workers: when the pacer says so, which keeps it off a
    /// key's way. While workers are being started, every pass polls: each poll starts one
    /// short slice of them.
    fn tick(&mut self, activity: Activity) {
        let decided = Instant::now();
        let tick = self.pacer.tick_due(decided, !self.keys_read.is_empty());
        let Some(active) = self.run.as_mut().filter(|_| tick || activity == Activity::Launching) else {
            return;
        };
        if active.poll() == Phase::Ended {
            if let Some(ended) = self.run.take() {
                let event = self.ended(ended);
                self.queue.push_back(event);
            }
        } else if tick {
            self.queue.push_back(Event::Progress(RunView::sample(active, timeline_window(&self.state))));
        }
        if tick {
            self.pacer.ticked(decided, Instant::now());
        }
    }

    /// The news of a run whose workers have all ended: it failed to start, or it finished
    /// (alone, or as a sweep's run with what other programs used meanwhile).
    fn ended(&mut self, mut ended: Run) -> Event {
        if let Some(error) = ended.take_launch_error() {
            self.sweep_run = None;
            return Event::StartFailed(StartError::Launch(error));
        }
        let report = ended.finish();
        match self.sweep_run.take() {
            Some(SweepRunStart { busy_before }) => {
                let others = busy_before
                    .zip(MachineCpu::now(&self.allowed))
                    .map(|(before, after)| before.others_since(after, report.cpu_seconds));
                Event::SweepRunFinished { report, others_cpu_seconds: others }
            }
            None => Event::Finished(report),
        }
    }

    /// Hands every queued event to `update` and carries out the commands it returns, whose
    /// news joins the queue.
    fn apply_events(&mut self) {
        while let Some(event) = self.queue.pop_front() {
            self.dirty = true;
            for command in update(&mut self.state, event) {
                if matches!(command, Command::StartSweepRun(_)) {
                    self.sweep_run = Some(SweepRunStart { busy_before: MachineCpu::now(&self.allowed) });
                }
                if matches!(command, Command::Start(_) | Command::StartSweepRun(_)) {
                    // Each run at the priority the settings say now: they are frozen while it lasts.
                    let pen = (self.state.settings.priority == Priority::Idle).then(|| Arc::clone(&self.pen));
                    self.engine.pen_workers(pen);
                }
                if let Some(news) = execute(command, &self.engine, &mut self.run, &self.state) {
                    self.queue.push_back(news);
                }
                if self.run.is_none() {
                    self.sweep_run = None;
                }
            }
        }
    }
}

/// A sweep's run in hand: other programs' CPU time during it is told from the CPUs' busy time
/// at its start, when that could be read.
struct SweepRunStart {
    busy_before: Option<MachineCpu>,
}

/// What the loop has in hand, for the pacer.
fn activity(run: Option<&Run>) -> Activity {
    match run.map(Run::phase) {
        None => Activity::Idle,
        Some(Phase::Launching { .. }) => Activity::Launching,
        Some(_) => Activity::Running,
    }
}

/// How much of the timeline a live view carries: what the timeline shows, when it is open.
fn timeline_window(state: &State) -> Option<std::time::Duration> {
    state.timeline.map(crate::app::state::TimelineView::window)
}

/// Carries out one command against the engine; returns the news it makes.
fn execute(command: Command, engine: &Engine, run: &mut Option<Run>, state: &State) -> Option<Event> {
    let window = timeline_window(state);
    match command {
        Command::Start(request) | Command::StartSweepRun(request) => {
            if run.is_some() {
                return None;
            }
            let plan = match request.validate() {
                Ok(plan) => plan,
                Err(error) => return Some(Event::StartFailed(StartError::Plan(error))),
            };
            match engine.begin(&plan) {
                Ok(started) => {
                    let view = RunView::sample(&started, window);
                    *run = Some(started);
                    Some(Event::Progress(view))
                }
                Err(error) => Some(Event::StartFailed(StartError::Launch(error))),
            }
        }
        Command::SetPaused(paused) => {
            let active = run.as_mut()?;
            active.set_paused(paused);
            Some(Event::Progress(RunView::sample(active, window)))
        }
        Command::Stop(reason) => {
            let active = run.as_mut()?;
            active.request_stop(reason);
            Some(Event::Progress(RunView::sample(active, window)))
        }
        Command::InjectCrash(index) => {
            run.as_mut()?.inject_crash(index);
            None
        }
        Command::ExportTrace => Some(Event::Notice(export_trace(state))),
        Command::SaveResults => Some(Event::Notice(match save_results(state) {
            Ok(Some((markdown, json))) => format!("results written to {} and {}", markdown.display(), json.display()),
            Ok(None) => "no results to write yet".to_owned(),
            Err(error) => error.to_string(),
        })),
    }
}

/// Writes the last finished run's timeline as a Chrome trace in the current directory, under a
/// name no file has yet; says where, or why not.
fn export_trace(state: &State) -> String {
    let Some(row) = state.results.last() else {
        return "no finished run to export yet".to_owned();
    };
    let report = &row.report;
    let stem = format!("concur-tui-trace-{}-{}-{}", std::process::id(), state.results.len(), report.plan.workload);
    let written = crate::files::write_new(|attempt| numbered(&stem, attempt, "json"), &mut |mut out| {
        crate::report::write_trace(report, &mut out)
    });
    match written {
        Ok(path) => {
            format!("trace of run {} written to {} (open it in ui.perfetto.dev)", state.results.len(), path.display())
        }
        Err(error) => format!("cannot write {}: {error}", numbered(&stem, 0, "json").display()),
    }
}

/// `STEM.EXT`, or `STEM.N.EXT` when an earlier attempt found that name taken.
fn numbered(stem: &str, attempt: usize, extension: &str) -> PathBuf {
    match attempt {
        0 => PathBuf::from(format!("{stem}.{extension}")),
        n => PathBuf::from(format!("{stem}.{n}.{extension}")),
    }
}

/// Reads terminal input on a thread of its own, so the loop can wait on every source at once.
/// Each event comes with the instant it was read, where key-to-screen latency starts.
fn spawn_key_reader() -> std::io::Result<Receiver<(Event, Instant)>> {
    let (sender, events) = unbounded();
    std::thread::Builder::new().name("keys".into()).spawn(move || loop {
        let event = match term_event::read() {
            Ok(TermEvent::Key(key)) => Event::Key(key),
            Ok(TermEvent::Resize(..)) => Event::Resize,
            Ok(_) => continue,
            Err(_) => return,
        };
        if sender.send((event, Instant::now())).is_err() {
            return;
        }
    })?;
    Ok(events)
}

/// Writes the results table as `concur-tui-results-PID-N.md` and `.json` in the current
/// directory, N the number of runs (`PID-N.K.md` when a file of that name is there already:
/// nothing that exists is written over); None when there is no result to write.
fn save_results(state: &State) -> Result<Saved, SaveError> {
    if state.results.is_empty() {
        return Ok(None);
    }
    let stem = format!("concur-tui-results-{}-{}", std::process::id(), state.results.len());
    let failed = |path: PathBuf| move |source| SaveError { path, source };
    let created = crate::files::create_first_free(|n| vec![numbered(&stem, n, "md"), numbered(&stem, n, "json")])
        .map_err(failed(numbered(&stem, 0, "md")))?;
    let [(markdown, markdown_file), (json, json_file)]: [(PathBuf, std::fs::File); 2] =
        created.try_into().map_err(|_| failed(numbered(&stem, 0, "md"))(std::io::Error::other("not two files")))?;
    let sentence = state.results_sentence();
    let text = crate::report::results::to_markdown(&state.results, &state.comparison, sentence.as_deref());
    if let Err(source) = crate::files::fill(markdown_file, &markdown, &mut |out| out.write_all(text.as_bytes())) {
        // Its JSON twin is still empty: it goes too.
        drop(json_file);
        let _ = std::fs::remove_file(&json);
        return Err(SaveError { path: markdown, source });
    }
    let value = crate::report::results::to_json(&state.results, &state.comparison, sentence.as_deref());
    crate::files::fill(json_file, &json, &mut |out| {
        serde_json::to_writer_pretty(&mut *out, &value).map_err(std::io::Error::from)?;
        out.write_all(b"\n")
    })
    .map_err(failed(json.clone()))?;
    Ok(Some((markdown, json)))
}

/// Where the workers ran, for the summary: the pen's phrase, unless runs were given `run`'s
/// normal priority (`i`).
fn placement(state: &State, placed: &str) -> String {
    match state.results.iter().filter(|row| row.priority == Priority::Normal).count() {
        0 => placed.to_owned(),
        all if all == state.results.len() => "workers at normal priority, as in run (i)".to_owned(),
        normal => format!("{placed}, but {normal} run(s) at normal priority (i)"),
    }
}

/// What the dashboard prints after leaving: how many runs ended which way, where the results
/// went, and what was running and how each of its workers ended.
fn summary(state: &State, saved: &Result<Saved, SaveError>, pen: &str) -> String {
    let count = |wanted: fn(RunOutcome) -> bool| state.results.iter().filter(|row| wanted(row.report.outcome)).count();
    let (finished, cancelled) =
        (count(|o| o == RunOutcome::Finished), count(|o| matches!(o, RunOutcome::Cancelled(_))));
    let mut out = format!("concur-tui: {finished} run(s) finished, {cancelled} cancelled");
    match count(|o| o == RunOutcome::Failed) {
        0 => {}
        failed => {
            let _ = write!(out, ", {failed} failed");
        }
    }
    match &state.interrupted {
        Some(_) => out.push_str(".\n"),
        None => out.push_str("; nothing was running at exit.\n"),
    }
    match saved {
        Ok(Some((markdown, json))) => {
            let _ = writeln!(out, "concur-tui: results written to {} and {}", markdown.display(), json.display());
        }
        Ok(None) => {}
        Err(error) => {
            let _ = writeln!(out, "concur-tui: {error}");
        }
    }
    if let Some(report) = &state.interrupted {
        let cause = match state.shutdown {
            Some(Shutdown::Signal(signal)) => signal.as_str().to_owned(),
            _ => "quit".to_owned(),
        };
        out.push_str(&crate::report::to_summary(report, &cause));
    }
    if let Some(line) = responsiveness_line(state.responsiveness, pen) {
        out.push_str(&line);
    }
    out
}

/// `concur-tui: key-to-screen p50 2.1 ms, p99 9.8 ms (last 512 of 1612 keys); frame …`, and
/// where the workers ran, which decides it at a thousand workers.
fn responsiveness_line(figures: Responsiveness, pen: &str) -> Option<String> {
    let ms = |duration: Duration| duration.as_secs_f64() * 1000.0;
    let keys = figures.key_to_screen?;
    let frame = figures.frame?;
    Some(format!(
        "concur-tui: key-to-screen p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (last {} of {} keys); \
         frame p50 {:.1} ms, p99 {:.1} ms (last {} of {} frames); {pen}\n",
        ms(keys.p50),
        ms(keys.p99),
        ms(keys.max),
        keys.count.min(RING as u64),
        keys.count,
        ms(frame.p50),
        ms(frame.p99),
        frame.count.min(RING as u64),
        frame.count,
    ))
}
