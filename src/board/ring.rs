//! Each worker's ring of state changes: when (CLOCK_MONOTONIC), doing what ([`Activity`]), on
//! which CPU. One writer per ring, the worker, with plain atomic stores and no syscall; any number
//! of readers, each with a sequence number that tells it how many events it missed. The ring
//! lives in the worker's board slot, so threads, forked and spawned processes record alike. It
//! knows nothing of timelines, traces or screens: the engine reads it into those.

use std::sync::atomic::{fence, AtomicU64, Ordering};

/// The packed word's fields: CPU + 1 in bits 8 to 39, the sequence tag in 40 to 63.
const CPU_FIELD: u64 = (1 << 32) - 1;
const TAG_SHIFT: u32 = 40;

/// Entry `seq`'s tag, in place in the packed word.
fn tag(seq: u64) -> u64 {
    (seq & ((1 << (64 - TAG_SHIFT)) - 1)) << TAG_SHIFT
}

/// Events one worker's ring holds: 256 × 16 bytes, 4 KiB per worker, 4 MiB for the whole board
/// (pages are only backed once a worker writes them).
pub const RING_EVENTS: usize = 256;

/// What a worker is doing, as its ring records it and the timeline shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Activity {
    /// No task in hand: before the first, between two.
    Idle = 0,
    /// Computing a task.
    Running = 1,
    /// Waiting for the emulated interpreter lock while another worker holds it.
    LockWait = 2,
    /// In a wait that uses no CPU: a sleep, I/O, an exchange with the coordinator.
    Blocked = 3,
    Paused = 4,
    /// Computing after a stop request, until the task or chunk in hand is done.
    Draining = 5,
    /// The worker left its loop; nothing follows.
    End = 6,
    /// Meant to run, but the kernel had taken its CPU for another thread (a preemption) and
    /// had not given one back yet. Never written by a worker: the engine's timeline derives it
    /// from the kernel's context switches.
    WaitingForCpu = 7,
    /// Meant to run, but its thread left the CPU of its own accord (a wait in the kernel) and
    /// nothing it recorded says why: neither a lock wait, a blocking call nor a pause. Never
    /// written by a worker: the engine's timeline derives it from the kernel's switches, so that
    /// such time is named for what is known of it and never shown as running.
    OffCpu = 8,
}

impl Activity {
    pub const ALL: [Self; 9] = [
        Self::Idle,
        Self::Running,
        Self::LockWait,
        Self::Blocked,
        Self::Paused,
        Self::Draining,
        Self::End,
        Self::WaitingForCpu,
        Self::OffCpu,
    ];

    #[must_use]
    pub fn from_raw(raw: u8) -> Option<Self> {
        Self::ALL.get(usize::from(raw)).copied()
    }

    /// The name the dashboard and the trace give this state.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Running => "running",
            Self::LockWait => "lock wait",
            Self::Blocked => "blocked",
            Self::Paused => "paused",
            Self::Draining => "draining",
            Self::End => "end",
            Self::WaitingForCpu => "waiting for a CPU",
            Self::OffCpu => "off CPU",
        }
    }
}

/// One state change: when (CLOCK_MONOTONIC ns), what, and on which CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateEvent {
    pub ns: u64,
    pub activity: Activity,
    pub cpu: Option<usize>,
}

/// One slot of a ring: the instant and the packed activity, CPU and sequence tag
/// (`activity | (cpu + 1) << 8 | (seq mod 2^24) << 40`, CPU 0 meaning unknown). The tag lets a
/// reader tell an entry already written from the one it replaces, whatever order the writer's
/// stores reach it in: a Python worker stores with plain writes, which aarch64 may reorder.
#[derive(Default)]
#[repr(C)]
struct RingEntry {
    ns: AtomicU64,
    what: AtomicU64,
}

/// A worker's ring of state changes: one writer (the worker), any number of readers, no lock.
///
/// The writer fills entry `seq % RING_EVENTS` and then publishes `head = seq + 1`. A reader
/// that falls more than a ring behind loses the oldest events, and [`StateRing::read`] says how
/// many; it never returns an entry the writer was overwriting while it was read (a seqlock
/// turned sideways: the head read again after the entries tells which ones may have changed).
#[repr(C, align(128))]
pub struct StateRing {
    /// Events written since the run began: the sequence number of the next one.
    head: AtomicU64,
    entries: [RingEntry; RING_EVENTS],
}

