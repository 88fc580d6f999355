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
use super::theme::{activity_glyph, Theme};
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
    let width = usize::from(inner.width).saturating_sub(LABEL).max(1);
    let window = window_for(timeline, now, view.window().as_nanos() as u64);
    let rows = usize::from(lanes_area.height);
    let lanes = match view.mode {
        TimelineMode::Workers => worker_lanes(timeline, window, width, rows),
        TimelineMode::Cpus => cpu_lanes(timeline, window, width, rows, state.cores.len()),
    };
    frame.render_widget(legend(view.mode, &lanes, theme), legend_area);
    let drawn: Vec<Line> = lanes.iter().map(|lane| draw_lane(lane, theme)).collect();
    frame.render_widget(Paragraph::new(drawn), lanes_area);
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

/// What a worker did at one instant, and on which CPU; None where it did not live.
type Sample = Option<(Activity, Option<usize>)>;

/// Each worker's samples at every eighth of every cell, by worker index (a worker replaced
/// after a crash has its lives on one row).
fn samples(timeline: &Timeline, window: Window, width: usize) -> Vec<(usize, Vec<Sample>)> {
    let slots = width * EIGHTHS;
    let slot_ns = (window.end_ns - window.start_ns).max(1) as f64 / slots as f64;
    let rows = timeline.workers.iter().map(|life| life.index + 1).max().unwrap_or(0);
    let mut workers: Vec<Option<Vec<Sample>>> = vec![None; rows];
    for life in &timeline.workers {
        let row = workers[life.index].get_or_insert_with(|| vec![None; slots]);
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
    workers.into_iter().enumerate().filter_map(|(index, row)| Some((index, row?))).collect()
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
                .map(|slot| {
                    most_common(group.iter().filter_map(|(_, row)| row[slot].map(|(activity, _)| activity)))
                        .map(Mark::Activity)
                })
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
            let rest = eighths[split..]
                .iter()
                .copied()
                .max_by_key(|mark| eighths[split..].iter().filter(|m| *m == mark).count());
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
        Mark::Activity(activity) => activity_glyph(activity),
        Mark::Worker(index) => char::from_digit((index % 10) as u32, 10).unwrap_or('?'),
    }
}

