//! The one styles module: every colour the panels use is chosen here, in a palette for dark
//! backgrounds and one for light, and `NO_COLOR` turns them all off (states stay readable by
//! their names, emphasis by bold and reverse).
//!
//! Text is drawn in the terminal's own foreground; emphasis is bold, dim or reverse. Colour marks
//! meaning only, one meaning per colour: the run's work (running), waiting for a CPU, off CPU, the lock, waiting on I/O,
//! other programs, workers held by the user, success, failure, idleness, and keys. Colours are
//! xterm's 256-colour indices, which every modern terminal draws as the same RGB, so that their
//! contrast can be computed: each one reaches 4.5:1 (WCAG AA) against black in the dark palette
//! and against white in the light one (see the tests).

use ratatui::style::{Color, Modifier, Style};

use crate::board::Activity;
use crate::sweep::BenchModel;
use crate::telemetry::WorkerState;

/// The terminal's background, which picks the palette.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Background {
    /// Also what a terminal that does not say gets: most terminals are dark.
    #[default]
    Dark,
    Light,
}

impl Background {
    /// The background of this colour (red, green, blue, each 0 to 1): light when black text
    /// on it has more contrast than white text, the same threshold WCAG's formula gives.
    #[must_use]
    pub(crate) fn of_rgb(rgb: [f64; 3]) -> Self {
        let luminance = relative_luminance(rgb);
        if contrast(luminance, 0.0) > contrast(luminance, 1.0) {
            Self::Light
        } else {
            Self::Dark
        }
    }
}

/// WCAG 2's relative luminance of an sRGB colour (each channel 0 to 1).
#[must_use]
pub(crate) fn relative_luminance(rgb: [f64; 3]) -> f64 {
    let linear = |channel: f64| {
        if channel <= 0.040_45 {
            channel / 12.92
        } else {
            ((channel + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2])
}

/// WCAG 2's contrast ratio of two relative luminances, from 1 to 21.
#[must_use]
pub(crate) fn contrast(first: f64, second: f64) -> f64 {
    (first.max(second) + 0.05) / (first.min(second) + 0.05)
}

/// One colour per meaning, as xterm 256-colour indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Palette {
    /// Running workers, the run's share of a core.
    running: u8,
    /// Waiting for a CPU: meant to run, preempted.
    waiting: u8,
    /// Off CPU: meant to run, off its CPU for a cause not known.
    off_cpu: u8,
    /// Waiting for the lock.
    lock: u8,
    /// Blocked on I/O or a sleep.
    blocked: u8,
    /// Other programs' share of a core.
    others: u8,
    /// Paused or draining: held back by the user.
    held: u8,
    /// Done, finished, the winner.
    good: u8,
    /// Warnings, failures, crashes.
    bad: u8,
    /// Idle and ended, only ever blocks and dots on the timeline.
    idle: u8,
    /// Keys to press, in the footer and the help.
    key: u8,
}

/// For black and dark backgrounds: contrast with black (xterm's default) in the comments.
const DARK: Palette = Palette {
    running: 44,  // #00d7d7 11.7:1
    waiting: 180, // #d7af87 10.2:1
    off_cpu: 174, // #d78787  7.7:1
    lock: 208,    // #ff8700  8.7:1
    blocked: 75,  // #5fafff  9.1:1
    others: 207,  // #ff5fff  8.3:1
    held: 141,    // #af87ff  7.7:1
    good: 77,     // #5fd75f 11.4:1
    bad: 203,     // #ff5f5f  7.1:1
    idle: 244,    // #808080  5.3:1
    key: 221,     // #ffd75f 15.1:1
};

/// For white and light backgrounds (`xterm -bg white`): contrast with white in the comments.
const LIGHT: Palette = Palette {
    running: 23,  // #005f5f  7.5:1
    waiting: 95,  // #875f5f  5.5:1
    off_cpu: 125, // #af005f  7.0:1
    lock: 130,    // #af5f00  4.7:1
    blocked: 26,  // #005fd7  5.8:1
    others: 127,  // #af00af  6.1:1
    held: 92,     // #8700d7  7.0:1
    good: 28,     // #008700  4.7:1
    bad: 160,     // #d70000  5.4:1
    idle: 243,    // #767676  4.5:1
    key: 58,      // #5f5f00  6.7:1
};

/// The palette in use: colour for a background, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Theme {
    pub color: bool,
    pub background: Background,
}

// Every style is asked of a theme, colour or not, so that panels never choose for themselves;
// some styles do not depend on it today.
#[allow(clippy::unused_self)]
impl Theme {
    /// No colour at all: what `NO_COLOR` asks for, and what the snapshot tests draw with.
    pub(crate) const PLAIN: Self = Self { color: false, background: Background::Dark };

