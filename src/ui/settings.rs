//! The run settings panel: one row per setting with its current value.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::theme::Theme;
use super::{focused, panel};
use crate::app::state::{Focus, Setting, Settings, State};
use crate::engine::{DrainPolicy, Model};
use crate::units::format_duration;
use crate::workload::Kind;

pub(super) fn render(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let is_focused = focused(state, Focus::Settings);
    let block = panel(" Run settings ", is_focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines: Vec<Line> = Setting::ALL
        .iter()
        .enumerate()
        .map(|(row, setting)| {
            let (value, value_style) = match value_of(*setting, &state.settings, state.workload()) {
                Some(value) => (value, theme.value()),
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

/// The value shown in `setting`'s row; None where it does not apply.
fn value_of(setting: Setting, settings: &Settings, workload: &dyn Kind) -> Option<String> {
    Some(match setting {
        Setting::Model => settings.model.name().to_owned(),
        Setting::Workers if settings.model == Model::Sequential => "1 (sequential)".to_owned(),
        Setting::Workers => settings.workers.to_string(),
        Setting::Tasks => settings.tasks.to_string(),
        Setting::Size => workload.size().show(settings.size_of(workload)),
        Setting::Affinity => settings.affinity.to_string(),
        // Async's one thread runs one task at a time: a lock would change nothing.
        Setting::Lock if settings.model == Model::Async => "n/a (async)".to_owned(),
        Setting::Lock if settings.lock => format!("on, {}", format_duration(settings.switch_interval)),
        Setting::Lock => "off".to_owned(),
        Setting::Variant => settings.variant_of(workload)?.label.to_owned(),
        Setting::Drain => match settings.drain {
            DrainPolicy::Chunk => "next chunk".to_owned(),
            DrainPolicy::Task => "end of task".to_owned(),
        },
        Setting::Grace => format_duration(settings.grace),
    })
}
