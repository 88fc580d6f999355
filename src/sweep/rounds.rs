//! The sweep as a state machine: it hands out the next run to make ([`Sweep::next`]), takes
//! back each finished run ([`Sweep::record`]), and says what was measured so far
//! ([`Sweep::results`]). Whoever drives it (the `bench` command in a loop, the dashboard one run
//! per frame) owns the engine, the clock and the signals; the sweep owns only the order of the
//! runs and their figures.
//!
//! The order is hyperfine's advice taken further: every configuration runs once per round, the
//! rounds repeat, and each round starts one configuration later, so a drift of the machine
//! (another program, a warming CPU) hits every configuration alike.

use std::time::Duration;

use super::analysis::{Results, Sample};
use super::spec::BenchModel;
use crate::engine::plan::runtime::{Interpreter, Runtime};
use crate::engine::plan::{Room, DEFAULT_SWITCH_INTERVAL};
use crate::engine::{PlanError, PlanRequest, RunOutcome, RunReport, StartMethod};

/// Fewest measured runs per point: below three there is no spread worth the name.
pub(crate) const MIN_RUNS: usize = 3;
/// Most runs per point when the count is chosen from the first round.
pub(crate) const MAX_RUNS: usize = 10;
/// The measuring time per point the adaptive count aims at, as hyperfine's default.
pub(crate) const TARGET_PER_POINT: Duration = Duration::from_secs(3);

/// How many measured runs each point gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Runs {
    Fixed(usize),
    /// Enough for [`TARGET_PER_POINT`] of measuring per point, judged from the first round,
    /// between [`MIN_RUNS`] and [`MAX_RUNS`].
    Auto,
}

/// One configuration of the sweep: a model at a worker count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Config {
    pub model: BenchModel,
    pub workers: usize,
}

/// What to measure. `base` carries the workload, its size, tasks and options and the run
/// settings; the sweep sets the model, workers and lock of each configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SweepSpec {
    pub base: PlanRequest,
    pub models: Vec<BenchModel>,
    pub workers: Vec<usize>,
    pub runs: Runs,
    pub warmup: usize,
    /// The interpreter the Python models (`python-threads`…) of a native sweep run on, and
    /// their size in the twin's unit (None: its default); None when none is swept.
    pub python: Option<PythonSide>,
}

/// Where a native sweep's Python models run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PythonSide {
    pub interpreter: Interpreter,
    pub size: Option<u64>,
}

impl SweepSpec {
    /// The sequential baseline first (always measured: it is the speedup's denominator), then
    /// each other model at each worker count.
    #[must_use]
    pub(crate) fn configs(&self) -> Vec<Config> {
        let mut configs = vec![Config { model: BenchModel::Sequential, workers: 1 }];
        if self.models.iter().any(|model| model.python()) {
            configs.push(Config { model: BenchModel::PythonSequential, workers: 1 });
        }
        for &model in self.models.iter().filter(|model| !model.is_baseline()) {
            configs.extend(self.workers.iter().map(|&workers| Config { model, workers }));
        }
        configs
    }

    /// Checks every configuration's settings against the CPUs this process may use, without
    /// the memory check: what the dashboard asks before it offers a model (each run it then
    /// starts is checked in full, memory included, as `run`'s is).
    pub(crate) fn validate(&self, allowed: &[usize]) -> Result<(), PlanError> {
        self.validate_within(allowed, &Room::default())
    }

    /// Checks every configuration's plan against the CPUs this process may use and the memory
    /// `room` it may take, as `run` does, so that a bad setting or a plan that cannot fit stops
    /// the sweep before its first run rather than in the middle.
    pub(crate) fn validate_within(&self, allowed: &[usize], room: &Room) -> Result<(), PlanError> {
        if self.base.runtime.interpreter().is_some() {
            if let Some(model) = self.models.iter().find(|model| model.gil()) {
                let instead = if model.model() == crate::engine::Model::Threads { "threads" } else { "processes" };
                return Err(PlanError::EmulatedLockWithPython(model.name(), instead));
            }
        }
        self.configs().into_iter().try_for_each(|config| self.request(config).validate_within(allowed, room).map(drop))
    }

