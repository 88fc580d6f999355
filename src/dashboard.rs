//! The dashboard's loop: the terminal guard, the key reader, signal and core-sampler threads,
//! and the engine calls that carry out `app::update`'s commands.
//!
//! It decides nothing: every event goes through [`update`], which alone changes the [`State`];
//! this loop only gathers events, hands the resulting [`Command`]s to the engine and has `ui`
//! draw the state. It never touches a worker except through the engine, and nothing in `app`
//! or `ui` may import it.

mod cgroup;
pub mod frame_cost;
mod priority;
pub(crate) mod terminal;

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossbeam::channel::{select, unbounded, Receiver};
use ratatui::crossterm::event::{self as term_event, Event as TermEvent};

use crate::app::state::Shutdown;
use crate::app::{update, Command, Event, State};
use crate::engine::{Engine, LaunchError, Phase, Run, RunOutcome};
use crate::signals::Listener;
use crate::telemetry::latency::{Meter, Responsiveness, RING};
use crate::telemetry::machine::MachineCpu;
use crate::telemetry::{CoreSampler, Pace, RunView};
use priority::WorkersPen;
use terminal::TerminalGuard;

/// At most this many frames a second, and only when something changed; a frame that answers
/// a key is drawn at once.
const FRAME: Duration = Duration::from_millis(33);
/// How often the responsiveness figures are refreshed while a run lasts.
const FIGURES_EVERY: Duration = Duration::from_secs(1);

