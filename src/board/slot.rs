//! One worker's row of the board ([`Slot`]), what it is doing ([`SlotState`]), why it failed
//! ([`FailureNote`]), and a crash the engine may ask of it ([`InjectedCrash`]). Written only by
//! that worker, and by the engine before the worker starts.

use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};

use super::{Mailbox, StateRing, MAX_TRACKED_CPUS};

/// The lifecycle of one worker as stored in its slot (DESIGN.md's worker state machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum SlotState {
    Pending = 0,
    Running = 1,
    Paused = 2,
    Draining = 3,
    Done = 4,
    Cancelled = 5,
    /// The worker caught its own panic and recorded it before leaving.
    Panicked = 6,
    /// A task could not be done (its line broke): the worker left without finishing.
    Failed = 7,
}

impl SlotState {
    #[must_use]
    pub fn from_raw(raw: u32) -> Self {
        match raw {
            1 => Self::Running,
            2 => Self::Paused,
            3 => Self::Draining,
            4 => Self::Done,
            5 => Self::Cancelled,
            6 => Self::Panicked,
            7 => Self::Failed,
            _ => Self::Pending,
        }
    }
}

/// One worker's row. Written only by that worker (and by the engine before the worker starts).
#[repr(C, align(128))]
pub struct Slot {
    pub state: AtomicU32,
    /// Last CPU seen at a chunk boundary, -1 before the first.
    pub core: AtomicI32,
    pub pid: AtomicI32,
    pub tid: AtomicI32,
    pub tasks_done: AtomicU64,
    pub tasks_total: AtomicU64,
    /// Units done inside the current task, and how many it has.
    pub units_done: AtomicU64,
    pub units_total: AtomicU64,
    /// Every CPU seen at a chunk boundary, as a bit set.
    pub cores_seen: [AtomicU64; MAX_TRACKED_CPUS / 64],
    /// Thread CPU time, updated at task boundaries.
    pub cpu_ns: AtomicU64,
    /// Time spent waiting for the emulated interpreter lock.
    pub lock_wait_ns: AtomicU64,
    /// CLOCK_MONOTONIC instants (ns): asked for, first instruction, left.
    pub requested_ns: AtomicU64,
    pub started_ns: AtomicU64,
    pub finished_ns: AtomicU64,
    /// Wrapping sum of the digests of the tasks this worker completed.
    pub digest: AtomicU64,
    /// Which run this slot belongs to.
    pub generation: AtomicU64,
    /// Time spent inside tasks, for busy and idle figures.
    pub busy_ns: AtomicU64,
    /// This worker's own counter, whatever its workload counts in it (read by the workload's
    /// summary at the end: one number per worker).
    pub own_counter: AtomicU64,
    /// Resident and proportional set size the worker measured of itself, if its workload does.
    pub rss_bytes: AtomicU64,
    pub pss_bytes: AtomicU64,
    /// The task in hand plus one (0: none), and the end of the block it grabbed: what a
    /// replacement must redo when this worker crashes.
    pub current_task: AtomicU64,
    pub block_end: AtomicU64,
    /// A crash the engine asked this worker to commit at its next chunk boundary
    /// ([`InjectedCrash`] as u32, 0 for none): the dashboard's `x`, to show isolation.
    pub inject: AtomicU32,
    /// Permits of the run's semaphore ([`super::Limits`]) this worker holds, so that the engine can
    /// give back those of a worker that died holding them.
    pub permits_held: AtomicU32,
    /// Bytes this worker sent and received over its line, and the time it spent exchanging.
    pub line_bytes: AtomicU64,
    pub line_ns: AtomicU64,
    /// The wait status of this worker's process as another process saw it: set by a Python
    /// host for each worker process it reaped (`exit_known` 1), since only the host can wait
    /// for them.
    pub exit_status: AtomicI32,
    pub exit_known: AtomicU32,
    /// Why a task failed, in one line, when the worker ends as [`SlotState::Failed`].
    pub failure: FailureNote,
    /// The `shm` transport's two lanes between this worker and the coordinator.
    pub mailbox: Mailbox,
    /// Every change of what this worker does, for the timeline and the trace.
    pub ring: StateRing,
}

/// Bytes of a failure's reason a slot holds; a longer reason is cut, at a character, with `…`.
pub const FAILURE_NOTE_BYTES: usize = 248;

/// What ends a cut reason.
const ELLIPSIS: &str = "…";

/// A failed task's reason (the OS error, in one line), written by its worker and read by the
/// engine once the worker has ended: the only way a reason leaves a worker process, which must
/// not print. Writing takes no lock and allocates nothing, so a forked child may do it.
#[repr(C)]
pub struct FailureNote {
    /// Bytes of the text, stored last (release) so that a reader never sees half of it.
    len: AtomicU32,
    text: [AtomicU64; FAILURE_NOTE_BYTES / 8],
}

impl FailureNote {
    pub(super) const LEN_OFFSET: usize = std::mem::offset_of!(FailureNote, len);
    pub(super) const TEXT_OFFSET: usize = std::mem::offset_of!(FailureNote, text);

