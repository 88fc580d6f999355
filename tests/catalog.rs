//! The catalog's claims as invariants on the real binary: lost updates, crash isolation,
//! copy-on-write memory, balanced schedules, respawn, and bad options refused.

mod common;

use common::run_json;

use serde_json::Value;

fn metric(json: &Value, name: &str) -> u64 {
    json["metrics"][name].as_u64().unwrap_or_else(|| panic!("metrics.{name} missing: {json}"))
}

#[test]
fn racy_increments_lose_updates_and_the_others_lose_none() {
    let (_, racy) = run_json(&["-w", "contention", "-m", "threads", "-n", "2", "-t", "4", "--strategy", "racy"]);
    assert!(metric(&racy, "lost_updates") > 0, "two racy threads lost nothing: {racy}");
    assert_eq!(metric(&racy, "expected"), 4_000_000);
    for model in ["threads", "processes"] {
        for strategy in ["mutex", "atomic", "sharded"] {
            let (code, json) = run_json(&[
                "-w",
                "contention",
                "-m",
                model,
                "-n",
                "2",
                "-t",
                "4",
                "-s",
                "200000",
                "--strategy",
                strategy,
            ]);
            assert_eq!(code, 0, "{model} {strategy}: {json}");
            assert_eq!(metric(&json, "lost_updates"), 0, "{model} {strategy}: {json}");
            assert_eq!(metric(&json, "final_count"), 800_000, "{model} {strategy}");
        }
    }
}

#[test]
fn every_crash_leaves_the_program_running_and_names_the_worker_and_reason() {
    let cases = [
        ("processes", "panic", "panic"),
        ("processes", "abort", "SIGABRT"),
        ("processes", "segv", "SIGSEGV"),
        ("processes", "exit", "3"),
        ("threads", "panic", "panicked on its task 2"),
        ("threads", "abort", "SIGABRT"),
        ("threads", "segv", "SIGSEGV"),
        ("threads", "exit", "3"),
    ];
    for (model, crash, reason) in cases {
        let args =
            ["-w", "crash", "-m", model, "-n", "3", "-t", "9", "-s", "100000", "--crash", crash, "--crash-worker", "1"];
        let (code, json) = run_json(&args);
        assert_eq!(code, 1, "{model} {crash}: the program must survive and report: {json}");
        assert_eq!(json["outcome"], "failed");
        let workers = json["workers"].as_array().expect("workers");
        let crashed = &workers[1];
        let why = [&crashed["signal"], &crashed["panic"], &crashed["exit_code"]]
            .iter()
            .map(ToString::to_string)
            .collect::<String>();
        assert!(why.contains(reason), "{model} {crash}: worker 1 should say {reason}: {crashed}");
        let isolated = model == "processes" || crash == "panic";
        for other in [&workers[0], &workers[2]] {
            if isolated {
                assert_eq!(other["outcome"], "done", "{model} {crash}: {other}");
            } else {
                // abort, segv and exit take the whole thread group down, as in Python: a worker
                // still at work then ends the same way; one that had already finished is done.
                assert!(
                    other["outcome"] == "done" || other["outcome"] == crashed["outcome"],
                    "{model} {crash}: {other}"
                );
            }
        }
    }
}

#[test]
fn respawn_replaces_a_crashed_process_and_finishes_every_task() {
    // Enough tasks of some length that worker 0 (the crashing one) takes one under the dynamic
    // schedule before worker 1 has taken them all, however late a busy machine starts it.
    let args = ["-w", "crash", "-m", "processes", "-n", "2", "-t", "64", "-s", "5000000", "--crash", "segv"];
    let (code, json) = run_json(&[&args[..], &["--schedule", "dynamic", "--respawn"]].concat());
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["tasks_done"], 64);
    assert_eq!(json["metrics"]["checksum"], json["metrics"]["expected_checksum"]);
    assert_eq!(metric(&json, "replaced_workers"), 1);
    assert!(json["metrics"]["replaced"][0]["outcome"].as_str().is_some_and(|o| o.contains("SIGSEGV")));
}

#[test]
fn processes_that_write_inherited_memory_cost_more_than_threads() {
    let total = |model| {
        let (code, json) = run_json(&["-w", "memory", "-m", model, "-n", "2", "-t", "2", "-s", "32"]);
        assert_eq!(code, 0, "{json}");
        for worker in json["workers"].as_array().expect("workers") {
            assert!(worker["metrics"]["pss_bytes"].as_u64().is_some_and(|b| b > 0), "{worker}");
        }
        metric(&json, "pss_bytes")
    };
    let (threads, processes) = (total("threads"), total("processes"));
    assert!(processes > threads, "processes {processes} B, threads {threads} B");
}

#[test]
fn both_schedules_run_every_skewed_task_once_and_report_busy_and_idle() {
    for schedule in ["static", "dynamic"] {
        let (code, json) = run_json(&[
            "-w",
            "imbalance",
            "-m",
            "threads",
            "-n",
            "2",
            "-t",
            "12",
            "-s",
            "100000",
            "--schedule",
            schedule,
        ]);
        assert_eq!(code, 0);
        assert_eq!(json["metrics"]["checksum"], json["metrics"]["expected_checksum"], "{schedule}");
        let workers = json["workers"].as_array().expect("workers");
        let busy = |worker: &Value| worker["metrics"]["busy_seconds"].as_f64().unwrap_or(-1.0);
        for worker in workers {
            assert!(busy(worker) >= 0.0, "{worker}");
            assert!(worker["metrics"]["idle_seconds"].as_f64().is_some(), "{worker}");
        }
        // A static split gives every worker tasks; from a shared counter, a worker that starts
        // late on a busy machine may find none left, so only the run as a whole must be busy.
        match schedule {
            "static" => assert!(workers.iter().all(|worker| busy(worker) > 0.0), "{workers:?}"),
            _ => assert!(workers.iter().map(busy).sum::<f64>() > 0.0, "{workers:?}"),
        }
    }
}

