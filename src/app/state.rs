//! Everything the dashboard knows: settings, selection, the live run, finished runs, core
//! load, overlays and shutdown. Changed only by [`super::update`]; read by `ui`.

use std::collections::VecDeque;
use std::time::Duration;

use nix::sys::signal::Signal;

use super::share::{RunShare, BUSY_OTHERS};
use super::workers::WorkerSort;
use crate::engine::affinity::Affinity;
use crate::engine::{DrainPolicy, Model, PlanRequest, RunOutcome, RunReport};
use crate::report::{efficiency, speedup};
use crate::telemetry::latency::Responsiveness;
use crate::telemetry::RunView;
use crate::workload::{position, Kind, Variant, CATALOG};

/// Samples of history kept per core for the sparkline.
pub(crate) const CORE_HISTORY: usize = 48;

/// The panel that arrow keys act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Focus {
    Catalog,
    Settings,
    Workers,
    Results,
}

impl Focus {
    pub(crate) const ORDER: [Self; 4] = [Self::Catalog, Self::Settings, Self::Workers, Self::Results];

    #[must_use]
    pub(crate) fn next(self) -> Self {
        let at = Self::ORDER.iter().position(|f| *f == self).unwrap_or(0);
        Self::ORDER[(at + 1) % Self::ORDER.len()]
    }

    #[must_use]
    pub(crate) fn previous(self) -> Self {
        let at = Self::ORDER.iter().position(|f| *f == self).unwrap_or(0);
        Self::ORDER[(at + Self::ORDER.len() - 1) % Self::ORDER.len()]
    }
}

/// The rows of the settings panel, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Setting {
    Model,
    Workers,
    Tasks,
    Size,
    Affinity,
    Lock,
    Variant,
    Drain,
    Grace,
}

impl Setting {
    pub(crate) const ALL: [Self; 9] = [
        Self::Model,
        Self::Workers,
        Self::Tasks,
        Self::Size,
        Self::Affinity,
        Self::Lock,
        Self::Variant,
        Self::Drain,
        Self::Grace,
    ];

    #[must_use]
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Model => "model",
            Self::Workers => "workers",
            Self::Tasks => "tasks",
            Self::Size => "size",
            Self::Affinity => "affinity",
            Self::Lock => "lock",
            Self::Variant => "variant",
            Self::Drain => "drain",
            Self::Grace => "grace",
        }
    }
}

/// Choices offered by ←/→ for the settings that are not free numbers.
pub(crate) const AFFINITIES: [Affinity; 3] = [Affinity::None, Affinity::Spread, Affinity::Single];
/// The lock row: off (0), or on with this switch interval in milliseconds.
pub(crate) const LOCK_CHOICES_MS: [u64; 6] = [0, 1, 2, 5, 20, 100];
pub(crate) const GRACES_MS: [u64; 6] = [200, 500, 1000, 3000, 5000, 10_000];
/// Up to 4096, so that a thousand workers can each have tasks.
pub(crate) const TASK_COUNTS: [u64; 13] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];

/// The run settings, one value per row of the panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Settings {
    pub model: Model,
    pub workers: usize,
    pub tasks: u64,
    /// Size per workload, in catalog order.
    pub sizes: Vec<u64>,
    /// The variant row: the chosen variant of each workload, in catalog order.
    pub variants: Vec<usize>,
    pub affinity: Affinity,
    pub lock: bool,
    pub switch_interval: Duration,
    pub drain: DrainPolicy,
    pub grace: Duration,
}

impl Settings {
    #[must_use]
    pub(crate) fn new(cpus: usize, grace: Duration) -> Self {
        Self {
            model: Model::Threads,
            workers: cpus.max(1),
            tasks: 16,
            sizes: CATALOG.iter().map(|kind| kind.size().watchable).collect(),
            variants: vec![0; CATALOG.len()],
            affinity: Affinity::None,
            lock: false,
            switch_interval: crate::engine::plan::DEFAULT_SWITCH_INTERVAL,
            drain: DrainPolicy::Chunk,
            grace,
        }
    }

    #[must_use]
    pub(crate) fn size_of(&self, workload: &dyn Kind) -> u64 {
        self.sizes.get(position(workload)).copied().unwrap_or_else(|| workload.size().watchable)
    }

