//! The waiting side's claims on the real binary, as directions and invariants, never speeds:
//! `throttle` never lets more tasks through than its bucket and semaphore allow, whatever the
//! workers; `latency`'s answering thread is starved by the interpreter lock and not by
//! processes; `disk`'s private directory is gone after every way a run ends that the program
//! survives (on the event loop too), and the next run sweeps up after one it did not.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::{assert_no_leftovers, children_of, command, new_tag, run_json, wait_until, Reaped};
use serde_json::Value;

fn number(json: &Value, name: &str) -> f64 {
    json["metrics"][name].as_f64().unwrap_or_else(|| panic!("metrics.{name} missing: {json}"))
}

#[test]
fn throttle_never_passes_more_than_its_bucket_allows_with_threads_or_processes() {
    let (rate, burst, tasks) = (20.0, 2.0, 24.0);
    for (model, workers) in [("threads", "2"), ("threads", "8"), ("processes", "8")] {
        let args = [
            "-w",
            "throttle",
            "-m",
            model,
            "-n",
            workers,
            "-t",
            "24",
            "-s",
            "5",
            "--rate",
            "20",
            "--burst",
            "2",
            "--max-in-flight",
            "3",
        ];
        let (code, json) = run_json(&args);
        assert_eq!(code, 0, "{model} × {workers}: {json}");
        assert_eq!(json["tasks_done"], 24);
        // GCRA: over any span t at most burst + rate × t tokens come due, so 24 tasks need at
        // least (24 - burst) / rate seconds, however many workers ask.
        let wall = json["wall_seconds"].as_f64().expect("wall");
        assert!(tasks <= burst + (rate * wall).floor() + 1.0, "{model} × {workers}: 24 tasks in {wall} s");
        assert!(number(&json, "peak_in_flight") <= 3.0, "{json}");
        let waits = json["metrics"]["token_wait_seconds"].as_array().expect("token waits");
        assert_eq!(waits.len(), workers.parse::<usize>().expect("workers"));
        // Only the burst comes at once: the other 22 tasks waited for their token.
        assert!(waits.iter().filter_map(Value::as_f64).sum::<f64>() > 0.0, "{json}");
    }
}

/// Three `model` workers, nine tasks of 20 ms and one permit: never two at work at once.
fn assert_one_task_works_at_a_time(model: &str) {
    let args = ["-w", "throttle", "-m", model, "-n", "3", "-t", "9", "-s", "20"];
    let (code, json) =
        run_json(&[&args[..], &["--rate", "1000000", "--burst", "1000", "--max-in-flight", "1"]].concat());
    assert_eq!(code, 0, "{model}: {json}");
    assert_eq!(json["metrics"]["peak_in_flight"], 1, "{model}: {json}");
    // One at a time: nine tasks of 20 ms cannot overlap.
    assert!(json["wall_seconds"].as_f64().expect("wall") >= 9.0 * 0.020, "{model}: {json}");
}

#[test]
fn throttle_semaphore_lets_one_task_work_at_a_time() {
    assert_one_task_works_at_a_time("processes");
}

/// The permit of a worker killed while it works is given back: the other worker goes on and
/// the run ends by itself, where a POSIX semaphore would have kept it until Ctrl-C.
#[test]
fn throttle_a_worker_killed_holding_the_only_permit_does_not_keep_it() {
    let tag = new_tag();
    let args = ["run", "-w", "throttle", "-m", "processes", "-n", "2", "-t", "4", "-s", "1000"];
    let limits = ["--rate", "1000000", "--burst", "1000", "--max-in-flight", "1"];
    let child = command(&tag, &[&args[..], &limits[..]].concat())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary");
    let program = Reaped::new(child);
    // The holder works in a sleep; the other waits on the semaphore's futex.
    let working =
        |pid: &i32| std::fs::read_to_string(format!("/proc/{pid}/wchan")).is_ok_and(|w| w.contains("nanosleep"));
    let mut holder = None;
    let found = wait_until(Duration::from_secs(30), || {
        holder = children_of(program.id()).into_iter().find(working);
        holder.is_some()
    });
    assert!(found, "no worker ever held the permit");
    let holder = holder.unwrap_or_default();
    // SAFETY: kill with a pid and a signal number.
    unsafe { libc::kill(holder, libc::SIGKILL) };
    let ended = wait_until(Duration::from_secs(60), || !common::alive(program.id() as i32));
    if !ended {
        program.signal(libc::SIGINT);
    }
    let output = program.wait_with_output();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(ended, "the other worker waited for the dead one's permit:\n{stdout}");
    assert_eq!(output.status.code(), Some(1), "a killed worker fails the run:\n{stdout}");
    assert!(stdout.contains("SIGKILL"), "{stdout}");
    assert_no_leftovers(&tag);
}

