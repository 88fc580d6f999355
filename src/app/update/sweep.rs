//! The dashboard's sweep (`p`): which sweep the settings make, starting it, feeding it each
//! finished run and handing out the next, cancelling it and closing its chart. The sweep is
//! `sweep`'s state machine; the loop only carries out the runs it asks for, one at a time, so
//! the dashboard stays responsive between and during them.

use super::super::event::Command;
use super::super::state::{Settings, State};
use crate::app::runtimes::Probe;
use crate::engine::{RunReport, StopReason};
use crate::sweep::{BenchModel, PythonSide, Runs, Sweep, SweepSpec};
use crate::workload::position;
use crate::workload::Kind;

/// The sweep's task size is the dashboard's divided by this, so that its 3 runs of some 13
/// configurations take well under a minute where one dashboard run lasts a few seconds (cpu:
/// a 16-task sequential run of about half a second on an idle machine).
pub(crate) const SWEEP_SIZE_DIVISOR: u64 = 16;
/// Measured runs per point: the fewest that give a spread.
const SWEEP_RUNS: usize = 3;
/// Above this many worker counts, only powers of two (and the CPU count) are swept.
const MAX_COUNTS: usize = 8;

/// The sweep the settings make for `workload` on `cpus` CPUs: threads, threads with the lock
/// and processes (and the selected model, if it is another), at 1 up to twice the CPUs, with
/// the dashboard's size divided by [`SWEEP_SIZE_DIVISOR`]. Models whose runs the workload
/// refuses (a transport only threads have) are left out.
#[must_use]
pub(crate) fn sweep_spec(settings: &Settings, workload: &'static dyn Kind, cpus: usize) -> SweepSpec {
    let mut base = settings.request(workload);
    base.size = Some((settings.size_of(workload) / SWEEP_SIZE_DIVISOR).max(1));
    let mut models = vec![BenchModel::Threads, BenchModel::ThreadsGil, BenchModel::Processes];
    let selected = BenchModel::of(settings.model, settings.lock);
    if selected != BenchModel::Sequential && !models.contains(&selected) {
        models.push(selected);
    }
    let most = 2 * cpus.max(1);
    let workers: Vec<usize> = if most <= MAX_COUNTS {
        (1..=most).collect()
    } else {
        let mut counts: Vec<usize> =
            std::iter::successors(Some(1), |n| Some(n * 2)).take_while(|n| *n <= most).collect();
        counts.extend([cpus, most]);
        counts.sort_unstable();
        counts.dedup();
        counts
    };
    // Under native code, CPython's threads join the emulated lock's on the chart, on the first
    // interpreter the runtime row found usable, at the twin's size divided alike.
    let python = settings.runtime.offered.iter().find_map(|offered| match &offered.probe {
        Probe::Usable(interpreter) if !settings.runtime.is_python() => Some(PythonSide {
            interpreter: interpreter.clone(),
            size: Some(
                (settings.python_sizes.get(position(workload)).copied().unwrap_or(0) / SWEEP_SIZE_DIVISOR).max(1),
            ),
        }),
        _ => None,
    });
    if python.is_some() {
        models.push(BenchModel::PythonThreads);
    }
    let mut spec = SweepSpec { base, models, workers, runs: Runs::Fixed(SWEEP_RUNS), warmup: 0, python };
    let allowed: Vec<usize> = (0..cpus.max(1)).collect();
    let runnable: Vec<BenchModel> = spec
        .models
        .iter()
        .copied()
        .filter(|&model| {
            let single = SweepSpec { models: vec![model], ..spec.clone() };
            single.validate(&allowed).is_ok()
        })
        .collect();
    spec.models = runnable;
    spec
}

/// `p`: opens the chart and starts the sweep of the selected workload with these settings.
pub(super) fn start(state: &mut State) -> Vec<Command> {
    let spec = sweep_spec(&state.settings, state.workload(), state.cores.len());
    if spec.models.is_empty() {
        state.message =
            Some(format!("cannot sweep {}: no model can run it with these settings", state.workload().name()));
        return Vec::new();
    }
    let sweep = Sweep::new(spec);
    let first = sweep.next();
    state.sweep = Some(sweep);
    state.message = None;
    first.map(Command::StartSweepRun).into_iter().collect()
}

