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
use crate::workload::{Transfer, WorkloadKind};

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
            let value_style = if *setting == Setting::Variant && value == "—" { theme.dim() } else { theme.value() };
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
        Setting::Lock if settings.lock => format!("on, {}", format_duration(settings.switch_interval)),
        Setting::Lock => "off".to_owned(),
        Setting::Variant => match workload {
            WorkloadKind::Contention => settings.strategy.name().to_owned(),
            WorkloadKind::Crash => format!("{} (worker 0)", settings.crash.name()),
            WorkloadKind::Imbalance => match settings.schedule {
                crate::engine::Schedule::Static => "static split".to_owned(),
                crate::engine::Schedule::Dynamic => "dynamic".to_owned(),
            },
            WorkloadKind::Data => match settings.transfer {
                Transfer::Inherit => "inherit".to_owned(),
                Transfer::Pipe => "pipe (Pool.map)".to_owned(),
            },
            WorkloadKind::Ipc => settings.transport_for(settings.model).name().to_owned(),
            WorkloadKind::Cpu | WorkloadKind::Io | WorkloadKind::Memory => "—".to_owned(),
        },
        Setting::Drain => match settings.drain {
            DrainPolicy::Chunk => "next chunk".to_owned(),
            DrainPolicy::Task => "end of task".to_owned(),
        },
        Setting::Grace => format_duration(settings.grace),
    }
}

/// `150M ints`, `200 ms`, `64 MiB`: the size in the workload's own unit.
fn format_size(workload: WorkloadKind, size: u64) -> String {
    let count = |noun: &str| {
        if size >= 1_000_000 && size.is_multiple_of(1_000_000) {
            format!("{}M {noun}", size / 1_000_000)
        } else if size >= 1_000_000 {
            format!("{:.1}M {noun}", size as f64 / 1e6)
        } else {
            format!("{size} {noun}")
        }
    };
    match workload {
        WorkloadKind::Io => format!("{size} ms"),
        WorkloadKind::Memory => format!("{size} MiB"),
        WorkloadKind::Data => format!("{size} MiB data"),
        WorkloadKind::Ipc => count("trips"),
        WorkloadKind::Contention => count("incr"),
        WorkloadKind::Cpu | WorkloadKind::Crash => count("ints"),
        WorkloadKind::Imbalance => count("ints/w"),
    }
}
