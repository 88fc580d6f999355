//! Forked worker processes: the fork discipline of DESIGN.md, and reaping with `wait4`.
//!
//! Between `fork` and `_exit` the child runs only async-signal-safe calls and the worker loop,
//! which stores atomics into the inherited board and allocates at most (glibc's malloc is
//! fork-safe). It never prints, never touches a channel, the terminal or a lock another thread
//! may hold, and never returns into the parent's code.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::unistd::{fork, getpid, getppid, setpgid, ForkResult, Pid};

use super::gil::InterpreterLock;
use super::line::End;
use super::pen::Pen;
use super::worker::{note_panicked, run_worker_since, WorkerSpec};
use crate::board::{monotonic_ns, SlotState};

/// Exit code of a worker process whose workload panicked.
pub(crate) const EXIT_PANICKED: i32 = 101;
/// Exit code of a worker process whose parent died before it could arm PDEATHSIG.
pub(crate) const EXIT_ORPHANED: i32 = 3;
/// Exit code of a worker (thread or process) that left because a task failed.
pub(crate) const EXIT_TASK_FAILED: i32 = 4;

/// Raised by SIGTERM in a worker process: stop after this chunk. Only ever set in a child.
static TERMINATE: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigterm(_: libc::c_int) {
    TERMINATE.store(true, Ordering::Relaxed);
}

/// Forks one worker. In the child this never returns. `group` is the run's process group (None:
/// the child founds it). `line` is the worker's end of its line: the child keeps it, the parent
/// closes its copy.
pub(crate) fn fork_worker(
    spec: &WorkerSpec<'_>,
    group: Option<Pid>,
    switch_interval: Option<std::time::Duration>,
    line: Option<End>,
    pen: Option<&Arc<dyn Pen>>,
) -> nix::Result<Pid> {
    let parent = getpid();
    spec.board.slot(spec.index).requested_ns.store(monotonic_ns(), Ordering::Relaxed);
    // SAFETY: the child runs only `child_main`, which keeps to the discipline above.
    match unsafe { fork() }? {
        ForkResult::Child => {
            // The child's first instruction, as C's floor reads it: what follows is the worker
            // making itself a worker, not the operating system starting it.
            let started = monotonic_ns();
            super::pen::admit(pen);
            child_main(spec, parent, group, switch_interval, line, started)
        }
        ForkResult::Parent { child } => {
            drop(line);
            // Also done by the child; doing it here closes the race where the parent signals
            // the group before the child has joined it. Failure (child already gone) is harmless.
            let _ = setpgid(child, group.unwrap_or(child));
            Ok(child)
        }
    }
}

fn child_main(
    spec: &WorkerSpec<'_>,
    parent: Pid,
    group: Option<Pid>,
    switch_interval: Option<std::time::Duration>,
    line: Option<End>,
    started: u64,
) -> ! {
    become_worker_process(parent, group);
    // Each process has its own interpreter lock, so processes never wait for one another's.
    let own_lock = switch_interval.map(InterpreterLock::new);
    let child_spec =
        WorkerSpec { gil: own_lock.as_ref(), terminate: Some(&TERMINATE), tasks: spec.tasks.clone(), ..*spec };
    match std::panic::catch_unwind(AssertUnwindSafe(|| run_worker_since(&child_spec, line, started))) {
        Ok(SlotState::Failed) => exit_now(EXIT_TASK_FAILED),
        Ok(_) => exit_now(0),
        Err(_) => {
            note_panicked(spec.board, spec.index);
            exit_now(EXIT_PANICKED)
        }
    }
}

/// The first acts of any forked child of the engine: die with the parent (and leave if it is
/// already gone), join the run's process group, leave SIGINT to the parent, take SIGTERM as
/// "stop after this chunk" (it raises [`terminate_flag`]).
pub(crate) fn become_worker_process(parent: Pid, group: Option<Pid>) {
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
    if getppid() != parent {
        // The parent died before PDEATHSIG was armed: nobody will reap or stop us.
        exit_now(EXIT_ORPHANED);
    }
    let _ = setpgid(Pid::from_raw(0), group.unwrap_or(Pid::from_raw(0)));
    let ignore = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
    let terminate = SigAction::new(SigHandler::Handler(on_sigterm), SaFlags::SA_RESTART, SigSet::empty());
    // SAFETY: installing handlers that only store an atomic, in a single-threaded child.
    unsafe {
        let _ = sigaction(Signal::SIGINT, &ignore);
        let _ = sigaction(Signal::SIGHUP, &ignore);
        let _ = sigaction(Signal::SIGTERM, &terminate);
    }
    let _ = nix::sys::signal::sigprocmask(nix::sys::signal::SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
}

/// Raised by SIGTERM in a process made by [`become_worker_process`].
#[must_use]
pub(crate) fn terminate_flag() -> &'static AtomicBool {
    &TERMINATE
}

/// Leaves the process at once: no destructors, no atexit handlers, no stdio flush.
pub(crate) fn exit_now(code: i32) -> ! {
    // SAFETY: _exit is async-signal-safe and never returns.
    unsafe { libc::_exit(code) }
}

/// What `wait4` tells about a child that ended.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reaped {
    pub status: i32,
    pub cpu_ns: u64,
    pub max_rss_bytes: u64,
}

/// Reaps `pid` if it has ended, without blocking.
pub(crate) fn try_reap(pid: Pid) -> nix::Result<Option<Reaped>> {
    wait_for(pid, libc::WNOHANG)
}

/// Blocks until `pid` ends and reaps it.
pub(crate) fn reap_blocking(pid: Pid) -> nix::Result<Option<Reaped>> {
    wait_for(pid, 0)
}

fn wait_for(pid: Pid, flags: libc::c_int) -> nix::Result<Option<Reaped>> {
    let mut status = 0;
    // SAFETY: rusage is plain old data; wait4 fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: valid pointers to locals.
        let got = unsafe { libc::wait4(pid.as_raw(), &raw mut status, flags, &raw mut usage) };
        if got == 0 {
            return Ok(None);
        }
        if got < 0 {
            let errno = nix::Error::last();
            if errno == nix::Error::EINTR {
                continue;
            }
            return Err(errno);
        }
        let micros = |tv: libc::timeval| {
            u64::try_from(tv.tv_sec).unwrap_or(0) * 1_000_000 + u64::try_from(tv.tv_usec).unwrap_or(0)
        };
        return Ok(Some(Reaped {
            status,
            cpu_ns: (micros(usage.ru_utime) + micros(usage.ru_stime)) * 1000,
            max_rss_bytes: u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024,
        }));
    }
}

/// Sends `signal` to `pid`, ignoring a child that is already gone.
pub(crate) fn signal(pid: Pid, signal: Signal) {
    let _ = nix::sys::signal::kill(pid, signal);
}
