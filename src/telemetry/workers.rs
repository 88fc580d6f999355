//! The live view of a run, read from the board, the run's timeline and the engine's reaping:
//! one row per worker, what it is doing now and how its time split so far, and the lock's
//! figures. It reads; it never starts, signals or changes a worker.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::board::{Activity, SlotState};
use crate::engine::timeline::{Timeline, WorkerTimeline};
use crate::engine::{Model, Phase, Plan, Run, StopReason, WorkerOutcome};
use crate::units::ns_to_seconds;

/// What the workers panel shows as a worker's state (DESIGN.md's worker state machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WorkerState {
    Pending,
    Running,
    /// Waiting for the emulated interpreter lock.
    LockWait,
    /// Meant to run, but preempted and not yet given a CPU back (the kernel's switches).
    WaitingForCpu,
    /// Meant to run, but its thread left the CPU of its own accord for a reason nothing it
    /// recorded explains (the kernel's switches).
    OffCpu,
    /// In a wait that uses no CPU: a sleep, I/O, an exchange with the coordinator.
    Blocked,
    /// Between tasks.
    Idle,
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
    pub(crate) const ALL: [Self; 15] = [
        Self::Pending,
        Self::Running,
        Self::WaitingForCpu,
        Self::OffCpu,
        Self::LockWait,
        Self::Blocked,
        Self::Idle,
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
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::LockWait => "lock wait",
            // The state column's width; the timeline's legend spells it out.
            Self::WaitingForCpu => "cpu wait",
            Self::OffCpu => "off CPU",
            Self::Blocked => "blocked",
            Self::Idle => "idle",
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
    pub(crate) fn from_outcome(outcome: &WorkerOutcome) -> Self {
        match outcome {
            WorkerOutcome::Done => Self::Done,
            WorkerOutcome::Cancelled | WorkerOutcome::Unstarted => Self::Cancelled,
            WorkerOutcome::Killed(_) => Self::Killed,
            WorkerOutcome::Crashed(_) => Self::Crashed,
            WorkerOutcome::Failed(_) | WorkerOutcome::TaskFailed(_) => Self::Failed,
            WorkerOutcome::Abandoned => Self::Abandoned,
        }
    }
}

/// One worker's row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WorkerView {
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
    /// Meant to run but preempted, as the kernel's switches showed (0 without them).
    pub waiting_for_cpu_seconds: f64,
    /// Meant to run but off its CPU of its own accord, cause unknown (0 without the switches).
    pub off_cpu_seconds: f64,
    pub pid: i32,
    pub tid: i32,
    /// Why it ended, when it ended badly (signal, panic, exit code).
    pub reason: Option<String>,
    /// How its time split so far: running, waiting for the lock, blocked, idle.
    pub split: Option<TimeSplit>,
}

/// A run as the front end sees it at one instant.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RunView {
    pub plan: Plan,
    pub phase: Phase,
    pub elapsed: Duration,
    pub tasks_done: u64,
    pub stop_reason: Option<StopReason>,
    pub workers: Vec<WorkerView>,
    /// CLOCK_MONOTONIC when this view was taken: "now" for the timeline.
    pub now_ns: u64,
    /// The run's timeline over the window the dashboard shows (empty when it shows none).
    pub timeline: Timeline,
    /// The interpreter lock's figures, for a thread run with the lock on.
    pub lock: Option<LockFigures>,
    /// The workload's own live figures, in a line (`throttle`, `latency`).
    pub live: Option<String>,
}

/// How the emulated interpreter lock is shared, in the spirit of py-spy's `top`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LockFigures {
    /// Share of the run's time some worker held the lock and computed.
    pub held: f64,
    /// Hand-overs per second: waits for the lock that ended with the lock.
    pub handovers_per_second: f64,
    /// The mean wait for the lock.
    pub mean_wait_seconds: f64,
}

/// How a worker's time split so far, as fractions of its life.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct TimeSplit {
    pub running: f64,
    /// Meant to run, preempted: on no CPU.
    pub waiting_for_cpu: f64,
    /// Meant to run, off its CPU for a cause not known.
    pub off_cpu: f64,
    pub lock_wait: f64,
    pub blocked: f64,
    pub idle: f64,
}

