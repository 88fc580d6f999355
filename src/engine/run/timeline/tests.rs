//! The timeline from fixed rings and switches: lives, segments, and what the switches change.

use super::*;
use crate::board::Board;
use crate::engine::run::observer::{Switch, SwitchKind, SwitchNews};

fn board(workers: usize) -> Board {
    let board = Board::create().expect("memfd");
    board.begin_run(workers, 1);
    board
}

/// One poll: the rings, then the switches (`switches[index]`, a stream not marked as watched).
fn drain(reader: &mut TimelineReader, board: &Board, switches: Vec<Vec<Switch>>, now_ns: u64) {
    let mut news: Vec<SwitchNews> =
        switches.into_iter().map(|switches| SwitchNews { watched_ns: None, switches }).collect();
    reader.read_rings(board);
    reader.merge(board, &mut news, now_ns);
    assert!(news.iter().all(|news| news.switches.is_empty()), "the timeline takes the switches");
}

fn switch(ns: u64, kind: SwitchKind, cpu: usize) -> Switch {
    Switch { ns, kind, cpu }
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
    drain(&mut reader, &board, vec![], 200);
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
    drain(&mut reader, &board, vec![], 400);
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
    drain(&mut reader, &board, vec![], 130);
    reader.close(&board, &mut [], 0, 180);
    board.slot(0).pid.store(42, std::sync::atomic::Ordering::Relaxed);
    ring.record(190, Activity::Running, None);
    drain(&mut reader, &board, vec![], 200);
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
    let switches = vec![vec![
        switch(150, SwitchKind::OutPreempted, 0),
        switch(170, SwitchKind::In, 1),
        switch(195, SwitchKind::OutVoluntary, 1),
        switch(215, SwitchKind::In, 1),
    ]];
    let mut reader = TimelineReader::new(90, 1);
    drain(&mut reader, &board, switches, 230);
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
        "a voluntary switch leaves a waiting worker's own state"
    );
    assert_eq!(worker.time_in(Activity::WaitingForCpu), 20);
}

#[test]
fn a_worker_preempted_while_waiting_for_the_lock_still_waits_for_the_lock() {
    let board = board(1);
    let ring = &board.slot(0).ring;
    ring.record(100, Activity::LockWait, Some(0));
    let mut reader = TimelineReader::new(90, 1);
    drain(&mut reader, &board, vec![vec![switch(120, SwitchKind::OutPreempted, 0)]], 130);
    ring.record(140, Activity::Running, Some(0));
    drain(&mut reader, &board, vec![vec![switch(150, SwitchKind::In, 0)]], 160);
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
    drain(&mut reader, &board, vec![], 10_000);
    let worker = &reader.timeline().workers[0];
    assert!(worker.missed > 0);
    assert_eq!(worker.missed + worker.segments.len() as u64, 1000);
    assert!(worker.segments.windows(2).all(|pair| pair[0].end_ns == pair[1].start_ns));
}

#[test]
fn a_voluntary_switch_out_while_running_is_off_cpu_unless_the_life_names_its_cause() {
    for (meaning, shown) in
        [(VoluntarySwitchOut::OffCpu, Activity::OffCpu), (VoluntarySwitchOut::LockWait, Activity::LockWait)]
    {
        let board = board(1);
        let ring = &board.slot(0).ring;
        ring.record(100, Activity::Running, Some(0));
        let mut reader = TimelineReader::with_meanings(90, vec![meaning]);
        let switches = vec![vec![switch(120, SwitchKind::OutVoluntary, 0), switch(150, SwitchKind::In, 1)]];
        drain(&mut reader, &board, switches, 160);
        let life = &reader.timeline().workers[0];
        assert_eq!(
            kinds(life),
            vec![
                (100, 120, Activity::Running, Some(0)),
                (120, 150, shown, Some(0)),
                (150, 160, Activity::Running, Some(1))
            ]
        );
        assert_eq!(life.lock_waits, u64::from(shown == Activity::LockWait), "a lock wait counts as a hand-over");
    }
}

