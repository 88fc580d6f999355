//! `imbalance`: CPU tasks of skewed, seeded sizes. A static split leaves some workers idle at
//! the end while others still chew on big tasks; dynamic dispatch balances them, and very small
//! chunks show dispatch overhead.

use serde_json::json;

use super::cpu::{expected_sum_of_squares, sum_range};
use super::{Hooks, RunCells, TaskEnd, Workload};

/// Integers in a weight-1 task; the heaviest tasks are 17 times that.
pub const DEFAULT_SIZE: u64 = 10_000_000;
pub const DEFAULT_SEED: u64 = 42;
const MAX_WEIGHT: u64 = 17;

pub struct Imbalance {
    pub size: u64,
    pub seed: u64,
}

impl Imbalance {
    /// 1 + ⌊16·u⁴⌋ for a uniform u drawn from (seed, task): mostly light, a few very heavy.
    #[must_use]
    pub fn weight(&self, task: u64) -> u64 {
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

impl Workload for Imbalance {
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

    fn metrics(&self, run: &RunCells) -> Vec<(&'static str, serde_json::Value)> {
        let weights: Vec<u64> = (0..run.tasks).map(|task| self.weight(task)).collect();
        vec![
            ("seed", json!(self.seed)),
            ("heaviest_task_weight", json!(weights.iter().max())),
            ("total_weight", json!(weights.iter().sum::<u64>())),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::testing::Recorder;

    #[test]
    fn weights_are_seeded_skewed_and_bounded() {
        let work = Imbalance { size: 10, seed: 7 };
        let weights: Vec<u64> = (0..1000).map(|t| work.weight(t)).collect();
        assert_eq!(weights, (0..1000).map(|t| Imbalance { size: 10, seed: 7 }.weight(t)).collect::<Vec<_>>());
        assert!(weights.iter().all(|w| (1..=MAX_WEIGHT).contains(w)));
        let light = weights.iter().filter(|w| **w == 1).count();
        let heavy = weights.iter().filter(|w| **w >= 9).count();
        assert!(light > 400 && heavy > 20, "light {light}, heavy {heavy}");
    }

    #[test]
    fn digests_add_up_to_the_closed_form() {
        let work = Imbalance { size: 1000, seed: 3 };
        let sum = (0..20).fold(0u64, |sum, task| match work.run_task(task, &mut Recorder::default()) {
            TaskEnd::Completed { digest } => sum.wrapping_add(digest),
            TaskEnd::Stopped => sum,
        });
        assert_eq!(Some(sum), work.expected_checksum(20));
    }
}
