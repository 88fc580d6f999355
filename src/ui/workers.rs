//! The workers panel: one row per worker of the current (or last) run, a gauge, its figures
//! and its state in its own colour; a line counting workers per state above it. Which columns
//! fit the panel's width is [`columns`]'s to decide.

use std::borrow::Cow;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};
use ratatui::Frame;

use self::columns::{ShownColumn, WorkerColumn};
use super::glyphs::{activity_glyph, bar, stacked_cells};
use super::theme::Theme;
use super::{focused, panel};
use crate::app::state::{Focus, State};
use crate::app::workers::{order, progress_spread, ProgressSpread, WorkerSort};
use crate::board::Activity;
use crate::engine::Phase;
use crate::telemetry::{LockFigures, TimeSplit, WorkerState, WorkerView};
use crate::units::format_seconds;
use crate::units::{truncate, truncate_words};

mod columns;

/// Draws the panel; returns how many worker rows it had room for (what a page is).
pub(super) fn render(frame: &mut Frame, area: Rect, state: &State, theme: Theme) -> usize {
    let is_focused = focused(state, Focus::Workers);
    let Rows { title, workers, lock } = rows_of(state);
    let block = panel(title, is_focused, theme);
    let inner = block.inner(area);
    let lock_figures = state.run.as_ref().and_then(|run| run.lock);
    let live = state.run.as_ref().and_then(|run| run.live.as_deref());
    let mut header_lines = 1 + u16::from(lock_figures.is_some()) + u16::from(live.is_some());
    // Rows left for workers under the header lines and the table's own header.
    let room = |header_lines: u16| usize::from(inner.height.saturating_sub(header_lines + 1));
    // When not every worker fits, the progress spread sums up those out of sight, if a row
    // is left for a worker after it.
    let spread = (workers.len() > room(header_lines) && room(header_lines + 1) >= 1)
        .then(|| progress_spread(&workers, state.run.is_some()))
        .flatten();
    if spread.is_some() {
        header_lines += 1;
    }
    let visible = room(header_lines).max(1);
    let window = Window {
        first: state.workers_table.first_row(workers.len(), visible),
        visible,
        selected: is_focused.then_some(state.workers_table.selected),
    };
    let block = with_bottom_titles(block, area.width, state.message.as_deref(), window, workers.len(), theme);
    frame.render_widget(block, area);
    // Why Enter started nothing, wrapped between words: a border line would cut it, and what
    // a short panel has no room for ends in `…`.
    if let Some(refusal) = state.refusal.as_deref().filter(|_| state.run.is_none()) {
        let lines = super::chart::wrap_words_within(refusal, usize::from(inner.width), inner.height.into());
        let lines: Vec<Line> = lines.into_iter().map(|line| Line::styled(line, theme.warning())).collect();
        frame.render_widget(Paragraph::new(lines), inner);
        return visible;
    }
    if workers.is_empty() {
        let experiment = state.selected_experiment();
        let hint = if state.focus == crate::app::state::Focus::Experiments {
            format!(
                "Press Enter to run the experiment {}: {} runs. Tab moves to the catalog of workloads.",
                experiment.name,
                experiment.total_runs()
            )
        } else {
            format!(
                "Press Enter to run {} with {} × {}.",
                state.workload(),
                state.settings.model,
                if state.settings.model == crate::engine::Model::Sequential { 1 } else { state.settings.workers }
            )
        };
        frame.render_widget(Paragraph::new(Line::styled(hint, theme.dim())), inner);
        return visible;
    }
    let [counts_area, table_area] =
        Layout::vertical([Constraint::Length(header_lines), Constraint::Min(0)]).areas(inner);
    let phase = state.run.as_ref().map(|run| run.phase);
    let mut counts = vec![state_counts(phase, &workers, theme)];
    if let Some(figures) = lock_figures {
        counts.push(lock_line(figures, theme));
    }
    if let Some(live) = live {
        counts.push(Line::styled(live.to_owned(), theme.value()));
    }
    if let Some(spread) = spread {
        counts.push(spread_line(spread, theme));
    }
    let width = usize::from(inner.width);
    frame.render_widget(
        Paragraph::new(counts.into_iter().map(|line| fitted(line, width)).collect::<Vec<_>>()),
        counts_area,
    );
    let columns = columns::fit(inner.width, workers.len(), lock);
    frame.render_widget(table(&workers, &columns, state.workers_table.sort, window, theme), table_area);
    visible
}

