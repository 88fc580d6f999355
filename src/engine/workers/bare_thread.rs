//! A thread started with `pthread_create` and nothing else, for worker threads: the start-up a
//! worker reports must be the operating system's, as C's `pthread_create` has it.
//!
//! `std::thread::spawn` does more in the new thread before the closure's first instruction: it
//! names the thread, registers thread-local destructors (a first allocation, which makes glibc
//! create a malloc arena: a 128 MiB reservation, two `munmap`s and an `mprotect`), asks
//! `pthread_getattr_np` for its stack (which reads the thread's affinity) and installs an
//! alternate signal stack for its stack-overflow message. Together that doubled a worker's start-up
//! against C's. Here the closure runs first; the caller does whatever of that it wants after
//! it has read the clock (a worker names itself). What it gives up: a stack overflow in a worker
//! is a plain SIGSEGV, without std's "has overflowed its stack" line.

use std::ffi::c_void;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The stack of every worker thread: std's default, and what C's floor uses.
const STACK_BYTES: usize = 2 * 1024 * 1024;

/// A running or finished bare thread whose closure returns `T`. Dropped without
/// [`BareThread::join`], the thread is detached: it may go on (an abandoned worker) and frees
/// its own resources when it ends.
pub(crate) struct BareThread<T> {
    thread: libc::pthread_t,
    finished: Arc<AtomicBool>,
    joined: bool,
    result: std::marker::PhantomData<T>,
}

/// What the new thread receives: its closure, and the flag it raises as its last act.
struct Start<F> {
    body: F,
    finished: Arc<AtomicBool>,
}

/// Spawns `body` on a new thread. A panic that escapes `body` is caught at the thread's edge
/// (unwinding out of a C start routine would abort the program) and comes back from `join`.
pub(crate) fn spawn<F, T>(body: F) -> std::io::Result<BareThread<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let finished = Arc::new(AtomicBool::new(false));
    let start = Box::into_raw(Box::new(Start { body, finished: Arc::clone(&finished) }));
    let mut attr = std::mem::MaybeUninit::<libc::pthread_attr_t>::uninit();
    let mut thread: libc::pthread_t = 0;
    // SAFETY: `attr` is initialised before use and destroyed after; `start` is a leaked box
    // that exactly one side frees: the new thread when it was created, this one when it was not.
    let code = unsafe {
        let mut code = libc::pthread_attr_init(attr.as_mut_ptr());
        if code == 0 {
            code = libc::pthread_attr_setstacksize(attr.as_mut_ptr(), STACK_BYTES);
            if code == 0 {
                code = libc::pthread_create(&raw mut thread, attr.as_ptr(), run::<F, T>, start.cast());
            }
            libc::pthread_attr_destroy(attr.as_mut_ptr());
        }
        code
    };
    if code != 0 {
        // SAFETY: the thread was not created, so the box was never handed over.
        drop(unsafe { Box::from_raw(start) });
        return Err(std::io::Error::from_raw_os_error(code));
    }
    Ok(BareThread { thread, finished, joined: false, result: std::marker::PhantomData })
}

/// The start routine: the closure first, then its result boxed for `pthread_join`.
extern "C" fn run<F, T>(start: *mut c_void) -> *mut c_void
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    // SAFETY: `spawn` passes a leaked `Box<Start<F>>` and never touches it again.
    let Start { body, finished } = *unsafe { Box::from_raw(start.cast::<Start<F>>()) };
    let result: std::thread::Result<T> = std::panic::catch_unwind(AssertUnwindSafe(body));
    finished.store(true, Ordering::Release);
    Box::into_raw(Box::new(result)).cast()
}

impl<T> BareThread<T> {
    /// True once the closure has returned (or panicked): `join` then waits at most for the
    /// thread's last few instructions.
    pub(crate) fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    /// Waits for the thread and returns what its closure returned, or the panic's payload.
    pub(crate) fn join(mut self) -> std::thread::Result<T> {
        let mut value: *mut c_void = std::ptr::null_mut();
        // SAFETY: the thread was created joinable and is joined once (`joined` keeps `Drop`
        // from detaching it afterwards).
        let code = unsafe { libc::pthread_join(self.thread, &raw mut value) };
        self.joined = true;
        assert_eq!(code, 0, "pthread_join of a joinable thread failed: {code}");
        // SAFETY: `run` returned this pointer from `Box::into_raw` of exactly this type.
        *unsafe { Box::from_raw(value.cast::<std::thread::Result<T>>()) }
    }
}

impl<T> Drop for BareThread<T> {
    fn drop(&mut self) {
        if !self.joined {
            // SAFETY: a joinable thread, neither joined nor detached before.
            unsafe { libc::pthread_detach(self.thread) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closure_result_and_a_panic_come_back_from_join() {
        let thread = spawn(|| 6 * 7).expect("thread");
        assert_eq!(thread.join().expect("no panic"), 42);
        // resume_unwind unwinds without the panic hook, so the test prints nothing.
        let panicking = spawn(|| -> u8 { std::panic::resume_unwind(Box::new("boom")) }).expect("thread");
        let payload = panicking.join().expect_err("a panic");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    }

    #[test]
    fn it_is_finished_once_the_closure_returned_and_a_dropped_one_runs_on() {
        let (tell, told) = std::sync::mpsc::channel();
        let (go, gate) = std::sync::mpsc::channel::<()>();
        let thread = spawn(move || {
            let _ = gate.recv();
            let _ = tell.send("ran");
        })
        .expect("thread");
        assert!(!thread.is_finished());
        drop(thread);
        go.send(()).expect("the thread waits");
        assert_eq!(told.recv().expect("a detached thread runs to its end"), "ran");
    }

    #[test]
    fn a_worker_thread_gets_the_stack_it_asked_for() {
        let thread = spawn(|| {
            let mut attr = std::mem::MaybeUninit::<libc::pthread_attr_t>::uninit();
            let mut size = 0usize;
            // SAFETY: the calling thread's attributes, read into locals and destroyed.
            unsafe {
                libc::pthread_getattr_np(libc::pthread_self(), attr.as_mut_ptr());
                libc::pthread_attr_getstacksize(attr.as_ptr(), &raw mut size);
                libc::pthread_attr_destroy(attr.as_mut_ptr());
            }
            size
        })
        .expect("thread");
        assert_eq!(thread.join().expect("no panic"), STACK_BYTES);
    }
}
