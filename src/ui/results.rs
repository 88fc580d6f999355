//! The results panel: one row per configuration (repeats folded into mean ± σ), its speedup
//! over the sequential baseline, the winner of each comparison starred, and the sentence that
//! says what the comparison shows. It draws `state.comparison`; the grouping is `report`'s.

use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use ratatui::Frame;

use super::chart::wrap_words_within;
use super::theme::Theme;
use super::{focused, panel};
use crate::app::state::{Focus, ResultRow, State};
use crate::engine::RunOutcome;
use crate::report::compare::Row as Compared;
use crate::report::results::{check_text, peak_of};
use crate::units::{format_bytes, format_seconds};

/// What marks the winner, in the first column.
pub(crate) const WINNER: &str = "★";
/// What marks a wrong result (lost updates, a checksum mismatch, a failed worker) there.
pub(crate) const WRONG: &str = "✗";

pub(super) fn render(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let is_focused = focused(state, Focus::Results);
    let mut block = panel(" Results ", is_focused, theme);
    if state.baseline_missing() && !state.running() && state.focus != Focus::Experiments {
        block = block.title(
            Line::styled(format!(" no baseline yet for {}: Enter runs it first ", state.workload()), theme.dim())
                .alignment(Alignment::Right),
        );
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if state.results.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled(
                "Finished runs line up here, with their speedup over the sequential baseline.",
                theme.dim(),
            )),
            inner,
        );
        return;
    }
    // The sentence broken between words, in as many lines as it needs, up to three (an
    // experiment's verdict may take them), while a header and a row keep theirs; what does not
    // fit ends in `…` after a whole word.
    let room = usize::from(inner.height.saturating_sub(2)).min(3);
    let sentence = state
        .results_sentence()
        .map(|sentence| wrap_words_within(&sentence, usize::from(inner.width), room))
        .unwrap_or_default();
    let [table_area, sentence_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(sentence.len() as u16)]).areas(inner);
    render_table(frame, table_area, state, is_focused, theme);
    frame.render_widget(Paragraph::new(sentence.into_iter().map(Line::raw).collect::<Vec<_>>()), sentence_area);
}

fn render_table(frame: &mut Frame, area: Rect, state: &State, is_focused: bool, theme: Theme) {
    let python = state.results.iter().any(|result| result.report.plan.runtime.interpreter().is_some());
    let rows = &state.comparison.rows;
    // The figure column is as wide as its widest figure, so that each shows whole or the
    // column not at all; without any figure it would only say `—`.
    let figure = rows
        .iter()
        .filter_map(|row| row.latest(&state.results)?.metrics.headline())
        .map(|headline| headline.chars().count())
        .max()
        .map(|widest| u16::try_from(widest).unwrap_or(u16::MAX).max(Extra::Figure.width()));
    let extras = extra_columns(area.width, python, figure);
    let mut header: Vec<&str> = BASE.iter().map(|(name, _)| *name).collect();
    let mut widths: Vec<Constraint> = BASE.iter().map(|(_, width)| Constraint::Length(*width)).collect();
    for extra in Extra::ALL.into_iter().filter(|extra| extras.contains(extra)) {
        header.push(extra.name());
        widths.push(match (extra, figure) {
            (Extra::Figure, Some(widest)) => Constraint::Min(widest),
            _ => Constraint::Length(extra.width()),
        });
    }
    let visible = usize::from(area.height.saturating_sub(1)).max(1);
    let first = state.results_scroll.saturating_sub(visible - 1).min(rows.len().saturating_sub(visible));
    let shown = rows.iter().enumerate().skip(first).take(visible).map(|(index, row)| {
        let drawn = table_row(index, row, &state.results, &extras, theme);
        if is_focused && index == state.results_scroll {
            drawn.style(theme.selected())
        } else {
            drawn
        }
    });
    frame.render_widget(Table::new(shown, widths).header(Row::new(header).style(theme.dim())).column_spacing(1), area);
}

