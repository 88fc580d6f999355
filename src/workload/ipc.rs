//! `ipc`: what talking between workers costs. Each worker sends ping after ping to the
//! coordinator over its line (a channel between threads; a pipe, a socket or a shared-memory
//! mailbox between processes) and waits for each answer. The coordinator times every round
//! trip from its side, from the answer it sent to the next ping it gets, so the latencies of
//! every worker land in one histogram in the program, whatever the workers are.

use std::time::Instant;

use super::histogram::Latencies;
use super::kind::{Kind, OptionError, OptionSpec, Options, Setup, Shape, SizeSpec, Values, Variant};
use super::task::{fields_of, Flow, Hooks, Line, Metrics, RunCells, TaskEnd, TalkingWorkload, Transport, Workload};
use super::Choice;

/// Round trips between two checkpoints.
const CHUNK: u64 = 256;

/// The catalog entry.
pub(super) struct Ipc;

impl Kind for Ipc {
    fn name(&self) -> &'static str {
        "ipc"
    }

    fn summary(&self) -> &'static str {
        "talking costs: round trips to each worker over a channel, pipe, socket or shared memory"
    }

    fn explanation(&self) -> &'static str {
        "The coordinator answers ping after ping from each worker. Between threads a \
         channel hop costs microseconds; between processes every message crosses the \
         kernel (pipe, socket) unless they share memory. Round trips per second and the \
         p50/p99 latency show what each way of talking costs."
    }

    fn size(&self) -> SizeSpec {
        SizeSpec {
            unit: "round trips per task",
            short_unit: "trips",
            default: 10_000,
            watchable: 90_000,
            // At most about an hour a task at 100 000 round trips a second (reference machine).
            max: Some(400_000_000),
            in_millions: true,
        }
    }

    fn options(&self) -> &'static [OptionSpec] {
        &[OptionSpec {
            flag: "transport",
            help: "ipc: channel (threads), pipe, socket or shm (processes) [default: channel for threads, \
                   pipe for processes]",
            values: Values::Choice(Transport::NAMES),
            default: None,
        }]
    }

    fn check(&self, options: &mut Options, shape: &Shape) -> Result<(), OptionError> {
        let natural = if shape.processes { Transport::Pipe } else { Transport::Channel };
        let transport = Transport::parse(options.get("transport")).unwrap_or(natural);
        if transport.is_for_threads() == shape.processes {
            let (connects, models) =
                if transport.is_for_threads() { ("threads", "threads or sequential") } else { ("processes", "processes") };
            return Err(OptionError::Refused(format!(
                "--transport {transport} connects {connects}: use it with --model {models}"
            )));
        }
        options.set("transport", transport.name().to_owned());
        Ok(())
    }

    /// Between threads there is only the channel; between processes, a choice.
    fn variants(&self, processes: bool) -> &'static [Variant] {
        if processes {
            &[
                Variant { label: "pipe", sets: &[("transport", "pipe")] },
                Variant { label: "socket", sets: &[("transport", "socket")] },
                Variant { label: "shm", sets: &[("transport", "shm")] },
            ]
        } else {
            &[Variant { label: "channel", sets: &[("transport", "channel")] }]
        }
    }

    fn build(&self, setup: &Setup) -> Box<dyn Workload> {
        Box::new(PingPong::new(setup.size, setup.options.choice("transport")))
    }
}

/// The workload: every task is `round_trips` pings answered by the coordinator.
pub(super) struct PingPong {
    round_trips: u64,
    transport: Transport,
    latencies: Latencies,
}

/// What an ipc run shows: how many round trips, how fast, and their latency seen from the
/// coordinator.
#[derive(Debug, serde::Serialize)]
struct Figures {
    transport: &'static str,
    round_trips: u64,
    round_trips_per_second: Option<f64>,
    timed_round_trips: u64,
    p50_us: Option<f64>,
    p99_us: Option<f64>,
}

impl Metrics for Figures {
    fn headline(&self) -> Option<String> {
        self.p50_us.map(|p50| format!("p50 {p50:.1} µs"))
    }

    fn json(&self) -> serde_json::Map<String, serde_json::Value> {
        fields_of(self)
    }
}

