//! `concur-tui list` and `concur-tui run` as a script would use them: the real binary, every
//! model, the JSON contract, bad input, signals, and no process left behind.

mod common;

use std::time::Duration;

use common::{alive, children_of, command, new_tag, run, run_json, tagged_processes, wait_until, Reaped};
use serde_json::Value;

fn workers(json: &Value) -> &Vec<Value> {
    json["workers"].as_array().expect("workers array")
}

#[test]
fn list_names_every_workload_with_what_it_shows() {
    let output = run(&["list"]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).expect("utf-8");
    for name in ["cpu", "io"] {
        let line = text.lines().find(|line| line.split_whitespace().next() == Some(name));
        let line = line.unwrap_or_else(|| panic!("{name} missing from:\n{text}"));
        assert!(line.len() > name.len() + 20, "no explanation: {line}");
    }
}

#[test]
fn every_model_runs_every_task_exactly_once() {
    for model in ["sequential", "threads", "processes"] {
        let workers_arg = if model == "sequential" { "1" } else { "3" };
        let (code, json) = run_json(&["-w", "cpu", "-m", model, "-n", workers_arg, "-t", "7", "-s", "200000"]);
        assert_eq!(code, 0, "{model}: {json}");
        assert_eq!(json["outcome"], "finished");
        assert_eq!(json["tasks_done"], 7);
        assert_eq!(json["metrics"]["checksum"], json["metrics"]["expected_checksum"], "{model}");
        let done: u64 = workers(&json).iter().map(|w| w["tasks_done"].as_u64().expect("tasks_done")).sum();
        assert_eq!(done, 7);
        assert!(workers(&json).iter().all(|w| w["outcome"] == "done"));
    }
}

/// Redacts a measured number, checking it is one: the snapshot pins the key and its type.
fn measured(kind: &'static str) -> impl Fn(insta::internals::Content, insta::internals::ContentPath<'_>) -> String {
    move |value, path| {
        let number = value.as_f64().or_else(|| value.as_u64().map(|n| n as f64));
        assert!(number.is_some_and(|n| n >= 0.0), "{path}: {value:?} is not a measured {kind}");
        format!("[{kind}]")
    }
}

/// The whole document, key by key, in order: a renamed, dropped or added field, or a changed
/// type, shows up in this snapshot. Times, sizes, pids and CPUs are redacted (checked for type).
#[test]
fn the_json_report_matches_its_snapshot() {
    let (code, json) = run_json(&["-w", "io", "-m", "processes", "-n", "2", "-t", "2", "-s", "20", "--gil"]);
    assert_eq!(code, 0, "{json}");
    insta::assert_json_snapshot!(json, {
        ".wall_seconds" => insta::dynamic_redaction(measured("seconds")),
        ".cpu_seconds" => insta::dynamic_redaction(measured("seconds")),
        ".peak_rss_bytes" => insta::dynamic_redaction(measured("bytes")),
        ".workers[].pid" => insta::dynamic_redaction(measured("pid")),
        ".workers[].tid" => insta::dynamic_redaction(measured("tid")),
        ".workers[].cores" => insta::dynamic_redaction(|value, path| {
            let cpus = value.as_slice().map_or(0, <[_]>::len);
            assert!(cpus > 0, "{path}: {value:?} names no CPU");
            "[cpus]"
        }),
        ".workers[].cpu_seconds" => insta::dynamic_redaction(measured("seconds")),
        ".workers[].lock_wait_seconds" => insta::dynamic_redaction(measured("seconds")),
        ".workers[].waiting_for_cpu_seconds" => insta::dynamic_redaction(measured("seconds")),
        ".workers[].off_cpu_seconds" => insta::dynamic_redaction(measured("seconds")),
        // Null when nothing was observed (workers too brief to be seen, or no source at all).
        ".waiting_for_cpu_share" => insta::dynamic_redaction(|value, path| {
            let share = value.as_f64();
            assert!(value.is_nil() || share.is_some_and(|n| (0.0..=1.0).contains(&n)), "{path}: {value:?}");
            "[share or null]"
        }),
        ".observer" => insta::dynamic_redaction(|value, path| {
            let name = value.as_str().unwrap_or_default();
            assert!(["perf", "schedstat", "none"].contains(&name), "{path}: {value:?}");
            "[perf|schedstat|none]"
        }),
        ".workers[].startup_seconds" => insta::dynamic_redaction(measured("seconds")),
        ".workers[].metrics.busy_seconds" => insta::dynamic_redaction(measured("seconds")),
        ".workers[].metrics.idle_seconds" => insta::dynamic_redaction(measured("seconds")),
        ".metrics.startup_median_seconds" => insta::dynamic_redaction(measured("seconds")),
    });
}