/// True while the sweep still has runs to make.
#[must_use]
pub(crate) fn in_progress(state: &State) -> bool {
    state.sweep.as_ref().is_some_and(|sweep| sweep.current().is_some())
}

/// A run of the sweep ended: records it and asks for the next one, unless the dashboard is
/// shutting down.
pub(super) fn record(state: &mut State, report: &RunReport, others_cpu_seconds: Option<f64>) -> Vec<Command> {
    let Some(sweep) = state.sweep.as_mut() else { return Vec::new() };
    sweep.record(report, others_cpu_seconds);
    if state.shutdown.is_some() {
        sweep.cancel();
    }
    sweep.next().map(Command::StartSweepRun).into_iter().collect()
}

/// A sweep's run could not start: the sweep ends there, keeping what it measured.
pub(super) fn give_up(state: &mut State) {
    if in_progress(state) {
        if let Some(sweep) = state.sweep.as_mut() {
            sweep.cancel();
        }
    }
}

/// `c` or Esc while the sweep runs: no further run, and the one in hand is stopped. What was
/// measured stays on the chart.
pub(super) fn cancel(state: &mut State) -> Vec<Command> {
    give_up(state);
    if state.running() {
        vec![Command::Stop(StopReason::User)]
    } else {
        Vec::new()
    }
}