/// What each column means, for the help's second page: the results table's, then the workers
/// table's in brief.
const COLUMNS: &[(&str, &str)] = &[
    ("★ ✗ #", "best of its workload, size, tasks; a wrong result; row number"),
    ("workload model", "what ran, and as what: sequential, threads, processes"),
    ("variant", "the options that tell rows apart: mutex, pipe, dynamic"),
    ("n runs", "workers; identical runs folded into the row"),
    ("lock", "emulated lock on/off; GIL: CPython's own; free: GIL off"),
    ("runtime", "native code, or the Python interpreter that ran it"),
    ("wall ± σ", "elapsed time, mean over the runs; deviation, or what was wrong"),
    ("speedup", "sequential baseline's mean wall time over the row's; or wrong"),
    ("eff", "speedup per worker: 100% is perfect scaling"),
    ("affinity", "pinning: none, spread, single, a CPU list"),
    ("cpu", "CPU time of all workers, mean over the runs"),
    ("peak mem", "memory the run added at its peak, program + workers"),
    ("start-up", "median time from asking for a worker to its start"),
    ("check", "ok: the checksum proved the computed result; — none can"),
    ("outcome", "finished, cancelled or failed; only finished are averaged"),
    ("figure", "the workload's own measure: lost updates, PSS, p50…"),
];

/// The workers table's columns, in brief.
const WORKER_COLUMNS: [&str; 3] = [
    " task: progress of the task in hand · tasks: done · /s: tasks a second",
    " core: the CPU it last ran on · cpu: CPU time · lock wait: time waiting for it",
    " split: running/lock wait/blocked/idle · why: how it ended badly",
];

/// The help's second page: what every column means.
pub(super) fn render_columns_help(frame: &mut Frame, area: Rect, theme: Theme) {
    use ratatui::layout::Flex;
    use ratatui::widgets::{Block, Clear};
    let width = 80.min(area.width);
    let height = (COLUMNS.len() as u16 + 8).min(area.height);
    let [vertical] = Layout::vertical([Constraint::Length(height)]).flex(Flex::Center).areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(width)]).flex(Flex::Center).areas(vertical);
    frame.render_widget(Clear, popup);
    let block = Block::bordered()
        .title(Line::styled(" Columns ", theme.title()))
        .title_bottom(Line::styled(" Esc or ? closes · Tab: the keys ", theme.dim()))
        .border_style(theme.border(true));
    let mut lines = vec![Line::styled(" Results", theme.dim())];
    lines.extend(COLUMNS.iter().map(|(name, meaning)| {
        Line::from(vec![Span::styled(format!(" {name:<15}"), theme.key()), Span::raw(*meaning)])
    }));
    lines.push(Line::styled(" Workers", theme.dim()));
    lines.extend(WORKER_COLUMNS.map(Line::raw));
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}

/// The columns every width shows, with their widths: 78 columns, an 80-column terminal's panel.
const BASE: [(&str, u16); 11] = [
    ("", 1),
    ("#", 3),
    ("workload", 10),
    ("variant", 8),
    ("model", 10),
    ("n", 4),
    ("lock", 4),
    ("runs", 4),
    ("wall", 8),
    ("± σ", 9),
    ("speedup", 7),
];

/// The columns shown as width allows, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Extra {
    Efficiency,
    Runtime,
    Affinity,
    Cpu,
    PeakMemory,
    Startup,
    Check,
    Outcome,
    Figure,
}

impl Extra {
    const ALL: [Self; 9] = [
        Self::Efficiency,
        Self::Runtime,
        Self::Affinity,
        Self::Cpu,
        Self::PeakMemory,
        Self::Startup,
        Self::Check,
        Self::Outcome,
        Self::Figure,
    ];
    /// Which to keep first when not all fit: what the workload measured and how a run ended
    /// before the finer figures (a run that did not finish is dimmed in any case).
    const PRIORITY: [Self; 9] = [
        Self::Efficiency,
        Self::Runtime,
        Self::Figure,
        Self::Outcome,
        Self::PeakMemory,
        Self::Cpu,
        Self::Check,
        Self::Affinity,
        Self::Startup,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Efficiency => "eff",
            Self::Runtime => "runtime",
            Self::Affinity => "affinity",
            Self::Cpu => "cpu",
            Self::PeakMemory => "peak mem",
            Self::Startup => "start-up",
            Self::Check => "check",
            Self::Outcome => "outcome",
            Self::Figure => "figure",
        }
    }

    /// The narrowest the column may be; the figure takes whatever is left beyond.
    fn width(self) -> u16 {
        match self {
            Self::Efficiency => 4,
            // `CPython 3.13t`.
            Self::Runtime => 13,
            Self::Check => 5,
            Self::Cpu | Self::Startup | Self::Affinity => 8,
            Self::Outcome => 9,
            // `1024.0 MiB`, just under a GiB.
            Self::PeakMemory => 10,
            Self::Figure => 14,
        }
    }
}

