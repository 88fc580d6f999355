//! One thread's context switches from the kernel: a `perf_event_open` software event with
//! `context_switch` records, read from its own small mmap ring. Opening, reading and closing
//! only; which threads to watch and what the switches mean is the observer's and the timeline's.
//!
//! The attribute struct is written out here (the 112-byte `PERF_ATTR_SIZE_VER5` layout of
//! `linux/perf_event.h`) rather than taken from a crate: the few fields it needs are stable ABI.

use std::ptr::NonNull;
use std::sync::atomic::{fence, AtomicU64, Ordering};

use nix::errno::Errno;

const PERF_TYPE_SOFTWARE: u32 = 1;
/// Counts nothing: the event exists only for its side-band records (the switches).
const PERF_COUNT_SW_DUMMY: u64 = 9;
const PERF_SAMPLE_TID: u64 = 1 << 1;
const PERF_SAMPLE_TIME: u64 = 1 << 2;
const PERF_SAMPLE_CPU: u64 = 1 << 7;
const FLAG_EXCLUDE_KERNEL: u64 = 1 << 5;
const FLAG_EXCLUDE_HV: u64 = 1 << 6;
const FLAG_SAMPLE_ID_ALL: u64 = 1 << 18;
const FLAG_USE_CLOCKID: u64 = 1 << 25;
const FLAG_CONTEXT_SWITCH: u64 = 1 << 26;
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 1 << 3;
const PERF_RECORD_SWITCH: u32 = 14;
const PERF_RECORD_MISC_SWITCH_OUT: u16 = 1 << 13;
const PERF_RECORD_MISC_SWITCH_OUT_PREEMPT: u16 = 1 << 14;
/// Where `data_head` and `data_tail` sit in `perf_event_mmap_page`.
const DATA_HEAD_OFFSET: usize = 1024;
const DATA_TAIL_OFFSET: usize = 1032;
/// One page of records (128 switches of 32 bytes) beside the header page: the engine reads it
/// at every poll, and a thread is rarely switched more than a few hundred times a second. Small,
/// because every page counts against the user's locked-memory allowance for perf buffers.
const DATA_PAGES: usize = 1;

/// `struct perf_event_attr`, `PERF_ATTR_SIZE_VER5`.
#[repr(C)]
#[derive(Default)]
struct PerfEventAttr {
    kind: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    config1: u64,
    config2: u64,
    branch_sample_type: u64,
    sample_regs_user: u64,
    sample_stack_user: u32,
    clockid: i32,
    sample_regs_intr: u64,
    aux_watermark: u32,
    sample_max_stack: u16,
    reserved: u16,
}

/// Which way a thread went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SwitchKind {
    /// Onto a CPU.
    In,
    /// Off its CPU because it waited (a sleep, I/O, a futex): it chose to.
    OutVoluntary,
    /// Off its CPU while it could still run: the scheduler gave the CPU to another thread.
    OutPreempted,
}

/// One context switch of one thread, on the clock of the board's rings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Switch {
    /// CLOCK_MONOTONIC nanoseconds.
    pub(crate) ns: u64,
    pub(crate) kind: SwitchKind,
    pub(crate) cpu: usize,
}

/// Why a thread's switches could not be watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PerfError {
    /// The kernel refuses perf events to this user (seccomp, `perf_event_paranoid`, no
    /// support): asking again for another thread would be refused too.
    Refused(Errno),
    /// This one thread could not be watched: it is gone, or no descriptor or locked memory
    /// is left.
    Failed(Errno),
}

/// An open perf event on one thread and its ring; closed (descriptor and mapping) when dropped.
#[derive(Debug)]
pub(crate) struct SwitchStream {
    /// Held open for the ring's life, closed after the unmapping as it drops.
    _event: std::os::fd::OwnedFd,
    ring: NonNull<u8>,
    ring_len: usize,
    data_len: usize,
    page: usize,
}

// SAFETY: the mapping is owned by this value alone and only read or written through `&mut self`.
unsafe impl Send for SwitchStream {}