/// Esc once the sweep is over: back to the panels.
pub(super) fn close(state: &mut State) {
    state.sweep = None;
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::app::{update, Event};
    use crate::engine::{Model, PlanRequest, RunOutcome};
    use crate::workload::{by_name, CATALOG};
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    fn key(state: &mut State, code: KeyCode) -> Vec<Command> {
        update(state, Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    fn finished(request: &PlanRequest, wall: f64, outcome: RunOutcome) -> RunReport {
        let plan = request.validate_with(&[0, 1]).expect("plan");
        RunReport { wall_seconds: wall, tasks_done: plan.tasks, outcome, ..RunReport::empty(plan) }
    }

    /// Plays the loop: each requested run "starts" (a live view) and ends after `wall(request)`.
    fn serve(state: &mut State, mut commands: Vec<Command>, runs: usize) -> Vec<Command> {
        for _ in 0..runs {
            let Some(Command::StartSweepRun(request)) = commands.pop() else { return commands };
            state.run = Some(crate::telemetry::RunView::of_plan(request.validate_with(&[0, 1]).expect("plan")));
            let wall = 1.0 / request.workers.unwrap_or(1).min(2) as f64;
            commands = update(
                state,
                Event::SweepRunFinished {
                    report: finished(&request, wall, RunOutcome::Finished),
                    others_cpu_seconds: Some(0.0),
                },
            );
        }
        commands
    }

    #[test]
    fn the_settings_make_a_sweep_of_three_models_at_up_to_twice_the_cpus() {
        let state = State::new(2, Duration::from_secs(3));
        let spec = sweep_spec(&state.settings, by_name("cpu").expect("cpu"), 2);
        assert_eq!(spec.models, vec![BenchModel::Threads, BenchModel::ThreadsGil, BenchModel::Processes]);
        assert_eq!(spec.workers, vec![1, 2, 3, 4]);
        let watchable = by_name("cpu").expect("cpu").size().watchable;
        assert_eq!(spec.base.size, Some(watchable / SWEEP_SIZE_DIVISOR));
        let wide = sweep_spec(&state.settings, by_name("cpu").expect("cpu"), 24);
        assert_eq!(wide.workers, vec![1, 2, 4, 8, 16, 24, 32, 48]);
        let mut processes_lock = state.settings.clone();
        processes_lock.model = Model::Processes;
        processes_lock.lock = true;
        let spec = sweep_spec(&processes_lock, by_name("cpu").expect("cpu"), 2);
        assert_eq!(spec.models.last(), Some(&BenchModel::ProcessesGil), "the selected model joins the sweep");
    }

    /// With an interpreter the runtime row found usable, a native sweep draws CPython's threads
    /// beside the emulated lock's, at the twin's watchable size divided alike; under Python the
    /// sweep is Python's own, without the emulated lock.
    #[test]
    fn a_usable_interpreter_adds_cpythons_threads_to_a_native_sweep() {
        let mut state = State::new(2, Duration::from_secs(3));
        state.settings.runtime.offer([std::path::PathBuf::from("python3")]);
        let interpreter = crate::engine::plan::runtime::Interpreter {
            path: "/usr/bin/python3".into(),
            implementation: "CPython".to_owned(),
            version: (3, 11, 7),
            free_threaded: false,
            gil: true,
        };
        state.settings.runtime.answer(std::path::Path::new("python3"), Ok(interpreter));
        let cpu = by_name("cpu").expect("cpu");
        let spec = sweep_spec(&state.settings, cpu, 2);
        assert_eq!(spec.models.last(), Some(&BenchModel::PythonThreads), "{:?}", spec.models);
        let twin = cpu.python().expect("a twin");
        assert_eq!(spec.python.as_ref().and_then(|side| side.size), Some(twin.size.watchable / SWEEP_SIZE_DIVISOR));
        let no_twin = CATALOG.iter().copied().find(|kind| kind.python().is_none()).expect("one without");
        assert!(!sweep_spec(&state.settings, no_twin, 2).models.contains(&BenchModel::PythonThreads));
        state.settings.runtime.step(1);
        let python = sweep_spec(&state.settings, cpu, 2);
        assert_eq!(python.models, vec![BenchModel::Threads, BenchModel::Processes], "Python's own");
        assert!(python.base.runtime.interpreter().is_some());
    }

    #[test]
    fn p_runs_the_sweep_one_run_at_a_time_and_keeps_it_out_of_the_results() {
        let mut state = State::new(2, Duration::from_secs(3));
        let commands = key(&mut state, KeyCode::Char('p'));
        assert!(matches!(commands.as_slice(), [Command::StartSweepRun(_)]), "{commands:?}");
        assert!(in_progress(&state));
        // 1 sequential + 3 models × 4 counts, 3 runs each.
        let left = serve(&mut state, commands, 13 * 3);
        assert!(left.is_empty(), "{left:?}");
        state.run = None;
        assert!(!in_progress(&state));
        let results = state.sweep.as_ref().expect("the chart stays").results();
        assert!(results.points.iter().all(|point| point.runs.len() == 3));
        assert!(state.results.is_empty(), "sweep runs are the chart's, not the results table's");
        key(&mut state, KeyCode::Esc);
        assert!(state.sweep.is_none(), "Esc closes the chart once the sweep is over");
        key(&mut state, KeyCode::Char('p'));
        state.sweep.as_mut().expect("a new sweep").cancel();
        let run = key(&mut state, KeyCode::Enter);
        assert!(matches!(run.as_slice(), [Command::Start(_)]) && state.sweep.is_none(), "Enter closes the chart");
    }

    #[test]
    fn c_or_esc_cancels_the_sweep_and_keeps_what_it_measured() {
        for cancel in [KeyCode::Char('c'), KeyCode::Esc] {
            let mut state = State::new(2, Duration::from_secs(3));
            let commands = key(&mut state, KeyCode::Char('p'));
            let commands = serve(&mut state, commands, 2);
            assert!(matches!(commands.as_slice(), [Command::StartSweepRun(_)]));
            state.run = Some(crate::telemetry::RunView::of_plan(
                state.settings.request(state.workload()).validate_with(&[0, 1]).expect("plan"),
            ));
            let commands = key(&mut state, cancel);
            assert_eq!(commands, vec![Command::Stop(StopReason::User)], "{cancel:?}");
            assert!(!in_progress(&state));
            let stopped = finished(&state.settings.request(state.workload()), 0.5, RunOutcome::Cancelled(None));
            let next = update(&mut state, Event::SweepRunFinished { report: stopped, others_cpu_seconds: None });
            assert!(next.is_empty(), "no run after a cancel: {next:?}");
            let measured: usize =
                state.sweep.as_ref().expect("chart").results().points.iter().map(|p| p.runs.len()).sum();
            assert_eq!(measured, 2);
        }
    }
}
