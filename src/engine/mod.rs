//! The engine: turns a [`Plan`] into running workers, stops, pauses and reaps them, and hands
//! back a [`RunReport`]. It is the only code that creates, signals or reaps a worker.
//!
//! A [`Run`] never blocks its caller for long: [`Run::poll`] reaps what has ended and enforces
//! the shutdown deadlines, so the dashboard can call it every frame and `run` in a loop.

pub mod affinity;
pub mod gil;
mod host;
pub mod line;
mod outcome;
pub mod plan;
pub mod processes;
pub mod spawned;
pub mod threads;
pub mod timeline;
pub mod worker;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

pub use outcome::{CrashReason, WorkerOutcome};
pub use plan::{DrainPolicy, Model, Plan, PlanError, PlanRequest, Schedule, StartMethod};

use crate::board::{monotonic_ns, Board, BoardError, InjectedCrash, SlotState, StopLevel};
use crate::report::{RunOutcome, RunReport, WorkerReport};
use crate::units::ns_to_seconds;
use crate::workload::{ExchangeError, Line, RunCells, Workload};
use gil::InterpreterLock;
use line::End;
use threads::{spawn_worker, ThreadResult, ThreadWorker};
use timeline::{Timeline, TimelineReader};
use worker::{TaskSource, WorkerSpec};

/// How long a process has between SIGTERM and SIGKILL once the grace period is over.
const TERM_TO_KILL: Duration = Duration::from_millis(500);

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
    #[error(
        "opening the line to worker {index} failed: {source}; the {started} worker(s) already started were stopped and reaped"
    )]
    Line { index: usize, started: usize, source: std::io::Error },
}

/// Owns the board; starts runs one at a time.
pub struct Engine {
    board: Arc<Board>,
}

impl Engine {
    /// Creates the board. Call before any other thread exists where possible.
    pub fn new() -> Result<Self, LaunchError> {
        Ok(Self { board: Arc::new(Board::create()?) })
    }

    #[must_use]
    pub fn board(&self) -> &Arc<Board> {
        &self.board
    }

    /// Launches every worker of `plan`. On a failed launch the workers already started are
    /// stopped and reaped before the error returns.
    pub fn start(&self, plan: &Plan) -> Result<Run, LaunchError> {
        self.start_with_faults(plan, None)
    }

    /// As [`Engine::start`], but the launch of worker `fail_at` fails as if the OS refused it:
    /// the way tests reach the clean-up path, since root is exempt from RLIMIT_NPROC.
    pub fn start_with_faults(&self, plan: &Plan, fail_at: Option<usize>) -> Result<Run, LaunchError> {
        let workload: Arc<dyn Workload> = Arc::from(plan.workload.build(plan.size, plan.tasks, &plan.options));
        workload.prepare();
        let generation = self.board.begin_run(plan.workers, plan.tasks);
        let gil = match plan.model {
            Model::Processes => None,
            Model::Sequential | Model::Threads => plan.gil.map(|interval| Arc::new(InterpreterLock::new(interval))),
        };
        let started_ns = monotonic_ns();
        let mut run = Run {
            board: Arc::clone(&self.board),
            plan: plan.clone(),
            workload: Arc::clone(&workload),
            started_at: Instant::now(),
            started_ns,
            timeline: TimelineReader::new(started_ns, plan.workers),
            workers: Vec::with_capacity(plan.workers),
            stop: None,
            paused: false,
            group: None,
            finished_at: None,
            replaced: Vec::new(),
            coordinators: Vec::new(),
        };
        let source = |index| match plan.schedule {
            Schedule::Static => TaskSource::Static(plan.static_tasks(index)),
            Schedule::Dynamic => TaskSource::Dynamic { chunk: plan.chunk, first: 0..0 },
        };
        if plan.hosted {
            let host = host::fork_host(host::HostedGroup {
                board: &self.board,
                generation,
                workload: &workload,
                sources: (0..plan.workers).map(source).collect(),
                pinning: &plan.pinning,
                switch_interval: plan.gil,
                group: None,
            })
            .map_err(|source| LaunchError::Fork { index: 0, started: 0, source })?;
            run.group = Some(host);
            run.workers = (0..plan.workers).map(|_| Handle::Hosted(host)).collect();
            return Ok(run);
        }
        for index in 0..plan.workers {
            let tasks = source(index);
            let launched = if fail_at == Some(index) {
                Err(match plan.model {
                    Model::Processes => Launch::Fork(nix::Error::EAGAIN),
                    _ => Launch::Thread(std::io::Error::from_raw_os_error(libc::EAGAIN)),
                })
            } else {
                run.launch(index, generation, tasks, gil.as_ref())
            };
            if let Err(failure) = launched {
                let started = run.workers.len();
                run.abort();
                return Err(match failure {
                    Launch::Fork(source) => LaunchError::Fork { index, started, source },
                    Launch::Thread(source) => LaunchError::Thread { index, started, source },
                    Launch::Spawn(source) => LaunchError::Spawn { index, started, source },
                    Launch::Line(source) => LaunchError::Line { index, started, source },
                });
            }
        }
        Ok(run)
    }
}

