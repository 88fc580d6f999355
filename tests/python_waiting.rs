//! The waiting side under `--runtime python`: the twins of `net` (urllib, and asyncio streams,
//! against the run's own loopback server), `disk` (files in the program's directory) and
//! `latency` (a responder thread beside computing ones, answering the program's requests),
//! each in the models where its lesson applies, run end to end by the real binary on the
//! machine's `python3`. Behaviour and invariants only, never speed. Each run gets a `TMPDIR` of
//! its own, which must be empty after it: no runner directory, no disk directory, no file.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::{assert_no_leftovers, command, new_tag, wait_until, Reaped};
use serde_json::Value;

/// A directory of the test's own to serve as `TMPDIR`, removed when dropped.
struct TempRoot(PathBuf);

impl TempRoot {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("concur-tui-python-waiting-{}", new_tag()));
        std::fs::create_dir_all(&path).expect("make the test's TMPDIR");
        Self(path)
    }

    /// Whatever a run left in it.
    fn entries(&self) -> Vec<PathBuf> {
        std::fs::read_dir(&self.0)
            .map(|entries| entries.filter_map(Result::ok).map(|entry| entry.path()).collect())
            .unwrap_or_default()
    }

    /// True once a disk task's file exists in some directory of it.
    fn has_task_file(&self) -> bool {
        self.entries().iter().any(|dir| {
            std::fs::read_dir(dir).is_ok_and(|files| {
                files.filter_map(Result::ok).any(|file| file.file_name().to_string_lossy().starts_with("task-"))
            })
        })
    }
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts `run --runtime python ARGS` with `TMPDIR` set to `root`.
fn start_in(root: &Path, tag: &str, args: &[&str]) -> Reaped {
    let child = command(tag, &[&["run", "--format", "json", "--runtime", "python"][..], args].concat())
        .env("TMPDIR", root)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary");
    Reaped::new(child)
}

/// Runs `run --runtime python ARGS` to its end in a `TMPDIR` of its own; checks that it left
/// no process and nothing in that directory, and returns its exit code and report.
fn python_run(args: &[&str]) -> (i32, Value) {
    let root = TempRoot::new();
    let tag = new_tag();
    let output = start_in(&root.0, &tag, args).wait_with_output();
    assert_no_leftovers(&tag);
    let json: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("{args:?}: no report ({error}): {}", String::from_utf8_lossy(&output.stderr)));
    assert_eq!(root.entries(), Vec::<PathBuf>::new(), "{args:?}: left in TMPDIR");
    (output.status.code().expect("exit code"), json)
}

fn metric(json: &Value, name: &str) -> f64 {
    json["metrics"][name].as_f64().unwrap_or_else(|| panic!("no {name}: {json}"))
}

/// Finished, every worker done, every task once: the twin's digests add up to the native
/// workload's checksum.
fn assert_every_task_once(what: &str, json: &Value, tasks: u64) {
    assert_eq!(json["outcome"], "finished", "{what}: {json}");
    assert_eq!(json["tasks_done"], tasks, "{what}");
    assert_eq!(json["metrics"]["checksum"], json["metrics"]["expected_checksum"], "{what}");
    let workers = json["workers"].as_array().expect("workers");
    assert!(workers.iter().all(|worker| worker["outcome"] == "done"), "{what}: {json}");
}

/// Each model's workers download every body from the program's server and check it: all
/// requests answered, the bytes and times in the cells the native metrics read.
#[test]
fn net_downloads_every_body_in_threads_processes_and_on_the_loop() {
    let models: [&[&str]; 5] = [
        &["-m", "threads", "-n", "3"],
        &["-m", "processes", "-n", "2"],
        &["-m", "processes", "-n", "2", "--start", "spawn", "--schedule", "dynamic"],
        &["-m", "processes", "-n", "2", "--start", "forkserver"],
        &["-m", "async", "-n", "3"],
    ];
    for model in models {
        let args = [&["-w", "net", "-s", "3", "-t", "5", "--server-delay", "5"][..], model].concat();
        let what = args.join(" ");
        let (code, json) = python_run(&args);
        assert_eq!(code, 0, "{what}: {json}");
        assert_every_task_once(&what, &json, 5);
        assert_eq!(json["metrics"]["requests"], 5, "{what}");
        assert_eq!(json["metrics"]["bytes"], 5 * 3 * 1024, "{what}");
        // Each request waited for the server's delay at least.
        assert!(metric(&json, "mean_request_ms") >= 5.0, "{what}: {json}");
    }
}

/// Each model writes, fsyncs, reads back and checks its files in the program's directory, and
/// removes them: the write and read times land in the native metrics, nothing is left.
#[test]
fn disk_writes_reads_back_and_removes_every_file() {
    let models: [&[&str]; 5] = [
        &["-m", "sequential"],
        &["-m", "threads", "-n", "2"],
        &["-m", "processes", "-n", "2"],
        &["-m", "processes", "-n", "2", "--start", "spawn"],
        &["-m", "async", "-n", "2"],
    ];
    for model in models {
        let args = [&["-w", "disk", "-s", "1", "-t", "4"][..], model].concat();
        let what = args.join(" ");
        let (code, json) = python_run(&args);
        assert_eq!(code, 0, "{what}: {json}");
        assert_every_task_once(&what, &json, 4);
        assert_eq!(json["metrics"]["bytes_read"], 4 << 20, "{what}");
        assert!(metric(&json, "write_seconds") > 0.0 && metric(&json, "read_seconds") > 0.0, "{what}: {json}");
        assert!(json["metrics"]["filesystem"].as_str().is_some_and(|fs| !fs.is_empty()), "{what}");
    }
}

