//! What the kernel saw of each worker: its context switches, so that the timeline can tell
//! "meant to run and on a CPU" from "meant to run and waiting for one". The engine reads it at
//! each `Run::poll`, as it reads the board; it never touches a worker, only the kernel's view of
//! its thread.
//!
//! - `perf.rs`: one thread's switches from a `perf_event_open` ring, exact and timed.
//! - `tests.rs`: the observer in real runs, and under a kernel that refuses perf events.
//! - `schedstat.rs`: the fallback where perf events are refused (seccomp,
//!   `perf_event_paranoid` 3): each thread's total time waiting to run, sampled.
//!
//! Perf events are opened through [`PerfEvents`], so a test can stand in a kernel that refuses
//! them. Every descriptor and mapping is closed when its worker ends, when the run is replaced,
//! or when the observer is dropped (an error path, a panic): they are owned values.

mod perf;
mod schedstat;

use std::sync::Arc;

use nix::errno::Errno;

use perf::{PerfError, SwitchStream};
pub(crate) use perf::{Switch, SwitchKind};
use schedstat::SchedstatFile;

use crate::board::Board;

/// The shortest time between two reads of the schedstat files, per hundred workers: each read is
/// a syscall per worker, and a thread's file is gone once it ends, so what it waited since the
/// last read is lost. 10 ms keeps that loss small; 1,000 workers are read every 100 ms.
const SCHEDSTAT_EVERY_NS_PER_HUNDRED: u64 = 10_000_000;

/// Where a run's figures of waiting for a CPU came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ObserverSource {
    /// Every worker's switches, from `perf_event_open`: exact, on the timeline too.
    Perf,
    /// Some workers' totals from `/proc/…/schedstat` only: the timeline does not show them.
    Schedstat,
    /// Nothing observed (no worker started, or the kernel gave nothing).
    #[default]
    None,
}

impl ObserverSource {
    /// The name the JSON report and the summary use.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Perf => "perf",
            Self::Schedstat => "schedstat",
            Self::None => "none",
        }
    }
}

/// What the kernel reported of one worker's thread since the timeline last took it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SwitchNews {
    /// Set once per stream: the instant from which every switch of the thread is in `switches`
    /// (but records lost to a full ring). The first switch after it tells whether the thread was
    /// on a CPU then.
    pub(crate) watched_ns: Option<u64>,
    /// In time order.
    pub(crate) switches: Vec<Switch>,
}

/// Whether a run watches its workers' threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Observing {
    /// Each thread's switches from perf events, schedstat where they are refused.
    #[default]
    Kernel,
    /// Nothing: the timeline is the workers' own word, and the run's source is `none`. What
    /// watching costs is measured against it (`benches/observer.rs`).
    Off,
}

/// Opens the switch stream of one thread: the kernel's perf events, or a test double.
pub(crate) trait PerfEvents: Send + Sync {
    /// Starts recording the switches of thread `tid`.
    fn open(&self, tid: i32) -> Result<SwitchStream, PerfError>;
}

/// The kernel's own perf events.
pub(crate) struct KernelPerfEvents;

impl PerfEvents for KernelPerfEvents {
    fn open(&self, tid: i32) -> Result<SwitchStream, PerfError> {
        SwitchStream::open(tid)
    }
}

/// How the observer watches one worker.
#[derive(Debug)]
enum Watch {
    /// Its thread has not said who it is yet: the slot holds no tid, or still the tid of the
    /// life it replaces.
    Unseen {
        stale_tid: i32,
    },
    Perf(SwitchStream),
    /// An event-loop task: the stream of worker `index`, on the same thread, serves it too.
    SharesWith {
        index: usize,
    },
    Schedstat(SchedstatFile),
    /// Neither source could watch it.
    Unobserved,
    /// Its life ended; a replacement begins with [`Observer::reopen`].
    Ended,
}

/// The kernel's view of every worker of one run.
pub(crate) struct Observer {
    observing: Observing,
    events: Arc<dyn PerfEvents>,
    watches: Vec<Watch>,
    /// Thread of each watched worker, to find the workers of an event loop's one thread.
    tids: Vec<i32>,
    /// Switches read but not yet merged into the timeline, per worker, in time order.
    pending: Vec<SwitchNews>,
    /// Per worker, since when its switches are complete (0: not watched by perf).
    watched_ns: Vec<u64>,
    /// Per worker, waiting for a CPU that schedstat showed over its ended lives.
    schedstat_waited_ns: Vec<u64>,
    /// Why perf events were refused, once they were: none is asked for again.
    refused: Option<Errno>,
    used_perf: bool,
    used_schedstat: bool,
    last_schedstat_ns: u64,
}

impl Observer {
    /// An observer of a run of `workers` workers, opening perf events through `events` unless
    /// `observing` is off.
    pub(crate) fn new(workers: usize, observing: Observing, events: Arc<dyn PerfEvents>) -> Self {
        Self {
            observing,
            events,
            watches: (0..workers).map(|_| Watch::Unseen { stale_tid: 0 }).collect(),
            tids: vec![0; workers],
            pending: vec![SwitchNews::default(); workers],
            watched_ns: vec![0; workers],
            schedstat_waited_ns: vec![0; workers],
            refused: None,
            used_perf: false,
            used_schedstat: false,
            last_schedstat_ns: 0,
        }
    }

