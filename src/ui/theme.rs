//! The one styles module: every colour the panels use is chosen here, and `NO_COLOR` turns
//! them all off (states stay readable by their names, emphasis by bold and reverse).

use ratatui::style::{Color, Modifier, Style};

use crate::board::Activity;
use crate::telemetry::WorkerState;

/// The palette, colour or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colour unless `NO_COLOR` is set to anything non-empty (no-color.org).
    #[must_use]
    pub fn from_env() -> Self {
        Self { color: std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty()) }
    }

    fn fg(self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    #[must_use]
    pub fn title(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    #[must_use]
    pub fn border(self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            self.fg(Color::DarkGray)
        }
    }

    #[must_use]
    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    #[must_use]
    pub fn dim(self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }

    #[must_use]
    pub fn key(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    #[must_use]
    pub fn value(self) -> Style {
        self.fg(Color::White).add_modifier(Modifier::BOLD)
    }

    #[must_use]
    pub fn warning(self) -> Style {
        self.fg(Color::LightRed).add_modifier(Modifier::BOLD)
    }

    #[must_use]
    pub fn good(self) -> Style {
        self.fg(Color::Green)
    }

    /// A distinct colour per worker state.
    #[must_use]
    pub fn state(self, state: WorkerState) -> Style {
        match state {
            WorkerState::Pending => self.dim(),
            WorkerState::Running => self.activity(Activity::Running),
            WorkerState::LockWait => self.activity(Activity::LockWait),
            WorkerState::Blocked => self.activity(Activity::Blocked),
            WorkerState::Idle => self.activity(Activity::Idle),
            WorkerState::Paused => self.fg(Color::Yellow),
            WorkerState::Draining => self.fg(Color::Magenta).add_modifier(Modifier::BOLD),
            WorkerState::Done => self.fg(Color::Green),
            WorkerState::Cancelled => self.fg(Color::LightYellow),
            WorkerState::Killed => self.fg(Color::Red),
            WorkerState::Crashed => self.fg(Color::LightRed).add_modifier(Modifier::BOLD),
            WorkerState::Failed => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            WorkerState::Abandoned => self.fg(Color::DarkGray).add_modifier(Modifier::CROSSED_OUT),
        }
    }

    /// The colour of what a worker does, in the timeline and the workers table alike.
    fn activity_color(activity: Activity) -> Color {
        match activity {
            Activity::Running => Color::Green,
            Activity::LockWait => Color::Red,
            Activity::Blocked => Color::Blue,
            Activity::Idle | Activity::End => Color::DarkGray,
            Activity::Paused => Color::Magenta,
            Activity::Draining => Color::Cyan,
        }
    }

    #[must_use]
    pub fn activity(self, activity: Activity) -> Style {
        self.fg(Self::activity_color(activity))
    }

    /// A worker's colour on a CPU lane: a small palette, repeated.
    fn worker_color(index: usize) -> Color {
        const PALETTE: [Color; 6] =
            [Color::Blue, Color::Green, Color::Magenta, Color::Cyan, Color::Red, Color::DarkGray];
        PALETTE[index % PALETTE.len()]
    }

    /// Worker `index` on a CPU lane of the timeline.
    #[must_use]
    pub fn worker(self, index: usize) -> Style {
        self.fg(Self::worker_color(index))
    }

    /// What a worker does, as the background of a timeline cell behind another's ink.
    #[must_use]
    pub fn activity_background(self, activity: Activity) -> Style {
        self.bg(Self::activity_color(activity))
    }

    /// Worker `index`, as the background of a timeline cell.
    #[must_use]
    pub fn worker_background(self, index: usize) -> Style {
        self.bg(Self::worker_color(index))
    }

    fn bg(self, color: Color) -> Style {
        if self.color {
            Style::new().bg(color)
        } else {
            Style::new()
        }
    }

    /// Load colour for a percentage.
    #[must_use]
    pub fn load(self, percent: f32) -> Style {
        match percent {
            p if p >= 85.0 => self.fg(Color::LightRed),
            p if p >= 50.0 => self.fg(Color::Yellow),
            _ => self.fg(Color::Green),
        }
    }
}

/// A bar of `width` cells filled to `fraction` with eighth blocks.
#[must_use]
pub fn bar(fraction: f64, width: usize) -> String {
    const EIGHTHS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let eighths = (fraction.clamp(0.0, 1.0) * (width * 8) as f64).round() as usize;
    let mut out = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) && out.chars().count() < width {
        out.push(EIGHTHS[eighths % 8]);
    }
    let filled = out.chars().count();
    out.push_str(&"·".repeat(width.saturating_sub(filled)));
    out
}

/// What stands for an activity where there is no colour: a shade each.
#[must_use]
pub fn activity_glyph(activity: Activity) -> char {
    match activity {
        Activity::Running => '█',
        Activity::LockWait => '░',
        Activity::Blocked => '▒',
        Activity::Idle => '·',
        Activity::Paused => '‖',
        Activity::Draining => '▓',
        Activity::End => ' ',
    }
}

/// A sparkline of percentages, one cell per sample.
#[must_use]
pub fn sparkline(samples: impl Iterator<Item = u8>) -> String {
    const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    samples.map(|percent| LEVELS[(usize::from(percent.min(100)) * 7 + 50) / 100]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_fill_exactly_their_width() {
        for fraction in [0.0, 0.03, 0.5, 0.99, 1.0] {
            assert_eq!(bar(fraction, 10).chars().count(), 10, "{fraction}");
        }
        assert_eq!(bar(1.0, 4), "████");
        assert_eq!(bar(0.0, 3), "···");
    }

    #[test]
    fn sparkline_spans_the_levels() {
        assert_eq!(sparkline([0, 50, 100].into_iter()), "▁▅█");
    }
}
