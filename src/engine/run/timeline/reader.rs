//! The engine's side of the board's rings: a cursor per worker, the lives it opens and closes,
//! and the merge of each worker's own state changes with its thread's context switches, in
//! time order. It only reads the board.
//!
//! At each poll the rings are read first and the kernel's switches after them: a state change
//! that the ring read missed then arrives at the next poll, after switches that may be later
//! than it, and is placed at the last of them. So a change can be shown a few microseconds
//! late, but a worker is never shown running while the kernel had it off its CPU.

use super::merge::{Kernel, VoluntarySwitchOut};
use super::{Timeline, WorkerTimeline};
use crate::board::{Activity, Board, StateEvent};
use crate::engine::run::observer::{Switch, SwitchNews};

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
    /// What the kernel last said of its thread.
    kernel: Kernel,
    /// What a voluntary switch-out means while it computes.
    meaning: VoluntarySwitchOut,
}

impl Cursor {
    fn start(meaning: VoluntarySwitchOut) -> Self {
        Self { next: 0, life: Life::Awaiting, intent: None, kernel: Kernel::Unwatched, meaning }
    }
}

/// One worker's part of the last ring read: `events[start..start + len]`.
#[derive(Debug, Clone, Copy, Default)]
struct RingSpan {
    start: usize,
    len: usize,
    missed: u64,
}

/// Drains the board's rings into a [`Timeline`]: the engine's side of the rings.
#[derive(Debug)]
pub struct TimelineReader {
    timeline: Timeline,
    cursors: Vec<Cursor>,
    /// The last ring read, every worker's events back to back; reused between reads.
    events: Vec<StateEvent>,
    spans: Vec<RingSpan>,
    /// When the engine stopped the run's processes (SIGSTOP) and let them go on, in order; the
    /// last may still be open.
    stops: Vec<(u64, Option<u64>)>,
}

impl TimelineReader {
    /// For a run of `workers` workers begun at `started_ns`, whose rings were just reset; a
    /// voluntary switch-out of a computing worker is `off CPU`.
    #[must_use]
    pub fn new(started_ns: u64, workers: usize) -> Self {
        Self::with_meanings(started_ns, vec![VoluntarySwitchOut::OffCpu; workers])
    }

    /// For a run of one worker per entry of `meanings`: what a voluntary switch-out means while
    /// that worker computes.
    #[must_use]
    pub fn with_meanings(started_ns: u64, meanings: Vec<VoluntarySwitchOut>) -> Self {
        Self {
            timeline: Timeline { started_ns, workers: Vec::new() },
            spans: vec![RingSpan::default(); meanings.len()],
            cursors: meanings.into_iter().map(Cursor::start).collect(),
            events: Vec::new(),
            stops: Vec::new(),
        }
    }

    #[must_use]
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// The engine stopped (SIGSTOP) or let go on (SIGCONT) the run's processes at `ns`: a
    /// computing worker's voluntary switch-out in between is a pause.
    pub(crate) fn note_stopped(&mut self, ns: u64, stopped: bool) {
        match (stopped, self.stops.last_mut()) {
            (false, Some((_, end @ None))) => *end = Some(ns),
            (true, None | Some((_, Some(_)))) => self.stops.push((ns, None)),
            _ => {}
        }
    }

    fn stopped_at(&self, ns: u64) -> bool {
        self.stops.iter().rev().any(|(from, to)| *from <= ns && to.is_none_or(|to| ns < to))
    }

    /// Reads what every ring gained since the last read (one load per unchanged ring), to be
    /// merged by [`TimelineReader::merge`] with the switches read after it.
    pub(crate) fn read_rings(&mut self, board: &Board) {
        self.events.clear();
        for index in 0..self.cursors.len() {
            self.read_ring(board, index);
        }
    }

    fn read_ring(&mut self, board: &Board, index: usize) {
        let (Some(cursor), Some(span)) = (self.cursors.get_mut(index), self.spans.get_mut(index)) else { return };
        let start = self.events.len();
        let mut missed = 0;
        let ring = &board.slot(index).ring;
        if ring.head() > cursor.next {
            let read = ring.read(cursor.next, &mut self.events);
            cursor.next = read.next;
            missed = read.missed;
        }
        *span = RingSpan { start, len: self.events.len() - start, missed };
    }

    /// Merges what the last ring read found with the switches the kernel reported since
    /// (`switches[index]`, taken); open lives extend to `now_ns`.
    pub(crate) fn merge(&mut self, board: &Board, switches: &mut [SwitchNews], now_ns: u64) {
        for index in 0..self.cursors.len() {
            self.merge_one(board, index, switches.get_mut(index));
        }
        for cursor in &self.cursors {
            if let Life::Open { at } = cursor.life {
                let life = &mut self.timeline.workers[at];
                if let Some(last) = life.segments.last_mut() {
                    last.end_ns = last.end_ns.max(now_ns);
                }
                if cursor.kernel.on_cpu() {
                    life.extend_on_cpu(now_ns);
                }
            }
        }
    }

