//! The dashboard's experiments: Enter on the list starts the selected experiment's course, each
//! of its runs' end starts the next, and the last one's end judges it. The runs are ordinary
//! runs of the results table (the experiment's sequential baseline among them, so speedups show);
//! the verdict takes the place of the table's sentence until another run starts.

use super::refusal;
use crate::app::event::Command;
use crate::app::state::State;
use crate::engine::RunReport;
use crate::experiments::course::Stage;
use crate::experiments::{Course, Experiment, Pythons};

/// Enter on the experiments list: every run of the experiment is checked first, so that one
/// this machine refuses is said at once, before any runs; then its first run starts.
pub(super) fn start(state: &mut State) -> Vec<Command> {
    let experiment = state.selected_experiment();
    let pythons = Pythons::among(state.settings.runtime.usable());
    if let Some(missing) = experiment.missing(&pythons) {
        state.refusal = Some(format!("The experiment {} cannot run here: {missing}", experiment.name));
        return Vec::new();
    }
    let course = Course::new(experiment, state.settings.grace, pythons.clone());
    for index in 0..experiment.runs.len() {
        let refused =
            experiment.request(index, state.settings.grace, &pythons).and_then(|request| refusal(state, &request));
        if let Some(refused) = refused {
            state.refusal = Some(format!("The experiment {} cannot run here: {refused}", experiment.name));
            return Vec::new();
        }
    }
    let Some(first) = course.next() else { return Vec::new() };
    state.verdict_shown = None;
    state.message = Some(progress(experiment, &course));
    state.course = Some(course);
    vec![Command::Start(first)]
}

/// `cpu-bound: run 2 of 9, threads × 2 with the lock`.
fn progress(experiment: &Experiment, course: &Course) -> String {
    let (done, total) = course.progress();
    format!("{}: run {} of {total}, {}", experiment.name, done + 1, course.next_label().unwrap_or_default())
}

/// A run of the experiment in hand ended: it joins the results, then the next run starts, or
/// the experiment is judged (or stopped, when the run was cancelled or the user is leaving).
pub(super) fn run_ended(state: &mut State, report: RunReport) -> Vec<Command> {
    let kept = report.clone();
    state.add_result(report);
    let mut commands = Vec::new();
    if std::mem::take(&mut state.export_pending) {
        commands.push(Command::ExportTrace);
    }
    let busy = state.results.last().is_some_and(|row| row.busy);
    let Some(mut course) = state.course.take() else { return commands };
    course.record(kept, busy);
    if state.shutdown.is_some() {
        course.stop();
    }
    let experiment = course.experiment;
    match course.stage() {
        Stage::Running => {
            if let Some(next) = course.next() {
                state.message = Some(progress(experiment, &course));
                state.course = Some(course);
                commands.push(Command::Start(next));
            }
        }
        Stage::Done => {
            let at = crate::experiments::EXPERIMENTS.iter().position(|e| e.name == experiment.name);
            if let (Some(verdict), Some(at)) = (course.verdict(state.cores.len().max(1)), at) {
                state.message = Some(format!("{}: {}", experiment.name, verdict.outcome.text()));
                if let Some(slot) = state.verdicts.get_mut(at) {
                    *slot = Some(verdict);
                }
                state.verdict_shown = Some(at);
            }
        }
        Stage::Stopped => {
            state.message = Some(format!("{} stopped before its runs were done: no verdict", experiment.name));
        }
    }
    commands
}

/// The experiment's run could not start (the refusal says why): it ends without a verdict.
pub(super) fn give_up(state: &mut State) {
    state.course = None;
}
