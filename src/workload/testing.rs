//! Test doubles for workloads: hooks that record, and a scripted far end of a line.

use super::task::{AsyncHooks, Cells, ExchangeError, Flow, Hooks, Line, LocalFuture};

use std::sync::atomic::{AtomicU32, AtomicU64};

/// The far end of a coordinator's line, scripted: each `recv` hands out the next message of
/// `inbox` (and reports a hang-up when none is left); each `send` is kept in `sent`.
#[derive(Default)]
pub(crate) struct ScriptedLine {
    pub inbox: std::collections::VecDeque<Vec<u8>>,
    pub sent: Vec<Vec<u8>>,
}

impl Line for ScriptedLine {
    fn send(&mut self, message: &[u8]) -> Result<(), ExchangeError> {
        self.sent.push(message.to_vec());
        Ok(())
    }

    fn recv(&mut self, into: &mut Vec<u8>) -> Result<(), ExchangeError> {
        *into = self.inbox.pop_front().ok_or_else(|| ExchangeError::Broken("hung up".into()))?;
        Ok(())
    }
}

/// Hooks that record checkpoints and stop after `stop_after` of them.
#[derive(Default)]
pub(crate) struct Recorder {
    pub checkpoints: Vec<u64>,
    pub stop_after: Option<usize>,
    pub blocking_calls: usize,
    pub counter: AtomicU64,
    pub lock: AtomicU32,
    pub own: AtomicU64,
    pub rss: AtomicU64,
    pub pss: AtomicU64,
    pub worker: usize,
    pub tasks_done: u64,
    pub lock_waits: usize,
    pub exchanges: usize,
    pub limits: crate::board::Limits,
    pub permits_held: AtomicU32,
    /// CPU time helper threads reported spending for the task (a task of a loop).
    pub helper_cpu: std::time::Duration,
}

impl Hooks for Recorder {
    fn checkpoint(&mut self, units_done: u64) -> Flow {
        self.checkpoints.push(units_done);
        match self.stop_after {
            Some(n) if self.checkpoints.len() >= n => Flow::Stop,
            _ => Flow::Continue,
        }
    }

    fn blocking(&mut self, wait: &mut dyn FnMut()) {
        self.blocking_calls += 1;
        wait();
    }

    fn blocking_with_cells(&mut self, wait: &mut dyn FnMut(&Cells<'_>)) {
        self.blocking_calls += 1;
        wait(&self.cells());
    }

    fn cells(&self) -> Cells<'_> {
        Cells {
            shared_counter: &self.counter,
            shared_lock: &self.lock,
            own_counter: &self.own,
            rss_bytes: &self.rss,
            pss_bytes: &self.pss,
            worker: self.worker,
            tasks_done: self.tasks_done,
            in_process: false,
            limits: &self.limits,
            permits_held: &self.permits_held,
        }
    }

    fn add_lock_wait(&mut self, _waited: std::time::Duration) {
        self.lock_waits += 1;
    }

    /// Echoes the message, as a coordinator that only answers would.
    fn exchange(&mut self, message: &[u8], reply: &mut Vec<u8>) -> Result<(), ExchangeError> {
        self.exchanges += 1;
        reply.clear();
        reply.extend_from_slice(message);
        Ok(())
    }
}

/// The recorder as a task of a loop: stops where it would stop a thread.
pub(crate) struct OnLoop(pub Recorder);

impl AsyncHooks for OnLoop {
    fn checkpoint(&mut self, units_done: u64) -> LocalFuture<'_, Flow> {
        let flow = Hooks::checkpoint(&mut self.0, units_done);
        Box::pin(async move { flow })
    }

    fn enter_wait(&mut self) {
        self.0.blocking_calls += 1;
    }

    fn leave_wait(&mut self) {}

    fn add_helper_cpu(&mut self, spent: std::time::Duration) {
        self.0.helper_cpu += spent;
    }

    fn stop_requested(&self) -> bool {
        self.0.stop_after.is_some_and(|n| self.0.checkpoints.len() >= n)
    }

    fn cells(&self) -> Cells<'_> {
        Hooks::cells(&self.0)
    }
}
