//! `imbalance`: CPU tasks of skewed, seeded sizes. A static split leaves some workers idle at
//! the end while others still chew on big tasks; dynamic dispatch balances them, and very small
//! chunks show dispatch overhead.

use super::cpu::{expected_sum_of_squares, sum_range};
use super::kind::{Kind, OptionSpec, Setup, SizeSpec, Values, Variant};
use super::task::{fields_of, Hooks, Metrics, RunCells, TaskEnd, Workload};

const MAX_WEIGHT: u64 = 17;

/// The `--seed` option, shared with `data`.
pub(super) const SEED: OptionSpec = OptionSpec {
    flag: "seed",
    help: "imbalance and data: the seed of the task sizes or of the dataset",
    values: Values::Number { from: 0 },
    default: Some("42"),
};

/// The catalog entry.
pub(super) struct Imbalance;

impl Kind for Imbalance {
    fn name(&self) -> &'static str {
        "imbalance"
    }

    fn summary(&self) -> &'static str {
        "skewed task sizes: a static split idles workers, dynamic dispatch balances them"
    }

    fn explanation(&self) -> &'static str {
        "Tasks of skewed sizes, the same for a given seed. Split statically, one worker can \
         be left with the heavy ones while the others sit idle; taken dynamically from a \
         shared counter, as a pool does, the load balances. Tiny chunks cost dispatch."
    }

    fn checksum_checks_result(&self) -> bool {
        true
    }

    fn size(&self) -> SizeSpec {
        // Integers in a weight-1 task; the heaviest tasks are 17 times that.
        SizeSpec {
            unit: "integers per unit of task weight",
            short_unit: "ints/w",
            default: 10_000_000,
            watchable: 260_000_000,
            // At most a task of weight 10 about an hour (reference machine).
            max: Some(1_000_000_000_000),
            in_millions: true,
        }
    }

    fn options(&self) -> &'static [OptionSpec] {
        &[SEED]
    }

    /// The schedule is the run's, not the workload's; this is the workload it matters for.
    fn variants(&self, _processes: bool) -> &'static [Variant] {
        &[
            Variant { label: "static split", sets: &[("schedule", "static")] },
            Variant { label: "dynamic", sets: &[("schedule", "dynamic")] },
        ]
    }

    fn build(&self, setup: &Setup) -> Box<dyn Workload> {
        Box::new(Skewed { size: setup.size, seed: setup.options.number("seed") })
    }
}

/// The workload: task `t` sums `size × weight(t)` squares.
pub(super) struct Skewed {
    pub size: u64,
    pub seed: u64,
}

/// What an imbalance run shows: how skewed the tasks were, and how long a worker sat idle.
#[derive(Debug, serde::Serialize)]
struct Figures {
    seed: u64,
    heaviest_task_weight: Option<u64>,
    total_weight: u64,
    #[serde(skip)]
    max_idle_seconds: f64,
}

impl Metrics for Figures {
    fn headline(&self) -> Option<String> {
        Some(format!("max idle {}", crate::units::format_seconds(self.max_idle_seconds)))
    }

    fn json(&self) -> serde_json::Map<String, serde_json::Value> {
        fields_of(self)
    }
}

impl Skewed {
    /// 1 + ⌊16·u⁴⌋ for a uniform u drawn from (seed, task): mostly light, a few very heavy.
    #[must_use]
    pub(super) fn weight(&self, task: u64) -> u64 {
        let u = splitmix(self.seed ^ task.wrapping_mul(0x9e37_79b9_7f4a_7c15)) as f64 / u64::MAX as f64;
        1 + (16.0 * u.powi(4)) as u64
    }

    fn start_of(&self, task: u64) -> u64 {
        task.wrapping_mul(self.size).wrapping_mul(MAX_WEIGHT)
    }
}

/// A well-mixed 64-bit hash (splitmix64's finaliser).
fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl Workload for Skewed {
    fn units_for(&self, task: u64) -> u64 {
        self.size * self.weight(task)
    }

    fn run_task(&self, task: u64, hooks: &mut dyn Hooks) -> TaskEnd {
        sum_range(self.start_of(task), self.units_for(task), hooks)
    }

    fn expected_checksum(&self, tasks: u64) -> Option<u64> {
        (0..tasks).try_fold(0u64, |sum, task| {
            let start = self.start_of(task);
            let end = start.checked_add(self.units_for(task))?;
            let part = expected_sum_of_squares(end)?.wrapping_sub(expected_sum_of_squares(start)?);
            Some(sum.wrapping_add(part))
        })
    }

    fn metrics(&self, run: &RunCells) -> Box<dyn Metrics> {
        let weights: Vec<u64> = (0..run.tasks).map(|task| self.weight(task)).collect();
        Box::new(Figures {
            seed: self.seed,
            heaviest_task_weight: weights.iter().max().copied(),
            total_weight: weights.iter().sum(),
            max_idle_seconds: run.idle_seconds.iter().copied().fold(0.0, f64::max),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::testing::Recorder;

    #[test]
    fn weights_are_seeded_skewed_and_bounded() {
        let work = Skewed { size: 10, seed: 7 };
        let weights: Vec<u64> = (0..1000).map(|t| work.weight(t)).collect();
        assert_eq!(weights, (0..1000).map(|t| Skewed { size: 10, seed: 7 }.weight(t)).collect::<Vec<_>>());
        assert!(weights.iter().all(|w| (1..=MAX_WEIGHT).contains(w)));
        let light = weights.iter().filter(|w| **w == 1).count();
        let heavy = weights.iter().filter(|w| **w >= 9).count();
        assert!(light > 400 && heavy > 20, "light {light}, heavy {heavy}");
    }

    #[test]
    fn digests_add_up_to_the_closed_form() {
        let work = Skewed { size: 1000, seed: 3 };
        let sum = (0..20).fold(0u64, |sum, task| match work.run_task(task, &mut Recorder::default()) {
            TaskEnd::Completed { digest } => sum.wrapping_add(digest),
            _ => sum,
        });
        assert_eq!(Some(sum), work.expected_checksum(20));
    }
}