#[test]
fn the_json_report_keeps_its_contract() {
    let (code, json) = run_json(&["-w", "io", "-m", "processes", "-n", "2", "-t", "2", "-s", "20", "--gil"]);
    assert_eq!(code, 0);
    let plan = &json["plan"];
    for key in ["workload", "model", "workers", "tasks", "size", "affinity", "gil", "switch_interval_ms"] {
        assert!(plan.get(key).is_some(), "plan.{key} missing: {plan}");
    }
    assert_eq!(plan["workload"], "io");
    assert_eq!(plan["model"], "processes");
    assert_eq!(plan["gil"], true);
    assert_eq!(plan["switch_interval_ms"], 5.0);
    for key in ["outcome", "wall_seconds", "cpu_seconds", "peak_rss_bytes", "workers"] {
        assert!(json.get(key).is_some(), "{key} missing");
    }
    assert!(json["peak_rss_bytes"].as_u64().expect("bytes") > 0);
    let parent = std::process::id();
    for worker in workers(&json) {
        for key in [
            "index",
            "pid",
            "tid",
            "outcome",
            "tasks_done",
            "cpu_seconds",
            "cores",
            "lock_wait_seconds",
            "startup_seconds",
        ] {
            assert!(worker.get(key).is_some(), "worker.{key} missing: {worker}");
        }
        assert!(worker["startup_seconds"].as_f64().expect("seconds") > 0.0);
        assert!(!worker["cores"].as_array().expect("cores").is_empty());
        // Processes: each worker is its own process, not the binary's.
        assert_ne!(worker["pid"].as_i64(), Some(i64::from(parent)));
    }
    let pids: Vec<_> = workers(&json).iter().map(|w| w["pid"].as_i64()).collect();
    assert_ne!(pids[0], pids[1], "two workers in one process");
}

#[test]
fn threads_share_one_process_and_processes_do_not() {
    let (_, threads) = run_json(&["-w", "io", "-m", "threads", "-n", "3", "-t", "3", "-s", "10"]);
    let pids: Vec<_> = workers(&threads).iter().map(|w| w["pid"].as_i64()).collect();
    assert!(pids.windows(2).all(|w| w[0] == w[1]), "{pids:?}");
    let tids: Vec<_> = workers(&threads).iter().map(|w| w["tid"].as_i64()).collect();
    assert!(tids.windows(2).all(|w| w[0] != w[1]), "{tids:?}");
}

#[test]
fn the_lock_makes_threads_wait_but_not_processes() {
    // Two CPU-bound threads under one lock must queue for it; two processes each have their own.
    let args = ["-w", "cpu", "-n", "2", "-t", "4", "-s", "20000000", "--gil", "--switch-interval", "1ms"];
    let (_, threads) = run_json(&[&args[..], &["-m", "threads"]].concat());
    let waited: f64 = workers(&threads).iter().map(|w| w["lock_wait_seconds"].as_f64().expect("wait")).sum();
    assert!(waited > 0.0, "threads never waited for the lock: {threads}");
    let (_, processes) = run_json(&[&args[..], &["-m", "processes"]].concat());
    for worker in workers(&processes) {
        assert!(worker["lock_wait_seconds"].as_f64().expect("wait") < 1e-3, "{worker}");
    }
}

#[test]
fn single_affinity_puts_every_worker_on_one_and_the_same_core() {
    for model in ["threads", "processes"] {
        let (code, json) = run_json(&["-w", "cpu", "-m", model, "-n", "2", "-t", "4", "-s", "2000000", "-a", "single"]);
        assert_eq!(code, 0);
        let cores: Vec<_> = workers(&json).iter().map(|w| w["cores"].clone()).collect();
        assert_eq!(cores[0].as_array().map(Vec::len), Some(1), "{model}: {cores:?}");
        assert_eq!(cores[0], cores[1], "{model}");
    }
}

