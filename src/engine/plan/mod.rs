//! What to run: a run's plan, the user's request validated once at the edge so launchers never
//! see a bad value, with the CPUs it may use (`affinity.rs`) and the memory it may take
//! (`headroom.rs`). Nothing here starts, signals or reads a worker.

use std::fmt;
use std::time::Duration;

pub mod affinity;
mod headroom;
pub mod runtime;

pub(crate) use headroom::Room;
#[cfg(test)]
pub(crate) use headroom::{Headroom, Limit};

use crate::board::MAX_WORKERS;
use crate::workload::{Kind, OptionError, Setup, Shape};
use affinity::{allowed_cpus, Affinity, AffinityError};
use runtime::Runtime;

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
    /// N tasks on one thread's event loop (tokio's current-thread runtime).
    Async,
}

impl Model {
    pub const ALL: [Self; 4] = [Self::Sequential, Self::Threads, Self::Processes, Self::Async];

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Sequential => "sequential",
            Self::Threads => "threads",
            Self::Processes => "processes",
            Self::Async => "async",
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
    /// Re-execute this program with a hidden worker subcommand, as Python's "spawn"; under
    /// `--runtime python`, multiprocessing's own "spawn".
    Spawn,
    /// multiprocessing's "forkserver": a server process forks each worker (Python only).
    Forkserver,
}

impl StartMethod {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Fork => "fork",
            Self::Spawn => "spawn",
            Self::Forkserver => "forkserver",
        }
    }
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
    pub workload: &'static dyn Kind,
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
    /// Tasks taken per grab under the dynamic schedule; None: one. Refused with the static
    /// schedule, where tasks are not grabbed.
    pub chunk: Option<u64>,
    pub grace: Duration,
    pub drain: DrainPolicy,
    /// The workload's own options as given, flag (without dashes) and value; the workload
    /// checks them and fills in the rest.
    pub options: Vec<(String, String)>,
    /// Replace a crashed worker process and redo its task.
    pub respawn: bool,
    pub start: StartMethod,
    /// What runs the workers: native code, or a Python interpreter.
    pub runtime: Runtime,
}

impl PlanRequest {
    #[must_use]
    pub fn new(workload: &'static dyn Kind, model: Model) -> Self {
        Self {
            workload,
            model,
            workers: None,
            tasks: 8,
            size: None,
            affinity: Affinity::None,
            gil: None,
            schedule: Schedule::Static,
            chunk: None,
            grace: DEFAULT_GRACE,
            drain: DrainPolicy::Chunk,
            options: Vec::new(),
            respawn: false,
            start: StartMethod::Fork,
            runtime: Runtime::Native,
        }
    }

    /// The same request with `--flag value` for the workload.
    #[must_use]
    pub fn with_option(mut self, flag: &str, value: &str) -> Self {
        self.set(flag, value);
        self
    }

    /// True when multiprocessing would send the workload's code to its processes by pickle, as
    /// a Python programmer's own code would have it sent: processes started by spawn or
    /// forkserver, and any process pool (`ProcessPoolExecutor` pickles each call).
    #[must_use]
    pub fn pickles_code(&self) -> bool {
        self.model == Model::Processes && (self.start != StartMethod::Fork || self.schedule == Schedule::Dynamic)
    }

    /// Sets an option by its flag, as a variant of the dashboard names it: `schedule` is the
    /// run's, any other flag the workload's.
    pub fn set(&mut self, flag: &str, value: &str) {
        match (flag, value) {
            ("schedule", "static") => self.schedule = Schedule::Static,
            ("schedule", "dynamic") => self.schedule = Schedule::Dynamic,
            _ => {
                self.options.retain(|(known, _)| known != flag);
                self.options.push((flag.to_owned(), value.to_owned()));
            }
        }
    }
}

