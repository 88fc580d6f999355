//! The async model: one OS thread (`event-loop`) running tokio's current-thread runtime, with
//! each worker a task of that loop. A task drives the same worker steps as a thread
//! ([`Life`]), awaiting where a thread blocks, so each worker keeps its own slot, ring and row
//! (with the loop thread's pid and tid). This module starts the loop and tracks its end; the
//! run handle reaps it like a thread.
//!
//! A loop has no preemption: a task that computes holds the thread until it awaits. Tasks yield
//! at a checkpoint once they held the thread for [`SLICE`], and the time a ready task then waits
//! for the thread is recorded (and counted) as a lock wait: the loop's thread is one lock that
//! every task must hold to run, as the interpreter lock is for threads.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use super::hooks::{BoardHooks, Progress};
use super::pen::Pen;
use super::threads::{panic_message, ThreadResult};
use super::worker::{mark_worker_thread, note_panicked, Life, TaskSource, WorkerSpec};
use crate::board::{monotonic_ns, thread_cpu_ns, Activity, Board, SlotState, StopLevel};
use crate::engine::plan::affinity::pin_current_thread;
use crate::workload::task::Cells;
use crate::workload::{AsyncHooks, Flow, Hooks, LocalFuture, TaskEnd, Workload};

/// How long a computing task holds the thread before it lets the others run: CPython's
/// default switch interval, so the timeline reads like the interpreter lock's.
const SLICE: Duration = crate::engine::plan::DEFAULT_SWITCH_INTERVAL;

/// A yield shorter than this found nobody else ready: not worth a lock wait in the ring.
const CONTENDED_YIELD_NS: u64 = 20_000;

/// What the loop thread owns: every worker's tasks, for one run.
pub(crate) struct LoopGroup {
    pub board: Arc<Board>,
    pub generation: u64,
    pub workload: Arc<dyn Workload>,
    /// Worker `i`'s tasks at `i`.
    pub sources: Vec<TaskSource>,
    /// The CPU the loop's thread is pinned to, if any.
    pub cpu: Option<usize>,
}

/// What the loop thread returns: each worker's final state or its panic message, by index.
pub(crate) type LoopResult = Vec<ThreadResult>;

/// Starts the loop thread, admitted to `pen` (if any) first; its helper threads inherit that.
pub(crate) fn spawn_loop(group: LoopGroup, pen: Option<Arc<dyn Pen>>) -> std::io::Result<JoinHandle<LoopResult>> {
    let now = monotonic_ns();
    for index in 0..group.sources.len() {
        group.board.slot(index).requested_ns.store(now, Ordering::Relaxed);
    }
    std::thread::Builder::new().name("event-loop".to_owned()).spawn(move || {
        super::pen::admit(pen.as_ref());
        // Not held for the worker's life: the pen's owner may remove it once the run is over.
        drop(pen);
        run_loop(group)
    })
}

fn run_loop(group: LoopGroup) -> LoopResult {
    mark_worker_thread();
    if let Some(cpu) = group.cpu {
        // As for a worker thread: a failure leaves it unpinned, and `cores` shows where it ran.
        let _ = pin_current_thread(cpu);
    }
    let workers = group.sources.len();
    // Helper threads (a workload's file calls, `spawn_blocking`) carry a name of their own, so
    // that they can be told from the loop's; dropping the runtime below joins them.
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().thread_name("loop-helper").build() {
        Ok(runtime) => runtime,
        Err(error) => return vec![Err(format!("the event loop could not start: {error}")); workers],
    };
    let local = tokio::task::LocalSet::new();
    let results = local.block_on(&runtime, async {
        let handles: Vec<_> = group
            .sources
            .into_iter()
            .enumerate()
            .map(|(index, tasks)| {
                let (board, workload, generation) =
                    (Arc::clone(&group.board), Arc::clone(&group.workload), group.generation);
                tokio::task::spawn_local(async move {
                    let spec = WorkerSpec {
                        index,
                        board: &board,
                        generation,
                        workload: workload.as_ref(),
                        tasks,
                        cpu: None,
                        gil: None,
                        terminate: None,
                    };
                    run_task_worker(&spec).await
                })
            })
            .collect();
        let mut results = Vec::with_capacity(workers);
        for (index, handle) in handles.into_iter().enumerate() {
            results.push(match handle.await {
                Ok(state) => Ok(state),
                Err(error) if error.is_panic() => {
                    note_panicked(&group.board, index);
                    Err(panic_message(error.into_panic().as_ref()))
                }
                Err(error) => Err(error.to_string()),
            });
        }
        results
    });
    // Every task has ended: the runtime shuts down here, before the thread returns.
    drop(local);
    drop(runtime);
    results
}

/// One worker as a task of the loop: the worker loop's steps, awaiting each task.
async fn run_task_worker(spec: &WorkerSpec<'_>) -> SlotState {
    let mut worker = Life::begin(spec, None);
    let mut turn = Turn { held_since_ns: monotonic_ns(), own_cpu_ns: 0, resume: Activity::Idle };
    let Some(tasks) = spec.workload.as_async() else {
        // The plan refuses such a workload; a worker that gets one fails rather than guess.
        let _ = worker.task_ended(&TaskEnd::Failed("this workload cannot run on an event loop".into()));
        return worker.end();
    };
    while let Some(task) = worker.next_task() {
        let mut hooks = LoopHooks { hooks: &mut worker.hooks, turn: &mut turn };
        let end = tasks.run_task_async(task, &mut hooks).await;
        // A task that never awaited lets the others in before its next one.
        hooks.yield_if_due().await;
        if !worker.task_ended(&end) {
            break;
        }
    }
    worker.end()
}

