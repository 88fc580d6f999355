//! What runs in a worker, and the OS calls that start it. Everything here may run after `fork`
//! in a child, so this folder is the one to review for the fork rules (DESIGN.md): no lock
//! another thread may hold, no printing, no channel; report through the board and the exit
//! status only. Nothing here reaps, times or presents a run: that is `run/`'s.
//!
//! - `launcher.rs`: how one worker is started (thread, fork, spawn, host, event loop), behind
//!   the `Launcher` trait so tests can refuse a launch.
//! - `threads.rs`, `processes.rs`, `spawned.rs` (re-exec of the binary), `host.rs` (one forked
//!   process hosting a group of thread workers) and `event_loop.rs` (the async model: one
//!   thread, each worker a task of its loop): the ways a worker exists.
//! - `bare_thread.rs`: a thread from `pthread_create` alone, so a worker thread starts as fast
//!   as C's.
//! - `worker.rs`: the worker loop's steps, the same in every model.
//! - `hooks.rs`: what a worker lends its tasks: progress, stop, pause, state changes.
//! - `gil.rs`: the emulated interpreter lock.
//! - `line.rs`: a worker's line to the program, for workloads that talk.
//! - `pen.rs`: where and how a front end wants its workers to run, behind a trait; each worker
//!   admits itself at its start.
//! - `python/`: the Python runtime's host process and the runner it runs, which starts
//!   CPython's own threads, processes, pools or asyncio tasks as the run's workers.

pub(crate) mod bare_thread;
pub(crate) mod event_loop;
pub(crate) mod gil;
pub(crate) mod hooks;
pub(crate) mod host;
pub(crate) mod launcher;
pub(crate) mod line;
pub(crate) mod pen;
pub(crate) mod processes;
pub(crate) mod python;
pub(crate) mod spawned;
pub(crate) mod threads;
pub(crate) mod worker;
