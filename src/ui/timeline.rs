//! The timeline view: one lane per worker (or per CPU) over a window of time, each cell split
//! into eighths so that a lock hand-over of a few milliseconds shows when zoomed in. Lanes are
//! drawn from the run's exact record of state changes (the board's rings), never from samples.
//!
//! Like every panel it only draws: the window, the mode and the record come from the state.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::panel;
use super::theme::Theme;
use crate::app::state::{State, TimelineMode};
use crate::board::Activity;
use crate::engine::timeline::Timeline;
use crate::units::format_seconds;

/// Samples per cell: the eighth blocks.
const EIGHTHS: usize = 8;
/// Left-aligned eighth blocks, by how many eighths they fill.
const LEFT_BLOCKS: [char; 9] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'];
/// Width of a lane's label (`w123 ` or `cpu12 `).
const LABEL: usize = 7;

/// What one lane shows at one instant: an activity of a worker lane, or the worker running on a
/// CPU lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    Activity(Activity),
    Worker(usize),
}

/// One cell of a lane: `first` over its first `split` eighths, then `rest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Paint {
    pub first: Option<Mark>,
    pub split: u8,
    pub rest: Option<Mark>,
}

/// The time a view covers, CLOCK_MONOTONIC nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub start_ns: u64,
    pub end_ns: u64,
}

/// A lane ready to draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lane {
    pub label: String,
    pub cells: Vec<Paint>,
}

