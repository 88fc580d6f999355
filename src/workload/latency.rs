//! `latency`: is a thread that answers requests still responsive while other threads compute?
//! Worker 0 answers the coordinator's requests as fast as it can (a blocking read on its line,
//! then a tiny bit of work, as a UI thread or a request handler does) while every other worker
//! runs the cpu kernel. The coordinator times each request from sending it to the answer.
//!
//! Under the emulated interpreter lock a thread must win the lock back after each blocking
//! read: it waits a switch interval until the computing thread is asked to hand it over, as in
//! CPython, so one request gets answered per switch interval at best (fewer with more
//! computing threads, the "convoy effect"). Processes each have their own lock.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::cpu::sum_of_squares;
use crate::board::monotonic_ns;
use super::histogram::Latencies;
use super::kind::{Kind, PythonTwin, Setup, SizeSpec};
use super::task::{fields_of, Flow, Hooks, Line, LiveCells, Measure, Metrics, RunCells, TaskEnd, TalkingWorkload, Transport, Workload};

/// Integers the responder sums for each request: a few microseconds, the "tiny bit of work".
const WORK_PER_REQUEST: u64 = 10_000;
/// Integers a computing worker sums between two checkpoints (as the cpu workload).
const CHUNK: u64 = 1 << 16;
/// A request or an answer: the request's number, then (answers) the work's result.
const REQUEST_BYTES: usize = 8;

/// The catalog entry.
pub(super) struct Latency;

impl Kind for Latency {
    fn name(&self) -> &'static str {
        "latency"
    }

    fn summary(&self) -> &'static str {
        "responsiveness: worker 0 answers requests while the others compute; the lock starves it"
    }

    fn explanation(&self) -> &'static str {
        "Worker 0 answers requests like a UI thread; the others compute. The articles say \
         threads keep an interface responsive; under the interpreter lock they do not: after \
         every blocking read the answering thread waits a switch interval for the lock, so it \
         answers about one request per interval, fewer with more computing threads. Without \
         the lock, or with processes, it answers thousands a second."
    }

    fn size(&self) -> SizeSpec {
        SizeSpec {
            unit: "milliseconds per task",
            short_unit: "ms",
            default: 200,
            watchable: 500,
            // An hour a task.
            max: Some(3_600_000),
            in_millions: false,
        }
    }

    fn build(&self, setup: &Setup) -> Box<dyn Workload> {
        Box::new(Responder { millis: setup.size, latencies: Latencies::new() })
    }

    /// CPython's convoy for real: worker 0 a thread answering the program's requests over the
    /// same pipe, the others computing in pure Python, the GIL deciding who runs.
    fn python(&self) -> Option<PythonTwin> {
        Some(PythonTwin { source: PYTHON_TWIN, size: self.size(), on_event_loop: false })
    }
}

/// The same tasks in Python: worker 0 answers the coordinator's requests over its line (one
/// blocking exchange each, in the program's framing), the others sum squares; tasks end at the
/// same shared instants (the epoch in the shared counter, set once under the runner's lock).
/// The request's bit of work is 200 integers, a few microseconds in Python as the native 10,000
/// are in Rust. The coordinator in the program times each answer into the same histogram.
const PYTHON_TWIN: &str = r"
import time

MASK = (1 << 64) - 1
WORK_PER_REQUEST = 200
CHUNK = 1 << 14


def deadline(size, h):
    now = time.monotonic_ns()
    epoch = h.shared_once(now)
    return epoch + (h.tasks_done() + 1) * size * 1000000


