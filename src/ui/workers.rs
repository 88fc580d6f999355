//! The workers panel: one row per worker of the current (or last) run, a gauge, its figures
//! and its state in its own colour; a line counting workers per state above it.

use std::borrow::Cow;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use ratatui::Frame;

use super::theme::{activity_glyph, bar, stacked_cells, Theme};
use super::{focused, panel};
use crate::app::state::{Focus, State};
use crate::app::workers::{order, progress_spread, ProgressSpread, WorkerSort};
use crate::board::Activity;
use crate::engine::Phase;
use crate::telemetry::{LockFigures, TimeSplit, WorkerState, WorkerView};
use crate::units::format_seconds;
use crate::units::truncate;

/// Draws the panel; returns how many worker rows it had room for (what a page is).
pub(super) fn render(frame: &mut Frame, area: Rect, state: &State, theme: Theme) -> usize {
    let is_focused = focused(state, Focus::Workers);
    // Index order is the natural one; any other is named in the title.
    let sort = match state.workers_table.sort {
        WorkerSort::Index => String::new(),
        sort => format!("{} ", sort.label()),
    };
    let finished_rows: Vec<WorkerView>;
    let (title, workers, lock): (String, &[WorkerView], bool) = match (&state.run, state.results.last()) {
        (Some(run), _) => {
            let plan = &run.plan;
            let title = format!(
                " Workers {sort}· {} · {} × {} · {}/{} tasks · {} ",
                plan.workload,
                plan.model,
                plan.workers,
                run.tasks_done,
                plan.tasks,
                format_seconds(run.elapsed.as_secs_f64()),
            );
            (title, &run.workers, plan.gil.is_some())
        }
        (None, Some(last)) => {
            let plan = &last.report.plan;
            let title = format!(
                " Workers {sort}· last run: {} · {} × {} · {} ",
                plan.workload,
                plan.model,
                plan.workers,
                last.report.outcome.name()
            );
            finished_rows = last
                .report
                .workers
                .iter()
                .zip(last.report.timeline.latest_lives(last.report.workers.len()))
                .map(|(worker, life)| WorkerView::from_report(worker, life))
                .collect();
            (title, &finished_rows, plan.gil.is_some())
        }
        (None, None) => (" Workers ".to_owned(), &[], false),
    };
    let mut block = panel(title, is_focused, theme);
    let inner = block.inner(area);
    let lock_figures = state.run.as_ref().and_then(|run| run.lock);
    let live = state.run.as_ref().and_then(|run| run.live.as_deref());
    let mut header_lines = 1 + u16::from(lock_figures.is_some()) + u16::from(live.is_some());
    // Rows left for workers under the header lines and the table's own header.
    let room = |header_lines: u16| usize::from(inner.height.saturating_sub(header_lines + 1));
    // When not every worker fits, the progress spread sums up those out of sight, if a row
    // is left for a worker after it.
    let spread = (workers.len() > room(header_lines) && room(header_lines + 1) >= 1)
        .then(|| progress_spread(workers, state.run.is_some()))
        .flatten();
    if spread.is_some() {
        header_lines += 1;
    }
    let visible = room(header_lines).max(1);
    let first = state.workers_table.first_row(workers.len(), visible);
    let below = workers.len().saturating_sub(first + visible);
    let marker = (first > 0 || below > 0).then(|| format!(" ↑ {first} above · ↓ {below} below "));
    let marker_width = marker.as_ref().map_or(0, |marker| marker.chars().count());
    if let Some(message) = &state.message {
        let room = usize::from(area.width.saturating_sub(4)).saturating_sub(marker_width + 1);
        block =
            block.title_bottom(Line::styled(format!(" {} ", truncate(message, room.saturating_sub(2))), theme.dim()));
    }
    if let Some(marker) = marker {
        block = block.title_bottom(Line::styled(marker, theme.value()).right_aligned());
    }
    frame.render_widget(block, area);
    if workers.is_empty() {
        let hint = format!(
            "Press Enter to run {} with {} × {}.",
            state.workload(),
            state.settings.model,
            if state.settings.model == crate::engine::Model::Sequential { 1 } else { state.settings.workers }
        );
        frame.render_widget(Paragraph::new(Line::styled(hint, theme.dim())), inner);
        return visible;
    }
    let [counts_area, table_area] =
        Layout::vertical([Constraint::Length(header_lines), Constraint::Min(0)]).areas(inner);
    let phase = state.run.as_ref().map(|run| run.phase);
    let mut counts = vec![state_counts(phase, workers, theme)];
    if let Some(figures) = lock_figures {
        counts.push(lock_line(figures, theme));
    }
    if let Some(live) = live {
        counts.push(Line::styled(live.to_owned(), theme.value()));
    }
    if let Some(spread) = spread {
        counts.push(spread_line(spread, theme));
    }
    frame.render_widget(Paragraph::new(counts), counts_area);
    // Base columns first; then, as width allows: pid/tid, lock wait (when the lock is on), and
    // the reason a worker ended badly in what is left.
    let wide = inner.width >= 96;
    let gauge_width = if wide { 16 } else { 8 };
    // Four digits from worker 1000 on.
    let index_width = if workers.len() > 1000 { 4 } else { 3 };
    let mut budget = inner.width.saturating_sub(49 + gauge_width - 8 + index_width - 3);
    // The time split matters more than the task rate: it takes the rate's place when narrow.
    let show_rate = budget > SPLIT_WIDTH;
    let split_width = if show_rate { SPLIT_WIDTH } else { 5 + budget.min(SPLIT_WIDTH - 5) };
    budget = budget.saturating_sub(if show_rate { SPLIT_WIDTH + 1 } else { split_width - 5 });
    let sorted = |column: &'static str, by: WorkerSort, arrow: &'static str| -> Cow<'static, str> {
        if state.workers_table.sort == by {
            Cow::Owned(format!("{column}{arrow}"))
        } else {
            Cow::Borrowed(column)
        }
    };
    let mut header = vec![
        sorted("#", WorkerSort::Index, "▲"),
        sorted("state", WorkerSort::State, "▲"),
        sorted("task", WorkerSort::Progress, "▲"),
        "tasks".into(),
    ];
    let mut widths = vec![
        Constraint::Length(index_width),
        Constraint::Length(9),
        Constraint::Length(gauge_width),
        Constraint::Length(6),
    ];
    if show_rate {
        header.push("/s".into());
        widths.push(Constraint::Length(5));
    }
    header.extend(["core".into(), sorted("cpu", WorkerSort::Cpu, "▼"), "split".into()]);
    widths.extend([Constraint::Length(4), Constraint::Length(8), Constraint::Length(split_width)]);
    let show_lock = lock && budget >= 10;
    if show_lock {
        header.push("lock wait".into());
        widths.push(Constraint::Length(9));
        budget -= 10;
    }
    let show_pid = budget >= 16;
    if show_pid {
        header.push("pid/tid".into());
        widths.push(Constraint::Length(15));
        budget -= 16;
    }
    let show_reason = budget >= 8;
    if show_reason {
        header.push("why".into());
        widths.push(Constraint::Min(7));
    }
    let shown = order(workers, state.workers_table.sort);
    let rows = shown.iter().enumerate().skip(first).take(visible).map(|(position, at)| {
        let worker = &workers[*at];
        let mut cells = vec![
            Cell::from(worker.index.to_string()),
            Cell::from(Span::styled(worker.state.name(), theme.state(worker.state))),
            Cell::from(Span::styled(bar(worker.task_progress, usize::from(gauge_width)), theme.state(worker.state))),
            Cell::from(if worker.tasks_total > 0 {
                format!("{}/{}", worker.tasks_done, worker.tasks_total)
            } else {
                worker.tasks_done.to_string()
            }),
        ];
        if show_rate {
            cells.push(Cell::from(worker.rate.map_or_else(|| "-".to_owned(), |rate| format!("{rate:.1}"))));
        }
        cells.push(Cell::from(worker.core.map_or_else(|| "-".to_owned(), |c| c.to_string())));
        cells.push(Cell::from(format_seconds(worker.cpu_seconds)));
        cells.push(Cell::from(split_bar(worker.split, usize::from(split_width), theme)));
        if show_lock {
            cells.push(Cell::from(format_seconds(worker.lock_wait_seconds)));
        }
        if show_pid {
            cells.push(Cell::from(format!("{}/{}", worker.pid, worker.tid)));
        }
        if show_reason {
            cells.push(Cell::from(Span::styled(truncate(worker.reason.as_deref().unwrap_or(""), 60), theme.warning())));
        }
        let row = Row::new(cells);
        if is_focused && position == state.workers_table.selected {
            row.style(theme.selected())
        } else {
            row
        }
    });
    let table = Table::new(rows, widths).header(Row::new(header).style(theme.dim())).column_spacing(1);
    frame.render_widget(table, table_area);
    visible
}

