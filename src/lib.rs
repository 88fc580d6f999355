//! concur-tui: a concurrency lab in the terminal.
//!
//! # Layout
//!
//! - [`cli`]: the command line (clap) and the values it parses.
//! - [`workload`]: the catalog; each workload is a pure function of a task and progress hooks.
//! - [`board`]: the shared-memory table that workers write and everybody else reads.
//! - [`engine`]: plans, launches, signals and reaps workers; the only place that does.
//! - [`experiments`]: each claim of the articles as data, the runs that test it, its verdict.
//! - [`sweep`]: repeated interleaved runs of a sweep, their statistics and fits.
//! - [`report`]: what a finished run means, as a table or JSON; shared by every front end.
//! - [`app`]: the dashboard's state, events, keys and `update`; pure, no I/O.
//! - [`ui`]: drawing the dashboard; a pure function of the state.
//! - [`dashboard`]: the dashboard's loop: terminal guard, key/signal/sampler threads, engine calls;
//!   public only for `dashboard::frame_cost`, which the frame bench drives.
//! - [`program`]: what the binary does: hooks, the command line, dispatch.
//! - [`headless`]: `concur-tui run`, `bench`, `experiments` and `list`, the engine without a screen.
//! - [`man_and_completions`]: `concur-tui completions` and `man`, generated from [`cli`].
//! - [`signals`]: SIGINT, SIGTERM and SIGHUP turned into messages on a channel.
//! - [`console`]: stdout and stderr written without a panic when they fail.
//! - [`files`]: the files the program writes: never through a link, never left half-written.
//! - [`telemetry`]: per-core load (sysinfo) and the live view of a run (the board), as snapshots.
//!
//! Data flows one way: workers store atomics into the board, the engine and the front ends read
//! it. Workers never talk to a front end and a front end never touches a worker.

pub(crate) mod app;
pub mod board;
pub(crate) mod cli;
pub(crate) mod console;
pub mod dashboard;
pub mod engine;
pub(crate) mod experiments;
pub(crate) mod files;
pub(crate) mod headless;
pub(crate) mod man_and_completions;
pub mod program;
pub(crate) mod report;
pub(crate) mod signals;
pub(crate) mod sweep;
pub(crate) mod telemetry;
pub(crate) mod ui;
pub(crate) mod units;
pub mod workload;