pub(crate) fn render(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let Some(view) = &state.timeline else { return };
    let source = state
        .run
        .as_ref()
        .map(|run| (&run.timeline, Some(run.now_ns)))
        .or_else(|| state.results.last().map(|row| (&row.report.timeline, None)));
    let mode = match view.mode {
        TimelineMode::Workers => "workers",
        TimelineMode::Cpus => "CPUs",
    };
    let span = format_seconds(view.window().as_secs_f64());
    let title = format!(" Timeline · {mode} · {span} window · [ ] zoom · t switches · e exports ");
    let block = panel(title, true, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some((timeline, now)) = source else {
        let hint = "Run a workload: each worker's running, lock wait, blocked and idle time shows here.";
        frame.render_widget(Paragraph::new(Line::styled(hint, theme.dim())), inner);
        return;
    };
    let [legend_area, lanes_area, axis_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    let width = usize::from(inner.width).saturating_sub(LABEL).max(1);
    let window = window_for(timeline, now, view.window().as_nanos() as u64);
    let rows = usize::from(lanes_area.height);
    let lanes = match view.mode {
        TimelineMode::Workers => worker_lanes(timeline, window, width, rows),
        TimelineMode::Cpus => cpu_lanes(timeline, window, width, rows, state.cores.len()),
    };
    frame.render_widget(legend(view.mode, &lanes, theme), legend_area);
    let lines: Vec<Line> = lanes.iter().map(|lane| draw_lane(lane, theme)).collect();
    frame.render_widget(Paragraph::new(lines), lanes_area);
    frame.render_widget(axis(timeline.started_ns, window, width, theme), axis_area);
}

/// The window ending now (or at the end of a finished run); a run younger than the window fills
/// it from the left.
pub(crate) fn window_for(timeline: &Timeline, now_ns: Option<u64>, length_ns: u64) -> Window {
    let end = now_ns.unwrap_or_else(|| timeline.end_ns()).max(timeline.started_ns);
    if end - timeline.started_ns < length_ns {
        Window { start_ns: timeline.started_ns, end_ns: timeline.started_ns + length_ns }
    } else {
        Window { start_ns: end - length_ns, end_ns: end }
    }
}

/// Each worker's activity at every eighth of every cell; None where it did not live.
fn samples(timeline: &Timeline, window: Window, width: usize) -> Vec<(usize, Vec<Option<(Activity, Option<usize>)>>)> {
    let slots = width * EIGHTHS;
    let slot_ns = (window.end_ns - window.start_ns).max(1) as f64 / slots as f64;
    let mut workers: Vec<(usize, Vec<Option<(Activity, Option<usize>)>>)> = Vec::new();
    for life in &timeline.workers {
        let at = match workers.iter().position(|(index, _)| *index == life.index) {
            Some(at) => at,
            None => {
                workers.push((life.index, vec![None; slots]));
                workers.len() - 1
            }
        };
        let row = &mut workers[at].1;
        let mut segments = life.segments.iter().peekable();
        for (slot, sample) in row.iter_mut().enumerate() {
            let t = window.start_ns + ((slot as f64 + 0.5) * slot_ns) as u64;
            while segments.peek().is_some_and(|segment| segment.end_ns <= t) {
                segments.next();
            }
            match segments.peek() {
                Some(segment) if segment.start_ns <= t => *sample = Some((segment.activity, segment.cpu)),
                Some(_) => {}
                None => break,
            }
        }
    }
    workers.sort_by_key(|(index, _)| *index);
    workers
}

/// One lane per worker, or per group of workers when they outnumber the rows (each instant then
/// shows what most of the group did).
pub(crate) fn worker_lanes(timeline: &Timeline, window: Window, width: usize, rows: usize) -> Vec<Lane> {
    let workers = samples(timeline, window, width);
    let rows = rows.max(1);
    let per_lane = workers.len().div_ceil(rows).max(1);
    workers
        .chunks(per_lane)
        .map(|group| {
            let label = match group {
                [(index, _)] => format!("w{index}"),
                _ => format!("w{}-{}", group[0].0, group[group.len() - 1].0),
            };
            let marks: Vec<Option<Mark>> = (0..width * EIGHTHS)
                .map(|slot| most_common(group.iter().filter_map(|(_, row)| row[slot].map(|(activity, _)| activity)))
                    .map(Mark::Activity))
                .collect();
            Lane { label, cells: cells_of(&marks) }
        })
        .collect()
}

/// One lane per CPU: which worker computed there (running or draining), as its rings saw it.
pub(crate) fn cpu_lanes(timeline: &Timeline, window: Window, width: usize, rows: usize, cpus: usize) -> Vec<Lane> {
    let workers = samples(timeline, window, width);
    let seen = workers
        .iter()
        .flat_map(|(_, row)| row.iter().filter_map(|sample| sample.and_then(|(_, cpu)| cpu)))
        .max()
        .map_or(0, |cpu| cpu + 1);
    (0..cpus.max(seen))
        .take(rows.max(1))
        .map(|cpu| {
            let marks: Vec<Option<Mark>> = (0..width * EIGHTHS)
                .map(|slot| {
                    workers.iter().find_map(|(index, row)| match row[slot] {
                        Some((Activity::Running | Activity::Draining, Some(on))) if on == cpu => {
                            Some(Mark::Worker(*index))
                        }
                        _ => None,
                    })
                })
                .collect();
            Lane { label: format!("cpu{cpu}"), cells: cells_of(&marks) }
        })
        .collect()
}

/// The most frequent activity among `activities`; ties go to the busiest state.
fn most_common(activities: impl Iterator<Item = Activity>) -> Option<Activity> {
    let mut counts = [0usize; Activity::ALL.len()];
    for activity in activities {
        counts[activity as usize] += 1;
    }
    let best = counts.iter().copied().max().filter(|count| *count > 0)?;
    Activity::ALL.iter().copied().find(|activity| counts[*activity as usize] == best)
}

/// Eighth-samples to cells: the first mark over its run of eighths, then the most common rest.
fn cells_of(marks: &[Option<Mark>]) -> Vec<Paint> {
    marks
        .chunks(EIGHTHS)
        .map(|eighths| {
            let first = eighths[0];
            let split = eighths.iter().take_while(|mark| **mark == first).count();
            let rest = eighths[split..].iter().copied().max_by_key(|mark| eighths[split..].iter().filter(|m| *m == mark).count());
            Paint { first, split: split as u8, rest: rest.flatten() }
        })
        .collect()
}

fn draw_lane(lane: &Lane, theme: Theme) -> Line<'static> {
    let mut spans = vec![Span::styled(format!("{:<width$}", lane.label, width = LABEL), theme.dim())];
    for cell in &lane.cells {
        spans.push(paint_cell(*cell, theme));
    }
    Line::from(spans)
}

/// A cell in colour: the first mark as a left block in its colour over the rest's colour. Without
/// colour: the glyph of the mark that covers most of the cell.
fn paint_cell(cell: Paint, theme: Theme) -> Span<'static> {
    let split = usize::from(cell.split);
    if !theme.color {
        let main = if split * 2 >= EIGHTHS { cell.first } else { cell.rest };
        return Span::raw(main.map_or(' ', glyph).to_string());
    }
    let style_of = |mark: Option<Mark>| mark.map_or(Style::new(), |mark| theme.mark(mark));
    let glyph = LEFT_BLOCKS[split].to_string();
    match (cell.first, cell.rest) {
        (None, None) => Span::raw(" "),
        // Empty first: the left block's ink in the terminal's background, the rest in colour.
        (None, rest) => Span::styled(glyph, style_of(rest).add_modifier(Modifier::REVERSED)),
        (first, None) => Span::styled(glyph, style_of(first)),
        (first, Some(rest)) => Span::styled(glyph, style_of(first).patch(theme.mark_background(rest))),
    }
}

