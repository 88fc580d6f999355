//! The timeline's lanes, computed: each worker's record sampled eight times per cell, grouped
//! when workers outnumber rows, or regrouped per CPU. Pure maths on the run's timeline; the
//! drawing is the parent module's.

use crate::board::Activity;
use crate::engine::timeline::Timeline;

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

/// What a worker did at one instant, and on which CPU; None where it did not live.
type Sample = Option<(Activity, Option<usize>)>;

/// Each worker's samples at every eighth of every cell, by worker index (a worker replaced
/// after a crash has its lives on one row).
fn samples(timeline: &Timeline, window: Window, width: usize) -> Vec<(usize, Vec<Sample>)> {
    let slots = width * EIGHTHS;
    let slot_ns = (window.end_ns - window.start_ns).max(1) as f64 / slots as f64;
    let rows = timeline.workers.iter().map(|life| life.index + 1).max().unwrap_or(0);
    let mut workers: Vec<Option<Vec<Sample>>> = vec![None; rows];
    for life in &timeline.workers {
        let row = workers[life.index].get_or_insert_with(|| vec![None; slots]);
        let mut segments = life.segments.iter().peekable();
        for (slot, sample) in row.iter_mut().enumerate() {
            let t = window.start_ns + ((slot as f64 + 0.5) * slot_ns) as u64;
            while segments.peek().is_some_and(|segment| segment.end_ns <= t) {
                segments.next();
            }
            match segments.peek() {
                Some(segment) if segment.start_ns <= t => *sample = Some((segment.activity, segment.cpu)),
                Some(_) => {}
                None => break,
            }
        }
    }
    workers.into_iter().enumerate().filter_map(|(index, row)| Some((index, row?))).collect()
}

/// One lane per worker, or per group of workers when they outnumber the rows (each instant then
/// shows what most of the group did).
pub(crate) fn worker_lanes(timeline: &Timeline, window: Window, width: usize, rows: usize) -> Vec<Lane> {
    let workers = samples(timeline, window, width);
    let rows = rows.max(1);
    let per_lane = workers.len().div_ceil(rows).max(1);
    workers
        .chunks(per_lane)
        .map(|group| {
            let label = match group {
                [(index, _)] => format!("w{index}"),
                _ => format!("w{}-{}", group[0].0, group[group.len() - 1].0),
            };
            let marks: Vec<Option<Mark>> = (0..width * EIGHTHS)
                .map(|slot| {
                    most_common(group.iter().filter_map(|(_, row)| row[slot].map(|(activity, _)| activity)))
                        .map(Mark::Activity)
                })
                .collect();
            Lane { label, cells: cells_of(&marks) }
        })
        .collect()
}

/// One lane per CPU: which worker computed there (running or draining), as its rings saw it.
pub(crate) fn cpu_lanes(timeline: &Timeline, window: Window, width: usize, rows: usize, cpus: usize) -> Vec<Lane> {
    let workers = samples(timeline, window, width);
    let seen = workers
        .iter()
        .flat_map(|(_, row)| row.iter().filter_map(|sample| sample.and_then(|(_, cpu)| cpu)))
        .max()
        .map_or(0, |cpu| cpu + 1);
    (0..cpus.max(seen))
        .take(rows.max(1))
        .map(|cpu| {
            let marks: Vec<Option<Mark>> = (0..width * EIGHTHS)
                .map(|slot| {
                    workers.iter().find_map(|(index, row)| match row[slot] {
                        Some((Activity::Running | Activity::Draining, Some(on))) if on == cpu => {
                            Some(Mark::Worker(*index))
                        }
                        _ => None,
                    })
                })
                .collect();
            Lane { label: format!("cpu{cpu}"), cells: cells_of(&marks) }
        })
        .collect()
}

/// The most frequent activity among `activities`; ties go to the busiest state.
fn most_common(activities: impl Iterator<Item = Activity>) -> Option<Activity> {
    let mut counts = [0usize; Activity::ALL.len()];
    for activity in activities {
        counts[activity as usize] += 1;
    }
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
