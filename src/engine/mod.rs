//! The engine: turns a [`Plan`] into running workers, stops, pauses and reaps them, and hands
//! back a [`RunReport`], the result it owns. It is the only code that creates, signals or reaps
//! a worker; it never presents a result (that is `report/`'s).
//!
//! A [`Run`] never blocks its caller for long: [`Run::poll`] reaps what has ended and enforces
//! the shutdown deadlines, so the dashboard can call it every frame and `run` in a loop.
//!
//! # Layout
//!
//! Three folders, each importing only those before it:
//!
//! - `plan/`: what to run: the plan, its CPUs (affinity) and its memory (headroom).
//! - `workers/`: what runs in a worker and the OS calls that start it (threads, fork, spawn,
//!   a host process for a crash-prone thread group, the event loop, the lock emulation, lines, the pen).
//! - `run/`: the parent's handle on one run: launch, reaping, shutdown deadlines,
//!   coordinators, the timeline and the run's result.

pub mod plan;
mod run;
pub(crate) mod workers;

pub use plan::affinity;
pub use run::timeline;

use std::sync::Arc;

pub use plan::{DrainPolicy, Model, Plan, PlanError, PlanRequest, Schedule, StartMethod};
pub use run::{CrashReason, ObserverSource, Observing, WorkerOutcome};
pub use run::{Phase, Run, RunOutcome, RunReport, StopReason, WorkerReport};
pub(crate) use workers::pen::Pen;

use crate::board::{Board, BoardError};
use workers::launcher::OsLauncher;

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
    preparer: run::preparer::Preparer,
    /// Where the workers of every run are kept, if the front end asked.
    pen: Option<Arc<dyn Pen>>,
    /// How each run opens perf events on its workers' threads: the kernel, or in tests one
    /// that refuses them.
    perf_events: Arc<dyn run::observer::PerfEvents>,
    observing: Observing,
}

impl Engine {
    /// Creates the board. Call before any other thread exists where possible.
    pub fn new() -> Result<Self, LaunchError> {
        let board = Arc::new(Board::create()?);
        Ok(Self {
            board,
            preparer: run::preparer::Preparer::default(),
            pen: None,
            perf_events: Arc::new(run::observer::KernelPerfEvents),
            observing: Observing::Kernel,
        })
    }

    #[must_use]
    pub fn board(&self) -> &Arc<Board> {
        &self.board
    }

    /// Keeps the workers of every run from now on in `pen`, or in none (`run`'s normal
    /// priority): a front end may choose again before each run.
    pub(crate) fn pen_workers(&mut self, pen: Option<Arc<dyn Pen>>) {
        self.pen = pen;
    }

    /// Opens the perf events of every run from now on through `events` (tests: a kernel that
    /// refuses them).
    #[cfg(test)]
    pub(crate) fn observe_with(&mut self, events: Arc<dyn run::observer::PerfEvents>) {
        self.perf_events = events;
    }

    /// Whether the runs from now on watch their workers' threads through the kernel (the
    /// default) or not at all: `benches/observer.rs` measures what watching costs with it.
    pub fn set_observing(&mut self, observing: Observing) {
        self.observing = observing;
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

/// Tests of the engine as a whole: what a front end asks of it and what every worker model does
/// with that, across `plan/`, `workers/` and `run/`.
#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::workers::pen::fake::{policy_of, BatchPen};
    use super::{Engine, Model, Phase, PlanRequest, StartMethod, StopReason};
    use crate::workload::by_name;

    /// Every worker of every model runs admitted; the caller, which launched them, does not.
    /// (A spawned worker re-executes the program, which a test binary is not: the dashboard's
    /// end-to-end test covers it.)
    #[test]
    fn every_worker_admits_itself_and_the_launching_thread_stays_out() {
        let me = std::process::id() as i32;
        let caller = nix::unistd::gettid().as_raw();
        let mut engine = Engine::new().expect("board");
        engine.pen_workers(Some(Arc::new(BatchPen)));
        for (model, start) in [
            (Model::Threads, StartMethod::Fork),
            (Model::Processes, StartMethod::Fork),
            (Model::Async, StartMethod::Fork),
        ] {
            let plan = PlanRequest {
                workers: Some(3),
                tasks: 3,
                size: Some(2000),
                start,
                ..PlanRequest::new(by_name("io").expect("io"), model)
            }
            .validate()
            .expect("plan");
            let mut run = engine.start(&plan).expect("start");
            // A worker's slot names its thread: in this process for threads and async, its own
            // process (pid = tid) for processes.
            let policies = || {
                (0..3)
                    .map(|index| {
                        let tid = run.board().slot(index).tid.load(Ordering::Relaxed);
                        let pid = if model == Model::Processes { tid } else { me };
                        policy_of(pid, tid)
                    })
                    .collect::<Vec<_>>()
            };
            let deadline = Instant::now() + Duration::from_secs(30);
            while policies().iter().any(|policy| *policy != libc::SCHED_BATCH) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            let seen = policies();
            run.request_stop(StopReason::User);
            run.escalate();
            while run.poll() != Phase::Ended {
                std::thread::sleep(Duration::from_millis(2));
            }
            let _ = run.finish();
            assert!(seen.iter().all(|policy| *policy == libc::SCHED_BATCH), "{model} {start:?}: {seen:?}");
            assert_eq!(policy_of(me, caller), libc::SCHED_OTHER, "{model} {start:?}: the caller was admitted");
        }
    }
}
