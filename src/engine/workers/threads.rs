//! Worker threads: bare OS threads (`bare_thread.rs`) that read the clock first, then name
//! themselves (`worker-3`) and run the shared worker loop; a panic is caught in the thread and
//! comes back as its message.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::bare_thread::{self, BareThread};
use super::gil::InterpreterLock;
use super::line::End;
use super::pen::Pen;
use super::worker::{note_panicked, run_worker_since, TaskSource, WorkerSpec};
use crate::board::{monotonic_ns, Board, SlotState};
use crate::workload::Workload;

/// What a worker thread returns: its final state, or its panic message.
pub(crate) type ThreadResult = Result<SlotState, String>;

/// What a thread needs to own, since it may outlive the call that started it.
pub(crate) struct ThreadWorker {
    pub index: usize,
    pub board: Arc<Board>,
    pub generation: u64,
    pub workload: Arc<dyn Workload>,
    pub tasks: TaskSource,
    pub cpu: Option<usize>,
    pub gil: Option<Arc<InterpreterLock>>,
    /// Set by SIGTERM when the thread group runs in a host process.
    pub terminate: Option<&'static std::sync::atomic::AtomicBool>,
    /// The worker's end of its line to the coordinator, for workloads that talk.
    pub line: Option<End>,
}

/// Starts a worker thread, admitted to `pen` (if any) before it does anything else.
pub(crate) fn spawn_worker(
    worker: ThreadWorker,
    pen: Option<Arc<dyn Pen>>,
) -> std::io::Result<BareThread<ThreadResult>> {
    worker.board.slot(worker.index).requested_ns.store(monotonic_ns(), Ordering::Relaxed);
    bare_thread::spawn(move || {
        let started = monotonic_ns();
        name_this_thread(worker.index);
        super::pen::admit(pen.as_ref());
        // Not held for the worker's life: the pen's owner may remove it once the run is over.
        drop(pen);
        let spec = WorkerSpec {
            index: worker.index,
            board: &worker.board,
            generation: worker.generation,
            workload: worker.workload.as_ref(),
            tasks: worker.tasks.clone(),
            cpu: worker.cpu,
            gil: worker.gil.as_deref(),
            terminate: worker.terminate,
        };
        let line = worker.line;
        std::panic::catch_unwind(AssertUnwindSafe(|| run_worker_since(&spec, line, started))).map_err(|payload| {
            if let Some(gil) = &worker.gil {
                // The panic unwound past the loop's own release.
                gil.release();
            }
            note_panicked(&worker.board, worker.index);
            panic_message(payload.as_ref())
        })
    })
}

/// The text of a panic payload.
#[must_use]
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "panic with a non-text payload".to_owned()
    }
}

/// Names the calling thread `worker-N`, as `ps`, `top` and the trace show it, without
/// allocating (the name is made on the stack; the kernel keeps at most 15 bytes).
fn name_this_thread(index: usize) {
    // Formatting into a slice allocates nothing; what does not fit is cut, and the last byte
    // stays NUL.
    let mut name = [0u8; 16];
    let _ = std::io::Write::write_fmt(&mut &mut name[..15], format_args!("worker-{index}"));
    // SAFETY: a NUL-terminated name of at most 16 bytes, for the calling thread.
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr(), 0, 0, 0) };
}