#[test]
fn spread_affinity_follows_the_allowed_cpus() {
    let allowed = allowed_cpus();
    let (code, json) = run_json(&["-w", "cpu", "-m", "threads", "-n", "2", "-t", "2", "-s", "1000000", "-a", "spread"]);
    assert_eq!(code, 0);
    for (i, worker) in workers(&json).iter().enumerate() {
        let expected = allowed[i % allowed.len()];
        assert_eq!(worker["cores"], serde_json::json!([expected]), "{worker}");
    }
}

fn allowed_cpus() -> Vec<usize> {
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    let line = status.lines().find(|l| l.starts_with("Cpus_allowed_list:")).expect("allowed list");
    let list = line.split(':').nth(1).expect("value").trim();
    list.split(',')
        .flat_map(|part| match part.split_once('-') {
            Some((a, b)) => (a.parse::<usize>().expect("cpu")..=b.parse().expect("cpu")).collect::<Vec<_>>(),
            None => vec![part.parse().expect("cpu")],
        })
        .collect()
}

#[test]
fn the_table_report_reads_like_a_table() {
    let output = run(&["run", "-w", "io", "-m", "threads", "-n", "2", "-t", "2", "-s", "5"]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).expect("utf-8");
    assert!(text.contains("worker") && text.contains("outcome") && text.contains("start-up"), "{text}");
    // io's digests prove only that each task ran once, so the report claims no more.
    // The run's line; the observer's share of waiting for a CPU may follow it, when the kernel's
    // switches were seen before a run this short ended.
    let ended = |text: &str| text.lines().find(|l| l.starts_with("finished")).map(str::to_owned);
    assert!(ended(&text).is_some_and(|l| l.contains("every task ran once")), "{text}");
    assert!(!text.contains("checksum ok"), "{text}");
    assert!(output.stderr.is_empty(), "progress must stay off a piped stderr");
    let output = run(&["run", "-w", "cpu", "-m", "threads", "-n", "2", "-t", "2", "-s", "1000"]);
    let text = String::from_utf8(output.stdout).expect("utf-8");
    assert!(ended(&text).is_some_and(|l| l.contains("checksum ok")), "a computed sum is checked:\n{text}");
}

#[test]
fn bad_input_is_one_line_on_stderr_and_exit_2() {
    let cases: &[(&[&str], &str)] = &[
        (&["run", "--workers", "0"], "--workers"),
        (&["run", "--workers", "100000"], "board"),
        (&["run", "--tasks", "0"], "--tasks"),
        (&["run", "--workload", "nope"], "cpu"),
        (&["run", "--affinity", "4000"], "affinity"),
        (&["run", "--affinity", "0,255"], "not available"),
        (&["run", "--gil", "--switch-interval", "soon"], "duration"),
        (&["run", "--switch-interval", "5ms"], "--gil"),
        (&["run", "--model", "sequential", "--workers", "3"], "sequential"),
        (&["run", "--size", "0"], "--size"),
        (&["run", "--frobnicate"], "frobnicate"),
        (&["--grace", "forever"], "duration"),
        (&["run", "-w", "io", "--size", "99999999"], "at most 3600000"),
        (&["run", "-w", "memory", "--size", "1.5M"], "cannot read '1.5M' as a size in MiB"),
        (&["run", "-w", "cpu", "--size", "150 parsecs"], "cannot read"),
        (&["run", "--chunk", "4"], "--schedule dynamic"),
        (&["__worker", "{not json"], "cannot read the worker spec"),
        // 8 TiB: more than any machine running these tests has, cgroup limit or not.
        (&["run", "-w", "memory", "--size", "8192", "--workers", "1024", "--tasks", "1024"], "need 8.00 TiB, but only"),
    ];
    for (args, needle) in cases {
        let output = run(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?} not one line: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?} printed a report");
    }
}

#[test]
fn sizes_are_read_in_the_units_the_dashboard_shows() {
    for (workload, size, expected) in [("cpu", "1.5M ints", 1_500_000), ("io", "0.02s", 20), ("memory", "1MiB", 1)] {
        let (code, report) = run_json(&["-w", workload, "-n", "1", "-t", "1", "--size", size]);
        assert_eq!(code, 0, "{workload} --size {size}");
        assert_eq!(report["plan"]["size"], expected, "{workload} --size {size}");
    }
}