/// Why the dashboard could not run.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DashboardError {
    #[error(transparent)]
    Engine(#[from] LaunchError),
    #[error("cannot use the terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

/// How the dashboard ended.
#[derive(Debug)]
pub(crate) struct Ending {
    pub exit_code: i32,
    /// What to print once the terminal is restored.
    pub summary: String,
}

/// Runs the dashboard until the user quits or a signal ends it.
pub(crate) fn run(grace: Duration, theme: crate::cli::ThemeChoice) -> Result<Ending, DashboardError> {
    // The board first, before any other thread exists.
    let mut engine = Engine::new()?;
    // Before any worker: each admits itself to it at its start.
    let (pen, placed) = WorkersPen::new();
    let in_cgroup = pen.in_cgroup();
    engine.pen_workers(pen);
    let signals = Listener::start()?;
    let cores = CoreSampler::start()?;
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let mut state = State::new(cpus, grace);
    state.workers_in_cgroup = in_cgroup;
    state.color = crate::ui::theme::Theme::from_env().color;
    // Only `--theme auto` asks the terminal for its background, and only where colour is on.
    let mut guard = TerminalGuard::enter(theme == crate::cli::ThemeChoice::Auto && state.color)?;
    state.background = theme.background(guard.background);
    // Only now: the reader holds crossterm's event lock while it waits for a key, so no
    // terminal query can run beside it.
    let keys = spawn_key_reader()?;

    let mut run: Option<Run> = None;
    let mut queue: VecDeque<Event> = VecDeque::new();
    let mut dirty = true;
    let mut last_frame: Option<Instant> = None;
    let mut last_progress = Instant::now();
    // What the last tick (poll and sample) took, wall time: CPU and waiting for it alike.
    let mut tick_cost = Duration::ZERO;
    let mut pace = Pace::Idle;
    // The CPUs' busy time when the sweep's run in hand started: Some while that run is a sweep's.
    let allowed = crate::engine::affinity::allowed_cpus().unwrap_or_else(|_| (0..cpus).collect());
    let mut sweep_before: Option<Option<MachineCpu>> = None;
    let mut meter = Meter::default();
    // When each key not yet on screen was read.
    let mut keys_read: Vec<Instant> = Vec::new();
    let mut last_figures = Instant::now();
    while state.exit.is_none() {
        let since_frame = last_frame.map_or(FRAME, |at| at.elapsed());
        // A key is answered at once; only progress waits for the next frame.
        if dirty && (since_frame >= FRAME || !keys_read.is_empty()) {
            // Frames are paced from their start, so drawing time does not stretch the period.
            let started = Instant::now();
            last_frame = Some(started);
            let mut workers_rows = None;
            guard.screen.draw(|frame| workers_rows = crate::ui::draw(frame, &state))?;
            let drawn = Instant::now();
            dirty = false;
            meter.frame.push(drawn - started);
            let keyed = !keys_read.is_empty();
            for read in keys_read.drain(..) {
                meter.key_to_screen.push(drawn - read);
            }
            if let Some(rows) = workers_rows.filter(|rows| *rows != state.workers_page) {
                let _ = update(&mut state, Event::WorkersRows(rows));
            }
            // Shown from the next frame on: at once after a key, else once a second.
            if keyed || (run.is_some() && last_figures.elapsed() >= FIGURES_EVERY) {
                let _ = update(&mut state, Event::Responsiveness(meter.figures()));
                last_figures = drawn;
                dirty = true;
            }
        }
        // While workers are being started, each poll starts a slice of them: poll again at once.
        let launching = run.as_ref().is_some_and(|run| matches!(run.phase(), Phase::Launching { .. }));
        // On a machine too busy to give the loop its time, ticks space out (see below).
        let every = FRAME.max(tick_cost * 8);
        // Sleep until a frame or a tick is due, never less than a millisecond: a loop that woke
        // at once between ticks would spin, and a spinning loop is what a busy machine starves.
        let frame_due = FRAME.saturating_sub(last_frame.map_or(FRAME, |at| at.elapsed()));
        let tick_due = every.saturating_sub(last_progress.elapsed());
        let wait = if launching {
            Duration::ZERO
        } else if dirty {
            frame_due
        } else if run.is_some() {
            tick_due.max(Duration::from_millis(1))
        } else {
            Duration::from_secs(3600)
        };
        select! {
            recv(keys) -> key => match key {
                Ok(first) => {
                    // Keys typed in a burst (a paste, auto-repeat) are all answered by one frame.
                    for (event, read) in std::iter::once(first).chain(keys.try_iter()) {
                        if matches!(event, Event::Key(_)) {
                            keys_read.push(read);
                        }
                        queue.push_back(event);
                    }
                }
                // The reader ended: the terminal is gone, as on a hang-up.
                Err(_) => queue.push_back(Event::Signal(nix::sys::signal::Signal::SIGHUP)),
            },
            recv(signals.received) -> signal => {
                if let Ok(signal) = signal {
                    queue.push_back(Event::Signal(signal));
                }
            }
            recv(cores.samples) -> sample => {
                if let Ok(sample) = sample {
                    queue.push_back(Event::Cores(sample));
                }
            }
            default(wait) => {}
        }
        // The engine's part of a frame (reaping, draining 1,000 rings, sampling the board)
        // costs milliseconds at a thousand workers: done once a frame, never for a key, and
        // put off (up to three frames) while a key waits for its answer. On a machine too busy to
        // give the loop its time, ticks space out to take at most an eighth of it. While workers
        // are being started, every pass polls: each poll starts one short slice of them.
        let since_progress = last_progress.elapsed();
        let tick = since_progress >= every && (keys_read.is_empty() || since_progress >= 4 * every);
        if let Some(active) = run.as_mut().filter(|_| tick || launching) {
            let phase = active.poll();
            if phase == Phase::Ended {
                if let Some(mut ended) = run.take() {
                    let event = if let Some(error) = ended.take_launch_error() {
                        sweep_before = None;
                        Event::StartFailed(format!("cannot run: {error}"))
                    } else {
                        let report = ended.finish();
                        match sweep_before.take() {
                            Some(before) => {
                                let others = before
                                    .zip(MachineCpu::now(&allowed))
                                    .map(|(before, after)| before.others_since(after, report.cpu_seconds));
                                Event::SweepRunFinished { report, others_cpu_seconds: others }
                            }
                            None => Event::Finished(report),
                        }
                    };
                    queue.push_back(event);
                }
            } else if tick {
                queue.push_back(Event::Progress(RunView::sample(active, timeline_window(&state))));
            }
            if tick {
                let now = Instant::now();
                tick_cost = (now - last_progress).saturating_sub(since_progress);
                last_progress = now;
            }
        }
        while let Some(event) = queue.pop_front() {
            dirty = true;
            for command in update(&mut state, event) {
                if matches!(command, Command::StartSweepRun(_)) {
                    sweep_before = Some(MachineCpu::now(&allowed));
                }
                if let Some(news) = execute(command, &engine, &mut run, &state) {
                    queue.push_back(news);
                }
                if run.is_none() {
                    sweep_before = None;
                }
            }
        }
        // Cores four times a second while a run lasts; an idle dashboard samples once a second.
        let wanted = if run.is_some() { Pace::Run } else { Pace::Idle };
        if wanted != pace {
            cores.set_pace(wanted);
            pace = wanted;
        }
    }
    drop(guard);
    let exit_code = state.exit.unwrap_or(0);
    let saved = save_results(&state);
    Ok(Ending { exit_code, summary: summary(&state, &saved, &placed) })
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
                Err(error) => return Some(Event::StartFailed(format!("cannot run: {error}"))),
            };
            match engine.begin(&plan) {
                Ok(started) => {
                    let view = RunView::sample(&started, window);
                    *run = Some(started);
                    Some(Event::Progress(view))
                }
                Err(error) => Some(Event::StartFailed(format!("cannot run: {error}"))),
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
            Err(error) => error,
        })),
    }
}

