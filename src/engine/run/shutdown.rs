//! The shutdown deadlines as pure values: a [`Stopping`] state, the transitions a stop request
//! or an escalation makes, and [`due`], which says what is owed at a given time. No clock is read
//! and no signal is sent here; the run handle reads CLOCK_MONOTONIC, asks, and carries out.
//!
//! ```text
//! stop requested ──grace──► SIGTERM to processes, threads abandoned ──TERM_TO_KILL──► SIGKILL
//!        └──────────── second request (escalation): SIGKILL at once ─────────────────────┘
//! ```

use std::time::Duration;

use nix::sys::signal::Signal;

use super::outcome::WorkerOutcome;

/// How long a process has between SIGTERM and SIGKILL once the grace period is over.
pub(super) const TERM_TO_KILL: Duration = Duration::from_millis(500);

/// Who asked a run to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// `c` in the dashboard, or a failed launch.
    User,
    Signal(Signal),
}

/// Why the run is stopping and how far escalation has gone. Every time is CLOCK_MONOTONIC in
/// nanoseconds, the clock of the board's slots, so it compares with the instant a worker left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stopping {
    pub reason: StopReason,
    /// When the grace period runs out.
    pub deadline_ns: u64,
    /// When SIGTERM went to the live processes (the grace period was over).
    pub terminated_ns: Option<u64>,
    /// SIGKILL went out: nothing more is owed.
    pub killed: bool,
}

/// What the run handle owes its workers at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Due {
    Nothing,
    /// The grace period is over: SIGTERM to live processes ("stop after this chunk"); a live
    /// thread cannot be killed, so it is abandoned.
    TerminateProcessesAndAbandonThreads,
    /// [`TERM_TO_KILL`] after SIGTERM: SIGKILL to what is still alive.
    KillProcesses,
}

impl Stopping {
    /// A first stop request at `now_ns`: the grace period starts.
    #[must_use]
    pub(super) fn requested(reason: StopReason, now_ns: u64, grace: Duration) -> Self {
        Self { reason, deadline_ns: now_ns.saturating_add(duration_ns(grace)), terminated_ns: None, killed: false }
    }

    /// Ends everything at `now_ns`: the deadline is now and SIGKILL is going out. Keeps the
    /// reason of an earlier request (a failed launch or a direct escalation counts as the user).
    #[must_use]
    pub(super) fn escalated(earlier: Option<Self>, now_ns: u64) -> Self {
        let earlier = earlier.unwrap_or_else(|| Self::requested(StopReason::User, now_ns, Duration::ZERO));
        Self { deadline_ns: now_ns, killed: true, ..earlier }
    }

    /// What is left of the grace period at `now_ns`.
    #[must_use]
    pub(super) fn remaining(&self, now_ns: u64) -> Duration {
        Duration::from_nanos(self.deadline_ns.saturating_sub(now_ns))
    }

    /// The state once `done`, due at `now_ns`, has been carried out.
    #[must_use]
    pub(super) fn after(self, done: Due, now_ns: u64) -> Self {
        match done {
            Due::Nothing => self,
            Due::TerminateProcessesAndAbandonThreads => Self { terminated_ns: Some(now_ns), ..self },
            Due::KillProcesses => Self { killed: true, ..self },
        }
    }
}

/// What is due at `now_ns` for a run in state `stopping`.
#[must_use]
pub(super) fn due(stopping: &Stopping, now_ns: u64) -> Due {
    if stopping.killed {
        return Due::Nothing;
    }
    match stopping.terminated_ns {
        None if now_ns >= stopping.deadline_ns => Due::TerminateProcessesAndAbandonThreads,
        Some(terminated) if now_ns >= terminated.saturating_add(duration_ns(TERM_TO_KILL)) => Due::KillProcesses,
        _ => Due::Nothing,
    }
}

/// A worker process that stopped only once the grace period was over and the engine's SIGTERM
/// had gone out did not drain in time: it was terminated, whatever its exit status says.
#[must_use]
pub(super) fn past_grace(outcome: WorkerOutcome, finished_ns: u64, terminated_ns: Option<u64>) -> WorkerOutcome {
    match (outcome, terminated_ns) {
        (WorkerOutcome::Cancelled, Some(sent)) if finished_ns >= sent => WorkerOutcome::Killed(Signal::SIGTERM),
        (outcome, _) => outcome,
    }
}

fn duration_ns(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000_000;
    const TERM_TO_KILL_NS: u64 = 500_000_000;

    fn requested_at_one_second() -> Stopping {
        Stopping::requested(StopReason::User, SECOND, Duration::from_secs(2))
    }

    #[test]
    fn nothing_is_due_during_the_grace_period() {
        let stopping = requested_at_one_second();
        assert_eq!(due(&stopping, SECOND), Due::Nothing);
        assert_eq!(due(&stopping, 3 * SECOND - 1), Due::Nothing);
        assert_eq!(stopping.remaining(2 * SECOND), Duration::from_secs(1));
    }

    #[test]
    fn sigterm_at_the_deadline_then_sigkill_after_term_to_kill_then_nothing() {
        let stopping = requested_at_one_second();
        let at_deadline = 3 * SECOND;
        assert_eq!(due(&stopping, at_deadline), Due::TerminateProcessesAndAbandonThreads);
        let terminated = stopping.after(Due::TerminateProcessesAndAbandonThreads, at_deadline);
        assert_eq!(terminated.remaining(at_deadline), Duration::ZERO);
        assert_eq!(due(&terminated, at_deadline + TERM_TO_KILL_NS - 1), Due::Nothing);
        assert_eq!(due(&terminated, at_deadline + TERM_TO_KILL_NS), Due::KillProcesses);
        let killed = terminated.after(Due::KillProcesses, at_deadline + TERM_TO_KILL_NS);
        assert_eq!(due(&killed, 100 * SECOND), Due::Nothing);
    }

    #[test]
    fn a_late_poll_still_terminates_before_it_kills() {
        // A poll that comes long after the deadline owes SIGTERM first: SIGKILL only follows a
        // SIGTERM that had TERM_TO_KILL to work.
        let stopping = requested_at_one_second();
        assert_eq!(due(&stopping, 60 * SECOND), Due::TerminateProcessesAndAbandonThreads);
    }

    #[test]
    fn escalation_kills_at_once_and_keeps_the_reason() {
        let by_signal = Stopping::requested(StopReason::Signal(Signal::SIGINT), SECOND, Duration::from_secs(5));
        let escalated = Stopping::escalated(Some(by_signal), 2 * SECOND);
        assert_eq!(escalated.reason, StopReason::Signal(Signal::SIGINT));
        assert_eq!(escalated.remaining(2 * SECOND), Duration::ZERO);
        assert_eq!(due(&escalated, 2 * SECOND), Due::Nothing);
        assert_eq!(Stopping::escalated(None, SECOND).reason, StopReason::User);
    }

    #[test]
    fn a_process_that_left_after_sigterm_was_killed_by_it() {
        let cancelled = || WorkerOutcome::Cancelled;
        assert_eq!(past_grace(cancelled(), 5, Some(4)), WorkerOutcome::Killed(Signal::SIGTERM));
        assert_eq!(past_grace(cancelled(), 3, Some(4)), WorkerOutcome::Cancelled);
        assert_eq!(past_grace(cancelled(), 5, None), WorkerOutcome::Cancelled);
        assert_eq!(past_grace(WorkerOutcome::Done, 5, Some(4)), WorkerOutcome::Done);
    }
}
