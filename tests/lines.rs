//! The workloads that talk (`data --transfer pipe`, `ipc`) on the real binary: every transport
//! carries every message, results match whatever the transfer, and a worker waiting on its
//! line still stops on Ctrl-C and pauses, leaving no process, descriptor or socket behind.

mod common;

use common::run_json;

use std::time::Duration;

use serde_json::Value;

#[test]
fn data_gives_the_sequential_result_under_every_model_and_transfer() {
    let mut checksums = Vec::new();
    let cases = [
        ("sequential", "fork", "inherit"),
        ("threads", "fork", "inherit"),
        ("processes", "fork", "inherit"),
        ("processes", "spawn", "inherit"),
        ("processes", "fork", "pipe"),
        ("processes", "spawn", "pipe"),
    ];
    for (model, start, transfer) in cases {
        let args = ["-w", "data", "-m", model, "-t", "8", "-s", "4", "--seed", "7", "--start", start];
        let (code, json) = run_json(&[&args[..], &["--transfer", transfer]].concat());
        let case = format!("{model} {start} {transfer}");
        assert_eq!(code, 0, "{case}: {json}");
        let metrics = &json["metrics"];
        assert_eq!(metrics["checksum"], metrics["expected_checksum"], "{case}");
        // Spawned workers that read in place share nothing but the board with the coordinator,
        // so their counts cannot be combined there; piped ones send them back.
        let combinable = start == "fork" || transfer == "pipe";
        let combined = if combinable { Value::Bool(true) } else { Value::Null };
        assert_eq!(metrics["histogram_matches"], combined, "{case}");
        let moved = metrics["bytes_transferred"].as_u64().expect("bytes_transferred");
        if transfer == "pipe" {
            assert!(moved > 4 << 20, "{case}: the whole dataset crosses the pipes, {moved} B did");
            assert!(metrics["transfer_seconds"].as_f64().is_some_and(|s| s > 0.0), "{case}");
        } else {
            assert_eq!(moved, 0, "{case}");
        }
        checksums.push(metrics["checksum"].clone());
    }
    assert!(checksums.windows(2).all(|pair| pair[0] == pair[1]), "{checksums:?}");
}

#[test]
fn ipc_carries_every_round_trip_over_every_transport() {
    let cases = [
        ("threads", "channel", "fork"),
        ("sequential", "channel", "fork"),
        ("processes", "pipe", "fork"),
        ("processes", "socket", "fork"),
        ("processes", "shm", "fork"),
        ("processes", "pipe", "spawn"),
        ("processes", "shm", "spawn"),
    ];
    for (model, transport, start) in cases {
        let (code, json) =
            run_json(&["-w", "ipc", "-m", model, "-t", "4", "-s", "2000", "--transport", transport, "--start", start]);
        let case = format!("{model} {transport} {start}");
        assert_eq!(code, 0, "{case}: {json}");
        let metrics = &json["metrics"];
        assert_eq!(metrics["transport"], transport, "{case}");
        assert_eq!(metrics["round_trips"], 8000, "{case}");
        assert_eq!(metrics["checksum"], metrics["expected_checksum"], "{case}");
        // Every round trip but the first of each task is timed by the coordinator.
        assert_eq!(metrics["timed_round_trips"], 8000 - 4, "{case}");
        let p50 = metrics["p50_us"].as_f64().expect("p50_us");
        let p99 = metrics["p99_us"].as_f64().expect("p99_us");
        assert!(p50 > 0.0 && p99 >= p50, "{case}: p50 {p50} p99 {p99}");
    }
}

#[test]
fn the_transport_defaults_to_what_the_model_can_use() {
    let (_, threads) = run_json(&["-w", "ipc", "-m", "threads", "-n", "2", "-t", "2", "-s", "100"]);
    assert_eq!(threads["metrics"]["transport"], "channel");
    let (_, processes) = run_json(&["-w", "ipc", "-m", "processes", "-n", "2", "-t", "2", "-s", "100"]);
    assert_eq!(processes["metrics"]["transport"], "pipe");
}

/// Starts a run that never ends on its own, waits until its workers are exchanging messages,
/// sends SIGINT, returns the exit status and the report.
fn interrupt_while_talking(args: &[&str]) -> (i32, Value) {
    let tag = common::new_tag();
    let mut full = vec!["run", "-f", "json", "--grace", "60s", "-n", "2", "-t", "100000"];
    full.extend_from_slice(args);
    let child = common::command(&tag, &full).stdout(std::process::Stdio::piped()).spawn().expect("start");
    let child = common::Reaped::new(child);
    let pid = child.id();
    // The coordinator threads exist once every line is open: two workers, two coordinators.
    // Generous: preparing 1 GiB of data in a debug build on a loaded machine takes a while.
    let talking = common::wait_until(Duration::from_secs(120), || {
        std::fs::read_dir(format!("/proc/{pid}/task"))
            .map(|tasks| {
                tasks
                    .filter_map(Result::ok)
                    .filter(|task| {
                        std::fs::read_to_string(task.path().join("comm")).is_ok_and(|c| c.starts_with("coordinator"))
                    })
                    .count()
            })
            .is_ok_and(|count| count == 2)
    });
    assert!(talking, "{args:?}: the coordinators never started");
    child.interrupt_for_report(libc::SIGINT, &tag)
}

