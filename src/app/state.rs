//! Everything the dashboard knows: settings, selection, the live run, finished runs, the
//! experiment in hand and each experiment's verdict, core load, overlays and shutdown. Changed only by [`super::update`]; read by `ui`.

use std::collections::VecDeque;
use std::time::Duration;

use nix::sys::signal::Signal;

use super::baseline::{baseline_request, BaselineStep};
pub(crate) use super::settings::{Priority, Setting, Settings, AFFINITIES, GRACES_MS, LOCK_CHOICES_MS, TASK_COUNTS};
use super::share::{RunShare, BUSY_OTHERS};
use super::workers::WorkersTable;
use crate::engine::timeline::Timeline;
use crate::engine::{Model, PlanRequest, RunReport};
use crate::experiments::{Course, Experiment, Verdict, EXPERIMENTS};
use crate::report::compare::{baseline_setup, is_baseline};
use crate::report::{compare, Comparison};
use crate::telemetry::responsiveness::Responsiveness;
use crate::telemetry::RunView;
use crate::workload::{Kind, CATALOG};

/// Samples of history kept per core for the sparkline.
pub(crate) const CORE_HISTORY: usize = 48;

/// The panel that arrow keys act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Focus {
    /// The experiments list, which the dashboard opens on.
    Experiments,
    Catalog,
    Settings,
    Workers,
    Results,
}

impl Focus {
    pub(crate) const ORDER: [Self; 5] =
        [Self::Experiments, Self::Catalog, Self::Settings, Self::Workers, Self::Results];

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

/// Per-core load and its history.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct CoreView {
    /// Everything on the core, in percent, over the last sample.
    pub usage: f32,
    /// The current run's part of `usage` (the rest is other programs').
    pub run: f32,
    pub history: VecDeque<u8>,
}

/// How many finished runs the results table keeps, so that the dashboard's memory stays bounded
/// over any number of runs.
pub(crate) const RESULTS_KEPT: usize = 200;

/// An ended run, as the results keep it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ResultRow {
    pub report: RunReport,
    /// Other programs used more than [`BUSY_OTHERS`] of a core over the run's last second, as
    /// the Cores panel warned: its figures may be off.
    pub busy: bool,
    /// The priority its workers ran at: idle ones yield the CPUs to any busy program, so with
    /// `busy` its figures say more about the others than about the run.
    pub priority: Priority,
}

impl std::borrow::Borrow<RunReport> for ResultRow {
    fn borrow(&self) -> &RunReport {
        &self.report
    }
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
    /// The help's second page: what each column of the workers and results tables means.
    Columns,
}

/// The dashboard's whole state.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct State {
    /// The selected experiment, in [`EXPERIMENTS`].
    pub experiment: usize,
    /// The experiment being run: Enter on the list starts it, each run's end starts the next.
    pub course: Option<Course>,
    /// Each experiment's latest verdict, in [`EXPERIMENTS`]' order.
    pub verdicts: Vec<Option<Verdict>>,
    /// The experiment whose verdict the results panel states, until another run starts.
    pub verdict_shown: Option<usize>,
    pub selected: usize,
    pub focus: Focus,
    pub setting: usize,
    pub settings: Settings,
    pub run: Option<RunView>,
    /// Every ended run, oldest first.
    pub results: Vec<ResultRow>,
    /// The results table: `results` grouped, compared, with its sentence.
    pub comparison: Comparison,
    /// The selected row of the results table.
    pub results_scroll: usize,
    /// The run the user asked for, when it waits for the sequential baseline that runs first.
    pub baseline: BaselineStep,
    /// The workers panel's selection, window of rows, page and order.
    pub workers_table: WorkersTable,
    /// The dashboard's own key-to-screen latency and frame time.
    pub responsiveness: Responsiveness,
    /// True when the workers run in a cpu cgroup of their own, not only at idle priority:
    /// what the key-to-screen figure depends on at a thousand workers.
    pub workers_in_cgroup: bool,
    pub cores: Vec<CoreView>,
    /// What splits each core's load between the run and other programs.
    pub share: RunShare,
    pub overlay: Option<Overlay>,
    /// The timeline, in place of the middle panels while open.
    pub timeline: Option<TimelineView>,
    /// The sweep started with `p`; its chart replaces the middle panels while it is here.
    pub sweep: Option<crate::sweep::Sweep>,
    /// A one-line message: what went wrong with the last request, or what happened. Cleared
    /// when the next run starts, so that it never speaks of another run than the one on screen.
    pub message: Option<String>,
    /// Why Enter did not start the run asked for, in whole sentences: the workers panel shows
    /// it wrapped until the next key.
    pub refusal: Option<String>,
    /// `e` was pressed during a run: its trace is written when it ends.
    pub export_pending: bool,
    pub shutdown: Option<Shutdown>,
    /// Set when the dashboard should leave, with its exit status.
    pub exit: Option<i32>,
    /// The run that was interrupted by the shutdown, for the summary printed after leaving.
    pub interrupted: Option<RunReport>,
    /// False when `NO_COLOR` asks for no colours.
    pub color: bool,
    /// The terminal's background (`--theme`, or the terminal's answer): it picks the palette.
    pub background: crate::ui::theme::Background,
}

