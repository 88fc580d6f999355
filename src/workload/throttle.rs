//! `throttle`: rate limiting and bounded concurrency, as a crawler that must be polite to a site
//! does. Before its work (a short wait, standing in for a request), every task takes a token of
//! one token bucket (`--rate` a second, `--burst` at once) and then one of `--max-in-flight`
//! permits of one semaphore. Both live in the board, so threads and processes obey the same
//! ones; waiting for them is blocked time in the worker's ring. On the event loop
//! (`--model async`) the same waits are awaits: a timer until the token is due, and the
//! semaphore tried again whenever a task of the loop gives a permit back.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::kind::{Kind, OptionError, OptionSpec, Options, Setup, Shape, SizeSpec, Values};
use super::task::{
    awaiting, fields_of, AsyncHooks, AsyncWorkload, Flow, Hooks, LiveCells, LocalFuture, Measure, Metrics, RunCells, TaskEnd,
    Workload,
};
use crate::board::Bucket;

/// Longest single sleep, so that a stop is seen within this time.
const SLICE: Duration = Duration::from_millis(10);
/// Above this, a limit stops meaning anything the clock can keep.
const MAX_LIMIT: u64 = 1_000_000;

/// The catalog entry.
pub(super) struct Throttle;

impl Kind for Throttle {
    fn name(&self) -> &'static str {
        "throttle"
    }

    fn summary(&self) -> &'static str {
        "rate limiting: one shared token bucket and semaphore hold the run to its rate, whatever the workers"
    }

    fn explanation(&self) -> &'static str {
        "Every task takes a token from one token bucket (a few a second, a small burst) and a \
         permit of one semaphore (a few at once) before its short wait, as a polite crawler \
         does. Both live in shared memory, so threads and processes obey the same limit: more \
         workers only wait longer for their tokens, and the run's rate stays at the limit. \
         With the async model every wait is an await: one thread holds all the tasks, and the \
         limit holds the same."
    }

    fn size(&self) -> SizeSpec {
        SizeSpec {
            unit: "milliseconds of work per task",
            short_unit: "ms",
            default: 10,
            watchable: 10,
            // An hour a task.
            max: Some(3_600_000),
            in_millions: false,
        }
    }

    fn options(&self) -> &'static [OptionSpec] {
        &[
            OptionSpec {
                flag: "rate",
                help: "throttle: tasks a second the shared token bucket lets start",
                values: Values::Number { from: 1 },
                default: Some("50"),
            },
            OptionSpec {
                flag: "burst",
                help: "throttle: tokens the bucket holds, taken at once after a quiet spell",
                values: Values::Number { from: 1 },
                default: Some("2"),
            },
            OptionSpec {
                flag: "max-in-flight",
                help: "throttle: tasks working at once (permits of the shared semaphore)",
                values: Values::Number { from: 1 },
                default: Some("4"),
            },
        ]
    }

    fn check(&self, options: &mut Options, _shape: &Shape) -> Result<(), OptionError> {
        for flag in ["rate", "burst", "max-in-flight"] {
            if options.number(flag) > MAX_LIMIT {
                return Err(OptionError::Refused(format!("--{flag} takes at most {MAX_LIMIT}")));
            }
        }
        Ok(())
    }

    /// Sixteen tasks at four a second: about four seconds, long enough to watch the rate hold.
    fn watchable_options(&self) -> &'static [(&'static str, &'static str)] {
        &[("rate", "4")]
    }

    fn build(&self, setup: &Setup) -> Box<dyn Workload> {
        let options = &setup.options;
        Box::new(Throttled {
            millis: setup.size,
            rate: options.number("rate"),
            burst: options.number("burst"),
            permits: options.number("max-in-flight") as u32,
            freed: tokio::sync::Notify::new(),
        })
    }
}

/// The workload: every task takes a token, then a permit, then waits `millis`.
pub(super) struct Throttled {
    pub millis: u64,
    pub rate: u64,
    pub burst: u64,
    pub permits: u32,
    /// Told when a task of the event loop gives a permit back, so that a task of the same loop
    /// waiting for one tries again at once rather than at its next slice.
    pub freed: tokio::sync::Notify,
}

