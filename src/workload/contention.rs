//! `contention`: every worker increments one shared counter, with a chosen strategy. `racy`
//! loses updates (a load then a store, a real race made with atomics, not undefined
//! behaviour); `mutex` takes a process-shared lock word; `atomic` uses `fetch_add`; `sharded`
//! counts in the worker's own slot and sums at the end.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::choice::choice;
use super::kind::{Kind, OptionSpec, Options, PythonTwin, Setup, SizeSpec, Values, Variant};
use super::task::{fields_of, Flow, Hooks, Measure, Metrics, RunCells, TaskEnd, Workload, Wrong};
use super::Choice;
use crate::units::{brief_count, grouped};

const CHUNK: u64 = 4096;

choice! {
    /// How workers update the shared counter.
    pub(super) enum Strategy {
        "A load, then a store: updates between them are lost." Racy = "racy",
        "A process-shared lock word around the update." Mutex = "mutex",
        "One `fetch_add`." Atomic = "atomic",
        "Each worker counts in its own slot; summed at the end." Sharded = "sharded",
    }
}

/// The catalog entry.
pub(super) struct Contention;

impl Kind for Contention {
    fn name(&self) -> &'static str {
        "contention"
    }

    fn summary(&self) -> &'static str {
        "one shared counter: racy updates get lost; mutex, atomic and sharded do not"
    }

    fn explanation(&self) -> &'static str {
        "Every worker increments one shared counter. Racy (a load, then a store) loses \
         updates as soon as two workers overlap; a mutex loses none but makes them queue; \
         an atomic add is cheaper; sharded counters, summed at the end, never contend."
    }

    fn size(&self) -> SizeSpec {
        SizeSpec {
            unit: "increments per task",
            short_unit: "incr",
            default: 1_000_000,
            watchable: 18_000_000,
            // At most about an hour a task at 36 M increments a second (reference machine).
            max: Some(100_000_000_000),
            in_millions: true,
        }
    }

    fn options(&self) -> &'static [OptionSpec] {
        &[OptionSpec {
            flag: "strategy",
            help: "contention: racy (load then store), mutex, atomic or sharded",
            values: Values::Choice(Strategy::NAMES),
            default: Some("racy"),
        }]
    }

    fn variants(&self, _processes: bool) -> &'static [Variant] {
        &[
            Variant { label: "racy", sets: &[("strategy", "racy")] },
            Variant { label: "mutex", sets: &[("strategy", "mutex")] },
            Variant { label: "atomic", sets: &[("strategy", "atomic")] },
            Variant { label: "sharded", sets: &[("strategy", "sharded")] },
        ]
    }

    fn build(&self, setup: &Setup) -> Box<dyn Workload> {
        Box::new(Counting { increments: setup.size, strategy: setup.options.choice("strategy") })
    }

    fn python(&self) -> Option<PythonTwin> {
        Some(PythonTwin {
            source: PYTHON_TWIN,
            // About 20 M racy increments a second for two CPython 3.11 threads, 1.5 M for two
            // processes (each increment takes the Value's lock twice) on the reference machine.
            size: SizeSpec {
                unit: "increments per task",
                short_unit: "incr",
                default: 200_000,
                watchable: 3_000_000,
                max: Some(10_000_000_000),
                in_millions: true,
            },
            on_event_loop: false,
        })
    }

    fn python_refusal(&self, options: &Options) -> Option<String> {
        (options.choice::<Strategy>("strategy") == Strategy::Atomic).then(|| {
            "--strategy atomic has no Python meaning: Python has no atomic add on a shared integer; \
             use racy, mutex or sharded"
                .to_owned()
        })
    }
}

/// The Python twin: the articles' `counter += 1`. Threads (and the sequential worker) share a
/// global of the module, copied into the board's `shared_counter` once a chunk; processes share
/// what a Python programmer passes them, a `multiprocessing.Value`: its lock (made in the host)
/// around a ctypes integer in shared memory, here that same board cell. `racy` is the bare
/// `+=`, which on a `Value` takes the lock for the read and again for the write, not around
/// both; `mutex` is `with lock:` around it; `sharded` counts in a local and adds it to the
/// worker's own cell. The digest is the task's increments, as the native one's.
const PYTHON_TWIN: &str = r#"
import threading

CHUNK = 4096

# The threads' shared counter: every thread of the host runs this one module.
counter = 0
# Orders the copies of `counter` into the board, once a chunk; never around an increment.
copying = threading.Lock()