def answer(index, size, h):
    started = time.monotonic_ns()
    until = deadline(size, h)
    reply = b''
    while True:
        request = h.exchange(reply)
        if request is None:
            return None
        if len(request) != 8:
            raise ValueError('latency: a request of {} bytes'.format(len(request)))
        start = (int.from_bytes(request, 'little') % 1000000) * WORK_PER_REQUEST
        result = sum(i * i for i in range(start, start + WORK_PER_REQUEST)) & MASK
        reply = request + result.to_bytes(8, 'little')
        now = time.monotonic_ns()
        if not h.checkpoint((now - started) // 1000000):
            return None
        if now >= until:
            return index + 1


def compute(index, size, h):
    started = time.monotonic_ns()
    until = deadline(size, h)
    low, total = 0, 0
    while True:
        total = (total + sum(i * i for i in range(low, low + CHUNK))) & MASK
        low += CHUNK
        h.add_own(CHUNK)
        now = time.monotonic_ns()
        if not h.checkpoint((now - started) // 1000000):
            return None
        if now >= until:
            return index + 1


def task(index, size, options, h):
    return answer(index, size, h) if h.index == 0 else compute(index, size, h)
";

/// The workload: for `millis` a task, worker 0 answers requests and the others compute.
pub(super) struct Responder {
    millis: u64,
    /// Each answer's time since its request, as the coordinator saw it.
    latencies: Latencies,
}

/// What a latency run shows: how many requests the responder answered a second, and how long
/// each took, as the coordinator measured it.
#[derive(Debug, serde::Serialize)]
struct Figures {
    requests: u64,
    requests_per_second: Option<f64>,
    p50_us: Option<f64>,
    p99_us: Option<f64>,
    /// Integers the computing workers summed a second, all together.
    computed_per_second: Option<f64>,
}

impl Metrics for Figures {
    fn headline(&self) -> Option<String> {
        self.requests_per_second.map(|rate| format!("{rate:.0} requests/s"))
    }

    /// Requests a second is the lesson: a starved responder answers few, whatever the wall time.
    fn measure(&self) -> Option<Measure> {
        self.requests_per_second.map(|rate| Measure {
            value: rate,
            higher_is_better: true,
            wins_by: "answered more requests a second",
            text: match self.p99_us {
                Some(p99) => format!("{rate:.0} requests/s, p99 {}", format_micros(p99)),
                None => format!("{rate:.0} requests/s"),
            },
        })
    }

    fn json(&self) -> serde_json::Map<String, serde_json::Value> {
        fields_of(self)
    }
}

impl Responder {
    /// Answers requests until `millis` have passed.
    fn answer(&self, task: u64, hooks: &mut dyn Hooks) -> TaskEnd {
        let started = Instant::now();
        let until = started + self.time_left(hooks);
        // The first message only says "ready"; each later one answers the request before it.
        let mut answer = Vec::with_capacity(2 * REQUEST_BYTES);
        let mut request = Vec::with_capacity(REQUEST_BYTES);
        loop {
            if let Err(error) = hooks.exchange(&answer, &mut request) {
                return error.task_end("latency");
            }
            let Ok(number) = <[u8; REQUEST_BYTES]>::try_from(request.as_slice()).map(u64::from_le_bytes) else {
                return TaskEnd::Failed(format!("latency: a request of {} bytes", request.len()));
            };
            let start = (number % 1_000_000) * WORK_PER_REQUEST;
            let result = sum_of_squares(start, start + WORK_PER_REQUEST);
            answer.clear();
            answer.extend_from_slice(&number.to_le_bytes());
            answer.extend_from_slice(&result.to_le_bytes());
            let now = Instant::now();
            if hooks.checkpoint(now.duration_since(started).as_millis() as u64) == Flow::Stop {
                return TaskEnd::Stopped;
            }
            if now >= until {
                return TaskEnd::Completed { digest: task + 1 };
            }
        }
    }

    /// How long this task lasts. Every worker's k-th task ends at the same instant, `k + 1`
    /// task lengths after the run's first task began (kept in the shared counter): the
    /// responder, which may start late while the computing threads hold the lock, and whose
    /// last answer may wait for it, never outlasts them to answer alone, far faster, at the end.
    fn time_left(&self, hooks: &mut dyn Hooks) -> Duration {
        let now = monotonic_ns();
        let cells = hooks.cells();
        let epoch = match cells.shared_counter.compare_exchange(0, now, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => now,
            Err(set) => set,
        };
        let until = epoch + (cells.tasks_done + 1) * self.millis * 1_000_000;
        Duration::from_nanos(until.saturating_sub(now))
    }

    /// Computes until `millis` have passed, counting integers in the worker's own counter.
    fn compute(&self, task: u64, hooks: &mut dyn Hooks) -> TaskEnd {
        let started = Instant::now();
        let until = started + self.time_left(hooks);
        let mut next = 0u64;
        let mut acc = 0u64;
        loop {
            acc = acc.wrapping_add(sum_of_squares(next, next + CHUNK));
            next += CHUNK;
            hooks.cells().own_counter.fetch_add(CHUNK, Ordering::Relaxed);
            let now = Instant::now();
            if hooks.checkpoint(now.duration_since(started).as_millis() as u64) == Flow::Stop {
                return TaskEnd::Stopped;
            }
            if now >= until {
                std::hint::black_box(acc);
                return TaskEnd::Completed { digest: task + 1 };
            }
        }
    }
}

impl Workload for Responder {
    fn units_for(&self, _task: u64) -> u64 {
        self.millis
    }

    fn run_task(&self, task: u64, hooks: &mut dyn Hooks) -> TaskEnd {
        if hooks.cells().worker == 0 {
            self.answer(task, hooks)
        } else {
            self.compute(task, hooks)
        }
    }

    /// Tasks last a time, not an amount of work: the digest only proves each ran once.
    fn expected_checksum(&self, tasks: u64) -> Option<u64> {
        Some(tasks.wrapping_mul(tasks.wrapping_add(1)) / 2)
    }

    fn metrics(&self, run: &RunCells) -> Box<dyn Metrics> {
        let requests = self.latencies.count();
        let micros = |quantile| self.latencies.quantile(quantile).map(|ns| ns as f64 / 1000.0);
        // The responder's own time in tasks, so that a run's tail without it does not count.
        let answering = run.wall_seconds - run.idle_seconds.first().copied().unwrap_or(0.0);
        let computed: u64 = run.own_counters.iter().sum();
        Box::new(Figures {
            requests,
            requests_per_second: (answering > 0.0).then(|| requests as f64 / answering),
            p50_us: micros(0.50),
            p99_us: micros(0.99),
            computed_per_second: (run.wall_seconds > 0.0 && computed > 0)
                .then(|| computed as f64 / run.wall_seconds),
        })
    }

    fn live(&self, now: &LiveCells) -> Option<String> {
        let requests = self.latencies.count();
        let rate = if now.elapsed_seconds > 0.0 { requests as f64 / now.elapsed_seconds } else { 0.0 };
        let show = |quantile| {
            self.latencies.quantile(quantile).map_or_else(|| "-".to_owned(), |ns| format_micros(ns as f64 / 1000.0))
        };
        Some(format!("worker 0 answers {rate:.0} requests/s · p50 {} · p99 {}", show(0.50), show(0.99)))
    }

    fn as_talking(&self) -> Option<&dyn TalkingWorkload> {
        Some(self)
    }
}

impl TalkingWorkload for Responder {
    /// A pipe for threads and processes alike: the responder's blocking read is the same
    /// system call whatever it runs in, so only the lock tells the models apart.
    fn transport(&self) -> Transport {
        Transport::Pipe
    }

    /// Sends a request as soon as the one before is answered, timing each answer. Only worker
    /// 0 talks; the other lines stay silent until their workers hang up.
    fn serve(&self, _worker: usize, line: &mut dyn Line) {
        let mut answer = Vec::with_capacity(2 * REQUEST_BYTES);
        let mut pending: Option<(u64, Instant)> = None;
        let mut number = 0u64;
        while line.recv(&mut answer).is_ok() {
            let arrived = Instant::now();
            if let Some((asked, sent)) = pending {
                if answer.get(..REQUEST_BYTES) == Some(&asked.to_le_bytes()[..]) {
                    self.latencies.record(arrived.duration_since(sent).as_nanos() as u64);
                }
            }
            number += 1;
            if line.send(&number.to_le_bytes()).is_err() {
                return;
            }
            pending = Some((number, Instant::now()));
        }
    }
}

/// `35 µs`, `4.9 ms`.
fn format_micros(micros: f64) -> String {
    if micros < 1000.0 {
        format!("{micros:.0} µs")
    } else {
        format!("{:.1} ms", micros / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::testing::{Recorder, ScriptedLine};

    #[test]
    fn worker_0_answers_and_the_others_compute() {
        let latency = Responder { millis: 0, latencies: Latencies::new() };
        let mut responder = Recorder { worker: 0, ..Recorder::default() };
        // The recorder echoes: the "ready" message comes back as an empty request.
        assert!(matches!(latency.run_task(0, &mut responder), TaskEnd::Failed(_)));
        assert_eq!(responder.exchanges, 1);
        let mut computer = Recorder { worker: 1, ..Recorder::default() };
        assert_eq!(latency.run_task(2, &mut computer), TaskEnd::Completed { digest: 3 });
        assert_eq!(computer.exchanges, 0);
        assert_eq!(computer.own.load(Ordering::Relaxed), CHUNK);
    }

    #[test]
    fn the_coordinator_times_only_answers_to_its_own_requests() {
        let latency = Responder { millis: 0, latencies: Latencies::new() };
        let answer = |number: u64| [number.to_le_bytes(), 7u64.to_le_bytes()].concat();
        let inbox = vec![Vec::new(), answer(1), answer(5), answer(3)];
        let mut line = ScriptedLine { inbox: inbox.into(), sent: Vec::new() };
        latency.serve(0, &mut line);
        let sent: Vec<Vec<u8>> = (1..=4u64).map(|number| number.to_le_bytes().to_vec()).collect();
        assert_eq!(line.sent, sent);
        // The answer to request 2 came back as 5: not timed.
        assert_eq!(latency.latencies.count(), 2);
    }
}