/// What a throttle run shows: the rate it held against its limit, the most tasks working at
/// once against the permits, and how long each worker waited for tokens.
#[derive(Debug, serde::Serialize)]
struct Figures {
    rate_limit: u64,
    burst: u64,
    max_in_flight: u32,
    tasks_per_second: Option<f64>,
    /// The rate past the burst, which the bucket holds to `rate_limit`.
    tasks_per_second_after_burst: Option<f64>,
    peak_in_flight: u64,
    token_wait_seconds: Vec<f64>,
}

impl Metrics for Figures {
    fn headline(&self) -> Option<String> {
        self.tasks_per_second_after_burst.map(|rate| format!("{rate:.1} tasks/s, limit {}", self.rate_limit))
    }

    /// The lesson is the limit held, not speed: the run nearest its limit ranks first.
    fn measure(&self) -> Option<Measure> {
        let rate = self.tasks_per_second_after_burst?;
        let limit = self.rate_limit.max(1) as f64;
        Some(Measure {
            value: (rate / limit - 1.0).abs(),
            higher_is_better: false,
            wins_by: "held its rate nearer the limit",
            text: format!("{rate:.1} tasks/s (limit {})", self.rate_limit),
        })
    }

    fn json(&self) -> serde_json::Map<String, serde_json::Value> {
        fields_of(self)
    }
}

impl Throttled {
    /// Tasks a second beyond the burst, which the bucket lets through at once: what it holds
    /// to the limit (`tasks ≤ burst + rate × time`).
    fn after_burst(&self, tasks: u64, seconds: f64) -> Option<f64> {
        (seconds > 0.0).then(|| tasks.saturating_sub(self.burst) as f64 / seconds)
    }

    /// Sleeps `wait` in slices with the worker blocked, checking for a stop between slices.
    fn sleep(hooks: &mut dyn Hooks, wait: Duration, units_done: u64) -> Flow {
        let until = Instant::now() + wait;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Flow::Continue;
            }
            hooks.blocking(&mut || std::thread::sleep(left.min(SLICE)));
            if hooks.checkpoint(units_done) == Flow::Stop {
                return Flow::Stop;
            }
        }
    }

    /// Waits for a permit; returns how many tasks then work, this one included, or None when
    /// the run stopped first.
    fn enter(&self, hooks: &mut dyn Hooks) -> Option<u64> {
        loop {
            let mut held = None;
            hooks.blocking_with_cells(&mut |cells| held = cells.limits.enter(self.permits, SLICE, cells.permits_held));
            if let Some(held) = held {
                return Some(u64::from(held));
            }
            if hooks.checkpoint(0) == Flow::Stop {
                return None;
            }
        }
    }

    /// The work itself, holding a permit: `millis` of waiting, with progress.
    fn work(&self, hooks: &mut dyn Hooks) -> Flow {
        let mut done = 0;
        while done < self.millis {
            let step = SLICE.as_millis().min(u128::from(self.millis - done)) as u64;
            hooks.blocking(&mut || std::thread::sleep(Duration::from_millis(step)));
            done += step;
            if hooks.checkpoint(done) == Flow::Stop {
                return Flow::Stop;
            }
        }
        Flow::Continue
    }
}

impl Workload for Throttled {
    fn units_for(&self, _task: u64) -> u64 {
        self.millis
    }

