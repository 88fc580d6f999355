//! Two shared limits a workload may use, in the board so that threads and processes
//! (forked or spawned) obey the very same ones: a token bucket kept as one GCRA word (the
//! "theoretical arrival time" of the next token, moved with compare-and-swap) and a counting
//! semaphore whose count is a futex word. Neither holds a lock, so a worker that dies while
//! waiting leaves both usable. Each permit is also counted in its holder's slot, so that one
//! that dies holding a permit (SIGKILL, a segfault) does not keep it, as it would a POSIX
//! semaphore's: the engine gives back what the slot still counts when it reaps the worker.
//! (A death in the few instructions between taking a permit and counting it, or between
//! uncounting it and giving it back, still keeps it.)
//!
//! The rate, burst and permit count are the caller's, passed at every call: the board holds
//! only the state, reset with the rest of the header for every run.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use super::clock::monotonic_ns;
use super::futex::{futex_wait, futex_wake};

/// A token bucket and a semaphore shared by every worker of a run.
#[repr(C, align(128))]
#[derive(Default)]
pub struct Limits {
    /// CLOCK_MONOTONIC (ns) at which the bucket would be empty again if no token were taken
    /// before then; 0 before the first token.
    tat_ns: AtomicU64,
    /// Permits held: the futex word that waiters for a permit sleep on.
    in_flight: AtomicU32,
    /// Waiters asleep on `in_flight`, so that a release wakes only when somebody sleeps.
    sleepers: AtomicU32,
}

/// A bucket's shape: one token every `interval`, at most `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    pub interval: Duration,
    pub burst: u64,
}

impl Bucket {
    /// `rate` tokens a second (at least 1), at most `burst` (at least 1) at once.
    #[must_use]
    pub fn per_second(rate: u64, burst: u64) -> Self {
        Self { interval: Duration::from_nanos(1_000_000_000 / rate.max(1)), burst: burst.max(1) }
    }
}

impl Limits {
    pub(super) fn reset(&self) {
        self.tat_ns.store(0, Ordering::Relaxed);
        self.in_flight.store(0, Ordering::Relaxed);
        self.sleepers.store(0, Ordering::Relaxed);
    }

    /// Takes the next token of `bucket` and returns how long the caller must wait before using
    /// it (zero: at once). Tokens are handed out in order and never twice: whoever asks next
    /// gets the slot after this one, so over any span of time `t` at most `burst + t / interval`
    /// tokens come due (GCRA, as in ATM's cell-rate control and `governor`).
    pub fn take_token(&self, bucket: Bucket) -> Duration {
        let now = monotonic_ns();
        Duration::from_nanos(self.take_token_at(now, bucket).saturating_sub(now))
    }

    /// [`Limits::take_token`] at a given instant: returns when the token comes due.
    fn take_token_at(&self, now: u64, bucket: Bucket) -> u64 {
        let interval = bucket.interval.as_nanos() as u64;
        let tolerance = interval.saturating_mul(bucket.burst - 1);
        let mut tat = self.tat_ns.load(Ordering::Acquire);
        loop {
            let due = now.max(tat.saturating_sub(tolerance));
            let next = tat.max(now) + interval;
            match self.tat_ns.compare_exchange_weak(tat, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return due,
                Err(moved) => tat = moved,
            }
        }
    }

