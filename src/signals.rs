//! SIGINT, SIGTERM and SIGHUP turned into messages on a channel that the caller owns
//! ([`Listener`], for a loop that waits on channels), or stored by the handler itself into an
//! atomic the caller owns ([`Latest`], for a loop that polls); no global state. Dropping the
//! [`Listener`] unregisters nothing but stops its thread.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

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

/// The latest interrupting signal, for a loop that polls. The handler stores the signal's
/// number itself (an atomic store is async-signal-safe): on a machine so loaded that a woken
/// thread waits seconds for a CPU, the polling loop sees the signal at its next turn without
/// waiting for a second thread to be scheduled, as a [`Listener`] would need.
pub(crate) struct Latest {
    latest: Arc<AtomicUsize>,
    ids: Vec<signal_hook::SigId>,
}

impl Latest {
    /// Starts catching, whatever the signals' disposition was.
    pub(crate) fn start() -> std::io::Result<Self> {
        let latest = Arc::new(AtomicUsize::new(0));
        let mut ids = Vec::new();
        for raw in [SIGINT, SIGTERM, SIGHUP] {
            let value = usize::try_from(raw).map_err(std::io::Error::other)?;
            ids.push(signal_hook::flag::register_usize(raw, Arc::clone(&latest), value)?);
        }
        Ok(Self { latest, ids })
    }

    /// The signal received since the last call, if any. Signals that arrive between two calls
    /// count as one, the last.
    pub(crate) fn take(&self) -> Option<Signal> {
        let raw = self.latest.swap(0, Ordering::AcqRel);
        i32::try_from(raw).ok().filter(|raw| *raw != 0).and_then(|raw| Signal::try_from(raw).ok())
    }
}

impl Drop for Latest {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_signal_is_taken_once() {
        let latest = Latest::start().expect("handlers");
        assert_eq!(latest.take(), None);
        // SIGHUP to ourselves: the handler stores it; the default action (exit) no longer runs.
        nix::sys::signal::raise(Signal::SIGHUP).expect("raise");
        assert_eq!(latest.take(), Some(Signal::SIGHUP));
        assert_eq!(latest.take(), None);
    }
}