    /// Stores `reason`, cut to what fits, its line breaks made spaces.
    pub fn write(&self, reason: &str) {
        let mut bytes = [0u8; FAILURE_NOTE_BYTES];
        let mut len = 0;
        for ch in reason.chars() {
            let ch = if ch.is_control() { ' ' } else { ch };
            let mut utf8 = [0u8; 4];
            let encoded = ch.encode_utf8(&mut utf8).as_bytes();
            if len + encoded.len() > FAILURE_NOTE_BYTES - ELLIPSIS.len() && reason.len() > FAILURE_NOTE_BYTES {
                bytes[len..len + ELLIPSIS.len()].copy_from_slice(ELLIPSIS.as_bytes());
                len += ELLIPSIS.len();
                break;
            }
            bytes[len..len + encoded.len()].copy_from_slice(encoded);
            len += encoded.len();
        }
        for (word, chunk) in self.text.iter().zip(bytes.chunks_exact(8)) {
            let mut eight = [0u8; 8];
            eight.copy_from_slice(chunk);
            word.store(u64::from_le_bytes(eight), Ordering::Relaxed);
        }
        self.len.store(u32::try_from(len).unwrap_or(0), Ordering::Release);
    }

    /// The reason stored, if any.
    #[must_use]
    pub fn read(&self) -> Option<String> {
        let len = (self.len.load(Ordering::Acquire) as usize).min(FAILURE_NOTE_BYTES);
        if len == 0 {
            return None;
        }
        let bytes: Vec<u8> =
            self.text.iter().flat_map(|word| word.load(Ordering::Relaxed).to_le_bytes()).take(len).collect();
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn clear(&self) {
        self.len.store(0, Ordering::Relaxed);
    }
}

/// A crash a worker commits on request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum InjectedCrash {
    /// A Rust panic: caught in a thread, fatal to a process's worker alone.
    Panic = 1,
    /// A real invalid memory access.
    Segfault = 2,
}

impl InjectedCrash {
    #[must_use]
    pub fn from_raw(raw: u32) -> Option<Self> {
        match raw {
            1 => Some(Self::Panic),
            2 => Some(Self::Segfault),
            _ => None,
        }
    }
}

impl Slot {
    pub(super) fn reset(&self, generation: u64) {
        self.state.store(SlotState::Pending as u32, Ordering::Relaxed);
        self.core.store(-1, Ordering::Relaxed);
        self.pid.store(0, Ordering::Relaxed);
        self.tid.store(0, Ordering::Relaxed);
        for counter in [
            &self.tasks_done,
            &self.tasks_total,
            &self.units_done,
            &self.units_total,
            &self.cpu_ns,
            &self.lock_wait_ns,
            &self.requested_ns,
            &self.started_ns,
            &self.finished_ns,
            &self.digest,
            &self.busy_ns,
            &self.own_counter,
            &self.rss_bytes,
            &self.pss_bytes,
            &self.current_task,
            &self.block_end,
            &self.line_bytes,
            &self.line_ns,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
        for mask in &self.cores_seen {
            mask.store(0, Ordering::Relaxed);
        }
        self.inject.store(0, Ordering::Relaxed);
        self.permits_held.store(0, Ordering::Relaxed);
        self.exit_status.store(0, Ordering::Relaxed);
        self.exit_known.store(0, Ordering::Relaxed);
        self.failure.clear();
        self.ring.reset();
        self.generation.store(generation, Ordering::Release);
    }

    /// The wait status another process reported for this worker's process, if any.
    #[must_use]
    pub fn reported_exit(&self) -> Option<i32> {
        (self.exit_known.load(Ordering::Acquire) != 0).then(|| self.exit_status.load(Ordering::Relaxed))
    }

    #[must_use]
    pub fn state(&self) -> SlotState {
        SlotState::from_raw(self.state.load(Ordering::Acquire))
    }

    pub fn set_state(&self, state: SlotState) {
        self.state.store(state as u32, Ordering::Release);
    }

    /// Remembers `cpu` as seen. One writer per slot, so load-then-store is enough.
    #[inline]
    pub fn note_core(&self, cpu: usize) {
        self.core.store(i32::try_from(cpu).unwrap_or(-1), Ordering::Relaxed);
        if cpu < MAX_TRACKED_CPUS {
            let mask = &self.cores_seen[cpu / 64];
            let bit = 1u64 << (cpu % 64);
            let seen = mask.load(Ordering::Relaxed);
            if seen & bit == 0 {
                mask.store(seen | bit, Ordering::Relaxed);
            }
        }
    }

    /// Every CPU this worker was seen on, ascending.
    #[must_use]
    pub fn cores_seen(&self) -> Vec<usize> {
        let mut cores = Vec::new();
        for (word, mask) in self.cores_seen.iter().enumerate() {
            let bits = mask.load(Ordering::Relaxed);
            for bit in 0..64 {
                if bits & (1 << bit) != 0 {
                    cores.push(word * 64 + bit);
                }
            }
        }
        cores
    }

    pub fn add(counter: &AtomicU64, amount: u64) {
        counter.store(counter.load(Ordering::Relaxed).wrapping_add(amount), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note() -> FailureNote {
        FailureNote { len: AtomicU32::new(0), text: std::array::from_fn(|_| AtomicU64::new(0)) }
    }

    #[test]
    fn a_failure_note_keeps_one_line_and_cuts_a_long_one_at_a_character() {
        let failure = note();
        assert_eq!(failure.read(), None);
        failure.write("disk: cannot make /nonexistent/x: No such file or directory (os error 2)\nmore");
        assert_eq!(
            failure.read().as_deref(),
            Some("disk: cannot make /nonexistent/x: No such file or directory (os error 2) more")
        );
        let long = "é".repeat(FAILURE_NOTE_BYTES);
        failure.write(&long);
        let kept = failure.read().expect("a note");
        assert!(kept.len() <= FAILURE_NOTE_BYTES && kept.ends_with('…') && kept.starts_with("éé"), "{kept}");
        failure.clear();
        assert_eq!(failure.read(), None);
    }
}
