//! The engine's side of the board's rings: a cursor per worker, the lives it opens and closes,
//! and the merge of each worker's own state changes with its thread's context switches, in
//! time order. It only reads the board.

use super::{Timeline, WorkerTimeline};
use crate::board::{Activity, Board, StateEvent};
use crate::engine::run::observer::{Switch, SwitchKind};

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
