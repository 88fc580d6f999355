//! Coordinator threads: for a workload that talks, the program's side of each worker's line,
//! where the workload's `serve` runs; and a workload's service (net's HTTP server), started
//! before the first worker and stopped with the coordinators. This module opens a worker's line,
//! starts its coordinator and the service and ends them; it never starts, signals or reaps a
//! worker (that is `run/mod.rs`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::board::Board;
use crate::engine::workers::line::{self, End};
use crate::workload::{ExchangeError, Line, Service, Stopping, TalkingWorkload, Workload};

/// A coordinator thread serving worker `index`'s line, and the flag that ends it.
struct Coordinator {
    index: usize,
    thread: JoinHandle<()>,
    quit: Arc<AtomicBool>,
}

impl Coordinator {
    /// Ends it: it notices within one slice of its wait.
    fn end(self) {
        self.quit.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

/// The coordinator's end of one line, as a workload's `serve` sees it.
struct CoordinatorLine {
    end: End,
    quit: Arc<AtomicBool>,
}

impl Line for CoordinatorLine {
    fn send(&mut self, message: &[u8]) -> Result<(), ExchangeError> {
        let quit = &self.quit;
        self.end.send(message, &mut || !quit.load(Ordering::Relaxed))
    }

    fn recv(&mut self, into: &mut Vec<u8>) -> Result<(), ExchangeError> {
        let quit = &self.quit;
        self.end.recv(into, &mut || !quit.load(Ordering::Relaxed))
    }
}

/// The coordinators of one run, at most one per worker.
#[derive(Default)]
pub(crate) struct Coordinators {
    serving: Vec<Coordinator>,
    service: Option<Box<dyn Service>>,
}

impl Coordinators {
    /// For a workload that talks: makes worker `index`'s line, starts the coordinator's side on
    /// a thread of its own, and returns the worker's end (None: the workload does not talk).
    pub(super) fn open_line(
        &mut self,
        workload: &Arc<dyn Workload>,
        board: &Arc<Board>,
        index: usize,
    ) -> std::io::Result<Option<End>> {
        let Some(transport) = workload.as_talking().map(TalkingWorkload::transport) else {
            return Ok(None);
        };
        // A replacement's predecessor may still be served: a shared-memory mailbox has no
        // hang-up to end its coordinator, which would read the new worker's messages too.
        if let Some(at) = self.serving.iter().position(|coordinator| coordinator.index == index) {
            self.serving.swap_remove(at).end();
        }
        let (worker_end, coordinator_end) = line::pair(transport, board, index)?;
        let quit = Arc::new(AtomicBool::new(false));
        let mut line = CoordinatorLine { end: coordinator_end, quit: Arc::clone(&quit) };
        let workload = Arc::clone(workload);
        let thread = std::thread::Builder::new().name(format!("coordinator-{index}")).spawn(move || {
            if let Some(talking) = workload.as_talking() {
                talking.serve(index, &mut line);
            }
        })?;
        self.serving.push(Coordinator { index, thread, quit });
        Ok(Some(worker_end))
    }

    /// Starts the workload's service, if it has one.
    pub(super) fn start_service(&mut self, workload: &Arc<dyn Workload>, stopping: Stopping) -> std::io::Result<()> {
        self.service = workload.as_served().map(|served| served.start_service(stopping)).transpose()?;
        Ok(())
    }

    /// Tells every coordinator the run is over, then waits for them: all notice in the same
    /// slice instead of one after another. The service, if any, is stopped and joined last.
    pub(super) fn end_all(&mut self) {
        for coordinator in &self.serving {
            coordinator.quit.store(true, Ordering::Relaxed);
        }
        for coordinator in self.serving.drain(..) {
            coordinator.end();
        }
        if let Some(service) = self.service.take() {
            service.stop();
        }
    }
}