    /// Colour unless `NO_COLOR` is set to anything non-empty (no-color.org), for a dark
    /// background until the terminal says otherwise.
    #[must_use]
    pub(crate) fn from_env() -> Self {
        if std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty()) {
            Self::PLAIN
        } else {
            Self { color: true, background: Background::Dark }
        }
    }

    fn palette(self) -> Palette {
        match self.background {
            Background::Dark => DARK,
            Background::Light => LIGHT,
        }
    }

    /// The colour `pick` chooses from the palette.
    fn colour(self, pick: fn(&Palette) -> u8) -> Color {
        Color::Indexed(pick(&self.palette()))
    }

    fn fg(self, pick: fn(&Palette) -> u8) -> Style {
        if self.color {
            Style::new().fg(self.colour(pick))
        } else {
            Style::new()
        }
    }

    fn bg(self, pick: fn(&Palette) -> u8) -> Style {
        if self.color {
            Style::new().bg(self.colour(pick))
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
        self.fg(|palette| palette.key).add_modifier(Modifier::BOLD)
    }

    /// A value worth reading: the terminal's foreground, bold.
    #[must_use]
    pub(crate) fn value(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    #[must_use]
    pub(crate) fn warning(self) -> Style {
        self.fg(|palette| palette.bad).add_modifier(Modifier::BOLD)
    }

    #[must_use]
    pub(crate) fn good(self) -> Style {
        self.fg(|palette| palette.good)
    }

    /// A distinct look per worker state; the name is always written beside it.
    #[must_use]
    pub(crate) fn state(self, state: WorkerState) -> Style {
        match state {
            WorkerState::Pending | WorkerState::Idle => self.dim(),
            WorkerState::Running => self.activity(Activity::Running),
            WorkerState::LockWait => self.activity(Activity::LockWait),
            WorkerState::WaitingForCpu => self.activity(Activity::WaitingForCpu),
            WorkerState::OffCpu => self.activity(Activity::OffCpu),
            WorkerState::Blocked => self.activity(Activity::Blocked),
            WorkerState::Paused => self.activity(Activity::Paused),
            WorkerState::Draining => self.activity(Activity::Draining).add_modifier(Modifier::BOLD),
            WorkerState::Done => self.good(),
            WorkerState::Cancelled => self.value(),
            WorkerState::Killed => self.fg(|palette| palette.bad),
            WorkerState::Crashed => self.warning().add_modifier(Modifier::REVERSED),
            WorkerState::Failed => self.warning(),
            WorkerState::Abandoned => self.dim().add_modifier(Modifier::CROSSED_OUT),
        }
    }

    /// The current run's part of a core's load: the colour of running workers.
    #[must_use]
    pub(crate) fn run_load(self) -> Style {
        self.fg(|palette| palette.running)
    }

    /// Other programs' part of a core's load.
    #[must_use]
    pub(crate) fn others_load(self) -> Style {
        self.fg(|palette| palette.others)
    }

    /// A core's history: its total load, in the terminal's foreground, since it is neither the
    /// run's nor other programs' alone.
    #[must_use]
    pub(crate) fn history(self) -> Style {
        Style::new()
    }

    /// The palette's colour of what a worker does, in the timeline and the workers table alike.
    fn activity_colour(activity: Activity) -> fn(&Palette) -> u8 {
        match activity {
            Activity::Running => |palette| palette.running,
            Activity::LockWait => |palette| palette.lock,
            Activity::WaitingForCpu => |palette| palette.waiting,
            Activity::OffCpu => |palette| palette.off_cpu,
            Activity::Blocked => |palette| palette.blocked,
            Activity::Idle | Activity::End => |palette| palette.idle,
            Activity::Paused | Activity::Draining => |palette| palette.held,
        }
    }

    #[must_use]
    pub(crate) fn activity(self, activity: Activity) -> Style {
        self.fg(Self::activity_colour(activity))
    }

    /// A worker's colour on a CPU lane, where colours name workers and not activities: the
    /// palette's hues, repeated.
    fn worker_colour(index: usize) -> fn(&Palette) -> u8 {
        const HUES: [fn(&Palette) -> u8; 6] = [
            |palette| palette.running,
            |palette| palette.lock,
            |palette| palette.blocked,
            |palette| palette.others,
            |palette| palette.held,
            |palette| palette.good,
        ];
        HUES[index % HUES.len()]
    }

    /// Worker `index` on a CPU lane of the timeline.
    #[must_use]
    pub(crate) fn worker(self, index: usize) -> Style {
        self.fg(Self::worker_colour(index))
    }

    /// What a worker does, as the background of a timeline cell behind another's ink.
    #[must_use]
    pub(crate) fn activity_background(self, activity: Activity) -> Style {
        self.bg(Self::activity_colour(activity))
    }

    /// Worker `index`, as the background of a timeline cell.
    #[must_use]
    pub(crate) fn worker_background(self, index: usize) -> Style {
        self.bg(Self::worker_colour(index))
    }

    /// A model's series on the sweep's chart and its column in the table beside it. The chart
    /// replaces the panels whose colours mean activities, so here colours name models (its
    /// legend says which): threads in the running colour, threads with the lock in the lock's.
    #[must_use]
    pub(crate) fn model(self, model: BenchModel) -> Style {
        self.fg(match model {
            BenchModel::Sequential | BenchModel::Threads => |palette| palette.running,
            BenchModel::ThreadsGil => |palette| palette.lock,
            BenchModel::Processes => |palette| palette.blocked,
            BenchModel::ProcessesGil => |palette| palette.others,
            BenchModel::Async => |palette| palette.good,
            // CPython's threads beside the emulated lock's: a colour of their own.
            BenchModel::PythonSequential | BenchModel::PythonThreads => |palette| palette.held,
            BenchModel::PythonProcesses => |palette| palette.waiting,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every style the panels can ask for.
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
            theme.history(),
        ];
        styles.extend(WorkerState::ALL.map(|state| theme.state(state)));
        styles.extend(Activity::ALL.map(|activity| theme.activity(activity)));
        styles.extend((0..12).map(|index| theme.worker(index)));
        styles.extend(BenchModel::ALL.map(|model| theme.model(model)));
        styles
    }

    /// The RGB (0 to 1) xterm draws a colour with: its default 16 colours, the 6×6×6 cube and
    /// the grey ramp.
    fn xterm_rgb(color: Color) -> [f64; 3] {
        const SIXTEEN: [[u8; 3]; 16] = [
            [0, 0, 0],
            [205, 0, 0],
            [0, 205, 0],
            [205, 205, 0],
            [0, 0, 238],
            [205, 0, 205],
            [0, 205, 205],
            [229, 229, 229],
            [127, 127, 127],
            [255, 0, 0],
            [0, 255, 0],
            [255, 255, 0],
            [92, 92, 255],
            [255, 0, 255],
            [0, 255, 255],
            [255, 255, 255],
        ];
        let Color::Indexed(index) = color else { panic!("{color:?} is not an indexed colour") };
        let rgb = match index {
            0..=15 => SIXTEEN[usize::from(index)],
            16..=231 => {
                let level = |step: u8| if step == 0 { 0 } else { 55 + 40 * step };
                let cube = index - 16;
                [level(cube / 36), level(cube / 6 % 6), level(cube % 6)]
            }
            232..=255 => [8 + 10 * (index - 232); 3],
        };
        rgb.map(|channel| f64::from(channel) / 255.0)
    }

    fn contrast_on(color: Color, background: [f64; 3]) -> f64 {
        contrast(relative_luminance(xterm_rgb(color)), relative_luminance(background))
    }

    #[test]
    fn every_colour_reaches_4_5_to_1_on_its_background() {
        for (background, paper) in [(Background::Dark, [0.0; 3]), (Background::Light, [1.0; 3])] {
            let theme = Theme { color: true, background };
            for style in every_style(theme) {
                if let Some(fg) = style.fg {
                    let ratio = contrast_on(fg, paper);
                    assert!(ratio >= 4.5, "{background:?}: {style:?} has {ratio:.2}:1");
                }
                // Crashed is reversed: its text is the background on the colour, the same ratio.
                assert_eq!(style.bg, None, "{style:?}");
            }
        }
    }

    #[test]
    fn the_palettes_give_each_meaning_its_own_colour() {
        for palette in [DARK, LIGHT] {
            let Palette { running, waiting, off_cpu, lock, blocked, others, held, good, bad, idle, key } = palette;
            let mut colours = vec![running, waiting, off_cpu, lock, blocked, others, held, good, bad, idle, key];
            colours.sort_unstable();
            colours.dedup();
            assert_eq!(colours.len(), 11, "{palette:?}");
        }
    }

    #[test]
    fn plain_text_keeps_the_terminal_foreground() {
        let theme = Theme { color: true, background: Background::Light };
        for style in [theme.title(), theme.border(true), theme.dim(), theme.value(), theme.selected(), theme.history()]
        {
            assert_eq!(style.fg, None, "{style:?}");
        }
    }

    #[test]
    fn timeline_blocks_have_the_colour_of_their_ink() {
        for background in [Background::Dark, Background::Light] {
            let theme = Theme { color: true, background };
            for activity in Activity::ALL {
                assert_eq!(theme.activity(activity).fg, theme.activity_background(activity).bg, "{activity:?}");
            }
            for index in 0..8 {
                assert_eq!(theme.worker(index).fg, theme.worker_background(index).bg, "worker {index}");
            }
        }
        assert_eq!(Theme::PLAIN.activity_background(Activity::Running), Style::new());
    }

    #[test]
    fn the_background_picks_the_palette_by_luminance() {
        assert_eq!(Background::of_rgb([0.0; 3]), Background::Dark);
        assert_eq!(Background::of_rgb([1.0; 3]), Background::Light);
        // Solarized's backgrounds: base03 is dark, base3 light.
        assert_eq!(Background::of_rgb([0.0, 43.0 / 255.0, 54.0 / 255.0]), Background::Dark);
        assert_eq!(Background::of_rgb([253.0 / 255.0, 246.0 / 255.0, 227.0 / 255.0]), Background::Light);
        assert!((contrast(relative_luminance([1.0; 3]), 0.0) - 21.0).abs() < 1e-9);
    }

    #[test]
    fn no_color_means_no_colour_at_all() {
        for style in every_style(Theme::PLAIN) {
            assert_eq!((style.fg, style.bg), (None, None), "{style:?}");
        }
    }
}
