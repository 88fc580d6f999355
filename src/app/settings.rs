//! The run settings: one value per row of the settings panel, the choices the rows step
//! through, the request they make for a workload, and how the command line's flags are taken
//! into them ([`Settings::adopt`]). Changed only by `update`; read by `ui`.

use std::time::Duration;

use std::path::Path;

use super::runtimes::RuntimeRow;
use crate::engine::affinity::Affinity;
use crate::engine::plan::runtime::Runtime;
use crate::engine::{DrainPolicy, Model, PlanRequest};
use crate::workload::{listed, position, Kind, SizeSpec, Variant, CATALOG};

/// The rows of the settings panel, in display order. The drain policy and the grace period
/// share the `stop` row (←/→ the grace, `d` the policy), so that every row, the runtime's
/// included, fits an 80×24 terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Setting {
    Model,
    Workers,
    Tasks,
    Size,
    Affinity,
    Runtime,
    Lock,
    Variant,
    Stop,
}

impl Setting {
    pub(crate) const ALL: [Self; 9] = [
        Self::Model,
        Self::Workers,
        Self::Tasks,
        Self::Size,
        Self::Affinity,
        Self::Runtime,
        Self::Lock,
        Self::Variant,
        Self::Stop,
    ];

    #[must_use]
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Model => "model",
            Self::Workers => "workers",
            Self::Tasks => "tasks",
            Self::Size => "size",
            Self::Affinity => "affinity",
            Self::Runtime => "runtime",
            Self::Lock => "lock",
            Self::Variant => "variant",
            Self::Stop => "stop",
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

/// The priority a dashboard run's workers run at, which `i` toggles. Idle is the dashboard's
/// own: beside 1,000 runnable workers the loop that reads keys and draws would otherwise get a
/// thousandth of the machine (`dashboard/priority.rs`). Normal is `run`'s: the figures then
/// match `run`'s on a busy machine, and the screen may lag at many workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Priority {
    /// `SCHED_IDLE`, in a cpu cgroup of their own where the dashboard may make one.
    #[default]
    Idle,
    /// As `run`: no pen.
    Normal,
}

impl Priority {
    #[must_use]
    pub(crate) fn toggled(self) -> Self {
        match self {
            Self::Idle => Self::Normal,
            Self::Normal => Self::Idle,
        }
    }
}

/// The run settings, one value per row of the panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Settings {
    pub model: Model,
    pub workers: usize,
    pub tasks: u64,
    /// Size per workload, in catalog order.
    pub sizes: Vec<u64>,
    /// Size per workload's Python twin, in its own unit, in catalog order (0 without a twin).
    pub python_sizes: Vec<u64>,
    /// The variant row: the chosen variant of each workload, in catalog order.
    pub variants: Vec<usize>,
    pub affinity: Affinity,
    pub lock: bool,
    pub switch_interval: Duration,
    pub drain: DrainPolicy,
    pub grace: Duration,
    /// The workers' priority: not a row of its own (the panel's bottom edge shows it, `i`
    /// toggles it), so that every row still fits 80×24.
    pub priority: Priority,
    /// Native, or a Python interpreter: what the runtime row offers and has chosen.
    pub runtime: RuntimeRow,
    /// The user's own code (`--function`), when the dashboard was opened with it.
    pub user_code: Option<UserCode>,
}

/// The entry of the user's own code, as the command line named it: the first of the dashboard's
/// catalog, whose every run takes its options and the interpreter that checked it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UserCode {
    pub kind: &'static dyn Kind,
    /// Its options as given (`function` → `work.py:crunch`).
    pub options: Vec<(String, String)>,
    /// Python, always: the code runs nowhere else.
    pub runtime: Runtime,
}

impl Settings {
    #[must_use]
    pub(crate) fn new(cpus: usize, grace: Duration) -> Self {
        Self {
            model: Model::Threads,
            workers: cpus.max(1),
            tasks: 16,
            sizes: CATALOG.iter().map(|kind| kind.size().watchable).collect(),
            python_sizes: CATALOG.iter().map(|kind| kind.python().map_or(0, |twin| twin.size.watchable)).collect(),
            variants: vec![0; CATALOG.len()],
            affinity: Affinity::None,
            lock: false,
            switch_interval: crate::engine::plan::DEFAULT_SWITCH_INTERVAL,
            drain: DrainPolicy::Chunk,
            grace,
            priority: Priority::Idle,
            runtime: RuntimeRow::default(),
            user_code: None,
        }
    }

    /// The dashboard's catalog: the user's own code first, when it was named, then every
    /// listed entry.
    pub(crate) fn catalog(&self) -> impl Iterator<Item = &'static dyn Kind> + '_ {
        self.user_code.as_ref().map(|code| code.kind).into_iter().chain(listed())
    }

