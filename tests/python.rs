//! `--runtime python` end to end: the real binary running the machine's `python3` in each of
//! Python's models, on the shared board, stopped by signals with nothing left behind.
//! These tests need `python3` on PATH (every machine the lab targets has one).

mod common;

use std::time::Duration;

use common::{command, new_tag, python_dirs_of, run, run_json, tagged_processes, wait_until, Reaped};
use serde_json::Value;

fn python_run(args: &[&str]) -> (i32, Value) {
    let mut full = vec!["--runtime", "python"];
    full.extend_from_slice(args);
    run_json(&full)
}

fn assert_every_task_once(what: &str, json: &Value, tasks: u64) {
    assert_eq!(json["outcome"], "finished", "{what}: {json}");
    assert_eq!(json["tasks_done"], tasks, "{what}");
    assert_eq!(json["metrics"]["checksum"], json["metrics"]["expected_checksum"], "{what}");
    let workers = json["workers"].as_array().expect("workers");
    assert!(workers.iter().all(|w| w["outcome"] == "done"), "{what}: {json}");
    let done: u64 = workers.iter().map(|w| w["tasks_done"].as_u64().expect("tasks_done")).sum();
    assert_eq!(done, tasks, "{what}");
}

/// Each of Python's models, as a Python programmer writes it, runs each task exactly once: the
/// checksum of the twin's digests is the native workload's closed form.
#[test]
fn every_python_model_runs_every_task_exactly_once() {
    let models: [&[&str]; 8] = [
        &["-m", "sequential"],
        &["-m", "threads", "-n", "3"],
        &["-m", "processes", "-n", "3", "--start", "fork"],
        &["-m", "processes", "-n", "2", "--start", "spawn"],
        &["-m", "processes", "-n", "2", "--start", "forkserver"],
        &["-m", "threads", "-n", "3", "--schedule", "dynamic", "--chunk", "2"],
        &["-m", "processes", "-n", "2", "--schedule", "dynamic", "--chunk", "3", "--start", "spawn"],
        &["-m", "async", "-n", "3"],
    ];
    for model in models {
        for workload in [["-w", "cpu", "-s", "20000"], ["-w", "io", "-s", "15"]] {
            let mut args = vec!["-t", "7"];
            args.extend_from_slice(&workload);
            args.extend_from_slice(model);
            let (code, json) = python_run(&args);
            let what = args.join(" ");
            assert_eq!(code, 0, "{what}: {json}");
            assert_every_task_once(&what, &json, 7);
            assert_eq!(json["plan"]["runtime"]["kind"], "python", "{what}");
        }
    }
}

#[test]
fn a_run_names_its_interpreter_and_its_workers_are_python_threads_and_processes() {
    let (code, json) = python_run(&["-w", "cpu", "-s", "20000", "-m", "threads", "-n", "2", "-t", "4"]);
    assert_eq!(code, 0, "{json}");
    let runtime = &json["plan"]["runtime"];
    assert_eq!(runtime["implementation"], "CPython");
    assert!(runtime["version"].as_str().is_some_and(|v| v.starts_with("3.")), "{runtime}");
    assert!(runtime["interpreter"].as_str().is_some_and(|label| label.starts_with("CPython 3.")), "{runtime}");
    let workers = json["workers"].as_array().expect("workers");
    // Threads of one process, each its own OS thread.
    assert_eq!(workers[0]["pid"], workers[1]["pid"]);
    assert_ne!(workers[0]["tid"], workers[1]["tid"]);
    let (code, json) = python_run(&["-w", "cpu", "-s", "20000", "-m", "processes", "-n", "2", "-t", "4"]);
    assert_eq!(code, 0, "{json}");
    let workers = json["workers"].as_array().expect("workers");
    assert_ne!(workers[0]["pid"], workers[1]["pid"], "processes of their own");
    let table = run(&["run", "--runtime", "python", "-w", "io", "-s", "5", "-t", "2", "-n", "2"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.lines().next().is_some_and(|line| line.contains("CPython 3.") && line.contains("GIL")), "{text}");
}

/// True once the run's Python host runs its workers (not merely the interpreter being asked its
/// version before the run, when the program has not taken its signals yet).
fn host_started(tag: &str) -> bool {
    tagged_processes(tag).iter().any(|pid| {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|cmdline| cmdline.windows(9).any(|window| window == b"runner.py"))
    })
}