enum Launch {
    Fork(nix::Error),
    Thread(std::io::Error),
    Spawn(std::io::Error),
    Line(std::io::Error),
}

/// One worker as the engine tracks it.
enum Handle {
    Thread(JoinHandle<ThreadResult>),
    Process(Pid),
    /// A thread of the group running in host process `Pid`.
    Hosted(Pid),
    Ended(Ending),
}

struct Ending {
    outcome: WorkerOutcome,
    /// From wait4, for processes.
    cpu_ns: Option<u64>,
    max_rss_bytes: Option<u64>,
}

/// Why the run is stopping and how far escalation has gone.
#[derive(Debug, Clone, Copy)]
struct Stopping {
    reason: StopReason,
    deadline: Instant,
    /// CLOCK_MONOTONIC when the grace period ran out and SIGTERM went to live processes: the
    /// clock of the slots, so it compares with the instant a worker left.
    terminated_ns: Option<u64>,
    killed: bool,
}

/// Who asked a run to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// `c` in the dashboard, or a failed launch.
    User,
    Signal(Signal),
}

/// Where a run is, for the front ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Running,
    Paused,
    /// Stopping; workers have until `remaining` runs out.
    Draining {
        remaining: Duration,
    },
    /// Every worker has ended; call [`Run::finish`].
    Ended,
}

/// A run in progress.
pub struct Run {
    board: Arc<Board>,
    plan: Plan,
    workload: Arc<dyn Workload>,
    started_at: Instant,
    started_ns: u64,
    /// What each worker did, drained from the board's rings at every poll.
    timeline: TimelineReader,
    workers: Vec<Handle>,
    stop: Option<Stopping>,
    paused: bool,
    group: Option<Pid>,
    finished_at: Option<Instant>,
    /// Workers that crashed and were replaced (--respawn): index and how they ended.
    replaced: Vec<(usize, WorkerOutcome)>,
    /// The coordinator's side of each worker's line, for workloads that talk.
    coordinators: Vec<Coordinator>,
}

/// A coordinator thread serving worker `index`'s line, and the flag that ends it.
struct Coordinator {
    index: usize,
    thread: JoinHandle<()>,
    quit: Arc<AtomicBool>,
}