/// `running 3 · done 1 · crashed 1`: every state present, even when rows are scrolled away;
/// led by the run's phase when it is paused or draining, with the grace countdown.
fn state_counts(phase: Option<Phase>, workers: &[WorkerView], theme: Theme) -> Line<'static> {
    let mut spans = Vec::new();
    match phase {
        Some(Phase::Draining { remaining }) => spans.push(Span::styled(
            format!("DRAINING {:.1} s left · ", remaining.as_secs_f64()),
            theme.state(WorkerState::Draining),
        )),
        Some(Phase::Paused) => spans.push(Span::styled("PAUSED · ", theme.state(WorkerState::Paused))),
        _ => {}
    }
    let lead = spans.len();
    for state in WorkerState::ALL {
        let count = workers.iter().filter(|w| w.state == state).count();
        if count > 0 {
            if spans.len() > lead {
                spans.push(Span::styled(" · ", theme.dim()));
            }
            spans.push(Span::styled(format!("{} {count}", state.name()), theme.state(state)));
        }
    }
    Line::from(spans)
}

/// Widest the time-split bar gets.
const SPLIT_WIDTH: u16 = 10;

/// A worker's time so far as a bar: running, then lock wait, blocked and idle, each in its
/// timeline colour (its timeline glyph without colour).
fn split_bar(split: Option<TimeSplit>, width: usize, theme: Theme) -> Line<'static> {
    let Some(split) = split else { return Line::from("") };
    let parts = [
        (Activity::Running, split.running),
        (Activity::LockWait, split.lock_wait),
        (Activity::Blocked, split.blocked),
        (Activity::Idle, split.idle),
    ];
    let cells = stacked_cells(&parts.map(|(_, share)| share), width);
    let spans: Vec<Span<'static>> = parts
        .iter()
        .zip(cells)
        .filter(|(_, count)| *count > 0)
        .map(|((activity, _), count)| {
            let glyph = if theme.color { '█' } else { activity_glyph(*activity) };
            Span::styled(glyph.to_string().repeat(count), theme.activity(*activity))
        })
        .collect();
    Line::from(spans)
}

