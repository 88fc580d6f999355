//! `io`: the articles' I/O-bound task, a wait that uses no CPU (a sleep standing in for a request).

use std::time::Duration;

use super::{Flow, Hooks, TaskEnd, Workload};

pub const DEFAULT_MILLIS: u64 = 200;

/// Longest single sleep, so a stop request is seen within this time.
const SLICE_MILLIS: u64 = 10;

pub struct Io {
    pub millis: u64,
}

impl Workload for Io {
    fn units_for(&self, _task: u64) -> u64 {
        self.millis
    }

    fn run_task(&self, task: u64, hooks: &mut dyn Hooks) -> TaskEnd {
        let mut done = 0;
        while done < self.millis {
            let step = SLICE_MILLIS.min(self.millis - done);
            hooks.blocking(&mut || std::thread::sleep(Duration::from_millis(step)));
            done += step;
            if hooks.checkpoint(done) == Flow::Stop {
                return TaskEnd::Stopped;
            }
        }
        TaskEnd::Completed { digest: task + 1 }
    }

    fn expected_checksum(&self, tasks: u64) -> Option<u64> {
        Some(tasks.wrapping_mul(tasks.wrapping_add(1)) / 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::testing::Recorder;

    #[test]
    fn waits_in_slices_with_the_lock_released() {
        let io = Io { millis: 25 };
        let mut hooks = Recorder::default();
        assert_eq!(io.run_task(4, &mut hooks), TaskEnd::Completed { digest: 5 });
        assert_eq!(hooks.checkpoints, vec![10, 20, 25]);
        assert_eq!(hooks.blocking_calls, 3);
    }

    #[test]
    fn digests_of_all_tasks_sum_to_the_triangle_number() {
        let io = Io { millis: 0 };
        let sum: u64 = (0..10)
            .map(|t| match io.run_task(t, &mut Recorder::default()) {
                TaskEnd::Completed { digest } => digest,
                TaskEnd::Stopped => 0,
            })
            .sum();
        assert_eq!(Some(sum), io.expected_checksum(10));
    }
}
