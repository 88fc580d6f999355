//! The engine: turns a [`Plan`] into running workers, stops, pauses and reaps them, and hands
//! back a [`RunReport`], the result it owns. It is the only code that creates, signals or reaps
//! a worker; it never presents a result (that is `report/`'s).
//!
//! A [`Run`] never blocks its caller for long: [`Run::poll`] reaps what has ended and enforces
//! the shutdown deadlines, so the dashboard can call it every frame and `run` in a loop.
//!
//! # Layout
//!
//! - `run.rs`: the [`Run`] handle: phase, pause, stop, crash injection, polling, reaping, drop.
//! - `launching.rs`: the launching phase: preparation, then workers started a slice per poll.
//! - `preparer.rs`: the one thread that runs every run's preparation.
//! - `launch.rs`: starting one worker, replacing a crashed one, cleaning up a failed launch.
//! - `launcher.rs`: how one worker is started (thread, fork, spawn, host), behind a trait.
//! - `pen.rs`: where and how a front end wants its workers to run (a scheduling group and
//!   policy apart from its own threads), behind a trait; each worker admits itself at its start.
//! - `handle.rs`: one worker as the run tracks it, and reaping it into its ending.
//! - `shutdown.rs`: the shutdown deadlines as a pure function of the time.
//! - `coordinator.rs`: the program's side of each worker's line, for workloads that talk, and
//!   a workload's service beside the workers (net's HTTP server), stopped after the last one.
//! - `result.rs`: [`RunReport`] and building it from the board.
//! - `threads.rs`, `processes.rs`, `spawned.rs`, `host.rs`, `event_loop.rs` (the async model:
//!   one thread, each worker a task of its loop), `worker.rs` (the worker loop's steps) and
//!   `hooks.rs` (what a worker lends its tasks: progress, stop, pause, state changes): the workers
//!   themselves.

pub mod affinity;
mod coordinator;
mod event_loop;
pub(crate) mod gil;
mod handle;
mod headroom;
mod hooks;
mod host;
mod launch;
mod launcher;
mod launching;
pub(crate) mod line;
mod outcome;
pub(crate) mod pen;
pub mod plan;
mod preparer;
pub(crate) mod processes;
mod result;
mod run;
mod shutdown;
pub(crate) mod spawned;
pub(crate) mod threads;
pub mod timeline;
pub(crate) mod worker;

use std::sync::Arc;

pub use outcome::{CrashReason, WorkerOutcome};
pub(crate) use pen::Pen;
pub use plan::{DrainPolicy, Model, Plan, PlanError, PlanRequest, Schedule, StartMethod};
pub use result::{RunOutcome, RunReport, WorkerReport};
pub use run::{Phase, Run};
pub use shutdown::StopReason;

use crate::board::{Board, BoardError};
use launcher::OsLauncher;

/// A run could not start.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(transparent)]
    Board(#[from] BoardError),
    #[error(
        "fork of worker {index} failed: {source}; the {started} worker(s) already started were stopped and reaped"
    )]
    Fork { index: usize, started: usize, source: nix::Error },
    #[error("starting thread worker {index} failed: {source}; the {started} worker(s) already started were stopped and joined")]
    Thread { index: usize, started: usize, source: std::io::Error },
    #[error(
        "spawning worker {index} failed: {source}; the {started} worker(s) already started were stopped and reaped"
    )]
    Spawn { index: usize, started: usize, source: std::io::Error },
    #[error("starting the {workload} service failed: {source}; no worker was started")]
    Service { workload: String, source: std::io::Error },
    #[error("preparing the workload failed: {0}")]
    Prepare(String),
    #[error(
        "opening the line to worker {index} failed: {source}; the {started} worker(s) already started were stopped and reaped"
    )]
    Line { index: usize, started: usize, source: std::io::Error },
}

/// Owns the board and the preparation thread; starts runs one at a time.
pub struct Engine {
    board: Arc<Board>,
    preparer: preparer::Preparer,
    /// Where the workers of every run are kept, if the front end asked.
    pen: Option<Arc<dyn Pen>>,
}

impl Engine {
    /// Creates the board. Call before any other thread exists where possible.
    pub fn new() -> Result<Self, LaunchError> {
        let board = Arc::new(Board::create()?);
        let preparer = preparer::Preparer::start().map_err(|error| LaunchError::Prepare(error.to_string()))?;
        Ok(Self { board, preparer, pen: None })
    }

    #[must_use]
    pub fn board(&self) -> &Arc<Board> {
        &self.board
    }

    /// Keeps the workers of every run from now on in `pen`.
    pub(crate) fn pen_workers(&mut self, pen: Arc<dyn Pen>) {
        self.pen = Some(pen);
    }

    /// Launches every worker of `plan` before returning. On a failed launch the workers already
    /// started are stopped and reaped before the error returns. Nothing can stop it midway:
    /// front ends use [`Engine::begin`].
    pub fn start(&self, plan: &Plan) -> Result<Run, LaunchError> {
        Run::launch_all(self, plan, Arc::new(OsLauncher { pen: self.pen.clone() }))
    }

    /// Begins a run of `plan` and returns at once, in [`Phase::Preparing`]: each
    /// [`Run::poll`] then starts a slice of its workers, so that a stop during the launch
    /// starts no more of them. A failed launch ends the run; [`Run::take_launch_error`] says why.
    pub fn begin(&self, plan: &Plan) -> Result<Run, LaunchError> {
        Run::begin(self, plan, Arc::new(OsLauncher { pen: self.pen.clone() }))
    }
}
