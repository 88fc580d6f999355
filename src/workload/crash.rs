//! `crash`: worker `--crash-worker` fails on its `--crash-at`-th task in the way `--crash`
//! names; every other task is a short CPU task. Also the crash primitives the engine uses for
//! the dashboard's `x`.

use std::sync::atomic::Ordering;

use super::cpu::{expected_sum_of_squares, sum_range};
use super::choice::choice;
use super::kind::{Kind, OptionError, OptionSpec, Options, PythonTwin, Setup, Shape, SizeSpec, Values, Variant};
use super::task::{Hooks, Metrics, RunCells, TaskEnd, Workload};
use super::Choice;

choice! {
    /// How the chosen worker fails.
    pub(super) enum CrashKind {
        "A Rust panic: caught in a thread; in a process, that process alone ends." Panic = "panic",
        "`abort()`: SIGABRT, fatal to the whole process." Abort = "abort",
        "SIGSEGV, as an invalid memory access raises it: fatal to the whole process." Segv = "segv",
        "`_exit(3)`: ends the whole process with a non-zero status." Exit = "exit",
    }
}

impl CrashKind {
    /// True when this crash takes down the whole process, threads and all.
    #[must_use]
    pub(super) fn kills_the_process(self) -> bool {
        !matches!(self, Self::Panic)
    }
}

/// The exit status of a worker that crashes with [`CrashKind::Exit`].
pub(super) const CRASH_EXIT_CODE: i32 = 3;

/// The catalog entry.
pub(super) struct Crash;

impl Kind for Crash {
    fn name(&self) -> &'static str {
        "crash"
    }

    fn summary(&self) -> &'static str {
        "one worker crashes: a process dies alone, a thread's abort takes its group down"
    }

    fn explanation(&self) -> &'static str {
        "One worker crashes on a chosen task. A crashed process dies alone and the others \
         finish; a panicking thread is caught, but an abort or a segfault takes its whole \
         process down, so thread groups run in a host process here."
    }

    fn checksum_checks_result(&self) -> bool {
        true
    }

    fn size(&self) -> SizeSpec {
        SizeSpec {
            unit: "integers per task",
            short_unit: "ints",
            default: 20_000_000,
            watchable: 1_500_000_000,
            // At most about an hour a task (reference machine).
            max: Some(10_000_000_000_000),
            in_millions: true,
        }
    }

    fn options(&self) -> &'static [OptionSpec] {
        &[
            OptionSpec {
                flag: "crash",
                help: "crash: how the chosen worker fails: panic, abort, segv or exit",
                values: Values::Choice(CrashKind::NAMES),
                default: Some("panic"),
            },
            OptionSpec {
                flag: "crash-worker",
                help: "crash: which worker fails [default: 0]",
                values: Values::Number { from: 0 },
                default: Some("0"),
            },
            OptionSpec {
                flag: "crash-at",
                help: "crash: on its how-many-th task, from 1 [default: 2]",
                values: Values::Number { from: 0 },
                default: Some("2"),
            },
        ]
    }

    fn check(&self, options: &mut Options, shape: &Shape) -> Result<(), OptionError> {
        let worker = options.number("crash-worker");
        if worker >= shape.workers as u64 {
            return Err(OptionError::Refused(format!(
                "--crash-worker {worker} is not a worker of this run (workers are 0 to {})",
                shape.workers - 1
            )));
        }
        if options.number("crash-at") == 0 {
            return Err(OptionError::Refused("--crash-at counts tasks from 1".to_owned()));
        }
        Ok(())
    }

    fn variants(&self, _processes: bool) -> &'static [Variant] {
        &[
            Variant { label: "panic (worker 0)", sets: &[("crash", "panic")] },
            Variant { label: "abort (worker 0)", sets: &[("crash", "abort")] },
            Variant { label: "segv (worker 0)", sets: &[("crash", "segv")] },
            Variant { label: "exit (worker 0)", sets: &[("crash", "exit")] },
        ]
    }

    fn may_kill_its_process(&self, options: &Options) -> bool {
        options.choice::<CrashKind>("crash").kills_the_process()
    }

    fn build(&self, setup: &Setup) -> Box<dyn Workload> {
        Box::new(Crashing {
            size: setup.size,
            kind: setup.options.choice("crash"),
            worker: usize::try_from(setup.options.number("crash-worker")).unwrap_or(0),
            at: setup.options.number("crash-at"),
        })
    }

    fn python(&self) -> Option<PythonTwin> {
        Some(PythonTwin {
            source: PYTHON_TWIN,
            // cpu's twin's tasks: about 50 ms a task by default on one core (CPython 3.11).
            size: SizeSpec {
                unit: "integers per task",
                short_unit: "ints",
                default: 1_000_000,
                watchable: 6_000_000,
                max: Some(100_000_000_000),
                in_millions: true,
            },
            on_event_loop: false,
        })
    }
}

