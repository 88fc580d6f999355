//! The trait workloads implement and what the engine lends them: a task is a pure function of
//! (task index, progress hooks). It reports progress through [`Hooks::checkpoint`] at chunk
//! boundaries and obeys the [`Flow`] it gets back. It must not know whether it runs in a thread
//! or a process, and never touches the board, the terminal or a channel directly.
//!
//! A workload that can also run as a task of the async model's event loop implements
//! [`AsyncWorkload`] (one method: the task as a future, with [`AsyncHooks`] in place of
//! [`Hooks`]) and returns itself from [`Workload::as_async`]. The other capabilities work the
//! same way: a workload whose workers talk to the program implements [`TalkingWorkload`]
//! (`as_talking`), one that needs something running beside its workers (net's HTTP server)
//! implements [`ServedWorkload`] (`as_served`). A workload with none of them writes three
//! methods: `units_for`, `run_task` and `expected_checksum`.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::choice::choice;

/// What a worker should do after a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Flow {
    Continue,
    Stop,
}

/// How a task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskEnd {
    /// Ran to the end; `digest` folds into the run's checksum so a lost or repeated task shows.
    Completed { digest: u64 },
    /// Left at a chunk boundary because a stop was asked for.
    Stopped,
    /// Could not be done (the line to the coordinator broke, a reply was garbled): the worker
    /// ends as failed with this reason rather than report a task it did not do.
    Failed(String),
}

/// Why [`Hooks::exchange`] came back without a reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    /// The run is stopping: leave the task as at a chunk boundary.
    #[error("the run is stopping")]
    Stopping,
    /// The line is gone (the coordinator hung up) or refused the message.
    #[error("the line to the coordinator broke: {0}")]
    Broken(String),
}

impl ExchangeError {
    /// How a task ends after a failed exchange.
    #[must_use]
    pub fn task_end(self, workload: &str) -> TaskEnd {
        match self {
            Self::Stopping => TaskEnd::Stopped,
            Self::Broken(why) => TaskEnd::Failed(format!("{workload}: {why}")),
        }
    }
}

choice! {
    /// How messages travel between the coordinator and a worker (`ipc`, `data --transfer pipe`).
    pub enum Transport {
        "A crossbeam channel each way: threads only." Channel = "channel",
        "Two pipes, one each way." Pipe = "pipe",
        "A Unix stream socket pair." Socket = "socket",
        "A mailbox in the board's shared memory, with a futex to sleep on." Shm = "shm",
    }
}

impl Transport {
    /// True when the transport connects threads of one process; false when it connects processes.
    #[must_use]
    pub fn is_for_threads(self) -> bool {
        self == Self::Channel
    }
}

/// The coordinator's end of a worker's line: whole messages, one in flight each way.
pub trait Line {
    /// Sends one message. Fails once the worker has hung up or the run is over.
    fn send(&mut self, message: &[u8]) -> Result<(), ExchangeError>;
    /// Receives one message into `into`, replacing what it held.
    fn recv(&mut self, into: &mut Vec<u8>) -> Result<(), ExchangeError>;
}

/// Shared memory a task may use: the same cells for threads and for forked processes.
pub struct Cells<'a> {
    /// One counter for the whole run.
    pub shared_counter: &'a AtomicU64,
    /// A lock word for `shared_counter`, usable across processes.
    pub shared_lock: &'a AtomicU32,
    /// This worker's own counter.
    pub own_counter: &'a AtomicU64,
    /// Where this worker reports its own memory use.
    pub rss_bytes: &'a AtomicU64,
    pub pss_bytes: &'a AtomicU64,
    /// Which worker this is, and how many tasks it has completed.
    pub worker: usize,
    pub tasks_done: u64,
    /// True in a forked worker process, false in a thread.
    pub in_process: bool,
    /// The run's token bucket and semaphore.
    pub limits: &'a crate::board::Limits,
    /// The semaphore's permits this worker holds, counted so that a dead one's are given back.
    pub permits_held: &'a AtomicU32,
}

