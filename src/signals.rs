//! SIGINT, SIGTERM and SIGHUP turned into messages on a channel that the caller owns; no
//! global state. Dropping the [`Listener`] unregisters nothing but stops its thread.

use crossbeam::channel::{unbounded, Receiver};
use nix::sys::signal::Signal;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};

/// Receives the interrupting signals while it lives.
pub(crate) struct Listener {
    handle: Handle,
    thread: Option<std::thread::JoinHandle<()>>,
    pub received: Receiver<Signal>,
}

impl Listener {
    /// Starts listening. Signals are caught from here on, whatever their disposition was
    /// (a shell may have started us with SIGINT ignored).
    pub(crate) fn start() -> std::io::Result<Self> {
        let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])?;
        let handle = signals.handle();
        let (sender, received) = unbounded();
        let thread = std::thread::Builder::new().name("signals".into()).spawn(move || {
            for raw in signals.forever() {
                if let Ok(signal) = Signal::try_from(raw) {
                    if sender.send(signal).is_err() {
                        break;
                    }
                }
            }
        })?;
        Ok(Self { handle, thread: Some(thread), received })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.handle.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