/// What [`StateRing::read`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingRead {
    /// Pass this as `from` next time.
    pub next: u64,
    /// Events overwritten before this reader saw them.
    pub missed: u64,
}

/// Offsets of an entry's two words, for the board's layout.
pub(super) struct RingEntryLayout {
    pub ns: usize,
    pub what: usize,
}

impl RingEntryLayout {
    pub(super) fn offsets() -> Self {
        Self { ns: std::mem::offset_of!(RingEntry, ns), what: std::mem::offset_of!(RingEntry, what) }
    }
}

impl StateRing {
    /// Offsets of the head and the entries in the ring, and an entry's size.
    pub(super) fn layout() -> (usize, usize, usize) {
        (
            std::mem::offset_of!(StateRing, head),
            std::mem::offset_of!(StateRing, entries),
            std::mem::size_of::<RingEntry>(),
        )
    }

    /// Appends one event. Only the ring's own worker may call this: there is one writer.
    #[inline]
    pub fn record(&self, ns: u64, activity: Activity, cpu: Option<usize>) {
        let seq = self.head.load(Ordering::Relaxed);
        let entry = &self.entries[(seq % RING_EVENTS as u64) as usize];
        let cpu = cpu
            .and_then(|cpu| u32::try_from(cpu).ok())
            .and_then(|cpu| cpu.checked_add(1))
            .filter(|cpu| u64::from(*cpu) <= CPU_FIELD)
            .unwrap_or(0);
        // Orders the previous `head` store before this entry's stores: a reader that sees any
        // of them also sees a head that tells it the entry is being replaced.
        fence(Ordering::Release);
        entry.ns.store(ns, Ordering::Relaxed);
        entry.what.store(u64::from(activity as u8) | (u64::from(cpu) << 8) | tag(seq), Ordering::Relaxed);
        self.head.store(seq + 1, Ordering::Release);
    }

    /// Events written so far.
    #[must_use]
    pub fn head(&self) -> u64 {
        self.head.load(Ordering::Acquire)
    }

    /// Appends the events from sequence number `from` on to `out`. Costs one load when nothing
    /// changed.
    pub fn read(&self, from: u64, out: &mut Vec<StateEvent>) -> RingRead {
        let head = self.head.load(Ordering::Acquire);
        if head <= from {
            // Nothing new (or the ring was reset for a newer run, which this reader must ignore).
            return RingRead { next: from.max(head), missed: 0 };
        }
        let first = from.max(head.saturating_sub(RING_EVENTS as u64));
        let before = out.len();
        let mut head = head;
        let mut last_ns = 0;
        for seq in first..head {
            let entry = &self.entries[(seq % RING_EVENTS as u64) as usize];
            let what = entry.what.load(Ordering::Relaxed);
            let ns = entry.ns.load(Ordering::Relaxed);
            // A writer whose stores arrive out of order (plain stores on aarch64) may have
            // published the head before this entry: its tag or its time is then the one of the
            // event it replaces. It is read at the next call, once it has arrived.
            if what & !((1 << TAG_SHIFT) - 1) != tag(seq) || ns < last_ns {
                head = seq;
                break;
            }
            last_ns = ns;
            let cpu = (((what >> 8) & CPU_FIELD) as u32).checked_sub(1).map(|cpu| cpu as usize);
            // An unknown activity can only come from a torn entry, which the check below drops.
            let activity = Activity::from_raw((what & 0xff) as u8).unwrap_or(Activity::Idle);
            out.push(StateEvent { ns, activity, cpu });
        }
        fence(Ordering::Acquire);
        // Entry `seq` is intact unless the writer had begun event `seq + RING_EVENTS` meanwhile.
        let now = self.head.load(Ordering::Relaxed);
        let valid_from = first.max((now + 1).saturating_sub(RING_EVENTS as u64)).min(head);
        let torn = (valid_from - first) as usize;
        out.drain(before..before + torn);
        RingRead { next: head, missed: valid_from - from }
    }

