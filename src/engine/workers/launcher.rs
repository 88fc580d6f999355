//! Starting one worker, behind a trait: [`OsLauncher`] asks the OS (thread, fork, spawn, host,
//! event loop);
//! tests swap in a launcher that refuses a launch on purpose, the way to reach the clean-up
//! paths (root is exempt from RLIMIT_NPROC, so the OS cannot be made to refuse). A launcher only
//! starts; it never signals, reaps or decides what to start (that is `launch.rs`).

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use nix::unistd::Pid;

use super::bare_thread::BareThread;
use super::event_loop::{self, LoopGroup, LoopResult};
use super::host::{self, HostedGroup};
use super::line::End;
use super::pen::Pen;
use super::processes;
use super::python::{self, PythonGroup, PythonHost};
use super::spawned::{self, SpawnedWork};
use super::threads::{self, ThreadResult, ThreadWorker};
use super::worker::WorkerSpec;

/// The ways the engine starts a worker.
pub(crate) trait Launcher: Send + Sync {
    /// Starts a worker thread in this process.
    fn start_thread(&self, worker: ThreadWorker) -> std::io::Result<BareThread<ThreadResult>>;

    /// Forks a worker process into `group` (None: it founds the group).
    fn fork_process(
        &self,
        spec: &WorkerSpec<'_>,
        group: Option<Pid>,
        switch_interval: Option<Duration>,
        line: Option<End>,
    ) -> nix::Result<Pid>;

    /// Starts a worker process by re-executing this program.
    fn spawn_process(
        &self,
        spec: &WorkerSpec<'_>,
        group: Option<Pid>,
        work: &SpawnedWork<'_>,
        line: Option<End>,
    ) -> std::io::Result<Pid>;

    /// Forks the host process of a thread group that may take its process down.
    fn fork_host(&self, group: HostedGroup<'_>) -> nix::Result<Pid>;

    /// Starts the async model's event loop thread with every worker as a task of it.
    fn start_loop(&self, group: LoopGroup) -> std::io::Result<JoinHandle<LoopResult>>;

    /// Starts the Python runtime's host process, which starts every worker.
    fn start_python(&self, group: &PythonGroup<'_>) -> std::io::Result<PythonHost> {
        python::start_host(group, None)
    }
}

/// The real thing; each worker it starts admits itself to the front end's pen, if any.
#[derive(Default)]
pub(crate) struct OsLauncher {
    pub pen: Option<Arc<dyn Pen>>,
}

impl Launcher for OsLauncher {
    fn start_thread(&self, worker: ThreadWorker) -> std::io::Result<BareThread<ThreadResult>> {
        threads::spawn_worker(worker, self.pen.clone())
    }

    fn fork_process(
        &self,
        spec: &WorkerSpec<'_>,
        group: Option<Pid>,
        switch_interval: Option<Duration>,
        line: Option<End>,
    ) -> nix::Result<Pid> {
        processes::fork_worker(spec, group, switch_interval, line, self.pen.as_ref())
    }

    fn spawn_process(
        &self,
        spec: &WorkerSpec<'_>,
        group: Option<Pid>,
        work: &SpawnedWork<'_>,
        line: Option<End>,
    ) -> std::io::Result<Pid> {
        spawned::spawn_worker(spec, group, work, line, self.pen.clone())
    }

    fn fork_host(&self, group: HostedGroup<'_>) -> nix::Result<Pid> {
        host::fork_host(group, self.pen.as_ref())
    }

    fn start_loop(&self, group: LoopGroup) -> std::io::Result<JoinHandle<LoopResult>> {
        event_loop::spawn_loop(group, self.pen.clone())
    }

    fn start_python(&self, group: &PythonGroup<'_>) -> std::io::Result<PythonHost> {
        python::start_host(group, self.pen.clone())
    }
}

#[cfg(test)]
pub(crate) mod fake {
    //! A launcher that refuses one launch as the OS does when it runs out of processes or
    //! threads (EAGAIN), and records the pids it forked so a test can check they were reaped;
    //! and one that takes a millisecond over each start, as on a loaded machine, so that a
    //! launch slice starts only a few workers whatever the machine.

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use super::*;

