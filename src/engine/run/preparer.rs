//! The engine's one preparation thread: each run's [`Workload::prepare`] is sent to it, so the
//! caller stays free to read keys and signals while a dataset is made. One thread for every run,
//! not one per run: glibc gives each new thread that allocates a malloc arena of its own, and a
//! run's freed dataset then stayed resident in an arena of its own (the soak test saw the RSS
//! grow by up to 50 MiB over 50 runs, against at most 18 MiB with one thread). The thread is
//! started with the first workload that prepares something, not before: a second thread in the
//! process costs every later fork (glibc locks each malloc arena around it, the kernel copies one
//! more stack's mappings), so a `run` of `cpu` forks from a process of one thread.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crossbeam::channel::{bounded, unbounded, Receiver, Sender};

use crate::engine::workers::threads::panic_message;
use crate::workload::{Flow, Preparing, Workload};

type Job = Box<dyn FnOnce() + Send>;

/// How a preparation ended: its flow, or why it could not be done (its error or its panic).
pub(in crate::engine) type Prepared = Result<Flow, String>;

/// The preparation thread (its queue and its handle), alive from the first preparation to the
/// engine's end.
#[derive(Default)]
pub(in crate::engine) struct Preparer {
    thread: Mutex<Option<(Sender<Job>, JoinHandle<()>)>>,
}

impl Preparer {
    /// Sends `job` to the thread, started first if it is not yet.
    fn send(&self, job: Job) -> Result<(), String> {
        let mut thread = self.thread.lock().map_err(|_| "the preparation thread is gone".to_owned())?;
        if thread.is_none() {
            let (jobs, queue) = unbounded::<Job>();
            let handle = std::thread::Builder::new()
                .name("prepare".into())
                .spawn(move || {
                    for job in queue {
                        job();
                    }
                })
                .map_err(|error| format!("cannot start the preparation thread: {error}"))?;
            *thread = Some((jobs, handle));
        }
        match thread.as_ref() {
            Some((jobs, _)) => jobs.send(job).map_err(|_| "the preparation thread is gone".to_owned()),
            None => Err("the preparation thread is gone".to_owned()),
        }
    }

    /// Prepares `workload` on the preparation thread; its end arrives on the receiver. `stop`
    /// asks the preparation to leave early.
    pub(in crate::engine) fn prepare(
        &self,
        workload: Arc<dyn Workload>,
        forked: bool,
        stop: Arc<AtomicBool>,
    ) -> Result<Receiver<Prepared>, String> {
        let (done, prepared) = bounded(1);
        if !workload.prepares() {
            // Nothing to make: prepared already, and no thread started for it.
            let _ = done.send(Ok(Flow::Continue));
            return Ok(prepared);
        }
        let job: Job = Box::new(move || {
            let flow = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                workload.prepare(&Preparing::new(forked, &stop))
            }))
            .map_err(|payload| panic_message(payload.as_ref()))
            .and_then(|prepared| prepared.map_err(|unprepared| unprepared.to_string()));
            let _ = done.send(flow);
        });
        self.send(job)?;
        Ok(prepared)
    }
}

impl Drop for Preparer {
    fn drop(&mut self) {
        // Closing the queue ends the thread once the job in hand (asked to stop) returns.
        let thread = self.thread.get_mut().ok().and_then(Option::take);
        if let Some((jobs, handle)) = thread {
            drop(jobs);
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{by_name, Setup, Shape};

    fn workload(name: &str, size: u64) -> Arc<dyn Workload> {
        let kind = by_name(name).expect("in the catalog");
        let shape = Shape { workers: 2, tasks: 2, processes: true };
        Arc::from(Setup::configure(kind, size, &[], &shape).expect("configured").build())
    }

    fn started(preparer: &Preparer) -> bool {
        preparer.thread.lock().is_ok_and(|thread| thread.is_some())
    }

    /// A run with nothing to prepare forks from a process of one thread: no preparation thread
    /// is started for it; the first workload that prepares something starts it.
    #[test]
    fn the_thread_starts_with_the_first_workload_that_prepares() {
        let engine_side = Preparer::default();
        let stop = Arc::new(AtomicBool::new(false));
        let cpu = engine_side.prepare(workload("cpu", 1000), true, Arc::clone(&stop)).expect("prepared");
        assert_eq!(cpu.recv().expect("an answer"), Ok(Flow::Continue));
        assert!(!started(&engine_side), "cpu prepares nothing: no thread");
        let data = engine_side.prepare(workload("data", 1), true, stop).expect("sent");
        assert_eq!(data.recv().expect("an answer"), Ok(Flow::Continue));
        assert!(started(&engine_side), "data makes its dataset on the thread");
    }
}