    /// The chosen variant of `workload` under the current model, if it has variants.
    #[must_use]
    pub(crate) fn variant_of(&self, workload: &dyn Kind) -> Option<&'static Variant> {
        let variants = workload.variants(self.model == Model::Processes);
        let chosen = self.variants.get(position(workload)).copied().unwrap_or(0);
        variants.get(chosen % variants.len().max(1))
    }

    /// Moves `workload`'s variant `step` places through those the model offers, wrapping.
    pub(crate) fn step_variant(&mut self, workload: &dyn Kind, step: isize) {
        let count = workload.variants(self.model == Model::Processes).len();
        if let (Some(chosen), true) = (self.variants.get_mut(position(workload)), count > 0) {
            *chosen = ((*chosen % count) as isize + step).rem_euclid(count as isize) as usize;
        }
    }

    /// The plan request these settings make for `workload`.
    #[must_use]
    pub(crate) fn request(&self, workload: &'static dyn Kind) -> PlanRequest {
        let mut request = PlanRequest {
            workers: Some(if self.model == Model::Sequential { 1 } else { self.workers }),
            tasks: self.tasks,
            size: Some(self.size_of(workload)),
            affinity: self.affinity.clone(),
            gil: self.lock.then_some(self.switch_interval),
            grace: self.grace,
            drain: self.drain,
            ..PlanRequest::new(workload, self.model)
        };
        let variant = self.variant_of(workload).map_or(&[][..], |variant| variant.sets);
        for (flag, value) in workload.watchable_options().iter().chain(variant) {
            request.set(flag, value);
        }
        request
    }
}

/// Per-core load and its history.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct CoreView {
    /// Everything on the core, in percent, over the last sample.
    pub usage: f32,
    /// The current run's part of `usage` (the rest is other programs').
    pub run: f32,
    pub history: VecDeque<u8>,
}

/// A finished run with its comparison against the baseline.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ResultRow {
    pub report: RunReport,
    /// Against the sequential or 1-worker run of the same workload, size and tasks.
    pub speedup: Option<f64>,
    pub efficiency: Option<f64>,
}

/// Why the dashboard is shutting down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shutdown {
    /// `q`: drain the run, then leave with status 0.
    Quit,
    /// Ctrl-C, SIGINT, SIGTERM, SIGHUP: drain, then leave with 128 + signal.
    Signal(Signal),
}

impl Shutdown {
    #[must_use]
    pub(crate) fn exit_code(self) -> i32 {
        match self {
            Self::Quit => 0,
            Self::Signal(signal) => 128 + signal as i32,
        }
    }
}

/// What the timeline's lanes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimelineMode {
    /// One lane per worker, coloured by what it does.
    Workers,
    /// One lane per CPU, showing which worker computed there.
    Cpus,
}

/// The windows the timeline zooms through.
pub(crate) const TIMELINE_WINDOWS_MS: [u64; 11] = [20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 30_000, 120_000];

/// The timeline view, while it is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimelineView {
    pub mode: TimelineMode,
    /// Index into [`TIMELINE_WINDOWS_MS`].
    pub zoom: usize,
}

impl TimelineView {
    /// Opens on workers, with a 2 s window.
    #[must_use]
    pub(crate) fn new() -> Self {
        Self { mode: TimelineMode::Workers, zoom: 6 }
    }

    /// The length of time the lanes span.
    #[must_use]
    pub(crate) fn window(self) -> Duration {
        Duration::from_millis(TIMELINE_WINDOWS_MS[self.zoom.min(TIMELINE_WINDOWS_MS.len() - 1)])
    }
}

impl Default for TimelineView {
    fn default() -> Self {
        Self::new()
    }
}

/// The overlay drawn above the panels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Overlay {
    Help,
}