    /// The selected workload's size under the chosen runtime, in that runtime's unit.
    #[must_use]
    pub(crate) fn size_of(&self, workload: &dyn Kind) -> u64 {
        let (sizes, spec) = match (self.runtime.is_python(), workload.python()) {
            (true, Some(twin)) => (&self.python_sizes, twin.size),
            _ => (&self.sizes, workload.size()),
        };
        sizes.get(position(workload)).copied().filter(|size| *size > 0).unwrap_or(spec.watchable)
    }

    /// What a size of `workload` means under the chosen runtime: the twin's own unit under
    /// Python; None under Python for a workload that has no twin.
    #[must_use]
    pub(crate) fn size_spec(&self, workload: &dyn Kind) -> Option<SizeSpec> {
        if self.runtime.is_python() {
            workload.python().map(|twin| twin.size)
        } else {
            Some(workload.size())
        }
    }

    /// The size row's slot for `workload` under the chosen runtime.
    pub(crate) fn size_slot(&mut self, workload: &dyn Kind) -> Option<&mut u64> {
        let sizes = if self.runtime.is_python() { &mut self.python_sizes } else { &mut self.sizes };
        sizes.get_mut(position(workload))
    }

    /// Whether `workload` runs as tasks of one event loop under the chosen runtime: asyncio
    /// where its Python twin has an async version, else the native loop.
    #[must_use]
    pub(crate) fn runs_on_loop(&self, workload: &'static dyn Kind) -> bool {
        if self.runtime.is_python() {
            workload.python().is_some_and(|twin| twin.on_event_loop)
        } else {
            crate::engine::plan::runs_on_event_loop(workload)
        }
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

    /// True when the lock is on and the model can have it: async's one thread already runs
    /// one task at a time, so there the lock does not apply (the panel says `n/a`); nor under
    /// Python, whose interpreter has its own.
    #[must_use]
    pub(crate) fn lock_applies(&self) -> bool {
        self.lock && self.model != Model::Async && !self.runtime.is_python()
    }

    /// The drain policy's other choice: `d`, the stop row's second half.
    pub(crate) fn toggle_drain(&mut self) {
        self.drain = match self.drain {
            DrainPolicy::Chunk => DrainPolicy::Task,
            DrainPolicy::Task => DrainPolicy::Chunk,
        };
    }

    /// Takes the settings that `given` names from `request`, `run`'s request from the command
    /// line, so that the dashboard opens on them; the rest keep the dashboard's defaults.
    /// `given(id)` says whether the flag with clap id `id` was on the command line. Err names
    /// a flag the dashboard has no row for.
    /// `python` is the interpreter as the command line named it (`python3` for `--runtime
    /// python`), which the runtime row offers under that name.
    pub(crate) fn adopt(
        &mut self,
        request: &PlanRequest,
        python: Option<&Path>,
        given: &dyn Fn(&str) -> bool,
    ) -> Result<(), String> {
        if let Some(flag) = ["chunk", "start"].into_iter().find(|id| given(id)) {
            return Err(format!("the dashboard cannot set --{flag}; `concur-tui run` can"));
        }
        if given("model") {
            self.model = request.model;
        }
        if let Some(workers) = request.workers {
            self.workers = workers;
        }
        if given("tasks") {
            self.tasks = request.tasks;
        }
        if let (Runtime::Python(interpreter), Some(path)) = (&request.runtime, python) {
            self.runtime.choose_interpreter(path, interpreter.clone());
        }
        if let (Some(size), Some(slot)) = (request.size, self.size_slot(request.workload)) {
            *slot = size;
        }
        if given("affinity") {
            self.affinity = request.affinity.clone();
        }
        if let Some(switch_interval) = request.gil {
            self.lock = true;
            self.switch_interval = switch_interval;
        }
        if given("drain") {
            self.drain = request.drain;
        }
        if request.workload.user_code_flag().is_some() {
            // Its options name the code, not a variant.
            self.user_code = Some(UserCode {
                kind: request.workload,
                options: request.options.clone(),
                runtime: request.runtime.clone(),
            });
            return self.adopt_variant(&PlanRequest { options: Vec::new(), ..request.clone() }, given("schedule"));
        }
        self.adopt_variant(request, given("schedule"))
    }

    /// Selects the variant of the request's workload that sets every workload option given
    /// (and the schedule, when given); Err when no variant does.
    fn adopt_variant(&mut self, request: &PlanRequest, schedule_given: bool) -> Result<(), String> {
        let mut wanted: Vec<(String, String)> = request.options.clone();
        if schedule_given {
            let schedule = format!("{:?}", request.schedule).to_lowercase();
            wanted.push(("schedule".to_owned(), schedule));
        }
        if wanted.is_empty() {
            return Ok(());
        }
        let variants = request.workload.variants(self.model == Model::Processes);
        let sets_all = |variant: &Variant| {
            wanted.iter().all(|(flag, value)| variant.sets.iter().any(|(f, v)| f == flag && v == value))
        };
        if let (Some(index), Some(chosen)) =
            (variants.iter().position(sets_all), self.variants.get_mut(position(request.workload)))
        {
            *chosen = index;
            return Ok(());
        }
        let flags: Vec<String> = wanted.iter().map(|(flag, value)| format!("--{flag} {value}")).collect();
        Err(format!("the dashboard's variant row has no variant with {}; `concur-tui run` takes it", flags.join(" ")))
    }

    /// The plan request these settings make for `workload`. An interpreter that cannot be
    /// used gives a native request: every way of starting a run asks [`RuntimeRow::runtime`]
    /// first and refuses it.
    #[must_use]
    pub(crate) fn request(&self, workload: &'static dyn Kind) -> PlanRequest {
        let mut request = PlanRequest {
            runtime: self.runtime.runtime().unwrap_or_default(),
            workers: Some(if self.model == Model::Sequential { 1 } else { self.workers }),
            tasks: self.tasks,
            size: Some(self.size_of(workload)),
            affinity: self.affinity.clone(),
            gil: self.lock_applies().then_some(self.switch_interval),
            grace: self.grace,
            drain: self.drain,
            ..PlanRequest::new(workload, self.model)
        };
        let variant = self.variant_of(workload).map_or(&[][..], |variant| variant.sets);
        for (flag, value) in workload.watchable_options().iter().chain(variant) {
            request.set(flag, value);
        }
        if let Some(code) = self.user_code.as_ref().filter(|code| code.kind == workload) {
            // The interpreter that checked the code runs it, with its own GIL: the emulated
            // lock does not apply, whatever the runtime row says.
            request.gil = None;
            request.runtime = code.runtime.clone();
            for (flag, value) in &code.options {
                request.set(flag, value);
            }
        }
        request
    }
}

#[cfg(test)]
mod adopt_tests {
    use super::*;
    use crate::workload::by_name;

