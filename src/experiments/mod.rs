//! The experiments: one entry per claim of the articles, as data. Each names the claim in plain
//! words, the runs that test it (the sequential baseline first where the claim is measured
//! against one), what to watch on the timeline while they run, and the expectations that decide
//! it, each in the claim's own measure (lost updates, requests a second, PSS a worker, start-up
//! time, idle share, round-trip time, speedup). [`course`] runs an experiment's requests in
//! order and keeps what they reported; [`verdict`] judges the finished reports, as a pure
//! function. The dashboard (its experiments list) and `concur-tui experiments` share all three;
//! neither starts a run here: they hand the requests to the engine and the reports back.
//!
//! Adding an experiment is one more entry of [`EXPERIMENTS`]; a run of another kind (another
//! runtime) is one more field of [`RunSpec`] carried into its request.

pub(crate) mod course;
mod list;
pub(crate) mod verdict;

use std::time::Duration;

use crate::engine::affinity::Affinity;
use crate::engine::plan::runtime::{interpreters_on_path, Interpreter, Runtime};
use crate::engine::plan::DEFAULT_SWITCH_INTERVAL;
use crate::engine::{Model, PlanRequest, Schedule};
use crate::workload::by_name;

pub(crate) use course::Course;
#[cfg(test)]
use list::BASELINE;
pub(crate) use list::EXPERIMENTS;
pub(crate) use verdict::{judge, Outcome, Verdict};

/// One claim of the articles and the runs that test it on this machine.
#[derive(Debug, PartialEq)]
pub(crate) struct Experiment {
    /// What `concur-tui experiments NAME` takes: `cpu-bound`.
    pub name: &'static str,
    /// The claim in a few words, for the list and the table's claim column.
    pub title: &'static str,
    /// The claim in plain words, as a newcomer reads it.
    pub claim: &'static str,
    /// What to look at on the timeline (`t`) while it runs.
    pub watch: &'static str,
    /// The catalog's workload every run of it runs, at this size and this many tasks.
    pub workload: &'static str,
    pub size: u64,
    pub tasks: u64,
    /// How often every run is repeated, in turn: more than one shows the spread.
    pub rounds: usize,
    pub runs: &'static [RunSpec],
    /// What must be seen for the claim to hold; every one must.
    pub expects: &'static [Expect],
    /// Figures said beside the verdict, which do not decide it: run and figure.
    pub shown: &'static [(usize, Figure)],
    /// Fewer CPUs than this and the runs cannot show the claim: the verdict can't tell.
    pub min_cpus: usize,
    /// Why it holds, said after the figures when it does.
    pub because: &'static str,
    /// What it means when it does not hold here.
    pub otherwise: &'static str,
    /// The interpreter its runs need, when they are CPython's: every run of it is then Python's,
    /// at the twin's size.
    pub python: Option<PythonNeed>,
}

/// Which CPython an experiment's runs need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PythonNeed {
    /// The machine's `python3`, with its GIL.
    WithGil,
    /// A free-threaded build with its GIL off (`python3.13t`), found on PATH.
    FreeThreaded,
}

/// The interpreters this machine offers the experiments: the one with a GIL (`python3`) and a
/// free-threaded one, where found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Pythons {
    pub with_gil: Option<Interpreter>,
    pub free_threaded: Option<Interpreter>,
}

impl Pythons {
    /// From interpreters already asked what they are (the dashboard's runtime row): `python3`'s
    /// kind first.
    #[must_use]
    pub(crate) fn among<'a>(found: impl IntoIterator<Item = &'a Interpreter>) -> Self {
        let mut pythons = Self::default();
        for interpreter in found {
            if interpreter.gil && pythons.with_gil.is_none() {
                pythons.with_gil = Some(interpreter.clone());
            }
            if interpreter.free_threaded && !interpreter.gil && pythons.free_threaded.is_none() {
                pythons.free_threaded = Some(interpreter.clone());
            }
        }
        pythons
    }

    /// Asks the interpreters on PATH what they are: for `concur-tui experiments`, once.
    #[must_use]
    pub(crate) fn on_path() -> Self {
        let found: Vec<Interpreter> =
            interpreters_on_path().iter().filter_map(|path| Interpreter::probe(path).ok()).collect();
        Self::among(&found)
    }

    /// The interpreter `need` asks for, or why there is none.
    pub(crate) fn for_need(&self, need: PythonNeed) -> Result<&Interpreter, String> {
        match need {
            PythonNeed::WithGil => self.with_gil.as_ref().ok_or_else(|| "no python3 with a GIL on PATH".to_owned()),
            PythonNeed::FreeThreaded => self.free_threaded.as_ref().ok_or_else(|| {
                "no free-threaded interpreter (python3.13t, GIL off) on PATH: build or install one to run it".to_owned()
            }),
        }
    }
}

