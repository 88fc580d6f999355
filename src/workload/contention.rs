//! `contention`: every worker increments one shared counter, with a chosen strategy. `racy`
//! loses updates (a load then a store, a real race made with atomics, not undefined
//! behaviour); `mutex` takes a process-shared lock word; `atomic` uses `fetch_add`; `sharded`
//! counts in the worker's own slot and sums at the end.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use super::{Flow, Hooks, RunCells, TaskEnd, Workload};

pub const DEFAULT_INCREMENTS: u64 = 1_000_000;
const CHUNK: u64 = 4096;

/// How workers update the shared counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    #[default]
    Racy,
    Mutex,
    Atomic,
    Sharded,
}

impl Strategy {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Racy => "racy",
            Self::Mutex => "mutex",
            Self::Atomic => "atomic",
            Self::Sharded => "sharded",
        }
    }
}

pub struct Contention {
    pub increments: u64,
    pub strategy: Strategy,
}

impl Workload for Contention {
    fn units_for(&self, _task: u64) -> u64 {
        self.increments
    }

    fn run_task(&self, _task: u64, hooks: &mut dyn Hooks) -> TaskEnd {
        let mut done = 0;
        while done < self.increments {
            let step = CHUNK.min(self.increments - done);
            let waited = increment(hooks, self.strategy, step);
            if !waited.is_zero() {
                hooks.add_lock_wait(waited);
            }
            done += step;
            if hooks.checkpoint(done) == Flow::Stop {
                return TaskEnd::Stopped;
            }
        }
        TaskEnd::Completed { digest: self.increments }
    }

    fn expected_checksum(&self, tasks: u64) -> Option<u64> {
        tasks.checked_mul(self.increments)
    }

    fn metrics(&self, run: &RunCells) -> Vec<(&'static str, serde_json::Value)> {
        let final_count = run.shared_counter + run.own_counters.iter().sum::<u64>();
        let attempted = run.tasks_done * self.increments + run.partial_units;
        let mut metrics = vec![("strategy", json!(self.strategy.name())), ("final_count", json!(final_count))];
        metrics.push(("expected", json!(attempted)));
        metrics.push(("lost_updates", json!(attempted.saturating_sub(final_count))));
        if run.wall_seconds > 0.0 {
            metrics.push(("increments_per_second", json!(attempted as f64 / run.wall_seconds)));
        }
        metrics
    }
}

/// `count` increments with `strategy`; returns the time spent waiting for the lock.
fn increment(hooks: &mut dyn Hooks, strategy: Strategy, count: u64) -> Duration {
    let cells = hooks.cells();
    let mut waited = Duration::ZERO;
    for i in 0..count {
        match strategy {
            Strategy::Racy => {
                let seen = cells.shared_counter.load(Ordering::Relaxed);
                // Widen the window between the load and the store, now and then giving the CPU
                // away inside it, so that the race shows even when workers share one core.
                if i % 512 == 0 {
                    std::thread::yield_now();
                } else {
                    std::hint::spin_loop();
                }
                cells.shared_counter.store(seen + 1, Ordering::Relaxed);
            }
            Strategy::Mutex => {
                waited += lock(cells.shared_lock);
                let seen = cells.shared_counter.load(Ordering::Relaxed);
                cells.shared_counter.store(seen + 1, Ordering::Relaxed);
                cells.shared_lock.store(0, Ordering::Release);
            }
            Strategy::Atomic => {
                cells.shared_counter.fetch_add(1, Ordering::Relaxed);
            }
            Strategy::Sharded => {
                // One writer per slot: a load and a store are enough.
                let seen = cells.own_counter.load(Ordering::Relaxed);
                cells.own_counter.store(seen + 1, Ordering::Relaxed);
            }
        }
    }
    waited
}

/// Takes a lock word in shared memory (usable across processes): spin, then yield, then nap.
/// Returns how long it waited; zero when it was free.
fn lock(word: &AtomicU32) -> Duration {
    if word.compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed).is_ok() {
        return Duration::ZERO;
    }
    let start = Instant::now();
    let mut tries = 0u32;
    loop {
        if word.load(Ordering::Relaxed) == 0
            && word.compare_exchange_weak(0, 1, Ordering::Acquire, Ordering::Relaxed).is_ok()
        {
            return start.elapsed();
        }
        tries += 1;
        match tries {
            0..64 => std::hint::spin_loop(),
            64..1024 => std::thread::yield_now(),
            _ => std::thread::sleep(Duration::from_micros(50)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::testing::Recorder;

    #[test]
    fn every_strategy_counts_all_increments_when_alone() {
        for strategy in [Strategy::Racy, Strategy::Mutex, Strategy::Atomic, Strategy::Sharded] {
            let work = Contention { increments: 10_000, strategy };
            let hooks = &mut Recorder::default();
            assert_eq!(work.run_task(0, hooks), TaskEnd::Completed { digest: 10_000 });
            let counted = hooks.counter.load(Ordering::Relaxed) + hooks.own.load(Ordering::Relaxed);
            assert_eq!(counted, 10_000, "{strategy:?}");
            assert_eq!(hooks.lock.load(Ordering::Relaxed), 0, "lock left held");
        }
    }
}