impl Coordinator {
    /// Ends it: it notices within one slice of its wait.
    fn end(self) {
        self.quit.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

/// The coordinator's end of one line, as a workload's `serve` sees it.
struct CoordinatorLine {
    end: End,
    quit: Arc<AtomicBool>,
}

impl Line for CoordinatorLine {
    fn send(&mut self, message: &[u8]) -> Result<(), ExchangeError> {
        let quit = &self.quit;
        self.end.send(message, &mut || !quit.load(Ordering::Relaxed))
    }

    fn recv(&mut self, into: &mut Vec<u8>) -> Result<(), ExchangeError> {
        let quit = &self.quit;
        self.end.recv(into, &mut || !quit.load(Ordering::Relaxed))
    }
}

impl Run {
    fn launch(
        &mut self,
        index: usize,
        generation: u64,
        tasks: TaskSource,
        gil: Option<&Arc<InterpreterLock>>,
    ) -> Result<(), Launch> {
        let cpu = self.plan.pinning[index];
        let line = self.open_line(index)?;
        let handle = match self.plan.model {
            Model::Sequential | Model::Threads => Handle::Thread(
                spawn_worker(ThreadWorker {
                    index,
                    board: Arc::clone(&self.board),
                    generation,
                    workload: Arc::clone(&self.workload),
                    tasks,
                    cpu,
                    gil: gil.cloned(),
                    terminate: None,
                    line,
                })
                .map_err(Launch::Thread)?,
            ),
            Model::Processes => {
                let spec = WorkerSpec {
                    index,
                    board: &self.board,
                    generation,
                    workload: self.workload.as_ref(),
                    tasks,
                    cpu,
                    gil: None,
                    terminate: None,
                };
                let pid = self.start_process(&spec, line)?;
                self.group.get_or_insert(pid);
                Handle::Process(pid)
            }
        };
        self.workers.push(handle);
        Ok(())
    }

    /// Forks or spawns one worker process, as the plan says.
    fn start_process(&self, spec: &WorkerSpec<'_>, line: Option<End>) -> Result<Pid, Launch> {
        match self.plan.start {
            StartMethod::Fork => processes::fork_worker(spec, self.group, self.plan.gil, line).map_err(Launch::Fork),
            StartMethod::Spawn => {
                let work = spawned::SpawnedWork {
                    workload: self.plan.workload,
                    size: self.plan.size,
                    options: &self.plan.options,
                    switch_interval: self.plan.gil,
                };
                spawned::spawn_worker(spec, self.group, &work, line).map_err(Launch::Spawn)
            }
        }
    }

    /// For a workload that talks: makes worker `index`'s line, starts the coordinator's side on
    /// a thread of its own, and returns the worker's end.
    fn open_line(&mut self, index: usize) -> Result<Option<End>, Launch> {
        let Some(transport) = self.workload.line() else {
            return Ok(None);
        };
        // A replacement's predecessor may still be served: a shared-memory mailbox has no
        // hang-up to end its coordinator, which would read the new worker's messages too.
        if let Some(at) = self.coordinators.iter().position(|coordinator| coordinator.index == index) {
            self.coordinators.swap_remove(at).end();
        }
        let (worker_end, coordinator_end) = line::pair(transport, &self.board, index).map_err(Launch::Line)?;
        let quit = Arc::new(AtomicBool::new(false));
        let mut line = CoordinatorLine { end: coordinator_end, quit: Arc::clone(&quit) };
        let workload = Arc::clone(&self.workload);
        let thread = std::thread::Builder::new()
            .name(format!("coordinator-{index}"))
            .spawn(move || workload.serve(index, &mut line))
            .map_err(Launch::Line)?;
        self.coordinators.push(Coordinator { index, thread, quit });
        Ok(Some(worker_end))
    }

    /// Tells every coordinator the run is over and waits for them.
    fn end_coordinators(&mut self) {
        for coordinator in &self.coordinators {
            coordinator.quit.store(true, Ordering::Relaxed);
        }
        for coordinator in self.coordinators.drain(..) {
            coordinator.end();
        }
    }

    #[must_use]
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    #[must_use]
    pub fn board(&self) -> &Board {
        &self.board
    }

    /// What every worker has done so far, as of the latest [`Run::poll`].
    #[must_use]
    pub fn timeline(&self) -> &Timeline {
        self.timeline.timeline()
    }

    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.finished_at.unwrap_or_else(Instant::now).duration_since(self.started_at)
    }

    /// Pids of the worker processes still alive (not yet reaped).
    #[must_use]
    pub fn live_pids(&self) -> Vec<Pid> {
        let mut pids: Vec<Pid> = self
            .workers
            .iter()
            .filter_map(|handle| match handle {
                Handle::Process(pid) | Handle::Hosted(pid) => Some(*pid),
                _ => None,
            })
            .collect();
        pids.dedup();
        pids
    }

    /// The outcome of each worker that has ended, by index.
    #[must_use]
    pub fn outcomes(&self) -> Vec<Option<WorkerOutcome>> {
        self.workers
            .iter()
            .map(|handle| match handle {
                Handle::Ended(ending) => Some(ending.outcome.clone()),
                _ => None,
            })
            .collect()
    }

    /// The run's process group, for processes.
    #[must_use]
    pub fn process_group(&self) -> Option<Pid> {
        self.group
    }

    /// Tasks completed so far across workers.
    #[must_use]
    pub fn tasks_done(&self) -> u64 {
        self.board.slots()[..self.plan.workers].iter().map(|slot| slot.tasks_done.load(Ordering::Relaxed)).sum()
    }

    #[must_use]
    pub fn phase(&self) -> Phase {
        if self.workers.iter().all(|handle| matches!(handle, Handle::Ended(_))) {
            Phase::Ended
        } else if let Some(stop) = &self.stop {
            Phase::Draining { remaining: stop.deadline.saturating_duration_since(Instant::now()) }
        } else if self.paused {
            Phase::Paused
        } else {
            Phase::Running
        }
    }

    /// Who asked this run to stop, if anybody did.
    #[must_use]
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.stop.map(|stop| stop.reason)
    }

