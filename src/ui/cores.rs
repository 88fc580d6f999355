//! The cores panel: one bar per CPU split into the current run's load and other programs',
//! with its total, a short history, and the workers that ran on it last, so pinning, the
//! lock's effect and a busy machine are all visible.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::panel;
use super::theme::{sparkline, split_bar, Theme, OTHERS_GLYPH, RUN_GLYPH};
use crate::app::state::State;
use crate::telemetry::WorkerState;
use crate::units::truncate;

pub(super) fn render(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let legend = Line::from(vec![
        Span::raw(" "),
        Span::styled(RUN_GLYPH.to_string(), theme.run_load()),
        Span::styled(" this run ", theme.dim()),
        Span::styled(OTHERS_GLYPH.to_string(), theme.others_load()),
        Span::styled(" other programs ", theme.dim()),
    ]);
    let mut block = panel(" Cores ", false, theme).title(legend.right_aligned());
    if let Some(others) = state.busy_machine() {
        let room = usize::from(area.width.saturating_sub(4));
        block = block.title_bottom(Line::styled(format!(" {} ", busy_warning(others, room)), theme.warning()));
    }
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
            let fixed = 5 + 1 + bar_width + 7 + recent.len() + 1;
            let others = (core.usage - core.run).max(0.0);
            let [run_part, others_part, free_part] =
                split_bar(f64::from(core.run) / 100.0, f64::from(others) / 100.0, bar_width);
            Line::from(vec![
                Span::styled(format!("cpu{cpu:<2}"), theme.dim()),
                Span::raw(" "),
                Span::styled(run_part, theme.run_load()),
                Span::styled(others_part, theme.others_load()),
                Span::styled(free_part, theme.dim()),
                Span::styled(format!("{:>5.0}%", core.usage), theme.value()),
                Span::raw(" "),
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

/// `busy machine: other programs use 63% of a core — figures may be off`, shortened to fit
/// `room` cells.
fn busy_warning(others: f32, room: usize) -> String {
    let amount =
        if others < 150.0 { format!("{others:.0}% of a core") } else { format!("{:.1} cores", others / 100.0) };
    let long = format!("busy machine: other programs use {amount} — figures may be off");
    if long.chars().count() <= room {
        return long;
    }
    truncate(&format!("busy machine: others use {amount}"), room)
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
