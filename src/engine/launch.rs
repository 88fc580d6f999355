//! Starting workers: every worker of a plan, a crashed worker's replacement (`--respawn`), and
//! the clean-up when a launch fails. What is started comes from the plan; how it is started is
//! the [`Launcher`]'s. Signalling and reaping afterwards are `run.rs`'s.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::coordinator::Coordinators;
use super::event_loop::{LoopGroup, SharedLoop};
use super::gil::InterpreterLock;
use super::handle::Handle;
use super::host::HostedGroup;
use super::launcher::Launcher;
use super::line::End;
use super::outcome::WorkerOutcome;
use super::plan::{Model, Plan, Schedule, StartMethod};
use super::result::MemoryMark;
use super::run::{Phase, Run};
use super::shutdown::{self, Due, StopReason, Stopping};
use super::spawned::SpawnedWork;
use super::threads::ThreadWorker;
use super::timeline::TimelineReader;
use super::worker::{TaskSource, WorkerSpec};
use super::LaunchError;
use crate::board::{monotonic_ns, Board, SlotState, StopLevel};
use crate::workload::Workload;

/// Why one launch failed, before the engine knows how many were started.
enum Launch {
    Fork(nix::Error),
    Thread(std::io::Error),
    Spawn(std::io::Error),
    Line(std::io::Error),
}

impl Launch {
    /// Why, in a few words, for a respawn failure in the report.
    fn reason(&self) -> String {
        match self {
            Self::Fork(source) => format!("fork failed: {source}"),
            Self::Thread(source) => format!("starting its thread failed: {source}"),
            Self::Spawn(source) => format!("spawn failed: {source}"),
            Self::Line(source) => format!("opening its line failed: {source}"),
        }
    }
}

impl Run {
    /// Launches every worker of `plan` through `launcher`. On a failed launch the workers
    /// already started are stopped and reaped before the error returns.
    pub(crate) fn launch_all(
        board: &Arc<Board>,
        plan: &Plan,
        launcher: Arc<dyn Launcher>,
    ) -> Result<Self, LaunchError> {
        // Before the workload is built: its memory (a dataset, an inherited buffer) is the run's.
        let mut memory = MemoryMark::take();
        let workload: Arc<dyn Workload> = Arc::from(plan.workload.build());
        workload.prepare();
        memory.before_workers();
        let generation = board.begin_run(plan.workers, plan.tasks);
        let gil = match plan.model {
            Model::Processes | Model::Async => None,
            Model::Sequential | Model::Threads => plan.gil.map(|interval| Arc::new(InterpreterLock::new(interval))),
        };
        let started_ns = monotonic_ns();
        let mut run = Run {
            board: Arc::clone(board),
            plan: plan.clone(),
            workload: Arc::clone(&workload),
            launcher,
            started_at: Instant::now(),
            started_ns,
            timeline: TimelineReader::new(started_ns, plan.workers),
            workers: Vec::with_capacity(plan.workers),
            stop: None,
            paused: false,
            group: None,
            finished_at: None,
            replaced: Vec::new(),
            respawn_failures: Vec::new(),
            coordinators: Coordinators::default(),
            memory,
        };
        let source = |index| match plan.schedule {
            Schedule::Static => TaskSource::Static(plan.static_tasks(index)),
            Schedule::Dynamic => TaskSource::Dynamic { chunk: plan.chunk, first: 0..0 },
        };
        run.start_service(board, generation)?;
        if plan.model == Model::Async {
            let thread = run
                .launcher
                .start_loop(LoopGroup {
                    board: Arc::clone(board),
                    generation,
                    workload: Arc::clone(&workload),
                    sources: (0..plan.workers).map(source).collect(),
                    cpu: plan.pinning.first().copied().flatten(),
                })
                .map_err(|source| LaunchError::Thread { index: 0, started: 0, source })?;
            let shared = SharedLoop::new(thread, plan.workers);
            run.workers = (0..plan.workers).map(|_| Handle::OnLoop(Arc::clone(&shared))).collect();
            return Ok(run);
        }
        if plan.hosted {
            let host = run
                .launcher
                .fork_host(HostedGroup {
                    board,
                    generation,
                    workload: &workload,
                    sources: (0..plan.workers).map(source).collect(),
                    pinning: &plan.pinning,
                    switch_interval: plan.gil,
                    group: None,
                })
                .map_err(|source| LaunchError::Fork { index: 0, started: 0, source })?;
            run.group = Some(host);
            run.workers = (0..plan.workers).map(|_| Handle::Hosted(host)).collect();
            return Ok(run);
        }
        for index in 0..plan.workers {
            let tasks = source(index);
            if let Err(failure) = run.launch(index, generation, tasks, gil.as_ref()) {
                let started = run.workers.len();
                run.abort();
                return Err(match failure {
                    Launch::Fork(source) => LaunchError::Fork { index, started, source },
                    Launch::Thread(source) => LaunchError::Thread { index, started, source },
                    Launch::Spawn(source) => LaunchError::Spawn { index, started, source },
                    Launch::Line(source) => LaunchError::Line { index, started, source },
                });
            }
        }
        Ok(run)
    }

