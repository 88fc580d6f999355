//! The launching phase of a run: the workload's preparation on the engine's preparation thread,
//! then the
//! workers started a time-bounded slice at a time, one slice per [`Run::poll`], so that the
//! front end reads keys and signals between slices and a stop cuts the launch short. Workers
//! never started are reported as [`WorkerOutcome::Unstarted`]; the grace period of those already
//! started counts from the stop. Starting one worker is `launch.rs`'s.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam::channel::{Receiver, TryRecvError};

use super::coordinator::Coordinators;
use super::handle::Handle;
use super::observer::Observer;
use super::outcome::{Ending, WorkerOutcome};
use super::preparer::Prepared;
use super::result::MemoryMark;
use super::timeline::{TimelineReader, VoluntarySwitchOut};
use super::Run;
use crate::board::{monotonic_ns, SlotState, StopLevel};
use crate::engine::plan::{Model, Plan, Schedule, StartMethod};
use crate::engine::workers::event_loop::{LoopGroup, SharedLoop};
use crate::engine::workers::gil::InterpreterLock;
use crate::engine::workers::host::HostedGroup;
use crate::engine::workers::launcher::Launcher;
use crate::engine::workers::line::End;
use crate::engine::workers::python::PythonGroup;
use crate::engine::workers::worker::TaskSource;
use crate::engine::{Engine, LaunchError};
use crate::workload::{Flow, Workload};

/// How long one poll may spend starting workers: short enough that a front end polling in a
/// loop reads a key or a signal within a frame, long enough to start many threads per slice.
pub(super) const LAUNCH_SLICE: Duration = Duration::from_millis(5);

/// Where a run's launch is.
pub(super) enum Launching {
    /// The workload's preparation runs on the preparation thread; its end arrives on
    /// `prepared`; `stop` asks it to leave.
    Preparing { prepared: Receiver<Prepared>, stop: Arc<AtomicBool>, generation: u64 },
    /// Workers `next..` are still to be started.
    Starting { next: usize, generation: u64, gil: Option<Arc<InterpreterLock>> },
}

impl Run {
    /// A run of `plan` in its launching phase: the board is set for it, the preparation has
    /// started, no worker has. [`Run::poll`] does the rest.
    pub(crate) fn begin(engine: &Engine, plan: &Plan, launcher: Arc<dyn Launcher>) -> Result<Self, LaunchError> {
        let board = &engine.board;
        // Before the workload is built: its memory (a dataset, an inherited buffer) is the run's.
        let memory = MemoryMark::take();
        let workload: Arc<dyn Workload> = Arc::from(plan.workload.build());
        let generation = board.begin_run(plan.workers, plan.tasks);
        let stop = Arc::new(AtomicBool::new(false));
        // Python's worker processes are the host's, forked from it: they inherit nothing of this
        // process, so nothing is made for them to inherit.
        let forked =
            plan.model == Model::Processes && plan.start == StartMethod::Fork && plan.runtime.interpreter().is_none();
        let prepared =
            engine.preparer.prepare(Arc::clone(&workload), forked, Arc::clone(&stop)).map_err(LaunchError::Prepare)?;
        let started_ns = monotonic_ns();
        Ok(Run {
            board: Arc::clone(board),
            plan: plan.clone(),
            workload,
            launcher,
            started_at: Instant::now(),
            started_ns,
            timeline: TimelineReader::with_meanings(started_ns, vec![voluntary_switch_out(plan); plan.workers]),
            observer: Observer::new(plan.workers, engine.observing, Arc::clone(&engine.perf_events)),
            workers: (0..plan.workers).map(|_| Handle::Pending).collect(),
            stop: None,
            paused: false,
            group: None,
            finished_at: None,
            replaced: Vec::new(),
            respawn_failures: Vec::new(),
            coordinators: Coordinators::default(),
            memory,
            launching: Some(Launching::Preparing { prepared, stop, generation }),
            launch_error: None,
            python: None,
        })
    }

