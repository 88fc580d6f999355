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
pub(crate) mod verdict;

use std::time::Duration;

use crate::engine::affinity::Affinity;
use crate::engine::plan::runtime::{interpreters_on_path, Interpreter, Runtime};
use crate::engine::plan::DEFAULT_SWITCH_INTERVAL;
use crate::engine::{Model, PlanRequest, Schedule};
use crate::workload::by_name;

pub(crate) use course::Course;
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

use Figure::{IdleShare, LostUpdates, PssPerWorker, RequestsPerSecond, RoundTrip, Speedup, StartUp, Survivors};
use Model::{Processes, Sequential, Threads};

const BASELINE: RunSpec = RunSpec::new("one worker", Sequential, 1);

/// Every experiment, in the order the dashboard lists them.
pub(crate) static EXPERIMENTS: &[Experiment] = &[
    Experiment {
        name: "cpu-bound",
        title: "CPU-bound work: threads under the lock against processes",
        claim: "CPU-bound threads under the interpreter lock take as long as one worker, since only the \
                thread holding the lock computes; processes each have a lock of their own and share the work.",
        watch: "On the timeline (t), the two threads under the lock take turns every 5 ms, one lane \
                lock-waiting while the other runs; the two processes run side by side.",
        workload: "cpu",
        size: 100_000_000,
        tasks: 8,
        rounds: 3,
        runs: &[BASELINE, RunSpec::new("lock", Threads, 2).with_lock(), RunSpec::new("processes", Processes, 2)],
        expects: &[
            Expect::AtMost { run: 1, figure: Speedup, holds: 1.25, fails: 1.5 },
            Expect::AtLeast { run: 2, figure: Speedup, holds: 1.5, fails: 1.2 },
        ],
        shown: &[],
        min_cpus: 2,
        because: "The lock lets one thread of a process compute at a time; each process has its own lock.",
        otherwise: "On this machine the lock did not keep the threads to one at a time, or the processes did \
                    not share the work.",
        python: None,
    },
    Experiment {
        name: "io-bound",
        title: "I/O-bound work: threads overlap their waits, lock or not",
        claim: "Threads are fine for I/O-bound work: their waits overlap, with the interpreter lock too, since \
                a waiting thread holds no lock.",
        watch: "On the timeline (t), every lane is blocked at once: eight waits of 200 ms overlap.",
        workload: "io",
        size: 200,
        tasks: 8,
        rounds: 2,
        runs: &[BASELINE, RunSpec::new("threads", Threads, 8), RunSpec::new("lock", Threads, 8).with_lock()],
        expects: &[
            Expect::AtLeast { run: 1, figure: Speedup, holds: 4.0, fails: 2.0 },
            Expect::AtLeast { run: 2, figure: Speedup, holds: 4.0, fails: 2.0 },
        ],
        shown: &[],
        min_cpus: 1,
        because: "A thread that waits releases the lock, so eight waits take about as long as one.",
        otherwise: "On this machine the waits did not overlap as they should.",
        python: None,
    },
    Experiment {
        name: "startup-memory",
        title: "Processes cost start-up and memory",
        claim: "A process costs more to start than a thread, and more memory: each worker process pays for \
                its own pages, and copies the ones it inherited and writes.",
        watch: "In the results, the start-up and peak mem columns; on the timeline (t), the processes' \
                lanes begin later.",
        workload: "memory",
        size: 32,
        tasks: 2,
        rounds: 2,
        runs: &[RunSpec::new("threads", Threads, 2), RunSpec::new("processes", Processes, 2)],
        expects: &[
            Expect::Ratio { a: 1, b: 0, figure: StartUp, holds: 1.2, fails: 1.0 },
            Expect::Ratio { a: 1, b: 0, figure: PssPerWorker, holds: 1.3, fails: 1.05 },
        ],
        shown: &[],
        min_cpus: 1,
        because: "A thread is a stack in the process that exists; a process is a new address space, and a \
                  page it writes that it inherited becomes its own copy.",
        otherwise: "On this machine processes did not cost more than threads in start-up or memory.",
        python: None,
    },
    Experiment {
        name: "crash",
        title: "A crash stays in its process, but takes a thread's process down",
        claim: "When a worker dies of a segfault, a process dies alone and the others finish; a thread takes \
                its whole process down, every other thread with it.",
        watch: "In the workers panel, one process ends crashed (SIGSEGV) and the other done; every thread \
                ends crashed at the same instant.",
        workload: "crash",
        size: 20_000_000,
        tasks: 8,
        rounds: 1,
        runs: &[
            RunSpec::new("processes", Processes, 2).options(&[("crash", "segv")]),
            RunSpec::new("threads", Threads, 2).options(&[("crash", "segv")]),
        ],
        expects: &[
            Expect::AtLeast { run: 0, figure: Survivors, holds: 1.0, fails: 1.0 },
            Expect::AtMost { run: 1, figure: Survivors, holds: 0.0, fails: 0.0 },
        ],
        shown: &[],
        min_cpus: 1,
        because: "A segfault kills a process, and every thread lives in one.",
        otherwise: "On this machine a crash did not stay in its process, or a thread's crash spared the others.",
        python: None,
    },
    Experiment {
        name: "lost-updates",
        title: "Shared counters lose updates without a lock",
        claim: "Workers that add to one shared counter with a load and a store lose updates as soon as they \
                overlap; with a lock around the update they lose none.",
        watch: "In the results, the racy row is marked ✗ with the updates it lost, and never starred.",
        workload: "contention",
        size: 2_000_000,
        tasks: 8,
        rounds: 1,
        runs: &[
            RunSpec::new("racy", Threads, 2).options(&[("strategy", "racy")]),
            RunSpec::new("mutex", Threads, 2).options(&[("strategy", "mutex")]),
        ],
        expects: &[
            Expect::AtLeast { run: 0, figure: LostUpdates, holds: 1.0, fails: 1.0 },
            Expect::AtMost { run: 1, figure: LostUpdates, holds: 0.0, fails: 0.0 },
        ],
        shown: &[],
        min_cpus: 2,
        because: "Between one worker's load and its store, another's update is overwritten; the lock makes \
                  them take turns.",
        otherwise: "On this machine the racy workers did not overlap, or the lock did not protect the count.",
        python: None,
    },
    Experiment {
        name: "convoy",
        title: "Do threads keep a program responsive? (the convoy)",
        claim: "A thread that answers requests stays responsive beside threads that compute, unless they \
                share the interpreter lock: then it waits for the lock after every read (the convoy).",
        watch: "On the timeline (t), worker 0's lane under the lock is mostly lock wait: after each read it \
                waits a switch interval for the computing thread to hand the lock over.",
        workload: "latency",
        size: 250,
        tasks: 4,
        rounds: 2,
        runs: &[RunSpec::new("threads", Threads, 2), RunSpec::new("lock", Threads, 2).with_lock()],
        expects: &[Expect::Ratio { a: 0, b: 1, figure: RequestsPerSecond, holds: 10.0, fails: 2.0 }],
        shown: &[],
        min_cpus: 2,
        because: "Under the lock the answering thread gets it back only when the computing thread hands it \
                  over, once a switch interval.",
        otherwise: "On this machine the lock did not starve the answering thread.",
        python: None,
    },
    Experiment {
        name: "pinning",
        title: "Pinning every worker to one core",
        claim: "Pinned to one core, two CPU-bound workers take turns on it and take as long as one worker; \
                unpinned, they run side by side.",
        watch: "On the timeline's CPU lanes (t twice), the pinned run uses cpu0 alone, its two workers \
                alternating; the unpinned one fills both CPUs.",
        workload: "cpu",
        size: 100_000_000,
        tasks: 8,
        rounds: 3,
        runs: &[BASELINE, RunSpec::new("unpinned", Threads, 2), RunSpec::new("one CPU", Threads, 2).on_one_cpu()],
        expects: &[
            Expect::AtLeast { run: 1, figure: Speedup, holds: 1.5, fails: 1.2 },
            Expect::AtMost { run: 2, figure: Speedup, holds: 1.25, fails: 1.5 },
        ],
        shown: &[],
        min_cpus: 2,
        because: "One core runs one worker at a time, whatever the number of workers.",
        otherwise: "On this machine pinning did not make the workers take turns, or unpinned they did not \
                    share the work.",
        python: None,
    },
    Experiment {
        name: "scheduling",
        title: "Static against dynamic scheduling",
        claim: "With tasks of skewed sizes, a static split leaves a worker idle while another finishes the \
                heavy ones; taking tasks one at a time from a shared counter, as a pool does, balances them.",
        watch: "On the timeline (t), the static run's one lane goes idle long before the other; the dynamic \
                run's lanes end together.",
        workload: "imbalance",
        size: 8_000_000,
        tasks: 16,
        rounds: 3,
        runs: &[BASELINE, RunSpec::new("static", Threads, 2), RunSpec::new("dynamic", Threads, 2).dynamic()],
        expects: &[
            Expect::Ratio { a: 1, b: 2, figure: IdleShare, holds: 2.0, fails: 1.0 },
            Expect::Ratio { a: 2, b: 1, figure: Speedup, holds: 1.1, fails: 0.98 },
        ],
        shown: &[],
        min_cpus: 2,
        because: "A static split fixes each worker's tasks before anyone knows their sizes; a shared counter \
                  gives the next task to whoever is free.",
        otherwise: "On this machine the dynamic schedule did not balance the load better than the static split.",
        python: None,
    },
    Experiment {
        name: "talking",
        title: "What talking between workers costs",
        claim: "Talking costs more between processes than between threads: every message between processes \
                crosses the kernel, unless they share memory.",
        watch: "In the results, the figure column's p50 round trip; on the timeline (t), the workers are \
                blocked in each exchange.",
        workload: "ipc",
        size: 5_000,
        tasks: 4,
        rounds: 2,
        runs: &[
            RunSpec::new("channel", Threads, 2).options(&[("transport", "channel")]),
            RunSpec::new("pipe", Processes, 2).options(&[("transport", "pipe")]),
            RunSpec::new("shm", Processes, 2).options(&[("transport", "shm")]),
        ],
        expects: &[Expect::Ratio { a: 1, b: 0, figure: RoundTrip, holds: 1.5, fails: 1.1 }],
        shown: &[(2, RoundTrip)],
        min_cpus: 1,
        because: "A pipe's message is copied into the kernel and out again, and wakes the other side there.",
        otherwise: "A channel to a thread that sleeps also wakes it through the kernel (a futex), so it costs \
                    about what a pipe does; what makes talking cheap is shared memory (shm).",
        python: None,
    },
    Experiment {
        name: "python-cpu-bound",
        title: "CPython: CPU-bound threads under the GIL against processes",
        claim: "On CPython itself, two threads of CPU-bound Python take as long as one, since only the \
                thread holding the GIL runs Python code; two processes, each with its own interpreter and \
                GIL, share the work.",
        watch: "On the timeline (t), the two CPython threads take turns every 5 ms: one lane in lock wait \
                (the GIL, as the kernel saw the thread leave its CPU) while the other runs.",
        workload: "cpu",
        size: 3_000_000,
        tasks: 8,
        rounds: 2,
        runs: &[BASELINE, RunSpec::new("threads", Threads, 2), RunSpec::new("processes", Processes, 2)],
        expects: &[
            Expect::AtMost { run: 1, figure: Speedup, holds: 1.25, fails: 1.5 },
            Expect::AtLeast { run: 2, figure: Speedup, holds: 1.5, fails: 1.2 },
        ],
        shown: &[],
        min_cpus: 2,
        because: "CPython's GIL lets one thread of a process run Python code at a time; each process has its \
                  own.",
        otherwise: "On this interpreter the threads were not held to one at a time, or the processes did not \
                    share the work.",
        python: Some(PythonNeed::WithGil),
    },
    Experiment {
        name: "python-io-bound",
        title: "CPython: I/O-bound threads overlap their waits",
        claim: "On CPython itself, threads are fine for I/O: `time.sleep` releases the GIL, so eight threads \
                wait at once.",
        watch: "On the timeline (t), every lane is blocked at once.",
        workload: "io",
        size: 200,
        tasks: 8,
        rounds: 2,
        runs: &[BASELINE, RunSpec::new("threads", Threads, 8)],
        expects: &[Expect::AtLeast { run: 1, figure: Speedup, holds: 4.0, fails: 2.0 }],
        shown: &[],
        min_cpus: 1,
        because: "A Python thread releases the GIL while it waits, so eight waits take about as long as one.",
        otherwise: "On this interpreter the waits did not overlap as they should.",
        python: Some(PythonNeed::WithGil),
    },
    Experiment {
        name: "free-threaded",
        title: "A free-threaded CPython: CPU-bound threads share the work",
        claim: "Without the GIL (a free-threaded build, python3.13t), two threads of CPU-bound Python share \
                the work as processes do: the GIL, not threads, was the limit.",
        watch: "On the timeline (t), both threads run side by side, with no lock wait between turns.",
        workload: "cpu",
        size: 3_000_000,
        tasks: 8,
        rounds: 2,
        runs: &[BASELINE, RunSpec::new("threads", Threads, 2)],
        expects: &[Expect::AtLeast { run: 1, figure: Speedup, holds: 1.5, fails: 1.2 }],
        shown: &[],
        min_cpus: 2,
        because: "With the GIL off, each thread runs Python code on its own CPU.",
        otherwise: "On this machine the free-threaded build's threads did not share the work.",
        python: Some(PythonNeed::FreeThreaded),
    },
];

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
        let spec = RunSpec::new("x", Threads, 2).with_lock().on_one_cpu().dynamic().options(&[("strategy", "racy")]);
        assert_eq!(spec.label(), "threads × 2 with the lock on one CPU (racy, dynamic)");
        assert_eq!(BASELINE.label(), "sequential × 1");
    }
}
