//! A run's plan: what the user asked for, validated once at the edge so launchers never see a
//! bad value.

use std::fmt;
use std::time::Duration;

use super::affinity::{allowed_cpus, Affinity, AffinityError};
use crate::board::MAX_WORKERS;
use crate::workload::{CrashKind, Strategy, Transfer, Transport, WorkloadKind, WorkloadOptions};

/// How work is executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Model {
    /// One worker does every task in order.
    Sequential,
    /// N OS threads in this process.
    Threads,
    /// N processes made with fork.
    Processes,
}

impl Model {
    pub const ALL: [Self; 3] = [Self::Sequential, Self::Threads, Self::Processes];

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Sequential => "sequential",
            Self::Threads => "threads",
            Self::Processes => "processes",
        }
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How tasks reach workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// Tasks split into equal contiguous blocks before the start.
    #[default]
    Static,
    /// Workers take the next tasks from the board's shared counter, as a pool does.
    Dynamic,
}

/// How a worker process is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StartMethod {
    /// `fork`: a copy of this process, memory and all (copy-on-write).
    #[default]
    Fork,
    /// Re-execute this program with a hidden worker subcommand, as Python's "spawn".
    Spawn,
}

/// Where a stop request lets workers stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DrainPolicy {
    /// At the next chunk boundary.
    #[default]
    Chunk,
    /// After the task in hand, as `executor.shutdown(wait=True)`.
    Task,
}

/// Default grace period between a stop request and SIGTERM/SIGKILL.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(3);
/// CPython's default `sys.setswitchinterval`.
pub const DEFAULT_SWITCH_INTERVAL: Duration = Duration::from_millis(5);

/// What the user asked for, before validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRequest {
    pub workload: WorkloadKind,
    pub model: Model,
    /// None: one per allowed CPU (one for sequential).
    pub workers: Option<usize>,
    pub tasks: u64,
    /// None: the workload's default.
    pub size: Option<u64>,
    pub affinity: Affinity,
    /// Some(switch interval): the emulated interpreter lock is on.
    pub gil: Option<Duration>,
    pub schedule: Schedule,
    pub chunk: u64,
    pub grace: Duration,
    pub drain: DrainPolicy,
    /// Workload options as given; None: not given (the default applies).
    pub strategy: Option<Strategy>,
    pub crash: Option<CrashKind>,
    pub crash_worker: Option<usize>,
    pub crash_at: Option<u64>,
    pub seed: Option<u64>,
    pub transfer: Option<Transfer>,
    /// None: a channel between threads, a pipe between processes.
    pub transport: Option<Transport>,
    /// Replace a crashed worker process and redo its task.
    pub respawn: bool,
    pub start: StartMethod,
}

impl PlanRequest {
    #[must_use]
    pub fn new(workload: WorkloadKind, model: Model) -> Self {
        Self {
            workload,
            model,
            workers: None,
            tasks: 8,
            size: None,
            affinity: Affinity::None,
            gil: None,
            schedule: Schedule::Static,
            chunk: 1,
            grace: DEFAULT_GRACE,
            drain: DrainPolicy::Chunk,
            strategy: None,
            crash: None,
            crash_worker: None,
            crash_at: None,
            seed: None,
            transfer: None,
            transport: None,
            respawn: false,
            start: StartMethod::Fork,
        }
    }
}

/// A validated plan: every field is usable as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub workload: WorkloadKind,
    pub model: Model,
    pub workers: usize,
    pub tasks: u64,
    pub size: u64,
    pub affinity: Affinity,
    /// The CPU each worker is pinned to, if any.
    pub pinning: Vec<Option<usize>>,
    pub gil: Option<Duration>,
    pub schedule: Schedule,
    pub chunk: u64,
    pub grace: Duration,
    pub drain: DrainPolicy,
    pub options: WorkloadOptions,
    pub respawn: bool,
    pub start: StartMethod,
    /// The thread group runs in a host process of its own, since the workload may kill it.
    pub hosted: bool,
}