/// Why [`Workload::prepare`] could not make what the run needs (the OS error, in one line,
/// with the workload's name): the run is refused with it and no worker starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unprepared(pub String);

/// What the engine tells [`Workload::prepare`].
pub struct Preparing<'a> {
    /// Workers will be forked from this process, so they inherit what is made here. False for
    /// threads and spawned processes: nothing needs making for them to inherit.
    pub forked: bool,
    stop: &'a AtomicBool,
}

impl<'a> Preparing<'a> {
    #[must_use]
    pub fn new(forked: bool, stop: &'a AtomicBool) -> Self {
        Self { forked, stop }
    }

    /// The run was stopped: leave the preparation at the next step.
    #[must_use]
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// What the engine lends a running task.
pub trait Hooks {
    /// Called at every chunk boundary with the units done so far in this task.
    fn checkpoint(&mut self, units_done: u64) -> Flow;
    /// Runs a wait that uses no CPU with the interpreter lock released, as CPython releases the
    /// GIL around blocking I/O.
    fn blocking(&mut self, wait: &mut dyn FnMut());
    /// [`Hooks::blocking`] for a wait on the run's shared cells (a futex in the board).
    fn blocking_with_cells(&mut self, wait: &mut dyn FnMut(&Cells<'_>));
    /// The shared cells of the run and this worker.
    fn cells(&self) -> Cells<'_>;
    /// Adds time spent waiting for a lock the workload itself takes.
    fn add_lock_wait(&mut self, waited: std::time::Duration);
    /// Sends `message` to the coordinator over this worker's line and waits for the reply, with
    /// the interpreter lock released; only for workloads whose [`Workload::as_talking`] is `Some`.
    fn exchange(&mut self, message: &[u8], reply: &mut Vec<u8>) -> Result<(), ExchangeError>;
}

/// One kind of work from the catalog, configured for a run.
pub trait Workload: Send + Sync {
    /// Progress units in task `task` (iterations, milliseconds…).
    fn units_for(&self, task: u64) -> u64;
    fn run_task(&self, task: u64, hooks: &mut dyn Hooks) -> TaskEnd;
    /// The wrapping sum of the digests of tasks `0..tasks`, when it can be known in advance.
    fn expected_checksum(&self, tasks: u64) -> Option<u64>;
    /// The workload's own figures of a finished run.
    fn metrics(&self, _run: &RunCells) -> Box<dyn Metrics> {
        Box::new(NoMetrics)
    }
    /// Work done once in the program before any worker starts (never in a spawned worker), so
    /// that forked workers inherit it and the coordinator never makes a worker wait for it.
    /// It runs on a thread of its own while the front end stays responsive, and must leave
    /// soon after [`Preparing::stopped`] turns true, returning [`Flow::Stop`]. What it cannot
    /// make (a directory, memory) is an [`Unprepared`] error, never a panic or an abort.
    fn prepare(&self, _preparing: &Preparing<'_>) -> Result<Flow, Unprepared> {
        Ok(Flow::Continue)
    }
    /// True when [`Workload::prepare`] does something: only then does the engine start its
    /// preparation thread, so that a run with nothing to prepare forks its workers from a
    /// process of one thread (each other thread costs every fork).
    fn prepares(&self) -> bool {
        false
    }
    /// The workload as workers that talk to the program over a line; None: they do not.
    fn as_talking(&self) -> Option<&dyn TalkingWorkload> {
        None
    }
    /// The workload as tasks of one event loop (`--model async`); None refuses that model.
    fn as_async(&self) -> Option<&dyn AsyncWorkload> {
        None
    }
    /// The workload as one that needs a service beside its workers; None: it needs none.
    fn as_served(&self) -> Option<&dyn ServedWorkload> {
        None
    }
    /// The workload's own figures while it runs, in one short line for the dashboard
    /// (`44.9 tasks/s of 50`), or None when it has none worth watching.
    fn live(&self, _now: &LiveCells) -> Option<String> {
        None
    }
    /// What a Python twin's tasks must be told of this run beyond its size and options, as
    /// name and text (net's server address, disk's directory): what a native worker finds in
    /// memory it inherits. Read once [`Workload::prepare`] and the service have run.
    fn python_context(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}

/// A workload whose workers talk to the program: each gets a line of [`Self::transport`], and
/// the engine serves the other end on a coordinator thread in the program.
pub trait TalkingWorkload {
    /// The line each worker needs to the coordinator.
    fn transport(&self) -> Transport;
    /// The coordinator's side of worker `worker`'s line. The engine runs it on a thread of its
    /// own in the program, never in a worker, until the line fails.
    fn serve(&self, worker: usize, line: &mut dyn Line);
}

/// A workload that needs something running beside its workers (net's HTTP server). Workers
/// reach a service through memory they inherit, so a spawned worker (which maps only the board)
/// cannot: such a workload refuses `--start spawn`.
pub trait ServedWorkload {
    /// Starts it, in the program, before the first worker starts; the engine stops and joins it
    /// after the last one ended, on every path. `stopping` turns true once the run is asked to
    /// stop, so the service can cut its waits.
    fn start_service(&self, stopping: Stopping) -> std::io::Result<Box<dyn Service>>;
}

/// True once the run is asked to stop.
pub type Stopping = Arc<dyn Fn() -> bool + Send + Sync>;

/// A service running beside a run's workers (see [`ServedWorkload`]).
pub trait Service: Send {
    /// Stops it and waits for its threads to end.
    fn stop(self: Box<Self>);
}

/// A future that stays on the thread that made it.
pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// A workload whose tasks can run as futures on the async model's one thread.
pub trait AsyncWorkload: Sync {
    /// Task `task`, as [`Workload::run_task`] does it, awaiting where that one blocks. Its
    /// digest must be the same, so the checksum holds whatever the model.
    fn run_task_async<'a>(&'a self, task: u64, hooks: &'a mut dyn AsyncHooks) -> LocalFuture<'a, TaskEnd>;
}

/// What the engine lends a task on the event loop.
pub trait AsyncHooks {
    /// At a chunk boundary: stores progress, obeys stop and pause, and lets the loop's other
    /// tasks run when this one has held the thread for a while (a loop has no preemption).
    fn checkpoint(&mut self, units_done: u64) -> LocalFuture<'_, Flow>;
    /// An await that uses no CPU starts (recorded as blocked) or ends; see [`awaiting`].
    fn enter_wait(&mut self);
    fn leave_wait(&mut self);
    /// True once the run asks this task to stop at its next chunk.
    fn stop_requested(&self) -> bool;
    /// The shared cells of the run and this worker.
    fn cells(&self) -> Cells<'_>;
    /// CPU time a helper thread spent on this task's behalf (a file call run off the loop),
    /// counted in the worker's CPU time.
    fn add_helper_cpu(&mut self, spent: Duration);
}

/// How often [`awaiting`] looks at the stop flag while it waits.
const STOP_POLL: Duration = Duration::from_millis(10);

/// Awaits `wait` as blocked time; None when the run asked to stop before it finished (the
/// future is dropped, cancelling what it was doing).
pub async fn awaiting<F: Future>(hooks: &mut dyn AsyncHooks, wait: F) -> Option<F::Output> {
    hooks.enter_wait();
    let mut wait = std::pin::pin!(wait);
    let outcome = loop {
        if let Ok(out) = tokio::time::timeout(STOP_POLL, &mut wait).await {
            break Some(out);
        }
        if hooks.stop_requested() {
            break None;
        }
    };
    hooks.leave_wait();
    outcome
}

/// What a running run's shared cells say now, for [`Workload::live`].
pub struct LiveCells {
    /// Since the run started.
    pub elapsed_seconds: f64,
    pub tasks_done: u64,
    pub shared_counter: u64,
    pub own_counters: Vec<u64>,
}

/// A workload's own figures of a run: typed in its file, named only where JSON is written.
pub trait Metrics: std::fmt::Debug + Send + Sync {
    /// The figure that matters most, in a few words (`lost 12 of 4000000`), or None to let the
    /// report say whether the checksum held.
    fn headline(&self) -> Option<String> {
        None
    }
    /// The figures by their JSON names (docs/headless.md, "JSON contract").
    fn json(&self) -> serde_json::Map<String, serde_json::Value>;
    /// Why the result is wrong although every task ended (contention's lost updates), or None.
    fn wrong(&self) -> Option<Wrong> {
        None
    }
    /// The figure a comparison ranks runs by when wall time is not the workload's lesson
    /// (requests a second, PSS a worker), or None to rank by wall time.
    fn measure(&self) -> Option<Measure> {
        None
    }
}

/// What makes a run's result wrong, said briefly for a table cell and whole for a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wrong {
    /// At most 9 characters: `142M lost`.
    pub brief: String,
    /// `lost 142,224,382 of 288,000,000 updates`.
    pub whole: String,
}

/// A workload's own measure of a run, for comparing runs by what the workload is about.
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    /// The figure ranked: larger is better when `higher_is_better`, else smaller.
    pub value: f64,
    pub higher_is_better: bool,
    /// What winning means, as the sentence says it: `answered more requests a second`.
    pub wins_by: &'static str,
    /// The figure as a reader reads it: `17510 requests/s, p99 1.20 ms`.
    pub text: String,
}

impl Measure {
    /// True when `self` is the better of the two; ties are not better.
    #[must_use]
    pub fn beats(&self, other: &Self) -> bool {
        if self.higher_is_better {
            self.value > other.value
        } else {
            self.value < other.value
        }
    }

