//! The hooks a worker lends its tasks: progress stored into the board's slot, stop and pause
//! obeyed, the interpreter lock handed over when asked, and every change of what the worker
//! does recorded in its slot's ring (idle, running, lock wait, blocked, paused, draining, end,
//! and each move to another CPU). Only real changes are recorded: an uncontended lock or an
//! unchanged CPU costs nothing. The worker loop (`worker.rs`) and the event loop's tasks
//! (`event_loop.rs`) both write the board through these.
//!
//! Code here may run in a forked child: it must not print, log, take a lock another thread may
//! hold (the interpreter lock is the child's own), or touch a channel.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::gil::InterpreterLock;
use super::line::End;
use crate::board::{monotonic_ns, thread_cpu_ns, Activity, Header, InjectedCrash, Slot, SlotState, StopLevel};
use crate::workload::task::Cells;
use crate::workload::{ExchangeError, Flow, Hooks};

/// The board-writing hooks of one worker.
pub(super) struct BoardHooks<'a> {
    pub index: usize,
    pub slot: &'a Slot,
    pub header: &'a Header,
    pub generation: u64,
    pub gil: Option<&'a InterpreterLock>,
    pub terminate: Option<&'a AtomicBool>,
    pub draining: bool,
    /// This worker's end of its line to the coordinator, for workloads that talk.
    pub line: Option<End>,
    /// Thread CPU time when the worker started (for a task of the event loop, moved so that
    /// the difference counts only the time the task held the thread), and when the slot's CPU
    /// time was last stored.
    pub cpu_at_start: u64,
    pub cpu_stored_ns: u64,
    /// CPU time other threads spent for this worker: a task of the event loop's file calls,
    /// run on the runtime's helper threads.
    pub helper_cpu_ns: u64,
    /// The last activity and CPU recorded in the ring.
    pub activity: Activity,
    pub cpu: Option<usize>,
}

/// What a checkpoint found, before any wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Progress {
    Continue,
    Stop,
    /// The run is paused: wait for it to resume, then continue.
    Pause,
}

/// How often a checkpoint refreshes the slot's CPU time: often enough for a live display, and
/// rare enough that its system call never counts on the hot path.
const CPU_REFRESH_NS: u64 = 50_000_000;

impl BoardHooks<'_> {
    /// False once a newer run has taken the board: this worker was abandoned and must not
    /// write its slot any more.
    pub(super) fn is_current(&self) -> bool {
        self.header.generation.load(Ordering::Relaxed) == self.generation
    }

    pub(super) fn stop_level(&self) -> u32 {
        stop_level(self.header, self.terminate, self.generation)
    }

    pub(super) fn add_lock_wait(&self, waited: Duration) {
        if !waited.is_zero() {
            Slot::add(&self.slot.lock_wait_ns, u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX));
        }
    }

    pub(super) fn note_stop(&mut self) {
        if !self.draining {
            self.draining = true;
            self.slot.set_state(SlotState::Draining);
            if self.activity == Activity::Running {
                self.record(Activity::Draining);
            }
        }
    }

    /// What computing is called right now: running, or draining once a stop was asked for.
    pub(super) fn computing(&self) -> Activity {
        if self.draining {
            Activity::Draining
        } else {
            Activity::Running
        }
    }

    /// Records `activity` at `now` on `cpu` in the slot's ring. An abandoned worker leaves the
    /// ring to the newer run that owns the slot.
    pub(super) fn record_at(&mut self, now: u64, activity: Activity, cpu: Option<usize>) {
        if self.is_current() {
            self.slot.ring.record(now, activity, cpu);
            self.activity = activity;
            self.cpu = cpu;
        }
    }

    /// Records `activity` now, if it or the CPU changed.
    pub(super) fn record(&mut self, activity: Activity) {
        let cpu = current_cpu();
        if activity != self.activity || cpu != self.cpu {
            self.record_at(monotonic_ns(), activity, cpu);
        }
    }

    /// Takes the interpreter lock back after a wait; records a lock wait only when somebody else
    /// holds it.
    pub(super) fn retake_lock(&mut self) {
        if let Some(gil) = self.gil {
            if !gil.try_acquire() {
                self.record(Activity::LockWait);
                self.add_lock_wait(gil.acquire());
            }
        }
    }

    pub(super) fn store_cpu_time(&mut self, now: u64) {
        let own = thread_cpu_ns().saturating_sub(self.cpu_at_start);
        self.slot.cpu_ns.store(own + self.helper_cpu_ns, Ordering::Relaxed);
        self.cpu_stored_ns = now;
    }

    /// Enters the paused state, without the interpreter lock; returns what to resume.
    pub(super) fn begin_pause(&mut self) -> Activity {
        self.slot.set_state(SlotState::Paused);
        let resume = self.activity;
        self.record(Activity::Paused);
        if let Some(gil) = self.gil {
            gil.release();
        }
        resume
    }

    /// True while the run stays paused and nobody asked to stop.
    pub(super) fn still_paused(&self) -> bool {
        self.header.pause.load(Ordering::Acquire) != 0 && self.stop_level() == StopLevel::Run as u32
    }

    pub(super) fn end_pause(&mut self, resume: Activity) {
        self.retake_lock();
        self.slot.set_state(SlotState::Running);
        self.record(resume);
    }

    /// Waits while the run is paused, without the interpreter lock.
    fn wait_while_paused(&mut self) {
        let resume = self.begin_pause();
        while self.still_paused() {
            std::thread::sleep(Duration::from_millis(5));
        }
        self.end_pause(resume);
    }

    /// A checkpoint's bookkeeping: progress, CPU, stop, crash injection, pause; no wait.
    #[inline]
    pub(super) fn progress(&mut self, units_done: u64) -> Progress {
        if !self.is_current() {
            return Progress::Stop;
        }
        // Progress first: the chunk just finished counts even when the worker stops here.
        self.slot.units_done.store(units_done, Ordering::Relaxed);
        let now = monotonic_ns();
        if now.saturating_sub(self.cpu_stored_ns) >= CPU_REFRESH_NS {
            self.store_cpu_time(now);
        }
        let cpu = current_cpu();
        if let Some(cpu) = cpu {
            self.slot.note_core(cpu);
        }
        if cpu != self.cpu {
            self.record_at(now, self.activity, cpu);
        }
        let level = self.stop_level();
        if level != StopLevel::Run as u32 {
            self.note_stop();
            if level >= StopLevel::AfterChunk as u32 {
                return Progress::Stop;
            }
        }
        if let Some(crash) = InjectedCrash::from_raw(self.slot.inject.load(Ordering::Relaxed)) {
            self.slot.inject.store(0, Ordering::Relaxed);
            commit_crash(crash);
        }
        if self.header.pause.load(Ordering::Relaxed) != 0 && level == StopLevel::Run as u32 {
            return Progress::Pause;
        }
        Progress::Continue
    }
}

