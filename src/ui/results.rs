//! The results panel: every finished run as a row, compared with its baseline.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use ratatui::Frame;

use super::theme::Theme;
use super::{focused, panel};
use crate::app::state::{Focus, ResultRow, State};
use crate::units::{format_bytes, format_seconds};

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let is_focused = focused(state, Focus::Results);
    let mut block = panel(" Results ", is_focused, theme);
    if state.baseline_missing() {
        block = block.title_bottom(Line::styled(
            format!(" no baseline for {} with this size and task count: press b to run it ", state.workload()),
            theme.dim(),
        ));
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if state.results.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled(
                "Finished runs line up here, with their speedup over the baseline.",
                theme.dim(),
            )),
            inner,
        );
        return;
    }
    let wide = inner.width >= 100;
    let mut header = vec!["#", "workload", "model", "n", "affinity", "lock", "wall", "speedup", "eff"];
    let mut widths = vec![
        Constraint::Length(3),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Length(4),
        Constraint::Length(8),
        Constraint::Length(5),
        Constraint::Length(9),
        Constraint::Length(7),
        Constraint::Length(5),
    ];
    if wide {
        header.extend(["cpu", "peak mem", "start-up", "outcome", "figure"]);
        widths.extend([
            Constraint::Length(9),
            Constraint::Length(10),
            Constraint::Length(9),
            Constraint::Length(9),
            Constraint::Min(10),
        ]);
    }
    let visible = usize::from(inner.height.saturating_sub(1)).max(1);
    let first = state.results_scroll.saturating_sub(visible - 1).min(state.results.len().saturating_sub(visible));
    let rows = state.results.iter().enumerate().skip(first).take(visible).map(|(index, row)| {
        let r = result_row(index, row, wide, theme);
        if is_focused && index == state.results_scroll {
            r.style(theme.selected())
        } else {
            r
        }
    });
    frame.render_widget(Table::new(rows, widths).header(Row::new(header).style(theme.dim())).column_spacing(1), inner);
}

fn result_row(index: usize, row: &ResultRow, wide: bool, theme: Theme) -> Row<'static> {
    let report = &row.report;
    let plan = &report.plan;
    let speedup = row.speedup.map_or_else(|| "—".to_owned(), |s| format!("{s:.2}×"));
    let efficiency = row.efficiency.map_or_else(|| "—".to_owned(), |e| format!("{:.0}%", e * 100.0));
    let mut cells = vec![
        Cell::from((index + 1).to_string()),
        Cell::from(plan.workload.name()),
        Cell::from(plan.model.name()),
        Cell::from(plan.workers.to_string()),
        Cell::from(plan.affinity.to_string()),
        Cell::from(if plan.gil.is_some() { "on" } else { "off" }),
        Cell::from(format_seconds(report.wall_seconds)),
        Cell::from(Span::styled(speedup, theme.value())),
        Cell::from(efficiency),
    ];
    if wide {
        cells.push(Cell::from(format_seconds(report.cpu_seconds)));
        cells.push(Cell::from(format_bytes(report.peak_rss_bytes)));
        cells.push(Cell::from(report.median_startup_seconds().map_or_else(|| "—".to_owned(), format_seconds)));
        let outcome_style =
            if report.outcome == crate::report::RunOutcome::Finished { theme.good() } else { theme.warning() };
        cells.push(Cell::from(Span::styled(report.outcome.name(), outcome_style)));
        cells.push(Cell::from(report.headline()));
    }
    Row::new(cells)
}
