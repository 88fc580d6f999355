//! Per-core utilisation from sysinfo, sampled on a thread of its own and shipped as
//! [`CoreSample`]s on a channel. sysinfo needs at least 200 ms between two CPU refreshes.

use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam::channel::{bounded, Receiver, RecvTimeoutError, Sender};
use sysinfo::{CpuRefreshKind, RefreshKind, System};

/// Time between two samples; above sysinfo's 200 ms floor, below a person's patience.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(500);

/// Load of every CPU, in percent, indexed by CPU number.
#[derive(Debug, Clone, PartialEq)]
pub struct CoreSample {
    pub usage: Vec<f32>,
}

/// The sampler thread; dropping it stops the thread.
pub struct CoreSampler {
    pub samples: Receiver<CoreSample>,
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl CoreSampler {
    pub fn start() -> std::io::Result<Self> {
        let (sample_tx, samples) = bounded(4);
        let (stop_tx, stop_rx) = bounded::<()>(0);
        let thread = std::thread::Builder::new().name("core-sampler".into()).spawn(move || {
            let refresh = RefreshKind::nothing().with_cpu(CpuRefreshKind::nothing().with_usage());
            let Ok(mut system) = System::new_with_specifics(refresh) else { return };
            loop {
                match stop_rx.recv_timeout(SAMPLE_EVERY) {
                    Err(RecvTimeoutError::Timeout) => {}
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                }
                system.refresh_cpu_usage();
                let usage = system.cpus().iter().map(sysinfo::Cpu::usage).collect();
                // A full channel means the front end is busy; dropping a sample is fine.
                if let Err(crossbeam::channel::TrySendError::Disconnected(_)) = sample_tx.try_send(CoreSample { usage })
                {
                    return;
                }
            }
        })?;
        Ok(Self { samples, stop: Some(stop_tx), thread: Some(thread) })
    }
}

impl Drop for CoreSampler {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_every_cpu_and_stops_when_dropped() {
        let sampler = CoreSampler::start().expect("sampler");
        let sample = sampler.samples.recv_timeout(Duration::from_secs(30)).expect("a sample");
        assert!(!sample.usage.is_empty());
        assert!(sample.usage.iter().all(|u| (0.0..=100.5).contains(u)), "{sample:?}");
        drop(sampler);
    }
}
