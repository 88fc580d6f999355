//! The result of a run, owned by the engine: the run-wide and per-worker figures, and building
//! them from the board once every worker has ended. This module reads; it never starts, signals
//! or reaps a worker, and it does not present anything (tables, JSON and headlines are
//! `report/`'s, which reads these types).

use std::sync::atomic::Ordering;
use std::time::Duration;

use nix::sys::signal::Signal;

use super::observer::{Observer, ObserverSource};
use super::outcome::{Ending, WorkerOutcome};
use super::shutdown::StopReason;
use super::timeline::Timeline;
use crate::board::{Activity, Board};
use crate::engine::plan::{Model, Plan, StartMethod};
use crate::units::ns_to_seconds;
use crate::workload::{MetricsOf, RunCells, Workload};

/// How a run ended as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// Every worker did all its tasks.
    Finished,
    /// Stopped on request: by a signal, or by the user (None).
    Cancelled(Option<Signal>),
    /// Some worker crashed, failed or was killed from outside.
    Failed,
}

impl RunOutcome {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Finished => "finished",
            Self::Cancelled(_) => "cancelled",
            Self::Failed => "failed",
        }
    }

    /// The exit status of `concur-tui run`: 0 finished, 1 failed, 128+N after signal N.
    #[must_use]
    pub fn exit_code(self) -> i32 {
        match self {
            Self::Finished => 0,
            Self::Cancelled(Some(signal)) => 128 + signal as i32,
            Self::Cancelled(None) | Self::Failed => 1,
        }
    }
}

/// One worker's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerReport {
    pub index: usize,
    pub pid: i32,
    pub tid: i32,
    pub outcome: WorkerOutcome,
    pub tasks_done: u64,
    pub cpu_seconds: f64,
    /// Every CPU the worker was seen running on.
    pub cores: Vec<usize>,
    pub lock_wait_seconds: f64,
    /// Meant to run but off every CPU after a preemption (perf), or runnable and waiting on a
    /// run queue (schedstat): what the kernel saw, see [`RunReport::observer`].
    pub waiting_for_cpu_seconds: f64,
    /// Meant to run but off its CPU of its own accord, for a cause nothing it recorded explains
    /// (perf only: schedstat cannot tell).
    pub off_cpu_seconds: f64,
    /// From asking for the worker to its first instruction.
    pub startup_seconds: f64,
    /// Time inside tasks, and the rest of the run's wall time.
    pub busy_seconds: f64,
    pub idle_seconds: f64,
    /// What the worker measured of its own memory (the `memory` workload; 0 otherwise).
    pub rss_bytes: u64,
    pub pss_bytes: u64,
    /// The Python traceback of the task that failed this worker (`--runtime python`): kept for
    /// the saved results, never shown over the screen.
    pub traceback: Option<String>,
}

/// A finished run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    pub plan: Plan,
    pub outcome: RunOutcome,
    pub wall_seconds: f64,
    pub cpu_seconds: f64,
    /// What the run added at its peak: this process's growth over its resident memory at the
    /// start, plus each worker process's peak beyond what it inherited.
    pub peak_rss_bytes: u64,
    pub tasks_done: u64,
    /// Wrapping sum of the digests of every completed task.
    pub checksum: u64,
    /// What the checksum must be when every task ran exactly once, where known.
    pub expected_checksum: Option<u64>,
    /// CLOCK_MONOTONIC at the start, to order runs.
    pub started_ns: u64,
    pub workers: Vec<WorkerReport>,
    /// The workload's own figures.
    pub metrics: MetricsOf,
    /// Workers that crashed and were replaced (`--respawn`): index and how they ended.
    pub replaced: Vec<(usize, WorkerOutcome)>,
    /// Crashed workers that `--respawn` could not replace: index and why.
    pub respawn_failures: Vec<(usize, String)>,
    /// What every worker did, when: its states read from the board's rings.
    pub timeline: Timeline,
    /// Where the workers' waiting for a CPU was seen.
    pub observer: ObserverSource,
}

