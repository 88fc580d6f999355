//! What a sweep measured and what it means: each run's figures ([`Sample`]), each point's
//! statistics ([`Point`]), the Amdahl fit per model, the hyperfine-style comparison and the
//! warnings. Built from the sweep's samples with `stats`; presenting them is `report/`'s.

use std::fmt;

use super::rounds::{Config, Stopped, SweepSpec};
use super::spec::BenchModel;
use super::stats::{efficiency, fit_amdahl, karp_flatt, outliers, ratio, AmdahlFit, Ratio, Summary};
use crate::engine::RunReport;
use crate::telemetry::machine::BUSY_OTHERS;

/// One measured run: what its report says that matters for a comparison.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct Sample {
    /// Which measured round it belongs to (warm-up not counted), from 0.
    pub round: usize,
    pub wall_seconds: f64,
    /// CPU time of all its workers.
    pub cpu_seconds: f64,
    /// Time its workers waited for the emulated interpreter lock, summed.
    pub lock_wait_seconds: f64,
    /// Median time from asking for a worker to its first instruction.
    pub startup_seconds: Option<f64>,
    pub tasks_done: u64,
    pub checksum_ok: Option<bool>,
    /// CPU time other programs used while it ran, where it could be measured.
    pub others_cpu_seconds: Option<f64>,
    /// The workload's own figures, by their JSON names.
    pub metrics: serde_json::Map<String, serde_json::Value>,
}

impl Sample {
    #[must_use]
    pub(crate) fn of(report: &RunReport, round: usize, others_cpu_seconds: Option<f64>) -> Self {
        Self {
            round,
            wall_seconds: report.wall_seconds,
            cpu_seconds: report.cpu_seconds,
            lock_wait_seconds: report.workers.iter().map(|w| w.lock_wait_seconds).sum(),
            startup_seconds: report.median_startup_seconds(),
            tasks_done: report.tasks_done,
            checksum_ok: report.checksum_ok(),
            others_cpu_seconds,
            metrics: report.metrics.json(),
        }
    }
}

/// One configuration's runs and their statistics.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Point {
    pub config: Config,
    pub runs: Vec<Sample>,
    /// Wall seconds over the runs; None before the first run.
    pub time: Option<Summary>,
    /// Over the sequential baseline's mean, with its uncertainty.
    pub speedup: Option<Ratio>,
    /// Speedup per worker (1 = perfect scaling).
    pub efficiency: Option<f64>,
    /// The serial fraction this point shows; None at one worker.
    pub karp_flatt: Option<f64>,
    /// Indices in `runs` of the outlying runs.
    pub outliers: Vec<usize>,
    /// Other programs' load during its runs, in cores (0.5: half a core on average).
    pub others_load: Option<f64>,
}

/// Something that makes the figures doubtful.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Warning {
    /// Some runs of a point are far from its others.
    Outliers { config: Config, count: usize, runs: usize },
    /// Other programs used the CPUs during the sweep.
    BusyMachine { load: f64, worst: Config, worst_load: f64 },
    /// The sweep stopped before its last run.
    Stopped(Stopped),
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Outliers { config, count, runs } => write!(
                f,
                "{config}: {count} of {runs} runs are outliers (far from the median); another program may have \
                 interrupted them: measure again on a quieter machine or with more --runs"
            ),
            Self::BusyMachine { load, worst, worst_load } => write!(
                f,
                "busy machine: other programs used {:.0}% of a core on average during the runs ({:.0}% during \
                 {worst}); the figures may be off",
                load * 100.0,
                worst_load * 100.0
            ),
            Self::Stopped(Stopped::Cancelled) => f.write_str("the sweep was cancelled: only the runs made are shown"),
            Self::Stopped(Stopped::Failed { config, outcome }) => {
                write!(f, "the sweep stopped: a run of {config} failed ({outcome})")
            }
        }
    }
}

impl fmt::Display for Config {
    /// `processes × 2`; the sequential baseline is just `sequential`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.model {
            BenchModel::Sequential | BenchModel::PythonSequential => f.write_str(self.model.words()),
            model => write!(f, "{} × {}", model.words(), self.workers),
        }
    }
}

/// The fastest point against the others that matter: each other model at the same worker
/// count (or its best, where it has none), hyperfine's "ran N ± u times faster than".
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Comparison {
    pub fastest: Config,
    pub against: Vec<(Config, Ratio)>,
}

/// Everything a sweep measured so far.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Results {
    pub spec: SweepSpec,
    pub points: Vec<Point>,
    /// Amdahl's law fitted to each parallel model's points, where it has one of 2 workers or more.
    pub fits: Vec<(BenchModel, AmdahlFit)>,
    pub warnings: Vec<Warning>,
}