/// The legend: each activity (or each worker on a CPU lane) with its colour.
fn legend(mode: TimelineMode, lanes: &[Lane], theme: Theme) -> Line<'static> {
    let mut spans = vec![Span::styled(format!("{:<width$}", "", width = LABEL), theme.dim())];
    let marks: Vec<Mark> = match mode {
        TimelineMode::Workers => [
            Activity::Running,
            Activity::LockWait,
            Activity::Blocked,
            Activity::Idle,
            Activity::Paused,
            Activity::Draining,
        ]
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

/// Time since the run began under the lanes, at round steps about a dozen cells apart.
fn axis(started_ns: u64, window: Window, width: usize, theme: Theme) -> Line<'static> {
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
    Line::from(vec![Span::raw(" ".repeat(LABEL)), Span::styled(text.into_iter().collect::<String>(), theme.dim())])
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
mod tests {
    use std::time::Duration;

    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    use super::*;
    use crate::app::state::TimelineView;
    use crate::engine::timeline::{Segment, WorkerTimeline};
    use crate::engine::{Model, PlanRequest};
    use crate::telemetry::RunView;
    use crate::workload::by_name;

    const MS: u64 = 1_000_000;
    /// The run's zero: any fixed instant of CLOCK_MONOTONIC.
    const START: u64 = 1_000 * MS;

    /// A worker life made of `(activity, cpu, milliseconds)` pieces, back to back from `from`.
    fn life(index: usize, from_ms: u64, pieces: &[(Activity, usize, u64)]) -> WorkerTimeline {
        let mut at = START + from_ms * MS;
        let segments = pieces
            .iter()
            .map(|(activity, cpu, ms)| {
                let segment = Segment { start_ns: at, end_ns: at + ms * MS, activity: *activity, cpu: Some(*cpu) };
                at += ms * MS;
                segment
            })
            .collect();
        WorkerTimeline { index, pid: 100, tid: 100 + index as i32, segments, ..WorkerTimeline::default() }
    }

    /// Two threads taking turns under the lock every 5 ms for 60 ms, after 1.5 ms of start-up.
    fn lock_turns() -> Timeline {
        let turn = |first: Activity, second: Activity| {
            let mut pieces = vec![(Activity::Idle, 0, 1)];
            for round in 0..6 {
                let cpu = round % 2;
                pieces.push((first, cpu, 5));
                pieces.push((second, cpu, 5));
            }
            pieces
        };
        Timeline {
            started_ns: START,
            workers: vec![
                life(0, 0, &turn(Activity::Running, Activity::LockWait)),
                life(1, 1, &turn(Activity::LockWait, Activity::Running)),
            ],
        }
    }

    fn state_with(timeline: Timeline, mode: TimelineMode, zoom: usize, color: bool) -> State {
        let mut state = State::new(2, Duration::from_secs(3));
        state.color = color;
        let plan = PlanRequest {
            workers: Some(2),
            gil: Some(Duration::from_millis(5)),
            ..PlanRequest::new(by_name("cpu").expect("cpu"), Model::Threads)
        }
        .validate_with(&[0, 1])
        .expect("plan");
        state.run = Some(RunView { now_ns: START + 62 * MS, timeline, ..RunView::of_plan(plan) });
        state.timeline = Some(TimelineView { mode, zoom });
        state
    }

    fn draw(state: &State, width: u16, height: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test backend");
        terminal.draw(|frame| render(frame, frame.area(), state, Theme { color: state.color })).expect("draw");
        terminal.backend().to_string()
    }

    #[test]
    fn lock_turns_zoomed_in_without_colour() {
        // 100 ms window (zoom 2) over 72 cells: a 5 ms turn is a few cells, hand-overs in eighths.
        insta::assert_snapshot!(draw(&state_with(lock_turns(), TimelineMode::Workers, 2, false), 80, 6));
    }

    #[test]
    fn lock_turns_in_eighths_of_a_cell() {
        insta::assert_snapshot!(draw(&state_with(lock_turns(), TimelineMode::Workers, 2, true), 80, 6));
    }

    #[test]
    fn one_lane_per_cpu_shows_who_ran_there() {
        insta::assert_snapshot!(draw(&state_with(lock_turns(), TimelineMode::Cpus, 2, false), 80, 6));
    }

    #[test]
    fn a_cell_split_by_a_change_keeps_both_sides() {
        let marks: Vec<Option<Mark>> = [Activity::Running; 3]
            .into_iter()
            .chain([Activity::LockWait; 5])
            .map(|activity| Some(Mark::Activity(activity)))
            .collect();
        assert_eq!(
            cells_of(&marks),
            vec![Paint {
                first: Some(Mark::Activity(Activity::Running)),
                split: 3,
                rest: Some(Mark::Activity(Activity::LockWait))
            }]
        );
    }

    #[test]
    fn more_workers_than_rows_are_grouped_by_what_most_do() {
        let workers = (0..40)
            .map(|index| {
                let activity = if index % 4 == 0 { Activity::Blocked } else { Activity::Running };
                life(index, 0, &[(activity, 0, 50)])
            })
            .collect();
        let timeline = Timeline { started_ns: START, workers };
        let window = Window { start_ns: START, end_ns: START + 50 * MS };
        let lanes = worker_lanes(&timeline, window, 10, 5);
        assert_eq!(lanes.len(), 5);
        assert_eq!(lanes[0].label, "w0-7");
        assert_eq!(lanes[4].label, "w32-39");
        assert!(lanes
            .iter()
            .all(|lane| lane.cells.iter().all(|cell| cell.first == Some(Mark::Activity(Activity::Running)))));
    }

    #[test]
    fn a_young_run_fills_the_window_from_the_left() {
        let timeline = lock_turns();
        let young = window_for(&timeline, Some(START + 62 * MS), 2_000 * MS);
        assert_eq!(young, Window { start_ns: START, end_ns: START + 2_000 * MS });
        let old = window_for(&timeline, Some(START + 62 * MS), 20 * MS);
        assert_eq!(old, Window { start_ns: START + 42 * MS, end_ns: START + 62 * MS });
    }
}
