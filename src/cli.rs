//! The command line: clap definitions, and their translation into a [`PlanRequest`].
//! Values are checked here as far as their syntax goes; the plan checks the rest.

use std::time::Duration;

use clap::builder::PossibleValuesParser;
use clap::{Arg, ArgMatches, Args, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::engine::affinity::Affinity;
use crate::engine::plan::DEFAULT_SWITCH_INTERVAL;
use crate::engine::{DrainPolicy, Model, PlanRequest, Schedule};
use crate::units::{parse_duration, parse_size, SizeError};
use crate::workload::{all_options, by_name, Values, CATALOG};

#[derive(Debug, Parser)]
#[command(
    name = "concur-tui",
    version,
    about = "A concurrency lab in the terminal: threads vs processes, measured on your machine.",
    long_about = "Without a subcommand, opens the dashboard (needs a terminal). \
                  `concur-tui run` runs the same engine headless, for scripts and CI."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Grace period after Ctrl-C, SIGTERM, SIGHUP (or `c` in the dashboard) before workers are
    /// terminated, such as 3s or 500ms.
    #[arg(long, value_parser = parse_duration, default_value = "3s", global = true)]
    pub grace: Duration,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List the workload catalog: name and what it shows.
    List,
    /// Run one workload headless and print a report.
    Run(RunArgs),
    /// A worker process started with --start spawn (internal).
    #[command(name = "__worker", hide = true)]
    Worker { spec: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub(crate) enum Format {
    #[default]
    Table,
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Which workload of `concur-tui list` to run.
    #[arg(long, short = 'w', default_value = "cpu", value_parser = PossibleValuesParser::new(CATALOG.iter().map(|kind| kind.name())))]
    pub workload: String,
    /// sequential: one worker; threads: N OS threads; processes: N forked processes.
    #[arg(long, short = 'm', value_enum, default_value_t = Model::Threads)]
    pub model: Model,
    /// Number of workers [default: one per allowed CPU; 1 for sequential].
    #[arg(long, short = 'n')]
    pub workers: Option<usize>,
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
    /// Emulate an interpreter lock: one per process, threads take turns holding it.
    #[arg(long)]
    pub gil: bool,
    /// How long a lock holder computes before handing over to a waiter, such as 5ms.
    #[arg(long, value_parser = parse_duration, requires = "gil")]
    pub switch_interval: Option<Duration>,
    /// static: tasks split in blocks up front; dynamic: workers take tasks from a shared counter.
    #[arg(long, value_enum, default_value_t = Schedule::Static)]
    pub schedule: Schedule,
    /// Tasks taken per grab under the dynamic schedule [default: 1].
    #[arg(long)]
    pub chunk: Option<u64>,
    /// After a stop request, stop at the next chunk or after the task in hand.
    #[arg(long, value_enum, default_value_t = DrainPolicy::Chunk)]
    pub drain: DrainPolicy,
    /// The options of each workload, from the catalog.
    #[command(flatten)]
    pub workload_options: WorkloadOptions,
    /// How worker processes start: fork, or spawn (re-execute this binary, as Python's spawn).
    #[arg(long, value_enum, default_value_t = crate::engine::StartMethod::Fork)]
    pub start: crate::engine::StartMethod,
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
            let arg = Arg::new(spec.flag).long(spec.flag).help(spec.help);
            command = command.arg(match spec.values {
                Values::Choice(names) => arg.value_parser(PossibleValuesParser::new(names)),
                Values::Number { .. } => arg.value_parser(clap::value_parser!(u64)),
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
                Values::Choice(_) => matches.get_one::<String>(spec.flag).cloned(),
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

impl RunArgs {
    /// The request these arguments make; a size is read in the workload's unit.
    pub(crate) fn plan_request(&self, grace: Duration) -> Result<PlanRequest, SizeError> {
        // The value parser admits catalog names only.
        let workload = by_name(&self.workload).unwrap_or(CATALOG[0]);
        let size = self.size.as_deref().map(|text| parse_size(text, workload.size().short_unit)).transpose()?;
        Ok(PlanRequest {
            workload,
            model: self.model,
            workers: self.workers,
            tasks: self.tasks,
            size,
            affinity: self.affinity.clone(),
            gil: self.gil.then(|| self.switch_interval.unwrap_or(DEFAULT_SWITCH_INTERVAL)),
            schedule: self.schedule,
            chunk: self.chunk,
            grace,
            drain: self.drain,
            options: self.workload_options.given.clone(),
            respawn: self.respawn,
            start: self.start,
        })
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