/// One configuration of an experiment: the model, its workers and what else differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RunSpec {
    /// A word or two for the table's figure cell: `lock`, `racy`.
    pub short: &'static str,
    pub model: Model,
    pub workers: usize,
    /// The emulated interpreter lock, at CPython's switch interval.
    pub gil: bool,
    /// Every worker on the first allowed CPU.
    pub one_cpu: bool,
    pub schedule: Schedule,
    /// The workload's own options, as its flags (`strategy`, `racy`).
    pub options: &'static [(&'static str, &'static str)],
}

impl RunSpec {
    const fn new(short: &'static str, model: Model, workers: usize) -> Self {
        Self { short, model, workers, gil: false, one_cpu: false, schedule: Schedule::Static, options: &[] }
    }

    const fn with_lock(self) -> Self {
        Self { gil: true, ..self }
    }

    const fn on_one_cpu(self) -> Self {
        Self { one_cpu: true, ..self }
    }

    const fn dynamic(self) -> Self {
        Self { schedule: Schedule::Dynamic, ..self }
    }

    const fn options(self, options: &'static [(&'static str, &'static str)]) -> Self {
        Self { options, ..self }
    }

    /// `threads × 2 with the lock (racy)`: every setting that tells it apart.
    #[must_use]
    pub(crate) fn label(&self) -> String {
        let mut words = vec![format!("{} × {}", self.model, self.workers)];
        if self.gil {
            words.push("with the lock".to_owned());
        }
        if self.one_cpu {
            words.push("on one CPU".to_owned());
        }
        let mut variant: Vec<&str> = self.options.iter().map(|(_, value)| *value).collect();
        if self.schedule == Schedule::Dynamic {
            variant.push("dynamic");
        }
        if !variant.is_empty() {
            words.push(format!("({})", variant.join(", ")));
        }
        words.join(" ")
    }
}

/// A figure of one run, in the claim's own measure, read from its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Figure {
    /// The experiment's first run's wall time over this run's (its baseline: run 0).
    Speedup,
    /// Updates of the shared counter that were lost (contention's `lost_updates`).
    LostUpdates,
    /// Requests the answering worker answered a second (latency's `requests_per_second`).
    RequestsPerSecond,
    /// The median round trip, in microseconds (ipc's `p50_us`).
    RoundTrip,
    /// Proportional set size a worker (memory's `pss_bytes` over the workers).
    PssPerWorker,
    /// The median time from asking for a worker to its first instruction.
    StartUp,
    /// The share of the workers' time spent outside tasks, 0 to 1.
    IdleShare,
    /// Workers that did all their tasks.
    Survivors,
}

impl Figure {
    /// True when the figure depends on how the machine shared its CPUs over the run: a busy
    /// machine or a wide spread make it doubtful.
    #[must_use]
    pub(crate) fn timed(self) -> bool {
        !matches!(self, Self::LostUpdates | Self::Survivors | Self::PssPerWorker)
    }
}

/// What must be seen for the claim to hold. Between `holds` and `fails`, the verdict can't tell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Expect {
    /// Run `run`'s figure is at least `holds`; below `fails` the claim does not hold.
    AtLeast { run: usize, figure: Figure, holds: f64, fails: f64 },
    /// Run `run`'s figure is at most `holds`; above `fails` the claim does not hold.
    AtMost { run: usize, figure: Figure, holds: f64, fails: f64 },
    /// Run `a`'s figure is at least `holds` times run `b`'s; below `fails` times it does not hold.
    Ratio { a: usize, b: usize, figure: Figure, holds: f64, fails: f64 },
}

impl Expect {
    /// The figure it reads.
    #[must_use]
    pub(crate) fn figure(&self) -> Figure {
        match *self {
            Self::AtLeast { figure, .. } | Self::AtMost { figure, .. } | Self::Ratio { figure, .. } => figure,
        }
    }

    /// The runs it reads, in the order it names them.
    #[must_use]
    pub(crate) fn runs(&self) -> Vec<usize> {
        match *self {
            Self::AtLeast { run, .. } | Self::AtMost { run, .. } => vec![run],
            Self::Ratio { a, b, .. } => vec![a, b],
        }
    }
}

/// The experiment called `name`.
#[must_use]
pub(crate) fn by_experiment_name(name: &str) -> Option<&'static Experiment> {
    EXPERIMENTS.iter().find(|experiment| experiment.name == name)
}

