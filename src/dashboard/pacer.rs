//! The dashboard loop's timing decisions: when to draw, when to refresh the responsiveness
//! figures, when to tick the engine, how long to wait for events, and how often the cores are
//! sampled. Pure: it keeps the instants of what happened and is told the time, so every
//! decision is tested without a clock or a terminal.

use std::time::{Duration, Instant};

use crate::telemetry::Pace;

/// At most this many frames a second, and only when something changed; a frame that answers
/// a key is drawn at once.
pub(crate) const FRAME: Duration = Duration::from_millis(33);
/// How often the responsiveness figures are refreshed while a run lasts.
const FIGURES_EVERY: Duration = Duration::from_secs(1);
/// While a key waits for its answer the engine's tick is put off, so that the key's frame does
/// not wait for it; by at most this many tick periods, so that a key held down still lets the
/// run's view move.
const KEY_DEFERS_TICK_BY: u32 = 3;
/// A tick may take at most this share (one in N) of the loop's time: on a machine too busy to
/// give the loop its time, ticks space out.
const TICK_SHARE: u32 = 8;
/// The shortest wait between ticks: a loop that woke at once would spin, and a spinning loop
/// is what a busy machine starves.
const MIN_WAIT: Duration = Duration::from_millis(1);
/// The wait when nothing runs and nothing is to be drawn: only an event wakes the loop.
const IDLE_WAIT: Duration = Duration::from_secs(3600);

/// What the loop has in hand, as far as its waiting goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Activity {
    /// No run.
    Idle,
    /// A run is starting its workers: each poll starts a slice of them.
    Launching,
    /// A run lasts.
    Running,
}

/// The loop's clock-free timekeeper.
#[derive(Debug)]
pub(crate) struct Pacer {
    /// When the last frame started drawing; None before the first.
    last_frame: Option<Instant>,
    /// When the last tick ended (or the loop started).
    last_tick: Instant,
    /// What the last tick (poll and sample) took, wall time: CPU and waiting for it alike.
    tick_cost: Duration,
    /// When the responsiveness figures were last handed to the state.
    last_figures: Instant,
    /// The pace the core sampler was last set to.
    cores: Pace,
}

impl Pacer {
    /// A pacer for a loop starting `now`, whose core sampler starts at the idle pace.
    pub(crate) fn new(now: Instant) -> Self {
        Self { last_frame: None, last_tick: now, tick_cost: Duration::ZERO, last_figures: now, cores: Pace::Idle }
    }

    /// Whether to draw now: only when something changed, at once for a key waiting for its
    /// answer, otherwise a frame after the last one started.
    pub(crate) fn frame_due(&self, now: Instant, dirty: bool, key_waiting: bool) -> bool {
        dirty && (key_waiting || self.since_frame(now) >= FRAME)
    }

    /// A frame started drawing at `started`; frames are paced from their start, so drawing
    /// time does not stretch the period.
    pub(crate) fn frame_started(&mut self, started: Instant) {
        self.last_frame = Some(started);
    }

    /// Whether a frame just drawn should refresh the responsiveness figures: at once after a
    /// key, else once a second while a run lasts.
    pub(crate) fn figures_due(&self, now: Instant, keyed: bool, running: bool) -> bool {
        keyed || (running && now.saturating_duration_since(self.last_figures) >= FIGURES_EVERY)
    }

    /// The figures were handed to the state at `at`.
    pub(crate) fn figures_shown(&mut self, at: Instant) {
        self.last_figures = at;
    }

    /// How long to wait for an event before the loop goes round again.
    pub(crate) fn wait(&self, now: Instant, dirty: bool, activity: Activity) -> Duration {
        match activity {
            Activity::Launching => Duration::ZERO,
            _ if dirty => FRAME.saturating_sub(self.since_frame(now)),
            Activity::Running => self.tick_every().saturating_sub(self.since_tick(now)).max(MIN_WAIT),
            Activity::Idle => IDLE_WAIT,
        }
    }

    /// Whether the engine's tick (reaping, draining the rings, sampling the board) is due: once
    /// a tick period, which a waiting key stretches by up to [`KEY_DEFERS_TICK_BY`] periods.
    pub(crate) fn tick_due(&self, now: Instant, key_waiting: bool) -> bool {
        let every = self.tick_every();
        let since = self.since_tick(now);
        since >= every && (!key_waiting || since >= every * (1 + KEY_DEFERS_TICK_BY))
    }

    /// A tick decided at `decided` ended at `ended`: its cost spaces out the next ones.
    pub(crate) fn ticked(&mut self, decided: Instant, ended: Instant) {
        self.tick_cost = ended.saturating_duration_since(decided);
        self.last_tick = ended;
    }

    /// The pace the core sampler should change to, if it should: four times a second while a
    /// run lasts, once a second while the dashboard is idle.
    pub(crate) fn cores_pace(&mut self, running: bool) -> Option<Pace> {
        let wanted = if running { Pace::Run } else { Pace::Idle };
        (wanted != self.cores).then(|| {
            self.cores = wanted;
            wanted
        })
    }

    /// A frame, or longer on a machine too busy to give the loop its time: then a tick takes
    /// at most its share of the loop.
    fn tick_every(&self) -> Duration {
        FRAME.max(self.tick_cost * TICK_SHARE)
    }

    /// Since the last frame started; a whole frame before the first.
    fn since_frame(&self, now: Instant) -> Duration {
        self.last_frame.map_or(FRAME, |at| now.saturating_duration_since(at))
    }

    fn since_tick(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.last_tick)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Times are written in milliseconds: a frame is 33 of them.
    const MS: Duration = Duration::from_millis(1);