impl State {
    #[must_use]
    pub(crate) fn new(cpus: usize, grace: Duration) -> Self {
        Self {
            experiment: 0,
            course: None,
            verdicts: vec![None; EXPERIMENTS.len()],
            verdict_shown: None,
            selected: 0,
            focus: Focus::Experiments,
            setting: 0,
            settings: Settings::new(cpus, grace),
            run: None,
            results: Vec::new(),
            comparison: Comparison::default(),
            results_scroll: 0,
            baseline: BaselineStep::None,
            workers_table: WorkersTable::new(),
            responsiveness: Responsiveness::default(),
            workers_in_cgroup: false,
            cores: vec![CoreView::default(); cpus.max(1)],
            share: RunShare::default(),
            overlay: None,
            timeline: None,
            sweep: None,
            message: None,
            refusal: None,
            export_pending: false,
            shutdown: None,
            exit: None,
            interrupted: None,
            color: true,
            background: crate::ui::theme::Background::Dark,
        }
    }

    #[must_use]
    pub(crate) fn workload(&self) -> &'static dyn Kind {
        let count = self.settings.catalog().count();
        self.settings.catalog().nth(self.selected.min(count.saturating_sub(1))).unwrap_or(CATALOG[0])
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

    /// Adds an ended run and recomputes the results table; the machine's business is what
    /// the Cores panel measured over the run's last second. Only the last run keeps its
    /// timeline (the workers panel and the trace export read it): the table and the saved
    /// files need none, and at a thousand workers each is half a megabyte. Only the last
    /// [`RESULTS_KEPT`] runs stay: each keeps every worker's figures, which the saved files
    /// promise (0.2 MB a run of a thousand workers), so the oldest goes, with a message.
    pub(crate) fn add_result(&mut self, report: RunReport) {
        if let Some(previous) = self.results.last_mut() {
            previous.report.timeline = Timeline::default();
        }
        let busy = self.share.others_recent() > BUSY_OTHERS;
        // Settings are frozen while a run lasts: the priority now is the one it ran at.
        self.results.push(ResultRow { report, busy, priority: self.settings.priority });
        if self.results.len() > RESULTS_KEPT {
            let dropped = self.results.len() - RESULTS_KEPT;
            self.results.drain(..dropped);
            self.message = Some(format!(
                "the results keep the last {RESULTS_KEPT} runs: the oldest was dropped (w saves them first)"
            ));
        }
        self.comparison = compare(&self.results);
        self.results_scroll = self.comparison.rows.len().saturating_sub(1);
    }

    /// The selected experiment.
    #[must_use]
    pub(crate) fn selected_experiment(&self) -> &'static Experiment {
        &EXPERIMENTS[self.experiment.min(EXPERIMENTS.len() - 1)]
    }

    /// The results table's sentence: the verdict of the experiment that just ran, else what
    /// the comparison shows, with a warning when other programs were busy during a run it
    /// compares.
    #[must_use]
    pub(crate) fn results_sentence(&self) -> Option<String> {
        if let Some((experiment, Some(verdict))) =
            self.verdict_shown.and_then(|at| Some((EXPERIMENTS.get(at)?, self.verdicts.get(at)?.as_ref())))
        {
            // An experiment's runs all ran at one priority, the last result row's.
            let idle = self.results.last().is_some_and(|row| row.priority == Priority::Idle);
            let note = if verdict.busy && idle {
                " Its workers ran at idle priority and yielded to them (i: normal priority)."
            } else {
                ""
            };
            return Some(format!("{}: {}{note}", experiment.name, verdict.sentence));
        }
        let sentence = self.comparison.sentence.clone()?;
        let (fast, slow) = self.comparison.compared?;
        let busy: Vec<&ResultRow> = [fast, slow]
            .iter()
            .filter_map(|at| self.comparison.rows.get(*at))
            .flat_map(|row| row.runs.iter())
            .filter_map(|at| self.results.get(*at))
            .filter(|result| result.busy)
            .collect();
        Some(match busy_warning(&busy) {
            Some(warning) => format!("{sentence} {warning}"),
            None => sentence,
        })
    }

    /// True when no finished run can serve as the baseline of the selected workload and settings.
    #[must_use]
    pub(crate) fn baseline_missing(&self) -> bool {
        self.missing_baseline(&self.settings.request(self.workload())).is_some()
    }

    /// The sequential run that `request`'s speedup needs, when no finished run can serve as
    /// its baseline; None for a 1-worker request, which is its own.
    #[must_use]
    pub(crate) fn missing_baseline(&self, request: &PlanRequest) -> Option<PlanRequest> {
        if request.model == Model::Sequential || request.workers == Some(1) {
            return None;
        }
        let base = baseline_request(request)?;
        let target = baseline_setup(base.workload, base.size?, base.tasks, &base.options)?;
        (!self.results.iter().any(|row| is_baseline(&row.report, &target, &base.runtime))).then_some(base)
    }
}

/// What the sentence adds when other programs were busy during the runs it compares (`busy`
/// holds those runs): at idle priority the workers gave the CPUs to those programs, so the
/// figures measure them as much as the run, and `i` gives the next run `run`'s normal priority.
fn busy_warning(busy: &[&ResultRow]) -> Option<&'static str> {
    if busy.iter().any(|result| result.priority == Priority::Idle) {
        Some(
            "Other programs were busy, and workers at idle priority yield to them: the figures are off \
             (i: normal priority).",
        )
    } else if busy.is_empty() {
        None
    } else {
        Some("Other programs were busy during these runs: the figures may be off.")
    }
}