    /// The run request of one configuration.
    #[must_use]
    pub(crate) fn request(&self, config: Config) -> PlanRequest {
        let model = config.model.model();
        let request = PlanRequest {
            model,
            workers: Some(config.workers),
            gil: config.model.gil().then(|| self.base.gil.unwrap_or(DEFAULT_SWITCH_INTERVAL)),
            // Spawning is a way of starting processes; threads always start as threads.
            start: if model == crate::engine::Model::Processes { self.base.start } else { StartMethod::Fork },
            ..self.base.clone()
        };
        match (&self.python, config.model.python()) {
            // The twin's own default size: the base's is in native code's unit.
            (Some(python), true) => PlanRequest {
                runtime: Runtime::Python(python.interpreter.clone()),
                size: python.size,
                gil: None,
                ..request
            },
            _ => request,
        }
    }
}

/// Why a sweep ended before its last run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stopped {
    /// The user or a signal stopped it.
    Cancelled,
    /// A run did not finish: its configuration and how it ended.
    Failed { config: Config, outcome: String },
}

/// The state machine. Call [`Sweep::next`] for the run to start, then [`Sweep::record`] with
/// its report; `next` returns the same request until it is recorded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sweep {
    spec: SweepSpec,
    configs: Vec<Config>,
    /// Measured runs of each configuration, by its index in `configs`.
    samples: Vec<Vec<Sample>>,
    /// Rounds done, warm-up rounds included.
    round: usize,
    /// Runs done in the current round.
    position: usize,
    /// Measured runs per point; None until the first measured round decides it (`Runs::Auto`).
    target: Option<usize>,
    stopped: Option<Stopped>,
}

impl Sweep {
    #[must_use]
    pub(crate) fn new(spec: SweepSpec) -> Self {
        let configs = spec.configs();
        let target = match spec.runs {
            Runs::Fixed(runs) => Some(runs.max(1)),
            Runs::Auto => None,
        };
        Self { samples: vec![Vec::new(); configs.len()], configs, spec, round: 0, position: 0, target, stopped: None }
    }

    #[must_use]
    pub(crate) fn spec(&self) -> &SweepSpec {
        &self.spec
    }

    /// The configuration due now, or None when the sweep is over.
    #[must_use]
    pub(crate) fn current(&self) -> Option<Config> {
        if self.stopped.is_some() || self.measured_rounds() >= self.target.unwrap_or(usize::MAX) {
            return None;
        }
        // Each round starts one configuration later than the one before.
        Some(self.configs[(self.position + self.round) % self.configs.len()])
    }

    /// The run to start now, or None when the sweep is over.
    #[must_use]
    pub(crate) fn next(&self) -> Option<PlanRequest> {
        self.current().map(|config| self.spec.request(config))
    }

    /// True while warm-up rounds are being run: their runs are not kept.
    #[must_use]
    pub(crate) fn warming_up(&self) -> bool {
        self.round < self.spec.warmup
    }

    fn measured_rounds(&self) -> usize {
        self.round.saturating_sub(self.spec.warmup)
    }

    /// Takes the report of the run [`Sweep::next`] handed out. `others_cpu_seconds`: CPU time
    /// other programs used while it ran, where the driver could measure it. A run that did not
    /// finish ends the sweep: a time that is not the whole work is no measurement.
    pub(crate) fn record(&mut self, report: &RunReport, others_cpu_seconds: Option<f64>) {
        let Some(config) = self.current() else { return };
        match report.outcome {
            RunOutcome::Finished => {}
            RunOutcome::Cancelled(_) => {
                self.stopped = Some(Stopped::Cancelled);
                return;
            }
            RunOutcome::Failed => {
                let outcome = report.workers.iter().find(|w| w.outcome.is_failure()).map_or_else(
                    || "its checksum did not match".to_owned(),
                    |worker| format!("worker {} {}", worker.index, worker.outcome),
                );
                self.stopped = Some(Stopped::Failed { config, outcome });
                return;
            }
        }
        if !self.warming_up() {
            let index = self.configs.iter().position(|c| *c == config).unwrap_or_default();
            let round = self.measured_rounds();
            self.samples[index].push(Sample::of(report, round, others_cpu_seconds));
        }
        self.position += 1;
        if self.position == self.configs.len() {
            self.position = 0;
            self.round += 1;
            if self.target.is_none() && self.measured_rounds() == 1 {
                self.target = Some(self.adaptive_runs());
            }
        }
    }

