//! Keeps the dashboard ahead of its own workers: while a run lasts, a thread of its own moves
//! each worker, thread or process, to the `SCHED_IDLE` policy within a few milliseconds of its
//! appearing on the board, so that a thousand busy workers can starve neither the launch nor
//! the loop that reads keys and draws.
//!
//! Why: the scheduler is fair per thread, so beside 1,000 runnable workers the loop would get a
//! thousandth of the machine and answer a key in seconds. Nice 19 was measured not to be
//! enough (1,000 workers of weight 15 still outweigh the loop's 1,024 fifteen to one);
//! `SCHED_IDLE` weighs 3 and is preempted at once when the loop wakes. With autogroup (the
//! Linux default, one group per session) this only splits the session's share between the
//! dashboard and its workers; the run as a whole competes with other programs as before. A thread of its own,
//! not the loop, because the loop is busy launching while the first workers already compute.
//! It changes no worker's state and sends no signal: the engine alone starts, signals, reaps.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam::channel::{unbounded, Receiver, RecvTimeoutError, Sender};

use crate::board::{Board, SlotState, MAX_WORKERS};

/// How often the board is scanned for new workers while a run lasts.
const SCAN_EVERY: Duration = Duration::from_millis(5);

/// The demoting thread; dropping it stops the thread.
pub(crate) struct Demoter {
    /// True while a run lasts; dropping it stops the thread.
    running: Option<Sender<bool>>,
    thread: Option<JoinHandle<()>>,
}

impl Demoter {
    /// Starts the thread, idle (blocked on its channel) until a run starts.
    pub(crate) fn start(board: Arc<Board>) -> std::io::Result<Self> {
        let (running, told) = unbounded();
        let thread = std::thread::Builder::new().name("demoter".into()).spawn(move || watch(&board, &told))?;
        Ok(Self { running: Some(running), thread: Some(thread) })
    }

    /// Says whether a run lasts: scan the board, or rest.
    pub(crate) fn set_running(&self, running: bool) {
        if let Some(sender) = &self.running {
            // The thread only ends when this side is dropped; nothing to report.
            let _ = sender.send(running);
        }
    }
}

impl Drop for Demoter {
    fn drop(&mut self) {
        drop(self.running.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn watch(board: &Board, told: &Receiver<bool>) {
    let mut seen = Demoted::default();
    let mut running = false;
    loop {
        let news = if running {
            told.recv_timeout(SCAN_EVERY)
        } else {
            told.recv().map_err(|_| RecvTimeoutError::Disconnected)
        };
        match news {
            Ok(now) => {
                running = now;
                seen.clear();
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if running {
            seen.catch_up(board);
        }
    }
}

/// Which thread of each slot was last demoted, so each is demoted once.
#[derive(Debug, Default)]
pub(crate) struct Demoted {
    tids: Vec<i32>,
}

impl Demoted {
    /// Demotes the live workers on `board` not seen yet (new, or replaced). One load per slot
    /// when nothing is new.
    pub(crate) fn catch_up(&mut self, board: &Board) {
        self.tids.resize(MAX_WORKERS, 0);
        for (slot, seen) in board.slots().iter().zip(self.tids.iter_mut()) {
            let tid = slot.tid.load(Ordering::Relaxed);
            // Only a worker that runs now: an ended one's tid may already name another thread.
            if tid > 0 && tid != *seen && matches!(slot.state(), SlotState::Running | SlotState::Paused) {
                demote(tid);
                *seen = tid;
            }
        }
    }

    /// Forgets the last run's threads.
    pub(crate) fn clear(&mut self) {
        self.tids.clear();
    }
}

/// Moves one thread to `SCHED_IDLE`, which any process may do to its own threads and
/// children. Failure (the thread just ended) changes nothing worth saying.
fn demote(tid: i32) {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: a thread id and a pointer to a parameter block that lives across the call.
    unsafe {
        libc::sched_setscheduler(tid, libc::SCHED_IDLE, &raw const param);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, Model, Phase, PlanRequest, StopReason};
    use crate::workload::by_name;

    /// A thread's scheduling policy, from /proc.
    fn policy_of(tid: i32) -> i32 {
        let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap_or_default();
        // The fields after the command's closing parenthesis; the policy is the 41st overall.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        after.split_whitespace().nth(38).and_then(|policy| policy.parse().ok()).unwrap_or(-1)
    }

    #[test]
    fn every_worker_thread_goes_idle_priority_and_the_dashboard_does_not() {
        let caller_policy = policy_of(nix::unistd::gettid().as_raw());
        let engine = Engine::new().expect("board");
        let demoter = Demoter::start(Arc::clone(engine.board())).expect("demoter");
        let plan = PlanRequest {
            workers: Some(3),
            tasks: 3,
            size: Some(2000),
            ..PlanRequest::new(by_name("io").expect("io"), Model::Threads)
        }
        .validate()
        .expect("plan");
        demoter.set_running(true);
        let mut run = engine.start(&plan).expect("start");
        let tids = || (0..3).map(|index| run.board().slot(index).tid.load(Ordering::Relaxed)).collect::<Vec<_>>();
        let all_demoted = wait_for(|| tids().iter().all(|tid| *tid > 0 && policy_of(*tid) == libc::SCHED_IDLE));
        assert!(
            all_demoted,
            "workers {:?} with policies {:?}",
            tids(),
            tids().iter().map(|tid| policy_of(*tid)).collect::<Vec<_>>()
        );
        assert_eq!(policy_of(nix::unistd::gettid().as_raw()), caller_policy, "the caller keeps its priority");
        demoter.set_running(false);
        drop(demoter);
        run.request_stop(StopReason::User);
        run.escalate();
        while run.poll() != Phase::Ended {
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = run.finish();
    }

    /// Polls `done` for up to 30 s: a hang detector, generous on a busy machine.
    fn wait_for(mut done: impl FnMut() -> bool) -> bool {
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if done() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }
}
