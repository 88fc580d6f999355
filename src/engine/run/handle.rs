//! One worker as the run handle tracks it (a thread, a process, a thread of a host process, a
//! task of the event loop, or its end) and reaping it: joining the thread or `wait4` on the pid, turned into an
//! [`Ending`]. It never starts or signals a worker; `run/mod.rs` decides when to reap.

use crate::engine::workers::bare_thread::BareThread;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use nix::unistd::Pid;

use super::outcome::{CrashReason, Ending, WorkerOutcome};
use super::shutdown::past_grace;
use crate::board::{Board, SlotState};
use crate::engine::workers::event_loop::SharedLoop;
use crate::engine::workers::processes;
use crate::engine::workers::threads::{self, ThreadResult};

pub(super) enum Handle {
    /// Not started yet: the run is still launching.
    Pending,
    Thread(BareThread<ThreadResult>),
    Process(Pid),
    /// A thread of the group running in host process `Pid`.
    Hosted(Pid),
    /// A task of the async model's event loop, which all the run's workers share.
    OnLoop(Arc<SharedLoop>),
    Ended(Ending),
}

/// One round of reaping: what every handle's reaping needs, and the host's wait status, which
/// ends every thread of a hosted group at once.
pub(super) struct Reaping<'a> {
    pub board: &'a Board,
    /// Wait for every worker to end, instead of taking only those that have.
    pub blocking: bool,
    /// When SIGTERM went out, for [`past_grace`].
    pub terminated_ns: Option<u64>,
    pub host_status: Option<i32>,
}

impl Handle {
    /// The pid to signal, while a process (or host) is alive and not yet reaped.
    pub(super) fn live_pid(&self) -> Option<Pid> {
        match self {
            Self::Process(pid) | Self::Hosted(pid) => Some(*pid),
            _ => None,
        }
    }

    pub(super) fn is_ended(&self) -> bool {
        matches!(self, Self::Ended(_))
    }

    /// Worker `index`'s end, when it has ended (always, when blocking); None while it runs.
    /// The caller stores the ending back as [`Handle::Ended`].
    pub(super) fn reap(&mut self, index: usize, reaping: &mut Reaping<'_>) -> Option<Ending> {
        match self {
            Self::Ended(_) => None,
            Self::Pending => reaping.blocking.then(|| Ending::of(WorkerOutcome::Unstarted)),
            Self::Thread(thread) => {
                if !thread.is_finished() && !reaping.blocking {
                    return None;
                }
                let placeholder = Self::Ended(Ending::of(WorkerOutcome::Abandoned));
                let Self::Thread(thread) = std::mem::replace(self, placeholder) else {
                    return None;
                };
                let result = thread.join().unwrap_or_else(|payload| Err(threads::panic_message(payload.as_ref())));
                Some(Ending::of(WorkerOutcome::from_thread(result)))
            }
            Self::OnLoop(shared) => {
                let result = shared.result(index, reaping.blocking)?;
                Some(Ending::of(WorkerOutcome::from_thread(result)))
            }
            Self::Hosted(host) => {
                if reaping.host_status.is_none() {
                    let waited =
                        if reaping.blocking { processes::reap_blocking(*host) } else { processes::try_reap(*host) };
                    reaping.host_status = match waited {
                        Ok(None) => return None,
                        Ok(Some(reaped)) => Some(reaped.status),
                        Err(_) => Some(-1),
                    };
                }
                let status = reaping.host_status.unwrap_or(-1);
                let slot = reaping.board.slot(index);
                // A Python worker process, which only the host could wait for.
                if let Some(status) = slot.reported_exit() {
                    return Some(Ending::of(WorkerOutcome::from_wait_status(status, slot.state())));
                }
                Some(Ending::of(match slot.state() {
                    SlotState::Done => WorkerOutcome::Done,
                    SlotState::Cancelled => WorkerOutcome::Cancelled,
                    SlotState::Panicked => WorkerOutcome::Crashed(CrashReason::Panic("panicked in its thread".into())),
                    other => WorkerOutcome::from_wait_status(status, other),
                }))
            }
            Self::Process(pid) => {
                let waited = if reaping.blocking { processes::reap_blocking(*pid) } else { processes::try_reap(*pid) };
                let slot = reaping.board.slot(index);
                match waited {
                    Ok(None) => None,
                    Ok(Some(reaped)) => Some(Ending {
                        outcome: past_grace(
                            WorkerOutcome::from_wait_status(reaped.status, slot.state()),
                            slot.finished_ns.load(Ordering::Relaxed),
                            reaping.terminated_ns,
                        ),
                        cpu_ns: Some(reaped.cpu_ns),
                        max_rss_bytes: Some(reaped.max_rss_bytes),
                    }),
                    // ECHILD: someone else reaped it; nothing more can be known.
                    Err(_) => Some(Ending::of(WorkerOutcome::Failed(-1))),
                }
            }
        }
    }
}
