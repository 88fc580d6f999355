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

mod lanes;

use lanes::{cpu_lanes, window_for, worker_lanes, CpuLaneSource, Lane, Mark, Paint, Window, EIGHTHS};

use super::glyphs::activity_glyph;
use super::panel;
use super::theme::Theme;
use crate::app::state::{State, TimelineMode};
use crate::board::Activity;
use crate::engine::timeline::Timeline;
use crate::units::format_seconds;

/// Left-aligned eighth blocks, by how many eighths they fill.
const LEFT_BLOCKS: [char; 9] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'];

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
    let mut block = panel(title, true, theme);
    if let Some(message) = &state.message {
        block = block.title_bottom(Line::styled(format!(" {message} "), theme.dim()));
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some((timeline, now)) = source else {
        let hint = "Run a workload: each worker's running, lock wait, blocked and idle time shows here.";
        frame.render_widget(Paragraph::new(Line::styled(hint, theme.dim())), inner);
        return;
    };
    let [legend_area, lanes_area, axis_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    let rows = usize::from(lanes_area.height);
    let label = label_width(view.mode, timeline, rows, state.cores.len());
    let width = usize::from(inner.width).saturating_sub(label).max(1);
    let window = window_for(timeline, now, view.window().as_nanos() as u64);
    let lanes = match view.mode {
        TimelineMode::Workers => worker_lanes(timeline, window, width, rows),
        TimelineMode::Cpus => cpu_lanes(timeline, window, width, rows, state.cores.len()),
    };
    let mut legend = legend(view.mode, &lanes, label, theme);
    if view.mode == TimelineMode::Cpus {
        // Whether the CPU lanes are the kernel's switches or the workers' own samples.
        legend.push_span(Span::styled(CpuLaneSource::of(timeline).describe(), theme.dim()));
    }
    frame.render_widget(legend, legend_area);
    let drawn: Vec<Line> = lanes.iter().map(|lane| draw_lane(lane, label, theme)).collect();
    frame.render_widget(Paragraph::new(drawn), lanes_area);
    frame.render_widget(axis(timeline.started_ns, window, width, label, theme), axis_area);
}

/// Room for the longest lane label (`w7`, `w960-1023`, `cpu1`) and a space.
fn label_width(mode: TimelineMode, timeline: &Timeline, rows: usize, cpus: usize) -> usize {
    let longest = match mode {
        TimelineMode::Workers => {
            let last = timeline.workers.iter().map(|life| life.index).max().unwrap_or(0);
            if last < rows.max(1) {
                format!("w{last}").len()
            } else {
                format!("w{last}-{last}").len()
            }
        }
        TimelineMode::Cpus => format!("cpu{}", cpus.max(1) - 1).len(),
    };
    longest.max(3) + 1
}

fn draw_lane(lane: &Lane, label: usize, theme: Theme) -> Line<'static> {
    let mut spans = vec![Span::styled(format!("{:<label$}", lane.label), theme.dim())];
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
    let style_of = |mark: Option<Mark>| mark.map_or(Style::new(), |mark| ink(mark, theme));
    let glyph = LEFT_BLOCKS[split].to_string();
    match (cell.first, cell.rest) {
        (None, None) => Span::raw(" "),
        // Empty first: the left block's ink in the terminal's background, the rest in colour.
        (None, rest) => Span::styled(glyph, style_of(rest).add_modifier(Modifier::REVERSED)),
        (first, None) => Span::styled(glyph, style_of(first)),
        (first, Some(rest)) => Span::styled(glyph, style_of(first).patch(background(rest, theme))),
    }
}

/// A mark as the ink of a cell.
fn ink(mark: Mark, theme: Theme) -> Style {
    match mark {
        Mark::Activity(activity) => theme.activity(activity),
        Mark::Worker(index) => theme.worker(index),
    }
}

/// A mark as the background of a cell, behind another's ink.
fn background(mark: Mark, theme: Theme) -> Style {
    match mark {
        Mark::Activity(activity) => theme.activity_background(activity),
        Mark::Worker(index) => theme.worker_background(index),
    }
}

/// The glyph of a mark when there is no colour: a shade per activity, a digit per worker.
fn glyph(mark: Mark) -> char {
    match mark {
        Mark::Activity(activity) => activity_glyph(activity),
        Mark::Worker(index) => char::from_digit((index % 10) as u32, 10).unwrap_or('?'),
    }
}

/// The legend: each activity (or each worker on a CPU lane) with its colour. Waiting for a CPU
/// and off CPU are named only when the lanes show them: they need the kernel's switches, and
/// room.
fn legend(mode: TimelineMode, lanes: &[Lane], label: usize, theme: Theme) -> Line<'static> {
    let mut spans = vec![Span::raw(" ".repeat(label))];
    let shows = |activity| {
        let mark = Some(Mark::Activity(activity));
        lanes.iter().any(|lane| lane.cells.iter().any(|cell| cell.first == mark || cell.rest == mark))
    };
    let marks: Vec<Mark> = match mode {
        TimelineMode::Workers => [
            Activity::Running,
            Activity::WaitingForCpu,
            Activity::OffCpu,
            Activity::LockWait,
            Activity::Blocked,
            Activity::Idle,
            Activity::Paused,
            Activity::Draining,
        ]
        .into_iter()
        .filter(|activity| !matches!(activity, Activity::WaitingForCpu | Activity::OffCpu) || shows(*activity))
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
        spans.push(Span::styled(sample.to_string(), ink(mark, theme)));
        let name = match mark {
            Mark::Activity(activity) => activity.name().to_owned(),
            Mark::Worker(index) => format!("w{index}"),
        };
        spans.push(Span::raw(format!(" {name}  ")));
    }
    Line::from(spans)
}

/// Time since the run began under the lanes, at round steps about a dozen cells apart.
fn axis(started_ns: u64, window: Window, width: usize, label: usize, theme: Theme) -> Line<'static> {
    let span_ns = (window.end_ns - window.start_ns).max(1) as f64;
    let cell_ns = span_ns / width as f64;
    let step_ns = round_step(cell_ns * 12.0);
    let mut text = vec![' '; width];
    let mut free_from = 0;
    let offset = window.start_ns.saturating_sub(started_ns) as f64;
    let mut tick = (offset / step_ns).ceil() * step_ns;
    while tick < offset + span_ns {
        let cell = ((tick - offset) / cell_ns).round() as usize;
        let label = format!("|{}", format_axis(tick / 1e9, step_ns / 1e9));
        let len = label.chars().count();
        if cell >= free_from && cell + len <= width {
            for (at, c) in label.chars().enumerate() {
                text[cell + at] = c;
            }
            free_from = cell + len + 1;
        }
        tick += step_ns;
    }
    Line::from(vec![Span::raw(" ".repeat(label)), Span::styled(text.into_iter().collect::<String>(), theme.dim())])
}

/// The smallest of 1, 2 and 5 times a power of ten that is at least `at_least` nanoseconds.
fn round_step(at_least: f64) -> f64 {
    let power = 10f64.powf(at_least.max(1.0).log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|factor| factor * power)
        .find(|step| *step >= at_least)
        .unwrap_or(power * 10.0)
}

/// `0.25s`, `1.5s`, `12s`: seconds since the start, with as many decimals as the step needs.
fn format_axis(seconds: f64, step: f64) -> String {
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    format!("{seconds:.decimals$}s")
}

#[cfg(test)]
mod tests;
