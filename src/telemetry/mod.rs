//! Telemetry: what the front ends show of the machine and of a run, as plain snapshots.
//!
//! [`cores`] owns sysinfo and its clock on a sampler thread and ships per-core load;
//! [`machine`] reads how busy the allowed CPUs were, to tell a run's load from other programs';
//! [`workers`] reads the board into a [`RunView`]; [`responsiveness`] keeps the dashboard's own
//! key-to-screen and frame times. Nothing here draws, decides or touches a worker.

pub(crate) mod cores;
pub(crate) mod machine;
pub(crate) mod responsiveness;
pub(crate) mod workers;

pub(crate) use cores::{CoreSample, CoreSampler, Pace};
pub(crate) use workers::{LockFigures, RunView, TimeSplit, WorkerState, WorkerView};