/// A plan that cannot run; the message names the option and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("--workers must be at least 1")]
    NoWorkers,
    #[error("--workers {0} is more than the board holds ({MAX_WORKERS})")]
    TooManyWorkers(usize),
    #[error("--model sequential runs exactly one worker; drop --workers or pick threads or processes")]
    SequentialWithWorkers,
    #[error("--tasks must be at least 1")]
    NoTasks,
    #[error("--size must be at least 1")]
    NoSize,
    #[error("--size {size} is more than --workload {workload} allows: at most {max} ({unit})")]
    SizeTooLarge { size: u64, workload: WorkloadKind, max: u64, unit: &'static str },
    #[error("--chunk must be at least 1")]
    NoChunk,
    #[error("--switch-interval must be longer than zero")]
    ZeroSwitchInterval,
    #[error("{0}")]
    Affinity(#[from] AffinityError),
    #[error("{option} applies to --workload {applies_to} only")]
    OptionNotFor { option: &'static str, applies_to: &'static str },
    #[error("--crash-worker {0} is not a worker of this run (workers are 0 to {1})")]
    NoSuchWorker(usize, usize),
    #[error("--crash-at counts tasks from 1")]
    CrashAtZero,
    #[error("--start spawn makes processes: use it with --model processes")]
    SpawnNeedsProcesses,
    #[error("--respawn needs --model processes and --schedule dynamic, so that a replacement can take the lost task")]
    RespawnNeedsDynamicProcesses,
    #[error("--transfer pipe sends each chunk to a worker process: use it with --model processes")]
    TransferNeedsProcesses,
    #[error(
        "--transport {0} connects {connects}: use it with --model {models}",
        connects = .0.connects().0,
        models = .0.connects().1
    )]
    TransportNotForModel(Transport),
}

impl PlanRequest {
    /// Validates against the CPUs this process may use.
    pub fn validate(&self) -> Result<Plan, PlanError> {
        self.validate_with(&allowed_cpus()?)
    }

    pub fn validate_with(&self, allowed: &[usize]) -> Result<Plan, PlanError> {
        let workers = match (self.model, self.workers) {
            (Model::Sequential, Some(n)) if n > 1 => return Err(PlanError::SequentialWithWorkers),
            (Model::Sequential, _) => 1,
            (_, Some(n)) => n,
            (_, None) => allowed.len().max(1),
        };
        if workers == 0 {
            return Err(PlanError::NoWorkers);
        }
        if workers > MAX_WORKERS {
            return Err(PlanError::TooManyWorkers(workers));
        }
        if self.tasks == 0 {
            return Err(PlanError::NoTasks);
        }
        let size = self.size.unwrap_or_else(|| self.workload.default_size());
        if size == 0 {
            return Err(PlanError::NoSize);
        }
        if let Some(max) = self.workload.max_size().filter(|max| size > *max) {
            return Err(PlanError::SizeTooLarge {
                size,
                workload: self.workload,
                max,
                unit: self.workload.size_unit(),
            });
        }
        if self.chunk == 0 {
            return Err(PlanError::NoChunk);
        }
        if self.gil == Some(Duration::ZERO) {
            return Err(PlanError::ZeroSwitchInterval);
        }
        let pinning = self.affinity.assign(workers, allowed)?;
        let options = self.workload_options(workers)?;
        if options.transfer == Transfer::Pipe && self.model != Model::Processes {
            return Err(PlanError::TransferNeedsProcesses);
        }
        if self.workload == WorkloadKind::Ipc && options.transport.is_for_threads() == (self.model == Model::Processes)
        {
            return Err(PlanError::TransportNotForModel(options.transport));
        }
        if self.respawn && (self.model != Model::Processes || self.schedule != Schedule::Dynamic) {
            return Err(PlanError::RespawnNeedsDynamicProcesses);
        }
        if self.start == StartMethod::Spawn && self.model != Model::Processes {
            return Err(PlanError::SpawnNeedsProcesses);
        }
        Ok(Plan {
            workload: self.workload,
            model: self.model,
            workers,
            tasks: self.tasks,
            size,
            affinity: self.affinity.clone(),
            pinning,
            gil: self.gil,
            schedule: self.schedule,
            chunk: self.chunk,
            grace: self.grace,
            drain: self.drain,
            options,
            respawn: self.respawn,
            start: self.start,
            hosted: self.model != Model::Processes && self.workload.may_kill_its_process(&options),
        })
    }

