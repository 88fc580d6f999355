//! How a worker ended, decided from what the engine saw (join result, wait status) and what the
//! worker left in its slot.

use std::fmt;

use nix::sys::signal::Signal;

use crate::board::SlotState;

/// Why a worker crashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrashReason {
    Signal(Signal),
    Panic(String),
}

/// DESIGN.md's final worker states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerOutcome {
    Done,
    Cancelled,
    /// Ended by a signal the engine (or someone) sent to stop it.
    Killed(Signal),
    Crashed(CrashReason),
    /// Exited with this code, for a reason the worker could not say.
    Failed(i32),
    /// A task could not be done, and this is why (the OS error, in one line), as the worker
    /// left it in its slot.
    TaskFailed(String),
    /// A thread that did not stop within the grace period; it cannot be killed.
    Abandoned,
    /// Never started: the run was stopped (or its launch failed) before its turn came.
    Unstarted,
}

impl WorkerOutcome {
    /// The name scripts see in JSON.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Cancelled => "cancelled",
            Self::Killed(_) => "killed",
            Self::Crashed(_) => "crashed",
            Self::Failed(_) | Self::TaskFailed(_) => "failed",
            Self::Abandoned => "abandoned",
            Self::Unstarted => "unstarted",
        }
    }

    /// Crashed or failed: what makes the exit status 1.
    #[must_use]
    pub fn is_failure(&self) -> bool {
        matches!(self, Self::Crashed(_) | Self::Failed(_) | Self::TaskFailed(_))
    }

    /// From a thread's end: its returned state or its panic message.
    #[must_use]
    pub fn from_thread(result: Result<SlotState, String>) -> Self {
        match result {
            Ok(SlotState::Done) => Self::Done,
            Ok(SlotState::Cancelled) => Self::Cancelled,
            Ok(SlotState::Failed) => Self::Failed(crate::engine::workers::processes::EXIT_TASK_FAILED),
            Ok(other) => Self::Crashed(CrashReason::Panic(format!("worker left in state {other:?}"))),
            Err(message) => Self::Crashed(CrashReason::Panic(message)),
        }
    }

    /// From a child's wait status and the state it left in its slot.
    #[must_use]
    pub fn from_wait_status(status: i32, slot_state: SlotState) -> Self {
        if libc::WIFEXITED(status) {
            match (libc::WEXITSTATUS(status), slot_state) {
                (0, SlotState::Done) => Self::Done,
                (0, SlotState::Cancelled) => Self::Cancelled,
                // A thread of a host process whose task failed.
                (0, SlotState::Failed) => Self::Failed(crate::engine::workers::processes::EXIT_TASK_FAILED),
                (crate::engine::workers::processes::EXIT_PANICKED, _) => {
                    Self::Crashed(CrashReason::Panic("panicked in the worker process".into()))
                }
                (code, _) => Self::Failed(code),
            }
        } else if libc::WIFSIGNALED(status) {
            match Signal::try_from(libc::WTERMSIG(status)) {
                Ok(
                    signal @ (Signal::SIGSEGV
                    | Signal::SIGABRT
                    | Signal::SIGBUS
                    | Signal::SIGFPE
                    | Signal::SIGILL
                    | Signal::SIGTRAP
                    | Signal::SIGSYS),
                ) => Self::Crashed(CrashReason::Signal(signal)),
                Ok(signal) => Self::Killed(signal),
                Err(_) => Self::Failed(128 + libc::WTERMSIG(status)),
            }
        } else {
            Self::Failed(-1)
        }
    }

    /// The signal that ended the worker, if one did.
    #[must_use]
    pub fn signal(&self) -> Option<Signal> {
        match self {
            Self::Killed(signal) | Self::Crashed(CrashReason::Signal(signal)) => Some(*signal),
            _ => None,
        }
    }

    #[must_use]
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            Self::Crashed(CrashReason::Panic(message)) => Some(message),
            _ => None,
        }
    }

    #[must_use]
    pub fn exit_code(&self) -> Option<i32> {
        match self {
            Self::Failed(code) => Some(*code),
            Self::TaskFailed(_) => Some(crate::engine::workers::processes::EXIT_TASK_FAILED),
            _ => None,
        }
    }
}

impl WorkerOutcome {
    /// A failed task's outcome with the reason its worker left in its slot, when it left one.
    #[must_use]
    pub(crate) fn with_failure_note(self, note: Option<String>) -> Self {
        match (self, note) {
            (Self::Failed(crate::engine::workers::processes::EXIT_TASK_FAILED), Some(reason)) => {
                Self::TaskFailed(reason)
            }
            (outcome, _) => outcome,
        }
    }

    /// The reason a task failed, when its worker said.
    #[must_use]
    pub fn failure_reason(&self) -> Option<&str> {
        match self {
            Self::TaskFailed(reason) => Some(reason),
            _ => None,
        }
    }

    /// Why it ended so, beyond its name: the signal, the panic message, the exit code.
    #[must_use]
    pub fn detail(&self) -> Option<String> {
        match self {
            Self::Killed(signal) | Self::Crashed(CrashReason::Signal(signal)) => Some(signal.as_str().to_owned()),
            Self::Crashed(CrashReason::Panic(message)) => Some(format!("panic: {message}")),
            Self::Failed(crate::engine::workers::processes::EXIT_TASK_FAILED) => Some("a task failed".to_owned()),
            Self::Failed(code) => Some(format!("exit {code}")),
            Self::TaskFailed(reason) => Some(reason.clone()),
            _ => None,
        }
    }
}

/// How the engine saw a worker end: its outcome and, for a reaped process, what `wait4` said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ending {
    pub outcome: WorkerOutcome,
    /// From wait4, for processes; None: read the slot's own figure.
    pub cpu_ns: Option<u64>,
    pub max_rss_bytes: Option<u64>,
}

impl Ending {
    /// An end known only by its outcome: a thread, a hosted thread, a process not reaped by us.
    #[must_use]
    pub(super) fn of(outcome: WorkerOutcome) -> Self {
        Self { outcome, cpu_ns: None, max_rss_bytes: None }
    }
}

impl fmt::Display for WorkerOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.detail() {
            Some(detail) => write!(f, "{} ({detail})", self.name()),
            None => f.write_str(self.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_statuses_become_outcomes() {
        let exited = |code: i32| code << 8;
        assert_eq!(WorkerOutcome::from_wait_status(exited(0), SlotState::Done), WorkerOutcome::Done);
        assert_eq!(WorkerOutcome::from_wait_status(exited(0), SlotState::Cancelled), WorkerOutcome::Cancelled);
        assert_eq!(WorkerOutcome::from_wait_status(exited(3), SlotState::Running), WorkerOutcome::Failed(3));
        assert_eq!(
            WorkerOutcome::from_wait_status(libc::SIGSEGV, SlotState::Running),
            WorkerOutcome::Crashed(CrashReason::Signal(Signal::SIGSEGV))
        );
        assert_eq!(
            WorkerOutcome::from_wait_status(libc::SIGKILL, SlotState::Running),
            WorkerOutcome::Killed(Signal::SIGKILL)
        );
        assert!(WorkerOutcome::from_wait_status(libc::SIGABRT, SlotState::Running).is_failure());
        assert!(!WorkerOutcome::Killed(Signal::SIGTERM).is_failure());
    }
}