impl RunReport {
    /// Median start-up cost over the workers that started.
    #[must_use]
    pub fn median_startup_seconds(&self) -> Option<f64> {
        let mut startups: Vec<f64> = self.workers.iter().map(|w| w.startup_seconds).filter(|s| *s > 0.0).collect();
        startups.sort_by(f64::total_cmp);
        startups.get(startups.len() / 2).copied()
    }

    /// A finished run of `plan` that did nothing, for tests to fill in.
    #[cfg(test)]
    #[must_use]
    pub(crate) fn empty(plan: Plan) -> Self {
        Self {
            plan,
            outcome: RunOutcome::Finished,
            wall_seconds: 0.0,
            cpu_seconds: 0.0,
            peak_rss_bytes: 0,
            tasks_done: 0,
            checksum: 0,
            expected_checksum: None,
            started_ns: 0,
            workers: Vec::new(),
            metrics: MetricsOf::none(),
            replaced: Vec::new(),
            respawn_failures: Vec::new(),
            timeline: Timeline::default(),
            observer: ObserverSource::None,
        }
    }

    /// The share of the workers' lives (0 to 1) spent waiting for a CPU; None when nothing
    /// was observed.
    #[must_use]
    pub fn waiting_for_cpu_share(&self) -> Option<f64> {
        if self.observer == ObserverSource::None {
            return None;
        }
        let lives: u64 = self
            .timeline
            .workers
            .iter()
            .map(|life| life.end_ns().unwrap_or(0).saturating_sub(life.start_ns().unwrap_or(0)))
            .sum();
        let waited: f64 = self.workers.iter().map(|worker| worker.waiting_for_cpu_seconds).sum();
        (lives > 0).then(|| (waited / ns_to_seconds(lives)).clamp(0.0, 1.0))
    }

    /// Sets each worker's waiting for a CPU and off-CPU time from the finished timeline (perf's switches) and
    /// what schedstat showed, and the source.
    pub(crate) fn add_waiting_for_cpu(&mut self, observer: &Observer) {
        self.observer = observer.source();
        for worker in &mut self.workers {
            let seen: u64 = self.timeline.lives(worker.index).map(|life| life.time_in(Activity::WaitingForCpu)).sum();
            worker.waiting_for_cpu_seconds = ns_to_seconds(seen + observer.schedstat_waited_ns(worker.index));
            let off: u64 = self.timeline.lives(worker.index).map(|life| life.time_in(Activity::OffCpu)).sum();
            worker.off_cpu_seconds = ns_to_seconds(off);
            // A CPython thread cannot count its waits for the GIL: the kernel saw them.
            if self.plan.runtime.interpreter().is_some() && worker.lock_wait_seconds == 0.0 {
                let waited: u64 = self.timeline.lives(worker.index).map(|life| life.time_in(Activity::LockWait)).sum();
                worker.lock_wait_seconds = ns_to_seconds(waited);
            }
        }
    }

    /// False when every task completed but the checksum says some ran twice or not at all.
    #[must_use]
    pub fn checksum_ok(&self) -> Option<bool> {
        self.expected_checksum.map(|expected| expected == self.checksum)
    }
}

/// What the run handle hands over, beside the board, to build its report.
pub(crate) struct EndedRun<'a> {
    pub board: &'a Board,
    pub plan: &'a Plan,
    pub workload: &'a dyn Workload,
    pub wall: Duration,
    pub started_ns: u64,
    pub stop_reason: Option<StopReason>,
    /// Each worker's end, by index; None: still running, reported as abandoned.
    pub endings: Vec<Option<&'a Ending>>,
    /// Workers that crashed and were replaced (--respawn): index and how they ended.
    pub replaced: &'a [(usize, WorkerOutcome)],
    pub respawn_failures: &'a [(usize, String)],
    pub memory: &'a MemoryMark,
}

