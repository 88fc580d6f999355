//! The emulated interpreter lock: what makes CPU-bound threads take turns, as CPython's GIL does.
//!
//! One lock per process. A worker holds it while it computes. A waiter that has waited a whole
//! switch interval without the lock changing hands raises `drop_request`; the holder sees it at
//! its next chunk boundary (one relaxed load, no lock), lets go, and waits until somebody else
//! has taken it before it queues again (CPython's forced switching). Blocking waits run with the
//! lock released. A release while others wait hands the lock to one of them: a thread back from
//! a short blocking call cannot take it first just because the waiter has not woken yet, so it
//! waits its switch interval as a CPython thread back from real I/O does. This is the one
//! deliberate lock on a worker's path.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
struct LockState {
    /// Held, or being handed to a waiter (`handed`).
    held: bool,
    /// Released to the threads that were waiting: the first of them to wake takes it.
    handed: bool,
    /// Bumped at every acquisition: a waiter uses it to tell whether the lock moved.
    acquisitions: u64,
    waiters: usize,
}

#[derive(Debug)]
pub(crate) struct InterpreterLock {
    state: Mutex<LockState>,
    changed: Condvar,
    drop_request: AtomicBool,
    switch_interval: Duration,
}

impl InterpreterLock {
    #[must_use]
    pub(crate) fn new(switch_interval: Duration) -> Self {
        Self {
            state: Mutex::new(LockState::default()),
            changed: Condvar::new(),
            drop_request: AtomicBool::new(false),
            switch_interval,
        }
    }

    fn lock_state(&self) -> MutexGuard<'_, LockState> {
        // The state is a few integers that stay consistent at every unlock; a worker that
        // panicked while holding the mutex leaves nothing half-done.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the lock if nobody holds it; never waits.
    pub(crate) fn try_acquire(&self) -> bool {
        let state = self.lock_state();
        if state.held {
            return false;
        }
        self.take(state);
        true
    }