    /// Pauses or resumes: processes with SIGSTOP/SIGCONT, threads through the board's flag.
    pub fn set_paused(&mut self, paused: bool) {
        if self.stop.is_some() || self.paused == paused {
            return;
        }
        self.paused = paused;
        self.board.set_paused(paused);
        let signal = if paused { Signal::SIGSTOP } else { Signal::SIGCONT };
        for pid in self.live_pids() {
            processes::signal(pid, signal);
        }
    }

    #[must_use]
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Asks running worker `index` to crash at its next chunk boundary: a panic in a thread
    /// (caught and reported), a real SIGSEGV in a process (only that process dies). Returns
    /// false when there is no such running worker.
    pub fn inject_crash(&mut self, index: usize) -> bool {
        let running = match self.workers.get(index) {
            Some(Handle::Thread(thread)) => !thread.is_finished(),
            Some(Handle::Process(_) | Handle::Hosted(_)) => true,
            _ => false,
        };
        if running {
            let crash = match self.plan.model {
                Model::Processes => InjectedCrash::Segfault,
                Model::Sequential | Model::Threads => InjectedCrash::Panic,
            };
            self.board.slot(index).inject.store(crash as u32, Ordering::Relaxed);
        }
        running
    }

    /// Stop handing out tasks and raise the stop flag; the grace period starts now. A second
    /// request escalates at once.
    pub fn request_stop(&mut self, reason: StopReason) {
        if self.stop.is_some() {
            self.escalate();
            return;
        }
        let level = match self.plan.drain {
            DrainPolicy::Chunk => StopLevel::AfterChunk,
            DrainPolicy::Task => StopLevel::AfterTask,
        };
        self.board.request_stop(level);
        self.stop =
            Some(Stopping { reason, deadline: Instant::now() + self.plan.grace, terminated_ns: None, killed: false });
        if self.paused {
            self.paused = false;
            self.board.set_paused(false);
            for pid in self.live_pids() {
                processes::signal(pid, Signal::SIGCONT);
            }
        }
    }

    /// Ends everything now: SIGKILL to live processes, live threads abandoned.
    pub fn escalate(&mut self) {
        let stop = self.stop.get_or_insert(Stopping {
            reason: StopReason::User,
            deadline: Instant::now(),
            terminated_ns: None,
            killed: false,
        });
        stop.deadline = Instant::now();
        stop.killed = true;
        // Kill first, then raise the flag: a process that saw the flag before its SIGKILL could
        // still leave at a chunk boundary and be reported as cancelled, not killed.
        for pid in self.live_pids() {
            processes::signal(pid, Signal::SIGKILL);
            processes::signal(pid, Signal::SIGCONT);
        }
        self.board.request_stop(StopLevel::AfterChunk);
        self.abandon_live_threads();
        self.reap(true);
    }

    fn abandon_live_threads(&mut self) {
        for handle in &mut self.workers {
            if matches!(handle, Handle::Thread(_)) {
                // The thread keeps running detached; its slot generation goes stale at the next
                // run, which makes it stop at its next chunk boundary.
                *handle =
                    Handle::Ended(Ending { outcome: WorkerOutcome::Abandoned, cpu_ns: None, max_rss_bytes: None });
            }
        }
    }

    /// Reaps what has ended and enforces the grace period. Never blocks. Returns the phase.
    pub fn poll(&mut self) -> Phase {
        self.reap(false);
        self.timeline.drain(&self.board, monotonic_ns());
        if let Some(stop) = self.stop {
            let now_ns = monotonic_ns();
            if Instant::now() >= stop.deadline && stop.terminated_ns.is_none() {
                for pid in self.live_pids() {
                    processes::signal(pid, Signal::SIGTERM);
                }
                self.abandon_live_threads();
                self.stop = Some(Stopping { terminated_ns: Some(now_ns), ..stop });
            } else if let Some(terminated) = stop.terminated_ns {
                if !stop.killed && now_ns >= terminated.saturating_add(TERM_TO_KILL.as_nanos() as u64) {
                    for pid in self.live_pids() {
                        processes::signal(pid, Signal::SIGKILL);
                    }
                    self.stop = Some(Stopping { killed: true, ..stop });
                }
            }
        }
        let phase = self.phase();
        if phase == Phase::Ended && self.finished_at.is_none() {
            self.finished_at = Some(Instant::now());
        }
        phase
    }