/// Ctrl-C (SIGINT) and SIGTERM stop Python workers at their next checkpoint, in every kind of
/// process Python makes: no traceback, no stray process (forkserver and resource_tracker
/// included), no directory left.
#[test]
fn a_signal_stops_python_workers_and_leaves_nothing_behind() {
    let cases: [(&[&str], i32); 3] = [
        (&["-m", "threads", "-n", "4"], libc::SIGINT),
        (&["-m", "processes", "-n", "3", "--start", "forkserver"], libc::SIGINT),
        (&["-m", "processes", "-n", "2", "--schedule", "dynamic", "--start", "spawn"], libc::SIGTERM),
    ];
    for (model, signal) in cases {
        let tag = new_tag();
        let mut args = vec!["run", "--format", "json", "--runtime", "python", "-w", "io", "-s", "100", "-t", "400"];
        args.extend_from_slice(model);
        let child = Reaped::new(command(&tag, &args).stdout(std::process::Stdio::piped()).spawn().expect("start"));
        let pid = child.id();
        // Started: Python's workers (the host and more) are running.
        assert!(
            wait_until(Duration::from_secs(30), || host_started(&tag)),
            "{model:?}: the Python workers never started"
        );
        std::thread::sleep(Duration::from_millis(300));
        child.signal(signal);
        let output = child.wait_with_output();
        let json: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
            panic!("{model:?}: no report ({error}): {}", String::from_utf8_lossy(&output.stderr))
        });
        assert_eq!(output.status.code(), Some(128 + signal), "{model:?}: {json}");
        assert_eq!(json["outcome"], "cancelled", "{model:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("Traceback") && !stderr.contains("KeyboardInterrupt"), "{stderr}");
        common::assert_no_leftovers(&tag);
        assert!(python_dirs_of(pid).is_empty(), "{model:?}: {:?}", python_dirs_of(pid));
    }
}

/// `kill -9` of the program: the host sees its parent gone and takes its whole group along.
#[test]
fn killing_the_program_leaves_no_python_process() {
    for model in [["-m", "processes", "--start", "forkserver"], ["-m", "threads", "--start", "fork"]] {
        let tag = new_tag();
        let mut args = vec!["run", "--runtime", "python", "-w", "io", "-s", "100", "-t", "400", "-n", "3"];
        args.extend_from_slice(&model);
        let child = Reaped::new(command(&tag, &args).stdout(std::process::Stdio::null()).spawn().expect("start"));
        let pid = child.id();
        assert!(wait_until(Duration::from_secs(30), || host_started(&tag)), "never started");
        child.signal(libc::SIGKILL);
        drop(child);
        assert!(
            wait_until(Duration::from_secs(10), || tagged_processes(&tag).is_empty()),
            "{model:?}: left {:?}",
            tagged_processes(&tag)
        );
        assert!(wait_until(Duration::from_secs(5), || python_dirs_of(pid).is_empty()), "{model:?}: directory left");
    }
}

/// What cannot run under Python is refused in one line, exit 2, before anything starts.
#[test]
fn what_python_cannot_run_is_refused_in_one_line() {
    let cases: [(&[&str], &str); 5] = [
        (&["--python", "/nonexistent/python3"], "cannot run /nonexistent/python3"),
        (&["--python", "python-not-on-path"], "no Python interpreter 'python-not-on-path' on PATH"),
        (&["--runtime", "python", "-w", "data"], "has no Python twin"),
        (&["--runtime", "python", "--gil"], "drop --gil"),
        (&["--start", "forkserver", "-m", "processes"], "--start forkserver is multiprocessing's"),
    ];
    for (args, expected) in cases {
        let mut full = vec!["run"];
        full.extend_from_slice(args);
        let output = run(&full);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

/// A free-threaded build (`python3.13t` on PATH) runs CPython threads with the GIL off: the
/// report says so and no thread waits for a lock. Machines without one skip it, and say so:
/// `cargo test --test python -- --ignored` runs it where one is installed.
#[test]
#[ignore = "needs a free-threaded python3.13t on PATH; run with -- --ignored where one is installed"]
fn a_free_threaded_interpreter_runs_threads_without_the_gil() {
    let (code, json) =
        run_json(&["--python", "python3.13t", "-w", "cpu", "-s", "200000", "-m", "threads", "-n", "2", "-t", "4"]);
    assert_eq!(code, 0, "is python3.13t on PATH? {json}");
    assert_eq!(json["plan"]["runtime"]["free_threaded"], true, "{json}");
    assert_eq!(json["plan"]["runtime"]["gil"], false, "{json}");
    assert_every_task_once("free-threaded threads", &json, 4);
    let waited: f64 = json["workers"]
        .as_array()
        .expect("workers")
        .iter()
        .map(|w| w["lock_wait_seconds"].as_f64().unwrap_or(1.0))
        .sum();
    assert!(waited < 1e-9, "no GIL to wait for: {json}");
}