/// A validated plan: every field is usable as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The workload, its size and its options.
    pub workload: Setup,
    pub model: Model,
    pub workers: usize,
    pub tasks: u64,
    pub affinity: Affinity,
    /// The CPU each worker is pinned to, if any.
    pub pinning: Vec<Option<usize>>,
    pub gil: Option<Duration>,
    pub schedule: Schedule,
    pub chunk: u64,
    pub grace: Duration,
    pub drain: DrainPolicy,
    pub respawn: bool,
    pub start: StartMethod,
    /// The thread group runs in a host process of its own, since the workload may kill it.
    pub hosted: bool,
    pub runtime: Runtime,
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
    SizeTooLarge { size: u64, workload: &'static str, max: u64, unit: &'static str },
    #[error("--chunk must be at least 1")]
    NoChunk,
    #[error(
        "--chunk sets how many tasks a worker takes at a time from the shared counter: use it with --schedule dynamic"
    )]
    ChunkNeedsDynamic,
    #[error("--switch-interval must be longer than zero")]
    ZeroSwitchInterval,
    #[error("{0}")]
    Affinity(#[from] AffinityError),
    #[error(transparent)]
    Workload(#[from] OptionError),
    #[error("--start spawn makes processes: use it with --model processes")]
    SpawnNeedsProcesses,
    #[error("--workload {0} cannot run as tasks of one event loop: use --model threads or processes (--model async runs {1})")]
    NotAsync(&'static str, String),
    #[error("--gil does not apply to --model async: its one thread already runs one task at a time; drop --gil")]
    GilWithAsync,
    #[error(
        "--workload {0} serves its workers from this process, which spawned workers cannot reach: use --start fork"
    )]
    SpawnWithService(&'static str),
    #[error("--respawn needs --model processes and --schedule dynamic, so that a replacement can take the lost task")]
    RespawnNeedsDynamicProcesses,
    /// The run would not fit in the memory the process may take: what it needs, in words.
    #[error("{0}")]
    NotEnoughMemory(String),
    #[error("--workload {0} has no Python twin yet: use --runtime native, or one of {1}")]
    NoPythonTwin(&'static str, String),
    #[error(
        "--gil emulates CPython's lock in native workers; --runtime python runs the interpreter's own GIL: drop --gil"
    )]
    GilWithPython,
    #[error("--start forkserver is multiprocessing's: use it with --runtime python")]
    ForkserverNeedsPython,
    #[error("--respawn replaces native worker processes; Python's pools do not redo a lost task: drop --respawn")]
    RespawnWithPython,
    #[error("--workload {0}'s Python twin has no asyncio version: use --model threads or processes")]
    NotAsyncInPython(&'static str),
    #[error("--workload {0} runs your own Python code: it needs --runtime python")]
    NeedsPython(&'static str),
    #[error(
        "--models {0} emulates the interpreter lock in native workers; under --runtime python the interpreter's own GIL runs: use {1}"
    )]
    EmulatedLockWithPython(&'static str, &'static str),
}

impl PlanRequest {
    /// Validates against the CPUs this process may use and the memory it may take.
    pub fn validate(&self) -> Result<Plan, PlanError> {
        self.validate_within(&allowed_cpus()?, &Room::current())
    }

    /// Validates against `allowed` CPUs and the memory `room`: what every front end that runs
    /// the plan calls (`run`, each run of `bench` and of the dashboard's sweep), so that no way
    /// of starting a run skips the memory check.
    pub(crate) fn validate_within(&self, allowed: &[usize], room: &Room) -> Result<Plan, PlanError> {
        let plan = self.validate_with(allowed)?;
        plan.check_memory(room)?;
        Ok(plan)
    }