impl TimeSplit {
    /// The split of one life, None before it recorded anything.
    #[must_use]
    pub(crate) fn of(life: &WorkerTimeline) -> Option<Self> {
        let total: u64 = Activity::ALL.iter().map(|activity| life.time_in(*activity)).sum();
        (total > 0).then(|| {
            let share = |activity| life.time_in(activity) as f64 / total as f64;
            Self {
                running: share(Activity::Running) + share(Activity::Draining),
                waiting_for_cpu: share(Activity::WaitingForCpu),
                off_cpu: share(Activity::OffCpu),
                lock_wait: share(Activity::LockWait),
                blocked: share(Activity::Blocked),
                idle: share(Activity::Idle) + share(Activity::Paused),
            }
        })
    }
}

impl RunView {
    /// Reads the board and the engine's outcomes. Costs a few atomic loads per worker.
    #[must_use]
    /// With `window`, the view carries the timeline of that much time before now.
    pub(crate) fn sample(run: &Run, window: Option<Duration>) -> Self {
        let board = run.board();
        let phase = run.phase();
        let now = crate::board::monotonic_ns();
        let outcomes = run.outcomes();
        let timeline = run.timeline();
        // The latest life of each worker (a replaced worker has more than one).
        let lives = timeline.latest_lives(run.plan().workers);
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
                    (None, SlotState::Running, _) => lives[index]
                        .and_then(WorkerTimeline::activity)
                        .map_or(WorkerState::Running, WorkerState::from_activity),
                };
                let tasks_done = slot.tasks_done.load(Ordering::Relaxed);
                let units_total = slot.units_total.load(Ordering::Relaxed);
                let units_done = slot.units_done.load(Ordering::Relaxed);
                let started = slot.started_ns.load(Ordering::Relaxed);
                let running_for = if started > 0 { ns_to_seconds(now.saturating_sub(started)) } else { 0.0 };
                let in_task = matches!(
                    state,
                    WorkerState::Running
                        | WorkerState::WaitingForCpu
                        | WorkerState::OffCpu
                        | WorkerState::LockWait
                        | WorkerState::Blocked
                        | WorkerState::Paused
                        | WorkerState::Draining
                );
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
                    waiting_for_cpu_seconds: lives[index]
                        .map_or(0.0, |life| ns_to_seconds(life.time_in(Activity::WaitingForCpu))),
                    off_cpu_seconds: lives[index].map_or(0.0, |life| ns_to_seconds(life.time_in(Activity::OffCpu))),
                    pid: slot.pid.load(Ordering::Relaxed),
                    tid: slot.tid.load(Ordering::Relaxed),
                    reason: ended
                        .and_then(WorkerOutcome::detail)
                        .or_else(|| memory_note(slot.pss_bytes.load(Ordering::Relaxed))),
                    split: lives[index].and_then(TimeSplit::of),
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
            now_ns: now,
            timeline: window.map_or_else(
                || Timeline { started_ns: timeline.started_ns, workers: Vec::new() },
                |window| timeline.since(now.saturating_sub(window.as_nanos() as u64)),
            ),
            lock: lock_figures(run.plan(), timeline, run.elapsed()),
            live: run.live_figures(),
        }
    }

    /// A run of `plan` 300 ms in, with no worker rows: for tests to fill in.
    #[cfg(test)]
    #[must_use]
    pub(crate) fn of_plan(plan: Plan) -> Self {
        Self {
            plan,
            phase: Phase::Running,
            elapsed: Duration::from_millis(300),
            tasks_done: 1,
            stop_reason: None,
            workers: Vec::new(),
            now_ns: 0,
            timeline: Timeline::default(),
            lock: None,
            live: None,
        }
    }
}

impl WorkerView {
    /// A running worker on `core` with `cpu_seconds` so far and nothing else known: for tests.
    #[cfg(test)]
    #[must_use]
    pub(crate) fn running(index: usize, core: Option<usize>, cpu_seconds: f64) -> Self {
        Self {
            index,
            state: WorkerState::Running,
            tasks_done: 0,
            tasks_total: 4,
            task_progress: 0.0,
            rate: None,
            core,
            cpu_seconds,
            lock_wait_seconds: 0.0,
            waiting_for_cpu_seconds: 0.0,
            off_cpu_seconds: 0.0,
            pid: 1,
            tid: 1,
            reason: None,
            split: None,
        }
    }

    /// The row of a worker of a finished run.
    #[must_use]
    /// `life` is the worker's latest life in the run's timeline ([`Timeline::latest_lives`]).
    pub(crate) fn from_report(worker: &crate::engine::WorkerReport, life: Option<&WorkerTimeline>) -> Self {
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
            waiting_for_cpu_seconds: worker.waiting_for_cpu_seconds,
            off_cpu_seconds: worker.off_cpu_seconds,
            pid: worker.pid,
            tid: worker.tid,
            reason: worker.outcome.detail().or_else(|| memory_note(worker.pss_bytes)),
            split: life.and_then(TimeSplit::of),
        }
    }
}

