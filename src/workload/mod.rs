//! The workload catalog: what a worker computes, one file per kind.
//!
//! A workload is a pure function of (task index, progress hooks): it reports progress through
//! [`Hooks::checkpoint`] at chunk boundaries and obeys the [`Flow`] it gets back. It must not
//! know whether it runs in a thread or a process, and never touches the board, the terminal or
//! a channel directly.

use std::sync::atomic::{AtomicU32, AtomicU64};

mod contention;
mod cpu;
mod crash;
mod imbalance;
mod io;
mod memory;

pub use contention::{Contention, Strategy};
pub use cpu::{sum_of_squares, Cpu};
pub use crash::{crash, segfault, Crash, CrashKind, CRASH_EXIT_CODE};
pub use imbalance::Imbalance;
pub use io::Io;
pub use memory::Memory;

/// What a worker should do after a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Flow {
    Continue,
    Stop,
}

/// How a task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskEnd {
    /// Ran to the end; `digest` folds into the run's checksum so a lost or repeated task shows.
    Completed { digest: u64 },
    /// Left at a chunk boundary because a stop was asked for.
    Stopped,
}

/// Shared memory a task may use: the same cells for threads and for forked processes.
pub struct Cells<'a> {
    /// One counter for the whole run.
    pub shared_counter: &'a AtomicU64,
    /// A lock word for `shared_counter`, usable across processes.
    pub shared_lock: &'a AtomicU32,
    /// This worker's own counter.
    pub own_counter: &'a AtomicU64,
    /// Where this worker reports its own memory use.
    pub rss_bytes: &'a AtomicU64,
    pub pss_bytes: &'a AtomicU64,
    /// Which worker this is, and how many tasks it has completed.
    pub worker: usize,
    pub tasks_done: u64,
    /// True in a forked worker process, false in a thread.
    pub in_process: bool,
}

/// What the engine lends a running task.
pub trait Hooks {
    /// Called at every chunk boundary with the units done so far in this task.
    fn checkpoint(&mut self, units_done: u64) -> Flow;
    /// Runs a wait that uses no CPU with the interpreter lock released, as CPython releases the
    /// GIL around blocking I/O.
    fn blocking(&mut self, wait: &mut dyn FnMut());
    /// The shared cells of the run and this worker.
    fn cells(&self) -> Cells<'_>;
    /// Adds time spent waiting for a lock the workload itself takes.
    fn add_lock_wait(&mut self, waited: std::time::Duration);
}

/// One kind of work from the catalog, configured with its size.
pub trait Workload: Send + Sync {
    /// Progress units in task `task` (iterations, milliseconds…).
    fn units_for(&self, task: u64) -> u64;
    fn run_task(&self, task: u64, hooks: &mut dyn Hooks) -> TaskEnd;
    /// The wrapping sum of the digests of tasks `0..tasks`, when it can be known in advance.
    fn expected_checksum(&self, tasks: u64) -> Option<u64>;
    /// The workload's own run-wide figures, named as in the JSON contract.
    fn metrics(&self, _run: &RunCells) -> Vec<(&'static str, serde_json::Value)> {
        Vec::new()
    }
}

/// What a finished run left in the shared cells, for [`Workload::metrics`].
pub struct RunCells {
    pub shared_counter: u64,
    pub own_counters: Vec<u64>,
    pub tasks: u64,
    pub tasks_done: u64,
    /// Units done in tasks that were stopped half-way.
    pub partial_units: u64,
    pub wall_seconds: f64,
    /// What each worker measured of its own memory.
    pub rss_bytes: Vec<u64>,
    pub pss_bytes: Vec<u64>,
    /// True when the workers were processes.
    pub processes: bool,
}

/// The catalog's entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkloadKind {
    Cpu,
    Io,
    Memory,
    Contention,
    Imbalance,
    Crash,
}

/// Options that only some workloads take; validated against the workload in the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WorkloadOptions {
    /// `contention`: how workers update the shared counter.
    pub strategy: Strategy,
    /// `crash`: how, which worker, on its how-many-th task (1-based).
    pub crash: CrashKind,
    pub crash_worker: usize,
    pub crash_at: u64,
    /// `imbalance`: the seed of the task sizes.
    pub seed: u64,
}

impl Default for WorkloadOptions {
    fn default() -> Self {
        Self {
            strategy: Strategy::Racy,
            crash: CrashKind::Panic,
            crash_worker: 0,
            crash_at: 2,
            seed: imbalance::DEFAULT_SEED,
        }
    }
}

