//! Where and how a front end wants its workers to run, apart from its own threads: the
//! dashboard keeps them at idle priority in a cpu cgroup of their own (`dashboard/priority.rs`).
//!
//! Each worker admits itself as its first act: a worker thread on its own thread, a process in
//! the child before anything else (before `exec` for a spawned one), the async model's loop
//! thread and a hosted group's process before their workers, which inherit it. So no thread
//! ever moves another: moving another thread takes a global lock that waits for an RCU grace
//! period (1.9 s for 1,000 threads here) and holds up every fork meanwhile.

use std::sync::Arc;

/// What a worker does first, on its own thread, to join the pen.
pub(crate) trait Pen: Send + Sync {
    /// Moves the calling thread in. It runs between `fork` and `exec`: only async-signal-safe
    /// calls (no allocation, no lock), and a failure is the worker running outside the pen.
    fn admit(&self);
}

/// Admits the calling thread to `pen`, if there is one.
pub(super) fn admit(pen: Option<&Arc<dyn Pen>>) {
    if let Some(pen) = pen {
        pen.admit();
    }
}

#[cfg(test)]
pub(crate) mod fake {
    //! A pen whose mark is visible from outside: the batch scheduling policy, which nothing
    //! else in the program sets.

    use super::Pen;

    /// The scheduling policy of thread `tid` of process `pid`, from /proc (-1 if it is gone):
    /// how a test sees that a worker was admitted.
    pub(crate) fn policy_of(pid: i32, tid: i32) -> i32 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).unwrap_or_default();
        // The fields after the command's closing parenthesis; the policy is the 41st overall.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        after.split_whitespace().nth(38).and_then(|policy| policy.parse().ok()).unwrap_or(-1)
    }

    pub(crate) struct BatchPen;

    impl Pen for BatchPen {
        fn admit(&self) {
            let param = libc::sched_param { sched_priority: 0 };
            // SAFETY: the calling thread, and a parameter block that lives across the call.
            unsafe {
                libc::sched_setscheduler(0, libc::SCHED_BATCH, &raw const param);
            }
        }
    }
}
