//! `crash`: worker `--crash-worker` fails on its `--crash-at`-th task in the way `--crash`
//! names; every other task is a short CPU task. Also the crash primitives the engine uses for
//! the dashboard's `x`.

use std::sync::atomic::Ordering;

use super::cpu::{expected_sum_of_squares, sum_range};
use super::{Hooks, TaskEnd, Workload};

pub const DEFAULT_SIZE: u64 = 20_000_000;

/// How the chosen worker fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CrashKind {
    /// A Rust panic: caught in a thread; in a process, that process alone ends.
    #[default]
    Panic,
    /// `abort()`: SIGABRT, fatal to the whole process.
    Abort,
    /// A real invalid memory access: SIGSEGV, fatal to the whole process.
    Segv,
    /// `_exit(3)`: ends the whole process with a non-zero status.
    Exit,
}

impl CrashKind {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Panic => "panic",
            Self::Abort => "abort",
            Self::Segv => "segv",
            Self::Exit => "exit",
        }
    }

    /// True when this crash takes down the whole process, threads and all.
    #[must_use]
    pub fn kills_the_process(self) -> bool {
        !matches!(self, Self::Panic)
    }
}

/// The exit status of a worker that crashes with [`CrashKind::Exit`].
pub const CRASH_EXIT_CODE: i32 = 3;

pub struct Crash {
    pub size: u64,
    pub kind: CrashKind,
    pub worker: usize,
    /// 1-based: the worker's n-th task fails.
    pub at: u64,
}

impl Workload for Crash {
    fn units_for(&self, _task: u64) -> u64 {
        self.size
    }

    fn run_task(&self, task: u64, hooks: &mut dyn Hooks) -> TaskEnd {
        let cells = hooks.cells();
        // The slot's own counter marks that the crash happened, so that a replacement worker
        // (--respawn) redoes the task instead of crashing again.
        if cells.worker == self.worker
            && cells.tasks_done + 1 == self.at
            && cells.own_counter.load(Ordering::Relaxed) == 0
        {
            cells.own_counter.store(1, Ordering::Relaxed);
            crash(self.kind, self.worker, self.at);
        }
        sum_range(task.wrapping_mul(self.size), self.size, hooks)
    }

    fn expected_checksum(&self, tasks: u64) -> Option<u64> {
        expected_sum_of_squares(tasks.checked_mul(self.size)?)
    }
}

/// Fails the calling worker for real, the way `kind` says.
pub fn crash(kind: CrashKind, worker: usize, task: u64) {
    match kind {
        CrashKind::Panic => panic!("worker {worker} panicked on its task {task}, as asked"),
        CrashKind::Abort => {
            // SAFETY: abort takes no arguments and never returns.
            unsafe { libc::abort() }
        }
        CrashKind::Segv => segfault(),
        CrashKind::Exit => {
            // SAFETY: _exit ends the process at once, which is the point.
            unsafe { libc::_exit(CRASH_EXIT_CODE) }
        }
    }
}

/// A genuine SIGSEGV: a write to the zero page, which is never mapped.
pub fn segfault() {
    // SAFETY: deliberately not safe. Only a worker asked to crash comes here, and its death by
    // SIGSEGV is the demonstration; the volatile write cannot be optimised away.
    unsafe { std::ptr::write_volatile(std::ptr::null_mut::<u64>().wrapping_add(1), 1) };
}