impl WorkloadKind {
    pub const ALL: [Self; 6] = [Self::Cpu, Self::Io, Self::Memory, Self::Contention, Self::Imbalance, Self::Crash];

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Io => "io",
            Self::Memory => "memory",
            Self::Contention => "contention",
            Self::Imbalance => "imbalance",
            Self::Crash => "crash",
        }
    }

    /// One line for `concur-tui list`.
    #[must_use]
    pub fn summary(self) -> &'static str {
        match self {
            Self::Cpu => "CPU-bound: sum of i*i over a range; scales with cores, not under an interpreter lock",
            Self::Io => "I/O-bound: waits without using the CPU; threads overlap the waits, lock or not",
            Self::Memory => "each worker allocates and touches memory: processes cost more, copy-on-write shows",
            Self::Contention => "one shared counter: racy updates get lost; mutex, atomic and sharded do not",
            Self::Imbalance => "skewed task sizes: a static split idles workers, dynamic dispatch balances them",
            Self::Crash => "one worker crashes: a process dies alone, a thread's abort takes its group down",
        }
    }

    /// The paragraph the dashboard shows beside the catalog.
    #[must_use]
    pub fn explanation(self) -> &'static str {
        match self {
            Self::Cpu => {
                "Each task sums i*i over its own range of integers. Two workers on two cores finish \
                 in about half the time, threads or processes alike. With the interpreter lock on, \
                 threads take turns and gain nothing, while processes, each with its own lock, \
                 still scale. Pinned to one core, nothing scales."
            }
            Self::Io => {
                "Each task waits without using the CPU, standing in for a network or disk request. \
                 Waits overlap: sixteen threads finish sixteen tasks in about the time of one, and \
                 the interpreter lock does not matter, since it is released while waiting. \
                 Processes overlap too, but each costs a fork and memory of its own."
            }
            Self::Memory => {
                "Each task allocates and touches its size in MiB, and a worker process also writes \
                 a buffer it inherited, so copy-on-write copies it. Workers report their RSS and \
                 PSS: threads share one address space, processes each pay for their own copy."
            }
            Self::Contention => {
                "Every worker increments one shared counter. Racy (a load, then a store) loses \
                 updates as soon as two workers overlap; a mutex loses none but makes them queue; \
                 an atomic add is cheaper; sharded counters, summed at the end, never contend."
            }
            Self::Imbalance => {
                "Tasks of skewed sizes, the same for a given seed. Split statically, one worker can \
                 be left with the heavy ones while the others sit idle; taken dynamically from a \
                 shared counter, as a pool does, the load balances. Tiny chunks cost dispatch."
            }
            Self::Crash => {
                "One worker crashes on a chosen task. A crashed process dies alone and the others \
                 finish; a panicking thread is caught, but an abort or a segfault takes its whole \
                 process down, so thread groups run in a host process here. --respawn replaces it."
            }
        }
    }

    /// What `--size` means for this workload, and its default.
    #[must_use]
    pub fn size_unit(self) -> &'static str {
        match self {
            Self::Cpu | Self::Crash => "integers per task",
            Self::Io => "milliseconds per task",
            Self::Memory => "MiB per task",
            Self::Contention => "increments per task",
            Self::Imbalance => "integers per unit of task weight",
        }
    }

    #[must_use]
    pub fn default_size(self) -> u64 {
        match self {
            Self::Cpu => cpu::DEFAULT_SIZE,
            Self::Io => io::DEFAULT_MILLIS,
            Self::Memory => memory::DEFAULT_MIB,
            Self::Contention => contention::DEFAULT_INCREMENTS,
            Self::Imbalance => imbalance::DEFAULT_SIZE,
            Self::Crash => crash::DEFAULT_SIZE,
        }
    }

    /// The workload with `size` (see [`Self::size_unit`]) and its options.
    #[must_use]
    pub fn build(self, size: u64, options: &WorkloadOptions) -> Box<dyn Workload> {
        match self {
            Self::Cpu => Box::new(Cpu { size }),
            Self::Io => Box::new(Io { millis: size }),
            Self::Memory => Box::new(Memory::new(size)),
            Self::Contention => Box::new(Contention { increments: size, strategy: options.strategy }),
            Self::Imbalance => Box::new(Imbalance { size, seed: options.seed }),
            Self::Crash => {
                Box::new(Crash { size, kind: options.crash, worker: options.crash_worker, at: options.crash_at })
            }
        }
    }

    /// True when a thread group running this workload could take its whole process down, so
    /// it must run in a host process of its own.
    #[must_use]
    pub fn may_kill_its_process(self, options: &WorkloadOptions) -> bool {
        self == Self::Crash && options.crash.kills_the_process()
    }
}

impl std::fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::{Flow, Hooks};

    use std::sync::atomic::{AtomicU32, AtomicU64};

    /// Hooks that record checkpoints and stop after `stop_after` of them.
    #[derive(Default)]
    pub struct Recorder {
        pub checkpoints: Vec<u64>,
        pub stop_after: Option<usize>,
        pub blocking_calls: usize,
        pub counter: AtomicU64,
        pub lock: AtomicU32,
        pub own: AtomicU64,
        pub rss: AtomicU64,
        pub pss: AtomicU64,
        pub worker: usize,
        pub tasks_done: u64,
        pub lock_waits: usize,
    }

    impl Hooks for Recorder {
        fn checkpoint(&mut self, units_done: u64) -> Flow {
            self.checkpoints.push(units_done);
            match self.stop_after {
                Some(n) if self.checkpoints.len() >= n => Flow::Stop,
                _ => Flow::Continue,
            }
        }

        fn blocking(&mut self, wait: &mut dyn FnMut()) {
            self.blocking_calls += 1;
            wait();
        }

        fn cells(&self) -> super::Cells<'_> {
            super::Cells {
                shared_counter: &self.counter,
                shared_lock: &self.lock,
                own_counter: &self.own,
                rss_bytes: &self.rss,
                pss_bytes: &self.pss,
                worker: self.worker,
                tasks_done: self.tasks_done,
                in_process: false,
            }
        }

        fn add_lock_wait(&mut self, _waited: std::time::Duration) {
            self.lock_waits += 1;
        }
    }
}
