//! The dashboard's model: its state, the events that change it, the keys, and `update`.
//!
//! Keys, signals, core samples and run news become [`Event`]s; [`update`] folds them into
//! [`State`] and returns [`Command`]s for the loop in `dashboard` to carry out; `ui` paints
//! the state. Nothing else changes state.
//!
//! Pure: no terminal, no engine calls, no clock, no threads. It must not import `ui` or
//! `dashboard`, which both read it.

pub mod event;
pub mod keys;
pub mod share;
pub mod state;
mod update;

pub use event::{Command, Event};
pub use state::State;
pub use update::update;