/// Builds the report of an ended run from the board and what the run handle saw.
#[must_use]
pub(crate) fn build_report(run: &EndedRun<'_>) -> RunReport {
    let wall = run.wall;
    let mut workers = Vec::with_capacity(run.endings.len());
    let mut checksum = 0u64;
    let mut children_rss = 0u64;
    for (index, ending) in run.endings.iter().enumerate() {
        let slot = run.board.slot(index);
        checksum = checksum.wrapping_add(slot.digest.load(Ordering::Relaxed));
        let (outcome, cpu_ns) = match ending {
            Some(ending) => {
                children_rss += ending.max_rss_bytes.unwrap_or(0).saturating_sub(run.memory.inherited_bytes);
                (ending.outcome.clone(), ending.cpu_ns.unwrap_or_else(|| slot.cpu_ns.load(Ordering::Relaxed)))
            }
            None => (WorkerOutcome::Abandoned, slot.cpu_ns.load(Ordering::Relaxed)),
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
            waiting_for_cpu_seconds: 0.0,
            off_cpu_seconds: 0.0,
            startup_seconds: if started >= requested && requested > 0 {
                ns_to_seconds(started - requested)
            } else {
                0.0
            },
            busy_seconds: ns_to_seconds(slot.busy_ns.load(Ordering::Relaxed)),
            idle_seconds: (wall.as_secs_f64() - ns_to_seconds(slot.busy_ns.load(Ordering::Relaxed))).max(0.0),
            rss_bytes: slot.rss_bytes.load(Ordering::Relaxed),
            pss_bytes: slot.pss_bytes.load(Ordering::Relaxed),
            traceback: None,
        });
    }
    let tasks_done: u64 = workers.iter().map(|w| w.tasks_done).sum();
    let expected_checksum =
        if tasks_done == run.plan.tasks { run.workload.expected_checksum(run.plan.tasks) } else { None };
    let wrong_result = expected_checksum.is_some_and(|expected| expected != checksum);
    let outcome = match run.stop_reason {
        Some(StopReason::Signal(signal)) => RunOutcome::Cancelled(Some(signal)),
        Some(StopReason::User) => RunOutcome::Cancelled(None),
        // A result that does not match the sequential one fails the run, whatever the workers say.
        None if wrong_result || workers.iter().any(|w| !matches!(w.outcome, WorkerOutcome::Done)) => RunOutcome::Failed,
        None => RunOutcome::Finished,
    };
    let metrics = MetricsOf(workload_metrics(run, &workers, tasks_done).into());
    RunReport {
        plan: run.plan.clone(),
        outcome,
        wall_seconds: wall.as_secs_f64(),
        cpu_seconds: workers.iter().map(|w| w.cpu_seconds).sum(),
        peak_rss_bytes: run.memory.added_bytes() + children_rss,
        tasks_done,
        checksum,
        expected_checksum,
        started_ns: run.started_ns,
        workers,
        metrics,
        replaced: run.replaced.to_vec(),
        respawn_failures: run.respawn_failures.to_vec(),
        // The run handle moves its timeline in: it is the one large part of a report.
        timeline: Timeline::default(),
        observer: ObserverSource::None,
    }
}

/// The workload's own figures, from the cells it shares with its workers.
fn workload_metrics(
    run: &EndedRun<'_>,
    workers: &[WorkerReport],
    tasks_done: u64,
) -> Box<dyn crate::workload::Metrics> {
    let EndedRun { board, plan, workload, wall, .. } = *run;
    let worker_count = run.endings.len();
    workload.metrics(&RunCells {
        shared_counter: board.header().shared_counter.load(Ordering::Relaxed),
        own_counters: (0..worker_count).map(|index| board.slot(index).own_counter.load(Ordering::Relaxed)).collect(),
        tasks: plan.tasks,
        tasks_done,
        partial_units: (0..worker_count)
            .map(|index| board.slot(index))
            .filter(|slot| slot.current_task.load(Ordering::Relaxed) != 0)
            .map(|slot| slot.units_done.load(Ordering::Relaxed))
            .sum(),
        wall_seconds: wall.as_secs_f64(),
        idle_seconds: workers.iter().map(|w| w.idle_seconds).collect(),
        failed_workers: workers.iter().filter(|w| w.outcome.is_failure()).count(),
        replaced_workers: run.replaced.len(),
        rss_bytes: workers.iter().map(|w| w.rss_bytes).collect(),
        pss_bytes: workers.iter().map(|w| w.pss_bytes).collect(),
        processes: plan.model == Model::Processes,
        line_bytes: (0..worker_count).map(|index| board.slot(index).line_bytes.load(Ordering::Relaxed)).sum(),
        line_seconds: (0..worker_count)
            .map(|index| ns_to_seconds(board.slot(index).line_ns.load(Ordering::Relaxed)))
            .sum(),
        inherited_memory: plan.model != Model::Processes || plan.start == StartMethod::Fork,
    })
}

