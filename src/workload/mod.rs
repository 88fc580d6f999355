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
mod data;
mod imbalance;
mod io;
mod ipc;
mod memory;

pub use contention::{Contention, Strategy};
pub use cpu::{sum_of_squares, Cpu};
pub use crash::{crash, segfault, Crash, CrashKind, CRASH_EXIT_CODE};
pub use data::{Data, Transfer};
pub use imbalance::Imbalance;
pub use io::Io;
pub use ipc::Ipc;
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

/// Why [`Hooks::exchange`] came back without a reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    /// The run is stopping: leave the task as at a chunk boundary.
    #[error("the run is stopping")]
    Stopping,
    /// The line is gone (the coordinator hung up) or refused the message.
    #[error("the line to the coordinator broke: {0}")]
    Broken(String),
}

/// How messages travel between the coordinator and a worker (`ipc`, `data --transfer pipe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// A crossbeam channel each way: threads only.
    Channel,
    /// Two pipes, one each way.
    Pipe,
    /// A Unix stream socket pair.
    Socket,
    /// A mailbox in the board's shared memory, with a futex to sleep on.
    Shm,
}

impl Transport {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Channel => "channel",
            Self::Pipe => "pipe",
            Self::Socket => "socket",
            Self::Shm => "shm",
        }
    }

    /// True when the transport connects threads of one process; false when it connects processes.
    #[must_use]
    pub fn is_for_threads(self) -> bool {
        self == Self::Channel
    }

    /// What it connects, and the `--model` values that make those.
    #[must_use]
    pub fn connects(self) -> (&'static str, &'static str) {
        if self.is_for_threads() {
            ("threads", "threads or sequential")
        } else {
            ("processes", "processes")
        }
    }
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The coordinator's end of a worker's line: whole messages, one in flight each way.
pub trait Line {
    /// Sends one message. Fails once the worker has hung up or the run is over.
    fn send(&mut self, message: &[u8]) -> Result<(), ExchangeError>;
    /// Receives one message into `into`, replacing what it held.
    fn recv(&mut self, into: &mut Vec<u8>) -> Result<(), ExchangeError>;
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
    /// Sends `message` to the coordinator over this worker's line and waits for the reply, with
    /// the interpreter lock released; only for workloads whose [`Workload::line`] is `Some`.
    fn exchange(&mut self, message: &[u8], reply: &mut Vec<u8>) -> Result<(), ExchangeError>;
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
    /// Work done once in the program before any worker starts (never in a spawned worker), so
    /// that forked workers inherit it and the coordinator never makes a worker wait for it.
    fn prepare(&self) {}
    /// The line each worker needs to the coordinator, if the workload talks to it.
    fn line(&self) -> Option<Transport> {
        None
    }
    /// The coordinator's side of worker `worker`'s line. The engine runs it on a thread of its
    /// own in the program, never in a worker, until the line fails.
    fn serve(&self, _worker: usize, _line: &mut dyn Line) {}
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
    /// What crossed the workers' lines, both ways, and the time workers spent in exchanges.
    pub line_bytes: u64,
    pub line_seconds: f64,
    /// True when workers could write memory the coordinator made (threads and forked
    /// processes); false for spawned processes, which share only the board.
    pub inherited_memory: bool,
}

/// The catalog's entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkloadKind {
    Cpu,
    Io,
    Data,
    Ipc,
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
    /// `imbalance`: the seed of the task sizes; `data`: the seed of the dataset.
    pub seed: u64,
    /// `data`: how a worker gets its chunk.
    pub transfer: Transfer,
    /// `ipc`: what the round trips travel over.
    pub transport: Transport,
}

impl Default for WorkloadOptions {
    fn default() -> Self {
        Self {
            strategy: Strategy::Racy,
            crash: CrashKind::Panic,
            crash_worker: 0,
            crash_at: 2,
            seed: imbalance::DEFAULT_SEED,
            transfer: Transfer::Inherit,
            transport: Transport::Channel,
        }
    }
}

