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
use crate::workload::WorkloadKind;

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let is_focused = focused(state, Focus::Settings);
    let block = panel(" Run settings ", is_focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines: Vec<Line> = Setting::ALL
        .iter()
        .enumerate()
        .map(|(row, setting)| {
            let value = value_of(*setting, &state.settings, state.workload());
            let value_style =
                if *setting == Setting::SwitchInterval && !state.settings.lock { theme.dim() } else { theme.value() };
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

fn value_of(setting: Setting, settings: &Settings, workload: WorkloadKind) -> String {
    match setting {
        Setting::Model => settings.model.name().to_owned(),
        Setting::Workers if settings.model == Model::Sequential => "1 (sequential)".to_owned(),
        Setting::Workers => settings.workers.to_string(),
        Setting::Tasks => settings.tasks.to_string(),
        Setting::Size => format_size(workload, settings.size_of(workload)),
        Setting::Affinity => settings.affinity.to_string(),
        Setting::Lock => if settings.lock { "on" } else { "off" }.to_owned(),
        Setting::SwitchInterval => format_duration(settings.switch_interval),
        Setting::Drain => match settings.drain {
            DrainPolicy::Chunk => "next chunk".to_owned(),
            DrainPolicy::Task => "end of task".to_owned(),
        },
        Setting::Grace => format_duration(settings.grace),
    }
}

/// `150M i` for integers, `200 ms` for waits.
fn format_size(workload: WorkloadKind, size: u64) -> String {
    match workload {
        WorkloadKind::Io => format!("{size} ms"),
        WorkloadKind::Cpu if size >= 1_000_000 && size.is_multiple_of(1_000_000) => {
            format!("{}M ints", size / 1_000_000)
        }
        WorkloadKind::Cpu if size >= 1_000_000 => format!("{:.1}M ints", size as f64 / 1e6),
        WorkloadKind::Cpu => format!("{size} ints"),
    }
}