impl Results {
    #[must_use]
    pub(crate) fn new(spec: &SweepSpec, configs: &[Config], samples: &[Vec<Sample>], stopped: Option<Stopped>) -> Self {
        // Each model's speedup is over its own runtime's sequential baseline.
        let baseline_of = |model: BenchModel| {
            let at = configs.iter().position(|config| config.model == model.baseline())?;
            samples.get(at).and_then(|runs| wall_summary(runs))
        };
        let points: Vec<Point> =
            configs.iter().zip(samples).map(|(&config, runs)| point(config, runs, baseline_of(config.model))).collect();
        let mut fits = Vec::new();
        for &model in spec.models.iter().filter(|model| !model.is_baseline()) {
            let measured: Vec<(usize, f64)> = points
                .iter()
                .filter(|point| point.config.model == model)
                .filter_map(|point| point.speedup.map(|speedup| (point.config.workers, speedup.value)))
                .collect();
            if let Some(fit) = fit_amdahl(&measured) {
                fits.push((model, fit));
            }
        }
        // A sweep that stopped early says so first: every figure after it is partial.
        let mut warnings: Vec<Warning> = stopped.map(Warning::Stopped).into_iter().collect();
        warnings.extend(points.iter().filter(|point| !point.outliers.is_empty()).map(|point| Warning::Outliers {
            config: point.config,
            count: point.outliers.len(),
            runs: point.runs.len(),
        }));
        warnings.extend(busy_machine(&points));
        Self { spec: spec.clone(), points, fits, warnings }
    }

    /// The point of `config`, if it is part of the sweep.
    #[must_use]
    pub(crate) fn point(&self, config: Config) -> Option<&Point> {
        self.points.iter().find(|point| point.config == config)
    }

    /// The fastest point by mean time, against the others that matter; None with fewer than
    /// two measured points.
    #[must_use]
    pub(crate) fn comparison(&self) -> Option<Comparison> {
        // Times of one runtime only: a Python model's twin does another amount of work.
        let measured = || {
            self.points
                .iter()
                .filter(|point| !point.config.model.python())
                .filter_map(|point| point.time.map(|time| (point, time)))
        };
        let (fastest, fastest_time) = measured().min_by(|a, b| a.1.mean.total_cmp(&b.1.mean))?;
        let mut models: Vec<BenchModel> = self.points.iter().map(|point| point.config.model).collect();
        models.dedup();
        let against: Vec<(Config, Ratio)> = models
            .into_iter()
            .filter(|model| *model != fastest.config.model)
            .filter_map(|model| {
                let of_model = measured().filter(|(point, _)| point.config.model == model);
                let same_count = of_model.clone().find(|(point, _)| point.config.workers == fastest.config.workers);
                let (point, time) = same_count.or_else(|| of_model.min_by(|a, b| a.1.mean.total_cmp(&b.1.mean)))?;
                Some((point.config, ratio(&time, &fastest_time)?))
            })
            .collect();
        (!against.is_empty()).then_some(Comparison { fastest: fastest.config, against })
    }
}

fn wall_summary(runs: &[Sample]) -> Option<Summary> {
    Summary::of(&runs.iter().map(|run| run.wall_seconds).collect::<Vec<_>>())
}

fn point(config: Config, runs: &[Sample], baseline: Option<Summary>) -> Point {
    let walls: Vec<f64> = runs.iter().map(|run| run.wall_seconds).collect();
    let time = Summary::of(&walls);
    let speedup = if config.model.is_baseline() {
        // The baseline against itself is 1 exactly: its spread is in its own σ, not in a ratio.
        time.map(|_| Ratio { value: 1.0, uncertainty: 0.0 })
    } else {
        baseline.zip(time).and_then(|(baseline, time)| ratio(&baseline, &time))
    };
    let others: Option<f64> = runs.iter().map(|run| run.others_cpu_seconds).sum();
    let wall_total: f64 = walls.iter().sum();
    Point {
        config,
        runs: runs.to_vec(),
        time,
        speedup,
        efficiency: speedup.map(|s| efficiency(s.value, config.workers)),
        karp_flatt: speedup.and_then(|s| karp_flatt(s.value, config.workers)),
        outliers: outliers(&walls),
        others_load: others.filter(|_| wall_total > 0.0).map(|others| (others / wall_total).max(0.0)),
    }
}

/// One warning when other programs used more than [`BUSY_OTHERS`] of a core on average over
/// all runs (one run is too short to judge: /proc/stat counts in 10 ms ticks).
fn busy_machine(points: &[Point]) -> Option<Warning> {
    let (mut others, mut wall) = (0.0, 0.0);
    for point in points {
        for run in &point.runs {
            others += run.others_cpu_seconds?;
            wall += run.wall_seconds;
        }
    }
    let load = if wall > 0.0 { others / wall } else { return None };
    if load * 100.0 <= f64::from(BUSY_OTHERS) {
        return None;
    }
    let (worst, worst_load) = points
        .iter()
        .filter_map(|point| point.others_load.map(|load| (point.config, load)))
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    Some(Warning::BusyMachine { load, worst, worst_load })
}
