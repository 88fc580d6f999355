//! Snapshots of the timeline from fixed records and a fixed clock, and its lane maths.

use std::time::Duration;

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::lanes::{cells_of, cpu_lanes, window_for, worker_lanes, Mark, Paint, Window};
use super::*;
use crate::app::state::TimelineView;
use crate::engine::timeline::{CpuSlice, Segment, Timeline, WorkerTimeline};
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
    terminal
        .draw(|frame| render(frame, frame.area(), state, Theme { color: state.color, background: state.background }))
        .expect("draw");
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

/// Two threads pinned to cpu0 without the lock: the kernel preempts each in turn, so each waits
/// for the CPU while the other runs, and the CPU lane shows both.
fn turns_on_one_cpu() -> Timeline {
    let turn = |first: Activity, second: Activity| {
        let mut pieces = vec![(Activity::Idle, 0, 1)];
        for _ in 0..6 {
            pieces.push((first, 0, 5));
            pieces.push((second, 0, 5));
        }
        pieces
    };
    Timeline {
        started_ns: START,
        workers: vec![
            life(0, 0, &turn(Activity::Running, Activity::WaitingForCpu)),
            life(1, 1, &turn(Activity::WaitingForCpu, Activity::Running)),
        ],
    }
}

#[test]
fn two_threads_on_one_cpu_wait_for_it_in_turn() {
    insta::assert_snapshot!(draw(&state_with(turns_on_one_cpu(), TimelineMode::Workers, 2, false), 100, 6));
}

#[test]
fn waiting_for_a_cpu_has_its_own_colour() {
    let state = state_with(turns_on_one_cpu(), TimelineMode::Workers, 2, true);
    let mut terminal = Terminal::new(TestBackend::new(100, 6)).expect("test backend");
    let theme = Theme { color: true, background: state.background };
    terminal.draw(|frame| render(frame, frame.area(), &state, theme)).expect("draw");
    let waiting = theme.activity(Activity::WaitingForCpu).fg.expect("a colour");
    let running = theme.activity(Activity::Running).fg.expect("a colour");
    assert_ne!(waiting, running);
    let cells = terminal.backend().buffer().content();
    assert!(cells.iter().any(|cell| cell.fg == waiting), "no cell in the waiting colour");
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

/// `life` as the kernel watched it from its start: on its CPU exactly while it ran.
fn watched(mut life: WorkerTimeline) -> WorkerTimeline {
    life.watched_from_ns = life.start_ns();
    life.on_cpu = life
        .segments
        .iter()
        .filter(|segment| segment.activity == Activity::Running)
        .map(|segment| CpuSlice { start_ns: segment.start_ns, end_ns: segment.end_ns, cpu: segment.cpu.unwrap_or(0) })
        .collect();
    life
}

/// Two threads pinned to cpu0, as the kernel saw them: each runs 5 ms while the other waits for
/// the CPU; at the end w1 leaves the CPU of its own accord for a cause it never recorded (off
/// CPU), and w0 gets it.
fn pinned_pair_seen_by_the_kernel() -> Timeline {
    use Activity::{Idle, OffCpu, Running, WaitingForCpu};
    let mut first = vec![(Idle, 0, 1)];
    let mut second = vec![(WaitingForCpu, 0, 5)];
    for _ in 0..5 {
        first.extend([(Running, 0, 5), (WaitingForCpu, 0, 5)]);
        second.extend([(Running, 0, 5), (WaitingForCpu, 0, 5)]);
    }
    first.extend([(Running, 0, 5), (WaitingForCpu, 0, 3), (Running, 0, 2)]);
    second.extend([(Running, 0, 3), (OffCpu, 0, 2)]);
    Timeline { started_ns: START, workers: vec![watched(life(0, 0, &first)), watched(life(1, 1, &second))] }
}

#[test]
fn two_pinned_workers_alternate_on_cpu0_in_exact_time_slices() {
    insta::assert_snapshot!(draw(&state_with(pinned_pair_seen_by_the_kernel(), TimelineMode::Cpus, 2, false), 80, 6));
}

#[test]
fn off_cpu_is_named_with_its_own_glyph() {
    insta::assert_snapshot!(draw(
        &state_with(pinned_pair_seen_by_the_kernel(), TimelineMode::Workers, 1, false),
        100,
        6
    ));
}

#[test]
fn off_cpu_has_its_own_colour() {
    let state = state_with(pinned_pair_seen_by_the_kernel(), TimelineMode::Workers, 1, true);
    let mut terminal = Terminal::new(TestBackend::new(100, 6)).expect("test backend");
    let theme = Theme { color: true, background: state.background };
    terminal.draw(|frame| render(frame, frame.area(), &state, theme)).expect("draw");
    let off = theme.activity(Activity::OffCpu).fg.expect("a colour");
    for other in [Activity::Running, Activity::WaitingForCpu, Activity::LockWait, Activity::Blocked, Activity::Idle] {
        assert_ne!(theme.activity(other).fg, Some(off), "{other:?}");
    }
    let cells = terminal.backend().buffer().content();
    assert!(cells.iter().any(|cell| cell.fg == off || cell.bg == off), "no cell in the off-CPU colour");
    assert!(terminal.backend().to_string().contains("off CPU"), "the legend names it");
}

/// Tasks of the event loop share one thread, so the kernel's stretches are the same for each:
/// the CPU lane shows the task that computed in them.
#[test]
fn of_tasks_sharing_a_thread_the_cpu_lane_shows_the_one_computing() {
    let task = |index, activity| {
        let mut life = life(index, 0, &[(activity, 0, 50)]);
        life.watched_from_ns = life.start_ns();
        life.on_cpu = vec![CpuSlice { start_ns: START, end_ns: START + 50 * MS, cpu: 0 }];
        life
    };
    let timeline = Timeline {
        started_ns: START,
        workers: vec![task(0, Activity::LockWait), task(1, Activity::Running), task(2, Activity::Blocked)],
    };
    let window = Window { start_ns: START, end_ns: START + 50 * MS };
    let lanes = cpu_lanes(&timeline, window, 10, 4, 1);
    assert_eq!(lanes.len(), 1);
    assert!(lanes[0].cells.iter().all(|cell| cell.first == Some(Mark::Worker(1)) && cell.split == 8), "{lanes:?}");
}