    /// Starts the workload's service, told to cut its waits once this run is asked to stop at
    /// the next chunk (a drain at the end of the task lets the tasks' requests finish).
    fn start_service(&mut self, board: &Arc<Board>, generation: u64) -> Result<(), LaunchError> {
        let board = Arc::clone(board);
        let stopping = Arc::new(move || {
            let header = board.header();
            header.stop.load(Ordering::Relaxed) >= StopLevel::AfterChunk as u32
                || header.generation.load(Ordering::Relaxed) != generation
        });
        self.coordinators
            .start_service(&self.workload, stopping)
            .map_err(|source| LaunchError::Service { workload: self.plan.workload.to_string(), source })
    }

    fn launch(
        &mut self,
        index: usize,
        generation: u64,
        tasks: TaskSource,
        gil: Option<&Arc<InterpreterLock>>,
    ) -> Result<(), Launch> {
        let cpu = self.plan.pinning[index];
        let line = self.coordinators.open_line(&self.workload, &self.board, index).map_err(Launch::Line)?;
        let handle = match self.plan.model {
            // An async plan never reaches here: its workers are the loop's tasks.
            Model::Sequential | Model::Threads | Model::Async => Handle::Thread(
                self.launcher
                    .start_thread(ThreadWorker {
                        index,
                        board: Arc::clone(&self.board),
                        generation,
                        workload: Arc::clone(&self.workload),
                        tasks,
                        cpu,
                        gil: gil.cloned(),
                        terminate: None,
                        line,
                    })
                    .map_err(Launch::Thread)?,
            ),
            Model::Processes => {
                let spec = WorkerSpec {
                    index,
                    board: &self.board,
                    generation,
                    workload: self.workload.as_ref(),
                    tasks,
                    cpu,
                    gil: None,
                    terminate: None,
                };
                let pid = self.start_process(&spec, line)?;
                self.group.get_or_insert(pid);
                Handle::Process(pid)
            }
        };
        self.workers.push(handle);
        Ok(())
    }

    /// Forks or spawns one worker process, as the plan says.
    fn start_process(&self, spec: &WorkerSpec<'_>, line: Option<End>) -> Result<Pid, Launch> {
        match self.plan.start {
            StartMethod::Fork => {
                self.launcher.fork_process(spec, self.group, self.plan.gil, line).map_err(Launch::Fork)
            }
            StartMethod::Spawn => {
                let work = SpawnedWork { workload: &self.plan.workload, switch_interval: self.plan.gil };
                self.launcher.spawn_process(spec, self.group, &work, line).map_err(Launch::Spawn)
            }
        }
    }

    /// Forks a replacement for crashed worker `index` in the same slot; it first redoes the
    /// task in hand and the rest of the block it had taken. A replacement that cannot start is
    /// recorded for the report; the crashed worker then stays ended.
    pub(super) fn respawn(&mut self, index: usize, outcome: WorkerOutcome) {
        let line = match self.coordinators.open_line(&self.workload, &self.board, index) {
            Ok(line) => line,
            Err(source) => {
                self.respawn_failures.push((index, Launch::Line(source).reason()));
                return;
            }
        };
        let slot = self.board.slot(index);
        let current = slot.current_task.load(Ordering::Relaxed);
        let block_end = slot.block_end.load(Ordering::Relaxed);
        let first = if current > 0 { current - 1..block_end.max(current) } else { 0..0 };
        slot.current_task.store(0, Ordering::Relaxed);
        slot.set_state(SlotState::Pending);
        self.timeline.reopen(index);
        let spec = WorkerSpec {
            index,
            board: &self.board,
            generation: self.board.header().generation.load(Ordering::Relaxed),
            workload: self.workload.as_ref(),
            tasks: TaskSource::Dynamic { chunk: self.plan.chunk, first },
            cpu: self.plan.pinning[index],
            gil: None,
            terminate: None,
        };
        match self.start_process(&spec, line) {
            Ok(pid) => {
                self.workers[index] = Handle::Process(pid);
                self.replaced.push((index, outcome));
            }
            Err(failure) => self.respawn_failures.push((index, failure.reason())),
        }
    }

