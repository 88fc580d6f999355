//! The run's history of what each worker did, read from the board's state rings and merged with
//! the kernel's context switches: segments of one activity on one CPU, contiguous from a
//! worker's first instruction to its end.
//!
//! The ring says what the worker meant to do; the switches say whether it was on a CPU. A worker
//! that meant to run (running or draining) and was preempted is `waiting for a CPU` from the
//! switch out until its next switch in. A voluntary switch changes nothing: the worker's own
//! record already says why it waits.
//!
//! The engine drains every ring into a [`Timeline`] at each `Run::poll` (one load per worker when
//! nothing changed) and closes a worker's life when it reaps it; the finished report carries the
//! result. This module only reads the board: it never writes a ring, starts or signals a worker.

use super::observer::{Switch, SwitchKind};
use crate::board::{Activity, Board, StateEvent};

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
                WorkerTimeline { segments: life.segments[first..].to_vec(), ..life.clone_without_segments() }
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

/// Where the engine is in one worker's ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Life {
    /// The next event begins a life.
    Awaiting,
    /// Events go to `workers[at]`.
    Open { at: usize },
    /// The engine reaped the worker: later events (an abandoned thread's) are not its life.
    Closed,
}

#[derive(Debug, Clone, Copy)]
struct Cursor {
    next: u64,
    life: Life,
    /// What the worker's ring last said it meant to do.
    intent: Option<Activity>,
    /// Off its CPU since a preemption, per the kernel.
    preempted: bool,
}

impl Cursor {
    const START: Self = Self { next: 0, life: Life::Awaiting, intent: None, preempted: false };

    /// What the timeline shows: the intent, unless the worker meant to run and had no CPU.
    fn shown(&self, intent: Activity) -> Activity {
        match intent {
            Activity::Running | Activity::Draining if self.preempted => Activity::WaitingForCpu,
            _ => intent,
        }
    }
}

/// Drains the board's rings into a [`Timeline`]: the engine's side of the rings.
#[derive(Debug)]
pub struct TimelineReader {
    timeline: Timeline,
    cursors: Vec<Cursor>,
    /// Reused between drains.
    scratch: Vec<StateEvent>,
}

impl TimelineReader {
    /// For a run of `workers` workers begun at `started_ns`, whose rings were just reset.
    #[must_use]
    pub fn new(started_ns: u64, workers: usize) -> Self {
        Self {
            timeline: Timeline { started_ns, workers: Vec::new() },
            cursors: vec![Cursor::START; workers],
            scratch: Vec::new(),
        }
    }

    #[must_use]
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// Reads what every ring gained since the last drain, with the switches the kernel reported
    /// (`switches[index]`, taken); open lives extend to `now_ns`.
    pub(crate) fn drain(&mut self, board: &Board, switches: &mut [Vec<Switch>], now_ns: u64) {
        for index in 0..self.cursors.len() {
            self.drain_one(board, index, switches.get_mut(index));
        }
        for cursor in &self.cursors {
            if let Life::Open { at } = cursor.life {
                if let Some(last) = self.timeline.workers[at].segments.last_mut() {
                    last.end_ns = last.end_ns.max(now_ns);
                }
            }
        }
    }