    fn run_task(&self, task: u64, hooks: &mut dyn Hooks) -> TaskEnd {
        let asked = Instant::now();
        let wait = hooks.cells().limits.take_token(Bucket::per_second(self.rate, self.burst));
        let flow = Self::sleep(hooks, wait, 0);
        hooks.cells().own_counter.fetch_add(asked.elapsed().as_nanos() as u64, Ordering::Relaxed);
        if flow == Flow::Stop {
            return TaskEnd::Stopped;
        }
        let Some(in_flight) = self.enter(hooks) else {
            return TaskEnd::Stopped;
        };
        hooks.cells().shared_counter.fetch_max(in_flight, Ordering::Relaxed);
        // The permit goes back however the work ends; a panic (a crash asked for at a
        // checkpoint) goes on unwinding after that, so the other workers are not locked out.
        let worked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.work(hooks)));
        let cells = hooks.cells();
        cells.limits.leave(cells.permits_held);
        let flow = worked.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        match flow {
            Flow::Continue => TaskEnd::Completed { digest: task + 1 },
            Flow::Stop => TaskEnd::Stopped,
        }
    }

    fn expected_checksum(&self, tasks: u64) -> Option<u64> {
        Some(tasks.wrapping_mul(tasks.wrapping_add(1)) / 2)
    }

    fn as_async(&self) -> Option<&dyn AsyncWorkload> {
        Some(self)
    }

    fn metrics(&self, run: &RunCells) -> Box<dyn Metrics> {
        Box::new(Figures {
            rate_limit: self.rate,
            burst: self.burst,
            max_in_flight: self.permits,
            tasks_per_second: (run.wall_seconds > 0.0).then(|| run.tasks_done as f64 / run.wall_seconds),
            tasks_per_second_after_burst: self.after_burst(run.tasks_done, run.wall_seconds),
            peak_in_flight: run.shared_counter,
            token_wait_seconds: run.own_counters.iter().map(|ns| *ns as f64 / 1e9).collect(),
        })
    }

    fn live(&self, now: &LiveCells) -> Option<String> {
        let rate = self.after_burst(now.tasks_done, now.elapsed_seconds).unwrap_or(0.0);
        let waits = &now.own_counters;
        let mean = waits.iter().sum::<u64>() as f64 / waits.len().max(1) as f64 / 1e9;
        Some(format!(
            "{rate:.1} tasks/s of {} (burst {}) · in flight ≤ {} of {} · token wait {mean:.1} s/worker",
            self.rate, self.burst, now.shared_counter, self.permits
        ))
    }
}

impl AsyncWorkload for Throttled {
    /// [`Workload::run_task`] with every wait an await on the loop: the same token, the same
    /// permit, the same digest.
    fn run_task_async<'a>(&'a self, task: u64, hooks: &'a mut dyn AsyncHooks) -> LocalFuture<'a, TaskEnd> {
        Box::pin(async move {
            let asked = Instant::now();
            let wait = hooks.cells().limits.take_token(Bucket::per_second(self.rate, self.burst));
            let flow = sleep_on_loop(hooks, wait, 0).await;
            hooks.cells().own_counter.fetch_add(asked.elapsed().as_nanos() as u64, Ordering::Relaxed);
            if flow == Flow::Stop {
                return TaskEnd::Stopped;
            }
            let Some(in_flight) = self.enter_on_loop(hooks).await else {
                return TaskEnd::Stopped;
            };
            hooks.cells().shared_counter.fetch_max(in_flight, Ordering::Relaxed);
            let permit = Permit { hooks, freed: &self.freed };
            let mut done = 0;
            while done < self.millis {
                let step = SLICE.min(Duration::from_millis(self.millis - done));
                if awaiting(&mut *permit.hooks, tokio::time::sleep(step)).await.is_none() {
                    return TaskEnd::Stopped;
                }
                done += step.as_millis() as u64;
                if permit.hooks.checkpoint(done).await == Flow::Stop {
                    return TaskEnd::Stopped;
                }
            }
            TaskEnd::Completed { digest: task + 1 }
        })
    }
}

impl Throttled {
    /// [`Throttled::enter`] on the loop: tries the board's semaphore, and else awaits a permit
    /// given back by another task of the loop (or a slice, to obey pause and stop).
    async fn enter_on_loop(&self, hooks: &mut dyn AsyncHooks) -> Option<u64> {
        loop {
            let freed = self.freed.notified();
            let mut freed = std::pin::pin!(freed);
            // Listening before trying, so that a permit given back in between still wakes us.
            freed.as_mut().enable();
            let cells = hooks.cells();
            if let Some(held) = cells.limits.try_enter(self.permits, cells.permits_held) {
                return Some(u64::from(held));
            }
            // Freed or a slice over, alike: try again; None only when the run stopped.
            awaiting(hooks, tokio::time::timeout(SLICE, freed)).await.as_ref()?;
            if hooks.checkpoint(0).await == Flow::Stop {
                return None;
            }
        }
    }
}