    /// True when the two are within 5 % of each other (or 0.02 apart, for figures near 0).
    #[must_use]
    pub fn about_the_same(&self, other: &Self) -> bool {
        let gap = (self.value - other.value).abs();
        gap <= 0.05 * self.value.abs().max(other.value.abs()) || gap < 0.02
    }
}

/// A finished run's [`Metrics`], shareable and comparable (by their JSON).
#[derive(Clone)]
pub struct MetricsOf(pub std::sync::Arc<dyn Metrics>);

impl MetricsOf {
    #[must_use]
    pub fn none() -> Self {
        Self(std::sync::Arc::new(NoMetrics))
    }
}

impl std::fmt::Debug for MetricsOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl PartialEq for MetricsOf {
    fn eq(&self, other: &Self) -> bool {
        self.0.json() == other.0.json()
    }
}

impl std::ops::Deref for MetricsOf {
    type Target = dyn Metrics;

    fn deref(&self) -> &Self::Target {
        self.0.as_ref()
    }
}

/// The figures of a workload that has none of its own.
#[derive(Debug)]
pub(crate) struct NoMetrics;

impl Metrics for NoMetrics {
    fn json(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::Map::new()
    }
}

/// A serializable struct's fields as a JSON object: how a workload's metrics name themselves.
#[must_use]
pub(crate) fn fields_of(figures: &impl serde::Serialize) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(figures) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    }
}

/// What a finished run left in the shared cells, for [`Workload::metrics`].
pub struct RunCells {
    pub shared_counter: u64,
    pub own_counters: Vec<u64>,
    pub tasks: u64,
    pub tasks_done: u64,
    /// Units done in tasks that were stopped half-way.
    pub partial_units: u64,
    pub wall_seconds: f64,
    /// What each worker measured of its own memory.
    pub rss_bytes: Vec<u64>,
    pub pss_bytes: Vec<u64>,
    /// Each worker's time outside tasks.
    pub idle_seconds: Vec<f64>,
    /// Workers that crashed or failed, and crashed workers replaced by `--respawn`.
    pub failed_workers: usize,
    pub replaced_workers: usize,
    /// True when the workers were processes.
    pub processes: bool,
    /// What crossed the workers' lines, both ways, and the time workers spent in exchanges.
    pub line_bytes: u64,
    pub line_seconds: f64,
    /// True when workers could write memory the coordinator made (threads and forked
    /// processes); false for spawned processes, which share only the board.
    pub inherited_memory: bool,
}