    pub(crate) struct RefusingLauncher {
        /// The worker whose launch is refused…
        worker: usize,
        /// …on its n-th launch (0: the first; 1: its first replacement).
        attempt: usize,
        attempts: AtomicUsize,
        pub forked: Mutex<Vec<Pid>>,
    }

    impl RefusingLauncher {
        pub(crate) fn new(worker: usize, attempt: usize) -> Self {
            Self { worker, attempt, attempts: AtomicUsize::new(0), forked: Mutex::new(Vec::new()) }
        }

        /// True when this launch of `index` is the one to refuse.
        fn refuses(&self, index: usize) -> bool {
            index == self.worker && self.attempts.fetch_add(1, Ordering::Relaxed) == self.attempt
        }

        fn record(&self, pid: Pid) -> Pid {
            self.forked.lock().expect("no test panics while holding it").push(pid);
            pid
        }
    }

    impl Launcher for RefusingLauncher {
        fn start_thread(&self, worker: ThreadWorker) -> std::io::Result<BareThread<ThreadResult>> {
            if self.refuses(worker.index) {
                return Err(std::io::Error::from_raw_os_error(libc::EAGAIN));
            }
            OsLauncher::default().start_thread(worker)
        }

        fn fork_process(
            &self,
            spec: &WorkerSpec<'_>,
            group: Option<Pid>,
            switch_interval: Option<Duration>,
            line: Option<End>,
        ) -> nix::Result<Pid> {
            if self.refuses(spec.index) {
                return Err(nix::Error::EAGAIN);
            }
            OsLauncher::default().fork_process(spec, group, switch_interval, line).map(|pid| self.record(pid))
        }

        fn spawn_process(
            &self,
            spec: &WorkerSpec<'_>,
            group: Option<Pid>,
            work: &SpawnedWork<'_>,
            line: Option<End>,
        ) -> std::io::Result<Pid> {
            if self.refuses(spec.index) {
                return Err(std::io::Error::from_raw_os_error(libc::EAGAIN));
            }
            OsLauncher::default().spawn_process(spec, group, work, line).map(|pid| self.record(pid))
        }

        fn fork_host(&self, group: HostedGroup<'_>) -> nix::Result<Pid> {
            OsLauncher::default().fork_host(group).map(|pid| self.record(pid))
        }

        fn start_loop(&self, group: LoopGroup) -> std::io::Result<JoinHandle<LoopResult>> {
            if self.refuses(0) {
                return Err(std::io::Error::from_raw_os_error(libc::EAGAIN));
            }
            OsLauncher::default().start_loop(group)
        }
    }

    /// Starts every worker as the OS does, a millisecond late.
    pub(crate) struct SlowLauncher;

    impl SlowLauncher {
        fn wait() {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    impl Launcher for SlowLauncher {
        fn start_thread(&self, worker: ThreadWorker) -> std::io::Result<BareThread<ThreadResult>> {
            Self::wait();
            OsLauncher::default().start_thread(worker)
        }

        fn fork_process(
            &self,
            spec: &WorkerSpec<'_>,
            group: Option<Pid>,
            switch_interval: Option<Duration>,
            line: Option<End>,
        ) -> nix::Result<Pid> {
            Self::wait();
            OsLauncher::default().fork_process(spec, group, switch_interval, line)
        }

        fn spawn_process(
            &self,
            spec: &WorkerSpec<'_>,
            group: Option<Pid>,
            work: &SpawnedWork<'_>,
            line: Option<End>,
        ) -> std::io::Result<Pid> {
            Self::wait();
            OsLauncher::default().spawn_process(spec, group, work, line)
        }

        fn fork_host(&self, group: HostedGroup<'_>) -> nix::Result<Pid> {
            OsLauncher::default().fork_host(group)
        }

        fn start_loop(&self, group: LoopGroup) -> std::io::Result<JoinHandle<LoopResult>> {
            Self::wait();
            OsLauncher::default().start_loop(group)
        }
    }
}
