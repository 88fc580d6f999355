//! An experiment's course: its runs in order, round after round, and what each reported. A
//! state machine like the sweep's: [`Course::next`] gives the request due, [`Course::record`]
//! takes its report back. It never starts a run, reads a clock or prints, so `concur-tui
//! experiments` drives it in a loop and the dashboard one run per `Finished` event.

use std::time::Duration;

use super::{judge, Experiment, Pythons, Verdict};
use crate::engine::timeline::Timeline;
use crate::engine::{PlanRequest, RunOutcome, RunReport};

/// A finished run of the course: which configuration, its report, and whether other programs
/// were busy enough during it to make its figures doubtful.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Finished {
    /// The index of its configuration in the experiment's runs.
    pub run: usize,
    pub report: RunReport,
    pub busy: bool,
}

/// Where a course is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// A run is due or running.
    Running,
    /// Every run reported.
    Done,
    /// A run was cancelled or could not start: no verdict.
    Stopped,
}

/// One experiment being run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Course {
    pub experiment: &'static Experiment,
    grace: Duration,
    /// The interpreters its runs may need.
    pythons: Pythons,
    /// Runs reported so far, in order.
    pub finished: Vec<Finished>,
    stage: Stage,
}

impl Course {
    #[must_use]
    pub(crate) fn new(experiment: &'static Experiment, grace: Duration, pythons: Pythons) -> Self {
        Self { experiment, grace, pythons, finished: Vec::new(), stage: Stage::Running }
    }

    /// The index of the configuration due next: runs in order, round after round.
    fn due(&self) -> Option<usize> {
        (self.stage == Stage::Running && self.finished.len() < self.experiment.total_runs())
            .then(|| self.finished.len() % self.experiment.runs.len())
    }

    /// The request due next; None once done or stopped.
    #[must_use]
    pub(crate) fn next(&self) -> Option<PlanRequest> {
        self.due().and_then(|run| self.experiment.request(run, self.grace, &self.pythons))
    }

    /// The label of the run due next, for progress lines.
    #[must_use]
    pub(crate) fn next_label(&self) -> Option<String> {
        self.due().and_then(|run| self.experiment.runs.get(run)).map(super::RunSpec::label)
    }

    /// Takes the due run's report back. A cancelled run stops the course: what it measured is
    /// not what the claim is about. Its timeline is dropped: the verdict never reads it.
    pub(crate) fn record(&mut self, mut report: RunReport, busy: bool) {
        let Some(run) = self.due() else { return };
        if matches!(report.outcome, RunOutcome::Cancelled(_)) {
            self.stage = Stage::Stopped;
            return;
        }
        report.timeline = Timeline::default();
        self.finished.push(Finished { run, report, busy });
        if self.finished.len() == self.experiment.total_runs() {
            self.stage = Stage::Done;
        }
    }

    /// A run could not start, or the user left: the course ends without a verdict.
    pub(crate) fn stop(&mut self) {
        if self.stage == Stage::Running {
            self.stage = Stage::Stopped;
        }
    }

    #[must_use]
    pub(crate) fn stage(&self) -> Stage {
        self.stage
    }

    /// Runs reported, and runs in all.
    #[must_use]
    pub(crate) fn progress(&self) -> (usize, usize) {
        (self.finished.len(), self.experiment.total_runs())
    }

    /// The verdict, once every run reported; `cpus` is how many CPUs the runs could use.
    #[must_use]
    pub(crate) fn verdict(&self, cpus: usize) -> Option<Verdict> {
        (self.stage == Stage::Done).then(|| judge(self.experiment, &self.finished, cpus))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::by_experiment_name;

    #[test]
    fn runs_every_configuration_in_order_round_after_round_then_stops() {
        let experiment = by_experiment_name("convoy").expect("convoy");
        let mut course = Course::new(experiment, Duration::from_secs(1), Pythons::default());
        let mut models = Vec::new();
        while let Some(request) = course.next() {
            models.push(request.gil.is_some());
            let plan = request.validate_with(&[0, 1]).expect("plan");
            course.record(RunReport::empty(plan), false);
        }
        assert_eq!(models, [false, true, false, true]);
        assert_eq!(course.stage(), Stage::Done);
        assert_eq!(course.progress(), (4, 4));
        assert!(course.verdict(2).is_some());
    }

    #[test]
    fn a_cancelled_run_stops_the_course_without_a_verdict() {
        let experiment = by_experiment_name("cpu-bound").expect("cpu-bound");
        let mut course = Course::new(experiment, Duration::from_secs(1), Pythons::default());
        let plan = course.next().expect("a first run").validate_with(&[0, 1]).expect("plan");
        let mut report = RunReport::empty(plan);
        report.outcome = RunOutcome::Cancelled(None);
        course.record(report, false);
        assert_eq!((course.stage(), course.next(), course.verdict(2)), (Stage::Stopped, None, None));
    }
}
