//! `cpu`: the articles' CPU-bound task, the wrapping sum of `i*i` over a range.

use super::kind::{Kind, PythonTwin, Setup, SizeSpec};
use super::task::{AsyncHooks, AsyncWorkload, Flow, Hooks, LocalFuture, TaskEnd, Workload};

/// The catalog entry.
pub(super) struct Cpu;

impl Kind for Cpu {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn summary(&self) -> &'static str {
        "CPU-bound: sum of i*i over a range; scales with cores, not under an interpreter lock"
    }

    fn explanation(&self) -> &'static str {
        "Each task sums i*i over its own range of integers. Two workers on two cores finish \
         in about half the time, threads or processes alike. With the interpreter lock on, \
         threads take turns and gain nothing, while processes, each with its own lock, \
         still scale. Pinned to one core, nothing scales. With the async model every task \
         computes on the event loop's one thread, taking turns: however many tasks it holds, \
         it computes no faster than one worker."
    }

    fn checksum_checks_result(&self) -> bool {
        true
    }

    fn size(&self) -> SizeSpec {
        // About 50 ms a task on one core of the reference machine.
        SizeSpec {
            unit: "integers per task",
            short_unit: "ints",
            default: 150_000_000,
            watchable: 1_500_000_000,
            // At most about an hour a task at 3 G integers a second (reference machine).
            max: Some(10_000_000_000_000),
            in_millions: true,
        }
    }

    fn build(&self, setup: &Setup) -> Box<dyn Workload> {
        Box::new(SumOfSquares { size: setup.size })
    }

    fn python(&self) -> Option<PythonTwin> {
        Some(PythonTwin {
            source: PYTHON_TWIN,
            // About 0.15 s a task on one core of the reference machine (CPython 3.11).
            size: SizeSpec {
                unit: "integers per task",
                short_unit: "ints",
                default: 3_000_000,
                watchable: 6_000_000,
                max: Some(100_000_000_000),
                in_millions: true,
            },
            on_event_loop: true,
        })
    }
}

/// The articles' own CPU-bound function, `sum(i * i for i in range(n))`, over task `index`'s
/// range and in chunks with a checkpoint between them; its digest is the native kernel's, the
/// sum modulo 2^64.
const PYTHON_TWIN: &str = r"
MASK = (1 << 64) - 1
CHUNK = 1 << 16


def task(index, size, options, h):
    start, total, done = index * size, 0, 0
    while done < size:
        low = start + done
        step = min(CHUNK, size - done)
        total = (total + sum(i * i for i in range(low, low + step))) & MASK
        done += step
        if not h.checkpoint(done):
            return None
    return total


async def task_async(index, size, options, h):
    start, total, done = index * size, 0, 0
    while done < size:
        low = start + done
        step = min(CHUNK, size - done)
        total = (total + sum(i * i for i in range(low, low + step))) & MASK
        done += step
        if not h.checkpoint(done):
            return None
        await h.turn()
    return total
";

/// Integers summed between two checkpoints: about 20 µs, so a stop lands within microseconds
/// and the checkpoint's cost stays far below 1 %.
const CHUNK: u64 = 1 << 16;

/// The workload: task `t` sums the squares of the `size` integers from `t * size`.
pub(super) struct SumOfSquares {
    pub size: u64,
}

