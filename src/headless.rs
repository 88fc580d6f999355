//! The engine without a screen: `concur-tui list`, `concur-tui run` and (in `bench.rs`)
//! `concur-tui bench`. Progress goes to stderr when it is a terminal; the report goes to
//! stdout, the trace (`--trace`) and exports to their files (`files.rs`: replaced whole, never
//! through a link, removed when their write fails).

pub(crate) mod bench;
pub(crate) mod experiments;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::cli::{Format, RunArgs};
use crate::engine::{Engine, LaunchError, Phase, PlanError, RunOutcome, StopReason};
use crate::files::{same_file, Named};
use crate::report::{run_csv, run_markdown, to_json, to_table, write_trace};
use crate::signals::Latest;
use crate::workload::listed;

/// How often the run loop reaps, reads signals and may redraw progress.
const TICK: Duration = Duration::from_millis(10);
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

/// What `run` and `bench` can both fail at: the plan, the engine, the signals, the report.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HeadlessError {
    /// Bad usage: exit 2, nothing started.
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Launch(#[from] LaunchError),
    #[error("cannot listen for signals: {0}")]
    Signals(std::io::Error),
    #[error("cannot write the report: {0}")]
    Output(std::io::Error),
}

impl HeadlessError {
    #[must_use]
    pub(crate) fn exit_code(&self) -> i32 {
        match self {
            Self::Plan(_) => 2,
            Self::Launch(_) | Self::Signals(_) | Self::Output(_) => 1,
        }
    }
}

/// Why `run` could not produce a report.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RunError {
    #[error(transparent)]
    Headless(#[from] HeadlessError),
    /// Bad usage: a size that cannot be read, an interpreter that cannot be used.
    #[error(transparent)]
    Request(#[from] crate::cli::RequestError),
    /// Bad usage too: found before anything started.
    #[error("cannot create the trace file {}: {source}", path.display())]
    TraceFile { path: PathBuf, source: std::io::Error },
    #[error("cannot write the trace file {}: {source}", path.display())]
    Trace { path: PathBuf, source: std::io::Error },
}

impl RunError {
    #[must_use]
    pub(crate) fn exit_code(&self) -> i32 {
        match self {
            Self::Headless(error) => error.exit_code(),
            Self::Request(_) | Self::TraceFile { .. } => 2,
            Self::Trace { .. } => 1,
        }
    }
}

impl From<PlanError> for RunError {
    fn from(error: PlanError) -> Self {
        Self::Headless(error.into())
    }
}

impl From<LaunchError> for RunError {
    fn from(error: LaunchError) -> Self {
        Self::Headless(error.into())
    }
}

/// Why an export file could not be made or written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExportError {
    /// Bad usage: found before anything started, and nothing left behind.
    #[error("cannot create the export file {}: {source}", path.display())]
    ExportFile { path: PathBuf, source: std::io::Error },
    #[error("cannot write the export file {}: {source}", path.display())]
    Export { path: PathBuf, source: std::io::Error },
    /// Bad usage: two exports would overwrite each other.
    #[error("{} is named by two exports: give each its own file", path.display())]
    SameExport { path: PathBuf },
}

impl ExportError {
    #[must_use]
    pub(crate) fn exit_code(&self) -> i32 {
        match self {
            Self::ExportFile { .. } | Self::SameExport { .. } => 2,
            Self::Export { .. } => 1,
        }
    }
}

/// Writes one export format of what a command measured.
pub(crate) type Writer<T> = fn(&T) -> String;

/// The export files of `bench` and `experiments`, made ready before the first run so that a
/// bad path stops the command at once; dropped unwritten (an error before the report), they
/// leave nothing behind.
pub(crate) struct Exports<T> {
    files: Vec<(Named, Writer<T>)>,
}

impl<T> Exports<T> {
    /// The files `wanted` names (a path and its format's writer), each made ready.
    pub(crate) fn create(wanted: &[(Option<&Path>, Writer<T>)]) -> Result<Self, ExportError> {
        let paths: Vec<&Path> = wanted.iter().filter_map(|(path, _)| *path).collect();
        for (at, path) in paths.iter().enumerate() {
            if paths[..at].iter().any(|earlier| same_file(earlier, path)) {
                return Err(ExportError::SameExport { path: path.to_path_buf() });
            }
        }
        let mut exports = Self { files: Vec::new() };
        for (path, write) in wanted {
            let Some(path) = path else { continue };
            // Dropping `exports` on this error removes what was made before it.
            let file =
                Named::prepare(path).map_err(|source| ExportError::ExportFile { path: path.to_path_buf(), source })?;
            exports.files.push((file, *write));
        }
        Ok(exports)
    }