    /// Merges worker `index`'s ring events of the last read and its switches in time order.
    fn merge_one(&mut self, board: &Board, index: usize, news: Option<&mut SwitchNews>) {
        let Some(span) = self.spans.get_mut(index).map(std::mem::take) else { return };
        let mut kernel = news.map(std::mem::take).unwrap_or_default();
        if let Some(from_ns) = kernel.watched_ns {
            self.watch(index, from_ns);
        }
        let mut missed = span.missed;
        let (mut ring_at, ring_end) = (span.start, span.start + span.len);
        let mut switch_events = kernel.switches.drain(..).peekable();
        loop {
            let ring_next = self.events.get(ring_at).filter(|_| ring_at < ring_end).copied();
            let ring_first = match (ring_next, switch_events.peek()) {
                (Some(event), Some(switch)) => event.ns <= switch.ns,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            if ring_first {
                if let Some(event) = ring_next {
                    ring_at += 1;
                    self.apply_event(board, index, event, &mut missed);
                }
            } else if let Some(switch) = switch_events.next() {
                self.apply_switch(index, switch);
            }
        }
    }

    /// The kernel reports every switch of worker `index`'s thread from `from_ns` on.
    fn watch(&mut self, index: usize, from_ns: u64) {
        let Some(cursor) = self.cursors.get_mut(index) else { return };
        cursor.kernel = Kernel::Watched { from_ns };
        if let Life::Open { at } = cursor.life {
            self.timeline.workers[at].begin_watch(cursor.kernel, from_ns);
        }
    }

    /// One of the worker's own state changes.
    fn apply_event(&mut self, board: &Board, index: usize, event: StateEvent, missed: &mut u64) {
        let cursor = &mut self.cursors[index];
        let (at, begins) = match cursor.life {
            Life::Closed => return,
            Life::Open { at } => (at, false),
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
                (at, true)
            }
        };
        let worker = &mut self.timeline.workers[at];
        worker.missed += std::mem::take(missed);
        let cpu = cursor.kernel.cpu(event.cpu);
        if event.activity == Activity::End {
            if worker.segments.is_empty() {
                worker.push(StateEvent { activity: Activity::Idle, cpu, ..event });
                worker.begin_watch(cursor.kernel, event.ns);
            }
            worker.end_on_cpu(event.ns, cursor.kernel.on_cpu());
            worker.close_at(event.ns);
            cursor.life = Life::Awaiting;
            cursor.intent = None;
        } else {
            cursor.intent = Some(event.activity);
            worker.push(StateEvent { activity: cursor.kernel.shown(event.activity, cursor.meaning), cpu, ..event });
            if begins {
                worker.begin_watch(cursor.kernel, event.ns);
            }
        }
    }

    /// One switch of the worker's thread on or off a CPU.
    fn apply_switch(&mut self, index: usize, switch: Switch) {
        let stopped = self.stopped_at(switch.ns);
        let cursor = &mut self.cursors[index];
        let before = cursor.kernel;
        cursor.kernel = Kernel::after(switch, stopped);
        let Life::Open { at } = cursor.life else { return };
        let worker = &mut self.timeline.workers[at];
        worker.note_switch(before, switch);
        let (Some(intent), Some(last)) = (cursor.intent, worker.segments.last()) else { return };
        let activity = cursor.kernel.shown(intent, cursor.meaning);
        let cpu = cursor.kernel.cpu(last.cpu);
        if activity != last.activity || cpu != last.cpu {
            worker.push(StateEvent { ns: switch.ns, activity, cpu });
        }
    }

    /// Worker `index` has ended (reaped, joined, or given up on): reads the rest of its ring and
    /// ends its life at `now_ns` unless it recorded its own end. Called between polls, never
    /// between a [`TimelineReader::read_rings`] and its [`TimelineReader::merge`]: its own read
    /// takes the place of that one's for this worker.
    pub(crate) fn close(&mut self, board: &Board, switches: &mut [SwitchNews], index: usize, now_ns: u64) {
        let start = self.events.len();
        self.read_ring(board, index);
        self.merge_one(board, index, switches.get_mut(index));
        self.events.truncate(start);
        let Some(cursor) = self.cursors.get_mut(index) else { return };
        if let Life::Open { at } = cursor.life {
            let life = &mut self.timeline.workers[at];
            life.end_on_cpu(now_ns, cursor.kernel.on_cpu());
            life.close_at(now_ns);
        }
        cursor.life = Life::Closed;
    }

    /// Worker `index` is being replaced: the replacement's events begin a new life, its
    /// thread not yet watched.
    pub fn reopen(&mut self, index: usize) {
        if let Some(cursor) = self.cursors.get_mut(index) {
            *cursor = Cursor { next: cursor.next, ..Cursor::start(cursor.meaning) };
        }
    }

    /// The finished timeline: every ring read to its end, every life still open ended at `now_ns`.
    #[must_use]
    pub(crate) fn finish(mut self, board: &Board, switches: &mut [SwitchNews], now_ns: u64) -> Timeline {
        for index in 0..self.cursors.len() {
            self.close(board, switches, index, now_ns);
        }
        self.timeline
    }
}
