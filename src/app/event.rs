//! What reaches `update` (events) and what `update` asks of the loop (commands).

use nix::sys::signal::Signal;
use ratatui::crossterm::event::KeyEvent;

use crate::engine::plan::runtime::{Interpreter, PythonError};
use crate::engine::RunReport;
use crate::engine::{LaunchError, PlanError, PlanRequest, StopReason};
use crate::telemetry::responsiveness::Responsiveness;
use crate::telemetry::{CoreSample, RunView};

/// Everything that can change the dashboard's state.
#[derive(Debug)]
pub(crate) enum Event {
    Key(KeyEvent),
    /// The terminal changed size: the next frame is drawn to fit.
    Resize,
    /// SIGINT, SIGTERM or SIGHUP delivered to the process.
    Signal(Signal),
    Cores(CoreSample),
    /// The live view of the current run, once per frame while it lasts.
    Progress(RunView),
    /// Every worker of the current run has ended.
    Finished(RunReport),
    /// Every worker of a sweep's run has ended; other programs used this much CPU meanwhile.
    SweepRunFinished {
        report: RunReport,
        others_cpu_seconds: Option<f64>,
    },
    /// The run could not start (bad plan, failed fork).
    StartFailed(StartError),
    /// Something the loop did that the user should read (where a trace was written).
    Notice(String),
    /// The workers panel had room for this many rows in the frame just drawn.
    WorkersRows(usize),
    /// The dashboard's latest key-to-screen and frame-time figures.
    Responsiveness(Responsiveness),
    /// A Python interpreter the runtime row offers answered what it is (or could not).
    Interpreter {
        name: std::path::PathBuf,
        answer: Result<Interpreter, PythonError>,
    },
}

/// Why a run the dashboard asked for did not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Launch(#[from] LaunchError),
}

/// What the loop must do for `update`: the only way the dashboard reaches the engine.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub(crate) enum Command {
    Start(PlanRequest),
    /// Start the sweep's next run; its end comes back as [`Event::SweepRunFinished`].
    StartSweepRun(PlanRequest),
    SetPaused(bool),
    Stop(StopReason),
    InjectCrash(usize),
    /// Write the last finished run's timeline as a Chrome trace.
    ExportTrace,
    /// Write the results table as Markdown and JSON files.
    SaveResults,
}