    /// The workload's options, refusing those given for another workload.
    fn workload_options(&self, workers: usize) -> Result<WorkloadOptions, PlanError> {
        let only_for = |given: bool, option, workload: WorkloadKind| {
            if given && self.workload != workload {
                Err(PlanError::OptionNotFor { option, applies_to: workload.name() })
            } else {
                Ok(())
            }
        };
        only_for(self.strategy.is_some(), "--strategy", WorkloadKind::Contention)?;
        only_for(self.crash.is_some(), "--crash", WorkloadKind::Crash)?;
        only_for(self.crash_worker.is_some(), "--crash-worker", WorkloadKind::Crash)?;
        only_for(self.crash_at.is_some(), "--crash-at", WorkloadKind::Crash)?;
        if self.seed.is_some() && !matches!(self.workload, WorkloadKind::Imbalance | WorkloadKind::Data) {
            return Err(PlanError::OptionNotFor { option: "--seed", applies_to: "imbalance or data" });
        }
        only_for(self.transfer.is_some(), "--transfer", WorkloadKind::Data)?;
        only_for(self.transport.is_some(), "--transport", WorkloadKind::Ipc)?;
        let natural_transport = if self.model == Model::Processes { Transport::Pipe } else { Transport::Channel };
        let defaults = WorkloadOptions::default();
        let options = WorkloadOptions {
            strategy: self.strategy.unwrap_or(defaults.strategy),
            crash: self.crash.unwrap_or(defaults.crash),
            crash_worker: self.crash_worker.unwrap_or(defaults.crash_worker),
            crash_at: self.crash_at.unwrap_or(defaults.crash_at),
            seed: self.seed.unwrap_or(defaults.seed),
            transfer: self.transfer.unwrap_or(defaults.transfer),
            transport: self.transport.unwrap_or(natural_transport),
        };
        if options.crash_worker >= workers {
            return Err(PlanError::NoSuchWorker(options.crash_worker, workers - 1));
        }
        if options.crash_at == 0 {
            return Err(PlanError::CrashAtZero);
        }
        Ok(options)
    }
}

impl Plan {
    /// The contiguous block of tasks worker `index` runs under the static schedule.
    #[must_use]
    pub fn static_tasks(&self, index: usize) -> std::ops::Range<u64> {
        // In u128: tasks × index overflows u64 for a task count near its limit.
        let (tasks, workers) = (u128::from(self.tasks), self.workers as u128);
        let at = |index: usize| (tasks * index as u128 / workers) as u64;
        at(index)..at(index + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> PlanRequest {
        PlanRequest { workers: Some(4), tasks: 10, ..PlanRequest::new(WorkloadKind::Cpu, Model::Threads) }
    }

    #[test]
    fn static_blocks_cover_every_task_once() {
        let plan = request().validate_with(&[0, 1]).expect("valid");
        let blocks: Vec<_> = (0..4).map(|i| plan.static_tasks(i)).collect();
        assert_eq!(blocks, vec![0..2, 2..5, 5..7, 7..10]);
        let huge = PlanRequest { tasks: u64::MAX, ..request() }.validate_with(&[0, 1]).expect("valid");
        assert_eq!(huge.static_tasks(3).end, u64::MAX, "the last block ends at the last task");
        assert_eq!(huge.static_tasks(0).end, huge.static_tasks(1).start);
    }

    #[test]
    fn defaults_fill_in() {
        let plan = PlanRequest::new(WorkloadKind::Io, Model::Processes).validate_with(&[0, 1, 2]).expect("valid");
        assert_eq!(plan.workers, 3);
        assert_eq!(plan.size, WorkloadKind::Io.default_size());
        let seq = PlanRequest::new(WorkloadKind::Cpu, Model::Sequential).validate_with(&[0, 1]).expect("valid");
        assert_eq!(seq.workers, 1);
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let cases = [
            (PlanRequest { workers: Some(0), ..request() }, PlanError::NoWorkers),
            (PlanRequest { workers: Some(MAX_WORKERS + 1), ..request() }, PlanError::TooManyWorkers(MAX_WORKERS + 1)),
            (PlanRequest { tasks: 0, ..request() }, PlanError::NoTasks),
            (PlanRequest { size: Some(0), ..request() }, PlanError::NoSize),
            (PlanRequest { gil: Some(Duration::ZERO), ..request() }, PlanError::ZeroSwitchInterval),
            (PlanRequest { model: Model::Sequential, ..request() }, PlanError::SequentialWithWorkers),
            (
                PlanRequest { workload: WorkloadKind::Data, transfer: Some(Transfer::Pipe), ..request() },
                PlanError::TransferNeedsProcesses,
            ),
            (
                PlanRequest { workload: WorkloadKind::Ipc, transport: Some(Transport::Shm), ..request() },
                PlanError::TransportNotForModel(Transport::Shm),
            ),
            (
                PlanRequest { transport: Some(Transport::Pipe), ..request() },
                PlanError::OptionNotFor { option: "--transport", applies_to: "ipc" },
            ),
            (
                PlanRequest { workload: WorkloadKind::Data, size: Some(2000), ..request() },
                PlanError::SizeTooLarge {
                    size: 2000,
                    workload: WorkloadKind::Data,
                    max: 1024,
                    unit: "MiB of data in all",
                },
            ),
        ];
        for (req, expected) in cases {
            assert_eq!(req.validate_with(&[0, 1]), Err(expected));
        }
        let pinned = PlanRequest { affinity: Affinity::List(vec![7]), ..request() };
        assert!(matches!(
            pinned.validate_with(&[0, 1]),
            Err(PlanError::Affinity(AffinityError::NotAllowed { cpu: 7, .. }))
        ));
    }
}
