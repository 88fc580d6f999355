//! The Python twins of `contention`, `crash` and `memory`, end to end on the machine's
//! `python3`: each in the models where its lesson applies, checked by the lesson's invariants
//! (a lock never loses an update; a racy count never exceeds what was attempted and its loss is
//! reported; an abort in a thread takes every worker down, in a process only its own; a process
//! costs more memory than a thread), never by a figure of this machine.

mod common;

use common::{run, run_json};
use serde_json::Value;

fn python_run(args: &[&str]) -> (i32, Value) {
    let mut full = vec!["--runtime", "python"];
    full.extend_from_slice(args);
    run_json(&full)
}

fn number(json: &Value, what: &str) -> u64 {
    json[what].as_u64().unwrap_or_else(|| panic!("no {what} in {json}"))
}

fn workers(json: &Value) -> &[Value] {
    json["workers"].as_array().map_or(&[], Vec::as_slice)
}

/// Every strategy with a Python meaning, in threads, forked, spawned and pooled processes: each
/// task runs once (the digests' checksum), the count lands in the cells the native metrics
/// read, a lock or a shard loses nothing, and whatever a race loses is reported as lost.
#[test]
fn contention_counts_what_this_interpreter_really_counts() {
    let models: [&[&str]; 5] = [
        &["-m", "threads", "-n", "2"],
        &["-m", "sequential"],
        &["-m", "processes", "-n", "2"],
        &["-m", "processes", "-n", "2", "--start", "spawn"],
        &["-m", "processes", "-n", "2", "--schedule", "dynamic", "--chunk", "2"],
    ];
    for model in models {
        for strategy in ["racy", "mutex", "sharded"] {
            let mut args = vec!["-w", "contention", "-t", "4", "-s", "20000", "--strategy", strategy];
            args.extend_from_slice(model);
            let what = args.join(" ");
            let (code, json) = python_run(&args);
            assert_eq!(code, 0, "{what}: {json}");
            assert_eq!(json["outcome"], "finished", "{what}: {json}");
            let metrics = &json["metrics"];
            assert_eq!(metrics["checksum"], metrics["expected_checksum"], "{what}");
            assert_eq!(metrics["strategy"], strategy, "{what}");
            let (expected, counted, lost) =
                (number(metrics, "expected"), number(metrics, "final_count"), number(metrics, "lost_updates"));
            assert_eq!(expected, 4 * 20_000, "{what}: every increment attempted");
            assert!(counted <= expected, "{what}: counted {counted} of {expected}");
            assert_eq!(counted + lost, expected, "{what}: the loss is reported");
            if strategy != "racy" {
                assert_eq!(lost, 0, "{what}: a lock or a shard loses nothing");
            }
        }
    }
}