    pub(super) fn reset(&self) {
        self.head.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::Board;

    fn events(ring: &StateRing, from: u64) -> (Vec<StateEvent>, RingRead) {
        let mut out = Vec::new();
        let read = ring.read(from, &mut out);
        (out, read)
    }

    #[test]
    fn a_ring_gives_back_its_events_in_order_and_nothing_twice() {
        let board = Board::create().expect("memfd");
        board.begin_run(1, 1);
        let ring = &board.slot(0).ring;
        assert_eq!(events(ring, 0), (Vec::new(), RingRead { next: 0, missed: 0 }));
        ring.record(10, Activity::Idle, Some(3));
        ring.record(20, Activity::Running, None);
        let (got, read) = events(ring, 0);
        assert_eq!(
            got,
            vec![
                StateEvent { ns: 10, activity: Activity::Idle, cpu: Some(3) },
                StateEvent { ns: 20, activity: Activity::Running, cpu: None },
            ]
        );
        assert_eq!(read, RingRead { next: 2, missed: 0 });
        assert_eq!(events(ring, read.next), (Vec::new(), RingRead { next: 2, missed: 0 }));
        board.begin_run(1, 1);
        assert_eq!(board.slot(0).ring.head(), 0, "a new run starts an empty ring");
    }

    #[test]
    fn a_reader_that_falls_a_ring_behind_is_told_how_many_it_missed() {
        let board = Board::create().expect("memfd");
        board.begin_run(1, 1);
        let ring = &board.slot(0).ring;
        let total = 3 * RING_EVENTS as u64 + 5;
        for seq in 0..total {
            ring.record(seq, Activity::ALL[(seq % 6) as usize], Some((seq % 7) as usize));
        }
        let (got, read) = events(ring, 4);
        assert_eq!(read.next, total);
        assert_eq!(read.missed + got.len() as u64, total - 4);
        assert!(got.len() >= RING_EVENTS - 1, "only {} kept", got.len());
        let first = total - got.len() as u64;
        for (event, seq) in got.iter().zip(first..) {
            assert_eq!(event.ns, seq);
            assert_eq!(event.cpu, Some((seq % 7) as usize));
        }
    }

    #[test]
    fn a_reader_racing_the_writer_never_sees_a_torn_event() {
        let board = Board::create().expect("memfd");
        board.begin_run(1, 1);
        let total = 200_000u64;
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for seq in 0..total {
                    board.slot(0).ring.record(seq, Activity::ALL[(seq % 6) as usize], Some((seq % 97) as usize));
                }
            });
            let (mut next, mut seen, mut missed) = (0u64, 0u64, 0u64);
            let mut out = Vec::new();
            while next < total {
                out.clear();
                let read = board.slot(0).ring.read(next, &mut out);
                let first = next + read.missed;
                for (event, seq) in out.iter().zip(first..) {
                    assert_eq!(event.ns, seq, "events out of order or torn");
                    assert_eq!(event.activity, Activity::ALL[(seq % 6) as usize], "torn at {seq}");
                    assert_eq!(event.cpu, Some((seq % 97) as usize), "torn at {seq}");
                }
                assert_eq!(first + out.len() as u64, read.next);
                seen += out.len() as u64;
                missed += read.missed;
                next = read.next;
            }
            assert_eq!(seen + missed, total);
        });
    }

    #[test]
    fn a_forked_child_records_what_the_parent_reads() {
        let board = Board::create().expect("memfd");
        board.begin_run(1, 1);
        // SAFETY: the child only stores atomics and calls _exit.
        match unsafe { nix::unistd::fork() }.expect("fork") {
            nix::unistd::ForkResult::Child => {
                board.slot(0).ring.record(5, Activity::Blocked, Some(1));
                board.slot(0).ring.record(9, Activity::End, Some(1));
                // SAFETY: leave without running the test harness's destructors.
                unsafe { libc::_exit(0) }
            }
            nix::unistd::ForkResult::Parent { child } => {
                nix::sys::wait::waitpid(child, None).expect("waitpid");
                let (got, _) = events(&board.slot(0).ring, 0);
                let activities: Vec<_> = got.iter().map(|event| event.activity).collect();
                assert_eq!(activities, vec![Activity::Blocked, Activity::End]);
            }
        }
    }
}
