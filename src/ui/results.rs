//! The results panel: every finished run as a row, compared with its baseline.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use ratatui::Frame;

use super::theme::Theme;
use super::{focused, panel};
use crate::app::state::{Focus, ResultRow, State};
use crate::report::Headline;
use crate::units::{format_bytes, format_seconds};

pub(super) fn render(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
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
    let extras = extra_columns(inner.width);
    let mut header: Vec<&str> = BASE.iter().map(|(name, _)| *name).collect();
    let mut widths: Vec<Constraint> = BASE.iter().map(|(_, width)| Constraint::Length(*width)).collect();
    for extra in Extra::ALL.into_iter().filter(|extra| extras.contains(extra)) {
        header.push(extra.name());
        widths.push(if extra == Extra::Figure {
            Constraint::Min(extra.width())
        } else {
            Constraint::Length(extra.width())
        });
    }
    let visible = usize::from(inner.height.saturating_sub(1)).max(1);
    let first = state.results_scroll.saturating_sub(visible - 1).min(state.results.len().saturating_sub(visible));
    let rows = state.results.iter().enumerate().skip(first).take(visible).map(|(index, row)| {
        let r = result_row(index, row, &extras, theme);
        if is_focused && index == state.results_scroll {
            r.style(theme.selected())
        } else {
            r
        }
    });
    frame.render_widget(Table::new(rows, widths).header(Row::new(header).style(theme.dim())).column_spacing(1), inner);
}

/// The columns every width shows, with their widths.
const BASE: [(&str, u16); 9] = [
    ("#", 3),
    ("workload", 10),
    ("model", 10),
    ("n", 3),
    ("affinity", 8),
    ("lock", 4),
    ("wall", 8),
    ("speedup", 7),
    ("eff", 4),
];

/// The columns shown as width allows, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Extra {
    Cpu,
    PeakMemory,
    Startup,
    Outcome,
    Figure,
}

impl Extra {
    const ALL: [Self; 5] = [Self::Cpu, Self::PeakMemory, Self::Startup, Self::Outcome, Self::Figure];
    /// Which to keep first when not all fit: the figure (what the workload shows) before the
    /// outcome, which the figure and the row's colour already hint at.
    const PRIORITY: [Self; 5] = [Self::Cpu, Self::PeakMemory, Self::Startup, Self::Figure, Self::Outcome];

    fn name(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::PeakMemory => "peak mem",
            Self::Startup => "start-up",
            Self::Outcome => "outcome",
            Self::Figure => "figure",
        }
    }

    /// The narrowest the column may be; the figure takes whatever is left beyond.
    fn width(self) -> u16 {
        match self {
            Self::Cpu | Self::Startup => 8,
            Self::PeakMemory | Self::Outcome => 9,
            Self::Figure => 16,
        }
    }
}

/// The extra columns that fit beside the base ones in `width`, by priority.
fn extra_columns(width: u16) -> Vec<Extra> {
    let base: u16 = BASE.iter().map(|(_, w)| w + 1).sum();
    let mut left = width.saturating_sub(base);
    let mut shown = Vec::new();
    for extra in Extra::PRIORITY {
        if left > extra.width() {
            left -= extra.width() + 1;
            shown.push(extra);
        }
    }
    shown
}

fn result_row(index: usize, row: &ResultRow, extras: &[Extra], theme: Theme) -> Row<'static> {
    let report = &row.report;
    let plan = &report.plan;
    let speedup = row.speedup.map_or_else(|| "—".to_owned(), |s| format!("{s:.2}×"));
    let efficiency = row.efficiency.map_or_else(|| "—".to_owned(), |e| format!("{:.0}%", e * 100.0));
    let mut cells = vec![
        Cell::from((index + 1).to_string()),
        Cell::from(plan.workload.kind.name()),
        Cell::from(plan.model.name()),
        Cell::from(plan.workers.to_string()),
        Cell::from(plan.affinity.to_string()),
        Cell::from(if plan.gil.is_some() { "on" } else { "off" }),
        Cell::from(format_seconds(report.wall_seconds)),
        Cell::from(Span::styled(speedup, theme.value())),
        Cell::from(efficiency),
    ];
    for extra in Extra::ALL.into_iter().filter(|extra| extras.contains(extra)) {
        cells.push(match extra {
            Extra::Cpu => Cell::from(format_seconds(report.cpu_seconds)),
            Extra::PeakMemory => Cell::from(format_bytes(report.peak_rss_bytes)),
            Extra::Startup => {
                Cell::from(report.median_startup_seconds().map_or_else(|| "—".to_owned(), format_seconds))
            }
            Extra::Outcome => {
                let style =
                    if report.outcome == crate::engine::RunOutcome::Finished { theme.good() } else { theme.warning() };
                Cell::from(Span::styled(report.outcome.name(), style))
            }
            // Without its own column, an outcome other than finished leads the figure.
            Extra::Figure
                if !extras.contains(&Extra::Outcome) && report.outcome != crate::engine::RunOutcome::Finished =>
            {
                Cell::from(Line::from(vec![
                    Span::styled(format!("{} · ", report.outcome.name()), theme.warning()),
                    Span::raw(report.headline()),
                ]))
            }
            Extra::Figure => Cell::from(report.headline()),
        });
    }
    Row::new(cells)
}

#[cfg(test)]
mod tests {
    use super::{extra_columns, Extra};

    #[test]
    fn extra_columns_join_by_priority_as_width_allows() {
        assert_eq!(extra_columns(60), vec![]);
        assert_eq!(extra_columns(78), vec![Extra::Cpu]);
        assert_eq!(
            extra_columns(118),
            vec![Extra::Cpu, Extra::PeakMemory, Extra::Startup, Extra::Figure],
            "the figure before the outcome"
        );
        assert_eq!(extra_columns(200).len(), Extra::ALL.len());
    }
}