    fn contention() -> &'static dyn Kind {
        by_name("contention").expect("in the catalog")
    }

    #[test]
    fn takes_only_the_flags_given_and_picks_the_variant_that_sets_the_options() {
        let mut settings = Settings::new(2, Duration::from_secs(3));
        let mut request =
            PlanRequest { workers: Some(4), tasks: 8, ..PlanRequest::new(contention(), Model::Processes) };
        request.set("strategy", "atomic");
        settings.adopt(&request, None, &|id| id == "model").expect("contention has an atomic variant");
        assert_eq!(settings.model, Model::Processes);
        assert_eq!(settings.workers, 4);
        // `--tasks` was not given: the dashboard's own default stays.
        assert_eq!(settings.tasks, 16);
        assert_eq!(settings.variant_of(contention()).map(|variant| variant.label), Some("atomic"));
    }

    #[test]
    fn the_users_function_comes_first_and_every_run_of_it_is_pythons() {
        use crate::engine::plan::runtime::Interpreter;
        let python = Runtime::Python(Interpreter {
            path: "python3".into(),
            implementation: "CPython".to_owned(),
            version: (3, 11, 2),
            free_threaded: false,
            gil: true,
        });
        let function = crate::workload::user_code_in(&[("function".to_owned(), String::new())]).expect("an entry");
        let mut settings = Settings::new(2, Duration::from_secs(3));
        assert!(settings.catalog().all(|kind| kind.user_code_flag().is_none()), "listed only when named");
        settings.lock = true;
        let request = PlanRequest { runtime: python.clone(), ..PlanRequest::new(function, Model::Threads) }
            .with_option("function", "work.py:crunch");
        settings.adopt(&request, None, &|id| id == "function").expect("no variant needed");
        assert_eq!(settings.catalog().next().map(Kind::name), Some(function.name()));
        let asked = settings.request(function);
        assert_eq!((asked.runtime, asked.gil), (python, None));
        assert_eq!(asked.options, vec![("function".to_owned(), "work.py:crunch".to_owned())]);
        let cpu = by_name("cpu").expect("cpu");
        assert_eq!(settings.request(cpu).runtime, Runtime::Native, "the other entries keep their runtime");
    }

    #[test]
    fn refuses_a_flag_the_dashboard_has_no_row_for() {
        let mut settings = Settings::new(2, Duration::from_secs(3));
        let request = PlanRequest::new(contention(), Model::Threads);
        let refusal = settings.adopt(&request, None, &|id| id == "chunk").expect_err("no chunk row");
        assert!(refusal.contains("--chunk"), "{refusal}");
    }
}
