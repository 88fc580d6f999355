//! Starting workers: every worker of a plan, a crashed worker's replacement (`--respawn`), and
//! the clean-up when a launch fails. What is started comes from the plan; how it is started is
//! the [`Launcher`]'s. Signalling and reaping afterwards are `run/mod.rs`'s.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::handle::Handle;
use super::outcome::WorkerOutcome;
use super::shutdown::{self, Due, StopReason, Stopping};
use super::{Phase, Run};
use crate::board::{monotonic_ns, SlotState};
use crate::engine::plan::{Model, StartMethod};
use crate::engine::workers::gil::InterpreterLock;
use crate::engine::workers::line::End;
use crate::engine::workers::spawned::SpawnedWork;
use crate::engine::workers::threads::ThreadWorker;
use crate::engine::workers::worker::{TaskSource, WorkerSpec};
use crate::engine::LaunchError;

/// Why one launch failed, before the engine knows how many were started.
pub(super) enum Launch {
    Fork(nix::Error),
    Thread(std::io::Error),
    Spawn(std::io::Error),
    Line(std::io::Error),
}

impl Launch {
    /// The launch error of worker `index`, with `started` workers already started.
    pub(super) fn into_error(self, index: usize, started: usize) -> LaunchError {
        match self {
            Self::Fork(source) => LaunchError::Fork { index, started, source },
            Self::Thread(source) => LaunchError::Thread { index, started, source },
            Self::Spawn(source) => LaunchError::Spawn { index, started, source },
            Self::Line(source) => LaunchError::Line { index, started, source },
        }
    }

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
    /// Starts worker `index` into its place.
    pub(super) fn launch(
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
        self.workers[index] = handle;
        Ok(())
    }

    /// Forks or spawns one worker process, as the plan says.
    fn start_process(&self, spec: &WorkerSpec<'_>, line: Option<End>) -> Result<Pid, Launch> {
        match self.plan.start {
            StartMethod::Fork => {
                self.launcher.fork_process(spec, self.group, self.plan.gil, line).map_err(Launch::Fork)
            }
            // Forkserver is multiprocessing's: a native plan never has it.
            StartMethod::Spawn | StartMethod::Forkserver => {
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
        // Kept to be put back if the replacement cannot start: the report then shows the lost
        // worker as it ended, its start-up included, not a replacement that never ran.
        let (requested_ns, state) = (slot.requested_ns.load(Ordering::Relaxed), slot.state());
        let current = slot.current_task.load(Ordering::Relaxed);
        let block_end = slot.block_end.load(Ordering::Relaxed);
        let first = if current > 0 { current - 1..block_end.max(current) } else { 0..0 };
        slot.current_task.store(0, Ordering::Relaxed);
        slot.set_state(SlotState::Pending);
        self.timeline.reopen(index);
        self.observer.reopen(&self.board, index);
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
            Err(failure) => {
                slot.requested_ns.store(requested_ns, Ordering::Relaxed);
                slot.current_task.store(current, Ordering::Relaxed);
                slot.set_state(state);
                self.observer.close(index);
                self.timeline.close(&self.board, self.observer.pending_mut(), index, monotonic_ns());
                self.respawn_failures.push((index, failure.reason()));
            }
        }
    }

    /// Used when a launch fails: stop at once, SIGTERM what was started, give it
    /// [`TERM_TO_KILL`] to leave, then SIGKILL and reap (and join) everything.
    pub(super) fn abort(&mut self) {
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
    use std::sync::Arc;
    use std::time::Instant;

    use super::*;
    use crate::engine::plan::Schedule;
    use crate::engine::workers::launcher::fake::RefusingLauncher;
    use crate::engine::workers::launcher::Launcher;
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
            let Err(error) = Run::launch_all(&engine, &plan, Arc::clone(&launcher) as Arc<dyn Launcher>) else {
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
        // 64 tasks of some milliseconds each: worker 1 cannot take them all before worker 0 takes
        // one, however late a busy machine starts it (6 tasks were not enough at a load of 300).
        let plan = PlanRequest {
            workers: Some(2),
            tasks: 64,
            size: Some(20_000_000),
            schedule: Schedule::Dynamic,
            respawn: true,
            ..PlanRequest::new(by_name("crash").expect("crash"), Model::Processes)
        }
        .with_option("crash-at", "1")
        .validate()
        .expect("plan");
        let launcher = Arc::new(RefusingLauncher::new(0, 1));
        let Ok(mut run) = Run::launch_all(&engine, &plan, launcher) else {
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
        // The start-up of the life that ran, not a difference with the attempt that failed.
        assert!(report.workers[0].startup_seconds > 0.0, "{}", report.workers[0].startup_seconds);
    }

    #[test]
    fn a_worker_killed_from_outside_is_replaced_like_a_crashed_one() {
        let engine = Engine::new().expect("board");
        // Tasks of 100 ms: worker 0 is inside one when it is killed, and its replacement redoes it.
        let plan = PlanRequest {
            workers: Some(2),
            tasks: 8,
            size: Some(100),
            schedule: Schedule::Dynamic,
            respawn: true,
            ..PlanRequest::new(by_name("io").expect("io"), Model::Processes)
        }
        .validate()
        .expect("plan");
        let mut run = engine.start(&plan).expect("start");
        let deadline = Instant::now() + Duration::from_secs(30);
        let slot = engine.board().slot(0);
        while slot.units_done.load(Ordering::Relaxed) == 0 {
            assert!(Instant::now() < deadline, "worker 0 never began a task");
            std::thread::sleep(Duration::from_millis(2));
        }
        let pid = nix::unistd::Pid::from_raw(slot.pid.load(Ordering::Relaxed));
        assert!(run.live_pids().contains(&pid), "worker 0 is {pid}");
        nix::sys::signal::kill(pid, Signal::SIGKILL).expect("kill");
        while run.poll() != Phase::Ended {
            assert!(Instant::now() < deadline, "the run never ended");
            std::thread::sleep(Duration::from_millis(5));
        }
        let report = run.finish();
        assert_eq!(report.replaced, vec![(0, WorkerOutcome::Killed(Signal::SIGKILL))]);
        assert_eq!(report.workers[0].outcome, WorkerOutcome::Done);
        assert_eq!((report.tasks_done, report.checksum_ok()), (8, Some(true)));
    }
}