#[test]
fn a_process_stopped_by_the_engine_is_paused_while_off_its_cpu() {
    let board = board(1);
    board.slot(0).ring.record(100, Activity::Running, Some(0));
    let mut reader = TimelineReader::new(90, 1);
    reader.note_stopped(110, true);
    reader.note_stopped(140, false);
    let switches = vec![vec![switch(112, SwitchKind::OutVoluntary, 0), switch(145, SwitchKind::In, 0)]];
    drain(&mut reader, &board, switches, 150);
    assert_eq!(
        kinds(&reader.timeline().workers[0]),
        vec![
            (100, 112, Activity::Running, Some(0)),
            (112, 145, Activity::Paused, Some(0)),
            (145, 150, Activity::Running, Some(0)),
        ]
    );
}

#[test]
fn stretches_on_a_cpu_follow_the_switches_from_when_the_kernel_watched() {
    let board = board(1);
    let ring = &board.slot(0).ring;
    ring.record(100, Activity::Idle, Some(5));
    ring.record(105, Activity::Running, Some(5));
    let mut reader = TimelineReader::new(90, 1);
    reader.read_rings(&board);
    // The stream opened at 108; the thread was on cpu 1 until its first switch, at 120.
    let switches = vec![
        switch(120, SwitchKind::OutPreempted, 1),
        switch(130, SwitchKind::In, 0),
        switch(140, SwitchKind::OutVoluntary, 0),
        switch(150, SwitchKind::In, 1),
    ];
    reader.merge(&board, &mut [SwitchNews { watched_ns: Some(108), switches }], 170);
    let life = &reader.timeline().workers[0];
    assert_eq!(life.watched_from_ns, Some(108));
    let stretches: Vec<_> = life.on_cpu.iter().map(|s| (s.start_ns, s.end_ns, s.cpu)).collect();
    assert_eq!(stretches, vec![(108, 120, 1), (130, 140, 0), (150, 170, 1)], "the last one is open");
    assert_eq!(
        kinds(life),
        vec![
            (100, 105, Activity::Idle, Some(5)),
            (105, 120, Activity::Running, Some(5)),
            (120, 130, Activity::WaitingForCpu, Some(1)),
            (130, 140, Activity::Running, Some(0)),
            (140, 150, Activity::OffCpu, Some(0)),
            (150, 170, Activity::Running, Some(1)),
        ],
        "once watched, a segment's CPU is the kernel's"
    );
    // The worker ends on its CPU: the stretch ends with the life.
    ring.record(180, Activity::End, Some(1));
    let timeline = reader.finish(&board, &mut [], 200);
    assert_eq!(timeline.workers[0].on_cpu.last().map(|s| s.end_ns), Some(180));
}

#[test]
fn a_lost_switch_out_leaves_no_stretch_it_cannot_bound() {
    let board = board(1);
    board.slot(0).ring.record(100, Activity::Running, Some(0));
    let mut reader = TimelineReader::new(90, 1);
    // Between the two switches in, a full ring lost the switch out.
    let switches = vec![vec![switch(110, SwitchKind::In, 0), switch(150, SwitchKind::In, 1)]];
    drain(&mut reader, &board, switches, 160);
    let stretches: Vec<_> = reader.timeline().workers[0].on_cpu.iter().map(|s| (s.start_ns, s.end_ns, s.cpu)).collect();
    assert_eq!(stretches, vec![(150, 160, 1)]);
    assert_eq!(reader.timeline().workers[0].lost_switches, 1, "and says so: the trace's CPU tracks are partial");
}

#[test]
fn without_switches_a_life_is_unwatched_and_has_no_stretches() {
    let board = board(1);
    board.slot(0).ring.record(100, Activity::Running, Some(0));
    let mut reader = TimelineReader::new(90, 1);
    drain(&mut reader, &board, vec![], 160);
    let life = &reader.timeline().workers[0];
    assert_eq!((life.watched_from_ns, life.on_cpu.len()), (None, 0));
}