/// A task's share of the loop's thread.
struct Turn {
    /// When the task last got the thread.
    held_since_ns: u64,
    /// Thread CPU time used by this task alone, as of its last suspension.
    own_cpu_ns: u64,
    /// What to record again when a wait ends.
    resume: Activity,
}

/// The hooks a task of the loop gets: the board-writing hooks, plus its turns on the thread.
struct LoopHooks<'h, 'a> {
    hooks: &'h mut BoardHooks<'a>,
    turn: &'h mut Turn,
}

impl LoopHooks<'_, '_> {
    /// The task gives the thread up: its CPU time so far is its own.
    fn suspend(&mut self) {
        self.turn.own_cpu_ns = thread_cpu_ns().saturating_sub(self.hooks.cpu_at_start);
    }

    /// The task has the thread again: the slot's CPU time counts on from what it had.
    fn resume(&mut self) {
        self.hooks.cpu_at_start = thread_cpu_ns().saturating_sub(self.turn.own_cpu_ns);
        self.turn.held_since_ns = monotonic_ns();
    }

    /// Lets the loop's other tasks run when this one has held the thread for a slice.
    async fn yield_if_due(&mut self) {
        let asked = monotonic_ns();
        if asked.saturating_sub(self.turn.held_since_ns) < SLICE.as_nanos() as u64 {
            return;
        }
        self.suspend();
        tokio::task::yield_now().await;
        self.resume();
        if self.turn.held_since_ns.saturating_sub(asked) >= CONTENDED_YIELD_NS {
            // Recorded after the fact, when it is known that another task ran meanwhile.
            let (computing, cpu) = (self.hooks.activity, self.hooks.cpu);
            self.hooks.record_at(asked, Activity::LockWait, cpu);
            self.hooks.record(computing);
            self.hooks.add_lock_wait(Duration::from_nanos(self.turn.held_since_ns - asked));
        }
    }

    async fn wait_while_paused(&mut self) {
        self.suspend();
        let resume = self.hooks.begin_pause();
        while self.hooks.still_paused() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.hooks.end_pause(resume);
        self.resume();
    }
}

impl AsyncHooks for LoopHooks<'_, '_> {
    fn checkpoint(&mut self, units_done: u64) -> LocalFuture<'_, Flow> {
        Box::pin(async move {
            match self.hooks.progress(units_done) {
                Progress::Stop => return Flow::Stop,
                Progress::Pause => self.wait_while_paused().await,
                Progress::Continue => {}
            }
            self.yield_if_due().await;
            Flow::Continue
        })
    }

    fn enter_wait(&mut self) {
        self.turn.resume = self.hooks.activity;
        self.hooks.record(Activity::Blocked);
        self.suspend();
    }

    fn leave_wait(&mut self) {
        self.resume();
        self.hooks.record(self.turn.resume);
    }

    fn stop_requested(&self) -> bool {
        !self.hooks.is_current() || self.hooks.stop_level() >= StopLevel::AfterChunk as u32
    }

    fn add_helper_cpu(&mut self, spent: Duration) {
        self.hooks.helper_cpu_ns += spent.as_nanos() as u64;
    }

    fn cells(&self) -> Cells<'_> {
        Hooks::cells(&*self.hooks)
    }
}

/// The loop as its workers' handles share it: joined once, by whichever is reaped first.
pub(in crate::engine) struct SharedLoop {
    thread: Mutex<Option<JoinHandle<LoopResult>>>,
    /// How many workers are its tasks.
    workers: usize,
    results: Mutex<Option<LoopResult>>,
}

impl SharedLoop {
    pub(in crate::engine) fn new(thread: JoinHandle<LoopResult>, workers: usize) -> Arc<Self> {
        Arc::new(Self { thread: Mutex::new(Some(thread)), workers, results: Mutex::new(None) })
    }

    /// True once the loop's thread has ended.
    pub(in crate::engine) fn is_finished(&self) -> bool {
        self.thread.lock().unwrap_or_else(PoisonError::into_inner).as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Worker `index`'s result once the loop has ended (waiting for it when `blocking`).
    pub(in crate::engine) fn result(&self, index: usize, blocking: bool) -> Option<ThreadResult> {
        let mut results = self.results.lock().unwrap_or_else(PoisonError::into_inner);
        if results.is_none() {
            let mut thread = self.thread.lock().unwrap_or_else(PoisonError::into_inner);
            if !blocking && thread.as_ref().is_some_and(|thread| !thread.is_finished()) {
                return None;
            }
            let joined = thread.take()?.join();
            // The loop itself panicked (not a task): every worker ends with its message.
            *results = Some(joined.unwrap_or_else(|payload| vec![Err(panic_message(payload.as_ref())); self.workers]));
        }
        let result = results.as_ref()?.get(index).cloned();
        // Never None once joined, so that a run always ends.
        Some(result.unwrap_or_else(|| Err("the event loop returned no result for this worker".to_owned())))
    }
}
