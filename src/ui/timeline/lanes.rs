//! The timeline's lanes, computed: each worker's record sampled eight times per cell, grouped
//! when workers outnumber rows, or regrouped per CPU (each thread's stretches on a CPU where the
//! kernel watched it, else where the worker said it computed). Pure maths on the run's timeline;
//! the drawing is the parent module's.

use crate::board::Activity;
use crate::engine::timeline::{CpuSlice, Segment, Timeline, WorkerTimeline};

pub(crate) const EIGHTHS: usize = 8;
/// What one lane shows at one instant: an activity of a worker lane, or the worker running on a
/// CPU lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    Activity(Activity),
    Worker(usize),
}

/// One cell of a lane: `first` over its first `split` eighths, then `rest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Paint {
    pub first: Option<Mark>,
    pub split: u8,
    pub rest: Option<Mark>,
}

/// The time a view covers, CLOCK_MONOTONIC nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub start_ns: u64,
    pub end_ns: u64,
}

/// A lane ready to draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lane {
    pub label: String,
    pub cells: Vec<Paint>,
}

/// it from the left.
pub(crate) fn window_for(timeline: &Timeline, now_ns: Option<u64>, length_ns: u64) -> Window {
    let end = now_ns.unwrap_or_else(|| timeline.end_ns()).max(timeline.started_ns);
    if end - timeline.started_ns < length_ns {
        Window { start_ns: timeline.started_ns, end_ns: timeline.started_ns + length_ns }
    } else {
        Window { start_ns: end - length_ns, end_ns: end }
    }
}

/// The eighth-slots of a window: slot `k` stands for the instant at its middle.
#[derive(Debug, Clone, Copy)]
struct Slots {
    start_ns: u64,
    slot_ns: f64,
    count: usize,
}

impl Slots {
    fn new(window: Window, width: usize) -> Self {
        let count = width * EIGHTHS;
        Self {
            start_ns: window.start_ns,
            slot_ns: (window.end_ns - window.start_ns).max(1) as f64 / count as f64,
            count,
        }
    }

    /// The slots whose middle instant falls in `start_ns..end_ns`.
    fn covered(self, start_ns: u64, end_ns: u64) -> std::ops::Range<usize> {
        let first = |ns: u64| {
            let at = (ns as f64 - self.start_ns as f64) / self.slot_ns - 0.5;
            (at.ceil().max(0.0) as usize).min(self.count)
        };
        first(start_ns)..first(end_ns)
    }

    fn end_ns(self) -> u64 {
        self.start_ns + (self.slot_ns * self.count as f64) as u64
    }
}

/// The segments of every life that may touch the window, with their worker's index.
fn segments_in(timeline: &Timeline, slots: Slots) -> impl Iterator<Item = (usize, &Segment)> + '_ {
    let (start, end) = (slots.start_ns, slots.end_ns());
    timeline.workers.iter().flat_map(move |life| {
        let first = life.segments.partition_point(|segment| segment.end_ns <= start);
        life.segments[first..]
            .iter()
            .take_while(move |segment| segment.start_ns < end)
            .map(move |segment| (life.index, segment))
    })
}

/// One lane per worker, or per group of workers when they outnumber the rows (each instant then
/// shows what most of the group did). Each segment adds to its group's counts at its first slot
/// and takes away at its end (a difference array), so the cost is the segments in the window
/// plus the slots of each lane, not the slots of every worker.
pub(crate) fn worker_lanes(timeline: &Timeline, window: Window, width: usize, rows: usize) -> Vec<Lane> {
    let slots = Slots::new(window, width);
    let workers = timeline.workers.iter().map(|life| life.index + 1).max().unwrap_or(0);
    let per_lane = workers.div_ceil(rows.max(1)).max(1);
    let lanes = workers.div_ceil(per_lane);
    let kinds = Activity::ALL.len();
    let mut changes = vec![0i32; lanes * (slots.count + 1) * kinds];
    let mut lived = vec![false; lanes];
    for life in &timeline.workers {
        lived[life.index / per_lane] = true;
    }
    for (index, segment) in segments_in(timeline, slots) {
        let lane = index / per_lane;
        let covered = slots.covered(segment.start_ns, segment.end_ns);
        if covered.is_empty() {
            continue;
        }
        let at = |slot: usize| (lane * (slots.count + 1) + slot) * kinds + segment.activity as usize;
        changes[at(covered.start)] += 1;
        changes[at(covered.end)] -= 1;
    }
    (0..lanes)
        .filter(|lane| lived[*lane])
        .map(|lane| {
            let (first, last) = (lane * per_lane, ((lane + 1) * per_lane).min(workers) - 1);
            let label = if first == last { format!("w{first}") } else { format!("w{first}-{last}") };
            let mut counts = vec![0i32; kinds];
            let marks: Vec<Option<Mark>> = (0..slots.count)
                .map(|slot| {
                    for (kind, count) in counts.iter_mut().enumerate() {
                        *count += changes[(lane * (slots.count + 1) + slot) * kinds + kind];
                    }
                    most_common(&counts).map(Mark::Activity)
                })
                .collect();
            Lane { label, cells: cells_of(&marks) }
        })
        .collect()
}

/// Where the CPU lanes' marks come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CpuLaneSource {
    /// Every life's thread was watched by the kernel: each mark is a stretch on that CPU.
    Exact,
    /// Some lives were watched, others only say where they last computed.
    PartlySampled,
    /// No switch was seen (the schedstat fallback): where the workers said they computed, as
    /// they sampled their CPU at state changes and chunk boundaries.
    Sampled,
}

