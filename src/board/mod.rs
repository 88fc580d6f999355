//! The board: one shared-memory table of worker progress, used alike by threads and processes.
//!
//! It owns a `memfd` mapped `MAP_SHARED`, created once before any worker exists, so that forked
//! children inherit the very same pages. A header carries run-wide flags (generation, stop,
//! pause, next task for dynamic dispatch) and a fixed array of slots, one per worker, each
//! aligned to 128 bytes so that two workers never write the same cache line.
//!
//! Each slot also owns a ring of state changes (when, doing what, on which CPU) with one writer,
//! the worker, and a sequence counter so that a late reader knows how many events it missed.
//!
//! Whatever a workload shares lives in generic cells, the same for every workload: a run-wide
//! counter and lock word, a token bucket and a counting semaphore (`limits.rs`) in the header,
//! and in each slot the worker's own counter and memory figures. A workload picks the cells it
//! needs (through `workload::Cells`) and its summary says what they meant.
//!
//! Workers only store atomics here, at chunk boundaries: no lock, no syscall, no channel. It must
//! not know about workloads, launchers or screens.

use std::ffi::CStr;
use std::num::NonZeroUsize;
use std::os::fd::{AsRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::sys::mman::{mmap, munmap, MapFlags, ProtFlags};

mod clock;
mod futex;
pub mod layout;
mod limits;
mod mailbox;
mod ring;
mod slot;

pub use clock::{monotonic_ns, thread_cpu_ns};
pub use futex::{futex_wait, futex_wake};
pub use limits::{Bucket, Limits};
pub use mailbox::{Lane, Mailbox};
pub use ring::{Activity, RingRead, StateEvent, StateRing, RING_EVENTS};
pub use slot::{FailureNote, InjectedCrash, Slot, SlotState, FAILURE_NOTE_BYTES};

/// How many workers one run may have: the board's slot count.
pub const MAX_WORKERS: usize = 1024;

/// CPUs a slot can remember having run on (four 64-bit masks).
pub const MAX_TRACKED_CPUS: usize = 256;

/// Run-wide flags and counters.
#[repr(C, align(128))]
pub struct Header {
    /// Bumped for every run; a worker that sees another generation is stale and stops.
    pub generation: AtomicU64,
    /// Non-zero: stop handing out work (see [`StopLevel`]).
    pub stop: AtomicU32,
    /// Non-zero: thread workers wait at their next chunk boundary.
    pub pause: AtomicU32,
    /// Dynamic dispatch: the next task index to hand out, taken with `fetch_add`.
    pub next_task: AtomicU64,
    /// Total tasks of the current run.
    pub tasks_total: AtomicU64,
    /// A counter every worker of the run may update, whatever its workload counts in it.
    pub shared_counter: AtomicU64,
    /// A process-shared lock word a workload may guard `shared_counter` with: 0 free, 1 held.
    pub shared_lock: AtomicU32,
    /// A token bucket and a counting semaphore shared by every worker of the run.
    pub limits: Limits,
}

/// How hard a stop request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum StopLevel {
    Run = 0,
    /// Finish the task in hand, take no new one.
    AfterTask = 1,
    /// Stop at the next chunk boundary.
    AfterChunk = 2,
}

#[repr(C)]
struct Table {
    header: Header,
    slots: [Slot; MAX_WORKERS],
}

/// Failure to create the shared table.
#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    #[error("cannot create the shared progress board: {0}")]
    Create(nix::Error),
    /// A spawned worker was handed a descriptor that is not a board: refused before mapping.
    #[error("descriptor {fd} is not the shared progress board (a memfd of {len} bytes): it is {what}")]
    NotTheBoard { fd: i32, len: usize, what: String },
}

/// The shared table. Cheap to share between threads; a forked child keeps the same mapping.
pub struct Board {
    table: NonNull<Table>,
    fd: OwnedFd,
}

// SAFETY: every field reachable through `table` is an atomic; the mapping lives as long as the
// Board and is never moved.
unsafe impl Send for Board {}
// SAFETY: as above, shared access only ever goes through atomics.
unsafe impl Sync for Board {}

impl Board {
    /// Maps a fresh zeroed table. Call once, before any worker exists.
    pub fn create() -> Result<Self, BoardError> {
        const NAME: &CStr = c"concur-tui-board";
        let fd = memfd_create(NAME, MFdFlags::MFD_CLOEXEC).map_err(BoardError::Create)?;
        let len = std::mem::size_of::<Table>();
        let len_off = libc::off_t::try_from(len).map_err(|_| BoardError::Create(nix::Error::EOVERFLOW))?;
        nix::unistd::ftruncate(&fd, len_off).map_err(BoardError::Create)?;
        let nonzero = NonZeroUsize::new(len).ok_or(BoardError::Create(nix::Error::EINVAL))?;
        // SAFETY: a fresh shared mapping of our own memfd; nothing else aliases it yet.
        let ptr =
            unsafe { mmap(None, nonzero, ProtFlags::PROT_READ | ProtFlags::PROT_WRITE, MapFlags::MAP_SHARED, &fd, 0) }
                .map_err(BoardError::Create)?;
        // The file is zero-filled and all-zero bytes are valid atomics. Nothing is written
        // here: a slot is reset before the run that uses it, and a page never touched is not
        // in this process's page tables, which every fork would otherwise walk (a populated
        // 4 MiB board added 70-90 µs to each fork here, as much as the fork itself).
        Ok(Self { table: ptr.cast(), fd })
    }