    /// Used when a launch fails: stop at once, SIGTERM what was started, give it
    /// [`TERM_TO_KILL`] to leave, then SIGKILL and reap (and join) everything.
    fn abort(&mut self) {
        self.request_stop(StopReason::User);
        let now_ns = monotonic_ns();
        self.signal_live(Signal::SIGTERM);
        let terminated = Stopping::requested(StopReason::User, now_ns, Duration::ZERO)
            .after(Due::TerminateProcessesAndAbandonThreads, now_ns);
        while self.phase() != Phase::Ended && shutdown::due(&terminated, monotonic_ns()) != Due::KillProcesses {
            self.reap(false);
            std::thread::sleep(Duration::from_millis(2));
        }
        self.kill_live();
        self.reap(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::launcher::fake::RefusingLauncher;
    use crate::engine::{Engine, PlanRequest};
    use crate::workload::by_name;

    /// Threads of this process named like worker `index`'s.
    fn worker_threads_named(indexes: &[usize]) -> usize {
        let names: Vec<String> = indexes.iter().map(|index| format!("worker-{index}\n")).collect();
        std::fs::read_dir("/proc/self/task")
            .expect("procfs")
            .filter_map(Result::ok)
            .filter(|task| std::fs::read_to_string(task.path().join("comm")).is_ok_and(|comm| names.contains(&comm)))
            .count()
    }

    #[test]
    fn a_refused_launch_names_the_worker_and_stops_and_reaps_those_already_started() {
        let engine = Engine::new().expect("board");
        for model in [Model::Processes, Model::Threads] {
            // Tasks of 5 s: the first two workers are still inside theirs when worker 2 fails.
            let plan = PlanRequest {
                workers: Some(4),
                tasks: 4,
                size: Some(5000),
                ..PlanRequest::new(by_name("io").expect("io"), model)
            }
            .validate()
            .expect("plan");
            let launcher = Arc::new(RefusingLauncher::new(2, 0));
            let Err(error) = Run::launch_all(engine.board(), &plan, Arc::clone(&launcher) as Arc<dyn Launcher>) else {
                panic!("{model}: the launch of worker 2 was refused, yet the run started");
            };
            let message = error.to_string();
            assert!(message.contains("worker 2") && message.contains("2 worker(s) already started"), "{message}");
            let forked = launcher.forked.lock().expect("not poisoned").clone();
            if model == Model::Processes {
                assert_eq!(forked.len(), 2, "{model}");
                for pid in forked {
                    // Reaped already: no child of ours by that pid is left, not even a zombie.
                    let waited = nix::sys::wait::waitpid(pid, Some(nix::sys::wait::WaitPidFlag::WNOHANG));
                    assert_eq!(waited, Err(nix::Error::ECHILD), "{model}: worker {pid} was not reaped");
                }
            } else {
                assert!(forked.is_empty(), "{model}");
                // Joined before the error returned: each had already left its loop at the stop
                // flag, in the middle of a 5 s task.
                for index in 0..2 {
                    let state = engine.board().slot(index).state();
                    assert_eq!(state, SlotState::Cancelled, "{model}: worker {index}");
                }
                // A joined thread's task entry may outlive the join by a moment of its exit.
                let deadline = Instant::now() + Duration::from_secs(1);
                while worker_threads_named(&[0, 1]) > 0 && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(5));
                }
                assert_eq!(worker_threads_named(&[0, 1]), 0, "{model}: a started worker thread is still alive");
            }
        }
    }

    #[test]
    fn a_refused_replacement_is_recorded_with_its_reason() {
        let engine = Engine::new().expect("board");
        // Worker 0 panics on its first task; its process exits and its replacement is refused.
        // Tasks of a few milliseconds: worker 1 cannot take them all before worker 0 takes one.
        let plan = PlanRequest {
            workers: Some(2),
            tasks: 6,
            size: Some(20_000_000),
            schedule: Schedule::Dynamic,
            respawn: true,
            ..PlanRequest::new(by_name("crash").expect("crash"), Model::Processes)
        }
        .with_option("crash-at", "1")
        .validate()
        .expect("plan");
        let launcher = Arc::new(RefusingLauncher::new(0, 1));
        let Ok(mut run) = Run::launch_all(engine.board(), &plan, launcher) else {
            panic!("the first launches are not refused");
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while run.poll() != Phase::Ended {
            assert!(Instant::now() < deadline, "the run never ended");
            std::thread::sleep(Duration::from_millis(5));
        }
        let report = run.finish();
        assert_eq!(report.respawn_failures.len(), 1, "{:?}", report.respawn_failures);
        let (index, reason) = &report.respawn_failures[0];
        assert_eq!(*index, 0);
        assert!(reason.contains("fork failed") && reason.contains("EAGAIN"), "{reason}");
        assert!(report.workers[0].outcome.is_failure());
        assert!(report.replaced.is_empty());
    }
}