impl Hooks for BoardHooks<'_> {
    #[inline]
    fn checkpoint(&mut self, units_done: u64) -> Flow {
        match self.progress(units_done) {
            Progress::Stop => return Flow::Stop,
            Progress::Pause => self.wait_while_paused(),
            Progress::Continue => {}
        }
        if let Some(gil) = self.gil {
            if gil.handover_requested() {
                // A waiter asked: this worker hands the lock over and waits for its next turn.
                let computing = self.activity;
                self.record(Activity::LockWait);
                self.add_lock_wait(gil.hand_over());
                self.record(computing);
            }
        }
        Flow::Continue
    }

    fn blocking(&mut self, wait: &mut dyn FnMut()) {
        let resume = self.activity;
        self.record(Activity::Blocked);
        if let Some(gil) = self.gil {
            gil.release();
        }
        wait();
        self.retake_lock();
        self.record(resume);
    }

    fn blocking_with_cells(&mut self, wait: &mut dyn FnMut(&Cells<'_>)) {
        // Built from the board's references, not from `self`, so the wait can hold them while
        // `blocking` records around it.
        let cells = shared_cells(self.header, self.slot, self.index, self.terminate.is_some());
        self.blocking(&mut || wait(&cells));
    }

    fn cells(&self) -> Cells<'_> {
        shared_cells(self.header, self.slot, self.index, self.terminate.is_some())
    }

    fn add_lock_wait(&mut self, waited: Duration) {
        BoardHooks::add_lock_wait(self, waited);
    }

    fn exchange(&mut self, message: &[u8], reply: &mut Vec<u8>) -> Result<(), ExchangeError> {
        let Some(mut line) = self.line.take() else {
            return Err(ExchangeError::Broken("this workload has no line to the coordinator".into()));
        };
        let started = monotonic_ns();
        let mut outcome = Ok(());
        let (header, terminate, generation) = (self.header, self.terminate, self.generation);
        self.blocking(&mut || {
            // Only a stop at the next chunk interrupts a wait; a drain at the end of the task
            // lets the task's exchanges finish.
            let mut keep_waiting = || stop_level(header, terminate, generation) < StopLevel::AfterChunk as u32;
            outcome = line.send(message, &mut keep_waiting).and_then(|()| line.recv(reply, &mut keep_waiting));
        });
        self.line = Some(line);
        // An abandoned worker leaves the slot to the newer run that owns it now.
        if self.is_current() {
            Slot::add(&self.slot.line_ns, monotonic_ns().saturating_sub(started));
            Slot::add(&self.slot.line_bytes, (message.len() + reply.len()) as u64);
        }
        outcome
    }
}

/// How hard the worker is asked to stop: a SIGTERM or a newer run on the board counts as a stop
/// at the next chunk.
pub(super) fn stop_level(header: &Header, terminate: Option<&AtomicBool>, generation: u64) -> u32 {
    if terminate.is_some_and(|flag| flag.load(Ordering::Relaxed))
        || header.generation.load(Ordering::Relaxed) != generation
    {
        return StopLevel::AfterChunk as u32;
    }
    header.stop.load(Ordering::Relaxed)
}

/// Crashes the calling worker for real. Async-signal-safe except for the panic, which unwinds
/// to the launcher's `catch_unwind`.
pub(super) fn commit_crash(crash: InjectedCrash) {
    match crash {
        InjectedCrash::Panic => panic!("crash injected on request"),
        // Only ever asked of a worker process, whose death is the point of the demonstration.
        InjectedCrash::Segfault => crate::workload::segfault(),
    }
}

/// The CPU the caller runs on (vDSO or rseq, no syscall on current glibc).
pub(super) fn current_cpu() -> Option<usize> {
    // SAFETY: no arguments, no memory; returns -1 on failure.
    usize::try_from(unsafe { libc::sched_getcpu() }).ok()
}

/// The cells of the board a task of worker `index` may use.
pub(crate) fn shared_cells<'a>(header: &'a Header, slot: &'a Slot, index: usize, in_process: bool) -> Cells<'a> {
    Cells {
        shared_counter: &header.shared_counter,
        shared_lock: &header.shared_lock,
        own_counter: &slot.own_counter,
        rss_bytes: &slot.rss_bytes,
        pss_bytes: &slot.pss_bytes,
        worker: index,
        tasks_done: slot.tasks_done.load(Ordering::Relaxed),
        in_process,
        limits: &header.limits,
        permits_held: &slot.permits_held,
    }
}
