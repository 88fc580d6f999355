//! What one dashboard frame costs at a given worker count, measured as the loop does its
//! work (poll the run, sample the board into a view, fold it into the state, draw), with the
//! real `app` and `ui` drawing into an off-screen terminal. For `benches/frame.rs`: the
//! bench sees only this, never the dashboard's private parts.

use std::time::{Duration, Instant};

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use crate::app::{update, Event, State};
use crate::engine::Run;
use crate::telemetry::RunView;

/// The time each step of one frame took.
#[derive(Debug, Clone, Copy, Default)]
pub struct FrameCost {
    /// `Run::poll`: reaping, draining the state rings, deadlines.
    pub poll: Duration,
    /// `RunView::sample`: the board and the timeline read into a view.
    pub sample: Duration,
    /// `app::update` with the view.
    pub update: Duration,
    /// `ui::draw` into a `width`×`height` off-screen terminal.
    pub draw: Duration,
}

impl FrameCost {
    #[must_use]
    pub fn total(&self) -> Duration {
        self.poll + self.sample + self.update + self.draw
    }
}

/// Draws `frames` frames of the live `run` as the dashboard would, `pause` apart, in a
/// `width`×`height` terminal, with the timeline open or not; returns each frame's cost.
///
/// # Panics
/// When the off-screen terminal cannot be drawn, which does not happen.
#[must_use]
pub fn measure(
    run: &mut Run,
    frames: usize,
    (width, height): (u16, u16),
    timeline: bool,
    pause: Duration,
) -> Vec<FrameCost> {
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let mut state = State::new(cpus, Duration::from_secs(3));
    state.color = true;
    if timeline {
        state.timeline = Some(crate::app::state::TimelineView::new());
    }
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("an off-screen terminal");
    let mut costs = Vec::with_capacity(frames);
    for _ in 0..frames {
        let started = Instant::now();
        run.poll();
        let polled = Instant::now();
        let view = RunView::sample(run, state.timeline.map(crate::app::state::TimelineView::window));
        let sampled = Instant::now();
        let _ = update(&mut state, Event::Progress(view));
        let updated = Instant::now();
        terminal
            .draw(|frame| {
                crate::ui::draw(frame, &state);
            })
            .expect("draw off-screen");
        let drawn = Instant::now();
        costs.push(FrameCost {
            poll: polled - started,
            sample: sampled - polled,
            update: updated - sampled,
            draw: drawn - updated,
        });
        std::thread::sleep(pause);
    }
    costs
}
