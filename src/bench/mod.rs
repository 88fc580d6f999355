//! Measuring like hyperfine: repeated runs of several models at several worker counts,
//! interleaved round by round, and what they mean: spread, speedup with its uncertainty,
//! efficiency, Karp-Flatt, a fit of Amdahl's law, and warnings when the figures are doubtful.
//!
//! Nothing here starts a run, reads a clock or prints: [`Sweep`] is a state machine that hands
//! out the next run and takes back its report, so the `bench` command drives it in a loop and
//! the dashboard one run per frame. Presenting the results is `report/`'s.
//!
//! # Layout
//!
//! - `spec.rs`: the models and worker counts as the user names them.
//! - `sweep.rs`: the state machine and the order of the runs.
//! - `results.rs`: per-run samples, per-point statistics, fits, comparison and warnings.
//! - `stats.rs`: the statistics, as pure functions of numbers.

mod results;
mod spec;
pub(crate) mod stats;
mod sweep;

#[cfg(test)]
pub(crate) use results::Sample;
pub(crate) use results::{Point, Results};
pub(crate) use spec::{BenchModel, Models, SpecError, WorkerList};
pub(crate) use sweep::{Config, Runs, Stopped, Sweep, SweepSpec};
