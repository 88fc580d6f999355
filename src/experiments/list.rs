//! The experiments themselves, as data: each claim of the articles, the runs that test it and
//! the bounds that decide it. Adding one is one more entry here.

use super::{Expect, Experiment, Figure, PythonNeed, RunSpec};
use crate::engine::Model;

use Figure::{IdleShare, LostUpdates, PssPerWorker, RequestsPerSecond, RoundTrip, Speedup, StartUp, Survivors};
use Model::{Processes, Sequential, Threads};

pub(super) const BASELINE: RunSpec = RunSpec::new("one worker", Sequential, 1);

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
