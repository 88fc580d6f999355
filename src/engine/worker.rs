//! The worker loop, the same for a thread and a forked process: take tasks, run them with
//! hooks that store progress into the board, obey stop and pause, hold the interpreter lock
//! when there is one, and record every change of what the worker does in its slot's ring
//! (idle, running, lock wait, blocked, paused, draining, end, and each move to another CPU).
//! Only real changes are recorded: an uncontended lock or an unchanged CPU costs nothing.
//!
//! Code here may run in a forked child: it must not print, log, take a lock another thread may
//! hold (the interpreter lock is the child's own), or touch a channel.

use std::cell::Cell;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::affinity::pin_current_thread;
use super::gil::InterpreterLock;
use super::line::End;
use crate::board::{monotonic_ns, thread_cpu_ns, Activity, Board, Header, InjectedCrash, Slot, SlotState, StopLevel};
use crate::workload::task::Cells;
use crate::workload::{ExchangeError, Flow, Hooks, TaskEnd, Workload};

thread_local! {
    static IN_WORKER: Cell<bool> = const { Cell::new(false) };
}

/// True on a worker thread (or in a forked worker). The program's panic hook stays silent
/// there: the engine reports a worker's panic as that worker's outcome.
#[must_use]
pub(crate) fn is_worker_thread() -> bool {
    IN_WORKER.with(Cell::get)
}

/// Where a worker's tasks come from.
#[derive(Debug, Clone)]
pub(crate) enum TaskSource {
    /// A block fixed before the start.
    Static(Range<u64>),
    /// Do `first` (a crashed worker's unfinished block, when replacing it), then grab `chunk`
    /// tasks at a time from the board's shared counter.
    Dynamic { chunk: u64, first: Range<u64> },
}

/// Everything one worker needs, borrowed from the engine.
pub(crate) struct WorkerSpec<'a> {
    pub index: usize,
    pub board: &'a Board,
    pub generation: u64,
    pub workload: &'a dyn Workload,
    pub tasks: TaskSource,
    pub cpu: Option<usize>,
    pub gil: Option<&'a InterpreterLock>,
    /// Set by a SIGTERM handler in a forked worker.
    pub terminate: Option<&'a AtomicBool>,
}

struct BoardHooks<'a> {
    index: usize,
    slot: &'a Slot,
    header: &'a Header,
    generation: u64,
    gil: Option<&'a InterpreterLock>,
    terminate: Option<&'a AtomicBool>,
    draining: bool,
    /// This worker's end of its line to the coordinator, for workloads that talk.
    line: Option<End>,
    /// Thread CPU time when the worker started, and when the slot's CPU time was last stored.
    cpu_at_start: u64,
    cpu_stored_ns: u64,
    /// The last activity and CPU recorded in the ring.
    activity: Activity,
    cpu: Option<usize>,
}

/// How often a checkpoint refreshes the slot's CPU time: often enough for a live display, and
/// rare enough that its system call never counts on the hot path.
const CPU_REFRESH_NS: u64 = 50_000_000;

impl BoardHooks<'_> {
    /// False once a newer run has taken the board: this worker was abandoned and must not
    /// write its slot any more.
    fn is_current(&self) -> bool {
        self.header.generation.load(Ordering::Relaxed) == self.generation
    }

    fn stop_level(&self) -> u32 {
        stop_level(self.header, self.terminate, self.generation)
    }

    fn add_lock_wait(&self, waited: Duration) {
        if !waited.is_zero() {
            Slot::add(&self.slot.lock_wait_ns, u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX));
        }
    }

    fn note_stop(&mut self) {
        if !self.draining {
            self.draining = true;
            self.slot.set_state(SlotState::Draining);
            if self.activity == Activity::Running {
                self.record(Activity::Draining);
            }
        }
    }

    /// What computing is called right now: running, or draining once a stop was asked for.
    fn computing(&self) -> Activity {
        if self.draining {
            Activity::Draining
        } else {
            Activity::Running
        }
    }

    /// Records `activity` at `now` on `cpu` in the slot's ring. An abandoned worker leaves the
    /// ring to the newer run that owns the slot.
    fn record_at(&mut self, now: u64, activity: Activity, cpu: Option<usize>) {
        if self.is_current() {
            self.slot.ring.record(now, activity, cpu);
            self.activity = activity;
            self.cpu = cpu;
        }
    }

    /// Records `activity` now, if it or the CPU changed.
    fn record(&mut self, activity: Activity) {
        let cpu = current_cpu();
        if activity != self.activity || cpu != self.cpu {
            self.record_at(monotonic_ns(), activity, cpu);
        }
    }

    /// Takes the interpreter lock back after a wait; records a lock wait only when somebody else
    /// holds it.
    fn retake_lock(&mut self) {
        if let Some(gil) = self.gil {
            if !gil.try_acquire() {
                self.record(Activity::LockWait);
                self.add_lock_wait(gil.acquire());
            }
        }
    }

    fn store_cpu_time(&mut self, now: u64) {
        self.slot.cpu_ns.store(thread_cpu_ns().saturating_sub(self.cpu_at_start), Ordering::Relaxed);
        self.cpu_stored_ns = now;
    }

    /// Waits while the run is paused, without the interpreter lock.
    fn wait_while_paused(&mut self) {
        self.slot.set_state(SlotState::Paused);
        let resume = self.activity;
        self.record(Activity::Paused);
        if let Some(gil) = self.gil {
            gil.release();
        }
        while self.header.pause.load(Ordering::Acquire) != 0 && self.stop_level() == StopLevel::Run as u32 {
            std::thread::sleep(Duration::from_millis(5));
        }
        self.retake_lock();
        self.slot.set_state(SlotState::Running);
        self.record(resume);
    }
}