/// `lock: held 97% · 196 hand-overs/s · mean wait 5.1 ms`, as py-spy's `top` heads its table.
fn lock_line(figures: LockFigures, theme: Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled("lock ", theme.dim()),
        Span::styled(format!("held {:.0}%", figures.held * 100.0), theme.value()),
        Span::styled(" · ", theme.dim()),
        Span::styled(format!("{:.0} hand-overs/s", figures.handovers_per_second), theme.value()),
        Span::styled(" · ", theme.dim()),
        Span::styled(format!("mean wait {}", format_seconds(figures.mean_wait_seconds)), theme.value()),
    ])
}

/// `progress min 3% · median 41% · max 98%`: how far every worker has got, at a glance.
fn spread_line(spread: ProgressSpread, theme: Theme) -> Line<'static> {
    let (label, figures) = match spread {
        ProgressSpread::Share(spread) => {
            ("progress", [spread.min, spread.median, spread.max].map(|share| format!("{:.0}%", share * 100.0)))
        }
        ProgressSpread::Tasks(spread) => {
            ("tasks done", [spread.min, spread.median, spread.max].map(|n| format!("{n}")))
        }
    };
    let mut spans = vec![Span::styled(format!("{label} "), theme.dim())];
    for (name, figure) in ["min", "median", "max"].into_iter().zip(figures) {
        if spans.len() > 1 {
            spans.push(Span::styled(" · ", theme.dim()));
        }
        spans.push(Span::styled(format!("{name} "), theme.dim()));
        spans.push(Span::styled(figure, theme.value()));
    }
    Line::from(spans)
}