/// [`Throttled::sleep`] on the loop: a timer until `wait` has passed, in slices with a
/// checkpoint between them.
async fn sleep_on_loop(hooks: &mut dyn AsyncHooks, wait: Duration, units_done: u64) -> Flow {
    let until = tokio::time::Instant::now() + wait;
    loop {
        let now = tokio::time::Instant::now();
        if now >= until {
            return Flow::Continue;
        }
        if awaiting(hooks, tokio::time::sleep_until(until.min(now + SLICE))).await.is_none() {
            return Flow::Stop;
        }
        if hooks.checkpoint(units_done).await == Flow::Stop {
            return Flow::Stop;
        }
    }
}

/// A permit held by a task of the loop: given back however the task leaves (its end, a stop,
/// a crash injected at a checkpoint that unwinds it), and the loop's waiters told.
struct Permit<'h> {
    hooks: &'h mut dyn AsyncHooks,
    freed: &'h tokio::sync::Notify,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let cells = self.hooks.cells();
        cells.limits.leave(cells.permits_held);
        self.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::testing::{OnLoop, Recorder};
    use std::sync::atomic::AtomicU32;

    #[test]
    fn a_task_takes_a_token_and_a_permit_and_gives_the_permit_back() {
        let throttled = Throttled { millis: 15, rate: 1000, burst: 1, permits: 1, freed: tokio::sync::Notify::new() };
        let mut hooks = Recorder::default();
        assert_eq!(throttled.run_task(2, &mut hooks), TaskEnd::Completed { digest: 3 });
        assert_eq!(hooks.checkpoints, vec![10, 15]);
        assert_eq!(hooks.counter.load(Ordering::Relaxed), 1, "the peak in flight");
        assert_eq!(hooks.limits.in_flight(), 0);
        assert_eq!(hooks.permits_held.load(Ordering::Relaxed), 0, "the worker's count is back to 0");
        // Somebody else holds the only permit: the next task waits for it until told to stop.
        let other = AtomicU32::new(0);
        assert_eq!(hooks.limits.try_enter(1, &other), Some(1));
        hooks.stop_after = Some(4);
        assert_eq!(throttled.run_task(3, &mut hooks), TaskEnd::Stopped);
        assert_eq!(hooks.limits.in_flight(), 1, "a task that never entered gives nothing back");
    }

    #[test]
    fn on_the_loop_a_task_gives_its_permit_back_however_it_ends() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let throttled = Throttled { millis: 15, rate: 1000, burst: 1, permits: 1, freed: tokio::sync::Notify::new() };
        let mut hooks = OnLoop(Recorder::default());
        let end = runtime.block_on(throttled.run_task_async(2, &mut hooks));
        assert_eq!(end, TaskEnd::Completed { digest: 3 }, "the same digest as on a thread");
        assert_eq!(hooks.0.checkpoints, vec![10, 15]);
        assert_eq!(hooks.0.counter.load(Ordering::Relaxed), 1, "the peak in flight");
        assert_eq!(hooks.0.limits.in_flight(), 0);
        // Stopped while working: the permit goes back all the same.
        hooks.0.checkpoints.clear();
        hooks.0.stop_after = Some(1);
        assert_eq!(runtime.block_on(throttled.run_task_async(3, &mut hooks)), TaskEnd::Stopped);
        assert_eq!(hooks.0.checkpoints, vec![10], "stopped in its work, holding the permit");
        assert_eq!(hooks.0.limits.in_flight(), 0, "a stopped task kept its permit");
        // The only permit is taken: a task waits for it, blocked, until told to stop.
        let other = AtomicU32::new(0);
        assert_eq!(hooks.0.limits.try_enter(1, &other), Some(1));
        hooks.0.checkpoints.clear();
        hooks.0.stop_after = Some(3);
        assert_eq!(runtime.block_on(throttled.run_task_async(4, &mut hooks)), TaskEnd::Stopped);
        assert_eq!(hooks.0.limits.in_flight(), 1, "a task that never entered gives nothing back");
        assert!(hooks.0.blocking_calls >= 3, "its waits were awaited as blocked");
    }
}