    /// Validates against `allowed` CPUs alone, without the memory check: for tests and for
    /// checks of the settings that do not start a run.
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
        let twin = match &self.runtime {
            Runtime::Native if self.workload.user_code_flag().is_some() => {
                return Err(PlanError::NeedsPython(self.workload.name()))
            }
            Runtime::Native => None,
            Runtime::Python(_) => Some(
                self.workload
                    .python()
                    .ok_or_else(|| PlanError::NoPythonTwin(self.workload.name(), python_workloads()))?,
            ),
        };
        let spec = twin.map_or_else(|| self.workload.size(), |twin| twin.size);
        let size = self.size.unwrap_or(spec.default);
        if size == 0 {
            return Err(PlanError::NoSize);
        }
        if let Some(max) = spec.max.filter(|max| size > *max) {
            return Err(PlanError::SizeTooLarge { size, workload: self.workload.name(), max, unit: spec.unit });
        }
        let chunk = match (self.chunk, self.schedule) {
            (Some(0), _) => return Err(PlanError::NoChunk),
            (Some(_), Schedule::Static) => return Err(PlanError::ChunkNeedsDynamic),
            (chunk, _) => chunk.unwrap_or(1),
        };
        if self.gil == Some(Duration::ZERO) {
            return Err(PlanError::ZeroSwitchInterval);
        }
        let pinning = self.affinity.assign(workers, allowed)?;
        let shape = Shape { workers, tasks: self.tasks, processes: self.model == Model::Processes };
        let workload = Setup::configure(self.workload, size, &self.options, &shape)?;
        if self.respawn && (self.model != Model::Processes || self.schedule != Schedule::Dynamic) {
            return Err(PlanError::RespawnNeedsDynamicProcesses);
        }
        if let Some(twin) = twin {
            self.check_python(twin)?;
            if let Some(why) = self.workload.python_refusal(&workload.options) {
                return Err(PlanError::Workload(OptionError::Refused(why)));
            }
        } else if self.start == StartMethod::Forkserver {
            return Err(PlanError::ForkserverNeedsPython);
        }
        if self.start != StartMethod::Fork && self.model != Model::Processes {
            return Err(PlanError::SpawnNeedsProcesses);
        }
        if self.model == Model::Async && twin.is_none() {
            if self.gil.is_some() {
                return Err(PlanError::GilWithAsync);
            }
            if workload.build().as_async().is_none() {
                return Err(PlanError::NotAsync(self.workload.name(), async_workloads()));
            }
        }
        if self.start == StartMethod::Spawn && twin.is_none() && workload.build().as_served().is_some() {
            return Err(PlanError::SpawnWithService(self.workload.name()));
        }
        let hosted =
            twin.is_none() && self.model != Model::Processes && self.workload.may_kill_its_process(&workload.options);
        Ok(Plan {
            workload,
            model: self.model,
            workers,
            tasks: self.tasks,
            affinity: self.affinity.clone(),
            pinning,
            gil: self.gil,
            schedule: self.schedule,
            chunk,
            grace: self.grace,
            drain: self.drain,
            respawn: self.respawn,
            start: self.start,
            hosted,
            runtime: self.runtime.clone(),
        })
    }

    /// The rules of the Python runtime: its own GIL, no respawn, asyncio only where the twin
    /// has it.
    fn check_python(&self, twin: crate::workload::PythonTwin) -> Result<(), PlanError> {
        if self.gil.is_some() {
            return Err(PlanError::GilWithPython);
        }
        if self.respawn {
            return Err(PlanError::RespawnWithPython);
        }
        if self.model == Model::Async && !twin.on_event_loop {
            return Err(PlanError::NotAsyncInPython(self.workload.name()));
        }
        Ok(())
    }
}

/// The workloads with a Python twin, as `cpu, io or net`.
fn python_workloads() -> String {
    let names: Vec<&str> =
        crate::workload::CATALOG.iter().filter(|kind| kind.python().is_some()).map(|kind| kind.name()).collect();
    or_list(&names)
}

fn or_list(names: &[&str]) -> String {
    match names.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => "none".to_owned(),
    }
}

/// True when `kind` can run as tasks of one event loop (`--model async`); for the user's own
/// code, which runs only in Python, when its twin can.
pub(crate) fn runs_on_event_loop(kind: &'static dyn Kind) -> bool {
    if kind.user_code_flag().is_some() {
        return kind.python().is_some_and(|twin| twin.on_event_loop);
    }
    let shape = Shape { workers: 1, tasks: 1, processes: false };
    Setup::configure(kind, kind.size().default, &[], &shape).is_ok_and(|setup| setup.build().as_async().is_some())
}