/// The dashboard's whole state.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct State {
    pub selected: usize,
    pub focus: Focus,
    pub setting: usize,
    pub settings: Settings,
    pub run: Option<RunView>,
    pub results: Vec<ResultRow>,
    pub results_scroll: usize,
    /// The selected row of the workers panel, as a position in its shown order.
    pub workers_scroll: usize,
    /// The first row the workers panel showed, so the view moves only when the selection leaves it.
    pub workers_offset: usize,
    /// Rows the workers panel had room for in the last frame: what PgUp and PgDn move by.
    pub workers_page: usize,
    pub workers_sort: WorkerSort,
    /// The dashboard's own key-to-screen latency and frame time.
    pub responsiveness: Responsiveness,
    pub cores: Vec<CoreView>,
    /// What splits each core's load between the run and other programs.
    pub share: RunShare,
    pub overlay: Option<Overlay>,
    /// The timeline, in place of the middle panels while open.
    pub timeline: Option<TimelineView>,
    /// A one-line message: what went wrong with the last request, or what happened.
    pub message: Option<String>,
    pub shutdown: Option<Shutdown>,
    /// Set when the dashboard should leave, with its exit status.
    pub exit: Option<i32>,
    /// The run that was interrupted by the shutdown, for the summary printed after leaving.
    pub interrupted: Option<RunReport>,
    /// False when `NO_COLOR` asks for no colours.
    pub color: bool,
}

impl State {
    #[must_use]
    pub(crate) fn new(cpus: usize, grace: Duration) -> Self {
        Self {
            selected: 0,
            focus: Focus::Catalog,
            setting: 0,
            settings: Settings::new(cpus, grace),
            run: None,
            results: Vec::new(),
            results_scroll: 0,
            workers_scroll: 0,
            workers_offset: 0,
            workers_page: 1,
            workers_sort: WorkerSort::Index,
            responsiveness: Responsiveness::default(),
            cores: vec![CoreView::default(); cpus.max(1)],
            share: RunShare::default(),
            overlay: None,
            timeline: None,
            message: None,
            shutdown: None,
            exit: None,
            interrupted: None,
            color: true,
        }
    }

    #[must_use]
    pub(crate) fn workload(&self) -> &'static dyn Kind {
        CATALOG[self.selected.min(CATALOG.len() - 1)]
    }

    /// True while a run has workers that have not all ended.
    #[must_use]
    pub(crate) fn running(&self) -> bool {
        self.run.is_some()
    }

    /// How many rows the workers panel lists: the run's workers, else the last run's.
    #[must_use]
    pub(crate) fn worker_rows(&self) -> usize {
        self.run
            .as_ref()
            .map_or_else(|| self.results.last().map_or(0, |row| row.report.workers.len()), |run| run.workers.len())
    }

    /// Other programs' load while a run lasts, in percent of one core, when it is enough to
    /// make the run's figures doubtful.
    #[must_use]
    pub(crate) fn busy_machine(&self) -> Option<f32> {
        self.running().then(|| self.share.others_recent()).filter(|others| *others > BUSY_OTHERS)
    }

    /// Adds a finished run and recomputes every row's comparison.
    pub(crate) fn add_result(&mut self, report: RunReport) {
        self.results.push(ResultRow { report, speedup: None, efficiency: None });
        let reports: Vec<RunReport> = self.results.iter().map(|row| row.report.clone()).collect();
        for row in &mut self.results {
            let base = baseline_for(&reports, &row.report);
            row.speedup = base.and_then(|base| speedup(base.wall_seconds, row.report.wall_seconds));
            row.efficiency = row.speedup.map(|s| efficiency(s, row.report.plan.workers));
        }
        self.results_scroll = self.results.len().saturating_sub(1);
    }

    /// The baseline missing for the selected workload and settings, if it is missing.
    #[must_use]
    pub(crate) fn baseline_missing(&self) -> bool {
        let request = self.settings.request(self.workload());
        !self.results.iter().any(|row| is_baseline_for(&row.report, request.workload, request.size, request.tasks))
    }
}

fn is_baseline_for(report: &RunReport, workload: &dyn Kind, size: Option<u64>, tasks: u64) -> bool {
    report.outcome == RunOutcome::Finished
        && report.plan.workers == 1
        && report.plan.workload.kind.name() == workload.name()
        && Some(report.plan.workload.size) == size
        && report.plan.tasks == tasks
}

/// The run a report's speedup is measured against: the latest finished sequential run of the
/// same workload, size and tasks, else the latest finished 1-worker run of any model.
#[must_use]
pub(crate) fn baseline_for<'a>(reports: &'a [RunReport], report: &RunReport) -> Option<&'a RunReport> {
    let candidates = || {
        reports.iter().rev().filter(|r| {
            is_baseline_for(r, report.plan.workload.kind, Some(report.plan.workload.size), report.plan.tasks)
        })
    };
    candidates().find(|r| r.plan.model == Model::Sequential).or_else(|| candidates().next())
}