impl SwitchStream {
    /// Starts recording the switches of thread `tid` (of any of the user's own processes).
    pub(crate) fn open(tid: i32) -> Result<Self, PerfError> {
        let attr = PerfEventAttr {
            kind: PERF_TYPE_SOFTWARE,
            size: u32::try_from(std::mem::size_of::<PerfEventAttr>()).unwrap_or(112),
            config: PERF_COUNT_SW_DUMMY,
            sample_type: PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU,
            // Kernel and hypervisor excluded: what an unprivileged user may ask for at
            // perf_event_paranoid 2; the switch records come all the same.
            flags: FLAG_EXCLUDE_KERNEL | FLAG_EXCLUDE_HV | FLAG_SAMPLE_ID_ALL | FLAG_USE_CLOCKID | FLAG_CONTEXT_SWITCH,
            clockid: libc::CLOCK_MONOTONIC,
            ..PerfEventAttr::default()
        };
        // SAFETY: `attr` is a valid, fully initialised perf_event_attr of the size it declares
        // and outlives the call; the other arguments are plain integers.
        let raw = unsafe {
            libc::syscall(
                libc::SYS_perf_event_open,
                std::ptr::addr_of!(attr),
                libc::pid_t::from(tid),
                -1 as libc::c_int,
                -1 as libc::c_int,
                PERF_FLAG_FD_CLOEXEC,
            )
        };
        let raw = i32::try_from(raw).map_err(|_| PerfError::Failed(Errno::EINVAL))?;
        if raw < 0 {
            let errno = Errno::last();
            return Err(match errno {
                Errno::EACCES | Errno::EPERM | Errno::ENOSYS | Errno::ENOENT | Errno::EOPNOTSUPP => {
                    PerfError::Refused(errno)
                }
                _ => PerfError::Failed(errno),
            });
        }
        // SAFETY: the kernel just returned this descriptor to us, and nothing else owns it.
        let fd = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) };
        let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
            .ok()
            .flatten()
            .map_or(4096, |size| usize::try_from(size).unwrap_or(4096));
        let ring_len = page * (1 + DATA_PAGES);
        // SAFETY: a fresh shared mapping of the event's ring, the length the kernel expects
        // (1 + 2^n pages); the result is checked before use.
        let ring = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                ring_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                std::os::fd::AsRawFd::as_raw_fd(&fd),
                0,
            )
        };
        if ring == libc::MAP_FAILED {
            return Err(PerfError::Failed(Errno::last()));
        }
        let ring = NonNull::new(ring.cast::<u8>()).ok_or(PerfError::Failed(Errno::ENOMEM))?;
        Ok(Self { _event: fd, ring, ring_len, data_len: page * DATA_PAGES, page })
    }

    // The mapping is page-aligned and both offsets are multiples of 8.
    #[allow(clippy::cast_ptr_alignment)]
    fn control(&self, offset: usize) -> &AtomicU64 {
        // SAFETY: `offset` is data_head's or data_tail's, 8-aligned inside the header page,
        // which stays mapped while `self` lives; the kernel updates them atomically.
        unsafe { &*self.ring.as_ptr().add(offset).cast::<AtomicU64>() }
    }

    /// Copies `out.len()` bytes of the data area from position `at`, wrapping at its end.
    fn copy_out(&self, at: u64, out: &mut [u8]) {
        for (step, byte) in out.iter_mut().enumerate() {
            let wrapped = usize::try_from(at.wrapping_add(step as u64) % self.data_len as u64).unwrap_or(0);
            // SAFETY: `wrapped < data_len`, so the byte lies inside the mapped data area that
            // starts one page in; the kernel does not write between data_tail and data_head.
            *byte = unsafe { self.ring.as_ptr().add(self.page + wrapped).read_volatile() };
        }
    }

    /// Appends every switch recorded since the last read to `out`, in time order, and frees
    /// their room in the ring.
    pub(crate) fn read_into(&mut self, out: &mut Vec<Switch>) {
        let head = self.control(DATA_HEAD_OFFSET).load(Ordering::Acquire);
        let mut tail = self.control(DATA_TAIL_OFFSET).load(Ordering::Relaxed);
        let mut record = [0u8; 64];
        while head.saturating_sub(tail) >= 8 {
            self.copy_out(tail, &mut record[..8]);
            let kind = u32::from_ne_bytes([record[0], record[1], record[2], record[3]]);
            let misc = u16::from_ne_bytes([record[4], record[5]]);
            let size = u64::from(u16::from_ne_bytes([record[6], record[7]]));
            if size < 8 || head - tail < size {
                break;
            }
            let body = usize::try_from(size).unwrap_or(0).min(record.len());
            self.copy_out(tail, &mut record[..body]);
            match kind {
                PERF_RECORD_SWITCH if body >= 32 => out.push(parse_switch(misc, &record[8..32])),
                // PERF_RECORD_LOST (the ring was full) and anything else: the switches it stood
                // for are gone, and the segments around them merge.
                _ => {}
            }
            tail += size;
        }
        fence(Ordering::AcqRel);
        self.control(DATA_TAIL_OFFSET).store(tail, Ordering::Release);
    }
}

