//! The command line: clap definitions, and their translation into a [`PlanRequest`].
//! Values are checked here as far as their syntax goes; the plan checks the rest.

use std::time::Duration;

use clap::builder::PossibleValuesParser;
use clap::{Arg, ArgMatches, Args, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::engine::affinity::Affinity;
use crate::engine::plan::runtime::{CodeCheck, Interpreter, PythonError, Runtime};
use crate::engine::plan::DEFAULT_SWITCH_INTERVAL;
use crate::engine::{DrainPolicy, Model, PlanRequest, Schedule};
use crate::experiments::EXPERIMENTS;
use crate::sweep::{Models, SpecError, WorkerList};
use crate::ui::theme::Background;
use crate::units::{parse_duration, parse_size, SizeError};
use crate::workload::{all_options, by_name, listed, user_code_in, Kind, Values, CATALOG};

/// What `--version` prints after the name: the commit too, so that a bug report names the exact
/// build (build.rs finds it).
pub(crate) const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("CONCUR_TUI_GIT_COMMIT"), ")");

#[derive(Debug, Parser)]
#[command(
    name = "concur-tui",
    version = VERSION,
    about = "A concurrency lab in the terminal: threads vs processes, measured on your machine.",
    long_about = "Without a subcommand, opens the dashboard (needs a terminal), on the settings \
                  flags of `run` given (the defaults shown are `run`'s; a flag not given keeps \
                  the dashboard's own). `concur-tui run` runs the same engine headless, for \
                  scripts and CI."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Grace period after Ctrl-C, SIGTERM, SIGHUP (or `c` in the dashboard) before workers are
    /// terminated, such as 3s or 500ms.
    #[arg(long, value_parser = parse_duration, default_value = "3s", global = true)]
    pub grace: Duration,
    /// The dashboard's colours: for a dark or a light background, or auto to ask the terminal
    /// (dark when it does not say). NO_COLOR turns colour off whatever this says.
    #[arg(long, value_enum, default_value_t = ThemeChoice::Auto)]
    pub theme: ThemeChoice,
    /// The dashboard's starting settings, in `run`'s flags.
    #[command(flatten)]
    pub dashboard: DashboardArgs,
}

/// `--theme`: which palette the dashboard uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub(crate) enum ThemeChoice {
    #[default]
    Auto,
    Dark,
    Light,
}