    /// Merges worker `index`'s new ring events and switches in time order.
    fn drain_one(&mut self, board: &Board, index: usize, switches: Option<&mut Vec<Switch>>) {
        let Some(cursor) = self.cursors.get_mut(index) else { return };
        let slot = board.slot(index);
        let mut events = std::mem::take(&mut self.scratch);
        events.clear();
        let mut missed = 0;
        if slot.ring.head() > cursor.next {
            let read = slot.ring.read(cursor.next, &mut events);
            cursor.next = read.next;
            missed = read.missed;
        }
        let mut kernel = switches.map(std::mem::take).unwrap_or_default();
        let mut ring_events = events.drain(..).peekable();
        let mut switch_events = kernel.drain(..).peekable();
        loop {
            let ring_first = match (ring_events.peek(), switch_events.peek()) {
                (Some(event), Some(switch)) => event.ns <= switch.ns,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            if ring_first {
                if let Some(event) = ring_events.next() {
                    self.apply_event(board, index, event, &mut missed);
                }
            } else if let Some(switch) = switch_events.next() {
                self.apply_switch(index, switch);
            }
        }
        drop(ring_events);
        self.scratch = events;
    }

    /// One of the worker's own state changes.
    fn apply_event(&mut self, board: &Board, index: usize, event: StateEvent, missed: &mut u64) {
        let cursor = &mut self.cursors[index];
        let at = match cursor.life {
            Life::Closed => return,
            Life::Open { at } => at,
            Life::Awaiting => {
                let slot = board.slot(index);
                self.timeline.workers.push(WorkerTimeline {
                    index,
                    pid: slot.pid.load(std::sync::atomic::Ordering::Relaxed),
                    tid: slot.tid.load(std::sync::atomic::Ordering::Relaxed),
                    open: true,
                    ..WorkerTimeline::default()
                });
                let at = self.timeline.workers.len() - 1;
                cursor.life = Life::Open { at };
                at
            }
        };
        let worker = &mut self.timeline.workers[at];
        worker.missed += std::mem::take(missed);
        if event.activity == Activity::End {
            if worker.segments.is_empty() {
                worker.push(StateEvent { activity: Activity::Idle, ..event });
            }
            worker.close_at(event.ns);
            cursor.life = Life::Awaiting;
            cursor.intent = None;
        } else {
            cursor.intent = Some(event.activity);
            worker.push(StateEvent { activity: cursor.shown(event.activity), ..event });
        }
    }

    /// One switch of the worker's thread on or off a CPU.
    fn apply_switch(&mut self, index: usize, switch: Switch) {
        let cursor = &mut self.cursors[index];
        cursor.preempted = switch.kind == SwitchKind::OutPreempted;
        let (Life::Open { at }, Some(intent)) = (cursor.life, cursor.intent) else { return };
        let worker = &mut self.timeline.workers[at];
        let Some(last) = worker.segments.last() else { return };
        let activity = cursor.shown(intent);
        let cpu = if switch.kind == SwitchKind::In { Some(switch.cpu) } else { last.cpu };
        if activity != last.activity || cpu != last.cpu {
            worker.push(StateEvent { ns: switch.ns, activity, cpu });
        }
    }

    /// Worker `index` has ended (reaped, joined, or given up on): reads the rest of its ring and
    /// ends its life at `now_ns` unless it recorded its own end.
    pub(crate) fn close(&mut self, board: &Board, switches: &mut [Vec<Switch>], index: usize, now_ns: u64) {
        self.drain_one(board, index, switches.get_mut(index));
        let Some(cursor) = self.cursors.get_mut(index) else { return };
        if let Life::Open { at } = cursor.life {
            self.timeline.workers[at].close_at(now_ns);
        }
        cursor.life = Life::Closed;
    }

    /// Worker `index` is being replaced: the replacement's events begin a new life.
    pub fn reopen(&mut self, index: usize) {
        if let Some(cursor) = self.cursors.get_mut(index) {
            *cursor = Cursor { next: cursor.next, ..Cursor::START };
        }
    }

    /// The finished timeline: every ring read to its end, every life still open ended at `now_ns`.
    #[must_use]
    pub(crate) fn finish(mut self, board: &Board, switches: &mut [Vec<Switch>], now_ns: u64) -> Timeline {
        for index in 0..self.cursors.len() {
            self.close(board, switches, index, now_ns);
        }
        self.timeline
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::Board;

    fn board(workers: usize) -> Board {
        let board = Board::create().expect("memfd");
        board.begin_run(workers, 1);
        board
    }

    fn kinds(worker: &WorkerTimeline) -> Vec<(u64, u64, Activity, Option<usize>)> {
        worker.segments.iter().map(|s| (s.start_ns, s.end_ns, s.activity, s.cpu)).collect()
    }

    #[test]
    fn events_become_contiguous_segments_and_an_open_one_ends_now() {
        let board = board(1);
        let ring = &board.slot(0).ring;
        ring.record(100, Activity::Idle, Some(0));
        ring.record(110, Activity::Running, Some(0));
        ring.record(150, Activity::Running, Some(1));
        let mut reader = TimelineReader::new(90, 1);
        reader.drain(&board, &mut [], 200);
        let worker = &reader.timeline().workers[0];
        assert!(worker.open);
        assert_eq!(
            kinds(worker),
            vec![
                (100, 110, Activity::Idle, Some(0)),
                (110, 150, Activity::Running, Some(0)),
                (150, 200, Activity::Running, Some(1)),
            ]
        );
        ring.record(260, Activity::LockWait, Some(1));
        ring.record(300, Activity::End, Some(1));
        reader.drain(&board, &mut [], 400);
        let worker = &reader.timeline().workers[0];
        assert!(!worker.open);
        assert_eq!(worker.segments[2].end_ns, 260);
        assert_eq!(worker.end_ns(), Some(300), "ends at its own end, not at the poll");
        assert_eq!(worker.time_in(Activity::Running), 150);
        assert_eq!(worker.activity_at(270), Some(Activity::LockWait));
        assert_eq!(worker.activity_at(300), None);
    }

    #[test]
    fn a_worker_that_dies_without_an_end_is_closed_when_reaped_and_a_replacement_is_a_new_life() {
        let board = board(1);
        let ring = &board.slot(0).ring;
        board.slot(0).pid.store(41, std::sync::atomic::Ordering::Relaxed);
        ring.record(100, Activity::Idle, None);
        ring.record(120, Activity::Running, None);
        let mut reader = TimelineReader::new(0, 1);
        reader.drain(&board, &mut [], 130);
        reader.close(&board, &mut [], 0, 180);
        board.slot(0).pid.store(42, std::sync::atomic::Ordering::Relaxed);
        ring.record(190, Activity::Running, None);
        reader.drain(&board, &mut [], 200);
        assert_eq!(reader.timeline().workers.len(), 1, "events after a close belong to no life");
        reader.reopen(0);
        ring.record(210, Activity::Idle, None);
        ring.record(230, Activity::End, None);
        let timeline = reader.finish(&board, &mut [], 500);
        let lives: Vec<_> = timeline.lives(0).collect();
        assert_eq!(lives.len(), 2);
        assert_eq!((lives[0].pid, lives[0].end_ns()), (41, Some(180)));
        assert_eq!(kinds(lives[1]), vec![(210, 230, Activity::Idle, None)]);
        assert_eq!(lives[1].pid, 42);
    }

    #[test]
    fn a_preemption_while_running_is_waiting_for_a_cpu_until_the_switch_back_in() {
        let board = board(1);
        let ring = &board.slot(0).ring;
        ring.record(100, Activity::Idle, Some(0));
        ring.record(110, Activity::Running, Some(0));
        ring.record(190, Activity::Blocked, Some(1));
        ring.record(220, Activity::Running, Some(1));
        let switch = |ns, kind, cpu| Switch { ns, kind, cpu };
        let mut switches = vec![vec![
            switch(150, SwitchKind::OutPreempted, 0),
            switch(170, SwitchKind::In, 1),
            switch(195, SwitchKind::OutVoluntary, 1),
            switch(215, SwitchKind::In, 1),
        ]];
        let mut reader = TimelineReader::new(90, 1);
        reader.drain(&board, &mut switches, 230);
        assert!(switches[0].is_empty(), "the timeline takes the switches");
        let worker = &reader.timeline().workers[0];
        assert_eq!(
            kinds(worker),
            vec![
                (100, 110, Activity::Idle, Some(0)),
                (110, 150, Activity::Running, Some(0)),
                (150, 170, Activity::WaitingForCpu, Some(0)),
                (170, 190, Activity::Running, Some(1)),
                (190, 220, Activity::Blocked, Some(1)),
                (220, 230, Activity::Running, Some(1)),
            ],
            "a voluntary switch leaves the worker's own state"
        );
        assert_eq!(worker.time_in(Activity::WaitingForCpu), 20);
    }

    #[test]
    fn a_worker_preempted_while_waiting_for_the_lock_still_waits_for_the_lock() {
        let board = board(1);
        let ring = &board.slot(0).ring;
        ring.record(100, Activity::LockWait, Some(0));
        let mut switches = vec![vec![Switch { ns: 120, kind: SwitchKind::OutPreempted, cpu: 0 }]];
        let mut reader = TimelineReader::new(90, 1);
        reader.drain(&board, &mut switches, 130);
        ring.record(140, Activity::Running, Some(0));
        reader.drain(&board, &mut [vec![Switch { ns: 150, kind: SwitchKind::In, cpu: 0 }]], 160);
        assert_eq!(
            kinds(&reader.timeline().workers[0]),
            vec![
                (100, 140, Activity::LockWait, Some(0)),
                (140, 150, Activity::WaitingForCpu, Some(0)),
                (150, 160, Activity::Running, Some(0)),
            ]
        );
    }

    #[test]
    fn missed_events_are_counted_and_the_segments_stay_contiguous() {
        let board = board(1);
        let ring = &board.slot(0).ring;
        let activities = [Activity::Running, Activity::Blocked];
        for step in 0..1000u64 {
            ring.record(step * 10, activities[(step % 2) as usize], Some(0));
        }
        let mut reader = TimelineReader::new(0, 1);
        reader.drain(&board, &mut [], 10_000);
        let worker = &reader.timeline().workers[0];
        assert!(worker.missed > 0);
        assert_eq!(worker.missed + worker.segments.len() as u64, 1000);
        assert!(worker.segments.windows(2).all(|pair| pair[0].end_ns == pair[1].start_ns));
    }
}