/// The Python twin: cpu's twin's sum of squares (the same digests), and on the chosen worker's
/// chosen task the crash in Python's terms: `panic` an exception (its worker ends failed, the
/// others go on), `abort` `os.abort()`, `segv` a real SIGSEGV to the crashing thread with its
/// default action restored, `exit` `os._exit(3)`. The last three end the whole process: in a
/// thread, the host and every thread in it; in a worker process, that process alone.
const PYTHON_TWIN: &str = r#"
import faulthandler
import os
import signal
import threading

MASK = (1 << 64) - 1
CHUNK = 1 << 16
EXIT_CODE = 3


def task(index, size, options, h):
    if h.index == int(options["crash-worker"]):
        tasks_done, marked = h.cell("slot.tasks_done"), h.cell("slot.own_counter")
        if tasks_done.value + 1 == int(options["crash-at"]) and marked.value == 0:
            marked.value = 1
            crash(options["crash"], h.index, tasks_done.value + 1)
    start, total, done = index * size, 0, 0
    while done < size:
        low = start + done
        step = min(CHUNK, size - done)
        total = (total + sum(i * i for i in range(low, low + step))) & MASK
        done += step
        if not h.checkpoint(done):
            return None
    return total


def crash(kind, worker, task):
    if kind == "abort":
        os.abort()
    if kind == "segv":
        # The default action: faulthandler's handler off, if it was on; only the main thread
        # may call signal.signal, and no other Python code sets a handler for SIGSEGV.
        faulthandler.disable()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGSEGV, signal.SIG_DFL)
        # To this thread, as raise(3) does: delivered before the call returns, as a fault is.
        signal.pthread_kill(threading.get_ident(), signal.SIGSEGV)
    if kind == "exit":
        os._exit(EXIT_CODE)
    raise RuntimeError("worker {} raised on its task {}, as asked".format(worker, task))
"#;

/// The workload: short CPU tasks, one of which crashes its worker.
pub(super) struct Crashing {
    pub size: u64,
    pub kind: CrashKind,
    pub worker: usize,
    /// 1-based: the worker's n-th task fails.
    pub at: u64,
}

/// What a crash run shows: how many workers crashed, or were replaced.
#[derive(Debug)]
struct Figures {
    crashed: usize,
    replaced: Option<usize>,
}

impl Metrics for Figures {
    fn headline(&self) -> Option<String> {
        Some(match self.replaced {
            Some(replaced) => format!("{replaced} replaced"),
            None => format!("{} crashed", self.crashed),
        })
    }

    /// `replaced_workers` is the engine's: it knows whom it replaced.
    fn json(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::Map::new()
    }
}

impl Workload for Crashing {
    fn units_for(&self, _task: u64) -> u64 {
        self.size
    }

    fn run_task(&self, task: u64, hooks: &mut dyn Hooks) -> TaskEnd {
        let cells = hooks.cells();
        // The slot's own counter marks that the crash happened, so that a replacement worker
        // (--respawn) redoes the task instead of crashing again.
        if cells.worker == self.worker
            && cells.tasks_done + 1 == self.at
            && cells.own_counter.load(Ordering::Relaxed) == 0
        {
            cells.own_counter.store(1, Ordering::Relaxed);
            crash(self.kind, self.worker, self.at);
        }
        sum_range(task.wrapping_mul(self.size), self.size, hooks)
    }

    fn expected_checksum(&self, tasks: u64) -> Option<u64> {
        expected_sum_of_squares(tasks.checked_mul(self.size)?)
    }

    fn metrics(&self, run: &RunCells) -> Box<dyn Metrics> {
        let replaced = (run.replaced_workers > 0).then_some(run.replaced_workers);
        Box::new(Figures { crashed: run.failed_workers, replaced })
    }
}

/// Fails the calling worker for real, the way `kind` says.
pub(super) fn crash(kind: CrashKind, worker: usize, task: u64) {
    match kind {
        CrashKind::Panic => panic!("worker {worker} panicked on its task {task}, as asked"),
        CrashKind::Abort => {
            // SAFETY: abort takes no arguments and never returns.
            unsafe { libc::abort() }
        }
        CrashKind::Segv => segfault(),
        CrashKind::Exit => {
            // SAFETY: _exit ends the process at once, which is the point.
            unsafe { libc::_exit(CRASH_EXIT_CODE) }
        }
    }
}

/// A genuine SIGSEGV, as the kernel delivers it for an invalid memory access: the same wait
/// status, without the undefined behaviour of making one. The default action is restored
/// first: Rust's runtime handles SIGSEGV to report stack overflows, and would return from a
/// raised one.
pub(crate) fn segfault() {
    // SAFETY: signal and raise take plain integers; SIGSEGV's default action ends the process.
    unsafe {
        libc::signal(libc::SIGSEGV, libc::SIG_DFL);
        libc::raise(libc::SIGSEGV);
    }
}