impl ThemeChoice {
    /// The background to draw for, given the terminal's answer when it was asked.
    #[must_use]
    pub(crate) fn background(self, answer: Option<Background>) -> Background {
        match self {
            Self::Auto => answer.unwrap_or_default(),
            Self::Dark => Background::Dark,
            Self::Light => Background::Light,
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List the workload catalog: name and what it shows.
    List,
    /// Run one workload headless and print a report.
    Run(RunArgs),
    /// Measure like hyperfine: repeated, interleaved runs of several models at several worker
    /// counts, with spread, speedup, Amdahl's law fitted, and exports.
    Bench(BenchArgs),
    /// Test each claim of the articles on this machine: run its experiment (the runs that test
    /// it, baseline first) and print the claims table: claim, runs, figure, verdict.
    Experiments(ExperimentsArgs),
    /// Print a shell's completion script, such as `concur-tui completions bash`.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the man page, in roff (`concur-tui man | man -l -` shows it).
    Man {
        /// A subcommand's own page instead, such as `run` for concur-tui-run(1).
        #[arg(value_parser = crate::man_and_completions::page_subcommand)]
        subcommand: Option<String>,
    },
    /// A worker process started with --start spawn (internal).
    #[command(name = "__worker", hide = true)]
    Worker { spec: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub(crate) enum Format {
    #[default]
    Table,
    Json,
    /// One row per worker, RFC 4180, for spreadsheets.
    Csv,
    /// The plan, the workers' table and the totals, for notes and issues.
    Markdown,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The workload and how its tasks are laid out, shared with `bench`.
    #[command(flatten)]
    pub setup: SetupArgs,
    /// The model, its workers, lock and drain, shared with the dashboard.
    #[command(flatten)]
    pub model: ModelArgs,
    /// Replace a crashed worker process and redo its task (processes, dynamic schedule).
    #[arg(long)]
    pub respawn: bool,
    /// table for people, json for scripts.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Also write every worker's states over time to FILE, in Chrome's trace format (open it in
    /// Perfetto or chrome://tracing). The file is created before the run starts.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<std::path::PathBuf>,
}

/// What `run` and the dashboard both take besides the setup: the model, its workers, the lock
/// and the drain.
#[derive(Debug, Args)]
pub(crate) struct ModelArgs {
    /// sequential: one worker; threads: N OS threads; processes: N forked processes; async: N tasks
    /// of one thread's event loop.
    #[arg(long, short = 'm', value_enum, default_value_t = Model::Threads)]
    pub model: Model,
    /// Number of workers [default: one per allowed CPU; 1 for sequential].
    #[arg(long, short = 'n')]
    pub workers: Option<usize>,
    /// Emulate an interpreter lock: one per process, threads take turns holding it.
    #[arg(long)]
    pub gil: bool,
    /// How long a lock holder computes before handing over to a waiter, such as 5ms.
    #[arg(long, value_parser = parse_duration, requires = "gil")]
    pub switch_interval: Option<Duration>,
    /// After a stop request, stop at the next chunk or after the task in hand.
    #[arg(long, value_enum, default_value_t = DrainPolicy::Chunk)]
    pub drain: DrainPolicy,
}

/// The dashboard's starting settings: `run`'s own flags, so that a `run` line opens the
/// dashboard on the same settings. The flags not given keep the dashboard's own defaults.
#[derive(Debug, Args)]
pub(crate) struct DashboardArgs {
    #[command(flatten)]
    pub setup: SetupArgs,
    #[command(flatten)]
    pub model: ModelArgs,
}

/// What `run` and `bench` both take: the workload, its tasks, size and options, and how they
/// are laid out on workers.
#[derive(Debug, Args)]
pub(crate) struct SetupArgs {
    /// Which workload of `concur-tui list` to run.
    #[arg(long, short = 'w', default_value = "cpu", value_parser = PossibleValuesParser::new(listed().map(|kind| kind.name())))]
    pub workload: String,
    /// Number of tasks, split among the workers.
    #[arg(long, short = 't', default_value_t = 8)]
    pub tasks: u64,
    /// Task size, in the workload's own unit: integers per task for cpu (150M, 1.5G),
    /// milliseconds for io (400, 400ms, 1.5s), MiB for memory and data (512, 2GiB)…
    /// (`concur-tui list` shows each unit, default and limit).
    #[arg(long, short = 's')]
    pub size: Option<String>,
    /// none, spread (worker i on the i-th allowed CPU), single (all on the first) or a CPU list
    /// such as 0,2-3 (worker i on the i-th listed CPU).
    #[arg(long, short = 'a', default_value = "none", value_parser = parse_affinity)]
    pub affinity: Affinity,
    /// static: tasks split in blocks up front; dynamic: workers take tasks from a shared counter.
    #[arg(long, value_enum, default_value_t = Schedule::Static)]
    pub schedule: Schedule,
    /// Tasks taken per grab under the dynamic schedule [default: 1].
    #[arg(long)]
    pub chunk: Option<u64>,
    /// The options of each workload, from the catalog.
    #[command(flatten)]
    pub workload_options: WorkloadOptions,
    /// How worker processes start: fork, or spawn (re-execute this binary, as Python's spawn);
    /// under --runtime python, multiprocessing's fork, spawn or forkserver.
    #[arg(long, value_enum, default_value_t = crate::engine::StartMethod::Fork)]
    pub start: crate::engine::StartMethod,
    /// native: this program's own workers; python: CPython's threads, multiprocessing,
    /// concurrent.futures pools and asyncio, with the interpreter's real GIL.
    #[arg(long, value_enum, default_value_t = RuntimeChoice::Native)]
    pub runtime: RuntimeChoice,
    /// The Python interpreter for --runtime python (implies it) [default: python3 on PATH]: a
    /// venv's python, python3.13t…
    #[arg(long, value_name = "PATH")]
    pub python: Option<std::path::PathBuf>,
}

/// `--runtime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum RuntimeChoice {
    Native,
    Python,
}

/// A request the command line cannot make: a size it cannot read, an interpreter it cannot use.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RequestError {
    #[error("--size: {0}")]
    Size(#[from] SizeError),
    #[error("{0}")]
    Python(#[from] PythonError),
}

impl SetupArgs {
    /// The workload asked for: the entry of the user's own code when its option is given
    /// (`--function`), else `--workload`'s.
    fn workload(&self) -> &'static dyn Kind {
        // The value parser admits catalog names only.
        user_code_in(&self.workload_options.given).unwrap_or_else(|| by_name(&self.workload).unwrap_or(CATALOG[0]))
    }

    /// The runtime asked for, its interpreter asked what it is; the user's own code implies
    /// Python, and the same start of the interpreter checks it (`pickled`: whether the run
    /// sends it to other processes by pickle).
    pub(crate) fn runtime(&self, pickled: bool) -> Result<Runtime, PythonError> {
        let workload = self.workload();
        let python = self.python.as_deref().unwrap_or(std::path::Path::new("python3"));
        match (workload.user_code_flag(), workload.python()) {
            (Some(_), Some(twin)) => {
                let check = CodeCheck { source: twin.source, options: &self.workload_options.given, pickled };
                Ok(Runtime::Python(Interpreter::probe_checking(python, &check)?))
            }
            _ if self.runtime == RuntimeChoice::Python || self.python.is_some() => {
                Ok(Runtime::Python(Interpreter::probe(python)?))
            }
            _ => Ok(Runtime::Native),
        }
    }

    /// A request for `model` with these settings, its size read in the workload's unit; the caller
    /// sets workers, lock and the rest.
    pub(crate) fn request(&self, model: Model, grace: Duration) -> Result<PlanRequest, RequestError> {
        self.request_among(model, &[model], grace)
    }

    /// [`Self::request`] for a run of `model` among runs of `models` (a sweep's): the user's own
    /// code is checked for what any of them needs.
    pub(crate) fn request_among(
        &self,
        model: Model,
        models: &[Model],
        grace: Duration,
    ) -> Result<PlanRequest, RequestError> {
        let workload = self.workload();
        let twin_unit = workload.python().map(|twin| twin.size.short_unit);
        let python =
            workload.user_code_flag().is_some() || self.runtime == RuntimeChoice::Python || self.python.is_some();
        let unit = twin_unit.filter(|_| python).unwrap_or(workload.size().short_unit);
        let size = self.size.as_deref().map(|text| parse_size(text, unit)).transpose()?;
        let base = PlanRequest {
            tasks: self.tasks,
            size,
            affinity: self.affinity.clone(),
            schedule: self.schedule,
            chunk: self.chunk,
            grace,
            options: self.workload_options.given.clone(),
            start: self.start,
            ..PlanRequest::new(workload, model)
        };
        let pickled = models.iter().any(|&model| PlanRequest { model, ..base.clone() }.pickles_code());
        Ok(PlanRequest { runtime: self.runtime(pickled)?, ..base })
    }
}

/// `concur-tui bench`: the setup of `run`, then what to sweep and how often.
#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    #[command(flatten)]
    pub setup: SetupArgs,
    /// The models to compare, a comma list of sequential, threads, threads+gil, processes,
    /// processes+gil, async; and python-threads, python-processes: CPython's, beside native code's
    /// (on --python PATH or python3, at the twin's default size). The sequential baseline is
    /// always measured (Python's too, with a Python model): speedup is over its own.
    #[arg(long, default_value = "threads,processes", value_parser = parse_models)]
    pub models: Models,
    /// Worker counts: a list such as 1,2,4 or a range such as 1..8 [default: 1 up to twice the
    /// allowed CPUs, so that oversubscription shows].
    #[arg(long, short = 'n', value_parser = parse_workers)]
    pub workers: Option<WorkerList>,
    /// Measured runs per point [default: enough for about 3 s per point, from 3 to 10].
    #[arg(long, short = 'r', value_parser = parse_runs)]
    pub runs: Option<usize>,
    /// Rounds of every configuration run first and not measured (caches, page faults, CPU
    /// frequency).
    #[arg(long, default_value_t = 0)]
    pub warmup: usize,
    /// Write every point with every single run to FILE as JSON.
    #[arg(long, value_name = "FILE")]
    pub export_json: Option<std::path::PathBuf>,
    /// Write one row per point to FILE as CSV (RFC 4180).
    #[arg(long, value_name = "FILE")]
    pub export_csv: Option<std::path::PathBuf>,
    /// Write the table, fits, summary and warnings to FILE as Markdown.
    #[arg(long, value_name = "FILE")]
    pub export_markdown: Option<std::path::PathBuf>,
}

/// `concur-tui experiments`: which experiments, and where to export them.
#[derive(Debug, Args)]
pub(crate) struct ExperimentsArgs {
    /// The experiments to run, by name [default: every one, in the dashboard's order].
    #[arg(value_name = "EXPERIMENT", value_parser = PossibleValuesParser::new(EXPERIMENTS.iter().map(|e| e.name)))]
    pub names: Vec<String>,
    /// Write every experiment, its verdict and every run's report to FILE as JSON.
    #[arg(long, value_name = "FILE")]
    pub export_json: Option<std::path::PathBuf>,
    /// Write the claims table and each verdict to FILE as Markdown.
    #[arg(long, value_name = "FILE")]
    pub export_markdown: Option<std::path::PathBuf>,
}

fn parse_runs(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("a point needs at least 1 run".to_owned()),
        Ok(runs) => Ok(runs),
        Err(_) => Err(format!("cannot read '{text}' as a number of runs")),
    }
}

fn parse_models(text: &str) -> Result<Models, String> {
    text.parse().map_err(|error: SpecError| error.to_string())
}

fn parse_workers(text: &str) -> Result<WorkerList, String> {
    text.parse().map_err(|error: SpecError| error.to_string())
}

/// The options the catalog's workloads take (`--strategy`, `--seed`…), as given: one flag per
/// option of any workload, built from the catalog so that a workload's file alone declares
/// them. Which workload may take which is checked with the plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct WorkloadOptions {
    pub given: Vec<(String, String)>,
}