impl Hooks for BoardHooks<'_> {
    #[inline]
    fn checkpoint(&mut self, units_done: u64) -> Flow {
        if !self.is_current() {
            return Flow::Stop;
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
                return Flow::Stop;
            }
        }
        if let Some(crash) = InjectedCrash::from_raw(self.slot.inject.load(Ordering::Relaxed)) {
            self.slot.inject.store(0, Ordering::Relaxed);
            commit_crash(crash);
        }
        if self.header.pause.load(Ordering::Relaxed) != 0 && level == StopLevel::Run as u32 {
            self.wait_while_paused();
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

/// The cells of the board a task of worker `index` may use.
fn shared_cells<'a>(header: &'a Header, slot: &'a Slot, index: usize, in_process: bool) -> Cells<'a> {
    Cells {
        shared_counter: &header.counter,
        shared_lock: &header.counter_lock,
        own_counter: &slot.own_counter,
        rss_bytes: &slot.rss_bytes,
        pss_bytes: &slot.pss_bytes,
        worker: index,
        tasks_done: slot.tasks_done.load(Ordering::Relaxed),
        in_process,
        throttle: &header.throttle,
    }
}

/// How hard the worker is asked to stop: a SIGTERM or a newer run on the board counts as a stop
/// at the next chunk.
fn stop_level(header: &Header, terminate: Option<&AtomicBool>, generation: u64) -> u32 {
    if terminate.is_some_and(|flag| flag.load(Ordering::Relaxed))
        || header.generation.load(Ordering::Relaxed) != generation
    {
        return StopLevel::AfterChunk as u32;
    }
    header.stop.load(Ordering::Relaxed)
}

/// Crashes the calling worker for real. Async-signal-safe except for the panic, which unwinds
/// to the launcher's `catch_unwind`.
pub(crate) fn commit_crash(crash: InjectedCrash) {
    match crash {
        InjectedCrash::Panic => panic!("crash injected on request"),
        // Only ever asked of a worker process, whose death is the point of the demonstration.
        InjectedCrash::Segfault => crate::workload::segfault(),
    }
}

/// The CPU the caller runs on (vDSO or rseq, no syscall on current glibc).
fn current_cpu() -> Option<usize> {
    // SAFETY: no arguments, no memory; returns -1 on failure.
    usize::try_from(unsafe { libc::sched_getcpu() }).ok()
}

/// Called by the worker itself once a panic unwound out of [`run_worker`]: the slot says so and
/// the ring records the end of its life.
pub(crate) fn note_panicked(board: &Board, index: usize) {
    let slot = board.slot(index);
    slot.ring.record(monotonic_ns(), Activity::End, current_cpu());
    slot.set_state(SlotState::Panicked);
}

/// Marks the calling thread as a worker for the panic hook.
pub(crate) fn mark_worker_thread() {
    IN_WORKER.with(|flag| flag.set(true));
}

/// Runs one worker to its end and returns the state it ended in ([`SlotState::Done`] or
/// [`SlotState::Cancelled`]). A panic in the workload unwinds through here to the launcher.
pub(crate) fn run_worker(spec: &WorkerSpec<'_>, line: Option<End>) -> SlotState {
    let slot = spec.board.slot(spec.index);
    let started = monotonic_ns();
    slot.started_ns.store(started, Ordering::Relaxed);
    let first_cpu = current_cpu();
    mark_worker_thread();
    slot.pid.store(nix::unistd::getpid().as_raw(), Ordering::Relaxed);
    slot.tid.store(nix::unistd::gettid().as_raw(), Ordering::Relaxed);
    let mut hooks = BoardHooks {
        index: spec.index,
        slot,
        header: spec.board.header(),
        generation: spec.generation,
        gil: spec.gil,
        terminate: spec.terminate,
        draining: false,
        line,
        cpu_at_start: thread_cpu_ns(),
        cpu_stored_ns: 0,
        activity: Activity::Idle,
        cpu: first_cpu,
    };
    // The worker's life begins at its first instruction, idle until it has a task; the ring
    // publishes the pid and tid stored above along with this first event.
    hooks.record_at(started, Activity::Idle, first_cpu);
    if let Some(cpu) = spec.cpu {
        // Validated against the allowed CPUs; a failure (CPU hot-unplugged) leaves the worker
        // unpinned, and its `cores` in the report show where it really ran.
        let _ = pin_current_thread(cpu);
    }
    if let Some(cpu) = current_cpu() {
        slot.note_core(cpu);
    }
    hooks.record(Activity::Idle);
    slot.set_state(SlotState::Running);
    hooks.retake_lock();
    hooks.record(Activity::Idle);
    let mut next_static = match &spec.tasks {
        TaskSource::Static(range) => {
            slot.tasks_total.store(range.end - range.start, Ordering::Relaxed);
            slot.block_end.store(range.end, Ordering::Relaxed);
            range.clone()
        }
        TaskSource::Dynamic { first, .. } => {
            slot.block_end.store(first.end, Ordering::Relaxed);
            Slot::add(&slot.tasks_total, first.end - first.start);
            first.clone()
        }
    };
    let mut final_state = SlotState::Done;
    loop {
        if hooks.stop_level() != StopLevel::Run as u32 {
            hooks.note_stop();
            final_state = SlotState::Cancelled;
            break;
        }
        let Some(task) = next_task(spec, &mut next_static) else {
            break;
        };
        slot.units_done.store(0, Ordering::Relaxed);
        slot.units_total.store(spec.workload.units_for(task), Ordering::Relaxed);
        slot.current_task.store(task + 1, Ordering::Relaxed);
        let task_start = monotonic_ns();
        hooks.record(hooks.computing());
        let end = spec.workload.run_task(task, &mut hooks);
        if hooks.is_current() {
            Slot::add(&slot.busy_ns, monotonic_ns().saturating_sub(task_start));
            slot.current_task.store(0, Ordering::Relaxed);
        }
        match end {
            TaskEnd::Completed { .. } if !hooks.is_current() => break,
            TaskEnd::Completed { digest } => {
                Slot::add(&slot.digest, digest);
                Slot::add(&slot.tasks_done, 1);
                hooks.record(Activity::Idle);
            }
            TaskEnd::Stopped => {
                final_state = SlotState::Cancelled;
                break;
            }
            // The reason cannot leave a forked child (it must not print); the state and the
            // exit status say that a task, not the program, failed.
            TaskEnd::Failed(_) => {
                final_state = SlotState::Failed;
                break;
            }
        }
        hooks.store_cpu_time(monotonic_ns());
    }
    if let Some(gil) = spec.gil {
        gil.release();
    }
    if !hooks.is_current() {
        // Abandoned by an earlier run: the slot belongs to a newer one now.
        return SlotState::Cancelled;
    }
    hooks.store_cpu_time(monotonic_ns());
    let finished = monotonic_ns();
    slot.finished_ns.store(finished, Ordering::Relaxed);
    hooks.record_at(finished, Activity::End, current_cpu());
    slot.set_state(final_state);
    final_state
}

fn next_task(spec: &WorkerSpec<'_>, static_block: &mut Range<u64>) -> Option<u64> {
    match spec.tasks {
        TaskSource::Static(_) => static_block.next(),
        TaskSource::Dynamic { chunk, .. } => {
            if let Some(task) = static_block.next() {
                return Some(task);
            }
            let header = spec.board.header();
            let total = header.tasks_total.load(Ordering::Relaxed);
            let start = header.next_task.fetch_add(chunk, Ordering::AcqRel);
            if start >= total {
                return None;
            }
            let slot = spec.board.slot(spec.index);
            let end = (start + chunk).min(total);
            Slot::add(&slot.tasks_total, end - start);
            slot.block_end.store(end, Ordering::Relaxed);
            *static_block = start + 1..end;
            Some(start)
        }
    }
}