    /// Runs per point for [`TARGET_PER_POINT`], from the first measured round's mean run time.
    fn adaptive_runs(&self) -> usize {
        let walls: Vec<f64> = self.samples.iter().filter_map(|runs| runs.first()).map(|s| s.wall_seconds).collect();
        let mean = walls.iter().sum::<f64>() / walls.len().max(1) as f64;
        if mean <= 0.0 {
            return MAX_RUNS;
        }
        ((TARGET_PER_POINT.as_secs_f64() / mean).ceil() as usize).clamp(MIN_RUNS, MAX_RUNS)
    }

    /// Stops the sweep: no further run is handed out; what was measured stays.
    pub(crate) fn cancel(&mut self) {
        self.stopped.get_or_insert(Stopped::Cancelled);
    }

    #[must_use]
    pub(crate) fn stopped(&self) -> Option<&Stopped> {
        self.stopped.as_ref()
    }

    /// Runs done and runs in all, warm-up included; the total is an estimate until the first
    /// round has chosen the count (`Runs::Auto`), taken then as [`MIN_RUNS`].
    #[must_use]
    pub(crate) fn progress(&self) -> (usize, usize) {
        let per_round = self.configs.len();
        let rounds = self.spec.warmup + self.target.unwrap_or(MIN_RUNS);
        (self.round * per_round + self.position, rounds * per_round)
    }