impl WorkloadKind {
    pub const ALL: [Self; 8] =
        [Self::Cpu, Self::Io, Self::Data, Self::Ipc, Self::Memory, Self::Contention, Self::Imbalance, Self::Crash];

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Io => "io",
            Self::Data => "data",
            Self::Ipc => "ipc",
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
            Self::Data => "data-intensive: histograms of a dataset, combined and checked; shared, or sent over a pipe",
            Self::Ipc => "talking costs: round trips to each worker over a channel, pipe, socket or shared memory",
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
            Self::Data => {
                "A dataset made from a seed is split into chunks; each task counts the bytes of its \
                 chunk and the partial histograms are combined and checked against a sequential \
                 count. Threads read the data in place; forked processes inherit it copy-on-write, \
                 and since they only read, nothing is copied. Transfer pipe sends every chunk to \
                 its process and the result back, as multiprocessing's Pool.map does."
            }
            Self::Ipc => {
                "The coordinator answers ping after ping from each worker. Between threads a \
                 channel hop costs microseconds; between processes every message crosses the \
                 kernel (pipe, socket) unless they share memory. Round trips per second and the \
                 p50/p99 latency show what each way of talking costs."
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
            Self::Data => "MiB of data in all",
            Self::Ipc => "round trips per task",
            Self::Memory => "MiB per task",
            Self::Contention => "increments per task",
            Self::Imbalance => "integers per unit of task weight",
        }
    }

    /// The largest `--size` the workload takes, where a larger one would exhaust memory.
    #[must_use]
    pub fn max_size(self) -> Option<u64> {
        match self {
            Self::Data => Some(data::MAX_MIB),
            Self::Memory => Some(memory::MAX_MIB),
            Self::Cpu | Self::Io | Self::Ipc | Self::Contention | Self::Imbalance | Self::Crash => None,
        }
    }

    #[must_use]
    pub fn default_size(self) -> u64 {
        match self {
            Self::Cpu => cpu::DEFAULT_SIZE,
            Self::Io => io::DEFAULT_MILLIS,
            Self::Data => data::DEFAULT_MIB,
            Self::Ipc => ipc::DEFAULT_ROUND_TRIPS,
            Self::Memory => memory::DEFAULT_MIB,
            Self::Contention => contention::DEFAULT_INCREMENTS,
            Self::Imbalance => imbalance::DEFAULT_SIZE,
            Self::Crash => crash::DEFAULT_SIZE,
        }
    }

    /// The workload with `size` (see [`Self::size_unit`]) and its options.
    #[must_use]
    pub fn build(self, size: u64, tasks: u64, options: &WorkloadOptions) -> Box<dyn Workload> {
        match self {
            Self::Data => Box::new(Data::new(size, options.seed, tasks, options.transfer)),
            Self::Ipc => Box::new(Ipc::new(size, options.transport)),
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

    /// The far end of a coordinator's line, scripted: each `recv` hands out the next message of
    /// `inbox` (and reports a hang-up when none is left); each `send` is kept in `sent`.
    #[derive(Default)]
    pub struct ScriptedLine {
        pub inbox: std::collections::VecDeque<Vec<u8>>,
        pub sent: Vec<Vec<u8>>,
    }

    impl super::Line for ScriptedLine {
        fn send(&mut self, message: &[u8]) -> Result<(), super::ExchangeError> {
            self.sent.push(message.to_vec());
            Ok(())
        }

        fn recv(&mut self, into: &mut Vec<u8>) -> Result<(), super::ExchangeError> {
            *into = self.inbox.pop_front().ok_or_else(|| super::ExchangeError::Broken("hung up".into()))?;
            Ok(())
        }
    }

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
        pub exchanges: usize,
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

        /// Echoes the message, as a coordinator that only answers would.
        fn exchange(&mut self, message: &[u8], reply: &mut Vec<u8>) -> Result<(), super::ExchangeError> {
            self.exchanges += 1;
            reply.clear();
            reply.extend_from_slice(message);
            Ok(())
        }
    }
}