/// Wrapping sum of `i*i` for `i` in `start..end`, one multiply-add at a time as the C reference
/// does: the empty `asm!` hides `acc` from the optimiser, so it can neither vectorise the loop nor
/// replace it by a closed form.
#[must_use]
pub fn sum_of_squares(start: u64, end: u64) -> u64 {
    let mut acc = 0u64;
    let mut i = start;
    align_the_loop();
    while i < end {
        acc = acc.wrapping_add(i.wrapping_mul(i));
        opaque(&mut acc);
        i += 1;
    }
    acc
}

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[inline(always)]
fn opaque(value: &mut u64) {
    // SAFETY: an empty instruction sequence that only claims to read and write one register.
    unsafe { std::arch::asm!("/* {0} */", inout(reg) * value, options(nomem, nostack, preserves_flags)) }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
#[inline(always)]
fn opaque(value: &mut u64) {
    *value = std::hint::black_box(*value);
}

/// Starts the code that follows on a 64-byte boundary. The loop is a few instructions: where
/// the linker happens to place it decides whether it fits one 64-byte fetch window or straddles
/// two, which on AMD Zen halves its speed (measured: the same instructions at 0x…50 and
/// 0x…70 took 1× and 2× the time). Padding executed once per chunk costs nothing.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[inline(always)]
fn align_the_loop() {
    // SAFETY: an assembler alignment directive: no-operation padding, no register or memory use.
    unsafe { std::arch::asm!(".p2align 6", options(nomem, nostack, preserves_flags)) }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
#[inline(always)]
fn align_the_loop() {}

/// The kernel as a task: the sum of `i*i` over `start..start + len`, with a checkpoint every
/// chunk. Its digest is the sum itself.
pub(super) fn sum_range(start: u64, len: u64, hooks: &mut dyn Hooks) -> TaskEnd {
    let mut acc = 0u64;
    let mut done = 0u64;
    while done < len {
        let step = CHUNK.min(len - done);
        acc = acc.wrapping_add(sum_of_squares(start + done, start + done + step));
        done += step;
        if hooks.checkpoint(done) == Flow::Stop {
            return TaskEnd::Stopped;
        }
    }
    TaskEnd::Completed { digest: acc }
}

/// Closed form of the sum of `i*i` for `i < n`, modulo 2^64, or None when it would overflow u128.
#[must_use]
pub(super) fn expected_sum_of_squares(n: u64) -> Option<u64> {
    let n = u128::from(n);
    let product = n.checked_mul(n.saturating_sub(1))?.checked_mul((2 * n).saturating_sub(1))?;
    // Truncation to the low 64 bits is the wrapping the kernel does.
    Some((product / 6) as u64)
}

impl Workload for SumOfSquares {
    fn units_for(&self, _task: u64) -> u64 {
        self.size
    }

    fn run_task(&self, task: u64, hooks: &mut dyn Hooks) -> TaskEnd {
        sum_range(task.wrapping_mul(self.size), self.size, hooks)
    }

    fn expected_checksum(&self, tasks: u64) -> Option<u64> {
        expected_sum_of_squares(tasks.checked_mul(self.size)?)
    }

    fn as_async(&self) -> Option<&dyn AsyncWorkload> {
        Some(self)
    }
}

impl AsyncWorkload for SumOfSquares {
    /// The same kernel and chunks as a thread computes, with an await at each checkpoint, where
    /// the loop may hand its thread to another task.
    fn run_task_async<'a>(&'a self, task: u64, hooks: &'a mut dyn AsyncHooks) -> LocalFuture<'a, TaskEnd> {
        Box::pin(async move {
            let (start, len) = (task.wrapping_mul(self.size), self.size);
            let mut acc = 0u64;
            let mut done = 0u64;
            while done < len {
                let step = CHUNK.min(len - done);
                acc = acc.wrapping_add(sum_of_squares(start + done, start + done + step));
                done += step;
                if hooks.checkpoint(done).await == Flow::Stop {
                    return TaskEnd::Stopped;
                }
            }
            TaskEnd::Completed { digest: acc }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::testing::Recorder;

    #[test]
    fn matches_pythons_sum_for_a_million() {
        // sum(i*i for i in range(10**6)) % 2**64, as floors.c prints it.
        assert_eq!(sum_of_squares(0, 1_000_000), 333_332_833_333_500_000);
        assert_eq!(expected_sum_of_squares(1_000_000), Some(333_332_833_333_500_000));
    }

    #[test]
    fn tasks_cover_disjoint_ranges_so_their_digests_add_up() {
        let cpu = SumOfSquares { size: 100_000 };
        let mut total = 0u64;
        for task in 0..5 {
            match cpu.run_task(task, &mut Recorder::default()) {
                TaskEnd::Completed { digest } => total = total.wrapping_add(digest),
                other => panic!("nobody asked to stop: {other:?}"),
            }
        }
        assert_eq!(Some(total), cpu.expected_checksum(5));
        assert_eq!(total, sum_of_squares(0, 500_000));
    }

    #[test]
    fn checkpoints_count_units_and_stop_is_obeyed() {
        let cpu = SumOfSquares { size: 3 * CHUNK + 7 };
        let mut all = Recorder::default();
        assert!(matches!(cpu.run_task(0, &mut all), TaskEnd::Completed { .. }));
        assert_eq!(all.checkpoints, vec![CHUNK, 2 * CHUNK, 3 * CHUNK, 3 * CHUNK + 7]);
        let mut stopper = Recorder { stop_after: Some(2), ..Recorder::default() };
        assert_eq!(cpu.run_task(0, &mut stopper), TaskEnd::Stopped);
        assert_eq!(stopper.checkpoints.len(), 2);
    }
}