    /// Takes one of `permits` if one is free, counted in `holder` (the caller's slot);
    /// returns how many are then held, this one included.
    pub fn try_enter(&self, permits: u32, holder: &AtomicU32) -> Option<u32> {
        let mut held = self.in_flight.load(Ordering::Acquire);
        while held < permits {
            match self.in_flight.compare_exchange_weak(held, held + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    holder.fetch_add(1, Ordering::AcqRel);
                    return Some(held + 1);
                }
                Err(now) => held = now,
            }
        }
        None
    }

    /// Waits at most `slice` for one of `permits`; returns how many are then held (this one
    /// included), or None when none came free in time and the caller should look at its stop
    /// flag before asking again.
    pub fn enter(&self, permits: u32, slice: Duration, holder: &AtomicU32) -> Option<u32> {
        if let Some(held) = self.try_enter(permits, holder) {
            return Some(held);
        }
        // SeqCst on `sleepers` and `in_flight`, on both sides: either this waiter sees the
        // release before it sleeps, or the releaser sees the sleeper and wakes it.
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        let held = self.in_flight.load(Ordering::SeqCst);
        if held >= permits {
            futex_wait(&self.in_flight, held, slice);
        }
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
        self.try_enter(permits, holder)
    }

    /// Gives back a permit counted in `holder` and wakes one waiter, if any sleeps.
    pub fn leave(&self, holder: &AtomicU32) {
        holder.fetch_sub(1, Ordering::AcqRel);
        self.give_back(1);
    }

    /// Gives back every permit `holder` still counts, for a worker that died holding them;
    /// returns how many.
    pub fn give_back_held(&self, holder: &AtomicU32) -> u32 {
        let held = holder.swap(0, Ordering::AcqRel);
        if held > 0 {
            self.give_back(held);
        }
        held
    }

    fn give_back(&self, permits: u32) {
        self.in_flight.fetch_sub(permits, Ordering::SeqCst);
        if self.sleepers.load(Ordering::SeqCst) > 0 {
            futex_wake(&self.in_flight, permits as i32);
        }
    }

    /// Permits held now.
    #[must_use]
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const MS: u64 = 1_000_000;

    #[test]
    fn a_bucket_gives_its_burst_at_once_then_one_token_per_interval() {
        let limits = Limits::default();
        let bucket = Bucket::per_second(100, 3);
        let start = 1_000 * MS;
        let due: Vec<u64> = (0..6).map(|_| limits.take_token_at(start, bucket) - start).collect();
        assert_eq!(due, vec![0, 0, 0, 10 * MS, 20 * MS, 30 * MS]);
        // A quiet spell refills the bucket, but never past its burst.
        let later = start + 1_000 * MS;
        let due: Vec<u64> = (0..4).map(|_| limits.take_token_at(later, bucket) - later).collect();
        assert_eq!(due, vec![0, 0, 0, 10 * MS]);
    }

    #[test]
    fn tokens_taken_at_once_by_many_threads_are_all_distinct_slots() {
        let limits = Arc::new(Limits::default());
        let bucket = Bucket::per_second(1000, 1);
        let start = 5_000 * MS;
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let limits = Arc::clone(&limits);
                std::thread::spawn(move || (0..250).map(|_| limits.take_token_at(start, bucket)).collect::<Vec<_>>())
            })
            .collect();
        let mut due: Vec<u64> = handles.into_iter().flat_map(|handle| handle.join().expect("thread")).collect();
        due.sort_unstable();
        let expected: Vec<u64> = (0..1000).map(|at| start + at * MS).collect();
        assert_eq!(due, expected);
    }

    #[test]
    fn the_semaphore_never_lets_more_than_its_permits_in() {
        let limits = Arc::new(Limits::default());
        let peak = Arc::new(AtomicU32::new(0));
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let (limits, peak) = (Arc::clone(&limits), Arc::clone(&peak));
                std::thread::spawn(move || {
                    let holder = AtomicU32::new(0);
                    for _ in 0..200 {
                        let held = loop {
                            if let Some(held) = limits.enter(2, Duration::from_millis(20), &holder) {
                                break held;
                            }
                        };
                        peak.fetch_max(held, Ordering::SeqCst);
                        assert!(limits.in_flight() <= 2);
                        assert_eq!(holder.load(Ordering::SeqCst), 1);
                        std::thread::yield_now();
                        limits.leave(&holder);
                    }
                    assert_eq!(holder.load(Ordering::SeqCst), 0);
                })
            })
            .collect();
        for handle in handles {
            handle.join().expect("thread");
        }
        assert!(peak.load(Ordering::SeqCst) <= 2);
        assert_eq!(limits.in_flight(), 0);
        let holder = AtomicU32::new(0);
        assert_eq!(limits.try_enter(1, &holder), Some(1));
        assert_eq!(limits.try_enter(1, &holder), None);
    }

    #[test]
    fn permits_of_a_holder_that_died_are_given_back_and_wake_a_waiter() {
        let limits = Arc::new(Limits::default());
        let dead = AtomicU32::new(0);
        assert_eq!(limits.try_enter(2, &dead), Some(1));
        assert_eq!(limits.try_enter(2, &dead), Some(2));
        // A waiter asleep for the next permit: only the dead holder's can free one.
        let waiter = {
            let limits = Arc::clone(&limits);
            std::thread::spawn(move || {
                let holder = AtomicU32::new(0);
                loop {
                    if let Some(held) = limits.enter(2, Duration::from_secs(60), &holder) {
                        return held;
                    }
                }
            })
        };
        while limits.sleepers.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
        assert_eq!(limits.give_back_held(&dead), 2);
        assert_eq!(waiter.join().expect("the waiter gets a permit"), 1);
        assert_eq!(limits.give_back_held(&dead), 0, "given back once");
        assert_eq!(limits.in_flight(), 1);
    }
}