#[test]
fn throttle_on_the_event_loop_holds_the_same_limits_on_one_thread() {
    let (rate, burst, tasks) = (50.0, 2.0, 30.0);
    let args =
        ["-w", "throttle", "-m", "async", "-n", "8", "-t", "30", "-s", "5", "--rate", "50", "--max-in-flight", "3"];
    let (code, json) = run_json(&args);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["tasks_done"], 30, "{json}");
    assert_eq!(json["metrics"]["checksum"], json["metrics"]["expected_checksum"], "{json}");
    let wall = json["wall_seconds"].as_f64().expect("wall");
    assert!(tasks <= burst + (rate * wall).floor() + 1.0, "30 tasks in {wall} s: {json}");
    assert!(number(&json, "peak_in_flight") <= 3.0, "{json}");
    let waits = json["metrics"]["token_wait_seconds"].as_array().expect("token waits");
    assert!(waits.iter().filter_map(Value::as_f64).sum::<f64>() > 0.0, "{json}");
    // Eight tasks of one loop: one process, one thread.
    let workers = json["workers"].as_array().expect("workers");
    assert_eq!(workers.len(), 8);
    let first = (&workers[0]["pid"], &workers[0]["tid"]);
    assert!(workers.iter().all(|w| (&w["pid"], &w["tid"]) == first), "not one thread: {json}");

    // One permit: the loop's tasks hand it on, never two at once.
    assert_one_task_works_at_a_time("async");
}

#[test]
fn throttle_refuses_bad_limits_in_one_line() {
    for bad in [["--rate", "0"], ["--max-in-flight", "2000000"], ["--burst", "x"]] {
        let output = common::run(&[&["run", "-w", "throttle", "-t", "1"][..], &bad[..]].concat());
        assert_eq!(output.status.code(), Some(2), "{bad:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{bad:?}: {stderr}");
        assert!(stderr.contains(bad[0]), "{bad:?}: {stderr}");
    }
}

/// `latency` with three workers (one answering, two computing), each task `millis` long.
fn latency(model: &str, lock: bool) -> Value {
    let mut args = vec!["-w", "latency", "-m", model, "-n", "3", "-t", "3", "-s", "800"];
    if lock {
        args.extend(["--gil", "--switch-interval", "20ms"]);
    }
    let (code, json) = run_json(&args);
    assert_eq!(code, 0, "{model} lock={lock}: {json}");
    json
}

#[test]
fn latency_the_lock_starves_the_answering_thread_but_not_a_process() {
    let threads = latency("threads", false);
    let threads_locked = latency("threads", true);
    let processes_locked = latency("processes", true);
    let rate = |json: &Value| number(json, "requests_per_second");
    // Under the lock the answering thread waits about a switch interval (20 ms) for every
    // answer: at most ~50 a second, while a pipe round trip alone takes tens of microseconds.
    // A factor of 5 leaves room for a machine busy enough to slow the unlocked runs tenfold.
    assert!(rate(&threads_locked) * 5.0 < rate(&threads), "{threads_locked}\n{threads}");
    assert!(rate(&threads_locked) * 5.0 < rate(&processes_locked), "{threads_locked}\n{processes_locked}");
    // The mechanism, not only its effect: the answering thread waited for the lock, while a
    // process has a lock of its own and never waits for it.
    let lock_wait = |json: &Value| json["workers"][0]["lock_wait_seconds"].as_f64().expect("lock wait");
    assert!(lock_wait(&threads_locked) > 0.0, "{threads_locked}");
    assert!(lock_wait(&processes_locked) == 0.0, "{processes_locked}");
    for json in [&threads, &threads_locked, &processes_locked] {
        assert!(number(json, "p99_us") >= number(json, "p50_us"), "{json}");
        assert_eq!(json["metrics"]["checksum"], json["metrics"]["expected_checksum"]);
    }
}

/// A directory of the test's own to serve as `TMPDIR`, removed when dropped.
struct TempRoot(PathBuf);

impl TempRoot {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("concur-tui-waiting-{}", new_tag()));
        std::fs::create_dir_all(&path).expect("make the test's TMPDIR");
        Self(path)
    }

    /// The program's scratch directories (`concur-tui-disk-PID`) in it.
    fn scratch_dirs(&self) -> Vec<PathBuf> {
        std::fs::read_dir(&self.0)
            .map(|entries| entries.filter_map(Result::ok).map(|entry| entry.path()).collect())
            .unwrap_or_default()
    }

    /// True once some task file exists in a scratch directory.
    fn has_task_file(&self) -> bool {
        self.scratch_dirs().iter().any(|dir| std::fs::read_dir(dir).is_ok_and(|mut files| files.next().is_some()))
    }
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts `run ARGS` with `TMPDIR` set to `root`.
fn start_in(root: &Path, tag: &str, args: &[&str]) -> Reaped {
    let child = command(tag, &[&["run"][..], args].concat())
        .env("TMPDIR", root)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary");
    Reaped::new(child)
}

