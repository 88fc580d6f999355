//! Keeps the dashboard ahead of its own workers: each worker of a dashboard run, thread or
//! process, admits itself at its start (through the engine's [`Pen`]) to idle priority
//! (`SCHED_IDLE`) and, where the dashboard may make one, to a cpu cgroup of their own
//! (`cgroup.rs`). The loop that reads keys and draws stays at normal priority, outside.
//!
//! Why both. The scheduler is fair per thread, so beside 1,000 runnable workers the loop would
//! get a thousandth of the machine and answer a key in seconds; nice 19 is not enough (1,000
//! workers of weight 15 outweigh the loop's 1,024 fifteen to one). `SCHED_IDLE` weighs 3, yet
//! on this kernel a normal thread waking among 1,000 idle-policy threads still waits 46-440 ms
//! at p99 (`benches/wake_floor.c`), and keys took 168-268 ms at p99. In a cgroup of their own
//! the workers are one entity beside the loop, which then wakes within a millisecond. The
//! cgroup has the default weight: a run still gets the whole machine when nothing else wants it,
//! and the share of one busy program beside others. `run` and the benches use no pen, nor does
//! a dashboard run given `run`'s normal priority (`i`): the loop chooses before each run.

use std::sync::Arc;

use super::cgroup::CpuCgroup;
use crate::engine::Pen;

/// Idle priority, and the workers' cgroup when there is one.
#[derive(Debug)]
pub(crate) struct WorkersPen {
    cgroup: Option<CpuCgroup>,
}

impl WorkersPen {
    /// Makes the workers' cgroup if this process may, and says in a phrase where workers run.
    pub(crate) fn new() -> (Arc<Self>, String) {
        match CpuCgroup::create() {
            Ok(cgroup) => {
                let placed = format!("workers at SCHED_IDLE in cpu cgroup {}", cgroup.dir().display());
                (Arc::new(Self { cgroup: Some(cgroup) }), placed)
            }
            Err(why) => {
                (Arc::new(Self { cgroup: None }), format!("workers at SCHED_IDLE, in no cgroup of their own: {why}"))
            }
        }
    }

    /// True when workers join a cgroup of their own, not only idle priority.
    pub(crate) fn in_cgroup(&self) -> bool {
        self.cgroup.is_some()
    }
}

impl Pen for WorkersPen {
    fn admit(&self) {
        if let Some(cgroup) = &self.cgroup {
            // Refused: the worker runs beside the loop, at idle priority still.
            let _ = cgroup.admit_caller();
        }
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: the calling thread, and a parameter block that lives across the call.
        unsafe {
            libc::sched_setscheduler(0, libc::SCHED_IDLE, &raw const param);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::engine::{Engine, Model, Phase, PlanRequest, StopReason};
    use crate::workload::by_name;

    /// `/proc/self/task/TID/cgroup`.
    fn task_file(tid: i32, file: &str) -> String {
        std::fs::read_to_string(format!("/proc/self/task/{tid}/{file}")).unwrap_or_default()
    }

    fn policy_of(tid: i32) -> i32 {
        crate::engine::workers::pen::fake::policy_of(std::process::id() as i32, tid)
    }

    /// The dashboard's workers run at idle priority, in the workers' cgroup when one could be
    /// made (as root, as on CI); the caller keeps its priority and its cgroup.
    #[test]
    fn every_worker_thread_goes_idle_priority_and_into_the_cgroup_and_the_caller_does_not() {
        let caller = nix::unistd::gettid().as_raw();
        let (caller_policy, caller_cgroup) = (policy_of(caller), task_file(caller, "cgroup"));
        let (pen, placed) = WorkersPen::new();
        let pen_dir = pen.cgroup.as_ref().map(|cgroup| cgroup.dir().to_string_lossy().into_owned());
        let writable = nix::unistd::access("/sys/fs/cgroup/cpu", nix::unistd::AccessFlags::W_OK).is_ok();
        assert_eq!(pen_dir.is_some(), writable, "{placed}");
        let mut engine = Engine::new().expect("board");
        engine.pen_workers(Some(pen));
        let plan = PlanRequest {
            workers: Some(3),
            tasks: 3,
            size: Some(2000),
            ..PlanRequest::new(by_name("io").expect("io"), Model::Threads)
        }
        .validate()
        .expect("plan");
        let mut run = engine.start(&plan).expect("start");
        let tids = || (0..3).map(|index| run.board().slot(index).tid.load(Ordering::Relaxed)).collect::<Vec<_>>();
        // `1:cpu:/concur-tui-PID` among the thread's cgroups.
        let pen_name = pen_dir.as_deref().and_then(|dir| dir.rsplit('/').next()).map(str::to_owned);
        let penned = |tid: i32| {
            pen_name.as_ref().is_none_or(|name| {
                task_file(tid, "cgroup")
                    .lines()
                    .any(|line| line.ends_with(&format!(":/{name}")) || line.ends_with(&format!("/{name}")))
            })
        };
        let started = Instant::now();
        let admitted = || tids().iter().all(|tid| *tid > 0 && policy_of(*tid) == libc::SCHED_IDLE && penned(*tid));
        while !admitted() && started.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(5));
        }
        let report = tids().iter().map(|tid| (policy_of(*tid), task_file(*tid, "cgroup"))).collect::<Vec<_>>();
        let (all_admitted, workers) = (admitted(), tids());
        run.request_stop(StopReason::User);
        run.escalate();
        while run.poll() != Phase::Ended {
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = run.finish();
        assert!(all_admitted, "workers {workers:?}: {report:?}");
        assert_eq!(policy_of(caller), caller_policy, "the caller keeps its priority");
        assert_eq!(task_file(caller, "cgroup"), caller_cgroup, "the caller keeps its cgroup");
        drop(engine);
        if let Some(dir) = pen_dir {
            assert!(!std::path::Path::new(&dir).exists(), "{dir} outlived the engine that held it");
        }
    }
}