    fn pacer() -> (Pacer, Instant) {
        let start = Instant::now();
        (Pacer::new(start), start)
    }

    #[test]
    fn the_first_frame_is_drawn_at_once_and_only_when_something_changed() {
        let (pacer, start) = pacer();
        assert!(pacer.frame_due(start, true, false));
        assert!(!pacer.frame_due(start, false, false));
        assert!(!pacer.frame_due(start, false, true), "a key with nothing changed draws nothing");
    }

    #[test]
    fn progress_waits_a_frame_from_the_last_frames_start() {
        let (mut pacer, start) = pacer();
        pacer.frame_started(start);
        assert!(!pacer.frame_due(start + 32 * MS, true, false));
        assert!(pacer.frame_due(start + FRAME, true, false));
    }

    #[test]
    fn a_key_is_drawn_at_once() {
        let (mut pacer, start) = pacer();
        pacer.frame_started(start);
        assert!(pacer.frame_due(start + MS, true, true));
    }

    #[test]
    fn figures_refresh_after_a_key_or_once_a_second_while_running() {
        let (mut pacer, start) = pacer();
        assert!(pacer.figures_due(start, true, false), "after a key, even idle");
        assert!(!pacer.figures_due(start + FIGURES_EVERY, false, false), "idle: only after a key");
        assert!(!pacer.figures_due(start + 999 * MS, false, true));
        assert!(pacer.figures_due(start + FIGURES_EVERY, false, true));
        pacer.figures_shown(start + FIGURES_EVERY);
        assert!(!pacer.figures_due(start + FIGURES_EVERY + MS, false, true));
        assert!(pacer.figures_due(start + 2 * FIGURES_EVERY, false, true));
    }

    #[test]
    fn launching_never_waits() {
        let (pacer, start) = pacer();
        assert_eq!(pacer.wait(start, true, Activity::Launching), Duration::ZERO);
        assert_eq!(pacer.wait(start, false, Activity::Launching), Duration::ZERO);
    }

    #[test]
    fn something_to_draw_waits_until_the_frame_is_due() {
        let (mut pacer, start) = pacer();
        assert_eq!(pacer.wait(start, true, Activity::Idle), Duration::ZERO, "no frame yet");
        pacer.frame_started(start);
        assert_eq!(pacer.wait(start + 10 * MS, true, Activity::Running), 23 * MS);
        assert_eq!(pacer.wait(start + 10 * MS, true, Activity::Idle), 23 * MS);
        assert_eq!(pacer.wait(start + FRAME + MS, true, Activity::Running), Duration::ZERO);
    }

    #[test]
    fn a_run_waits_for_its_next_tick_but_at_least_a_millisecond() {
        let (pacer, start) = pacer();
        assert_eq!(pacer.wait(start + 10 * MS, false, Activity::Running), 23 * MS);
        assert_eq!(pacer.wait(start + FRAME, false, Activity::Running), MIN_WAIT);
        assert_eq!(pacer.wait(start + 5 * FRAME, false, Activity::Running), MIN_WAIT);
    }

    #[test]
    fn an_idle_dashboard_waits_for_events_only() {
        let (pacer, start) = pacer();
        assert_eq!(pacer.wait(start, false, Activity::Idle), IDLE_WAIT);
    }

    #[test]
    fn the_engine_ticks_once_a_frame() {
        let (mut pacer, start) = pacer();
        assert!(!pacer.tick_due(start + 32 * MS, false));
        assert!(pacer.tick_due(start + FRAME, false));
        let ended = start + FRAME + MS;
        pacer.ticked(start + FRAME, ended);
        assert!(!pacer.tick_due(ended + 32 * MS, false));
        assert!(pacer.tick_due(ended + FRAME, false));
    }

    #[test]
    fn a_waiting_key_puts_the_tick_off_by_up_to_three_frames() {
        let (pacer, start) = pacer();
        assert!(!pacer.tick_due(start + FRAME, true));
        assert!(!pacer.tick_due(start + 131 * MS, true));
        assert!(pacer.tick_due(start + 4 * FRAME, true));
    }

    #[test]
    fn costly_ticks_space_out_to_an_eighth_of_the_loop() {
        let (mut pacer, start) = pacer();
        // A 10 ms tick: the next one 80 ms after it, not 33.
        let ended = start + FRAME + 10 * MS;
        pacer.ticked(start + FRAME, ended);
        assert!(!pacer.tick_due(ended + FRAME, false));
        assert!(!pacer.tick_due(ended + 79 * MS, false));
        assert!(pacer.tick_due(ended + 80 * MS, false));
        assert_eq!(pacer.wait(ended + 30 * MS, false, Activity::Running), 50 * MS);
        // A key stretches the longer period too: four of them.
        assert!(!pacer.tick_due(ended + 319 * MS, true));
        assert!(pacer.tick_due(ended + 320 * MS, true));
        // A cheap tick brings the period back to a frame.
        let again = ended + 80 * MS;
        pacer.ticked(again, again + MS);
        assert!(pacer.tick_due(again + MS + FRAME, false));
    }

    #[test]
    fn the_cores_pace_changes_only_when_a_run_starts_or_ends() {
        let (mut pacer, _) = pacer();
        assert_eq!(pacer.cores_pace(false), None, "the sampler starts idle");
        assert_eq!(pacer.cores_pace(true), Some(Pace::Run));
        assert_eq!(pacer.cores_pace(true), None);
        assert_eq!(pacer.cores_pace(false), Some(Pace::Idle));
        assert_eq!(pacer.cores_pace(false), None);
    }
}
