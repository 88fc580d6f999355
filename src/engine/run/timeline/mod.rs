//! The run's history of what each worker did, read from the board's state rings and merged with
//! the kernel's context switches: segments of one activity on one CPU, contiguous from a
//! worker's first instruction to its end, and the stretches its thread spent on each CPU.
//!
//! The ring says what the worker meant to do; the switches say whether it was on a CPU. A worker
//! that meant to run (running or draining) and was off its CPU is shown by why: preempted, it is
//! `waiting for a CPU` until its next switch in; gone of its own accord, `off CPU` (or what its
//! life's [`VoluntarySwitchOut`] says); stopped by the engine, `paused`. A worker that meant to
//! wait keeps its own word: its record already says why it waits.
//!
//! The engine drains every ring into a [`Timeline`] at each `Run::poll` (one load per worker when
//! nothing changed) and closes a worker's life when it reaps it; the finished report carries the
//! result. This module only reads the board: it never writes a ring, starts or signals a worker.
//!
//! - `reader.rs`: the engine's side of the rings: each worker's cursor, its lives, and the merge
//!   of its own state changes with its thread's switches in time order.
//! - `merge.rs`: what a switch changes: on a CPU or not, what the worker is shown doing while
//!   it is not, and its stretches on each CPU.
//! - `tests.rs`: the merge from fixed rings and switches.

mod merge;
mod reader;

pub use merge::VoluntarySwitchOut;
pub use reader::TimelineReader;

use crate::board::{Activity, StateEvent};

/// One stretch of a single activity on a single CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// CLOCK_MONOTONIC nanoseconds, the clock of every process of the run.
    pub start_ns: u64,
    pub end_ns: u64,
    /// Never [`Activity::End`]: an end closes the life instead.
    pub activity: Activity,
    /// The CPU the worker was seen on (sampled at state changes and chunk boundaries).
    pub cpu: Option<usize>,
}

impl Segment {
    #[must_use]
    pub fn duration_ns(&self) -> u64 {
        self.end_ns.saturating_sub(self.start_ns)
    }
}

/// A stretch of time a worker's thread spent on one CPU, from the kernel's switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuSlice {
    /// CLOCK_MONOTONIC nanoseconds.
    pub start_ns: u64,
    pub end_ns: u64,
    pub cpu: usize,
}

/// One life of worker `index`: from its first instruction to its end. A worker replaced after a
/// crash (`--respawn`) has a second life, with the replacement's pid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerTimeline {
    pub index: usize,
    pub pid: i32,
    pub tid: i32,
    /// Contiguous: each ends where the next begins. While the worker lives, the last one ends at
    /// the latest poll.
    pub segments: Vec<Segment>,
    /// State changes overwritten in the ring before the engine read them: the segments around
    /// them are merged, so their activities are approximate.
    pub missed: u64,
    /// True while the worker may still record: its last segment is open.
    pub open: bool,
    /// Time in each activity (by its number) over every segment but the last, kept as segments
    /// close so that a live view reads a worker's split without walking its history.
    pub closed_ns: [u64; Activity::ALL.len()],
    /// How many times the worker began to wait for the interpreter lock.
    pub lock_waits: u64,
    /// From when the kernel reported the switches of this life's thread (perf): from then on
    /// `on_cpu` is exact, and `running` means on a CPU. None when none was seen (the schedstat
    /// fallback, perf refused): the life's states are then the worker's own word.
    pub watched_from_ns: Option<u64>,
    /// The thread's stretches on a CPU from `watched_from_ns` on, in time order, never
    /// overlapping; the last extends to the latest poll while the thread is on a CPU.
    pub on_cpu: Vec<CpuSlice>,
    /// Switches out lost to a full ring (two switches in in a row): the stretch each ended is
    /// dropped, so `on_cpu` misses that time and is no longer the whole of it.
    pub lost_switches: u64,
}

impl WorkerTimeline {
    /// The first instruction.
    #[must_use]
    pub fn start_ns(&self) -> Option<u64> {
        self.segments.first().map(|segment| segment.start_ns)
    }

    /// The end, or the latest poll while it lives.
    #[must_use]
    pub fn end_ns(&self) -> Option<u64> {
        self.segments.last().map(|segment| segment.end_ns)
    }