    /// Watches every worker that has begun since the last poll and reads every stream.
    pub(crate) fn poll(&mut self, board: &Board, now_ns: u64) {
        let hundreds = u64::try_from(self.watches.len().div_ceil(100)).unwrap_or(u64::MAX).max(1);
        let every_ns = SCHEDSTAT_EVERY_NS_PER_HUNDRED.saturating_mul(hundreds);
        let sample_schedstat = now_ns.saturating_sub(self.last_schedstat_ns) >= every_ns;
        if sample_schedstat {
            self.last_schedstat_ns = now_ns;
        }
        for index in 0..self.watches.len() {
            if let Watch::Unseen { stale_tid } = self.watches[index] {
                self.attach(board, index, stale_tid, now_ns);
            }
            match &mut self.watches[index] {
                Watch::Perf(stream) => stream.read_into(&mut self.pending[index].switches),
                Watch::Schedstat(file) if sample_schedstat => file.sample(),
                _ => {}
            }
        }
        for index in 0..self.watches.len() {
            if let Watch::SharesWith { index: source } = self.watches[index] {
                let from = self.watched_ns[index];
                let copied: Vec<Switch> =
                    self.pending[source].switches.iter().filter(|switch| switch.ns >= from).copied().collect();
                self.pending[index].switches.extend(copied);
            }
        }
    }

    fn watch_from(&mut self, index: usize, from_ns: u64) {
        self.watched_ns[index] = from_ns;
        self.pending[index].watched_ns = Some(from_ns);
    }

    fn attach(&mut self, board: &Board, index: usize, stale_tid: i32, now_ns: u64) {
        let slot = board.slot(index);
        let tid = slot.tid.load(std::sync::atomic::Ordering::Relaxed);
        if tid == 0 || tid == stale_tid {
            return;
        }
        let pid = slot.pid.load(std::sync::atomic::Ordering::Relaxed);
        self.tids[index] = tid;
        if self.observing == Observing::Off {
            self.watches[index] = Watch::Unobserved;
            return;
        }
        let sharing = (0..self.watches.len())
            .find(|&other| other != index && self.tids[other] == tid && matches!(self.watches[other], Watch::Perf(_)));
        if let Some(source) = sharing {
            // Complete from the later of now and the stream's own start: the switches read at
            // this poll that came before are not copied.
            let from = now_ns.max(self.watched_ns[source]);
            self.watches[index] = Watch::SharesWith { index: source };
            self.watch_from(index, from);
            return;
        }
        if self.refused.is_none() {
            match self.events.open(tid) {
                Ok(stream) => {
                    self.used_perf = true;
                    self.watches[index] = Watch::Perf(stream);
                    // Read once the event is armed: every switch after it is reported.
                    self.watch_from(index, crate::board::monotonic_ns());
                    return;
                }
                Err(PerfError::Refused(errno)) => self.refused = Some(errno),
                Err(PerfError::Failed(_)) => {}
            }
        }
        self.watches[index] = match SchedstatFile::open(pid, tid) {
            Ok(file) => {
                self.used_schedstat = true;
                Watch::Schedstat(file)
            }
            Err(_) => Watch::Unobserved,
        };
    }

    /// The switches of each worker read so far and not yet merged: the timeline takes them.
    pub(crate) fn pending_mut(&mut self) -> &mut [SwitchNews] {
        &mut self.pending
    }

    /// Worker `index` has ended: reads the rest of its switches and closes what watched it.
    pub(crate) fn close(&mut self, index: usize) {
        let Some(watch) = self.watches.get_mut(index) else { return };
        match std::mem::replace(watch, Watch::Ended) {
            Watch::Perf(mut stream) => stream.read_into(&mut self.pending[index].switches),
            Watch::Schedstat(mut file) => {
                file.sample();
                self.schedstat_waited_ns[index] += file.waited_ns();
            }
            Watch::Unseen { .. } | Watch::SharesWith { .. } | Watch::Unobserved | Watch::Ended => {}
        }
    }

    /// Worker `index` is being replaced: its replacement is watched once it has stored a tid of
    /// its own (the slot still holds the one it replaces).
    pub(crate) fn reopen(&mut self, board: &Board, index: usize) {
        self.close(index);
        if let Some(watch) = self.watches.get_mut(index) {
            *watch = Watch::Unseen { stale_tid: board.slot(index).tid.load(std::sync::atomic::Ordering::Relaxed) };
            self.tids[index] = 0;
            self.watched_ns[index] = 0;
        }
    }

    /// Closes every watch: the run has ended.
    pub(crate) fn close_all(&mut self) {
        for index in 0..self.watches.len() {
            self.close(index);
        }
    }

    /// Where the figures came from, for the whole run.
    pub(crate) fn source(&self) -> ObserverSource {
        if self.used_schedstat {
            ObserverSource::Schedstat
        } else if self.used_perf {
            ObserverSource::Perf
        } else {
            ObserverSource::None
        }
    }

    /// Waiting for a CPU that schedstat showed for worker `index`'s ended lives (0 under perf:
    /// the timeline holds it then).
    pub(crate) fn schedstat_waited_ns(&self, index: usize) -> u64 {
        self.schedstat_waited_ns.get(index).copied().unwrap_or(0)
    }
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Observer")
            .field("watches", &self.watches)
            .field("refused", &self.refused)
            .field("source", &self.source())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A kernel that refuses perf events, as a container's seccomp or paranoid 3 does.

    use super::{PerfError, PerfEvents, SwitchStream};

    pub(crate) struct RefusingPerfEvents;

    impl PerfEvents for RefusingPerfEvents {
        fn open(&self, _tid: i32) -> Result<SwitchStream, PerfError> {
            Err(PerfError::Refused(nix::errno::Errno::EACCES))
        }
    }
}

#[cfg(test)]
mod tests;