    fn reap(&mut self, blocking: bool) {
        let terminated_ns = self.stop.and_then(|stop| stop.terminated_ns);
        let mut host_status = None;
        let mut respawn = Vec::new();
        for (index, handle) in self.workers.iter_mut().enumerate() {
            let ending = match handle {
                Handle::Ended(_) => continue,
                Handle::Thread(thread) => {
                    if !thread.is_finished() && !blocking {
                        continue;
                    }
                    let placeholder = Ending { outcome: WorkerOutcome::Abandoned, cpu_ns: None, max_rss_bytes: None };
                    let Handle::Thread(thread) = std::mem::replace(handle, Handle::Ended(placeholder)) else {
                        continue;
                    };
                    let result = thread.join().unwrap_or_else(|payload| Err(threads::panic_message(payload.as_ref())));
                    Ending { outcome: WorkerOutcome::from_thread(result), cpu_ns: None, max_rss_bytes: None }
                }
                Handle::Hosted(host) => {
                    if host_status.is_none() {
                        let waited =
                            if blocking { processes::reap_blocking(*host) } else { processes::try_reap(*host) };
                        host_status = match waited {
                            Ok(None) => continue,
                            Ok(Some(reaped)) => Some(reaped.status),
                            Err(_) => Some(-1),
                        };
                    }
                    let status = host_status.unwrap_or(-1);
                    let outcome = match self.board.slot(index).state() {
                        SlotState::Done => WorkerOutcome::Done,
                        SlotState::Cancelled => WorkerOutcome::Cancelled,
                        SlotState::Panicked => {
                            WorkerOutcome::Crashed(CrashReason::Panic("panicked in its thread".into()))
                        }
                        other => WorkerOutcome::from_wait_status(status, other),
                    };
                    Ending { outcome, cpu_ns: None, max_rss_bytes: None }
                }
                Handle::Process(pid) => {
                    let waited = if blocking { processes::reap_blocking(*pid) } else { processes::try_reap(*pid) };
                    match waited {
                        Ok(None) => continue,
                        Ok(Some(reaped)) => Ending {
                            outcome: past_grace(
                                WorkerOutcome::from_wait_status(reaped.status, self.board.slot(index).state()),
                                self.board.slot(index).finished_ns.load(Ordering::Relaxed),
                                terminated_ns,
                            ),
                            cpu_ns: Some(reaped.cpu_ns),
                            max_rss_bytes: Some(reaped.max_rss_bytes),
                        },
                        // ECHILD: someone else reaped it; nothing more can be known.
                        Err(_) => Ending { outcome: WorkerOutcome::Failed(-1), cpu_ns: None, max_rss_bytes: None },
                    }
                }
            };
            if self.plan.respawn && self.stop.is_none() && ending.outcome.is_failure() {
                respawn.push((index, ending.outcome.clone()));
            }
            *handle = Handle::Ended(ending);
            self.timeline.close(&self.board, index, monotonic_ns());
        }
        for (index, outcome) in respawn {
            self.respawn(index, outcome);
        }
    }

    /// Forks a replacement for crashed worker `index` in the same slot; it first redoes the
    /// task in hand and the rest of the block it had taken.
    fn respawn(&mut self, index: usize, outcome: WorkerOutcome) {
        let Ok(line) = self.open_line(index) else {
            return;
        };
        let slot = self.board.slot(index);
        let current = slot.current_task.load(Ordering::Relaxed);
        let block_end = slot.block_end.load(Ordering::Relaxed);
        let first = if current > 0 { current - 1..block_end.max(current) } else { 0..0 };
        slot.current_task.store(0, Ordering::Relaxed);
        slot.set_state(crate::board::SlotState::Pending);
        self.timeline.reopen(index);
        let spec = WorkerSpec {
            index,
            board: &self.board,
            generation: self.board.header().generation.load(Ordering::Relaxed),
            workload: self.workload.as_ref(),
            tasks: TaskSource::Dynamic { chunk: self.plan.chunk, first },
            cpu: self.plan.pinning[index],
            gil: None,
            terminate: None,
        };
        if let Ok(pid) = self.start_process(&spec, line) {
            self.workers[index] = Handle::Process(pid);
            self.replaced.push((index, outcome));
        }
    }

