//! The dashboard's loop: the terminal guard, the key reader, signal and core-sampler threads,
//! and the engine calls that carry out `app::update`'s commands.
//!
//! It decides nothing: every event goes through [`update`], which alone changes the [`State`];
//! this loop only gathers events, hands the resulting [`Command`]s to the engine and has `ui`
//! draw the state. It never touches a worker except through the engine, and nothing in `app`
//! or `ui` may import it.

pub(crate) mod terminal;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crossbeam::channel::{select, unbounded, Receiver};
use ratatui::crossterm::event::{self as term_event, Event as TermEvent};

use crate::app::state::Shutdown;
use crate::app::{update, Command, Event, State};
use crate::engine::{Engine, LaunchError, Phase, Run};
use crate::signals::Listener;
use crate::telemetry::{CoreSampler, Pace, RunView};
use terminal::TerminalGuard;

/// At most this many frames a second, and only when something changed.
const FRAME: Duration = Duration::from_millis(33);

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
pub(crate) fn run(grace: Duration) -> Result<Ending, DashboardError> {
    // The board first, before any other thread exists.
    let engine = Engine::new()?;
    let signals = Listener::start()?;
    let cores = CoreSampler::start()?;
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let mut state = State::new(cpus, grace);
    state.color = crate::ui::theme::Theme::from_env().color;
    let mut guard = TerminalGuard::enter()?;
    // Only now: the reader holds crossterm's event lock while it waits for a key, so no
    // terminal query can run beside it.
    let keys = spawn_key_reader()?;

    let mut run: Option<Run> = None;
    let mut queue: VecDeque<Event> = VecDeque::new();
    let mut dirty = true;
    let mut last_frame: Option<Instant> = None;
    let mut last_progress = Instant::now();
    let mut pace = Pace::Idle;
    while state.exit.is_none() {
        let since_frame = last_frame.map_or(FRAME, |at| at.elapsed());
        if dirty && since_frame >= FRAME {
            // Frames are paced from their start, so drawing time does not stretch the period.
            last_frame = Some(Instant::now());
            guard.screen.draw(|frame| crate::ui::draw(frame, &state))?;
            dirty = false;
        }
        // While workers are being started, each poll starts a slice of them: poll again at once.
        let launching = run.as_ref().is_some_and(|run| matches!(run.phase(), Phase::Launching { .. }));
        let wait = if launching {
            Duration::ZERO
        } else if dirty || run.is_some() {
            FRAME.saturating_sub(since_frame)
        } else {
            Duration::from_secs(3600)
        };
        select! {
            recv(keys) -> key => match key {
                Ok(event) => queue.push_back(event),
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
        if let Some(active) = run.as_mut() {
            if active.poll() == Phase::Ended {
                if let Some(mut ended) = run.take() {
                    queue.push_back(match ended.take_launch_error() {
                        Some(error) => Event::StartFailed(format!("cannot run: {error}")),
                        None => Event::Finished(ended.finish()),
                    });
                }
            } else if last_progress.elapsed() >= FRAME {
                queue.push_back(Event::Progress(RunView::sample(active, timeline_window(&state))));
                last_progress = Instant::now();
            }
        }
        while let Some(event) = queue.pop_front() {
            dirty = true;
            for command in update(&mut state, event) {
                if let Some(news) = execute(command, &engine, &mut run, &state) {
                    queue.push_back(news);
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
    Ok(Ending { exit_code, summary: summary(&state) })
}

/// How much of the timeline a live view carries: what the timeline shows, when it is open.
fn timeline_window(state: &State) -> Option<std::time::Duration> {
    state.timeline.map(crate::app::state::TimelineView::window)
}

/// Carries out one command against the engine; returns the news it makes.
fn execute(command: Command, engine: &Engine, run: &mut Option<Run>, state: &State) -> Option<Event> {
    let window = timeline_window(state);
    match command {
        Command::Start(request) => {
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
fn spawn_key_reader() -> std::io::Result<Receiver<Event>> {
    let (sender, events) = unbounded();
    std::thread::Builder::new().name("keys".into()).spawn(move || loop {
        let event = match term_event::read() {
            Ok(TermEvent::Key(key)) => Event::Key(key),
            Ok(TermEvent::Resize(..)) => Event::Resize,
            Ok(_) => continue,
            Err(_) => return,
        };
        if sender.send(event).is_err() {
            return;
        }
    })?;
    Ok(events)
}

/// What the dashboard prints after leaving: what was running and how each worker ended.
fn summary(state: &State) -> String {
    let Some(report) = &state.interrupted else {
        let runs = state.results.len();
        return format!("concur-tui: {runs} run(s) finished; nothing was running at exit.\n");
    };
    let cause = match state.shutdown {
        Some(Shutdown::Signal(signal)) => signal.as_str().to_owned(),
        _ => "quit".to_owned(),
    };
    crate::report::to_summary(report, &cause)
}