    /// Time spent in `activity`.
    #[must_use]
    pub fn time_in(&self, activity: Activity) -> u64 {
        let open = self.segments.last().filter(|segment| segment.activity == activity).map_or(0, Segment::duration_ns);
        self.closed_ns[activity as usize] + open
    }

    /// What the worker is doing now (or did last).
    #[must_use]
    pub fn activity(&self) -> Option<Activity> {
        self.segments.last().map(|segment| segment.activity)
    }

    /// What the worker was doing at `ns`, if it lived then.
    #[must_use]
    pub fn activity_at(&self, ns: u64) -> Option<Activity> {
        let at = self.segments.partition_point(|segment| segment.end_ns <= ns);
        self.segments.get(at).filter(|segment| segment.start_ns <= ns).map(|segment| segment.activity)
    }

    fn push(&mut self, event: StateEvent) {
        if let Some(last) = self.segments.last_mut() {
            let at = event.ns.max(last.start_ns);
            last.end_ns = at;
            if last.activity == event.activity && last.cpu == event.cpu {
                // Only after missed events: the writer records changes alone.
                return;
            }
            self.closed_ns[last.activity as usize] += last.duration_ns();
            if event.activity == Activity::LockWait && last.activity != Activity::LockWait {
                self.lock_waits += 1;
            }
            self.segments.push(Segment { start_ns: at, end_ns: at, activity: event.activity, cpu: event.cpu });
        } else {
            self.lock_waits += u64::from(event.activity == Activity::LockWait);
            self.segments.push(Segment {
                start_ns: event.ns,
                end_ns: event.ns,
                activity: event.activity,
                cpu: event.cpu,
            });
        }
    }

    fn clone_without_segments(&self) -> Self {
        Self {
            index: self.index,
            pid: self.pid,
            tid: self.tid,
            segments: Vec::new(),
            missed: self.missed,
            open: self.open,
            closed_ns: self.closed_ns,
            lock_waits: self.lock_waits,
            watched_from_ns: self.watched_from_ns,
            on_cpu: Vec::new(),
            lost_switches: self.lost_switches,
        }
    }

    fn close_at(&mut self, ns: u64) {
        if let Some(last) = self.segments.last_mut() {
            last.end_ns = ns.max(last.start_ns);
        }
        self.open = false;
    }
}

/// Every worker's history in one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    /// CLOCK_MONOTONIC when the run started: the zero of a trace.
    pub started_ns: u64,
    /// One entry per worker life, in the order they began.
    pub workers: Vec<WorkerTimeline>,
}

impl Timeline {
    /// The lives of worker `index` (one, or more when it was replaced).
    pub fn lives(&self, index: usize) -> impl Iterator<Item = &WorkerTimeline> {
        self.workers.iter().filter(move |worker| worker.index == index)
    }

    /// The latest life of each of `workers` workers, by index (None before it recorded
    /// anything): one pass, where [`Timeline::lives`] per worker would be quadratic.
    #[must_use]
    pub fn latest_lives(&self, workers: usize) -> Vec<Option<&WorkerTimeline>> {
        let mut latest = vec![None; workers];
        for life in &self.workers {
            if let Some(slot) = latest.get_mut(life.index) {
                *slot = Some(life);
            }
        }
        latest
    }

    /// The same timeline from `from_ns` on: what a view of the last seconds needs to draw, with
    /// each life's totals kept whole.
    #[must_use]
    pub fn since(&self, from_ns: u64) -> Self {
        let workers = self
            .workers
            .iter()
            .map(|life| {
                let first = life.segments.partition_point(|segment| segment.end_ns <= from_ns);
                let first_slice = life.on_cpu.partition_point(|slice| slice.end_ns <= from_ns);
                WorkerTimeline {
                    segments: life.segments[first..].to_vec(),
                    on_cpu: life.on_cpu[first_slice..].to_vec(),
                    ..life.clone_without_segments()
                }
            })
            .collect();
        Self { started_ns: self.started_ns, workers }
    }

    /// The latest instant the timeline knows of.
    #[must_use]
    pub fn end_ns(&self) -> u64 {
        self.workers.iter().filter_map(WorkerTimeline::end_ns).max().unwrap_or(self.started_ns)
    }
}

#[cfg(test)]
mod tests;