/// The workloads that run on an event loop, as `cpu, io or net`.
fn async_workloads() -> String {
    let names: Vec<&str> =
        crate::workload::CATALOG.iter().filter(|kind| runs_on_event_loop(**kind)).map(|kind| kind.name()).collect();
    or_list(&names)
}

impl Plan {
    /// True when the workers are CPython threads of a twin under the GIL: they report every
    /// wait they choose, so what the kernel sees them leave their CPU for while they compute is
    /// the GIL. Not for a user's own function (it may wait without saying so), processes (one
    /// thread each) or a free-threaded build.
    #[must_use]
    pub fn python_gil_threads(&self) -> bool {
        self.runtime.interpreter().is_some_and(|python| python.gil)
            && self.model == Model::Threads
            && self.workload.kind.user_code_flag().is_none()
    }

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
    use crate::workload::by_name;

    fn kind(name: &str) -> &'static dyn Kind {
        by_name(name).expect("a catalog entry")
    }

    fn request() -> PlanRequest {
        PlanRequest { workers: Some(4), tasks: 10, ..PlanRequest::new(kind("cpu"), Model::Threads) }
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
        let plan = PlanRequest::new(kind("io"), Model::Processes).validate_with(&[0, 1, 2]).expect("valid");
        assert_eq!(plan.workers, 3);
        assert_eq!(plan.workload.size, kind("io").size().default);
        let seq = PlanRequest::new(kind("cpu"), Model::Sequential).validate_with(&[0, 1]).expect("valid");
        assert_eq!(seq.workers, 1);
    }

    #[test]
    fn the_dashboard_sets_run_and_workload_options_by_flag() {
        let mut request = PlanRequest::new(kind("imbalance"), Model::Threads);
        request.set("schedule", "dynamic");
        assert_eq!((request.schedule, request.options.len()), (Schedule::Dynamic, 0));
        let request = PlanRequest::new(kind("contention"), Model::Threads).with_option("strategy", "mutex");
        let plan = request.validate_with(&[0, 1]).expect("valid");
        assert_eq!(plan.workload.options.get("strategy"), "mutex");
        assert_eq!(plan.workload.variant(), "mutex");
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let refused = |text: &str| PlanError::Workload(OptionError::Refused(text.to_owned()));
        let cases = [
            (PlanRequest { workers: Some(0), ..request() }, PlanError::NoWorkers),
            (PlanRequest { workers: Some(MAX_WORKERS + 1), ..request() }, PlanError::TooManyWorkers(MAX_WORKERS + 1)),
            (PlanRequest { tasks: 0, ..request() }, PlanError::NoTasks),
            (PlanRequest { chunk: Some(4), ..request() }, PlanError::ChunkNeedsDynamic),
            (PlanRequest { chunk: Some(0), schedule: Schedule::Dynamic, ..request() }, PlanError::NoChunk),
            (PlanRequest { size: Some(0), ..request() }, PlanError::NoSize),
            (PlanRequest { gil: Some(Duration::ZERO), ..request() }, PlanError::ZeroSwitchInterval),
            (PlanRequest { model: Model::Sequential, ..request() }, PlanError::SequentialWithWorkers),
            (
                PlanRequest { workload: kind("data"), ..request() }.with_option("transfer", "pipe"),
                refused("--transfer pipe sends each chunk to a worker process: use it with --model processes"),
            ),
            (
                PlanRequest { workload: kind("ipc"), ..request() }.with_option("transport", "shm"),
                refused("--transport shm connects processes: use it with --model processes"),
            ),
            (
                request().with_option("transport", "pipe"),
                PlanError::Workload(OptionError::NotFor { flag: "transport".into(), applies_to: "ipc".into() }),
            ),
            (
                PlanRequest { workload: kind("data"), size: Some(2000), ..request() },
                PlanError::SizeTooLarge { size: 2000, workload: "data", max: 1024, unit: "MiB of data in all" },
            ),
            (
                PlanRequest { workload: kind("crash"), ..request() }.with_option("crash-worker", "4"),
                refused("--crash-worker 4 is not a worker of this run (workers are 0 to 3)"),
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
