//! The dashboard's model: its state, the events that change it, the keys, and `update`.
//!
//! Keys, signals, core samples and run news become [`Event`]s; [`update`] folds them into
//! [`State`] and returns [`Command`]s for the loop in `dashboard` to carry out; `ui` paints
//! the state. Nothing else changes state.
//!
//! Pure: no terminal, no engine calls, no clock, no threads. It must not import `ui` or
//! `dashboard`, which both read it.

pub(crate) mod baseline;
pub(crate) mod event;
pub(crate) mod keys;
pub(crate) mod runtimes;
pub(crate) mod settings;
pub(crate) mod share;
pub(crate) mod state;
mod update;
pub(crate) mod workers;

pub(crate) use event::{Command, Event};
pub(crate) use state::State;
pub(crate) use update::{sweep, update};