impl PingPong {
    #[must_use]
    pub(super) fn new(round_trips: u64, transport: Transport) -> Self {
        Self { round_trips, transport, latencies: Latencies::new() }
    }
}

impl Workload for PingPong {
    fn units_for(&self, _task: u64) -> u64 {
        self.round_trips
    }

    fn run_task(&self, _task: u64, hooks: &mut dyn Hooks) -> TaskEnd {
        let mut reply = Vec::with_capacity(8);
        let mut done = 0;
        while done < self.round_trips {
            // The round trip's number in the task: the coordinator does not time the first one,
            // whose gap includes the worker's move to a new task.
            let ping = done.to_le_bytes();
            if let Err(error) = hooks.exchange(&ping, &mut reply) {
                return error.task_end("ipc");
            }
            if reply != ping {
                return TaskEnd::Failed(format!("ipc: the coordinator answered {reply:?} to {ping:?}"));
            }
            done += 1;
            if (done % CHUNK == 0 || done == self.round_trips) && hooks.checkpoint(done) == Flow::Stop {
                return TaskEnd::Stopped;
            }
        }
        TaskEnd::Completed { digest: self.round_trips }
    }

    fn expected_checksum(&self, tasks: u64) -> Option<u64> {
        tasks.checked_mul(self.round_trips)
    }

    fn metrics(&self, run: &RunCells) -> Box<dyn Metrics> {
        let round_trips = run.tasks_done * self.round_trips + run.partial_units;
        let micros = |quantile| self.latencies.quantile(quantile).map(|ns| ns as f64 / 1000.0);
        Box::new(Figures {
            transport: self.transport.name(),
            round_trips,
            round_trips_per_second: (run.wall_seconds > 0.0).then(|| round_trips as f64 / run.wall_seconds),
            timed_round_trips: self.latencies.count(),
            p50_us: micros(0.50),
            p99_us: micros(0.99),
        })
    }

    fn as_talking(&self) -> Option<&dyn TalkingWorkload> {
        Some(self)
    }
}

impl TalkingWorkload for PingPong {
    fn transport(&self) -> Transport {
        self.transport
    }

    /// Echoes every ping, timing the gap between an answer and the next ping.
    fn serve(&self, _worker: usize, line: &mut dyn Line) {
        let mut ping = Vec::with_capacity(8);
        let mut answered_at = None;
        while line.recv(&mut ping).is_ok() {
            let arrived = Instant::now();
            let first_of_task = ping.iter().all(|byte| *byte == 0);
            if let (Some(answered), false) = (answered_at, first_of_task) {
                self.latencies.record(arrived.duration_since(answered).as_nanos() as u64);
            }
            if line.send(&ping).is_err() {
                return;
            }
            answered_at = Some(Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::testing::{Recorder, ScriptedLine};

    #[test]
    fn a_task_is_its_round_trips_with_checkpoints_between() {
        let ipc = PingPong::new(600, Transport::Pipe);
        let mut hooks = Recorder::default();
        assert_eq!(ipc.run_task(0, &mut hooks), TaskEnd::Completed { digest: 600 });
        assert_eq!(hooks.exchanges, 600);
        assert_eq!(hooks.checkpoints, vec![256, 512, 600]);
        let mut stopping = Recorder { stop_after: Some(1), ..Recorder::default() };
        assert_eq!(ipc.run_task(0, &mut stopping), TaskEnd::Stopped);
        assert_eq!(stopping.exchanges, 256);
    }

    #[test]
    fn the_coordinator_echoes_and_times_all_but_the_first_of_each_task() {
        let ipc = PingPong::new(3, Transport::Socket);
        let pings = [0u64, 1, 2, 0, 1, 2].map(|ping| ping.to_le_bytes().to_vec());
        let mut line = ScriptedLine { inbox: pings.into(), sent: Vec::new() };
        ipc.serve(0, &mut line);
        assert_eq!(line.sent.len(), 6);
        assert_eq!(line.sent[4], 1u64.to_le_bytes());
        assert_eq!(ipc.latencies.count(), 4);
    }
}