impl Args for WorkloadOptions {
    fn augment_args(mut command: clap::Command) -> clap::Command {
        for (spec, _) in all_options() {
            let mut arg = Arg::new(spec.flag).long(spec.flag).help(spec.help);
            // The option that names the user's own code picks its entry: no --workload beside it.
            if CATALOG.iter().any(|kind| kind.user_code_flag() == Some(spec.flag)) {
                arg = arg.conflicts_with("workload");
            }
            command = command.arg(match spec.values {
                Values::Choice(names) => arg.value_parser(PossibleValuesParser::new(names)),
                Values::Number { .. } => arg.value_parser(clap::value_parser!(u64)),
                Values::Text => arg.value_name("TEXT"),
            });
        }
        command
    }

    fn augment_args_for_update(command: clap::Command) -> clap::Command {
        Self::augment_args(command)
    }
}

impl FromArgMatches for WorkloadOptions {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut options = Self::default();
        options.update_from_arg_matches(matches)?;
        Ok(options)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        for (spec, _) in all_options() {
            let value = match spec.values {
                Values::Choice(_) | Values::Text => matches.get_one::<String>(spec.flag).cloned(),
                Values::Number { .. } => matches.get_one::<u64>(spec.flag).map(u64::to_string),
            };
            if let Some(value) = value {
                self.given.push((spec.flag.to_owned(), value));
            }
        }
        Ok(())
    }
}