/// This process's resident memory when a run began, to report what the run added rather than
/// the program's lifetime peak (a dashboard that once ran `memory` would show that peak on every
/// later run). The kernel's high-water mark is reset at the start (`clear_refs` 5, Linux 4.0+),
/// so `VmHWM` at the end is this run's own peak, however short; sampling RSS would miss a peak
/// between samples.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MemoryMark {
    rss_bytes: u64,
    /// `VmHWM` before the reset, for when the reset is refused.
    lifetime_peak_bytes: u64,
    reset: bool,
    /// This process's anonymous RSS just before the first worker started: what a forked
    /// child's peak counts though it only shares it. Fork copies the page tables of anonymous
    /// memory, so the child starts with those pages resident; file and shared pages (the binary,
    /// the board) it faults in only as it touches them, and they count as its own use.
    inherited_bytes: u64,
}

impl MemoryMark {
    /// Marks the start of a run, before its workload is built.
    #[must_use]
    pub(crate) fn take() -> Self {
        let lifetime_peak_bytes = status_bytes("VmHWM").unwrap_or(0);
        let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
        let rss_bytes = status_bytes("VmRSS").unwrap_or(0);
        Self { rss_bytes, lifetime_peak_bytes, reset, inherited_bytes: 0 }
    }

    /// Marks the moment just before the first worker starts, after the workload's `prepare`.
    pub(crate) fn before_workers(&mut self) {
        self.inherited_bytes = status_bytes("RssAnon").unwrap_or(self.rss_bytes);
    }

    /// What this process grew by at its peak since the mark.
    fn added_bytes(&self) -> u64 {
        let peak = status_bytes("VmHWM").unwrap_or(0);
        if self.reset || peak > self.lifetime_peak_bytes {
            peak.saturating_sub(self.rss_bytes)
        } else {
            // The reset was refused and an older peak hides this run's: what the run still
            // holds at its end is all that can be said, a lower bound.
            status_bytes("VmRSS").unwrap_or(0).saturating_sub(self.rss_bytes)
        }
    }
}

/// A `kB` field of `/proc/self/status`, in bytes.
fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.strip_prefix(field).is_some_and(|rest| rest.starts_with(':')))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        assert_eq!(RunOutcome::Finished.exit_code(), 0);
        assert_eq!(RunOutcome::Failed.exit_code(), 1);
        assert_eq!(RunOutcome::Cancelled(Some(Signal::SIGINT)).exit_code(), 130);
        assert_eq!(RunOutcome::Cancelled(Some(Signal::SIGTERM)).exit_code(), 143);
        assert_eq!(RunOutcome::Cancelled(Some(Signal::SIGHUP)).exit_code(), 129);
    }

    #[test]
    fn the_mark_sees_what_was_added_after_it_not_an_older_peak() {
        // An older, higher peak that the run must not report.
        let old = vec![1u8; 128 << 20];
        std::hint::black_box(&old);
        drop(old);
        let mark = MemoryMark::take();
        let added = vec![1u8; 16 << 20];
        std::hint::black_box(&added);
        let seen = mark.added_bytes();
        drop(added);
        assert!(seen >= 15 << 20, "the run's own 16 MiB: {seen}");
        assert!(seen < 100 << 20, "not the older 128 MiB peak: {seen}");
    }
}