    /// Launches every worker of `plan` before returning, as one call. On a failed launch the
    /// workers already started are stopped and reaped before the error returns.
    pub(crate) fn launch_all(engine: &Engine, plan: &Plan, launcher: Arc<dyn Launcher>) -> Result<Self, LaunchError> {
        let mut run = Self::begin(engine, plan, launcher)?;
        while run.launching.is_some() {
            run.advance_launch();
            if matches!(run.launching, Some(Launching::Preparing { .. })) {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        match run.launch_error.take() {
            Some(error) => Err(error),
            None => Ok(run),
        }
    }

    /// One step of the launch: checks on the preparation, or starts workers for at most
    /// [`LAUNCH_SLICE`]. Nothing is started while the run is paused.
    pub(super) fn advance_launch(&mut self) {
        if self.paused {
            return;
        }
        match self.launching.take() {
            None => {}
            Some(Launching::Preparing { prepared, stop, generation }) => {
                let ended = match prepared.try_recv() {
                    Err(TryRecvError::Empty) => {
                        self.launching = Some(Launching::Preparing { prepared, stop, generation });
                        return;
                    }
                    Ok(ended) => ended,
                    Err(TryRecvError::Disconnected) => Err("the preparation thread is gone".to_owned()),
                };
                match ended {
                    Ok(Flow::Continue) if self.stop.is_none() => {
                        self.memory.before_workers();
                        if let Err(error) = self.start_service(generation) {
                            self.fail_launch(0, error);
                            return;
                        }
                        // The run's clock starts with its first worker: wall times are the
                        // workers', preparation excluded.
                        self.started_at = Instant::now();
                        self.started_ns = monotonic_ns();
                        self.timeline = TimelineReader::with_meanings(
                            self.started_ns,
                            vec![voluntary_switch_out(&self.plan); self.plan.workers],
                        );
                        let gil = match self.plan.model {
                            Model::Processes | Model::Async => None,
                            Model::Sequential | Model::Threads => {
                                self.plan.gil.map(|interval| Arc::new(InterpreterLock::new(interval)))
                            }
                        };
                        self.start_slice(0, generation, gil);
                    }
                    Ok(_) => self.never_started(0),
                    Err(why) => self.fail_launch(0, LaunchError::Prepare(why)),
                }
            }
            Some(Launching::Starting { next, generation, gil }) => self.start_slice(next, generation, gil),
        }
    }

    /// Starts workers from `next` on until the slice is used up; a failed start ends the launch.
    fn start_slice(&mut self, next: usize, generation: u64, gil: Option<Arc<InterpreterLock>>) {
        if self.plan.runtime.interpreter().is_some() {
            return self.start_python(generation);
        }
        let plan = &self.plan;
        if plan.model == Model::Async {
            let thread = self.launcher.start_loop(LoopGroup {
                board: Arc::clone(&self.board),
                generation,
                workload: Arc::clone(&self.workload),
                sources: (0..plan.workers).map(|index| task_source(plan, index)).collect(),
                cpu: plan.pinning.first().copied().flatten(),
            });
            match thread {
                Ok(thread) => {
                    let shared = SharedLoop::new(thread, self.plan.workers);
                    self.workers.iter_mut().for_each(|handle| *handle = Handle::OnLoop(Arc::clone(&shared)));
                }
                Err(source) => self.fail_launch(0, LaunchError::Thread { index: 0, started: 0, source }),
            }
            return;
        }
        if plan.hosted {
            let host = self.launcher.fork_host(HostedGroup {
                board: &self.board,
                generation,
                workload: &self.workload,
                sources: (0..plan.workers).map(|index| task_source(plan, index)).collect(),
                pinning: &plan.pinning,
                switch_interval: plan.gil,
                group: None,
            });
            match host {
                Ok(host) => {
                    self.group = Some(host);
                    self.workers.iter_mut().for_each(|handle| *handle = Handle::Hosted(host));
                }
                Err(source) => self.fail_launch(0, LaunchError::Fork { index: 0, started: 0, source }),
            }
            return;
        }
        let until = Instant::now() + LAUNCH_SLICE;
        let mut index = next;
        while index < self.plan.workers {
            let tasks = task_source(&self.plan, index);
            if let Err(failure) = self.launch(index, generation, tasks, gil.as_ref()) {
                self.fail_launch(index, failure.into_error(index, index));
                return;
            }
            index += 1;
            if Instant::now() >= until {
                break;
            }
        }
        if index < self.plan.workers {
            self.launching = Some(Launching::Starting { next: index, generation, gil });
        }
    }

    /// A stop during the launch: nothing more is started. A preparation still running is asked
    /// to leave, and waited for when `wait` (the run must end now); otherwise the next poll
    /// collects it.
    pub(super) fn cut_launch(&mut self, wait: bool) {
        match self.launching.take() {
            None => {}
            Some(Launching::Preparing { prepared, stop, generation }) => {
                stop.store(true, Ordering::Relaxed);
                // It checks its flag at every step: a wait is short. How it ended (a panic
                // included) is moot now that the run is over.
                let ended = if wait { prepared.recv().is_ok() } else { !prepared.is_empty() };
                if ended || wait {
                    self.never_started(0);
                } else {
                    self.launching = Some(Launching::Preparing { prepared, stop, generation });
                }
            }
            Some(Launching::Starting { next, .. }) => self.never_started(next),
        }
    }

    /// Starts the workload's service, told to cut its waits once this run is asked to stop at
    /// the next chunk (a drain at the end of the task lets the tasks' requests finish).
    fn start_service(&mut self, generation: u64) -> Result<(), LaunchError> {
        let board = Arc::clone(&self.board);
        let stopping = Arc::new(move || {
            let header = board.header();
            header.stop.load(Ordering::Relaxed) >= StopLevel::AfterChunk as u32
                || header.generation.load(Ordering::Relaxed) != generation
        });
        self.coordinators
            .start_service(&self.workload, stopping)
            .map_err(|source| LaunchError::Service { workload: self.plan.workload.to_string(), source })
    }

    /// Starts the Python runtime's host, which starts every worker, with the lines of a
    /// workload that talks.
    fn start_python(&mut self, generation: u64) {
        let lines = match self.open_python_lines() {
            Ok(lines) => lines,
            Err(error) => return self.fail_launch(0, error),
        };
        let plan = &self.plan;
        let Some(interpreter) = plan.runtime.interpreter() else { return };
        let group = PythonGroup {
            board: &self.board,
            generation,
            plan,
            workload: self.workload.as_ref(),
            interpreter: &interpreter.path,
            twin: plan.workload.kind.python().map_or("", |twin| twin.source),
            lines,
        };
        match self.launcher.start_python(&group) {
            Ok(host) => {
                self.group = Some(host.pid);
                self.workers.iter_mut().for_each(|handle| *handle = Handle::Hosted(host.pid));
                self.python = Some(host);
            }
            Err(source) => self.fail_launch(0, LaunchError::Spawn { index: 0, started: 0, source }),
        }
    }

    /// For a workload that talks, every worker's line, opened before the Python host starts
    /// and inherits their worker ends; empty for the others.
    fn open_python_lines(&mut self) -> Result<Vec<End>, LaunchError> {
        let mut lines = Vec::new();
        for index in 0..self.plan.workers {
            match self.coordinators.open_line(&self.workload, &self.board, index) {
                Ok(Some(end)) => lines.push(end),
                Ok(None) => break,
                Err(source) => return Err(LaunchError::Line { index, started: 0, source }),
            }
        }
        Ok(lines)
    }

    /// Workers from `from` on were never started, and never will be.
    fn never_started(&mut self, from: usize) {
        self.launching = None;
        for (index, handle) in self.workers.iter_mut().enumerate().skip(from) {
            if matches!(handle, Handle::Pending) {
                *handle = Handle::Ended(Ending::of(WorkerOutcome::Unstarted));
                self.board.slot(index).set_state(SlotState::Cancelled);
            }
        }
    }

    /// The launch failed at worker `index`: the rest are never started, those already started
    /// are stopped and reaped, and the error waits for the front end.
    fn fail_launch(&mut self, index: usize, error: LaunchError) {
        self.never_started(index);
        self.abort();
        self.launch_error = Some(error);
    }

    /// Why the launch failed, once: the run then ended with the workers it had started
    /// stopped and reaped, and the rest never started.
    pub fn take_launch_error(&mut self) -> Option<LaunchError> {
        self.launch_error.take()
    }
}

/// Where worker `index` of `plan` takes its tasks from, at its first start.
fn task_source(plan: &Plan, index: usize) -> TaskSource {
    match plan.schedule {
        Schedule::Static => TaskSource::Static(plan.static_tasks(index)),
        Schedule::Dynamic => TaskSource::Dynamic { chunk: plan.chunk, first: 0..0 },
    }
}

/// What a worker's voluntary switch-out while it computes means in `plan`: CPython threads of a
/// twin under the GIL report every wait they choose (a sleep, a request), so what is left while
/// they compute is the GIL's futex; a user's own function may wait without saying so, a
/// process or a free-threaded build has no GIL to wait for: `off CPU`, not a guess.
fn voluntary_switch_out(plan: &Plan) -> VoluntarySwitchOut {
    if plan.python_gil_threads() {
        VoluntarySwitchOut::LockWait
    } else {
        VoluntarySwitchOut::OffCpu
    }
}

#[cfg(test)]
mod tests {
    use nix::sys::signal::Signal;

    use super::*;
    use crate::engine::workers::launcher::fake::SlowLauncher;
    use crate::engine::{DrainPolicy, Engine, Phase, PlanRequest, RunOutcome, StopReason};
    use crate::workload::by_name;

    const WORKERS: usize = 200;

    #[test]
    fn a_stop_during_the_launch_starts_no_more_workers_and_the_grace_counts_from_the_stop() {
        let engine = Engine::new().expect("board");
        let grace = Duration::from_millis(300);
        // Drain at the next chunk: the started workers leave within the grace, cancelled. Drain
        // after the task (5 s): they cannot, and the grace ends in SIGTERM for each of them.
        for (model, drain) in [
            (Model::Threads, DrainPolicy::Chunk),
            (Model::Processes, DrainPolicy::Chunk),
            (Model::Processes, DrainPolicy::Task),
        ] {
            let plan = PlanRequest {
                workers: Some(WORKERS),
                tasks: WORKERS as u64,
                size: Some(5000),
                grace,
                drain,
                ..PlanRequest::new(by_name("io").expect("io"), model)
            }
            .validate()
            .expect("plan");
            let mut run = Run::begin(&engine, &plan, Arc::new(SlowLauncher)).expect("begin");
            let deadline = Instant::now() + Duration::from_secs(60);
            let started = loop {
                assert!(Instant::now() < deadline, "{model}: no worker ever started");
                match run.poll() {
                    Phase::Launching { started } if started > 0 => break started,
                    Phase::Preparing | Phase::Launching { .. } => std::thread::sleep(Duration::from_millis(1)),
                    other => panic!("{model}: {other:?} before the launch was over"),
                }
            };
            // A millisecond a start, a few milliseconds a slice: far from all of them.
            assert!(started < WORKERS / 2, "{model}: {started} started in one slice");
            // Worker 0 inside its task before the stop (waiting without a poll starts no one).
            while run.board().slot(0).units_done.load(Ordering::Relaxed) == 0 {
                assert!(Instant::now() < deadline, "{model}: worker 0 never began its task");
                std::thread::sleep(Duration::from_millis(1));
            }
            run.request_stop(StopReason::Signal(Signal::SIGINT));
            let asked = Instant::now();
            let Phase::Draining { remaining } = run.phase() else {
                panic!("{model} {drain:?}: not draining after the stop: {:?}", run.phase());
            };
            assert!(remaining <= grace, "{model}: the grace period did not start at the stop");
            while run.poll() != Phase::Ended {
                assert!(Instant::now() < deadline, "{model} {drain:?}: the run never ended");
                assert!(matches!(run.phase(), Phase::Draining { .. } | Phase::Ended), "{model}: launching again");
                std::thread::sleep(Duration::from_millis(5));
            }
            let ended_after = asked.elapsed();
            let report = run.finish();
            assert_eq!(report.outcome, RunOutcome::Cancelled(Some(Signal::SIGINT)));
            let (first, rest) = report.workers.split_at(started);
            assert!(
                rest.iter().all(|worker| worker.outcome == WorkerOutcome::Unstarted && worker.tasks_done == 0),
                "{model} {drain:?}: a worker started after the stop"
            );
            let terminated = WorkerOutcome::Killed(Signal::SIGTERM);
            for worker in first {
                // A worker not yet inside a task when the stop came leaves without one.
                let drained = worker.outcome == WorkerOutcome::Cancelled;
                let ok = drained || (drain == DrainPolicy::Task && worker.outcome == terminated);
                assert!(ok, "{model} {drain:?}: worker {} {}", worker.index, worker.outcome);
            }
            if drain == DrainPolicy::Task {
                // Worker 0 was 5 s from the end of its task: the grace ran out, and SIGTERM went
                // out at its end, never before.
                assert_eq!(first[0].outcome, terminated, "{model}");
                assert!(ended_after >= grace, "{model}: terminated {ended_after:?} after the stop");
            }
        }
    }
}