/// Ctrl-C in the middle of Python's writes: the workers stop, and neither the runner's
/// directory nor disk's (with its half-written files) outlives the run.
#[test]
fn disk_leaves_nothing_after_ctrl_c() {
    for model in [["-m", "threads"], ["-m", "processes"]] {
        let root = TempRoot::new();
        let tag = new_tag();
        let args = [&["-w", "disk", "-s", "8", "-t", "1000", "-n", "2"][..], &model].concat();
        let program = start_in(&root.0, &tag, &args);
        assert!(wait_until(Duration::from_secs(30), || root.has_task_file()), "{model:?}: no task file appeared");
        program.signal(libc::SIGINT);
        let output = program.wait_with_output();
        assert_eq!(output.status.code(), Some(130), "{model:?}: {}", String::from_utf8_lossy(&output.stderr));
        assert_no_leftovers(&tag);
        assert_eq!(root.entries(), Vec::<PathBuf>::new(), "{model:?}: left after Ctrl-C");
    }
}

/// The responder answers the program's requests beside computing workers (threads: one GIL;
/// processes: one each) and alone (sequential), over the same pipe as natively, whatever start
/// method made its process: its figures are present and sane.
#[test]
fn latency_answers_requests_beside_computing_workers() {
    // With each model, whether a worker computes beside the responder.
    let models: [(&[&str], bool); 5] = [
        (&["-m", "sequential"], false),
        (&["-m", "threads", "-n", "2"], true),
        (&["-m", "processes", "-n", "2"], true),
        (&["-m", "processes", "-n", "2", "--start", "spawn"], true),
        (&["-m", "processes", "-n", "2", "--start", "forkserver"], true),
    ];
    for (model, computing) in models {
        // Tasks end at instants shared by every worker, from the first one's start: the
        // responder's three tasks leave it 900 ms to begin answering however late its
        // interpreter starts.
        let args = [&["-w", "latency", "-s", "300", "-t", "6"][..], model].concat();
        let what = args.join(" ");
        let (code, json) = python_run(&args);
        assert_eq!(code, 0, "{what}: {json}");
        assert_every_task_once(&what, &json, 6);
        assert!(metric(&json, "requests") >= 1.0, "{what}: the responder never answered: {json}");
        assert!(metric(&json, "requests_per_second") > 0.0, "{what}");
        assert!(metric(&json, "p99_us") >= metric(&json, "p50_us"), "{what}: {json}");
        assert!(metric(&json, "p50_us") > 0.0, "{what}");
        assert_eq!(json["metrics"]["computed_per_second"].is_number(), computing, "{what}: {json}");
    }
}

/// No asyncio twin for latency: refused in one line, exit 2, before anything starts.
#[test]
fn latency_on_the_loop_is_refused_in_one_line() {
    let output = common::run(&["run", "--runtime", "python", "-w", "latency", "-m", "async"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("has no asyncio version"), "{stderr}");
}

/// True once the run's Python host runs its workers (see tests/python.rs).
fn host_started(tag: &str) -> bool {
    common::tagged_processes(tag).iter().any(|pid| {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|cmdline| cmdline.windows(9).any(|window| window == b"runner.py"))
    })
}

/// Ctrl-C while Python workers wait for a slow server, or while the responder waits on its
/// line: each leaves its wait at the stop (the server answers 503, the line's wait is cut), so
/// every worker ends cancelled, none terminated after the grace period.
#[test]
fn a_stop_cuts_python_waits_for_the_server_and_the_line() {
    let cases: [&[&str]; 4] = [
        &["-w", "net", "--server-delay", "10000", "-m", "threads", "-n", "3"],
        &["-w", "net", "--server-delay", "10000", "-m", "async", "-n", "3"],
        &["-w", "latency", "-s", "60000", "-m", "threads", "-n", "2"],
        &["-w", "latency", "-s", "60000", "-m", "processes", "-n", "2", "--start", "spawn"],
    ];
    for case in cases {
        let root = TempRoot::new();
        let tag = new_tag();
        let args = [case, &["-t", "100", "--grace", "5s"]].concat();
        let program = start_in(&root.0, &tag, &args);
        assert!(wait_until(Duration::from_secs(30), || host_started(&tag)), "{case:?}: never started");
        std::thread::sleep(Duration::from_millis(500));
        let (code, json) = program.interrupt_for_report(libc::SIGINT, &tag);
        assert_eq!(code, 130, "{case:?}: {json}");
        assert_eq!(json["outcome"], "cancelled", "{case:?}");
        let workers = json["workers"].as_array().expect("workers");
        assert!(workers.iter().all(|worker| worker["outcome"] == "cancelled"), "{case:?}: {json}");
        assert_eq!(root.entries(), Vec::<PathBuf>::new(), "{case:?}: left after Ctrl-C");
    }
}
