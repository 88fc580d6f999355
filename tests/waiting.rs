//! The waiting side end to end: `net` against its own HTTP server, and `--model async` (one
//! event-loop thread holding every worker as a task), with the real binary and the engine.

mod common;

use std::time::Duration;

use common::{command, new_tag, run, run_json, wait_until, Reaped};
use concur_tui::engine::{Engine, Model, Phase, PlanRequest};
use concur_tui::workload::by_name;
use serde_json::Value;

fn workers(json: &Value) -> &Vec<Value> {
    json["workers"].as_array().expect("workers array")
}

/// The run finished, every task ran once and every body (or wait) checked out.
fn assert_all_done(json: &Value, tasks: u64) {
    assert_eq!(json["outcome"], "finished", "{json}");
    assert_eq!(json["tasks_done"], tasks, "{json}");
    assert_eq!(json["metrics"]["checksum"], json["metrics"]["expected_checksum"], "{json}");
    assert!(workers(json).iter().all(|w| w["outcome"] == "done"), "{json}");
}

#[test]
fn net_downloads_and_checks_every_body_on_threads_processes_and_async() {
    for model in ["threads", "processes", "async", "sequential"] {
        let workers_arg = if model == "sequential" { "1" } else { "8" };
        let args = ["-w", "net", "-m", model, "-n", workers_arg, "-t", "16", "-s", "16", "--server-delay", "20"];
        let (code, json) = run_json(&args);
        assert_eq!(code, 0, "{model}: {json}");
        assert_all_done(&json, 16);
        assert_eq!(json["metrics"]["bytes"], 16 * 16 * 1024, "{model}: {json}");
        assert_eq!(json["metrics"]["requests"], 16, "{model}");
        assert_eq!(json["metrics"]["server_delay_ms"], 20, "{model}");
        // Every request waited for the server's delay at least.
        assert!(json["metrics"]["mean_request_ms"].as_f64().expect("mean") >= 20.0, "{model}: {json}");
    }
}

#[test]
fn async_runs_every_worker_as_a_task_of_one_thread() {
    for workload in ["io", "net", "cpu", "disk", "throttle"] {
        let size = match workload {
            "io" => "20",
            "net" => "8",
            "disk" => "1",
            "throttle" => "5",
            _ => "2000000",
        };
        let (code, json) = run_json(&["-w", workload, "-m", "async", "-n", "6", "-t", "12", "-s", size]);
        assert_eq!(code, 0, "{workload}: {json}");
        assert_all_done(&json, 12);
        let rows = workers(&json);
        assert_eq!(rows.len(), 6, "{workload}: one row per task");
        let first = (&rows[0]["pid"], &rows[0]["tid"]);
        assert!(rows.iter().all(|w| (&w["pid"], &w["tid"]) == first), "{workload}: not one thread: {json}");
        assert!(rows.iter().all(|w| w["tasks_done"] == 2), "{workload}: {json}");
    }
}

#[test]
fn async_cpu_tasks_take_turns_on_one_thread() {
    // Four tasks that compute: the loop's one thread runs them in turns, so together they use
    // no more CPU than that thread had (each task's CPU time is its own, never the thread's
    // whole), and each waits for the thread while another computes.
    let (code, json) = run_json(&["-w", "cpu", "-m", "async", "-n", "4", "-t", "4", "-s", "60000000"]);
    assert_eq!(code, 0, "{json}");
    assert_all_done(&json, 4);
    let wall = json["wall_seconds"].as_f64().expect("wall");
    let cpu: f64 = workers(&json).iter().map(|w| w["cpu_seconds"].as_f64().expect("cpu")).sum();
    assert!(cpu <= wall * 1.05 + 0.01, "one thread used more CPU than its wall time: {cpu} > {wall}");
    assert!(workers(&json).iter().all(|w| w["cpu_seconds"].as_f64().expect("cpu") > 0.0), "{json}");
    let waited = workers(&json).iter().filter(|w| w["lock_wait_seconds"].as_f64().expect("wait") > 0.0).count();
    assert!(waited >= 3, "tasks did not take turns on the thread: {json}");
}

