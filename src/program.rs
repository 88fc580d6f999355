//! What the binary does: install the error and panic hooks, parse the command line, dispatch to
//! the dashboard, `run`, `bench`, `list` or a spawned worker. `main.rs` only calls [`main`].

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::cli::{one_line_error, Cli, Command};
use crate::engine::workers::worker::is_worker_thread;
use crate::{dashboard, headless};
use clap::Parser;

/// The program, start to exit status.
#[must_use]
pub fn main() -> ExitCode {
    if let Err(error) = install_hooks() {
        eprintln!("error: {error}");
        return ExitCode::from(1);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) if !error.use_stderr() => {
            // --help and --version.
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("{}", one_line_error(&error));
            return ExitCode::from(2);
        }
    };
    if matches!(cli.command, Some(Command::List | Command::Run(_))) && stdout_was_closed() {
        // Otherwise the report goes to /dev/null, unseen, with exit status 0.
        eprintln!(
            "error: standard output is closed, so the report has nowhere to go: redirect it to a file or /dev/null"
        );
        return ExitCode::from(2);
    }
    let code = match cli.command {
        Some(Command::List) => match headless::list(&mut std::io::stdout().lock()) {
            Ok(()) => 0,
            Err(error) => {
                eprintln!("error: cannot write the list: {error}");
                1
            }
        },
        Some(Command::Run(args)) => match headless::run(&args, cli.grace) {
            Ok(code) => code,
            Err(error) => {
                eprintln!("error: {error}");
                error.exit_code()
            }
        },
        Some(Command::Bench(args)) => match headless::bench::bench(&args, cli.grace) {
            Ok(code) => code,
            Err(error) => {
                eprintln!("error: {error}");
                error.exit_code()
            }
        },
        Some(Command::Worker { spec }) => match crate::engine::workers::spawned::worker_main(&spec) {
            Ok(code) => code,
            Err(error) => {
                eprintln!("error: {error}");
                2
            }
        },
        None => run_dashboard(cli.grace, cli.theme),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
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

/// The dashboard, on a terminal only; its summary goes to stdout once the terminal is restored.
fn run_dashboard(grace: std::time::Duration, theme: crate::cli::ThemeChoice) -> i32 {
    if !std::io::stdout().is_terminal() {
        eprintln!("error: the dashboard needs a terminal; for scripts use `concur-tui run` (see --help)");
        return 2;
    }
    match dashboard::run(grace, theme) {
        Ok(ending) => {
            print!("{}", ending.summary);
            ending.exit_code
        }
        Err(error) => {
            eprintln!("error: {error}");
            1
        }
    }
}

/// color-eyre for reports; worker threads stay silent, since the engine reports their panics.
fn install_hooks() -> color_eyre::Result<()> {
    let (panic_hook, eyre_hook) = color_eyre::config::HookBuilder::default().into_hooks();
    eyre_hook.install()?;
    let panic_hook = panic_hook.into_panic_hook();
    std::panic::set_hook(Box::new(move |info| {
        if is_worker_thread() {
            return;
        }
        // Leave the alternate screen first, or the report would be drawn into it and lost.
        dashboard::terminal::restore();
        panic_hook(info);
    }));
    Ok(())
}
