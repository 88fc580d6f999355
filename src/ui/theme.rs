//! The one styles module: every colour the panels use is chosen here, and `NO_COLOR` turns
//! them all off (states stay readable by their names, emphasis by bold and reverse).
//!
//! Text is drawn in the terminal's own foreground, so it reads on dark and light backgrounds
//! alike; emphasis is bold, dim or reverse. Colour marks meaning only (worker states, the run's
//! share of a core, warnings, keys), and only normal colours that read on black and on white:
//! red, magenta, and (for states and bars) green and cyan. Never white, yellow, dark grey or
//! the light variants, which vanish on one background or the other; nor blue for text, which
//! xterm's palette draws too dark on black.

use ratatui::style::{Color, Modifier, Style};

use crate::board::Activity;
use crate::sweep::BenchModel;
use crate::telemetry::WorkerState;

/// The palette, colour or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Theme {
    pub color: bool,
}

// Every style is asked of a theme, colour or not, so that panels never choose for themselves;
// some styles do not depend on it today.
#[allow(clippy::unused_self)]
impl Theme {
    /// Colour unless `NO_COLOR` is set to anything non-empty (no-color.org).
    #[must_use]
    pub(crate) fn from_env() -> Self {
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
    pub(crate) fn title(self) -> Style {
        // Drawn over a border's style: bold, and never dimmed with an unfocused border.
        Style::new().add_modifier(Modifier::BOLD).remove_modifier(Modifier::DIM)
    }

    /// A panel's title: reversed when arrow keys act on the panel.
    #[must_use]
    pub(crate) fn panel_title(self, focused: bool) -> Style {
        if focused {
            self.title().add_modifier(Modifier::REVERSED)
        } else {
            self.title()
        }
    }

    /// Focus is shown without colour: a bold border, the others faint.
    #[must_use]
    pub(crate) fn border(self, focused: bool) -> Style {
        if focused {
            Style::new().add_modifier(Modifier::BOLD)
        } else {
            self.dim()
        }
    }

    #[must_use]
    pub(crate) fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    /// Labels, headers, hints: the terminal's foreground, faint.
    #[must_use]
    pub(crate) fn dim(self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }

    #[must_use]
    pub(crate) fn key(self) -> Style {
        self.fg(Color::Magenta).add_modifier(Modifier::BOLD)
    }

    /// A value worth reading: the terminal's foreground, bold.
    #[must_use]
    pub(crate) fn value(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    #[must_use]
    pub(crate) fn warning(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    #[must_use]
    pub(crate) fn good(self) -> Style {
        self.fg(Color::Green)
    }

    /// A distinct look per worker state; the name is always written beside it.
    #[must_use]
    pub(crate) fn state(self, state: WorkerState) -> Style {
        match state {
            WorkerState::Pending | WorkerState::Idle => self.dim(),
            WorkerState::Running => self.activity(Activity::Running),
            WorkerState::LockWait => self.activity(Activity::LockWait),
            WorkerState::Blocked => self.activity(Activity::Blocked),
            WorkerState::Paused => self.fg(Color::Magenta),
            WorkerState::Draining => self.fg(Color::Magenta).add_modifier(Modifier::BOLD),
            WorkerState::Done => self.fg(Color::Green),
            WorkerState::Cancelled => self.value(),
            WorkerState::Killed => self.fg(Color::Red),
            WorkerState::Crashed => self.fg(Color::Red).add_modifier(Modifier::BOLD | Modifier::REVERSED),
            WorkerState::Failed => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            WorkerState::Abandoned => self.dim().add_modifier(Modifier::CROSSED_OUT),
        }
    }

    /// The current run's part of a core's load: the colour of running workers.
    #[must_use]
    pub(crate) fn run_load(self) -> Style {
        self.fg(Color::Cyan)
    }

    /// Other programs' part of a core's load.
    #[must_use]
    pub(crate) fn others_load(self) -> Style {
        self.fg(Color::Magenta)
    }

    /// The colour of what a worker does, in the timeline and the workers table alike.
    fn activity_color(activity: Activity) -> Color {
        match activity {
            Activity::Running => Color::Cyan,
            Activity::LockWait => Color::Red,
            Activity::Blocked => Color::Green,
            // Only ever a block or a dot, never text: grey reads on dark and light alike.
            Activity::Idle | Activity::End => Color::DarkGray,
            Activity::Paused | Activity::Draining => Color::Magenta,
        }
    }

    #[must_use]
    pub(crate) fn activity(self, activity: Activity) -> Style {
        self.fg(Self::activity_color(activity))
    }

    /// A worker's colour on a CPU lane: a small palette, repeated.
    fn worker_color(index: usize) -> Color {
        const PALETTE: [Color; 4] = [Color::Cyan, Color::Green, Color::Magenta, Color::Red];
        PALETTE[index % PALETTE.len()]
    }

    /// Worker `index` on a CPU lane of the timeline.
    #[must_use]
    pub(crate) fn worker(self, index: usize) -> Style {
        self.fg(Self::worker_color(index))
    }

    /// What a worker does, as the background of a timeline cell behind another's ink.
    #[must_use]
    pub(crate) fn activity_background(self, activity: Activity) -> Style {
        self.bg(Self::activity_color(activity))
    }

    /// Worker `index`, as the background of a timeline cell.
    #[must_use]
    pub(crate) fn worker_background(self, index: usize) -> Style {
        self.bg(Self::worker_color(index))
    }

    fn bg(self, color: Color) -> Style {
        if self.color {
            Style::new().bg(color)
        } else {
            Style::new()
        }
    }

    /// A model's series on the sweep's chart and its column in the table beside it: the lock
    /// in the lock-wait colour, processes in another, so the two stories read apart.
    #[must_use]
    pub(crate) fn model(self, model: BenchModel) -> Style {
        self.fg(match model {
            BenchModel::Sequential | BenchModel::Threads => Color::Cyan,
            BenchModel::ThreadsGil => Color::Red,
            BenchModel::Processes => Color::Green,
            BenchModel::ProcessesGil => Color::Magenta,
            BenchModel::Async => Color::Blue,
        })
    }

    /// Load colour for a percentage.
    #[must_use]
    pub(crate) fn load(self, percent: f32) -> Style {
        match percent {
            p if p >= 85.0 => self.fg(Color::Red),
            p if p >= 50.0 => self.fg(Color::Magenta),
            _ => self.fg(Color::Green),
        }
    }
}

/// A bar of `width` cells filled to `fraction` with eighth blocks.
#[must_use]
pub(crate) fn bar(fraction: f64, width: usize) -> String {
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

/// The glyphs of a core's bar: the run's part, other programs' part, and what is free.
pub(crate) const RUN_GLYPH: char = '█';
pub(crate) const OTHERS_GLYPH: char = '▒';
const FREE_GLYPH: char = '·';

/// A core's bar of `width` whole cells: the run's part (`run`, a fraction of the core) first,
/// then other programs' (`others`), then what is free; each part as its own string.
#[must_use]
pub(crate) fn split_bar(run: f64, others: f64, width: usize) -> [String; 3] {
    let cells = stacked_cells(&[run, others], width);
    let used = cells.iter().sum::<usize>();
    [
        RUN_GLYPH.to_string().repeat(cells[0]),
        OTHERS_GLYPH.to_string().repeat(cells[1]),
        FREE_GLYPH.to_string().repeat(width - used),
    ]
}

/// Whole cells for fractions stacked one after the other in a bar of `width`: each boundary is
/// the running total rounded, so the parts never exceed the width and a whole adds up to it.
#[must_use]
pub(crate) fn stacked_cells(fractions: &[f64], width: usize) -> Vec<usize> {
    let mut total = 0.0;
    let mut boundary = 0;
    fractions
        .iter()
        .map(|fraction| {
            total += fraction.max(0.0);
            let next = ((total.min(1.0) * width as f64).round() as usize).clamp(boundary, width);
            let cells = next - boundary;
            boundary = next;
            cells
        })
        .collect()
}

/// What stands for an activity where there is no colour: a shade each.
#[must_use]
pub(crate) fn activity_glyph(activity: Activity) -> char {
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
pub(crate) fn sparkline(samples: impl Iterator<Item = u8>) -> String {
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

    /// Every style the panels can ask for, in both palettes.
    fn every_style(theme: Theme) -> Vec<Style> {
        let mut styles = vec![
            theme.title(),
            theme.border(true),
            theme.border(false),
            theme.panel_title(true),
            theme.selected(),
            theme.dim(),
            theme.key(),
            theme.value(),
            theme.warning(),
            theme.good(),
            theme.run_load(),
            theme.others_load(),
        ];
        styles.extend(WorkerState::ALL.map(|state| theme.state(state)));
        styles.extend([0.0, 60.0, 95.0].map(|percent| theme.load(percent)));
        styles
    }

    #[test]
    fn colours_read_on_dark_and_light_backgrounds() {
        const READABLE: [Color; 4] = [Color::Red, Color::Green, Color::Magenta, Color::Cyan];
        for style in every_style(Theme { color: true }) {
            assert!(style.fg.is_none_or(|fg| READABLE.contains(&fg)), "{style:?}");
            assert_eq!(style.bg, None, "{style:?}");
        }
        // Plain text keeps the terminal's own foreground.
        let theme = Theme { color: true };
        for style in [theme.title(), theme.border(true), theme.dim(), theme.value(), theme.selected()] {
            assert_eq!(style.fg, None, "{style:?}");
        }
    }

    #[test]
    fn timeline_blocks_read_on_dark_and_light_backgrounds() {
        // Grey only for idle, and only as a block or a dot, never as text.
        const BLOCKS: [Color; 5] = [Color::Red, Color::Green, Color::Magenta, Color::Cyan, Color::DarkGray];
        let theme = Theme { color: true };
        for activity in Activity::ALL {
            let (ink, background) = (theme.activity(activity), theme.activity_background(activity));
            assert!(ink.fg.is_some_and(|fg| BLOCKS.contains(&fg)), "{activity:?}");
            assert_eq!(ink.fg, background.bg, "{activity:?}");
        }
        for index in 0..8 {
            assert!(theme.worker(index).fg.is_some_and(|fg| BLOCKS.contains(&fg)), "worker {index}");
        }
        let plain = Theme { color: false };
        assert_eq!(plain.activity_background(Activity::Running), Style::new());
    }

    #[test]
    fn no_color_means_no_colour_at_all() {
        for style in every_style(Theme { color: false }) {
            assert_eq!((style.fg, style.bg), (None, None), "{style:?}");
        }
    }

    #[test]
    fn stacked_cells_add_up_to_the_width_for_a_whole() {
        assert_eq!(stacked_cells(&[0.55, 0.3, 0.05, 0.1], 10), vec![6, 3, 0, 1]);
        assert_eq!(stacked_cells(&[0.25, 0.25, 0.25, 0.25], 6).iter().sum::<usize>(), 6);
        assert_eq!(stacked_cells(&[0.9, 0.9], 4), vec![4, 0], "never wider than the bar");
    }

    #[test]
    fn split_bars_put_the_run_first_and_fill_exactly_their_width() {
        assert_eq!(split_bar(0.5, 0.25, 8), ["████", "▒▒", "··"]);
        assert_eq!(split_bar(0.0, 1.0, 4), ["", "▒▒▒▒", ""]);
        assert_eq!(split_bar(1.0, 0.5, 4), ["████", "", ""], "never wider than the bar");
        for (run, others) in [(0.0, 0.0), (0.33, 0.33), (0.04, 0.04), (0.99, 0.0), (-1.0, 2.0)] {
            let width: usize = split_bar(run, others, 10).iter().map(|part| part.chars().count()).sum();
            assert_eq!(width, 10, "{run} {others}");
        }
    }

    #[test]
    fn sparkline_spans_the_levels() {
        assert_eq!(sparkline([0, 50, 100].into_iter()), "▁▅█");
    }
}