    /// Blocks until this worker holds the lock; returns how long it waited.
    pub(crate) fn acquire(&self) -> Duration {
        let start = Instant::now();
        let mut state = self.lock_state();
        // A hand-over under way belongs to the threads already waiting.
        while state.handed {
            state = self.changed.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
        if state.held {
            state.waiters += 1;
            state = self.wait_turn(state);
            state.waiters -= 1;
        }
        self.take(state);
        start.elapsed()
    }

    /// Waits, counted among the waiters, until the lock is free or handed to the waiters;
    /// raises `drop_request` when a whole switch interval passes without the lock moving.
    fn wait_turn<'a>(&self, mut state: MutexGuard<'a, LockState>) -> MutexGuard<'a, LockState> {
        while state.held && !state.handed {
            let seen = state.acquisitions;
            let (next, timeout) =
                self.changed.wait_timeout(state, self.switch_interval).unwrap_or_else(PoisonError::into_inner);
            state = next;
            if state.held && !state.handed && timeout.timed_out() && state.acquisitions == seen {
                self.drop_request.store(true, Ordering::Relaxed);
            }
        }
        state
    }

    /// Marks the lock held by the caller, who found it free, and tells the waiters it moved.
    fn take(&self, mut state: MutexGuard<'_, LockState>) {
        state.held = true;
        state.handed = false;
        state.acquisitions += 1;
        self.drop_request.store(false, Ordering::Relaxed);
        drop(state);
        self.changed.notify_all();
    }

    /// Lets go of the lock.
    pub(crate) fn release(&self) {
        let mut state = self.lock_state();
        Self::let_go(&mut state);
        drop(state);
        self.changed.notify_all();
    }

    /// Frees the lock, or hands it to the threads waiting for it.
    fn let_go(state: &mut LockState) {
        if state.waiters > 0 {
            state.handed = true;
        } else {
            state.held = false;
        }
    }

    /// At a chunk boundary: if a waiter asked, hand the lock over and queue again. Returns the
    /// time spent without it. The worker loop asks and hands over in two steps, to record the
    /// wait; tests use this one.
    #[cfg(test)]
    pub(crate) fn yield_if_requested(&self) -> Duration {
        if self.handover_requested() {
            self.hand_over()
        } else {
            Duration::ZERO
        }
    }

    /// True when a waiter has waited a whole switch interval: the holder should call
    /// [`InterpreterLock::hand_over`]. One relaxed load.
    #[inline]
    pub(crate) fn handover_requested(&self) -> bool {
        self.drop_request.load(Ordering::Relaxed)
    }

    /// Lets go, waits until somebody else has taken the lock, and queues for it again. Returns
    /// the time spent without it. It queues the moment it lets go, so that the lock comes back
    /// to it when the new holder lets go, a short blocking call included, however late this
    /// thread wakes: as a CPython thread that asked for the GIL is signalled first.
    pub(crate) fn hand_over(&self) -> Duration {
        let start = Instant::now();
        let mut state = self.lock_state();
        let others = state.waiters;
        Self::let_go(&mut state);
        let seen = state.acquisitions;
        state.waiters += 1;
        self.changed.notify_all();
        while others > 0 && state.acquisitions == seen {
            state = self.changed.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
        state = self.wait_turn(state);
        state.waiters -= 1;
        self.take(state);
        start.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;
    use std::sync::Arc;

    #[test]
    fn an_uncontended_lock_never_waits() {
        let lock = InterpreterLock::new(Duration::from_millis(5));
        let waited = lock.acquire();
        assert!(lock.yield_if_requested().is_zero());
        assert!(!lock.try_acquire(), "held by this worker");
        lock.release();
        assert!(waited < Duration::from_secs(1));
        assert!(lock.try_acquire());
        lock.release();
    }

    #[test]
    fn only_one_holder_computes_at_a_time_and_the_lock_changes_hands() {
        let lock = Arc::new(InterpreterLock::new(Duration::from_millis(1)));
        let inside = Arc::new(AtomicU64::new(0));
        let last_holder = Arc::new(AtomicU64::new(u64::MAX));
        let handovers = Arc::new(AtomicU64::new(0));
        let handles: Vec<_> = (0..2u64)
            .map(|me| {
                let (lock, inside) = (Arc::clone(&lock), Arc::clone(&inside));
                let (last_holder, handovers) = (Arc::clone(&last_holder), Arc::clone(&handovers));
                std::thread::spawn(move || {
                    lock.acquire();
                    for _ in 0..50_000_000 {
                        if handovers.load(Ordering::SeqCst) >= 4 {
                            break;
                        }
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two holders at once");
                        if last_holder.swap(me, Ordering::SeqCst) != me {
                            handovers.fetch_add(1, Ordering::SeqCst);
                        }
                        std::hint::black_box(crate::workload::sum_of_squares(0, 200));
                        inside.fetch_sub(1, Ordering::SeqCst);
                        lock.yield_if_requested();
                    }
                    lock.release();
                })
            })
            .collect();
        for handle in handles {
            handle.join().expect("worker");
        }
        // The first holder counts as one handover; a lock that never moved would stop there.
        assert!(handovers.load(Ordering::SeqCst) >= 3, "the lock never changed hands");
    }

    #[test]
    fn a_release_while_a_thread_waits_hands_the_lock_to_it() {
        let lock = Arc::new(InterpreterLock::new(Duration::from_secs(60)));
        lock.acquire();
        let (done, finish) = std::sync::mpsc::channel::<()>();
        let waiter = {
            let lock = Arc::clone(&lock);
            std::thread::spawn(move || {
                lock.acquire();
                let _ = finish.recv();
                lock.release();
            })
        };
        while lock.lock_state().waiters == 0 {
            std::thread::yield_now();
        }
        lock.release();
        // Woken or not yet, the waiter has the lock: a thread back from a short wait must
        // queue behind it.
        assert!(!lock.try_acquire(), "taken from under the waiter");
        drop(done);
        waiter.join().expect("waiter");
        assert!(lock.try_acquire());
        lock.release();
    }
}