#[test]
fn a_worker_waiting_on_its_line_still_stops_on_ctrl_c() {
    let cases: &[&[&str]] = &[
        &["-w", "ipc", "-m", "threads"],
        &["-w", "ipc", "-m", "processes", "--transport", "pipe"],
        &["-w", "ipc", "-m", "processes", "--transport", "socket"],
        &["-w", "ipc", "-m", "processes", "--transport", "shm"],
        &["-w", "ipc", "-m", "processes", "--transport", "shm", "--start", "spawn"],
        &["-w", "data", "-m", "processes", "--transfer", "pipe", "-s", "1024"],
    ];
    for args in cases {
        let (code, json) = interrupt_while_talking(args);
        assert_eq!(code, 130, "{args:?}: {json}");
        assert_eq!(json["outcome"], "cancelled", "{args:?}");
        // Stopped by the stop flag, well inside a 60 s grace period: nobody had to be killed.
        for worker in json["workers"].as_array().expect("workers") {
            assert_eq!(worker["outcome"], "cancelled", "{args:?}: {worker}");
        }
    }
}

fn process_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.split_whitespace().next()?.chars().next()
}

#[test]
fn a_paused_run_talks_no_more_until_it_resumes() {
    use concur_tui::engine::{Engine, Model, Phase, PlanRequest};
    use concur_tui::workload::by_name;

    let engine = Engine::new().expect("board");
    for (model, transport) in [(Model::Threads, "channel"), (Model::Processes, "socket")] {
        let plan = PlanRequest {
            workers: Some(2),
            tasks: 4,
            size: Some(20_000),
            ..PlanRequest::new(by_name("ipc").expect("ipc"), model)
        }
        .with_option("transport", transport)
        .validate()
        .expect("plan");
        let mut run = engine.start(&plan).expect("start");
        let progress = |run: &concur_tui::engine::Run| {
            (0..2).map(|i| run.board().slot(i).units_done.load(std::sync::atomic::Ordering::Relaxed)).sum::<u64>()
                + run.tasks_done() * 20_000
        };
        assert!(common::wait_until(Duration::from_secs(20), || progress(&run) > 0), "{transport}: no progress");
        run.set_paused(true);
        // A thread stops at its next checkpoint; a process is stopped by SIGSTOP.
        let stopped = common::wait_until(Duration::from_secs(20), || match model {
            Model::Processes => run.live_pids().iter().all(|pid| process_state(pid.as_raw()) == Some('T')),
            _ => (0..2).all(|i| run.board().slot(i).state() == concur_tui::board::SlotState::Paused),
        });
        assert!(stopped, "{transport}: the workers never paused");
        let paused_at = progress(&run);
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(progress(&run), paused_at, "{transport}: progress while paused");
        run.set_paused(false);
        assert!(
            common::wait_until(Duration::from_secs(60), || run.poll() == Phase::Ended),
            "{transport}: never finished after resuming"
        );
        let report = run.finish();
        assert_eq!(report.tasks_done, 4, "{transport}");
        assert_eq!(report.checksum_ok(), Some(true), "{transport}");
    }
}

#[test]
fn a_replaced_worker_gets_a_line_of_its_own() {
    use concur_tui::engine::{Engine, Model, Phase, PlanRequest, Schedule};
    use concur_tui::workload::by_name;

    let engine = Engine::new().expect("board");
    for transport in ["socket", "shm"] {
        let plan = PlanRequest {
            workers: Some(2),
            tasks: 6,
            size: Some(20_000),
            schedule: Schedule::Dynamic,
            respawn: true,
            ..PlanRequest::new(by_name("ipc").expect("ipc"), Model::Processes)
        }
        .with_option("transport", transport)
        .validate()
        .expect("plan");
        let mut run = engine.start(&plan).expect("start");
        let talking = || run.board().slot(0).units_done.load(std::sync::atomic::Ordering::Relaxed) > 0;
        assert!(common::wait_until(Duration::from_secs(20), talking), "{transport}: worker 0 never talked");
        assert!(run.inject_crash(0), "{transport}: worker 0 was not running");
        assert!(
            common::wait_until(Duration::from_secs(60), || run.poll() == Phase::Ended),
            "{transport}: the run never ended"
        );
        let report = run.finish();
        assert_eq!(report.replaced.len(), 1, "{transport}");
        // The replacement redid the lost task over its own line: every round trip, once.
        assert_eq!(report.tasks_done, 6, "{transport}");
        assert_eq!(report.checksum_ok(), Some(true), "{transport}");
    }
}