impl Experiment {
    /// The request of run `index`: the experiment's workload, size and tasks, the run's model,
    /// workers, lock, pinning, schedule and options; None past the last run or for a workload
    /// the catalog does not have.
    #[must_use]
    pub(crate) fn request(&self, index: usize, grace: Duration, pythons: &Pythons) -> Option<PlanRequest> {
        let spec = self.runs.get(index)?;
        let runtime = match self.python {
            None => Runtime::Native,
            Some(need) => Runtime::Python(pythons.for_need(need).ok()?.clone()),
        };
        let mut request = PlanRequest {
            workers: Some(spec.workers),
            tasks: self.tasks,
            size: Some(self.size),
            affinity: if spec.one_cpu { Affinity::Single } else { Affinity::None },
            gil: spec.gil.then_some(DEFAULT_SWITCH_INTERVAL),
            schedule: spec.schedule,
            grace,
            runtime,
            ..PlanRequest::new(by_name(self.workload)?, spec.model)
        };
        for (flag, value) in spec.options {
            request.set(flag, value);
        }
        Some(request)
    }

    /// Why it cannot run with `pythons`: the interpreter it needs is not there.
    pub(crate) fn missing(&self, pythons: &Pythons) -> Option<String> {
        self.python.and_then(|need| pythons.for_need(need).err())
    }

    /// How many runs it makes: every configuration, every round.
    #[must_use]
    pub(crate) fn total_runs(&self) -> usize {
        self.runs.len() * self.rounds.max(1)
    }

    /// `sequential × 1, threads × 2 with the lock, processes × 2`, with the rounds.
    #[must_use]
    pub(crate) fn runs_text(&self) -> String {
        let labels: Vec<String> = self.runs.iter().map(RunSpec::label).collect();
        if self.rounds > 1 {
            format!("{}; {} rounds", labels.join(", "), self.rounds)
        } else {
            labels.join(", ")
        }
    }
}

/// An experiment that was run, as far as it went, and its verdict once every run reported.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Judged {
    pub course: Course,
    pub verdict: Option<Verdict>,
    /// Why it has no verdict when a run could not start.
    pub unrun: Option<String>,
}

/// A CPython with its GIL and a free-threaded one, as the runtime row would have found them.
#[cfg(test)]
pub(crate) fn python_pythons() -> Pythons {
    let cpython = |free_threaded: bool| Interpreter {
        path: "python3".into(),
        implementation: "CPython".to_owned(),
        version: (3, 13, 5),
        free_threaded,
        gil: !free_threaded,
    };
    Pythons::among(&[cpython(false), cpython(true)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_experiment_on_cpython_says_which_interpreter_it_lacks() {
        let free = by_experiment_name("free-threaded").expect("listed");
        let only_gil = Pythons::among(&python_pythons().with_gil.into_iter().collect::<Vec<_>>());
        let missing = free.missing(&only_gil).expect("no free-threaded build");
        assert!(missing.contains("free-threaded"), "{missing}");
        assert!(free.request(1, Duration::from_secs(1), &only_gil).is_none());
        let request = free.request(1, Duration::from_secs(1), &python_pythons()).expect("a request");
        assert!(request.runtime.interpreter().is_some_and(|python| !python.gil));
        assert_eq!(by_experiment_name("cpu-bound").and_then(|e| e.missing(&Pythons::default())), None);
    }

    #[test]
    fn every_experiment_makes_requests_that_validate() {
        for experiment in EXPERIMENTS {
            assert_eq!(by_experiment_name(experiment.name).map(|e| e.name), Some(experiment.name));
            assert!(experiment.rounds >= 1 && !experiment.runs.is_empty(), "{}", experiment.name);
            for index in 0..experiment.runs.len() {
                let request =
                    experiment.request(index, Duration::from_secs(1), &python_pythons()).expect("a catalog workload");
                request
                    .validate_with(&[0, 1])
                    .unwrap_or_else(|error| panic!("{} run {index}: {error}", experiment.name));
            }
            for expect in experiment.expects {
                assert!(expect.runs().iter().all(|run| *run < experiment.runs.len()), "{}", experiment.name);
                if expect.figure() == Figure::Speedup {
                    assert_eq!(
                        experiment.runs[0].model,
                        Model::Sequential,
                        "{}: speedup needs a baseline",
                        experiment.name
                    );
                }
            }
        }
    }

    #[test]
    fn labels_name_every_setting_that_differs() {
        let spec =
            RunSpec::new("x", Model::Threads, 2).with_lock().on_one_cpu().dynamic().options(&[("strategy", "racy")]);
        assert_eq!(spec.label(), "threads × 2 with the lock on one CPU (racy, dynamic)");
        assert_eq!(BASELINE.label(), "sequential × 1");
    }
}