    fn reap_processes_blocking(&mut self) {
        for handle in &mut self.workers {
            if let Handle::Process(pid) | Handle::Hosted(pid) = handle {
                let _ = processes::reap_blocking(*pid);
                *handle = Handle::Ended(Ending {
                    outcome: WorkerOutcome::Killed(Signal::SIGKILL),
                    cpu_ns: None,
                    max_rss_bytes: None,
                });
            }
        }
    }

    /// Used when a launch fails: stop at once and reap everything started so far.
    fn abort(&mut self) {
        self.request_stop(StopReason::User);
        for pid in self.live_pids() {
            processes::signal(pid, Signal::SIGTERM);
        }
        let deadline = Instant::now() + TERM_TO_KILL;
        while self.phase() != Phase::Ended && Instant::now() < deadline {
            self.reap(false);
            std::thread::sleep(Duration::from_millis(2));
        }
        for pid in self.live_pids() {
            processes::signal(pid, Signal::SIGKILL);
        }
        self.reap(true);
    }

    /// Waits (polling every `tick`) until every worker has ended. `on_tick` runs between
    /// polls and may ask the run to stop; it is how `run` prints progress and reacts to signals.
    pub fn wait(&mut self, tick: Duration, mut on_tick: impl FnMut(&mut Run)) {
        while self.poll() != Phase::Ended {
            on_tick(self);
            std::thread::sleep(tick);
        }
    }

