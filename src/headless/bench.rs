//! `concur-tui bench`: drives a [`Sweep`] with the engine, one run at a time, with a progress
//! bar on stderr (indicatif, hidden when stderr is no terminal) and the signals checked between
//! and during runs; then prints the sweep and writes its exports. Ctrl-C ends the run in hand
//! as `run` does, and the sweep with it: what was measured is printed and exported, exit 130.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use nix::sys::signal::Signal;

use super::{ExportError, Exports, HeadlessError, Writer};
use crate::cli::{BenchArgs, RuntimeChoice};
use crate::engine::affinity::{allowed_cpus, AffinityError};
use crate::engine::plan::runtime::{Interpreter, Runtime};
use crate::engine::plan::Room;
use crate::engine::{Engine, LaunchError, Model, PlanError, StopReason};
use crate::report::{bench_csv, bench_json, bench_markdown, bench_text};
use crate::signals::Listener;
use crate::sweep::{PythonSide, Results, Runs, Stopped, Sweep, SweepSpec, WorkerList};
use crate::telemetry::machine::MachineCpu;

/// How often a run is polled, its signals read and the bar redrawn.
const TICK: Duration = Duration::from_millis(10);

/// Why `bench` could not measure or report.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BenchError {
    #[error(transparent)]
    Headless(#[from] HeadlessError),
    /// Bad usage: exit 2, nothing started.
    #[error(transparent)]
    Request(#[from] crate::cli::RequestError),
    #[error("{0}")]
    Cpus(#[from] AffinityError),
    #[error(transparent)]
    Export(#[from] ExportError),
    /// Bad usage: a model of the emulated lock asked of CPython, which has its own.
    #[error(
        "--models {0} emulates CPython's lock in native workers; under --runtime python the interpreter's own GIL \
         runs: use threads or processes (their Python runs have it), or --runtime native for {0}"
    )]
    GilUnderPython(String),
    /// Bad usage: a model named for Python in a sweep that is all Python's.
    #[error(
        "--models {0} sets CPython's models beside native code's; under --runtime python every model is \
         Python's: write threads or processes, or drop --runtime python"
    )]
    PythonTokenUnderPython(String),
}

impl BenchError {
    #[must_use]
    pub(crate) fn exit_code(&self) -> i32 {
        match self {
            Self::Headless(error) => error.exit_code(),
            Self::Export(error) => error.exit_code(),
            Self::Request(_) | Self::GilUnderPython(_) | Self::PythonTokenUnderPython(_) => 2,
            Self::Cpus(_) => 1,
        }
    }
}

impl From<PlanError> for BenchError {
    fn from(error: PlanError) -> Self {
        Self::Headless(error.into())
    }
}

impl From<LaunchError> for BenchError {
    fn from(error: LaunchError) -> Self {
        Self::Headless(error.into())
    }
}

/// `concur-tui bench`: returns the exit status.
pub(crate) fn bench(args: &BenchArgs, grace: Duration) -> Result<i32, BenchError> {
    let allowed = allowed_cpus()?;
    let (base, python) = sides(args, grace)?;
    let spec = SweepSpec {
        base,
        python,
        models: args.models.0.clone(),
        workers: args.workers.clone().unwrap_or_else(|| WorkerList::default_for(allowed.len())).0,
        runs: args.runs.map_or(Runs::Auto, Runs::Fixed),
        warmup: args.warmup,
    };
    let emulated: Vec<&str> = spec.models.iter().filter(|model| model.gil()).map(|model| model.name()).collect();
    if spec.base.runtime.interpreter().is_some() && !emulated.is_empty() {
        return Err(BenchError::GilUnderPython(emulated.join(",")));
    }
    spec.validate_within(&allowed, &Room::current())?;
    let json: Writer<Results> = |results| format!("{:#}\n", bench_json(results));
    let exports = Exports::create(&[
        (args.export_json.as_deref(), json),
        (args.export_csv.as_deref(), bench_csv),
        (args.export_markdown.as_deref(), bench_markdown),
    ])?;
    let engine = Engine::new()?;
    let signals = Listener::start().map_err(HeadlessError::Signals)?;
    let mut sweep = Sweep::new(spec);
    let bar = progress_bar();
    let mut interrupted: Option<Signal> = None;
    while let Some(request) = sweep.next() {
        if let Ok(signal) = signals.received.try_recv() {
            interrupted = Some(signal);
            sweep.cancel();
            break;
        }
        let (done, total) = sweep.progress();
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        if let Some(config) = sweep.current() {
            bar.set_message(format!("{config}{}", if sweep.warming_up() { " (warm-up)" } else { "" }));
        }
        // Checked again at each run: what the earlier runs left may have changed the room.
        let plan = request.validate_within(&allowed, &Room::current())?;
        let before = MachineCpu::now(&allowed);
        let mut run = engine.start(&plan)?;
        run.wait(TICK, |run| {
            while let Ok(signal) = signals.received.try_recv() {
                interrupted = Some(signal);
                run.request_stop(StopReason::Signal(signal));
            }
            bar.tick();
        });
        let report = run.finish();
        let others =
            before.zip(MachineCpu::now(&allowed)).map(|(before, after)| before.others_since(after, report.cpu_seconds));
        sweep.record(&report, others);
    }
    bar.finish_and_clear();
    let results = sweep.results();
    let printed = crate::console::print(&bench_text(&results)).map_err(HeadlessError::Output);
    // The exports are written even when stdout is gone: they are the record of runs that happened.
    exports.write(&results)?;
    printed.or_else(|error| super::unprinted(error, interrupted))?;
    Ok(match (interrupted, sweep.stopped()) {
        (Some(signal), _) => 128 + signal as i32,
        (None, Some(Stopped::Failed { .. })) => 1,
        (None, _) => 0,
    })
}

/// The sweep's base request, and the interpreter its Python models (`python-threads`…) run on.
/// With such a model the sweep is native code's, its Python models on `--python PATH` or
/// `python3`; `--runtime python` with one is refused, since every model then is Python's.
fn sides(args: &BenchArgs, grace: Duration) -> Result<(crate::engine::PlanRequest, Option<PythonSide>), BenchError> {
    let models: Vec<Model> = args.models.0.iter().map(|model| model.model()).collect();
    let base = args.setup.request_among(Model::Threads, &models, grace)?;
    let tokens: Vec<&str> = args.models.0.iter().filter(|model| model.python()).map(|model| model.name()).collect();
    if tokens.is_empty() {
        return Ok((base, None));
    }
    if args.setup.runtime == RuntimeChoice::Python {
        return Err(BenchError::PythonTokenUnderPython(tokens.join(",")));
    }
    let python = match base.runtime {
        Runtime::Python(python) => python,
        Runtime::Native => Interpreter::default_python().map_err(crate::cli::RequestError::from)?,
    };
    // --size is native code's; the twin runs its own default.
    let side = PythonSide { interpreter: python, size: None };
    Ok((crate::engine::PlanRequest { runtime: Runtime::Native, ..base }, Some(side)))
}

/// The bar on stderr, hidden when stderr is not a terminal.
fn progress_bar() -> ProgressBar {
    let target =
        if std::io::stderr().is_terminal() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
    let bar = ProgressBar::with_draw_target(Some(0), target);
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} runs · {elapsed} · {msg}") {
        bar.set_style(style);
    }
    bar
}
