//! What the binary does: install the error and panic hooks, parse the command line, dispatch to
//! the dashboard, `run`, `bench`, `experiments`, `list`, `completions`, `man` or a spawned worker, and print
//! whatever error ends it, in one place. `main.rs` only calls [`main`].

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::app::state::Settings;
use crate::cli::DashboardArgs;
use crate::cli::{one_line_error, Cli, Command};
use crate::dashboard::DashboardError;
use crate::dashboard::Opening;
use crate::engine::workers::spawned::SpawnedError;
use crate::engine::workers::worker::is_worker_thread;
use crate::headless::bench::BenchError;
use crate::headless::RunError;
use crate::man_and_completions::{write_completions, write_man_page};
use crate::{dashboard, headless};
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};
use std::time::Duration;

/// Why the program could not do what it was asked; `main` prints it, once, as `error: …`.
#[derive(Debug, thiserror::Error)]
enum ProgramError {
    #[error("{0}")]
    Hooks(color_eyre::Report),
    /// clap's own words, which begin with `error: `, kept on one line.
    #[error("{}", usage_line(.0))]
    Usage(clap::Error),
    #[error("standard output is closed, so the report has nowhere to go: redirect it to a file or /dev/null")]
    StdoutClosed,
    #[error("cannot write the list: {0}")]
    List(std::io::Error),
    #[error("cannot write the {0}: {1}")]
    Print(&'static str, std::io::Error),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Bench(#[from] BenchError),
    #[error(transparent)]
    Worker(#[from] SpawnedError),
    #[error("the dashboard needs a terminal; for scripts use `concur-tui run` (see --help)")]
    NoTerminal,
    #[error(transparent)]
    Dashboard(#[from] DashboardError),
    /// A flag of `run` that the dashboard has no setting for.
    #[error("{0}")]
    DashboardFlag(String),
}

impl ProgramError {
    /// 2 for bad usage, found before anything started; 1 otherwise.
    fn exit_code(&self) -> i32 {
        match self {
            Self::Run(error) => error.exit_code(),
            Self::Bench(error) => error.exit_code(),
            Self::Usage(_) | Self::StdoutClosed | Self::Worker(_) | Self::NoTerminal | Self::DashboardFlag(_) => 2,
            Self::Hooks(_) | Self::List(_) | Self::Print(..) | Self::Dashboard(_) => 1,
        }
    }
}

/// clap's error on one line, without the `error: ` that `main` puts before every error.
fn usage_line(error: &clap::Error) -> String {
    let line = one_line_error(error);
    match line.strip_prefix("error: ") {
        Some(rest) => rest.to_owned(),
        None => line,
    }
}

/// The program, start to exit status.
#[must_use]
pub fn main() -> ExitCode {
    let code = run().unwrap_or_else(|error| {
        // Not `eprintln!`, which panics when stderr is full or its terminal gone: the exit
        // status still says what happened.
        crate::console::say(&format!("error: {error}"));
        error.exit_code()
    });
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// Installs the hooks, reads the command line and does what it asks; returns the exit status
/// of what ran.
fn run() -> Result<i32, ProgramError> {
    install_hooks().map_err(ProgramError::Hooks)?;
    let parsed = Cli::command().try_get_matches().and_then(|matches| Ok((Cli::from_arg_matches(&matches)?, matches)));
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(error) if !error.use_stderr() => {
            // --help and --version.
            let _ = error.print();
            return Ok(0);
        }
        Err(error) => return Err(ProgramError::Usage(error)),
    };
    if matches!(cli.command, Some(Command::List | Command::Run(_) | Command::Bench(_) | Command::Experiments(_)))
        && stdout_was_closed()
    {
        // Otherwise the report goes to /dev/null, unseen, with exit status 0.
        return Err(ProgramError::StdoutClosed);
    }
    match cli.command {
        Some(Command::List) => headless::list(&mut std::io::stdout().lock()).map(|()| 0).map_err(ProgramError::List),
        Some(Command::Run(args)) => Ok(headless::run(&args, cli.grace)?),
        Some(Command::Bench(args)) => Ok(headless::bench::bench(&args, cli.grace)?),
        Some(Command::Experiments(args)) => Ok(headless::experiments::experiments(&args, cli.grace)?),
        Some(Command::Completions { shell }) => write_completions(shell, &mut std::io::stdout().lock())
            .map(|()| 0)
            .map_err(|error| ProgramError::Print("completion script", error)),
        Some(Command::Man { subcommand }) => write_man_page(subcommand.as_deref(), &mut std::io::stdout().lock())
            .map(|()| 0)
            .map_err(|error| ProgramError::Print("man page", error)),
        Some(Command::Worker { spec }) => Ok(crate::engine::workers::spawned::worker_main(&spec)?),
        None => {
            // Before the terminal check: a combination that cannot run is bad usage wherever
            // the dashboard would have opened.
            let opening = opening_settings(&cli.dashboard, &matches, cli.grace)?;
            run_dashboard(cli.grace, cli.theme, opening)
        }
    }
}

/// Whether descriptor 1 was closed when the process started, as seen before Rust's runtime
/// reopened it on /dev/null.
static STDOUT_CLOSED_AT_START: AtomicBool = AtomicBool::new(false);

/// Records whether descriptor 1 is open; `main.rs` calls it before Rust's runtime starts.
/// Only a descriptor flag is read: nothing here may need the runtime.
pub fn note_stdout_at_start() {
    // SAFETY: F_GETFD only reads the descriptor's flags; a closed one fails with EBADF.
    let closed = unsafe { libc::fcntl(libc::STDOUT_FILENO, libc::F_GETFD) } < 0;
    STDOUT_CLOSED_AT_START.store(closed, Ordering::Relaxed);
}

/// True when the program was started with descriptor 1 closed (`>&-`). By `main`, Rust's
/// runtime has reopened it on /dev/null, read-write, which is also what a script's own
/// /dev/null may be (Python's `subprocess.DEVNULL`, systemd's `StandardOutput=null`): so the
/// look taken before the runtime decides.
fn stdout_was_closed() -> bool {
    // SAFETY: F_GETFL only reads the descriptor's flags; a closed one fails with EBADF.
    STDOUT_CLOSED_AT_START.load(Ordering::Relaxed) || unsafe { libc::fcntl(libc::STDOUT_FILENO, libc::F_GETFL) } < 0
}

/// The dashboard's settings at its start: its defaults, with the `run` flags given on the command
/// line (and then the catalog focused). Refused as `run` refuses them: the request is checked as `run` makes it, then as the
/// dashboard makes it from its settings, which is what its first Enter runs.
fn opening_settings(args: &DashboardArgs, matches: &ArgMatches, grace: Duration) -> Result<Opening, ProgramError> {
    let request = args.plan_request(grace).map_err(RunError::from)?;
    request.validate().map_err(RunError::from)?;
    let given = |id: &str| matches!(matches.value_source(id), Some(ValueSource::CommandLine));
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let mut settings = Settings::new(cpus, grace);
    // The runtime row offers the interpreter under the name it was given by.
    let python = args.setup.python.clone().or_else(|| request.runtime.interpreter().map(|_| "python3".into()));
    settings.adopt(&request, python.as_deref(), &given).map_err(ProgramError::DashboardFlag)?;
    settings.request(request.workload).validate().map_err(RunError::from)?;
    let workload = settings.catalog().position(|kind| kind == request.workload).unwrap_or(0);
    // A `run` flag names a workload's run: the dashboard opens on the catalog, not the experiments.
    let on_catalog = matches.ids().any(|id| !matches!(id.as_str(), "grace" | "theme") && given(id.as_str()));
    Ok(Opening { workload, settings, on_catalog })
}

/// The dashboard, on a terminal only; its summary goes to stdout once the terminal is restored.
fn run_dashboard(grace: Duration, theme: crate::cli::ThemeChoice, opening: Opening) -> Result<i32, ProgramError> {
    if !std::io::stdout().is_terminal() {
        return Err(ProgramError::NoTerminal);
    }
    let ending = dashboard::run(grace, theme, opening)?;
    // The terminal may be gone (a hang-up): the summary is then lost, the results file and
    // the exit status are not.
    let _ = crate::console::print(&ending.summary);
    Ok(ending.exit_code)
}

/// color-eyre for reports; worker threads stay silent, since the engine reports their panics.
fn install_hooks() -> color_eyre::Result<()> {
    let (panic_hook, eyre_hook) = color_eyre::config::HookBuilder::default().into_hooks();
    eyre_hook.install()?;
    std::panic::set_hook(Box::new(move |info| {
        if is_worker_thread() {
            return;
        }
        // Leave the alternate screen first, or the report would be drawn into it and lost.
        dashboard::terminal::restore();
        // color-eyre's own hook `eprintln!`s, which panics again on a dead terminal, and a
        // panic in the hook aborts: the report is written here, its failure dropped.
        crate::console::say(&panic_hook.panic_report(info).to_string());
    }));
    Ok(())
}