#[test]
fn a_closed_stdout_is_an_error_not_a_silent_success() {
    use std::os::unix::process::CommandExt;
    let runs: [&[&str]; 2] =
        [&["run", "-n", "1", "-t", "1"], &["bench", "-s", "1000", "-t", "2", "--workers", "1", "--runs", "1"]];
    for args in runs {
        let mut command = std::process::Command::new(common::BIN);
        command.args(args).stderr(std::process::Stdio::piped());
        // SAFETY: close(2) only, between fork and exec.
        unsafe {
            command.pre_exec(|| {
                libc::close(libc::STDOUT_FILENO);
                Ok(())
            });
        }
        let output = command.output().expect("run");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("standard output is closed") && stderr.trim_end().lines().count() == 1, "{stderr}");
    }
}

/// stderr on a full disk (or a dead terminal): the error cannot be said, and a panic in saying
/// it was an abort (134); the documented exit status still says what happened.
#[test]
fn an_unwritable_stderr_keeps_the_documented_exit_status() {
    let cases: [(&[&str], i32); 3] = [
        (&["run", "--workers", "abc"], 2),
        (&["run", "-n", "1", "-t", "1", "--size", "0"], 2),
        (&["no-such-command"], 2),
    ];
    for (args, code) in cases {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full");
        let output = common::command(&common::new_tag(), args).stderr(full).output().expect("run");
        assert_eq!(output.status.code(), Some(code), "{args:?}");
    }
}

/// /dev/null opened read-write, as Python's `subprocess.DEVNULL` and systemd open it, is a
/// place to send the report, unlike a closed descriptor, which Rust's runtime also turns into a
/// read-write /dev/null before `main`.
#[test]
fn stdout_on_a_read_write_dev_null_is_not_mistaken_for_a_closed_one() {
    let null = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null").expect("/dev/null");
    let output = std::process::Command::new(common::BIN)
        .args(["run", "-n", "1", "-t", "1"])
        .stdout(null)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn a_spawned_worker_refuses_a_descriptor_that_is_not_the_board() {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let path = std::env::temp_dir().join(format!("concur-tui-not-a-board-{}", new_tag()));
    let file = std::fs::File::create(&path).expect("temp file");
    let fd = file.as_raw_fd();
    let spec = serde_json::json!({
        "board_fd": fd, "parent": std::process::id(), "group": 0, "index": 0, "generation": 1,
        "workload": "cpu", "size": 10, "tasks_total": 1, "options": [], "dynamic_chunk": null,
        "tasks_start": 0, "tasks_end": 1, "cpu": null, "switch_interval_ns": null, "line": null,
    });
    let mut command = std::process::Command::new(common::BIN);
    command.args(["__worker", &spec.to_string()]);
    // SAFETY: fcntl only, between fork and exec: the file crosses exec as a board would.
    unsafe {
        command.pre_exec(move || {
            libc::fcntl(fd, libc::F_SETFD, 0);
            Ok(())
        });
    }
    let output = command.output();
    drop(file);
    let _ = std::fs::remove_file(&path);
    let output = output.expect("worker");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is not the shared progress board") && stderr.trim_end().lines().count() == 1, "{stderr}");
}

/// Starts a long processes run, waits for its workers to exist, sends `signal`.
fn interrupt_a_run(model: &str, signal: i32) -> (i32, Value, Vec<i32>) {
    let tag = new_tag();
    let args = ["run", "-f", "json", "-w", "cpu", "-m", model, "-n", "2", "-t", "64", "--grace", "5s"];
    let child = command(&tag, &args).stdout(std::process::Stdio::piped()).spawn().expect("start");
    let child = Reaped::new(child);
    let pid = child.id();
    let started = wait_until(Duration::from_secs(20), || match model {
        "processes" => children_of(pid).len() >= 2,
        // Threads named as workers: a worker names itself once it runs, so both have started
        // (counting every thread also counted the preparation thread, and signalled too soon).
        _ => common::worker_threads(pid) >= 2,
    });
    assert!(started, "workers never started");
    let workers_seen = children_of(pid);
    let (code, json) = child.interrupt_for_report(signal, &tag);
    (code, json, workers_seen)
}

#[test]
fn sigint_and_sigterm_cancel_the_run_report_it_and_leave_no_child() {
    for (signal, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143), (libc::SIGHUP, 129)] {
        for model in ["processes", "threads"] {
            let (status, json, workers_seen) = interrupt_a_run(model, signal);
            assert_eq!(status, code, "{model} signal {signal}: {json}");
            assert_eq!(json["outcome"], "cancelled");
            assert!(workers(&json).iter().all(|w| w["outcome"] == "cancelled"), "{json}");
            assert!((json["tasks_done"].as_u64().expect("done")) < 64);
            assert!(workers_seen.iter().all(|pid| !alive(*pid)), "{workers_seen:?}");
        }
    }
}

