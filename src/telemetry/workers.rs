//! The live view of a run, read from the board and the engine's reaping: one row per worker.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::board::SlotState;
use crate::engine::{Phase, Plan, Run, StopReason, WorkerOutcome};
use crate::units::ns_to_seconds;

/// What the workers panel shows as a worker's state (DESIGN.md's worker state machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerState {
    Pending,
    Running,
    Paused,
    Draining,
    Done,
    Cancelled,
    Killed,
    Crashed,
    Failed,
    Abandoned,
}

impl WorkerState {
    pub const ALL: [Self; 10] = [
        Self::Pending,
        Self::Running,
        Self::Paused,
        Self::Draining,
        Self::Done,
        Self::Cancelled,
        Self::Killed,
        Self::Crashed,
        Self::Failed,
        Self::Abandoned,
    ];

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Draining => "draining",
            Self::Done => "done",
            Self::Cancelled => "cancelled",
            Self::Killed => "killed",
            Self::Crashed => "crashed",
            Self::Failed => "failed",
            Self::Abandoned => "abandoned",
        }
    }

    #[must_use]
    pub fn from_outcome(outcome: &WorkerOutcome) -> Self {
        match outcome {
            WorkerOutcome::Done => Self::Done,
            WorkerOutcome::Cancelled => Self::Cancelled,
            WorkerOutcome::Killed(_) => Self::Killed,
            WorkerOutcome::Crashed(_) => Self::Crashed,
            WorkerOutcome::Failed(_) => Self::Failed,
            WorkerOutcome::Abandoned => Self::Abandoned,
        }
    }
}

/// One worker's row.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerView {
    pub index: usize,
    pub state: WorkerState,
    pub tasks_done: u64,
    pub tasks_total: u64,
    /// Progress inside the current task, 0.0 to 1.0.
    pub task_progress: f64,
    /// Tasks per second since the worker started, while it runs.
    pub rate: Option<f64>,
    pub core: Option<usize>,
    pub cpu_seconds: f64,
    pub lock_wait_seconds: f64,
    pub pid: i32,
    pub tid: i32,
    /// Why it ended, when it ended badly (signal, panic, exit code).
    pub reason: Option<String>,
}

/// A run as the front end sees it at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct RunView {
    pub plan: Plan,
    pub phase: Phase,
    pub elapsed: Duration,
    pub tasks_done: u64,
    pub stop_reason: Option<StopReason>,
    pub workers: Vec<WorkerView>,
}

impl RunView {
    /// Reads the board and the engine's outcomes. Costs a few atomic loads per worker.
    #[must_use]
    pub fn sample(run: &Run) -> Self {
        let board = run.board();
        let phase = run.phase();
        let now = crate::board::monotonic_ns();
        let outcomes = run.outcomes();
        let workers = (0..run.plan().workers)
            .map(|index| {
                let slot = board.slot(index);
                let slot_state = slot.state();
                let ended = outcomes.get(index).and_then(Option::as_ref);
                let state = match (ended, slot_state, phase) {
                    (Some(outcome), _, _) => WorkerState::from_outcome(outcome),
                    (None, SlotState::Pending, _) => WorkerState::Pending,
                    (None, _, Phase::Paused) => WorkerState::Paused,
                    (None, SlotState::Draining, _) | (None, _, Phase::Draining { .. }) => WorkerState::Draining,
                    (None, SlotState::Paused, _) => WorkerState::Paused,
                    (None, SlotState::Done, _) => WorkerState::Done,
                    (None, SlotState::Cancelled, _) => WorkerState::Cancelled,
                    (None, SlotState::Panicked, _) => WorkerState::Crashed,
                    (None, SlotState::Failed, _) => WorkerState::Failed,
                    (None, SlotState::Running, _) => WorkerState::Running,
                };
                let tasks_done = slot.tasks_done.load(Ordering::Relaxed);
                let units_total = slot.units_total.load(Ordering::Relaxed);
                let units_done = slot.units_done.load(Ordering::Relaxed);
                let started = slot.started_ns.load(Ordering::Relaxed);
                let running_for = if started > 0 { ns_to_seconds(now.saturating_sub(started)) } else { 0.0 };
                let in_task = matches!(state, WorkerState::Running | WorkerState::Paused | WorkerState::Draining);
                WorkerView {
                    index,
                    state,
                    tasks_done,
                    tasks_total: slot.tasks_total.load(Ordering::Relaxed),
                    task_progress: if in_task && units_total > 0 {
                        (units_done as f64 / units_total as f64).clamp(0.0, 1.0)
                    } else {
                        0.0
                    },
                    rate: (in_task && running_for > 0.0).then(|| tasks_done as f64 / running_for),
                    core: usize::try_from(slot.core.load(Ordering::Relaxed)).ok(),
                    cpu_seconds: ns_to_seconds(slot.cpu_ns.load(Ordering::Relaxed)),
                    lock_wait_seconds: ns_to_seconds(slot.lock_wait_ns.load(Ordering::Relaxed)),
                    pid: slot.pid.load(Ordering::Relaxed),
                    tid: slot.tid.load(Ordering::Relaxed),
                    reason: ended
                        .and_then(WorkerOutcome::detail)
                        .or_else(|| memory_note(slot.pss_bytes.load(Ordering::Relaxed))),
                }
            })
            .collect();
        Self {
            plan: run.plan().clone(),
            phase,
            elapsed: run.elapsed(),
            tasks_done: run.tasks_done(),
            stop_reason: run.stop_reason(),
            workers,
        }
    }

    /// How many workers are in each state, in [`WorkerState::ALL`] order, zeros left out.
    #[must_use]
    pub fn state_counts(&self) -> Vec<(WorkerState, usize)> {
        WorkerState::ALL
            .iter()
            .map(|state| (*state, self.workers.iter().filter(|w| w.state == *state).count()))
            .filter(|(_, count)| *count > 0)
            .collect()
    }
}

impl WorkerView {
    /// The row of a worker of a finished run.
    #[must_use]
    pub fn from_report(worker: &crate::engine::WorkerReport) -> Self {
        Self {
            index: worker.index,
            state: WorkerState::from_outcome(&worker.outcome),
            tasks_done: worker.tasks_done,
            tasks_total: 0,
            task_progress: if worker.outcome == WorkerOutcome::Done { 1.0 } else { 0.0 },
            rate: None,
            core: worker.cores.last().copied(),
            cpu_seconds: worker.cpu_seconds,
            lock_wait_seconds: worker.lock_wait_seconds,
            pid: worker.pid,
            tid: worker.tid,
            reason: worker.outcome.detail().or_else(|| memory_note(worker.pss_bytes)),
        }
    }
}

/// `PSS 64.0 MiB`, for a worker that measured its memory.
fn memory_note(pss_bytes: u64) -> Option<String> {
    (pss_bytes > 0).then(|| format!("PSS {}", crate::units::format_bytes(pss_bytes)))
}