#[test]
fn disk_checks_every_byte_and_leaves_no_directory_after_a_normal_run() {
    let models =
        [&["-m", "threads"][..], &["-m", "processes"], &["-m", "processes", "--start", "spawn"], &["-m", "async"]];
    for model in models {
        let root = TempRoot::new();
        let tag = new_tag();
        let args = [&["-w", "disk", "-n", "2", "-t", "4", "-s", "2", "--format", "json"][..], model].concat();
        let output = start_in(&root.0, &tag, &args).wait_with_output();
        assert_no_leftovers(&tag);
        let json: Value = serde_json::from_slice(&output.stdout).expect("JSON");
        assert_eq!(output.status.code(), Some(0), "{model:?}: {json}");
        assert_eq!(json["metrics"]["checksum"], json["metrics"]["expected_checksum"], "{model:?}");
        assert_eq!(json["metrics"]["bytes_read"], 4 * 2 * 1024 * 1024, "{model:?}");
        assert!(number(&json, "write_mb_per_second") > 0.0 && number(&json, "read_mb_per_second") > 0.0);
        assert_eq!(root.scratch_dirs(), Vec::<PathBuf>::new(), "{model:?}");
    }
}

#[test]
fn disk_removes_its_directory_after_ctrl_c_and_after_a_killed_worker() {
    let long = ["-w", "disk", "-m", "processes", "-n", "2", "-t", "1000", "-s", "8"];
    let root = TempRoot::new();
    let tag = new_tag();
    let program = start_in(&root.0, &tag, &long);
    assert!(wait_until(Duration::from_secs(30), || root.has_task_file()), "no task file appeared");
    program.signal(libc::SIGINT);
    let output = program.wait_with_output();
    assert_eq!(output.status.code(), Some(130), "{}", String::from_utf8_lossy(&output.stderr));
    assert_no_leftovers(&tag);
    assert_eq!(root.scratch_dirs(), Vec::<PathBuf>::new(), "after Ctrl-C");

    let tag = new_tag();
    let program = start_in(&root.0, &tag, &["-w", "disk", "-m", "processes", "-n", "2", "-t", "6", "-s", "2"]);
    assert!(wait_until(Duration::from_secs(30), || root.has_task_file()), "no task file appeared");
    let workers = children_of(program.id());
    assert!(!workers.is_empty(), "no worker process");
    // SAFETY: kill with a pid and a signal number.
    unsafe { libc::kill(workers[0], libc::SIGKILL) };
    let output = program.wait_with_output();
    assert_eq!(output.status.code(), Some(1), "a killed worker fails the run");
    assert!(String::from_utf8_lossy(&output.stdout).contains("SIGKILL"));
    assert_no_leftovers(&tag);
    assert_eq!(root.scratch_dirs(), Vec::<PathBuf>::new(), "after a worker was killed");
}

#[test]
fn disk_on_the_event_loop_removes_its_directory_after_ctrl_c() {
    let root = TempRoot::new();
    let tag = new_tag();
    let program = start_in(&root.0, &tag, &["-w", "disk", "-m", "async", "-n", "3", "-t", "1000", "-s", "8"]);
    assert!(wait_until(Duration::from_secs(30), || root.has_task_file()), "no task file appeared");
    program.signal(libc::SIGINT);
    let output = program.wait_with_output();
    assert_eq!(output.status.code(), Some(130), "{}", String::from_utf8_lossy(&output.stderr));
    // Stopped at an await, not abandoned: the helpers finished their calls and were joined.
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("cancelled") && !stdout.contains("abandoned"), "{stdout}");
    assert_no_leftovers(&tag);
    assert_eq!(root.scratch_dirs(), Vec::<PathBuf>::new(), "after Ctrl-C");
}

#[test]
fn disk_after_the_program_itself_is_killed_the_next_run_sweeps_its_directory() {
    let root = TempRoot::new();
    let tag = new_tag();
    let program = start_in(&root.0, &tag, &["-w", "disk", "-m", "processes", "-n", "2", "-t", "1000", "-s", "8"]);
    assert!(wait_until(Duration::from_secs(30), || root.has_task_file()), "no task file appeared");
    program.signal(libc::SIGKILL);
    drop(program.wait_with_output());
    // The workers die with their parent (PDEATHSIG); nothing could remove the directory.
    assert_no_leftovers(&tag);
    assert_eq!(root.scratch_dirs().len(), 1, "SIGKILL leaves the directory behind");
    let tag = new_tag();
    let output = start_in(&root.0, &tag, &["-w", "disk", "-n", "1", "-t", "1", "-s", "1"]).wait_with_output();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(root.scratch_dirs(), Vec::<PathBuf>::new(), "the next run removed the orphan");
}
