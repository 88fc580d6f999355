//! The sequential baseline a run's speedup is measured against: the request that makes it,
//! and [`BaselineStep`], the course of a run that waits for its baseline to run first.

use crate::engine::affinity::Affinity;
use crate::engine::{Model, PlanRequest, Schedule};
use crate::report::compare::baseline_setup;

/// Whether a run the user asked for waits on the sequential baseline running before it. Its
/// transitions are all here: Enter starts the wait ([`Self::run_first`]), Enter again skips
/// the baseline ([`Self::skip`]), and the baseline's end, or a start that failed, closes it
/// ([`Self::end`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum BaselineStep {
    /// No run waits on a baseline.
    #[default]
    None,
    /// The baseline runs; this run starts once it has finished.
    RunFirst(PlanRequest),
    /// Enter was pressed while the baseline ran: it is being stopped, and this run follows
    /// however it ends.
    Skip(PlanRequest),
}

impl BaselineStep {
    /// `request` waits for the baseline that is starting.
    pub(crate) fn run_first(&mut self, request: PlanRequest) {
        *self = Self::RunFirst(request);
    }

    /// The baseline is to be stopped and the waiting run started anyway; returns that run,
    /// if one waits.
    pub(crate) fn skip(&mut self) -> Option<&PlanRequest> {
        *self = match std::mem::take(self) {
            Self::RunFirst(request) | Self::Skip(request) => Self::Skip(request),
            Self::None => Self::None,
        };
        self.waiting()
    }

    /// The baseline's run is over (or never started): the step closes, and what it was is
    /// returned for the caller to act on.
    pub(crate) fn end(&mut self) -> Self {
        std::mem::take(self)
    }

    /// The run that waits on the baseline, skipped or not.
    #[must_use]
    pub(crate) fn waiting(&self) -> Option<&PlanRequest> {
        match self {
            Self::None => None,
            Self::RunFirst(request) | Self::Skip(request) => Some(request),
        }
    }

    /// True while Enter can still skip the baseline: a run waits on it and no skip was asked.
    #[must_use]
    pub(crate) fn skippable(&self) -> bool {
        matches!(self, Self::RunFirst(_))
    }
}

/// The sequential baseline of `request`: the same workload, size, tasks and options (those a
/// sequential run can take), one worker, no lock, no pinning.
#[must_use]
pub(crate) fn baseline_request(request: &PlanRequest) -> Option<PlanRequest> {
    let size = request.size.unwrap_or_else(|| request.workload.size().default);
    let setup = baseline_setup(request.workload, size, request.tasks, &request.options)?;
    Some(PlanRequest {
        model: Model::Sequential,
        workers: Some(1),
        size: Some(size),
        affinity: Affinity::None,
        gil: None,
        schedule: Schedule::Static,
        chunk: None,
        options: setup.options.iter().map(|(flag, value)| (flag.to_owned(), value.to_owned())).collect(),
        respawn: false,
        ..request.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::CATALOG;

    #[test]
    fn a_skip_keeps_the_waiting_run_and_the_end_closes_the_step() {
        let request = PlanRequest::new(CATALOG[0], Model::Threads);
        let mut step = BaselineStep::default();
        assert_eq!(step.skip(), None, "nothing to skip");
        assert_eq!(step, BaselineStep::None);
        step.run_first(request.clone());
        assert!(step.skippable());
        assert_eq!(step.skip(), Some(&request));
        assert!(!step.skippable(), "one skip is enough");
        assert_eq!(step.skip(), Some(&request), "a second skip changes nothing");
        assert_eq!(step.end(), BaselineStep::Skip(request));
        assert_eq!((step.waiting(), step.skippable()), (None, false));
    }
}
