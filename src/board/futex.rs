//! Futex wait and wake on a word of the board: how a waiter sleeps on shared memory that
//! threads and processes alike can change, with no lock and no descriptor. Only the two
//! system calls live here; what a word means is its owner's business.

use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// Sleeps while `word` holds `expected`, at most `timeout` (under a second). The shared (not
/// private) futex, since the word may be changed by another process. Every outcome (woken,
/// timed out, value changed, EINTR) sends the caller back to look at the word again.
pub fn futex_wait(word: &AtomicU32, expected: u32, timeout: Duration) {
    let timeout = libc::timespec { tv_sec: 0, tv_nsec: i64::from(timeout.subsec_nanos()) };
    // SAFETY: a valid, aligned futex word that outlives the call, and a valid timespec.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAIT, expected, &raw const timeout);
    }
}

/// Wakes up to `waiters` sleepers on `word`.
pub fn futex_wake(word: &AtomicU32, waiters: i32) {
    // SAFETY: a valid futex word; waking nobody is harmless.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, waiters);
    }
}
