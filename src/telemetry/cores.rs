//! Per-core utilisation, sampled on a thread of its own and shipped as [`CoreSample`]s on a
//! channel, at a [`Pace`] the dashboard sets (slow when idle, four times a second during a
//! run). The figures come from a [`CoreSource`]: sysinfo on a real machine (it needs at least
//! 200 ms between two CPU refreshes), a fixed machine of any size in tests.

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam::channel::{unbounded, Receiver, RecvTimeoutError, Sender};
use sysinfo::{CpuRefreshKind, RefreshKind, System};

/// sysinfo's floor between two CPU refreshes; below it the figures are noise.
pub(crate) const MIN_GAP: Duration = Duration::from_millis(200);

/// How often to sample: slowly while nothing runs, four times a second while a run lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pace {
    Idle,
    Run,
}

impl Pace {
    #[must_use]
    pub(crate) fn every(self) -> Duration {
        match self {
            Self::Idle => Duration::from_secs(1),
            Self::Run => Duration::from_millis(250),
        }
    }
}

/// Load of every CPU, in percent, indexed by CPU number, over `interval`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CoreSample {
    pub usage: Vec<f32>,
    /// The time since the previous sample, which the load is the average of.
    pub interval: Duration,
}

/// Where per-CPU load comes from.
pub(crate) trait CoreSource: Send + 'static {
    /// The load of every CPU, in percent, since the previous call.
    fn refresh(&mut self) -> Vec<f32>;
}

/// The machine's own CPUs, through sysinfo.
struct Sysinfo(System);

impl CoreSource for Sysinfo {
    fn refresh(&mut self) -> Vec<f32> {
        self.0.refresh_cpu_usage();
        self.0.cpus().iter().map(sysinfo::Cpu::usage).collect()
    }
}

/// The sampler thread; dropping it stops the thread.
pub(crate) struct CoreSampler {
    pub samples: Receiver<CoreSample>,
    /// Tells the thread its pace; dropping it stops the thread.
    pace: Option<Sender<Pace>>,
    thread: Option<JoinHandle<()>>,
}

impl CoreSampler {
    /// Starts sampling this machine's CPUs at the idle pace.
    pub(crate) fn start() -> std::io::Result<Self> {
        Self::start_with(|| {
            let refresh = RefreshKind::nothing().with_cpu(CpuRefreshKind::nothing().with_usage());
            System::new_with_specifics(refresh).ok().map(Sysinfo)
        })
    }

    /// Starts sampling the source that `open` makes on the sampler thread (None: no samples).
    pub(crate) fn start_with<S: CoreSource>(
        open: impl FnOnce() -> Option<S> + Send + 'static,
    ) -> std::io::Result<Self> {
        let (sample_tx, samples) = crossbeam::channel::bounded(4);
        let (pace_tx, pace_rx) = unbounded::<Pace>();
        let thread = std::thread::Builder::new().name("core-sampler".into()).spawn(move || {
            let Some(mut source) = open() else { return };
            let mut every = Pace::Idle.every();
            let mut last = Instant::now();
            let mut due = last + every;
            loop {
                // Sleeps until the sample is due or the pace changes: no polling.
                match pace_rx.recv_deadline(due) {
                    Ok(pace) => {
                        every = pace.every();
                        due = last + every;
                        continue;
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return,
                }
                let usage = source.refresh();
                let now = Instant::now();
                let interval = now - last;
                last = now;
                due = next_due(due, every, now);
                // A full channel means the front end is busy; dropping a sample is fine.
                if let Err(crossbeam::channel::TrySendError::Disconnected(_)) =
                    sample_tx.try_send(CoreSample { usage, interval })
                {
                    return;
                }
            }
        })?;
        Ok(Self { samples, pace: Some(pace_tx), thread: Some(thread) })
    }

    /// Changes how often the thread samples, from its next sample on.
    pub(crate) fn set_pace(&self, pace: Pace) {
        if let Some(sender) = &self.pace {
            // The thread only ends when this side is dropped; nothing to report.
            let _ = sender.send(pace);
        }
    }
}

/// When the sample after one taken at `refreshed` is due: a steady `every` after the last one
/// was due (so a late wake-up does not slow the pace down), never sooner than sysinfo's floor.
#[must_use]
pub(crate) fn next_due(due: Instant, every: Duration, refreshed: Instant) -> Instant {
    (due + every).max(refreshed + MIN_GAP)
}

impl Drop for CoreSampler {
    fn drop(&mut self) {
        drop(self.pace.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A fixed machine of `cpus` CPUs for tests: CPU i at i % 101 percent, so every load level
/// shows somewhere and the last CPU of a large machine is told from the first.
#[cfg(test)]
pub(crate) struct FakeCores(pub usize);

#[cfg(test)]
impl CoreSource for FakeCores {
    fn refresh(&mut self) -> Vec<f32> {
        (0..self.0).map(|cpu| (cpu % 101) as f32).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_every_cpu_at_either_pace_and_stops_when_dropped() {
        let sampler = CoreSampler::start().expect("sampler");
        let sample = sampler.samples.recv_timeout(Duration::from_secs(30)).expect("a sample");
        assert!(!sample.usage.is_empty());
        assert!(sample.usage.iter().all(|u| (0.0..=100.5).contains(u)), "{sample:?}");
        assert!(sample.interval >= MIN_GAP, "{sample:?}");
        sampler.set_pace(Pace::Run);
        for _ in 0..2 {
            let sample = sampler.samples.recv_timeout(Duration::from_secs(30)).expect("a sample");
            assert!(sample.interval >= MIN_GAP, "never under sysinfo's floor: {sample:?}");
        }
        drop(sampler);
    }

    #[test]
    fn a_fake_machine_of_256_cpus_is_sampled_whole() {
        let sampler = CoreSampler::start_with(|| Some(FakeCores(256))).expect("sampler");
        let sample = sampler.samples.recv_timeout(Duration::from_secs(30)).expect("a sample");
        assert_eq!(sample.usage.len(), 256);
        assert_eq!((sample.usage[0], sample.usage[255]), (0.0, 53.0));
    }

    #[test]
    fn the_pace_holds_after_a_late_wake_up_but_never_breaks_the_floor() {
        let start = Instant::now();
        let every = Pace::Run.every();
        // On time, and 30 ms late: the next sample stays on the 250 ms grid.
        assert_eq!(next_due(start + every, every, start + every), start + 2 * every);
        assert_eq!(next_due(start + every, every, start + every + Duration::from_millis(30)), start + 2 * every);
        // 120 ms late: the grid point would come 130 ms after this sample, under the floor.
        let late = start + every + Duration::from_millis(120);
        assert_eq!(next_due(start + every, every, late), late + MIN_GAP);
        assert!(Pace::Idle.every() > Pace::Run.every() && Pace::Run.every() >= MIN_GAP);
        assert!(Pace::Run.every() <= Duration::from_millis(250), "at least four samples a second");
    }
}