/// `line` as it fits `width` cells: whole when it fits, else cut after the last whole
/// ` · `-separated part (or, in a line of one part, the last whole word) that leaves room for
/// ` …`, which marks what is left out. Each kept character keeps its span's style.
fn fitted(line: Line<'static>, width: usize) -> Line<'static> {
    let chars: Vec<(char, ratatui::style::Style)> =
        line.spans.iter().flat_map(|span| span.content.chars().map(move |c| (c, span.style))).collect();
    if chars.len() <= width {
        return line;
    }
    let limit = width.saturating_sub(2).min(chars.len());
    // The cut falls before the first ` · ` part left out, so that a figure keeps its unit;
    // else on the space before the first word left out.
    let separator = |at: &usize| chars[*at].0 == ' ' && chars.get(at + 1).is_some_and(|next| next.0 == '·');
    let mut cut =
        (1..=limit).rev().find(separator).or_else(|| (1..=limit).rev().find(|at| chars[*at].0 == ' ')).unwrap_or(0);
    while cut > 0 && matches!(chars[cut - 1].0, ' ' | '·') {
        cut -= 1;
    }
    let mut spans: Vec<Span<'static>> = Vec::new();
    for (c, style) in &chars[..cut] {
        match spans.last_mut() {
            Some(last) if last.style == *style => last.content.to_mut().push(*c),
            _ => spans.push(Span::styled(c.to_string(), *style)),
        }
    }
    spans.push(Span::raw(if cut == 0 { "…" } else { " …" }));
    Line::from(spans).style(line.style)
}

/// The rows the panel lists and the title that says whose they are.
struct Rows<'a> {
    title: String,
    /// The live run's workers, else the last run's as its report left them.
    workers: Cow<'a, [WorkerView]>,
    /// True when the run had a lock, so its wait has a column.
    lock: bool,
}

/// The live run's workers, else the last run's, else none.
fn rows_of(state: &State) -> Rows<'_> {
    // Index order is the natural one; any other is named in the title.
    let sort = match state.workers_table.sort {
        WorkerSort::Index => String::new(),
        sort => format!("{} ", sort.label()),
    };
    match (&state.run, state.results.last()) {
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
            Rows { title, workers: Cow::Borrowed(&run.workers), lock: plan.gil.is_some() }
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
            let workers = last
                .report
                .workers
                .iter()
                .zip(last.report.timeline.latest_lives(last.report.workers.len()))
                .map(|(worker, life)| WorkerView::from_report(worker, life))
                .collect();
            Rows { title, workers: Cow::Owned(workers), lock: plan.gil.is_some() }
        }
        (None, None) => Rows { title: " Workers ".to_owned(), workers: Cow::Borrowed(&[]), lock: false },
    }
}

/// The panel's bottom edge, `width` cells wide: the last message on the left, and on the
/// right how many of the `len` rows `window` leaves out above and below, when it leaves any.
fn with_bottom_titles<'a>(
    mut block: Block<'a>,
    width: u16,
    message: Option<&str>,
    window: Window,
    len: usize,
    theme: Theme,
) -> Block<'a> {
    let first = window.first;
    let below = len.saturating_sub(first + window.visible);
    let marker = (first > 0 || below > 0).then(|| format!(" ↑ {first} above · ↓ {below} below "));
    let marker_width = marker.as_ref().map_or(0, |marker| marker.chars().count());
    if let Some(message) = message {
        let room = usize::from(width.saturating_sub(4)).saturating_sub(marker_width + 1);
        block = block
            .title_bottom(Line::styled(format!(" {} ", truncate_words(message, room.saturating_sub(2))), theme.dim()));
    }
    if let Some(marker) = marker {
        block = block.title_bottom(Line::styled(marker, theme.value()).right_aligned());
    }
    block
}

/// The rows on screen: from `first`, `visible` of them, and the highlighted one (a position
/// in the shown order) when the panel has focus.
#[derive(Debug, Clone, Copy)]
struct Window {
    first: usize,
    visible: usize,
    selected: Option<usize>,
}

