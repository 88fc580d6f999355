//! The parent's handle on one run: the [`Run`] handle itself (here: where a run is, pausing,
//! stopping, crashing a worker on request, polling, reaping, building the report at the end,
//! and leaving no child behind when dropped), and what it is made of. It carries out what
//! [`shutdown::due`] says and reads the clock for it; it starts workers only through
//! `workers/`'s launcher and never runs worker code; presenting the result is `report/`'s.
//!
//! - `launching.rs`: the launching phase: preparation, then workers started a slice per poll.
//! - `preparer.rs`: the one thread that runs every run's preparation.
//! - `launch.rs`: starting one worker, replacing a crashed one, cleaning up a failed launch.
//! - `handle.rs`: one worker as the run tracks it, and reaping it into its ending.
//! - `outcome.rs`: how a worker ended, read from its wait status and its slot.
//! - `shutdown.rs`: the shutdown deadlines as a pure function of the time.
//! - `coordinator.rs`: the program's side of each worker's line, for workloads that talk, and
//!   a workload's service beside the workers (net's HTTP server), stopped after the last one.
//! - `observer/`: what the kernel saw of each worker's thread: its context switches.
//! - `timeline/`: the workers' rings and switches read into segments.
//! - `result.rs`: [`RunReport`] and building it from the board.

mod coordinator;
mod handle;
mod launch;
mod launching;
pub(crate) mod observer;
mod outcome;
pub(super) mod preparer;
mod result;
mod shutdown;
pub mod timeline;

pub use observer::{ObserverSource, Observing};
pub use outcome::{CrashReason, WorkerOutcome};
pub use result::{RunOutcome, RunReport, WorkerReport};
pub use shutdown::StopReason;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::plan::{DrainPolicy, Model, Plan};
use super::workers::launcher::Launcher;
use super::workers::processes;
use super::workers::python::PythonHost;
use crate::board::{monotonic_ns, Board, InjectedCrash, StopLevel};
use crate::workload::{LiveCells, Workload};
use coordinator::Coordinators;
use handle::{Handle, Reaping};
use launching::Launching;
use observer::Observer;
use outcome::Ending;
use result::{build_report, EndedRun, MemoryMark};
use shutdown::{Due, Stopping};
use timeline::{Timeline, TimelineReader};

/// Where a run is, for the front ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The workload is being prepared (its data made); no worker has started yet.
    Preparing,
    /// Workers are being started; `started` of them so far.
    Launching {
        started: usize,
    },
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
    launcher: Arc<dyn Launcher>,
    started_at: Instant,
    started_ns: u64,
    /// What each worker did, drained from the board's rings at every poll.
    timeline: TimelineReader,
    /// What the kernel saw of each worker's thread, merged into the timeline at every poll.
    observer: Observer,
    workers: Vec<Handle>,
    stop: Option<Stopping>,
    paused: bool,
    group: Option<Pid>,
    finished_at: Option<Instant>,
    /// Workers that crashed and were replaced (--respawn): index and how they ended.
    replaced: Vec<(usize, WorkerOutcome)>,
    /// Crashed workers whose replacement could not start: index and why.
    respawn_failures: Vec<(usize, String)>,
    /// The coordinator's side of each worker's line, for workloads that talk.
    coordinators: Coordinators,
    /// This process's memory at the start, to report what the run added.
    memory: MemoryMark,
    /// Set while the run is prepared or its workers started; None once all were started or
    /// the launch was cut short.
    launching: Option<Launching>,
    /// Why the launch failed, until the front end takes it.
    launch_error: Option<crate::engine::LaunchError>,
    /// The Python runtime's host process and its directory, under `--runtime python`.
    python: Option<PythonHost>,
}

impl Run {
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
        let mut pids: Vec<Pid> = self.workers.iter().filter_map(Handle::live_pid).collect();
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