impl CpuLaneSource {
    /// How the lanes of `timeline` are drawn.
    #[must_use]
    pub(crate) fn of(timeline: &Timeline) -> Self {
        let watched = timeline.workers.iter().filter(|life| life.watched_from_ns.is_some()).count();
        if watched == timeline.workers.len() {
            Self::Exact
        } else if watched == 0 {
            Self::Sampled
        } else {
            Self::PartlySampled
        }
    }

    /// What the lanes show, for the legend.
    #[must_use]
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::Exact => "exact: the kernel's switches",
            Self::PartlySampled => "partly sampled: some workers' own CPU samples",
            Self::Sampled => "sampled: where workers said they ran",
        }
    }
}

/// One lane per CPU: which worker's thread was on it. For a life the kernel watched, from its
/// stretches on each CPU (exact: two threads never share an instant), preferring where it
/// computed, so that of the tasks sharing one thread the one computing is shown; for a life it
/// never watched, where the worker said it computed (running or draining), the first found where
/// two did in one slot.
pub(crate) fn cpu_lanes(timeline: &Timeline, window: Window, width: usize, rows: usize, cpus: usize) -> Vec<Lane> {
    let slots = Slots::new(window, width);
    let seen_cpu = segments_in(timeline, slots).filter_map(|(_, segment)| segment.cpu);
    let seen = seen_cpu.chain(slices_in(timeline, slots).map(|(_, slice)| slice.cpu)).max().map_or(0, |cpu| cpu + 1);
    let lanes = cpus.max(seen).min(rows.max(1));
    let mut owners = Owners { marks: vec![vec![None; slots.count]; lanes], filled: vec![0; lanes], slots };
    let computing = |segment: &&Segment| matches!(segment.activity, Activity::Running | Activity::Draining);
    for life in timeline.workers.iter().filter(|life| life.watched_from_ns.is_some()) {
        let from = life.watched_from_ns.unwrap_or(0);
        for segment in life_segments_in(life, slots).filter(computing) {
            if let Some(cpu) = segment.cpu {
                owners.paint(cpu, segment.start_ns.max(from), segment.end_ns, life.index);
            }
        }
    }
    for (index, slice) in slices_in(timeline, slots) {
        owners.paint(slice.cpu, slice.start_ns, slice.end_ns, index);
    }
    for life in timeline.workers.iter().filter(|life| life.watched_from_ns.is_none()) {
        for segment in life_segments_in(life, slots).filter(computing) {
            if let Some(cpu) = segment.cpu {
                owners.paint(cpu, segment.start_ns, segment.end_ns, life.index);
            }
        }
    }
    owners
        .marks
        .iter()
        .enumerate()
        .map(|(cpu, marks)| Lane { label: format!("cpu{cpu}"), cells: cells_of(marks) })
        .collect()
}

/// Who is on each CPU lane in each eighth-slot; the first painted keeps a slot.
struct Owners {
    marks: Vec<Vec<Option<Mark>>>,
    filled: Vec<usize>,
    slots: Slots,
}

impl Owners {
    fn paint(&mut self, cpu: usize, start_ns: u64, end_ns: u64, index: usize) {
        let (Some(marks), Some(filled)) = (self.marks.get_mut(cpu), self.filled.get_mut(cpu)) else { return };
        if *filled == self.slots.count || end_ns <= start_ns {
            return;
        }
        for owner in &mut marks[self.slots.covered(start_ns, end_ns)] {
            if owner.is_none() {
                *owner = Some(Mark::Worker(index));
                *filled += 1;
            }
        }
    }
}

/// The segments of one life that may touch the window.
fn life_segments_in(life: &WorkerTimeline, slots: Slots) -> impl Iterator<Item = &Segment> + '_ {
    let (start, end) = (slots.start_ns, slots.end_ns());
    let first = life.segments.partition_point(|segment| segment.end_ns <= start);
    life.segments[first..].iter().take_while(move |segment| segment.start_ns < end)
}

/// The stretches on a CPU of every life that may touch the window, with their worker's index.
fn slices_in(timeline: &Timeline, slots: Slots) -> impl Iterator<Item = (usize, &CpuSlice)> + '_ {
    let (start, end) = (slots.start_ns, slots.end_ns());
    timeline.workers.iter().flat_map(move |life| {
        let first = life.on_cpu.partition_point(|slice| slice.end_ns <= start);
        life.on_cpu[first..].iter().take_while(move |slice| slice.start_ns < end).map(move |slice| (life.index, slice))
    })
}

/// The most frequent activity by its count; ties go to the first in [`Activity::ALL`].
fn most_common(counts: &[i32]) -> Option<Activity> {
    let best = counts.iter().copied().max().filter(|count| *count > 0)?;
    Activity::ALL.iter().copied().find(|activity| counts[*activity as usize] == best)
}

/// Eighth-samples to cells: the first mark over its run of eighths, then the most common rest.
pub(crate) fn cells_of(marks: &[Option<Mark>]) -> Vec<Paint> {
    marks
        .chunks(EIGHTHS)
        .map(|eighths| {
            let first = eighths[0];
            let split = eighths.iter().take_while(|mark| **mark == first).count();
            let rest = eighths[split..]
                .iter()
                .copied()
                .max_by_key(|mark| eighths[split..].iter().filter(|m| *m == mark).count());
            Paint { first, split: split as u8, rest: rest.flatten() }
        })
        .collect()
}