/// Starts a net run whose server answers after 8 s, waits for its downloads to be under way,
/// interrupts it with SIGINT and returns the exit code and the report.
fn interrupt_a_download(model: &str) -> (i32, Value) {
    let tag = new_tag();
    let args = [
        "run",
        "-f",
        "json",
        "-w",
        "net",
        "-m",
        model,
        "-n",
        "4",
        "-t",
        "8",
        "--server-delay",
        "8000",
        "--grace",
        "3s",
    ];
    let child = command(&tag, &args).stdout(std::process::Stdio::piped()).spawn().expect("start");
    let child = Reaped::new(child);
    let pid = child.id();
    let thread_named = |name: &str| {
        std::fs::read_dir(format!("/proc/{pid}/task")).is_ok_and(|tasks| {
            tasks
                .filter_map(Result::ok)
                .any(|task| std::fs::read_to_string(task.path().join("comm")).is_ok_and(|comm| comm.trim_end() == name))
        })
    };
    let worker = match model {
        "async" => "event-loop",
        "threads" => "worker-3",
        _ => "net-server",
    };
    assert!(wait_until(Duration::from_secs(20), || thread_named("net-server") && thread_named(worker)), "{model}");
    // The requests are sent well within this, and answered only after 8 s.
    std::thread::sleep(Duration::from_millis(300));
    child.interrupt_for_report(libc::SIGINT, &tag)
}

#[test]
fn ctrl_c_during_downloads_cancels_every_worker_and_leaves_nothing() {
    for model in ["threads", "processes", "async"] {
        let (code, json) = interrupt_a_download(model);
        assert_eq!(code, 130, "{model}: {json}");
        assert_eq!(json["outcome"], "cancelled", "{model}: {json}");
        assert_eq!(json["tasks_done"], 0, "{model}: {json}");
        // Cancelled, not abandoned or killed: the server cut its 8 s delay short once the run
        // stopped, so every worker left its request well within the 3 s grace period.
        assert!(workers(&json).iter().all(|w| w["outcome"] == "cancelled"), "{model}: {json}");
    }
}

#[test]
fn the_async_model_pauses_and_stops_like_threads() {
    let engine = Engine::new().expect("board");
    let plan = PlanRequest { size: Some(40), ..plan_request_io() }.validate().expect("plan");
    let mut run = engine.start(&plan).expect("start");
    run.set_paused(true);
    let paused = wait_until(Duration::from_secs(10), || {
        run.poll();
        (0..3).all(|index| engine.board().slot(index).state() == concur_tui::board::SlotState::Paused)
    });
    assert!(paused, "the loop's tasks did not pause");
    let done_while_paused = run.tasks_done();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(run.tasks_done(), done_while_paused, "a paused task kept working");
    run.set_paused(false);
    run.wait(Duration::from_millis(10), |_| {});
    let report = run.finish();
    assert_eq!(report.tasks_done, 6);
    // A stop lands at the next await: the loop ends and its thread is joined.
    let plan = PlanRequest { size: Some(60_000), ..plan_request_io() }.validate().expect("plan");
    let mut run = engine.start(&plan).expect("start");
    assert!(
        wait_until(Duration::from_secs(10), || run.board().slot(2).tid.load(std::sync::atomic::Ordering::Relaxed) != 0)
    );
    run.request_stop(concur_tui::engine::StopReason::User);
    assert!(wait_until(Duration::from_secs(10), || run.poll() == Phase::Ended), "the loop did not stop");
    let report = run.finish();
    assert!(
        report.workers.iter().all(|w| w.outcome == concur_tui::engine::WorkerOutcome::Cancelled),
        "{:?}",
        report.workers
    );
}

fn plan_request_io() -> PlanRequest {
    PlanRequest { workers: Some(3), tasks: 6, ..PlanRequest::new(by_name("io").expect("io"), Model::Async) }
}

