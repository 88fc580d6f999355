//! `concur-tui experiments`: drives each experiment's [`Course`] with the engine, one run at a
//! time, with a progress bar on stderr (indicatif, hidden when stderr is no terminal) and the
//! signals read from [`Latest`] during every run; then prints the claims table and writes its
//! exports. Ctrl-C ends the run in hand as `run` does, and the experiments with it: what was
//! judged is printed and exported, exit 130. An experiment whose run cannot start is reported
//! as not run and the others go on; the exit status is then 1.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use nix::sys::signal::Signal;

use super::bench::BenchError;
use super::{Exports, HeadlessError, Writer};
use crate::cli::ExperimentsArgs;
use crate::engine::affinity::allowed_cpus;
use crate::engine::plan::Room;
use crate::engine::{Engine, StopReason};
use crate::experiments::{by_experiment_name, Course, Experiment, Judged, Pythons, EXPERIMENTS};
use crate::report::{experiments_json, experiments_markdown, experiments_text};
use crate::signals::Latest;
use crate::telemetry::machine::{MachineCpu, BUSY_OTHERS};

/// How often a run is polled, its signals read and the bar redrawn.
const TICK: Duration = Duration::from_millis(10);

/// `concur-tui experiments`: returns the exit status. Its errors are `bench`'s kinds.
pub(crate) fn experiments(args: &ExperimentsArgs, grace: Duration) -> Result<i32, BenchError> {
    let chosen: Vec<&'static Experiment> = if args.names.is_empty() {
        EXPERIMENTS.iter().collect()
    } else {
        // clap admits the experiments' names only.
        args.names.iter().filter_map(|name| by_experiment_name(name)).collect()
    };
    let allowed = allowed_cpus()?;
    let json: Writer<Vec<Judged>> = |judged| format!("{:#}\n", experiments_json(judged));
    let markdown: Writer<Vec<Judged>> = |judged| experiments_markdown(judged);
    let exports = Exports::create(&[(args.export_json.as_deref(), json), (args.export_markdown.as_deref(), markdown)])?;
    let engine = Engine::new()?;
    let signals = Latest::start().map_err(HeadlessError::Signals)?;
    let bar = progress_bar(chosen.iter().map(|experiment| experiment.total_runs()).sum());
    let mut interrupted: Option<Signal> = None;
    let mut judged: Vec<Judged> = Vec::new();
    // Asked once, and only when an experiment runs CPython.
    let pythons = if chosen.iter().any(|experiment| experiment.python.is_some()) {
        Pythons::on_path()
    } else {
        Pythons::default()
    };
    for experiment in chosen {
        if interrupted.is_some() {
            break;
        }
        let mut course = Course::new(experiment, grace, pythons.clone());
        let mut unrun = experiment.missing(&pythons);
        if unrun.is_some() {
            course.stop();
        }
        while let Some(request) = course.next() {
            if let Some(signal) = signals.take() {
                interrupted = Some(signal);
                course.stop();
                break;
            }
            bar.set_message(format!("{}: {}", experiment.name, course.next_label().unwrap_or_default()));
            // Checked at each run: what the earlier runs left may have changed the room.
            let before = MachineCpu::now(&allowed);
            let started = request
                .validate_within(&allowed, &Room::current())
                .map_err(|error| error.to_string())
                .and_then(|plan| engine.start(&plan).map_err(|error| error.to_string()));
            let mut run = match started {
                Ok(started) => started,
                Err(why) => {
                    unrun = Some(why);
                    course.stop();
                    break;
                }
            };
            run.wait(TICK, |run| {
                if let Some(signal) = signals.take() {
                    interrupted = Some(signal);
                    run.request_stop(StopReason::Signal(signal));
                }
                bar.tick();
            });
            let report = run.finish();
            let others = before
                .zip(MachineCpu::now(&allowed))
                .map(|(before, after)| before.others_since(after, report.cpu_seconds));
            let busy = busy(others, report.wall_seconds);
            course.record(report, busy);
            bar.inc(1);
        }
        let verdict = course.verdict(allowed.len());
        judged.push(Judged { course, verdict, unrun });
    }
    bar.finish_and_clear();
    let printed = crate::console::print(&experiments_text(&judged)).map_err(HeadlessError::Output);
    // The exports are written even when stdout is gone: they are the record of runs that happened.
    exports.write(&judged)?;
    printed.or_else(|error| super::unprinted(error, interrupted))?;
    Ok(match interrupted {
        Some(signal) => 128 + signal as i32,
        // An experiment whose interpreter this machine lacks is said so, not a failure.
        None if judged
            .iter()
            .any(|entry| entry.unrun.is_some() && entry.course.experiment.missing(&pythons).is_none()) =>
        {
            1
        }
        None => 0,
    })
}

/// Whether other programs used more than [`BUSY_OTHERS`] of a core, on average, over a run of
/// `wall` seconds in which they used `others` seconds of CPU.
fn busy(others: Option<f64>, wall: f64) -> bool {
    others.is_some_and(|others| wall > 0.0 && others / wall * 100.0 > f64::from(BUSY_OTHERS))
}

/// The bar on stderr, hidden when stderr is not a terminal.
fn progress_bar(runs: usize) -> ProgressBar {
    let target =
        if std::io::stderr().is_terminal() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
    let bar = ProgressBar::with_draw_target(Some(runs as u64), target);
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} runs · {elapsed} · {msg}") {
        bar.set_style(style);
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::busy;

    #[test]
    fn busy_is_a_quarter_of_a_core_of_others_on_average() {
        assert!(!busy(None, 1.0));
        assert!(!busy(Some(0.2), 1.0));
        assert!(busy(Some(0.3), 1.0));
        assert!(!busy(Some(0.3), 0.0));
    }
}
