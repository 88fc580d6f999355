//! `io`: the articles' I/O-bound task, a wait that uses no CPU (a sleep standing in for a request).

use std::time::Duration;

use super::kind::{Kind, PythonTwin, Setup, SizeSpec};
use super::task::{awaiting, AsyncHooks, AsyncWorkload, Flow, Hooks, LocalFuture, TaskEnd, Workload};

/// The catalog entry.
pub(super) struct Io;

impl Kind for Io {
    fn name(&self) -> &'static str {
        "io"
    }

    fn summary(&self) -> &'static str {
        "I/O-bound: waits without using the CPU; threads overlap the waits, lock or not"
    }

    fn explanation(&self) -> &'static str {
        "Each task waits without using the CPU, standing in for a network or disk request. \
         Waits overlap: sixteen threads finish sixteen tasks in about the time of one, and \
         the interpreter lock does not matter, since it is released while waiting. \
         Processes overlap too, but each costs a fork and memory of its own. With the async \
         model the waits are tokio sleeps: one thread holds every task and overlaps them all."
    }

    fn size(&self) -> SizeSpec {
        SizeSpec {
            unit: "milliseconds per task",
            short_unit: "ms",
            default: 200,
            watchable: 400,
            // At most an hour a task (reference machine).
            max: Some(3_600_000),
            in_millions: false,
        }
    }

    fn build(&self, setup: &Setup) -> Box<dyn Workload> {
        Box::new(Wait { millis: setup.size })
    }

    fn python(&self) -> Option<PythonTwin> {
        Some(PythonTwin { source: PYTHON_TWIN, size: self.size(), on_event_loop: true })
    }
}

/// `time.sleep` (and `asyncio.sleep`) in the same slices as the native waits, with the same
/// digest, the task's index + 1.
const PYTHON_TWIN: &str = r"
import time

SLICE_MS = 10


def task(index, size, options, h):
    done = 0
    while done < size:
        step = min(SLICE_MS, size - done)
        with h.blocked():
            time.sleep(step / 1000)
        done += step
        if not h.checkpoint(done):
            return None
    return index + 1


async def task_async(index, size, options, h):
    import asyncio

    done = 0
    while done < size:
        step = min(SLICE_MS, size - done)
        with h.blocked():
            await asyncio.sleep(step / 1000)
        done += step
        if not h.checkpoint(done):
            return None
    return index + 1
";

/// Longest single sleep, so a stop request is seen within this time.
const SLICE_MILLIS: u64 = 10;

/// The workload: every task waits `millis`, in slices.
pub(super) struct Wait {
    pub millis: u64,
}

impl Workload for Wait {
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

    fn as_async(&self) -> Option<&dyn AsyncWorkload> {
        Some(self)
    }
}

impl AsyncWorkload for Wait {
    fn run_task_async<'a>(&'a self, task: u64, hooks: &'a mut dyn AsyncHooks) -> LocalFuture<'a, TaskEnd> {
        Box::pin(async move {
            let mut done = 0;
            while done < self.millis {
                let step = SLICE_MILLIS.min(self.millis - done);
                if awaiting(hooks, tokio::time::sleep(Duration::from_millis(step))).await.is_none() {
                    return TaskEnd::Stopped;
                }
                done += step;
                if hooks.checkpoint(done).await == Flow::Stop {
                    return TaskEnd::Stopped;
                }
            }
            TaskEnd::Completed { digest: task + 1 }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::testing::Recorder;

    #[test]
    fn waits_in_slices_with_the_lock_released() {
        let io = Wait { millis: 25 };
        let mut hooks = Recorder::default();
        assert_eq!(io.run_task(4, &mut hooks), TaskEnd::Completed { digest: 5 });
        assert_eq!(hooks.checkpoints, vec![10, 20, 25]);
        assert_eq!(hooks.blocking_calls, 3);
    }

    #[test]
    fn digests_of_all_tasks_sum_to_the_triangle_number() {
        let io = Wait { millis: 0 };
        let sum: u64 = (0..10)
            .map(|t| match io.run_task(t, &mut Recorder::default()) {
                TaskEnd::Completed { digest } => digest,
                _ => 0,
            })
            .sum();
        assert_eq!(Some(sum), io.expected_checksum(10));
    }
}
