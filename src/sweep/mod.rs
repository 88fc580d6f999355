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
//! - `rounds.rs`: the state machine and the order of the runs, round by round.
//! - `analysis.rs`: per-run samples, per-point statistics, fits, comparison and warnings.
//! - `stats.rs`: the statistics, as pure functions of numbers.

mod analysis;
mod rounds;
mod spec;
pub(crate) mod stats;

#[cfg(test)]
pub(crate) use analysis::Sample;
pub(crate) use analysis::{Point, Results};
pub(crate) use rounds::{Config, PythonSide, Runs, Stopped, Sweep, SweepSpec};
pub(crate) use spec::{BenchModel, Models, SpecError, WorkerList};
