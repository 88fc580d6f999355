//! Keeps the dashboard ahead of its own workers: each worker, thread or process, is reniced to
//! [`WORKER_NICE`] as soon as it shows up on the board, so that a thousand busy workers cannot
//! starve the loop that reads keys and draws.
//!
//! Why: the scheduler is fair per thread, so beside 1,000 runnable workers the loop would get a
//! thousandth of the machine and answer a key in seconds. With autogroup (the Linux default,
//! one group per session) nice only splits the session's share between the dashboard and its
//! workers; the run as a whole competes with other programs exactly as before. It changes no
//! worker's state and sends no signal: the engine still alone starts, signals and reaps.

use std::sync::atomic::Ordering;

use crate::board::SlotState;
use crate::engine::Run;

/// The workers' nice value: the lowest priority, so the dashboard's weight (nice 0, 1024) is
/// about six per cent of the session's beside 1,000 workers (15 each).
pub(crate) const WORKER_NICE: i32 = 19;

/// Which thread of each slot was last reniced, so each is reniced once.
#[derive(Debug, Default)]
pub(crate) struct Reniced {
    tids: Vec<i32>,
}

impl Reniced {
    /// Renices the live workers of `run` not seen yet (new, or replaced). Costs one load per
    /// slot when nothing is new.
    pub(crate) fn catch_up(&mut self, run: &Run) {
        let workers = run.plan().workers;
        self.tids.resize(workers, 0);
        let board = run.board();
        for (index, seen) in self.tids.iter_mut().enumerate() {
            let slot = board.slot(index);
            let tid = slot.tid.load(Ordering::Relaxed);
            // Only a worker that runs now: an ended one's tid may already name another thread.
            if tid > 0 && tid != *seen && matches!(slot.state(), SlotState::Running | SlotState::Paused) {
                renice(tid);
                *seen = tid;
            }
        }
    }

    /// Forgets the last run's threads.
    pub(crate) fn clear(&mut self) {
        self.tids.clear();
    }
}

/// Lowers one thread's priority. Failure (the thread just ended) changes nothing worth saying.
fn renice(tid: i32) {
    // SAFETY: setpriority takes plain integers; on Linux PRIO_PROCESS with a thread id sets
    // that one thread's nice value.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, WORKER_NICE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, Model, PlanRequest};
    use crate::workload::by_name;

    fn nice_of(tid: i32) -> i32 {
        let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap_or_default();
        // The fields after the command's closing parenthesis; nice is the 19th field overall.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        after.split_whitespace().nth(16).and_then(|nice| nice.parse().ok()).unwrap_or(i32::MIN)
    }

    #[test]
    fn every_live_worker_thread_is_reniced_once_and_the_caller_is_not() {
        let caller_nice = nice_of(nix::unistd::gettid().as_raw());
        let engine = Engine::new().expect("board");
        let plan = PlanRequest {
            workers: Some(3),
            tasks: 3,
            size: Some(2000),
            ..PlanRequest::new(by_name("io").expect("io"), Model::Threads)
        }
        .validate()
        .expect("plan");
        let mut run = engine.start(&plan).expect("start");
        let mut reniced = Reniced::default();
        let started = std::time::Instant::now();
        while reniced.tids.iter().filter(|tid| **tid > 0).count() < 3 && started.elapsed().as_secs() < 30 {
            run.poll();
            reniced.catch_up(&run);
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let tids = reniced.tids.clone();
        assert!(tids.iter().all(|tid| *tid > 0), "{tids:?}");
        for tid in &tids {
            assert_eq!(nice_of(*tid), WORKER_NICE, "worker thread {tid}");
        }
        assert_eq!(nice_of(nix::unistd::gettid().as_raw()), caller_nice, "the caller keeps its priority");
        run.request_stop(crate::engine::StopReason::User);
        while run.poll() != crate::engine::Phase::Ended {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let _ = run.finish();
    }
}