/// The extra columns that fit beside the base ones in `width`, by priority; the runtime only
/// when a row ran on Python (`python`), since every other row is native; the figure when a
/// row has one and the widest (`figure` columns) fits whole.
fn extra_columns(width: u16, python: bool, figure: Option<u16>) -> Vec<Extra> {
    let base: u16 = BASE.iter().map(|(_, w)| w + 1).sum();
    let mut left = (width + 1).saturating_sub(base);
    let mut shown = Vec::new();
    let wanted = |extra: &Extra| (python || *extra != Extra::Runtime) && (figure.is_some() || *extra != Extra::Figure);
    for extra in Extra::PRIORITY.into_iter().filter(wanted) {
        let needed = if extra == Extra::Figure { figure.unwrap_or_default() } else { extra.width() };
        if left > needed {
            left -= needed + 1;
            shown.push(extra);
        }
    }
    shown
}

fn table_row(index: usize, row: &Compared, results: &[ResultRow], extras: &[Extra], theme: Theme) -> Row<'static> {
    let Some(report) = row.latest(results) else { return Row::new(Vec::<Cell>::new()) };
    let plan = &report.plan;
    let finished = report.outcome == RunOutcome::Finished;
    let mark = match (&row.wrong, row.winner) {
        (Some(_), _) => Span::styled(WRONG, theme.warning()),
        (None, true) => Span::styled(WINNER, theme.good()),
        (None, false) => Span::raw(""),
    };
    // A wrong row says what was wrong where its spread and speedup would be: no speed
    // makes up for a wrong result.
    let (spread, speedup) = match &row.wrong {
        Some(wrong) => (Span::styled(wrong.brief.clone(), theme.warning()), Span::styled("wrong", theme.warning())),
        None => (
            Span::raw(row.spread_text()),
            Span::styled(row.speedup_text(), if finished { theme.value() } else { theme.dim() }),
        ),
    };
    let mut cells = vec![
        Cell::from(mark),
        Cell::from((index + 1).to_string()),
        Cell::from(plan.workload.kind.name()),
        Cell::from(row.variant.clone()),
        Cell::from(plan.model.name()),
        Cell::from(plan.workers.to_string()),
        Cell::from(crate::report::lock_cell(plan)),
        Cell::from(row.runs.len().to_string()),
        Cell::from(format_seconds(row.wall_mean)),
        Cell::from(spread),
        Cell::from(speedup),
    ];
    for extra in Extra::ALL.into_iter().filter(|extra| extras.contains(extra)) {
        cells.push(match extra {
            Extra::Efficiency => Cell::from(row.efficiency_text()),
            Extra::Runtime => {
                Cell::from(crate::report::interpreter_words(&plan.runtime).unwrap_or_else(|| "native".to_owned()))
            }
            Extra::Affinity => Cell::from(plan.affinity.to_string()),
            Extra::Cpu => Cell::from(format_seconds(row.mean_of(results, |r| r.cpu_seconds))),
            Extra::PeakMemory => Cell::from(format_bytes(peak_of(row, results))),
            Extra::Startup => {
                let started = row.reports(results).any(|r| r.median_startup_seconds().is_some());
                Cell::from(if started {
                    format_seconds(row.mean_of(results, |r| r.median_startup_seconds().unwrap_or(0.0)))
                } else {
                    "—".to_owned()
                })
            }
            Extra::Check => {
                let check = check_text(report);
                Cell::from(Span::styled(check, if check == "WRONG" { theme.warning() } else { Style::default() }))
            }
            Extra::Outcome => {
                Cell::from(Span::styled(report.outcome.name(), if finished { theme.good() } else { theme.warning() }))
            }
            // The workload's own figure, as plain text: a measurement, not a warning.
            Extra::Figure => Cell::from(report.metrics.headline().unwrap_or_else(|| "—".to_owned())),
        });
    }
    let drawn = Row::new(cells);
    if finished {
        drawn
    } else {
        drawn.style(theme.dim())
    }
}

#[cfg(test)]
mod tests;