def shared(spec):
    """The lock, made once in the host before any worker: a threading.Lock for threads,
    multiprocessing's RLock (the one a Value carries) for processes; none for shards."""
    if spec["options"].get("strategy") == "sharded":
        return None
    if spec["model"] != "processes":
        return threading.Lock()
    import multiprocessing

    return multiprocessing.get_context(spec["start"]).RLock()


def task(index, size, options, h):
    strategy = options["strategy"]
    if strategy == "sharded":
        count = count_sharded
    elif h.run.spec["model"] == "processes":
        count = count_in_value
    else:
        count = count_in_global
    done = 0
    while done < size:
        step = min(CHUNK, size - done)
        count(step, strategy == "mutex", h)
        done += step
        if not h.checkpoint(done):
            return None
    return size


def count_in_global(step, locked, h):
    global counter
    if locked:
        lock = h.shared
        for _ in range(step):
            with lock:
                counter += 1
    else:
        for _ in range(step):
            counter += 1
    # Each thread copies after its own increments, in the lock's order: the last copy of the
    # run comes after every increment and holds the final count.
    with copying:
        h.cell("shared_counter").value = counter


def count_in_value(step, locked, h):
    from multiprocessing.sharedctypes import synchronized

    value = synchronized(h.cell("shared_counter"), h.shared)
    if locked:
        for _ in range(step):
            with value.get_lock():
                value.value += 1
    else:
        for _ in range(step):
            value.value += 1


def count_sharded(step, locked, h):
    mine = 0
    for _ in range(step):
        mine += 1
    own = h.cell("slot.own_counter")
    own.value += mine
"#;

/// The workload: every task adds `increments` to the counter with `strategy`.
pub(super) struct Counting {
    pub increments: u64,
    pub strategy: Strategy,
}

/// What a contention run shows: how many updates were lost.
#[derive(Debug, serde::Serialize)]
struct Figures {
    strategy: &'static str,
    final_count: u64,
    expected: u64,
    lost_updates: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    increments_per_second: Option<f64>,
}

impl Metrics for Figures {
    fn headline(&self) -> Option<String> {
        Some(format!("lost {} of {}", self.lost_updates, self.expected))
    }

    fn wrong(&self) -> Option<Wrong> {
        (self.lost_updates > 0).then(|| Wrong {
            brief: format!("{} lost", brief_count(self.lost_updates)),
            whole: format!("lost {} of {} updates", grouped(self.lost_updates), grouped(self.expected)),
        })
    }

    /// Correctness comes first (a wrong run never ranks), then how fast the count went.
    fn measure(&self) -> Option<Measure> {
        self.increments_per_second.map(|rate| Measure {
            value: rate,
            higher_is_better: true,
            wins_by: "counted more increments a second",
            text: format!("{} increments/s", grouped(rate.round() as u64)),
        })
    }

    fn json(&self) -> serde_json::Map<String, serde_json::Value> {
        fields_of(self)
    }
}

impl Workload for Counting {
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

    fn metrics(&self, run: &RunCells) -> Box<dyn Metrics> {
        let final_count = run.shared_counter + run.own_counters.iter().sum::<u64>();
        let attempted = run.tasks_done * self.increments + run.partial_units;
        Box::new(Figures {
            strategy: self.strategy.name(),
            final_count,
            expected: attempted,
            lost_updates: attempted.saturating_sub(final_count),
            increments_per_second: (run.wall_seconds > 0.0).then(|| attempted as f64 / run.wall_seconds),
        })
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
    fn python_refuses_only_the_atomic_add_it_lacks() {
        for strategy in Strategy::NAMES {
            let mut options = Options::default();
            options.set("strategy", (*strategy).to_owned());
            let refusal = Contention.python_refusal(&options);
            assert_eq!(refusal.is_some(), *strategy == "atomic", "{strategy}: {refusal:?}");
        }
    }

    #[test]
    fn every_strategy_counts_all_increments_when_alone() {
        for strategy in [Strategy::Racy, Strategy::Mutex, Strategy::Atomic, Strategy::Sharded] {
            let work = Counting { increments: 10_000, strategy };
            let hooks = &mut Recorder::default();
            assert_eq!(work.run_task(0, hooks), TaskEnd::Completed { digest: 10_000 });
            let counted = hooks.counter.load(Ordering::Relaxed) + hooks.own.load(Ordering::Relaxed);
            assert_eq!(counted, 10_000, "{strategy:?}");
            assert_eq!(hooks.lock.load(Ordering::Relaxed), 0, "lock left held");
        }
    }
}