impl WorkerView {
    /// How much of its tasks the worker has done, counting the task in hand by its units;
    /// None when it does not know how many it has (a finished run's rows).
    #[must_use]
    pub(crate) fn progress(&self) -> Option<f64> {
        (self.tasks_total > 0)
            .then(|| ((self.tasks_done as f64 + self.task_progress) / self.tasks_total as f64).clamp(0.0, 1.0))
    }
}

impl WorkerState {
    /// A live worker's state from what its ring says it does.
    #[must_use]
    pub(crate) fn from_activity(activity: Activity) -> Self {
        match activity {
            Activity::Running | Activity::End => Self::Running,
            Activity::LockWait => Self::LockWait,
            Activity::WaitingForCpu => Self::WaitingForCpu,
            Activity::OffCpu => Self::OffCpu,
            Activity::Blocked => Self::Blocked,
            Activity::Idle => Self::Idle,
            Activity::Paused => Self::Paused,
            Activity::Draining => Self::Draining,
        }
    }
}

/// The lock's figures of a thread run with the lock on, the emulated one or CPython's GIL: one
/// lock for every worker, so the time they meant to compute in all is the time it was held. A holder keeps the lock while the
/// kernel has it off its CPU (preempted, or in a wait of the kernel's), so that time counts too.
#[must_use]
pub(crate) fn lock_figures(plan: &Plan, timeline: &Timeline, elapsed: Duration) -> Option<LockFigures> {
    let emulated = plan.gil.is_some() && plan.model != Model::Processes;
    if !emulated && !plan.python_gil_threads() {
        return None;
    }
    let elapsed = elapsed.as_secs_f64();
    let total = |activity| timeline.workers.iter().map(|life| life.time_in(activity)).sum::<u64>();
    let waits: u64 = timeline.workers.iter().map(|life| life.lock_waits).sum();
    let waited = ns_to_seconds(total(Activity::LockWait));
    let holding = [Activity::Running, Activity::Draining, Activity::WaitingForCpu, Activity::OffCpu];
    let held = ns_to_seconds(holding.into_iter().map(total).sum());
    Some(LockFigures {
        held: if elapsed > 0.0 { (held / elapsed).min(1.0) } else { 0.0 },
        handovers_per_second: if elapsed > 0.0 { waits as f64 / elapsed } else { 0.0 },
        mean_wait_seconds: if waits > 0 { waited / waits as f64 } else { 0.0 },
    })
}

/// `PSS 64.0 MiB`, for a worker that measured its memory.
fn memory_note(pss_bytes: u64) -> Option<String> {
    (pss_bytes > 0).then(|| format!("PSS {}", crate::units::format_bytes(pss_bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::timeline::Segment;
    use crate::engine::PlanRequest;
    use crate::workload::by_name;

    #[test]
    fn the_lock_is_held_while_its_holder_is_off_its_cpu() {
        let plan = PlanRequest {
            workers: Some(2),
            gil: Some(Duration::from_millis(5)),
            ..PlanRequest::new(by_name("cpu").expect("cpu"), Model::Threads)
        }
        .validate_with(&[0, 1])
        .expect("plan");
        let life = |index, pieces: &[(Activity, u64, u64)]| {
            let segments = pieces
                .iter()
                .map(|&(activity, start_ns, end_ns)| Segment { start_ns, end_ns, activity, cpu: Some(0) })
                .collect::<Vec<_>>();
            let mut closed_ns = [0; Activity::ALL.len()];
            for segment in &segments[..segments.len() - 1] {
                closed_ns[segment.activity as usize] += segment.duration_ns();
            }
            WorkerTimeline { index, segments, closed_ns, lock_waits: 1, ..WorkerTimeline::default() }
        };
        let timeline = Timeline {
            started_ns: 0,
            workers: vec![
                life(
                    0,
                    &[(Activity::Running, 0, 40), (Activity::WaitingForCpu, 40, 50), (Activity::LockWait, 50, 100)],
                ),
                life(1, &[(Activity::LockWait, 0, 50), (Activity::Running, 50, 90), (Activity::OffCpu, 90, 100)]),
            ],
        };
        let figures = lock_figures(&plan, &timeline, Duration::from_nanos(100)).expect("a lock");
        assert!((figures.held - 1.0).abs() < 1e-9, "held {}", figures.held);
        assert!((figures.mean_wait_seconds - 50e-9).abs() < 1e-15, "{figures:?}");
    }
}
