//! What the kernel's switches change in a worker's life: whether its thread is on a CPU and on
//! which, what its own intent is shown as while it is not, and the stretches it spent on each
//! CPU. Pure bookkeeping: the reader feeds it switches and intents in time order.
//!
//! A worker that means to compute (running or draining) and is off its CPU is shown by why it
//! left: preempted, it is `waiting for a CPU`; stopped by the engine (a paused process), it is
//! `paused`; gone of its own accord, it is whatever [`VoluntarySwitchOut`] says for its life,
//! `off CPU` unless told otherwise. A worker that means to wait (a lock, a blocking call, idle,
//! paused) is shown as it says, on a CPU or not: its record already names the cause.

use super::{CpuSlice, WorkerTimeline};
use crate::board::Activity;
use crate::engine::run::observer::{Switch, SwitchKind};

/// What a voluntary switch-out means while a worker's own record says it computes. One per
/// worker (every life of a replaced worker keeps it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VoluntarySwitchOut {
    /// The cause is not known: `off CPU`. The engine's own workers record every wait they
    /// choose (the emulated lock, blocking calls, pauses), so what is left is a wait inside the
    /// kernel that they cannot see: a page fault, a lock inside the allocator, a full pipe.
    #[default]
    OffCpu,
    /// A wait for an interpreter lock the worker cannot report: a CPython thread in a computing
    /// phase waits for the GIL in a futex while its own record still says it runs.
    LockWait,
}

impl VoluntarySwitchOut {
    /// The state such a switch-out shows.
    #[must_use]
    pub fn activity(self) -> Activity {
        match self {
            Self::OffCpu => Activity::OffCpu,
            Self::LockWait => Activity::LockWait,
        }
    }
}

/// Why a thread is off its CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OffBecause {
    /// The scheduler gave its CPU to another thread.
    Preempted,
    /// It waited in the kernel.
    Waited,
    /// It stopped: the engine paused its process with SIGSTOP.
    Stopped,
}

/// What the kernel last said of a worker's thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kernel {
    /// No switch seen: the worker's own word stands.
    Unwatched,
    /// Every switch from `from_ns` on is reported, none yet: the first tells whether the thread
    /// was on a CPU since then.
    Watched {
        from_ns: u64,
    },
    On {
        cpu: usize,
    },
    /// Off its CPU; `cpu` is the one it left.
    Off {
        cpu: usize,
        because: OffBecause,
    },
}

impl Kernel {
    /// The state `switch` leaves; `stopped` when the engine had stopped the run's processes then.
    #[must_use]
    pub(super) fn after(switch: Switch, stopped: bool) -> Self {
        let cpu = switch.cpu;
        match switch.kind {
            SwitchKind::In => Self::On { cpu },
            SwitchKind::OutPreempted => Self::Off { cpu, because: OffBecause::Preempted },
            SwitchKind::OutVoluntary if stopped => Self::Off { cpu, because: OffBecause::Stopped },
            SwitchKind::OutVoluntary => Self::Off { cpu, because: OffBecause::Waited },
        }
    }

    /// What a worker that means `intent` is shown doing.
    #[must_use]
    pub(super) fn shown(self, intent: Activity, meaning: VoluntarySwitchOut) -> Activity {
        let computing = matches!(intent, Activity::Running | Activity::Draining);
        match self {
            Self::Off { because, .. } if computing => match because {
                OffBecause::Preempted => Activity::WaitingForCpu,
                OffBecause::Waited => meaning.activity(),
                OffBecause::Stopped => Activity::Paused,
            },
            _ => intent,
        }
    }

    /// The CPU the kernel last put the thread on or took it off; else what the worker sampled.
    #[must_use]
    pub(super) fn cpu(self, sampled: Option<usize>) -> Option<usize> {
        match self {
            Self::On { cpu } | Self::Off { cpu, .. } => Some(cpu),
            Self::Unwatched | Self::Watched { .. } => sampled,
        }
    }

    #[must_use]
    pub(super) fn on_cpu(self) -> bool {
        matches!(self, Self::On { .. })
    }
}

impl WorkerTimeline {
    /// The life learns the kernel's state at `ns`: when it begins, or when the kernel begins to
    /// watch it. An open stretch on a CPU begins with it.
    pub(super) fn begin_watch(&mut self, kernel: Kernel, ns: u64) {
        if self.watched_from_ns.is_some() {
            return;
        }
        match kernel {
            Kernel::Unwatched => {}
            Kernel::Watched { from_ns } => self.watched_from_ns = Some(from_ns.max(ns)),
            Kernel::On { cpu } => {
                self.watched_from_ns = Some(ns);
                self.on_cpu.push(CpuSlice { start_ns: ns, end_ns: ns, cpu });
            }
            Kernel::Off { .. } => self.watched_from_ns = Some(ns),
        }
    }

    /// One switch of the life's thread, the kernel having said `before` until then: its
    /// stretches on a CPU follow. A switch whose partner was lost to a full ring leaves no
    /// stretch it cannot bound.
    pub(super) fn note_switch(&mut self, before: Kernel, switch: Switch) {
        let start = self.start_ns().unwrap_or(switch.ns);
        let ns = switch.ns.max(start);
        match (switch.kind, before) {
            (SwitchKind::In, _) => {
                if before.on_cpu() {
                    // Its switch out was lost: where the open stretch ended is not known.
                    self.on_cpu.pop();
                    self.lost_switches += 1;
                }
                self.watched_from_ns.get_or_insert(ns);
                self.on_cpu.push(CpuSlice { start_ns: ns, end_ns: ns, cpu: switch.cpu });
            }
            (SwitchKind::OutPreempted | SwitchKind::OutVoluntary, Kernel::On { .. }) => {
                if let Some(last) = self.on_cpu.last_mut() {
                    last.end_ns = ns.max(last.start_ns);
                }
            }
            (SwitchKind::OutPreempted | SwitchKind::OutVoluntary, Kernel::Watched { from_ns }) => {
                // The first switch since the kernel began to watch: on this CPU since then.
                let from = from_ns.max(start);
                self.watched_from_ns.get_or_insert(from);
                if ns > from {
                    self.on_cpu.push(CpuSlice { start_ns: from, end_ns: ns, cpu: switch.cpu });
                }
            }
            (SwitchKind::OutPreempted | SwitchKind::OutVoluntary, Kernel::Unwatched) => {
                self.watched_from_ns.get_or_insert(ns);
            }
            (SwitchKind::OutPreempted | SwitchKind::OutVoluntary, Kernel::Off { .. }) => {}
        }
    }

    /// The open stretch on a CPU (the thread is on one now) extends to `ns`.
    pub(super) fn extend_on_cpu(&mut self, ns: u64) {
        if let Some(last) = self.on_cpu.last_mut() {
            last.end_ns = last.end_ns.max(ns);
        }
    }

    /// The life ends at `ns`, its thread on a CPU then or not: no stretch outlasts it.
    pub(super) fn end_on_cpu(&mut self, ns: u64, on_cpu: bool) {
        if let Some(last) = self.on_cpu.last_mut() {
            let end = if on_cpu { ns } else { last.end_ns.min(ns) };
            last.end_ns = end.max(last.start_ns);
        }
    }
}
