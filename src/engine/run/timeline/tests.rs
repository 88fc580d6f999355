//! The timeline from fixed rings and switches: lives, segments, and what the switches change.

use super::*;
use crate::board::Board;
use crate::engine::run::observer::{Switch, SwitchKind};

fn board(workers: usize) -> Board {
    let board = Board::create().expect("memfd");
    board.begin_run(workers, 1);
    board
}

fn kinds(worker: &WorkerTimeline) -> Vec<(u64, u64, Activity, Option<usize>)> {
    worker.segments.iter().map(|s| (s.start_ns, s.end_ns, s.activity, s.cpu)).collect()
}

#[test]
fn events_become_contiguous_segments_and_an_open_one_ends_now() {
    let board = board(1);
    let ring = &board.slot(0).ring;
    ring.record(100, Activity::Idle, Some(0));
    ring.record(110, Activity::Running, Some(0));
    ring.record(150, Activity::Running, Some(1));
    let mut reader = TimelineReader::new(90, 1);
    reader.drain(&board, &mut [], 200);
    let worker = &reader.timeline().workers[0];
    assert!(worker.open);
    assert_eq!(
        kinds(worker),
        vec![
            (100, 110, Activity::Idle, Some(0)),
            (110, 150, Activity::Running, Some(0)),
            (150, 200, Activity::Running, Some(1)),
        ]
    );
    ring.record(260, Activity::LockWait, Some(1));
    ring.record(300, Activity::End, Some(1));
    reader.drain(&board, &mut [], 400);
    let worker = &reader.timeline().workers[0];
    assert!(!worker.open);
    assert_eq!(worker.segments[2].end_ns, 260);
    assert_eq!(worker.end_ns(), Some(300), "ends at its own end, not at the poll");
    assert_eq!(worker.time_in(Activity::Running), 150);
    assert_eq!(worker.activity_at(270), Some(Activity::LockWait));
    assert_eq!(worker.activity_at(300), None);
}

#[test]
fn a_worker_that_dies_without_an_end_is_closed_when_reaped_and_a_replacement_is_a_new_life() {
    let board = board(1);
    let ring = &board.slot(0).ring;
    board.slot(0).pid.store(41, std::sync::atomic::Ordering::Relaxed);
    ring.record(100, Activity::Idle, None);
    ring.record(120, Activity::Running, None);
    let mut reader = TimelineReader::new(0, 1);
    reader.drain(&board, &mut [], 130);
    reader.close(&board, &mut [], 0, 180);
    board.slot(0).pid.store(42, std::sync::atomic::Ordering::Relaxed);
    ring.record(190, Activity::Running, None);
    reader.drain(&board, &mut [], 200);
    assert_eq!(reader.timeline().workers.len(), 1, "events after a close belong to no life");
    reader.reopen(0);
    ring.record(210, Activity::Idle, None);
    ring.record(230, Activity::End, None);
    let timeline = reader.finish(&board, &mut [], 500);
    let lives: Vec<_> = timeline.lives(0).collect();
    assert_eq!(lives.len(), 2);
    assert_eq!((lives[0].pid, lives[0].end_ns()), (41, Some(180)));
    assert_eq!(kinds(lives[1]), vec![(210, 230, Activity::Idle, None)]);
    assert_eq!(lives[1].pid, 42);
}

#[test]
fn a_preemption_while_running_is_waiting_for_a_cpu_until_the_switch_back_in() {
    let board = board(1);
    let ring = &board.slot(0).ring;
    ring.record(100, Activity::Idle, Some(0));
    ring.record(110, Activity::Running, Some(0));
    ring.record(190, Activity::Blocked, Some(1));
    ring.record(220, Activity::Running, Some(1));
    let switch = |ns, kind, cpu| Switch { ns, kind, cpu };
    let mut switches = vec![vec![
        switch(150, SwitchKind::OutPreempted, 0),
        switch(170, SwitchKind::In, 1),
        switch(195, SwitchKind::OutVoluntary, 1),
        switch(215, SwitchKind::In, 1),
    ]];
    let mut reader = TimelineReader::new(90, 1);
    reader.drain(&board, &mut switches, 230);
    assert!(switches[0].is_empty(), "the timeline takes the switches");
    let worker = &reader.timeline().workers[0];
    assert_eq!(
        kinds(worker),
        vec![
            (100, 110, Activity::Idle, Some(0)),
            (110, 150, Activity::Running, Some(0)),
            (150, 170, Activity::WaitingForCpu, Some(0)),
            (170, 190, Activity::Running, Some(1)),
            (190, 220, Activity::Blocked, Some(1)),
            (220, 230, Activity::Running, Some(1)),
        ],
        "a voluntary switch leaves the worker's own state"
    );
    assert_eq!(worker.time_in(Activity::WaitingForCpu), 20);
}

#[test]
fn a_worker_preempted_while_waiting_for_the_lock_still_waits_for_the_lock() {
    let board = board(1);
    let ring = &board.slot(0).ring;
    ring.record(100, Activity::LockWait, Some(0));
    let mut switches = vec![vec![Switch { ns: 120, kind: SwitchKind::OutPreempted, cpu: 0 }]];
    let mut reader = TimelineReader::new(90, 1);
    reader.drain(&board, &mut switches, 130);
    ring.record(140, Activity::Running, Some(0));
    reader.drain(&board, &mut [vec![Switch { ns: 150, kind: SwitchKind::In, cpu: 0 }]], 160);
    assert_eq!(
        kinds(&reader.timeline().workers[0]),
        vec![
            (100, 140, Activity::LockWait, Some(0)),
            (140, 150, Activity::WaitingForCpu, Some(0)),
            (150, 160, Activity::Running, Some(0)),
        ]
    );
}

#[test]
fn missed_events_are_counted_and_the_segments_stay_contiguous() {
    let board = board(1);
    let ring = &board.slot(0).ring;
    let activities = [Activity::Running, Activity::Blocked];
    for step in 0..1000u64 {
        ring.record(step * 10, activities[(step % 2) as usize], Some(0));
    }
    let mut reader = TimelineReader::new(0, 1);
    reader.drain(&board, &mut [], 10_000);
    let worker = &reader.timeline().workers[0];
    assert!(worker.missed > 0);
    assert_eq!(worker.missed + worker.segments.len() as u64, 1000);
    assert!(worker.segments.windows(2).all(|pair| pair[0].end_ns == pair[1].start_ns));
}