    /// What was measured so far, with its statistics.
    #[must_use]
    pub(crate) fn results(&self) -> Results {
        Results::new(&self.spec, &self.configs, &self.samples, self.stopped.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::by_name;

    pub(crate) fn spec(runs: Runs, warmup: usize) -> SweepSpec {
        SweepSpec {
            base: PlanRequest {
                tasks: 4,
                size: Some(1000),
                ..PlanRequest::new(by_name("cpu").expect("cpu"), crate::engine::Model::Threads)
            },
            models: vec![BenchModel::Threads, BenchModel::ProcessesGil, BenchModel::Sequential],
            workers: vec![1, 2],
            runs,
            warmup,
            python: None,
        }
    }

    #[test]
    fn the_emulated_lock_is_refused_under_python_by_its_model_name() {
        use crate::engine::plan::runtime::{Interpreter, Runtime};
        let python = Interpreter {
            path: "python3".into(),
            implementation: "CPython".to_owned(),
            version: (3, 11, 2),
            free_threaded: false,
            gil: true,
        };
        let mut spec = spec(Runs::Fixed(1), 0);
        spec.base.runtime = Runtime::Python(python);
        assert_eq!(spec.validate(&[0, 1]), Err(PlanError::EmulatedLockWithPython("processes+gil", "processes")));
        spec.models = vec![BenchModel::Threads, BenchModel::Processes];
        assert_eq!(spec.validate(&[0, 1]), Ok(()));
    }

    #[test]
    fn a_sweep_that_cannot_fit_in_memory_is_refused_before_its_first_run() {
        use crate::engine::plan::Room;
        // Issue 25's plan: 8 processes of 2 GiB tasks need 34 GiB; say 22 GiB are available.
        let headroom =
            crate::engine::plan::Headroom { bytes: 22 << 30, limit: crate::engine::plan::Limit::MemAvailable };
        let room = Room { machine: Some(headroom), process: None };
        let spec = SweepSpec {
            base: PlanRequest {
                tasks: 8,
                size: Some(2048),
                ..PlanRequest::new(by_name("memory").expect("memory"), crate::engine::Model::Threads)
            },
            models: vec![BenchModel::Processes],
            workers: vec![8],
            runs: Runs::Fixed(1),
            warmup: 0,
            python: None,
        };
        let refused = spec.validate_within(&[0, 1], &room);
        assert!(matches!(&refused, Err(PlanError::NotEnoughMemory(m)) if m.contains("need 34.00 GiB")), "{refused:?}");
        assert_eq!(spec.validate_within(&[0, 1], &Room::default()), Ok(()), "unknown room: nothing refused");
    }

    /// A finished report of `request` that took `wall` seconds.
    fn report(request: &PlanRequest, wall: f64) -> RunReport {
        RunReport {
            wall_seconds: wall,
            tasks_done: request.tasks,
            ..RunReport::empty(request.validate_with(&[0, 1]).expect("plan"))
        }
    }

    fn drive(sweep: &mut Sweep, wall: impl Fn(&PlanRequest) -> f64) -> Vec<PlanRequest> {
        let mut handed = Vec::new();
        while let Some(request) = sweep.next() {
            assert_eq!(sweep.next().as_ref(), Some(&request), "the same run until it is recorded");
            sweep.record(&report(&request, wall(&request)), Some(0.0));
            handed.push(request);
            assert!(handed.len() < 1000, "the sweep never ends");
        }
        handed
    }

    #[test]
    fn every_configuration_runs_once_per_round_starting_one_later_each_round() {
        let mut sweep = Sweep::new(spec(Runs::Fixed(3), 1));
        let configs = sweep.spec().configs();
        assert_eq!(configs.len(), 5, "sequential once, then 2 models × 2 counts: {configs:?}");
        assert_eq!(configs[0], Config { model: BenchModel::Sequential, workers: 1 });
        let handed = drive(&mut sweep, |_| 0.1);
        assert_eq!(handed.len(), 5 * 4, "one warm-up round and three measured");
        for (round, runs) in handed.chunks(5).enumerate() {
            let first = BenchModel::of(runs[0].model, runs[0].gil.is_some());
            assert_eq!((first, runs[0].workers), (configs[round % 5].model, Some(configs[round % 5].workers)));
            let mut seen: Vec<_> = runs.iter().map(|r| (r.model, r.gil.is_some(), r.workers)).collect();
            seen.sort_by_key(|(model, gil, workers)| (model.name(), *gil, *workers));
            seen.dedup();
            assert_eq!(seen.len(), 5, "round {round} ran every configuration once");
        }
        let gil_run = handed.iter().find(|r| r.model == crate::engine::Model::Processes).expect("processes");
        assert_eq!(gil_run.gil, Some(DEFAULT_SWITCH_INTERVAL));
        let results = sweep.results();
        assert!(results.points.iter().all(|point| point.runs.len() == 3), "warm-up runs are not kept");
        assert_eq!(sweep.progress(), (20, 20));
    }

    #[test]
    fn the_adaptive_count_aims_at_three_seconds_per_point_within_bounds() {
        let mut quick = Sweep::new(spec(Runs::Auto, 0));
        drive(&mut quick, |_| 0.5);
        assert!(quick.results().points.iter().all(|point| point.runs.len() == 6), "3 s / 0.5 s");
        let mut fast = Sweep::new(spec(Runs::Auto, 0));
        drive(&mut fast, |_| 0.001);
        assert!(fast.results().points.iter().all(|point| point.runs.len() == MAX_RUNS));
        let mut slow = Sweep::new(spec(Runs::Auto, 0));
        drive(&mut slow, |_| 10.0);
        assert!(slow.results().points.iter().all(|point| point.runs.len() == MIN_RUNS));
    }

    #[test]
    fn a_failed_or_cancelled_run_ends_the_sweep_and_keeps_what_was_measured() {
        let mut sweep = Sweep::new(spec(Runs::Fixed(3), 0));
        let first = sweep.next().expect("a run");
        sweep.record(&report(&first, 1.0), None);
        let second = sweep.next().expect("a run");
        let failed = RunReport { outcome: RunOutcome::Failed, ..report(&second, 1.0) };
        sweep.record(&failed, None);
        assert!(matches!(sweep.stopped(), Some(Stopped::Failed { .. })), "{:?}", sweep.stopped());
        assert_eq!(sweep.next(), None);
        assert_eq!(sweep.results().points.iter().map(|p| p.runs.len()).sum::<usize>(), 1);

        let mut cancelled = Sweep::new(spec(Runs::Fixed(3), 0));
        let run = cancelled.next().expect("a run");
        cancelled.cancel();
        assert_eq!(cancelled.next(), None);
        cancelled.record(&report(&run, 1.0), None);
        assert_eq!(cancelled.stopped(), Some(&Stopped::Cancelled));
        assert!(cancelled.results().points.iter().all(|p| p.runs.is_empty()));
    }
}