#[test]
fn options_for_another_workload_are_refused() {
    let cases: &[(&[&str], &str)] = &[
        (&["-w", "cpu", "--strategy", "mutex"], "--strategy applies to --workload contention"),
        (&["-w", "contention", "--strategy", "spinlock"], "spinlock"),
        (&["-w", "io", "--crash", "segv"], "--crash applies"),
        (&["-w", "crash", "-n", "2", "--crash-worker", "5"], "not a worker"),
        (&["-w", "crash", "--crash-at", "0"], "from 1"),
        (&["-w", "crash", "-m", "threads", "--respawn"], "--respawn needs"),
        (&["-w", "crash", "-m", "processes", "--respawn"], "--respawn needs"),
        (&["-w", "cpu", "--seed", "3"], "--seed applies"),
        (&["-w", "cpu", "-m", "threads", "--start", "spawn"], "--start spawn"),
        (&["-w", "cpu", "-m", "processes", "--start", "vfork"], "vfork"),
        (&["-w", "data", "-m", "threads", "--transfer", "pipe"], "--transfer pipe sends each chunk"),
        (&["-w", "data", "--transfer", "pickle"], "pickle"),
        (&["-w", "cpu", "--transfer", "pipe"], "--transfer applies to --workload data"),
        (&["-w", "ipc", "-m", "threads", "--transport", "shm"], "--transport shm connects processes"),
        (&["-w", "ipc", "-m", "processes", "--transport", "channel"], "--transport channel connects threads"),
        (&["-w", "io", "--transport", "socket"], "--transport applies to --workload ipc"),
        (&["-w", "data", "-s", "100000"], "at most 1024"),
        (&["-w", "memory", "-s", "100000"], "at most 8192"),
    ];
    for (args, needle) in cases {
        let mut full = vec!["run"];
        full.extend_from_slice(args);
        let output = common::run(&full);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle) && stderr.trim_end().lines().count() == 1, "{args:?}: {stderr}");
    }
}

#[test]
fn spawned_workers_re_execute_the_binary_and_share_the_board() {
    let parent_exe = std::fs::canonicalize(common::BIN).expect("binary path");
    for start in ["fork", "spawn"] {
        let args = ["-w", "cpu", "-m", "processes", "-n", "2", "-t", "6", "-s", "200000", "--start", start];
        let (code, json) = run_json(&args);
        assert_eq!(code, 0, "{start}: {json}");
        assert_eq!(json["plan"]["start"], start);
        assert_eq!(json["metrics"]["checksum"], json["metrics"]["expected_checksum"], "{start}");
        for worker in json["workers"].as_array().expect("workers") {
            assert!(worker["startup_seconds"].as_f64().is_some_and(|s| s > 0.0), "{start}: {worker}");
        }
    }
    // A spawned worker runs the same binary through the hidden subcommand.
    let tag = common::new_tag();
    let args = ["run", "-w", "io", "-m", "processes", "-n", "1", "-t", "1", "-s", "20000", "--start", "spawn"];
    let child = common::Reaped::new(common::command(&tag, &args).spawn().expect("start"));
    let pid = child.id();
    assert!(common::wait_until(std::time::Duration::from_secs(20), || !common::children_of(pid).is_empty()));
    let worker = common::children_of(pid)[0];
    let cmdline = || std::fs::read(format!("/proc/{worker}/cmdline")).unwrap_or_default();
    // Between fork and exec the child still shows the parent's command line.
    let execed =
        common::wait_until(std::time::Duration::from_secs(20), || cmdline().windows(8).any(|w| w == b"__worker"));
    assert!(execed, "{}", String::from_utf8_lossy(&cmdline()));
    let cmdline = cmdline();
    let exe = std::fs::read_link(format!("/proc/{worker}/exe")).expect("exe");
    assert_eq!(exe, parent_exe);
    // Found by `pgrep concur-tui` like its parent, not named after /proc/self/exe.
    let named = common::wait_until(std::time::Duration::from_secs(20), || {
        std::fs::read_to_string(format!("/proc/{worker}/comm")).is_ok_and(|comm| comm.trim() == "concur-tui")
    });
    assert!(named, "comm: {:?}", std::fs::read_to_string(format!("/proc/{worker}/comm")));
    assert!(cmdline.starts_with(b"concur-tui\0"), "{}", String::from_utf8_lossy(&cmdline));
    drop(child);
    common::assert_no_leftovers(&tag);
}

#[test]
fn the_table_report_shows_what_the_workload_is_for() {
    let output = common::run(&["run", "-w", "contention", "-m", "threads", "-n", "2", "-t", "2", "-s", "50000"]);
    let text = String::from_utf8_lossy(&output.stdout);
    let figures = text.lines().last().unwrap_or_default();
    assert!(figures.starts_with("contention: strategy racy") && figures.contains("lost_updates"), "{text}");
}