/// Writes the last finished run's timeline as a Chrome trace in the current directory; says
/// where, or why not.
fn export_trace(state: &State) -> String {
    let Some(row) = state.results.last() else {
        return "no finished run to export yet".to_owned();
    };
    let report = &row.report;
    let path = std::path::PathBuf::from(format!(
        "concur-tui-trace-{}-{}-{}.json",
        std::process::id(),
        state.results.len(),
        report.plan.workload
    ));
    let written = std::fs::File::create(&path).and_then(|file| {
        let mut out = std::io::BufWriter::new(file);
        crate::report::write_trace(report, &mut out)?;
        std::io::Write::flush(&mut out)
    });
    match written {
        Ok(()) => {
            format!("trace of run {} written to {} (open it in ui.perfetto.dev)", state.results.len(), path.display())
        }
        Err(error) => format!("cannot write {}: {error}", path.display()),
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
/// directory, N the number of runs; None when there is no result to write.
fn save_results(state: &State) -> Result<Option<(PathBuf, PathBuf)>, String> {
    if state.results.is_empty() {
        return Ok(None);
    }
    let stem = format!("concur-tui-results-{}-{}", std::process::id(), state.results.len());
    let (markdown, json) = (PathBuf::from(format!("{stem}.md")), PathBuf::from(format!("{stem}.json")));
    let sentence = state.results_sentence();
    let text = crate::report::results::to_markdown(&state.results, &state.comparison, sentence.as_deref());
    std::fs::write(&markdown, text).map_err(|error| format!("cannot write {}: {error}", markdown.display()))?;
    let value = crate::report::results::to_json(&state.results, &state.comparison, sentence.as_deref());
    let written = serde_json::to_string_pretty(&value)
        .map_err(std::io::Error::other)
        .and_then(|text| std::fs::write(&json, text + "\n"));
    written.map_err(|error| format!("cannot write {}: {error}", json.display()))?;
    Ok(Some((markdown, json)))
}

/// What the dashboard prints after leaving: how many runs ended which way, where the results
/// went, and what was running and how each of its workers ended.
fn summary(state: &State, saved: &Result<Option<(PathBuf, PathBuf)>, String>, pen: &str) -> String {
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