/// A switch record's body: the sample_id trailer of TID, TIME and CPU.
fn parse_switch(misc: u16, trailer: &[u8]) -> Switch {
    let word = |at: usize| u64::from_ne_bytes(trailer[at..at + 8].try_into().unwrap_or_default());
    let ns = word(8);
    let cpu = usize::try_from(word(16) & u64::from(u32::MAX)).unwrap_or(0);
    let kind = if misc & PERF_RECORD_MISC_SWITCH_OUT == 0 {
        SwitchKind::In
    } else if misc & PERF_RECORD_MISC_SWITCH_OUT_PREEMPT != 0 {
        SwitchKind::OutPreempted
    } else {
        SwitchKind::OutVoluntary
    };
    Switch { ns, kind, cpu }
}

impl Drop for SwitchStream {
    fn drop(&mut self) {
        // SAFETY: the mapping was made in `open` with this length and is unmapped once, here;
        // the descriptor closes after it, as `fd` drops.
        unsafe {
            libc::munmap(self.ring.as_ptr().cast(), self.ring_len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attribute_struct_has_the_kernels_ver5_size() {
        assert_eq!(std::mem::size_of::<PerfEventAttr>(), 112);
    }

    /// The experiment the observer rests on: a thread that sleeps and spins shows switches out
    /// (voluntary ones at least) and back in, on CLOCK_MONOTONIC. Where perf events are refused
    /// (a container's seccomp), there is nothing to see and the test says so.
    #[test]
    fn a_sleeping_thread_switches_out_voluntarily_and_back_in() {
        let (tid_sender, tid_receiver) = std::sync::mpsc::channel();
        let (go_sender, go_receiver) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let _ = tid_sender.send(nix::unistd::gettid().as_raw());
            let _ = go_receiver.recv();
            for _ in 0..5 {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        });
        let tid = tid_receiver.recv().expect("tid");
        let before = crate::board::monotonic_ns();
        let stream = SwitchStream::open(tid);
        let _ = go_sender.send(());
        thread.join().expect("join");
        let mut stream = match stream {
            Ok(stream) => stream,
            Err(why) => {
                eprintln!("perf events refused here ({why:?}): nothing to check");
                return;
            }
        };
        let mut switches = Vec::new();
        stream.read_into(&mut switches);
        assert!(switches.iter().filter(|s| s.kind == SwitchKind::OutVoluntary).count() >= 5, "{switches:?}");
        assert!(switches.iter().any(|s| s.kind == SwitchKind::In), "{switches:?}");
        assert!(switches.windows(2).all(|pair| pair[0].ns <= pair[1].ns));
        assert!(switches.iter().all(|s| s.ns >= before && s.ns <= crate::board::monotonic_ns()));
    }
}
