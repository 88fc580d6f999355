//! The worker loop, the same for a thread and a forked process: take tasks, run them with the
//! board-writing hooks (`hooks.rs`) and account for how each ended. Its steps ([`Life`]) also
//! drive the event loop's tasks (`event_loop.rs`).
//!
//! Code here may run in a forked child: it must not print, log, take a lock another thread may
//! hold (the interpreter lock is the child's own), or touch a channel.

use std::cell::Cell;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use super::gil::InterpreterLock;
use super::hooks::{current_cpu, BoardHooks};
use super::line::End;
use crate::board::{monotonic_ns, thread_cpu_ns, Activity, Board, Slot, SlotState, StopLevel};
use crate::engine::plan::affinity::pin_current_thread;
use crate::workload::{TaskEnd, Workload};

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
    run_worker_since(spec, line, monotonic_ns())
}

/// [`run_worker`] for a worker whose first instruction, at `started` (CLOCK_MONOTONIC ns), came
/// before it could call this: a thread reads the clock before it names itself.
pub(crate) fn run_worker_since(spec: &WorkerSpec<'_>, line: Option<End>, started: u64) -> SlotState {
    let mut worker = Life::begin_at(spec, line, started);
    while let Some(task) = worker.next_task() {
        let end = spec.workload.run_task(task, &mut worker.hooks);
        if !worker.task_ended(&end) {
            break;
        }
    }
    worker.end()
}

/// One worker from its first instruction to its end, task by task: the steps of the worker
/// loop, shared by [`run_worker`] and the event loop's tasks, which await where this blocks.
pub(super) struct Life<'a> {
    spec: &'a WorkerSpec<'a>,
    pub hooks: BoardHooks<'a>,
    next_static: Range<u64>,
    final_state: SlotState,
    task_start: u64,
}

impl<'a> Life<'a> {
    /// The worker's first instruction: pid, tid, pinning, the first events, its tasks' count.
    pub(super) fn begin(spec: &'a WorkerSpec<'a>, line: Option<End>) -> Self {
        Self::begin_at(spec, line, monotonic_ns())
    }

    /// [`Life::begin`] with the first instruction's time read by the caller.
    fn begin_at(spec: &'a WorkerSpec<'a>, line: Option<End>, started: u64) -> Self {
        let slot = spec.board.slot(spec.index);
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
            helper_cpu_ns: 0,
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
        let next_static = match &spec.tasks {
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
        Self { spec, hooks, next_static, final_state: SlotState::Done, task_start: started }
    }

    /// The next task, with its start stored and recorded; None when there is none left or a
    /// stop was asked for.
    pub(super) fn next_task(&mut self) -> Option<u64> {
        if self.hooks.stop_level() != StopLevel::Run as u32 {
            self.hooks.note_stop();
            self.final_state = SlotState::Cancelled;
            return None;
        }
        let task = next_task(self.spec, &mut self.next_static)?;
        let slot = self.hooks.slot;
        slot.units_done.store(0, Ordering::Relaxed);
        slot.units_total.store(self.spec.workload.units_for(task), Ordering::Relaxed);
        slot.current_task.store(task + 1, Ordering::Relaxed);
        self.task_start = monotonic_ns();
        self.hooks.record(self.hooks.computing());
        Some(task)
    }

    /// Accounts for how the task ended; false when the worker must leave its loop.
    pub(super) fn task_ended(&mut self, end: &TaskEnd) -> bool {
        let slot = self.hooks.slot;
        if self.hooks.is_current() {
            Slot::add(&slot.busy_ns, monotonic_ns().saturating_sub(self.task_start));
            slot.current_task.store(0, Ordering::Relaxed);
        }
        match end {
            TaskEnd::Completed { .. } if !self.hooks.is_current() => return false,
            TaskEnd::Completed { digest } => {
                Slot::add(&slot.digest, *digest);
                Slot::add(&slot.tasks_done, 1);
                self.hooks.record(Activity::Idle);
            }
            TaskEnd::Stopped => {
                self.final_state = SlotState::Cancelled;
                return false;
            }
            // A forked child must not print: the reason goes to the slot, which the engine
            // reads once the worker has ended; the state and the exit status say that a task,
            // not the program, failed.
            TaskEnd::Failed(reason) => {
                if self.hooks.is_current() {
                    slot.failure.write(reason);
                }
                self.final_state = SlotState::Failed;
                return false;
            }
        }
        self.hooks.store_cpu_time(monotonic_ns());
        true
    }

    /// The worker's last act: the lock released, its CPU time, end time and end event stored.
    pub(super) fn end(mut self) -> SlotState {
        if let Some(gil) = self.spec.gil {
            gil.release();
        }
        if !self.hooks.is_current() {
            // Abandoned by an earlier run: the slot belongs to a newer one now.
            return SlotState::Cancelled;
        }
        let slot = self.hooks.slot;
        self.hooks.store_cpu_time(monotonic_ns());
        let finished = monotonic_ns();
        slot.finished_ns.store(finished, Ordering::Relaxed);
        self.hooks.record_at(finished, Activity::End, current_cpu());
        slot.set_state(self.final_state);
        self.final_state
    }
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
