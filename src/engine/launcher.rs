//! Starting one worker, behind a trait: [`OsLauncher`] asks the OS (thread, fork, spawn, host).
//! A launcher only starts; it never signals, reaps or decides what to start (that is
//! `launch.rs`).

use std::thread::JoinHandle;
use std::time::Duration;

use nix::unistd::Pid;

use super::host::{self, HostedGroup};
use super::line::End;
use super::processes;
use super::spawned::{self, SpawnedWork};
use super::threads::{self, ThreadResult, ThreadWorker};
use super::worker::WorkerSpec;

/// The ways the engine starts a worker.
pub(crate) trait Launcher: Send + Sync {
    /// Starts a worker thread in this process.
    fn start_thread(&self, worker: ThreadWorker) -> std::io::Result<JoinHandle<ThreadResult>>;

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
}

/// The real thing.
pub(crate) struct OsLauncher;

impl Launcher for OsLauncher {
    fn start_thread(&self, worker: ThreadWorker) -> std::io::Result<JoinHandle<ThreadResult>> {
        threads::spawn_worker(worker)
    }

    fn fork_process(
        &self,
        spec: &WorkerSpec<'_>,
        group: Option<Pid>,
        switch_interval: Option<Duration>,
        line: Option<End>,
    ) -> nix::Result<Pid> {
        processes::fork_worker(spec, group, switch_interval, line)
    }

    fn spawn_process(
        &self,
        spec: &WorkerSpec<'_>,
        group: Option<Pid>,
        work: &SpawnedWork<'_>,
        line: Option<End>,
    ) -> std::io::Result<Pid> {
        spawned::spawn_worker(spec, group, work, line)
    }

    fn fork_host(&self, group: HostedGroup<'_>) -> nix::Result<Pid> {
        host::fork_host(group)
    }
}