/// An atomic add has no Python meaning: refused in one line, before anything starts.
#[test]
fn contention_refuses_atomic_under_python() {
    let output = run(&["run", "--runtime", "python", "-w", "contention", "--strategy", "atomic"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--strategy atomic has no Python meaning"), "{stderr}");
}

fn crash_run(model: &[&str], crash: &str) -> Value {
    // Tasks of about 20 ms: every thread has started long before the others could finish.
    let mut args = vec!["-w", "crash", "-t", "12", "-s", "400000", "--crash", crash, "--crash-worker", "1"];
    args.extend_from_slice(model);
    let (code, json) = python_run(&args);
    assert_eq!(code, 1, "{args:?}: a crash fails the run: {json}");
    assert_eq!(json["outcome"], "failed", "{args:?}");
    json
}

/// `os.abort()` and a SIGSEGV end a whole process: in a thread the host, every worker with it;
/// in a worker process that process alone, while the others finish their tasks.
#[test]
fn a_crash_in_a_thread_takes_every_worker_in_a_process_only_its_own() {
    for (crash, signal) in [("abort", "SIGABRT"), ("segv", "SIGSEGV")] {
        let json = crash_run(&["-m", "threads", "-n", "3"], crash);
        for worker in workers(&json) {
            assert_eq!(worker["outcome"], "crashed", "{crash} in a thread: {json}");
            assert_eq!(worker["signal"], signal, "{crash} in a thread");
        }
        let json = crash_run(&["-m", "processes", "-n", "3"], crash);
        for worker in workers(&json) {
            if worker["index"] == 1 {
                assert_eq!(worker["outcome"], "crashed", "{crash} in a process: {json}");
                assert_eq!(worker["signal"], signal, "{crash} in a process");
            } else {
                assert_eq!(worker["outcome"], "done", "{crash}: another process goes on: {json}");
                assert_eq!(worker["tasks_done"], 4, "{crash}: its every task");
            }
        }
    }
}

/// An exception ends only its worker, failed with its type and message, thread or process;
/// `os._exit(3)` ends the whole host from a thread, one worker process from a process.
#[test]
fn an_exception_fails_its_worker_and_an_exit_its_process() {
    for model in [["-m", "threads", "-n", "2"], ["-m", "processes", "-n", "2"]] {
        let json = crash_run(&model, "panic");
        let [first, crashed] = workers(&json) else { panic!("two workers: {json}") };
        assert_eq!(first["outcome"], "done", "{model:?}: {json}");
        assert_eq!(crashed["outcome"], "failed", "{model:?}");
        assert!(crashed["error"].as_str().is_some_and(|e| e.starts_with("RuntimeError: worker 1 raised")), "{json}");
        assert!(crashed["traceback"].as_str().is_some_and(|t| t.contains("Traceback")), "{json}");
    }
    let json = crash_run(&["-m", "threads", "-n", "2"], "exit");
    assert!(workers(&json).iter().all(|w| w["outcome"] == "failed" && w["exit_code"] == 3), "{json}");
    let json = crash_run(&["-m", "processes", "-n", "2", "--start", "spawn"], "exit");
    let [first, exited] = workers(&json) else { panic!("two workers: {json}") };
    assert_eq!(first["outcome"], "done", "{json}");
    assert_eq!(exited["outcome"], "failed", "{json}");
    assert_eq!(exited["exit_code"], 3, "{json}");
}

fn memory_run(model: &[&str]) -> Value {
    let mut args = vec!["-w", "memory", "-t", "2", "-s", "8"];
    args.extend_from_slice(model);
    let (code, json) = python_run(&args);
    assert_eq!(code, 0, "{args:?}: {json}");
    assert_eq!(json["outcome"], "finished", "{args:?}: {json}");
    assert_eq!(json["metrics"]["checksum"], json["metrics"]["expected_checksum"], "{args:?}");
    json
}

/// Each worker measures its own process: a thread the host it shares, holding both threads'
/// buffers; a worker process its own buffer and its own interpreter. So a process costs more
/// memory a worker than a thread, and nothing is inherited.
#[test]
fn a_python_process_costs_more_memory_than_a_thread() {
    const MIB: u64 = 1 << 20;
    let per_worker = |json: &Value| number(&json["metrics"], "pss_bytes") / 2;
    let threads = memory_run(&["-m", "threads", "-n", "2"]);
    for worker in workers(&threads) {
        let (rss, pss) = (number(&worker["metrics"], "rss_bytes"), number(&worker["metrics"], "pss_bytes"));
        assert!(pss <= rss && pss >= 2 * 8 * MIB, "a thread measures the host with both buffers: {threads}");
    }
    for start in ["fork", "spawn"] {
        let processes = memory_run(&["-m", "processes", "-n", "2", "--start", start]);
        assert_eq!(processes["metrics"]["inherited_bytes"], 0, "{start}");
        for worker in workers(&processes) {
            let (rss, pss) = (number(&worker["metrics"], "rss_bytes"), number(&worker["metrics"], "pss_bytes"));
            assert!(pss <= rss && pss > 8 * MIB, "{start}: a process holds its buffer and more: {processes}");
        }
        assert!(
            per_worker(&processes) > per_worker(&threads),
            "{start}: a process costs more a worker: {} against {}",
            per_worker(&processes),
            per_worker(&threads)
        );
    }
}

/// The named semaphores (`/dev/shm/sem.*`) that the processes of run `tag` have mapped.
fn semaphores_of(tag: &str) -> Vec<String> {
    let mut names: Vec<String> = common::tagged_processes(tag)
        .iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/maps")).ok())
        .flat_map(|maps| {
            maps.lines()
                .filter_map(|line| line.split_whitespace().nth(5).filter(|path| path.starts_with("/dev/shm/sem.")))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Ctrl-C in a run whose spawned processes share the host's multiprocessing lock (a named
/// semaphore): cancelled, with no process and no semaphore left.
#[test]
fn a_stopped_run_with_a_shared_lock_leaves_no_semaphore() {
    use std::time::Duration;

    let tag = common::new_tag();
    let args = [
        "run",
        "--format",
        "json",
        "--runtime",
        "python",
        "-w",
        "contention",
        "--strategy",
        "mutex",
        "-m",
        "processes",
        "-n",
        "2",
        "--start",
        "spawn",
        "-t",
        "400",
        "-s",
        "200000",
    ];
    let child =
        common::Reaped::new(common::command(&tag, &args).stdout(std::process::Stdio::piped()).spawn().expect("start"));
    let mut semaphores = Vec::new();
    let counting = common::wait_until(Duration::from_secs(30), || {
        semaphores = semaphores_of(&tag);
        !semaphores.is_empty()
    });
    assert!(counting, "the workers never mapped the lock");
    std::thread::sleep(Duration::from_millis(300));
    let (code, json) = child.interrupt_for_report(libc::SIGINT, &tag);
    assert_eq!(code, 128 + libc::SIGINT, "{json}");
    assert_eq!(json["outcome"], "cancelled", "{json}");
    let left: Vec<&String> = semaphores.iter().filter(|path| std::path::Path::new(path).exists()).collect();
    assert!(left.is_empty(), "semaphores left: {left:?}");
}