/// The glyph of a mark when there is no colour: a shade per activity, a digit per worker.
fn glyph(mark: Mark) -> char {
    match mark {
        Mark::Activity(Activity::Running) => '█',
        Mark::Activity(Activity::LockWait) => '░',
        Mark::Activity(Activity::Blocked) => '▒',
        Mark::Activity(Activity::Idle) => '·',
        Mark::Activity(Activity::Paused) => '‖',
        Mark::Activity(Activity::Draining) => '▓',
        Mark::Activity(Activity::End) => ' ',
        Mark::Worker(index) => char::from_digit((index % 10) as u32, 10).unwrap_or('?'),
    }
}

/// The legend: each activity (or each worker on a CPU lane) with its colour.
fn legend(mode: TimelineMode, lanes: &[Lane], theme: Theme) -> Line<'static> {
    let mut spans = vec![Span::styled(format!("{:<width$}", "", width = LABEL), theme.dim())];
    let marks: Vec<Mark> = match mode {
        TimelineMode::Workers => [Activity::Running, Activity::LockWait, Activity::Blocked, Activity::Idle, Activity::Paused, Activity::Draining]
            .into_iter()
            .map(Mark::Activity)
            .collect(),
        TimelineMode::Cpus => {
            let mut workers: Vec<usize> = lanes
                .iter()
                .flat_map(|lane| lane.cells.iter().flat_map(|cell| [cell.first, cell.rest]))
                .filter_map(|mark| match mark {
                    Some(Mark::Worker(index)) => Some(index),
                    _ => None,
                })
                .collect();
            workers.sort_unstable();
            workers.dedup();
            workers.into_iter().take(12).map(Mark::Worker).collect()
        }
    };
    for mark in marks {
        let sample = if theme.color { '█' } else { glyph(mark) };
        spans.push(Span::styled(sample.to_string(), theme.mark(mark)));
        let name = match mark {
            Mark::Activity(activity) => activity.name().to_owned(),
            Mark::Worker(index) => format!("w{index}"),
        };
        spans.push(Span::raw(format!(" {name}  ")));
    }
    Line::from(spans)
}

/// Seconds since the run began under the lanes, a label about every 12 cells.
fn axis(started_ns: u64, window: Window, width: usize, theme: Theme) -> Line<'static> {
    let mut text = String::new();
    let cell_ns = (window.end_ns - window.start_ns) as f64 / width as f64;
    let mut cell = 0;
    while cell < width {
        let at = (window.start_ns as f64 + cell as f64 * cell_ns - started_ns as f64) / 1e9;
        let label = format!("|{}", format_axis(at));
        if cell + label.chars().count() > width {
            break;
        }
        cell += label.chars().count();
        text.push_str(&label);
        let gap = 12usize.saturating_sub(label.chars().count()).min(width - cell);
        text.push_str(&" ".repeat(gap));
        cell += gap;
    }
    Line::from(vec![Span::raw(" ".repeat(LABEL)), Span::styled(text, theme.dim())])
}

/// `0.25s`, `12.0s`: short enough for an axis label.
fn format_axis(seconds: f64) -> String {
    if seconds.abs() < 10.0 {
        format!("{seconds:.2}s")
    } else {
        format!("{seconds:.1}s")
    }
}