#[test]
fn bad_waiting_input_is_one_line_and_exit_2() {
    let cases: [(&[&str], &str); 6] = [
        (&["-w", "net", "--server-delay", "99999"], "--server-delay 99999"),
        (&["-w", "net", "--server-delay", "soon"], "--server-delay"),
        (&["-w", "net", "-s", "0"], "--size"),
        (&["-w", "data", "-m", "async"], "cannot run as tasks of one event loop"),
        (&["-w", "io", "-m", "async", "--gil"], "--gil"),
        (&["-w", "net", "-m", "processes", "--start", "spawn"], "--start fork"),
    ];
    for (args, expected) in cases {
        let mut full = vec!["run"];
        full.extend_from_slice(args);
        let output = run(&full);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?} printed a report");
    }
    // The refusal names every workload the loop can run, the waiting side's included.
    let refused = run(&["run", "-w", "latency", "-m", "async"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    for name in ["cpu", "io", "net", "disk", "throttle"] {
        assert!(stderr.contains(&format!(" {name}")), "{name} missing: {stderr}");
    }
}

#[test]
fn a_crash_injected_into_one_task_of_the_loop_ends_that_task_alone() {
    let engine = Engine::new().expect("board");
    let plan = PlanRequest { size: Some(30), ..plan_request_io() }.validate().expect("plan");
    let mut run = engine.start(&plan).expect("start");
    assert!(
        wait_until(Duration::from_secs(10), || run.board().slot(0).tid.load(std::sync::atomic::Ordering::Relaxed) != 0)
    );
    assert!(run.inject_crash(0), "the loop is running");
    run.wait(Duration::from_millis(10), |_| {});
    let report = run.finish();
    let outcomes: Vec<String> = report.workers.iter().map(|w| w.outcome.to_string()).collect();
    assert!(outcomes[0].contains("crash"), "{outcomes:?}");
    assert!(report.workers[1..].iter().all(|w| w.outcome == concur_tui::engine::WorkerOutcome::Done), "{outcomes:?}");
}

/// Threads of this process called `name`.
fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("procfs")
        .filter_map(Result::ok)
        .filter(|task| std::fs::read_to_string(task.path().join("comm")).is_ok_and(|comm| comm.trim_end() == name))
        .count()
}

#[test]
fn a_stopped_net_run_leaves_no_server_thread_behind() {
    let engine = Engine::new().expect("board");
    for model in [Model::Threads, Model::Async] {
        let plan = PlanRequest { workers: Some(4), tasks: 8, ..PlanRequest::new(by_name("net").expect("net"), model) }
            .with_option("server-delay", "8000")
            .validate()
            .expect("plan");
        let mut run = engine.start(&plan).expect("start");
        // A new thread names itself as it starts: give it a moment.
        let started = wait_until(Duration::from_secs(5), || threads_named("net-server") == 1);
        assert!(started, "{model}: the server starts with the run");
        std::thread::sleep(Duration::from_millis(200));
        run.request_stop(concur_tui::engine::StopReason::User);
        assert!(wait_until(Duration::from_secs(10), || run.poll() == Phase::Ended), "{model}: the run did not stop");
        let report = run.finish();
        assert!(report.workers.iter().all(|w| w.outcome == concur_tui::engine::WorkerOutcome::Cancelled), "{model}");
        // Joined by `finish`: its thread has left (its task entry may linger a moment).
        assert!(
            wait_until(Duration::from_secs(1), || threads_named("net-server") == 0),
            "{model}: the server thread is still alive"
        );
    }
}

#[test]
fn disk_on_the_loop_hands_file_calls_to_helpers_joined_with_the_run() {
    let engine = Engine::new().expect("board");
    let plan = PlanRequest {
        workers: Some(3),
        tasks: 6,
        size: Some(2),
        ..PlanRequest::new(by_name("disk").expect("disk"), Model::Async)
    }
    .validate()
    .expect("plan");
    let mut run = engine.start(&plan).expect("start");
    // An idle helper lingers for seconds, so one that made a file call is there to be seen.
    let mut helpers_seen = 0;
    run.wait(Duration::from_millis(10), |_| helpers_seen = helpers_seen.max(threads_named("loop-helper")));
    let report = run.finish();
    assert_eq!(report.tasks_done, 6);
    assert!(
        report.workers.iter().all(|w| w.outcome == concur_tui::engine::WorkerOutcome::Done),
        "{:?}",
        report.workers
    );
    assert!(helpers_seen > 0, "no file call went to a helper thread");
    // The loop's runtime joined its helpers before the loop's thread ended (a task entry may
    // linger a moment after its thread left).
    assert!(wait_until(Duration::from_secs(1), || threads_named("loop-helper") == 0), "a helper outlived the run");
}