    /// Maps the board a parent created, from the descriptor a re-executed worker inherited.
    /// Anything but a memfd of the table's size is refused: a file of the same size would be
    /// mapped and written as if it were the board.
    pub fn from_fd(fd: OwnedFd) -> Result<Self, BoardError> {
        let len = NonZeroUsize::new(std::mem::size_of::<Table>()).ok_or(BoardError::Create(nix::Error::EINVAL))?;
        let raw = fd.as_raw_fd();
        let refuse = |what: String| BoardError::NotTheBoard { fd: raw, len: len.get(), what };
        let target = std::fs::read_link(format!("/proc/self/fd/{raw}"))
            .map_err(|error| refuse(format!("unreadable ({error})")))?;
        if !target.as_os_str().as_encoded_bytes().starts_with(b"/memfd:") {
            return Err(refuse(target.display().to_string()));
        }
        let size = nix::sys::stat::fstat(&fd).map_err(BoardError::Create)?.st_size;
        if usize::try_from(size).ok() != Some(len.get()) {
            return Err(refuse(format!("a memfd of {size} bytes")));
        }
        // SAFETY: a shared mapping of a memfd of exactly the table's size, zero-filled or
        // written by the parent; only atomics are accessed through it.
        let ptr =
            unsafe { mmap(None, len, ProtFlags::PROT_READ | ProtFlags::PROT_WRITE, MapFlags::MAP_SHARED, &fd, 0) }
                .map_err(BoardError::Create)?;
        Ok(Self { table: ptr.cast(), fd })
    }

    fn table(&self) -> &Table {
        // SAFETY: mapped in `create`, unmapped only in `drop`, and only atomics inside.
        unsafe { self.table.as_ref() }
    }

    #[must_use]
    pub fn header(&self) -> &Header {
        &self.table().header
    }

    #[must_use]
    pub fn slots(&self) -> &[Slot] {
        &self.table().slots
    }

    /// The slot of worker `index`. Panics on an index past [`MAX_WORKERS`]: plans are validated first.
    #[must_use]
    pub fn slot(&self, index: usize) -> &Slot {
        &self.table().slots[index]
    }

    /// The descriptor a re-executed worker can map.
    #[must_use]
    pub fn raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    /// Clears the header and the first `workers` slots for a new run and returns its generation.
    /// Only call while no worker of an earlier run can still write.
    pub fn begin_run(&self, workers: usize, tasks_total: u64) -> u64 {
        let header = self.header();
        let generation = header.generation.load(Ordering::Relaxed) + 1;
        header.stop.store(StopLevel::Run as u32, Ordering::Relaxed);
        header.pause.store(0, Ordering::Relaxed);
        header.next_task.store(0, Ordering::Relaxed);
        header.tasks_total.store(tasks_total, Ordering::Relaxed);
        header.shared_counter.store(0, Ordering::Relaxed);
        header.shared_lock.store(0, Ordering::Relaxed);
        header.limits.reset();
        for slot in &self.slots()[..workers.min(MAX_WORKERS)] {
            slot.reset(generation);
        }
        header.generation.store(generation, Ordering::Release);
        generation
    }

    pub fn request_stop(&self, level: StopLevel) {
        self.header().stop.fetch_max(level as u32, Ordering::AcqRel);
    }

    #[must_use]
    pub fn stop_level(&self) -> u32 {
        self.header().stop.load(Ordering::Relaxed)
    }

    pub fn set_paused(&self, paused: bool) {
        self.header().pause.store(u32::from(paused), Ordering::Release);
    }
}

impl Drop for Board {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `create`, with its length; no reference outlives `self`.
        unsafe {
            let _ = munmap(self.table.cast(), std::mem::size_of::<Table>());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_never_share_a_cache_line() {
        assert_eq!(std::mem::align_of::<Slot>(), 128);
        assert_eq!(std::mem::size_of::<Slot>() % 128, 0);
        assert_eq!(std::mem::size_of::<Header>() % 128, 0);
    }

    #[test]
    fn a_new_run_clears_slots_and_bumps_the_generation() {
        let board = Board::create().expect("memfd");
        let first = board.begin_run(2, 10);
        board.slot(1).note_core(3);
        Slot::add(&board.slot(1).tasks_done, 4);
        board.request_stop(StopLevel::AfterChunk);
        let second = board.begin_run(2, 10);
        assert_eq!(second, first + 1);
        assert_eq!(board.slot(1).tasks_done.load(Ordering::Relaxed), 0);
        assert!(board.slot(1).cores_seen().is_empty());
        assert_eq!(board.stop_level(), 0);
    }

    #[test]
    fn cores_seen_is_a_set() {
        let board = Board::create().expect("memfd");
        board.begin_run(1, 1);
        for cpu in [5, 1, 5, 130] {
            board.slot(0).note_core(cpu);
        }
        assert_eq!(board.slot(0).cores_seen(), vec![1, 5, 130]);
        assert_eq!(board.slot(0).core.load(Ordering::Relaxed), 130);
    }

    #[test]
    fn a_forked_child_writes_what_the_parent_reads() {
        let board = Board::create().expect("memfd");
        board.begin_run(1, 1);
        // SAFETY: the child only stores an atomic and calls _exit.
        match unsafe { nix::unistd::fork() }.expect("fork") {
            nix::unistd::ForkResult::Child => {
                board.slot(0).tasks_done.store(42, Ordering::Relaxed);
                // SAFETY: leave without running the test harness's destructors.
                unsafe { libc::_exit(0) }
            }
            nix::unistd::ForkResult::Parent { child } => {
                nix::sys::wait::waitpid(child, None).expect("waitpid");
                assert_eq!(board.slot(0).tasks_done.load(Ordering::Relaxed), 42);
            }
        }
    }
}
