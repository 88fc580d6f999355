//! The `shm` transport's mailbox in each worker's slot: two one-message lanes, published with a
//! sequence number and slept on with a futex by `engine::workers::line`. Only the layout lives here.

use std::sync::atomic::{AtomicU32, AtomicU64};

/// Two one-message lanes in shared memory, on a cache line of their own so that the
/// coordinator's writes never slow the worker's progress stores.
#[repr(C, align(128))]
#[derive(Default)]
pub struct Mailbox {
    pub to_coordinator: Lane,
    pub to_worker: Lane,
}

/// One direction of a [`Mailbox`]: a message of up to 8 bytes, published by bumping `seq`.
#[derive(Default)]
pub struct Lane {
    /// Bumped after each message; the reader waits for it to change (a futex word).
    pub seq: AtomicU32,
    /// Non-zero while the reader sleeps on `seq`: the writer must wake it.
    pub sleeping: AtomicU32,
    pub len: AtomicU32,
    pub payload: AtomicU64,
}