    /// Tasks completed so far across workers.
    #[must_use]
    pub fn tasks_done(&self) -> u64 {
        self.board.slots()[..self.plan.workers].iter().map(|slot| slot.tasks_done.load(Ordering::Relaxed)).sum()
    }

    /// The workload's own live figures (`throttle`'s rate against its limit), read from the
    /// board now; None for workloads that have none.
    #[must_use]
    pub fn live_figures(&self) -> Option<String> {
        let slots = &self.board.slots()[..self.plan.workers];
        self.workload.live(&LiveCells {
            elapsed_seconds: self.elapsed().as_secs_f64(),
            tasks_done: self.tasks_done(),
            shared_counter: self.board.header().shared_counter.load(Ordering::Relaxed),
            own_counters: slots.iter().map(|slot| slot.own_counter.load(Ordering::Relaxed)).collect(),
        })
    }

    #[must_use]
    pub fn phase(&self) -> Phase {
        if self.launching.is_none() && self.workers.iter().all(Handle::is_ended) {
            Phase::Ended
        } else if let Some(stop) = &self.stop {
            Phase::Draining { remaining: stop.remaining(monotonic_ns()) }
        } else if self.paused {
            Phase::Paused
        } else {
            match &self.launching {
                Some(Launching::Preparing { .. }) => Phase::Preparing,
                Some(Launching::Starting { next, .. }) => Phase::Launching { started: *next },
                None => Phase::Running,
            }
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
        // Python workers pause at their next checkpoint, from the board's flag, and say so in
        // their rings; a stopped host could not.
        if self.python.is_none() {
            self.stop_processes(paused);
        }
    }

    /// Stops (SIGSTOP) or continues (SIGCONT) every live process, and tells the timeline: a
    /// process cannot record its own pause.
    fn stop_processes(&mut self, stopped: bool) {
        if !self.live_pids().is_empty() {
            self.timeline.note_stopped(monotonic_ns(), stopped);
        }
        self.signal_live(if stopped { Signal::SIGSTOP } else { Signal::SIGCONT });
    }

    /// Asks running worker `index` to crash at its next chunk boundary: a panic in a thread
    /// (caught and reported), a real SIGSEGV in a process (only that process dies). Returns
    /// false when there is no such running worker.
    pub fn inject_crash(&mut self, index: usize) -> bool {
        let running = match self.workers.get(index) {
            Some(Handle::Thread(thread)) => !thread.is_finished(),
            Some(Handle::OnLoop(shared)) => !shared.is_finished(),
            Some(Handle::Process(_) | Handle::Hosted(_)) => true,
            _ => false,
        };
        if running {
            let crash = match self.plan.model {
                Model::Processes => InjectedCrash::Segfault,
                Model::Sequential | Model::Threads | Model::Async => InjectedCrash::Panic,
            };
            self.board.slot(index).inject.store(crash as u32, Ordering::Relaxed);
        }
        running
    }

    /// Stop handing out tasks and raise the stop flag; the grace period starts now. A launch
    /// in progress starts no more workers. A second request escalates at once.
    pub fn request_stop(&mut self, reason: StopReason) {
        if self.stop.is_some() {
            self.escalate();
            return;
        }
        self.cut_launch(false);
        let level = match self.plan.drain {
            DrainPolicy::Chunk => StopLevel::AfterChunk,
            DrainPolicy::Task => StopLevel::AfterTask,
        };
        self.board.request_stop(level);
        self.stop = Some(Stopping::requested(reason, monotonic_ns(), self.plan.grace));
        if self.paused {
            self.paused = false;
            self.board.set_paused(false);
            self.stop_processes(false);
        }
    }

    /// Ends everything now: SIGKILL to live processes, live threads abandoned.
    pub fn escalate(&mut self) {
        self.cut_launch(true);
        self.stop = Some(Stopping::escalated(self.stop, monotonic_ns()));
        // Kill first, then raise the flag: a process that saw the flag before its SIGKILL could
        // still leave at a chunk boundary and be reported as cancelled, not killed.
        self.kill_live();
        self.board.request_stop(StopLevel::AfterChunk);
        self.abandon_live_threads();
        self.reap(true);
    }

    /// Starts the next slice of workers while launching, reaps what has ended and enforces the
    /// grace period. Never blocks for long. Returns the phase.
    pub fn poll(&mut self) -> Phase {
        self.advance_launch();
        self.reap(false);
        // The rings before the switches: a state change read late then lands after the
        // switches, and a worker is never shown running while the kernel had it off its CPU.
        self.timeline.read_rings(&self.board);
        let now_ns = monotonic_ns();
        self.observer.poll(&self.board, now_ns);
        self.timeline.merge(&self.board, self.observer.pending_mut(), now_ns);
        if let Some(stop) = self.stop {
            let now_ns = monotonic_ns();
            let due = shutdown::due(&stop, now_ns);
            match due {
                Due::Nothing => {}
                Due::TerminateProcessesAndAbandonThreads => {
                    self.signal_live(Signal::SIGTERM);
                    self.abandon_live_threads();
                }
                Due::KillProcesses => self.kill_live(),
            }
            self.stop = Some(stop.after(due, now_ns));
        }
        let phase = self.phase();
        if phase == Phase::Ended && self.finished_at.is_none() {
            self.finished_at = Some(Instant::now());
        }
        phase
    }

    /// Waits (polling every `tick`, and without a pause while workers are being started) until
    /// every worker has ended. `on_tick` runs between polls and may ask the run to stop; it is
    /// how `run` prints progress and reacts to signals.
    pub fn wait(&mut self, tick: Duration, mut on_tick: impl FnMut(&mut Run)) {
        loop {
            let phase = self.poll();
            if phase == Phase::Ended {
                break;
            }
            on_tick(self);
            if !matches!(phase, Phase::Launching { .. }) {
                std::thread::sleep(tick);
            }
        }
    }

    /// The report of an ended run. Call after [`Phase::Ended`]; a still-running worker is
    /// reported as abandoned.
    #[must_use]
    pub fn finish(mut self) -> RunReport {
        if self.phase() != Phase::Ended {
            self.escalate();
        }
        if self.python.is_some() {
            self.skip_interpreter_start();
        }
        // Every worker has ended, so every message it sent was answered: what the coordinators
        // gathered is complete.
        self.coordinators.end_all();
        self.observer.close_all();
        let timeline = std::mem::replace(&mut self.timeline, TimelineReader::new(0, 0)).finish(
            &self.board,
            self.observer.pending_mut(),
            monotonic_ns(),
        );
        let mut report = build_report(&EndedRun {
            board: &self.board,
            plan: &self.plan,
            workload: self.workload.as_ref(),
            wall: self.elapsed(),
            started_ns: self.started_ns,
            stop_reason: self.stop_reason(),
            endings: self
                .workers
                .iter()
                .map(|handle| match handle {
                    Handle::Ended(ending) => Some(ending),
                    _ => None,
                })
                .collect(),
            replaced: &self.replaced,
            respawn_failures: &self.respawn_failures,
            memory: &self.memory,
        });
        report.timeline = timeline;
        report.add_waiting_for_cpu(&self.observer);
        if let Some(host) = &self.python {
            for worker in &mut report.workers {
                worker.traceback = host.traceback(worker.index);
            }
        }
        report
    }

    /// A Python run's clock starts when the runner asks for its first worker, as a native
    /// run's starts with its first worker: the interpreter's own start-up is not the workers'.
    fn skip_interpreter_start(&mut self) {
        let first = (0..self.plan.workers)
            .map(|index| self.board.slot(index).requested_ns.load(Ordering::Relaxed))
            .filter(|ns| *ns > self.started_ns)
            .min();
        if let Some(first) = first {
            let lead = Duration::from_nanos(first - self.started_ns);
            if self.started_at + lead <= self.finished_at.unwrap_or_else(Instant::now) {
                self.started_at += lead;
                self.started_ns = first;
            }
        }
    }

    fn signal_live(&self, signal: Signal) {
        for pid in self.live_pids() {
            processes::signal(pid, signal);
        }
    }

    /// SIGKILL to every live process, and SIGCONT so that a stopped (paused) one dies now. A
    /// Python host takes its whole process group along: its worker processes, a forkserver, a
    /// resource tracker, which the engine does not reap (they are the host's children).
    fn kill_live(&self) {
        if let Some(host) = self.python.as_ref().filter(|host| self.live_pids().contains(&host.pid)) {
            let group = Pid::from_raw(-host.pid.as_raw());
            processes::signal(group, Signal::SIGKILL);
            processes::signal(group, Signal::SIGCONT);
        }
        for pid in self.live_pids() {
            processes::signal(pid, Signal::SIGKILL);
            processes::signal(pid, Signal::SIGCONT);
        }
    }

    fn abandon_live_threads(&mut self) {
        for handle in &mut self.workers {
            if matches!(handle, Handle::Thread(_) | Handle::OnLoop(_)) {
                // The thread keeps running detached; its slot generation goes stale at the next
                // run, which makes it stop at its next chunk boundary.
                *handle = Handle::Ended(Ending::of(WorkerOutcome::Abandoned));
            }
        }
    }

    /// Turns every worker that has ended (every worker, when `blocking`) into its [`Ending`],
    /// and replaces the failed ones when the plan says so.
    fn reap(&mut self, blocking: bool) {
        let mut reaping = Reaping {
            board: &self.board,
            blocking,
            terminated_ns: self.stop.and_then(|stop| stop.terminated_ns),
            host_status: None,
        };
        let mut respawn = Vec::new();
        for (index, handle) in self.workers.iter_mut().enumerate() {
            let Some(mut ending) = handle.reap(index, &mut reaping) else {
                continue;
            };
            // Read now, before a replacement can take the slot. A Python host that failed before
            // its workers left its reason on its standard error.
            let note = self.board.slot(index).failure.read().or_else(|| {
                let host = self.python.as_ref().filter(|_| ending.outcome.is_failure())?;
                host.last_words()
            });
            ending.outcome = ending.outcome.with_failure_note(note);
            // Before a stop the engine signals no worker, so one killed then was killed from
            // outside (the OOM killer, kill -9): replaced like a crashed one.
            let lost = ending.outcome.is_failure() || matches!(ending.outcome, WorkerOutcome::Killed(_));
            if self.plan.respawn && self.stop.is_none() && lost {
                respawn.push((index, ending.outcome.clone()));
            }
            *handle = Handle::Ended(ending);
            // A worker that died holding permits of the board's semaphore gives them back now,
            // or the others would wait for them until the run is stopped.
            self.board.header().limits.give_back_held(&self.board.slot(index).permits_held);
            self.observer.close(index);
            self.timeline.close(&self.board, self.observer.pending_mut(), index, monotonic_ns());
        }
        for (index, outcome) in respawn {
            self.respawn(index, outcome);
        }
    }
}

impl Drop for Run {
    /// A run dropped before it ended (an error path, a panic) still leaves no child behind,
    /// and its threads are told to stop.
    fn drop(&mut self) {
        self.cut_launch(true);
        if !self.workers.iter().all(Handle::is_ended) {
            self.board.request_stop(StopLevel::AfterChunk);
            self.kill_live();
            for handle in &mut self.workers {
                if let Handle::Process(pid) | Handle::Hosted(pid) = handle {
                    let _ = processes::reap_blocking(*pid);
                    *handle = Handle::Ended(Ending::of(WorkerOutcome::Killed(Signal::SIGKILL)));
                }
            }
        }
        self.coordinators.end_all();
    }
}
