//! The cores panel: one bar per CPU with its load, a short history, and the workers that ran
//! on it last, so pinning and the lock's effect are visible.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::panel;
use super::theme::{bar, sparkline, Theme};
use crate::app::state::State;
use crate::telemetry::WorkerState;
use crate::units::truncate;

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let block = panel(" Cores ", false, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);
    let bar_width = (width / 5).clamp(6, 20);
    let spark_width = (width / 4).clamp(4, 40);
    let rows = usize::from(inner.height);
    let hidden = state.cores.len().saturating_sub(rows);
    let shown = if hidden > 0 { rows.saturating_sub(1) } else { rows };
    let mut lines: Vec<Line> = state
        .cores
        .iter()
        .enumerate()
        .take(shown)
        .map(|(cpu, core)| {
            let history: Vec<u8> = core.history.iter().copied().collect();
            let recent = &history[history.len().saturating_sub(spark_width)..];
            let workers = workers_on(state, cpu);
            let fixed = 5 + 1 + bar_width + 6 + recent.len() + 1;
            Line::from(vec![
                Span::styled(format!("cpu{cpu:<2}"), theme.dim()),
                Span::raw(" "),
                Span::styled(bar(f64::from(core.usage) / 100.0, bar_width), theme.load(core.usage)),
                Span::styled(format!("{:>5.0}%", core.usage), theme.value()),
                Span::styled(sparkline(recent.iter().copied()), theme.load(core.usage)),
                Span::raw(" "),
                Span::styled(truncate(&workers, width.saturating_sub(fixed)), theme.title()),
            ])
        })
        .collect();
    if hidden > 0 {
        lines.push(Line::styled(format!("… {} more CPUs", state.cores.len() - shown), theme.dim()));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// `w0 w3`: the live workers last seen on `cpu`.
fn workers_on(state: &State, cpu: usize) -> String {
    let Some(run) = &state.run else { return String::new() };
    run.workers
        .iter()
        .filter(|w| w.core == Some(cpu) && matches!(w.state, WorkerState::Running | WorkerState::Draining))
        .map(|w| format!("w{}", w.index))
        .collect::<Vec<_>>()
        .join(" ")
}