    /// Writes every export; one that fails leaves nothing, and the others are still written.
    pub(crate) fn write(self, measured: &T) -> Result<(), ExportError> {
        let mut first_error = None;
        for (file, write) in self.files {
            let path = file.path().to_owned();
            let text = write(measured);
            if let Err(source) = file.write(&mut |out| out.write_all(text.as_bytes())) {
                first_error.get_or_insert(ExportError::Export { path, source });
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// `concur-tui list`: one line per workload, and what `--size` means for it.
pub(crate) fn list(out: &mut impl Write) -> std::io::Result<()> {
    for kind in listed() {
        let size = kind.size();
        writeln!(out, "{:<12} {}", kind.name(), kind.summary())?;
        match size.max {
            Some(max) => writeln!(out, "{:<12} --size: {} (default {}, at most {max})", "", size.unit, size.default)?,
            None => writeln!(out, "{:<12} --size: {} (default {})", "", size.unit, size.default)?,
        }
        if let Some(twin) = kind.python() {
            let size = twin.size;
            writeln!(
                out,
                "{:<12} --runtime python: a twin in Python, --size {} (default {})",
                "", size.unit, size.default
            )?;
        }
    }
    Ok(())
}

/// `concur-tui run`: returns the exit status.
pub(crate) fn run(args: &RunArgs, grace: Duration) -> Result<i32, RunError> {
    let plan = args.plan_request(grace)?.validate()?;
    let trace = args.trace.as_deref().map(prepare_trace).transpose()?;
    let engine = Engine::new()?;
    let signals = Latest::start().map_err(HeadlessError::Signals)?;
    let mut run = engine.begin(&plan)?;
    let mut progress = std::io::stderr().is_terminal().then(Progress::default);
    run.wait(TICK, |run| {
        if let Some(signal) = signals.take() {
            run.request_stop(StopReason::Signal(signal));
        }
        if let Some(progress) = progress.as_mut() {
            progress.draw(run);
        }
    });
    if let Some(progress) = progress.as_mut() {
        progress.clear();
    }
    if let Some(error) = run.take_launch_error() {
        return Err(error.into());
    }
    let report = run.finish();
    for (index, reason) in &report.respawn_failures {
        crate::console::say(&format!("warning: worker {index} was lost and could not be replaced: {reason}"));
    }
    let text = match args.format {
        Format::Table => to_table(&report),
        Format::Json => format!("{:#}\n", to_json(&report)),
        Format::Csv => run_csv(&report),
        Format::Markdown => run_markdown(&report),
    };
    let printed = crate::console::print(&text).map_err(HeadlessError::Output);
    // The trace is written even when stdout is gone: it is the record of a run that happened.
    if let Some(trace) = trace {
        let path = trace.path().to_owned();
        trace
            .write(&mut |mut out| write_trace(&report, &mut out))
            .map_err(|source| RunError::Trace { path, source })?;
    }
    let interrupted = match report.outcome {
        RunOutcome::Cancelled(signal) => signal,
        RunOutcome::Finished | RunOutcome::Failed => None,
    };
    printed.or_else(|error| unprinted(error, interrupted))?;
    Ok(report.outcome.exit_code())
}

/// A report that could not be written after a signal stopped the run: the terminal that hung
/// up (SIGHUP) took stdout with it. The signal's exit status says what happened, and the error
/// is said on stderr where it still can be; without a signal the error stands.
fn unprinted(error: HeadlessError, interrupted: Option<Signal>) -> Result<(), HeadlessError> {
    if interrupted.is_none() {
        return Err(error);
    }
    crate::console::say(&format!("error: {error}"));
    Ok(())
}

/// Makes the trace file ready before the run, so that a bad path stops it at once; a file
/// there is replaced only once the new trace is complete, a link is refused.
fn prepare_trace(path: &Path) -> Result<Named, RunError> {
    Named::prepare(path).map_err(|source| RunError::TraceFile { path: path.to_owned(), source })
}

/// The one-line progress display on stderr.
#[derive(Default)]
struct Progress {
    last: Option<Instant>,
}

impl Progress {
    fn draw(&mut self, run: &crate::engine::Run) {
        if self.last.is_some_and(|last| last.elapsed() < PROGRESS_EVERY) {
            return;
        }
        self.last = Some(Instant::now());
        let elapsed = run.elapsed().as_secs_f64();
        let done = run.tasks_done();
        #[allow(clippy::cast_precision_loss)]
        let rate = if elapsed > 0.0 { done as f64 / elapsed } else { 0.0 };
        let state = match run.phase() {
            Phase::Draining { remaining } => {
                format!("draining, {:.1} s of grace left", remaining.as_secs_f64())
            }
            Phase::Paused => "paused".to_owned(),
            Phase::Preparing => "preparing".to_owned(),
            Phase::Launching { started } => format!("launching, {started} of {} started", run.plan().workers),
            Phase::Running | Phase::Ended => "running".to_owned(),
        };
        let plan = run.plan();
        let workload_figures = run.live_figures().map(|figures| format!(" · {figures}")).unwrap_or_default();
        let line = format!(
            "{} · {} × {} · {done}/{} tasks · {rate:.1} tasks/s · {elapsed:.1} s · {state}{workload_figures}",
            plan.workload, plan.model, plan.workers, plan.tasks
        );
        // One line that never wraps, or the next `\r` would leave its first part behind.
        let width = crossterm::terminal::size().map_or(80, |(columns, _)| usize::from(columns).saturating_sub(1));
        let _ = write!(std::io::stderr(), "\r\x1b[K{}", crate::units::truncate(&line, width));
    }

    fn clear(&mut self) {
        if self.last.is_some() {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
        }
    }
}