/// The table of `workers` in `sort` order, as much of it as `window` shows, in `columns`.
fn table<'a>(
    workers: &[WorkerView],
    columns: &[ShownColumn],
    sort: WorkerSort,
    window: Window,
    theme: Theme,
) -> Table<'a> {
    let header: Vec<Cow<'static, str>> = columns.iter().map(|shown| header(shown.column, sort)).collect();
    let rows: Vec<Row<'a>> = order(workers, sort)
        .iter()
        .enumerate()
        .skip(window.first)
        .take(window.visible)
        .map(|(position, at)| {
            let worker = &workers[*at];
            let row = Row::new(columns.iter().map(|shown| cell(*shown, worker, theme)));
            if window.selected == Some(position) {
                row.style(theme.selected())
            } else {
                row
            }
        })
        .collect();
    Table::new(rows, columns.iter().map(|shown| shown.constraint()))
        .header(Row::new(header).style(theme.dim()))
        .column_spacing(1)
}

/// A column's header; the sorted column's carries an arrow saying which end comes first.
fn header(column: WorkerColumn, sort: WorkerSort) -> Cow<'static, str> {
    let (name, by, arrow) = match column {
        WorkerColumn::Index => ("#", Some(WorkerSort::Index), "▲"),
        WorkerColumn::State => ("state", Some(WorkerSort::State), "▲"),
        WorkerColumn::Task => ("task", Some(WorkerSort::Progress), "▲"),
        WorkerColumn::Tasks => ("tasks", None, ""),
        WorkerColumn::Rate => ("/s", None, ""),
        WorkerColumn::Core => ("core", None, ""),
        WorkerColumn::Cpu => ("cpu", Some(WorkerSort::Cpu), "▼"),
        WorkerColumn::Split => ("split", None, ""),
        WorkerColumn::LockWait => ("lock wait", None, ""),
        WorkerColumn::CpuWait => ("cpu wait", None, ""),
        WorkerColumn::OffCpu => ("off CPU", None, ""),
        WorkerColumn::Pid => ("pid/tid", None, ""),
        WorkerColumn::Reason => ("why", None, ""),
    };
    if by == Some(sort) {
        Cow::Owned(format!("{name}{arrow}"))
    } else {
        Cow::Borrowed(name)
    }
}

/// `worker`'s cell in the `shown` column, drawn to its width.
fn cell(shown: ShownColumn, worker: &WorkerView, theme: Theme) -> Cell<'static> {
    let width = usize::from(shown.width);
    match shown.column {
        WorkerColumn::Index => Cell::from(worker.index.to_string()),
        WorkerColumn::State => Cell::from(Span::styled(worker.state.name(), theme.state(worker.state))),
        WorkerColumn::Task => Cell::from(Span::styled(bar(worker.task_progress, width), theme.state(worker.state))),
        WorkerColumn::Tasks => Cell::from(if worker.tasks_total > 0 {
            format!("{}/{}", worker.tasks_done, worker.tasks_total)
        } else {
            worker.tasks_done.to_string()
        }),
        WorkerColumn::Rate => Cell::from(worker.rate.map_or_else(|| "-".to_owned(), |rate| format!("{rate:.1}"))),
        WorkerColumn::Core => Cell::from(worker.core.map_or_else(|| "-".to_owned(), |c| c.to_string())),
        WorkerColumn::Cpu => Cell::from(format_seconds(worker.cpu_seconds)),
        WorkerColumn::Split => Cell::from(split_bar(worker.split, width, theme)),
        WorkerColumn::LockWait => Cell::from(format_seconds(worker.lock_wait_seconds)),
        WorkerColumn::CpuWait => Cell::from(format_seconds(worker.waiting_for_cpu_seconds)),
        WorkerColumn::OffCpu => Cell::from(format_seconds(worker.off_cpu_seconds)),
        WorkerColumn::Pid => Cell::from(format!("{}/{}", worker.pid, worker.tid)),
        WorkerColumn::Reason => {
            Cell::from(Span::styled(truncate(worker.reason.as_deref().unwrap_or(""), 60), theme.warning()))
        }
    }
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

/// A worker's time so far as a bar: running, then waiting for a CPU, off CPU, lock wait, blocked
/// and idle, each in its timeline colour (its timeline glyph without colour).
fn split_bar(split: Option<TimeSplit>, width: usize, theme: Theme) -> Line<'static> {
    let Some(split) = split else { return Line::from("") };
    let parts = [
        (Activity::Running, split.running),
        (Activity::WaitingForCpu, split.waiting_for_cpu),
        (Activity::OffCpu, split.off_cpu),
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
