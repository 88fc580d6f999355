//! The run settings panel: one row per setting with its current value. A value too long for the
//! panel's width takes its shorter form (`CPython 3.11.7 · GIL on`, then `3.11.7 · GIL on`), so
//! that the runtime row says what it must at 80 columns.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::theme::Theme;
use super::{focused, panel};
use crate::app::runtimes::{Offered, Probe};
use crate::app::state::{Focus, Priority, Setting, Settings, State};
use crate::engine::plan::runtime::Interpreter;
use crate::engine::{DrainPolicy, Model};
use crate::units::format_duration;
use crate::workload::Kind;

/// The label column: a space and the longest label, padded.
const LABEL_WIDTH: usize = 10;

pub(super) fn render(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let is_focused = focused(state, Focus::Settings);
    let room = usize::from(area.width).saturating_sub(4);
    let priority = format!(" {} ", fitting(&priority_forms(state.settings.priority), room));
    let block = panel(" Run settings ", is_focused, theme).title_bottom(Line::styled(priority, theme.dim()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let room = usize::from(inner.width).saturating_sub(LABEL_WIDTH);
    let lines: Vec<Line> = Setting::ALL
        .iter()
        .enumerate()
        .map(|(row, setting)| {
            let (value, value_style) = match value_of(*setting, &state.settings, state.workload()) {
                Some(forms) => (fitting(&forms, room), theme.value()),
                None => ("—".to_owned(), theme.dim()),
            };
            let line = Line::from(vec![
                Span::styled(format!(" {:<9}", setting.label()), theme.dim()),
                Span::styled(value, value_style),
            ]);
            if is_focused && row == state.setting && !state.running() {
                line.style(theme.selected())
            } else {
                line
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The bottom edge: the workers' priority, which `i` toggles, and why it is what it is, in as
/// many words as fit (the shortest fits the panel at 80×24).
fn priority_forms(priority: Priority) -> [String; 4] {
    match priority {
        Priority::Idle => [
            "i: workers at idle priority, so the screen keeps up at 1,000".to_owned(),
            "i: idle priority, so keys answer at 1,000 workers".to_owned(),
            "i: idle, so keys stay quick".to_owned(),
            "i idle: keys stay quick".to_owned(),
        ],
        Priority::Normal => [
            "i: normal priority, as in run; the screen may lag at 1,000 workers".to_owned(),
            "i: normal, as in run; keys may lag at 1,000".to_owned(),
            "i: normal, as in run".to_owned(),
            "i normal, as run".to_owned(),
        ],
    }
}

/// The first of `forms` (longest first) that fits `room` columns, else the last.
fn fitting(forms: &[String], room: usize) -> String {
    forms.iter().find(|form| form.chars().count() <= room).or(forms.last()).cloned().unwrap_or_default()
}

/// The value shown in `setting`'s row, longest form first; None where it does not apply.
fn value_of(setting: Setting, settings: &Settings, workload: &dyn Kind) -> Option<Vec<String>> {
    let python = settings.runtime.chosen_offer();
    let one = |text: String| Some(vec![text]);
    match setting {
        Setting::Model => one(settings.model.name().to_owned()),
        Setting::Workers if settings.model == Model::Sequential => one("1 (sequential)".to_owned()),
        Setting::Workers => one(settings.workers.to_string()),
        Setting::Tasks => one(settings.tasks.to_string()),
        Setting::Size => match settings.size_spec(workload) {
            Some(spec) => one(spec.show(settings.size_of(workload))),
            None => Some(vec!["no Python twin".to_owned(), "no twin".to_owned()]),
        },
        Setting::Affinity => one(settings.affinity.to_string()),
        Setting::Runtime => Some(python.map_or_else(|| vec!["native".to_owned()], runtime_forms)),
        Setting::Lock => lock_forms(settings, python),
        Setting::Variant => one(settings.variant_of(workload)?.label.to_owned()),
        Setting::Stop => {
            let grace = format_duration(settings.grace);
            let (long, short) = match settings.drain {
                DrainPolicy::Chunk => ("next chunk", "chunk"),
                DrainPolicy::Task => ("end of task", "task"),
            };
            // `3s`, `0.2s`: the grace in as few columns as it takes, so that the drain policy
            // keeps its own words at 80 columns.
            let seconds = settings.grace.as_secs_f64();
            let compact = if seconds.fract() == 0.0 { format!("{seconds:.0}s") } else { format!("{seconds:.1}s") };
            Some(vec![
                format!("{long}, grace {grace}"),
                format!("{long}, {grace}"),
                format!("{long} {compact}"),
                format!("{short}, {grace}"),
            ])
        }
    }
}

/// The lock row: the emulated lock under native code; under Python, the interpreter's own GIL,
/// which no key changes.
fn lock_forms(settings: &Settings, python: Option<&Offered>) -> Option<Vec<String>> {
    match python.map(|offered| &offered.probe) {
        Some(Probe::Usable(interpreter)) => {
            let on = if interpreter.gil { "GIL on" } else { "GIL off" };
            let version = interpreter.short_version();
            let build = if interpreter.free_threaded { "t" } else { "" };
            Some(vec![
                format!("{on} ({} {version}{build})", interpreter.implementation),
                format!("{on} ({version}{build})"),
            ])
        }
        Some(_) => None,
        // Async's one thread runs one task at a time: a lock would change nothing.
        None if settings.model == Model::Async => Some(vec!["n/a (async)".to_owned()]),
        None if settings.lock => Some(vec![format!("on, {}", format_duration(settings.switch_interval))]),
        None => Some(vec!["off".to_owned()]),
    }
}

/// An interpreter in the runtime row, longest first: its version and GIL when usable, why not
/// otherwise, `asking…` until it has answered.
fn runtime_forms(offered: &Offered) -> Vec<String> {
    let name = offered.shown_name();
    let version = name.rsplit('/').next().unwrap_or(&name).trim_start_matches("python").to_owned();
    match &offered.probe {
        Probe::Usable(interpreter) => usable_forms(&name, interpreter),
        Probe::Asking => vec![format!("{name}: asking…"), format!("{name} …"), format!("{version} …")],
        Probe::Unusable(_) => {
            let (why, word) = offered.short_why().unwrap_or(("unusable", "unusable"));
            vec![format!("{name} ✗ {why}"), format!("{version} ✗ {why}"), format!("{version} ✗ {word}")]
        }
    }
}

fn usable_forms(name: &str, interpreter: &Interpreter) -> Vec<String> {
    let (major, minor, micro) = interpreter.version;
    let build = if interpreter.free_threaded { "t" } else { "" };
    let gil = if interpreter.gil { "GIL on" } else { "GIL off" };
    let implementation = &interpreter.implementation;
    vec![
        format!("{name} · {implementation} {major}.{minor}.{micro}{build} · {gil}"),
        format!("{implementation} {major}.{minor}.{micro}{build} · {gil}"),
        format!("{implementation} {major}.{minor}{build} · {gil}"),
        format!("{major}.{minor}.{micro}{build} · {gil}"),
        format!("{major}.{minor}{build} · {gil}"),
    ]
}