fn parse_affinity(text: &str) -> Result<Affinity, String> {
    text.parse().map_err(|error: crate::engine::affinity::AffinityError| error.to_string())
}

impl ModelArgs {
    /// The request `setup` and these arguments make; a size is read in the workload's unit.
    pub(crate) fn plan_request(&self, setup: &SetupArgs, grace: Duration) -> Result<PlanRequest, RequestError> {
        Ok(PlanRequest {
            workers: self.workers,
            gil: self.gil.then(|| self.switch_interval.unwrap_or(DEFAULT_SWITCH_INTERVAL)),
            drain: self.drain,
            ..setup.request(self.model, grace)?
        })
    }
}

impl RunArgs {
    /// The request these arguments make; a size is read in the workload's unit.
    pub(crate) fn plan_request(&self, grace: Duration) -> Result<PlanRequest, RequestError> {
        Ok(PlanRequest { respawn: self.respawn, ..self.model.plan_request(&self.setup, grace)? })
    }
}

impl DashboardArgs {
    /// The request these arguments make, as `run` would make it.
    pub(crate) fn plan_request(&self, grace: Duration) -> Result<PlanRequest, RequestError> {
        self.model.plan_request(&self.setup, grace)
    }
}

/// clap's error as one line: the message, and the valid values when it lists them.
#[must_use]
pub(crate) fn one_line_error(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let kept: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("Usage:") && !line.starts_with("For more information"))
        .collect();
    format!("{} (see --help)", kept.join(" "))
}