    /// The report of an ended run. Call after [`Phase::Ended`]; a still-running worker is
    /// reported as abandoned.
    #[must_use]
    pub fn finish(mut self) -> RunReport {
        if self.phase() != Phase::Ended {
            self.escalate();
        }
        // Every worker has ended, so every message it sent was answered: what the coordinators
        // gathered is complete.
        self.end_coordinators();
        let wall = self.elapsed();
        let timeline =
            std::mem::replace(&mut self.timeline, TimelineReader::new(0, 0)).finish(&self.board, monotonic_ns());
        let mut workers = Vec::with_capacity(self.workers.len());
        let mut checksum = 0u64;
        let mut children_rss = 0u64;
        for (index, handle) in self.workers.iter().enumerate() {
            let slot = self.board.slot(index);
            checksum = checksum.wrapping_add(slot.digest.load(Ordering::Relaxed));
            let (outcome, cpu_ns) = match handle {
                Handle::Ended(ending) => {
                    children_rss += ending.max_rss_bytes.unwrap_or(0);
                    (ending.outcome.clone(), ending.cpu_ns.unwrap_or_else(|| slot.cpu_ns.load(Ordering::Relaxed)))
                }
                _ => (WorkerOutcome::Abandoned, slot.cpu_ns.load(Ordering::Relaxed)),
            };
            let requested = slot.requested_ns.load(Ordering::Relaxed);
            let started = slot.started_ns.load(Ordering::Relaxed);
            workers.push(WorkerReport {
                index,
                pid: slot.pid.load(Ordering::Relaxed),
                tid: slot.tid.load(Ordering::Relaxed),
                outcome,
                tasks_done: slot.tasks_done.load(Ordering::Relaxed),
                cpu_seconds: ns_to_seconds(cpu_ns),
                cores: slot.cores_seen(),
                lock_wait_seconds: ns_to_seconds(slot.lock_wait_ns.load(Ordering::Relaxed)),
                startup_seconds: if started >= requested && requested > 0 {
                    ns_to_seconds(started - requested)
                } else {
                    0.0
                },
                busy_seconds: ns_to_seconds(slot.busy_ns.load(Ordering::Relaxed)),
                idle_seconds: (wall.as_secs_f64() - ns_to_seconds(slot.busy_ns.load(Ordering::Relaxed))).max(0.0),
                rss_bytes: slot.rss_bytes.load(Ordering::Relaxed),
                pss_bytes: slot.pss_bytes.load(Ordering::Relaxed),
            });
        }
        let tasks_done: u64 = workers.iter().map(|w| w.tasks_done).sum();
        let expected_checksum =
            if tasks_done == self.plan.tasks { self.workload.expected_checksum(self.plan.tasks) } else { None };
        let wrong_result = expected_checksum.is_some_and(|expected| expected != checksum);
        let outcome = if let Some(stop) = self.stop {
            match stop.reason {
                StopReason::Signal(signal) => RunOutcome::Cancelled(Some(signal)),
                StopReason::User => RunOutcome::Cancelled(None),
            }
        } else if wrong_result || workers.iter().any(|w| !matches!(w.outcome, WorkerOutcome::Done)) {
            // A result that does not match the sequential one fails the run, whatever the workers say.
            RunOutcome::Failed
        } else {
            RunOutcome::Finished
        };
        let metrics = self.workload.metrics(&RunCells {
            shared_counter: self.board.header().counter.load(Ordering::Relaxed),
            own_counters: (0..self.workers.len())
                .map(|index| self.board.slot(index).own_counter.load(Ordering::Relaxed))
                .collect(),
            tasks: self.plan.tasks,
            tasks_done,
            partial_units: (0..self.workers.len())
                .map(|index| self.board.slot(index))
                .filter(|slot| slot.current_task.load(Ordering::Relaxed) != 0)
                .map(|slot| slot.units_done.load(Ordering::Relaxed))
                .sum(),
            wall_seconds: wall.as_secs_f64(),
            rss_bytes: workers.iter().map(|w| w.rss_bytes).collect(),
            pss_bytes: workers.iter().map(|w| w.pss_bytes).collect(),
            processes: self.plan.model == Model::Processes,
            line_bytes: (0..self.workers.len())
                .map(|index| self.board.slot(index).line_bytes.load(Ordering::Relaxed))
                .sum(),
            line_seconds: (0..self.workers.len())
                .map(|index| ns_to_seconds(self.board.slot(index).line_ns.load(Ordering::Relaxed)))
                .sum(),
            inherited_memory: self.plan.model != Model::Processes || self.plan.start == StartMethod::Fork,
        });
        let mut metrics = metrics;
        if self.plan.respawn {
            metrics.push(("replaced_workers", serde_json::json!(self.replaced.len())));
            let replaced: Vec<_> = self
                .replaced
                .iter()
                .map(|(index, outcome)| serde_json::json!({"index": index, "outcome": outcome.to_string()}))
                .collect();
            metrics.push(("replaced", serde_json::json!(replaced)));
        }
        RunReport {
            plan: self.plan.clone(),
            outcome,
            wall_seconds: wall.as_secs_f64(),
            cpu_seconds: workers.iter().map(|w| w.cpu_seconds).sum(),
            peak_rss_bytes: own_peak_rss_bytes() + children_rss,
            tasks_done,
            checksum,
            expected_checksum,
            started_ns: self.started_ns,
            workers,
            metrics,
            timeline,
        }
    }
}

impl Drop for Run {
    /// A run dropped before it ended (an error path, a panic) still leaves no child behind,
    /// and its threads are told to stop.
    fn drop(&mut self) {
        if self.workers.iter().any(|handle| !matches!(handle, Handle::Ended(_))) {
            self.board.request_stop(StopLevel::AfterChunk);
            for pid in self.live_pids() {
                processes::signal(pid, Signal::SIGKILL);
                processes::signal(pid, Signal::SIGCONT);
            }
            self.reap_processes_blocking();
        }
        self.end_coordinators();
    }
}

/// A worker process that stopped only once the grace period was over and the engine's SIGTERM
/// had gone out did not drain in time: it was terminated, whatever its exit status says.
fn past_grace(outcome: WorkerOutcome, finished_ns: u64, terminated_ns: Option<u64>) -> WorkerOutcome {
    match (outcome, terminated_ns) {
        (WorkerOutcome::Cancelled, Some(sent)) if finished_ns >= sent => WorkerOutcome::Killed(Signal::SIGTERM),
        (outcome, _) => outcome,
    }
}

/// The peak resident set of this process so far.
fn own_peak_rss_bytes() -> u64 {
    nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF)
        .map_or(0, |usage| u64::try_from(usage.max_rss()).unwrap_or(0) * 1024)
}