#[test]
fn tagging_finds_live_processes() {
    // The leak detector itself must be able to fail.
    let tag = new_tag();
    let args = ["run", "-w", "io", "-m", "processes", "-n", "1", "-t", "1", "-s", "10000"];
    let child = Reaped::new(command(&tag, &args).spawn().expect("start"));
    let pid = child.id() as i32;
    assert!(wait_until(Duration::from_secs(10), || tagged_processes(&tag).contains(&pid)));
    drop(child);
}

#[test]
fn past_the_grace_period_threads_are_abandoned_and_processes_terminated() {
    // Draining after the task in hand, with 5 s tasks and a 200 ms grace period: nobody finishes
    // in time. Threads cannot be killed, so they are reported abandoned; processes get SIGTERM,
    // which they obey at their next chunk, and are reported killed by it.
    for (model, expected) in [("threads", "abandoned"), ("processes", "killed")] {
        let tag = new_tag();
        let args = ["run", "-f", "json", "-w", "io", "-m", model, "-n", "2", "-t", "2", "-s", "5000"];
        let child = command(&tag, &[&args[..], &["--drain", "task", "--grace", "200ms"]].concat())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start");
        let child = Reaped::new(child);
        let pid = child.id();
        // Both workers inside their 5 s task, not merely started: one that has not begun a task
        // when the stop comes is rightly cancelled.
        let started = wait_until(Duration::from_secs(20), || common::workers_in_io_task(pid) == 2);
        assert!(started, "{model}: the workers never began their tasks");
        child.signal(libc::SIGINT);
        let output = child.wait_with_output();
        assert_eq!(output.status.code(), Some(130));
        let json: Value = serde_json::from_slice(&output.stdout).expect("JSON");
        assert!(workers(&json).iter().all(|w| w["outcome"] == expected), "{model}: {json}");
        if model == "processes" {
            assert!(workers(&json).iter().all(|w| w["signal"] == "SIGTERM"), "{json}");
        }
        common::assert_no_leftovers(&tag);
    }
}

#[test]
fn kill_9_of_the_program_takes_its_worker_processes_with_it() {
    let tag = new_tag();
    let args = ["run", "-w", "io", "-m", "processes", "-n", "3", "-t", "3", "-s", "20000"];
    let child = Reaped::new(command(&tag, &args).spawn().expect("start"));
    let pid = child.id();
    assert!(wait_until(Duration::from_secs(20), || children_of(pid).len() >= 3));
    let workers = children_of(pid);
    child.signal(libc::SIGKILL);
    drop(child);
    // PDEATHSIG kills them; init reaps them. Poll, never assume a duration.
    assert!(wait_until(Duration::from_secs(10), || workers.iter().all(|w| !alive(*w))), "{workers:?} outlived");
    common::assert_no_leftovers(&tag);
}

/// The dashboard takes `run`'s flags, and refuses what `run` refuses in the same one line, with
/// exit status 2, before it looks for a terminal (here there is none).
#[test]
fn the_dashboard_refuses_what_run_refuses_before_it_needs_a_terminal() {
    let cases: [&[&str]; 4] = [
        &["--workload", "contention", "--model", "async"],
        &["--workload", "io", "--model", "async", "--gil"],
        &["--model", "sequential", "--workers", "3"],
        &["--chunk", "4"],
    ];
    for args in cases {
        let dashboard = run(args);
        let with_run: Vec<&str> = std::iter::once("run").chain(args.iter().copied()).collect();
        let headless = run(&with_run);
        let stderr = String::from_utf8_lossy(&dashboard.stderr);
        assert_eq!(dashboard.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?} not one line: {stderr}");
        assert!(!stderr.contains("needs a terminal"), "{args:?}: the terminal was checked first");
        assert_eq!(stderr, String::from_utf8_lossy(&headless.stderr), "{args:?}");
    }
    let output = run(&["--model", "processes", "--start", "spawn"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("the dashboard cannot set --start"), "{stderr}");
    let output = run(&["--workload", "io", "--workers", "4"]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("needs a terminal"));
}
