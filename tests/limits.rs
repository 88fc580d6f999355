//! The real binary under limits and in a hostile temporary directory: an address-space limit
//! (`ulimit -v` in a child shell), too few descriptors, a temporary directory that cannot be
//! used, another user's directory with the scratch name. Each ends in one line and an exit
//! status, never an abort, and nothing of another user's is touched.

mod common;

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{assert_no_leftovers, new_tag, BIN, TAG_VAR};
use serde_json::Value;

/// The binary with `args` under `limit` (a `ulimit` option and its value) set by a child shell,
/// tagged so that a process left behind is found.
fn run_limited(limit: &str, args: &[&str]) -> Output {
    let tag = new_tag();
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("ulimit {limit} || exit 99; exec \"$0\" \"$@\""))
        .arg(BIN)
        .args(args)
        .env(TAG_VAR, &tag)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGTERM, libc::SIG_DFL);
            Ok(())
        });
    }
    let output = command.output().expect("start a shell");
    assert_ne!(output.status.code(), Some(99), "the shell could not set ulimit {limit}");
    assert_no_leftovers(&tag);
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Issue 25's repro: 2 × 1 GiB cannot fit under `ulimit -v 1500000` (1.43 GiB).
const AS_LIMIT: &str = "-v 1500000";

/// Refused before anything starts: exit 2, nothing on stdout, one line on stderr.
fn assert_refused_in_one_line(output: &Output, what: &str) -> String {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{what}: {stderr}");
    assert!(output.stdout.is_empty(), "{what}: {}", text(&output.stdout));
    assert_eq!(stderr.trim_end().lines().count(), 1, "{what}: {stderr}");
    stderr
}

#[test]
fn an_address_space_limit_refuses_a_plan_that_cannot_fit_in_one_line() {
    for model in ["threads", "processes"] {
        let output = run_limited(AS_LIMIT, &["run", "-w", "memory", "-m", model, "-n", "2", "-t", "2", "-s", "1024"]);
        let stderr = assert_refused_in_one_line(&output, model);
        assert!(stderr.contains("RLIMIT_AS") && stderr.contains("ulimit -v"), "{model}: {stderr}");
    }
}

#[test]
fn bench_refuses_the_plan_that_run_refuses() {
    let run = run_limited(AS_LIMIT, &["run", "-w", "memory", "-m", "processes", "-n", "2", "-t", "2", "-s", "1024"]);
    let run_said = assert_refused_in_one_line(&run, "run");
    let bench = run_limited(
        AS_LIMIT,
        &["bench", "-w", "memory", "--models", "processes", "-n", "2", "-t", "2", "-s", "1024", "-r", "1"],
    );
    let bench_said = assert_refused_in_one_line(&bench, "bench");
    assert_eq!(bench_said, run_said, "the same check, the same words");
}

/// The address space the binary maps before it starts a run, read from its own refusal.
fn address_space_in_use_kib() -> u64 {
    let output = run_limited("-v 204800", &["run", "-w", "memory", "-m", "threads", "-n", "1", "-t", "1", "-s", "256"]);
    let stderr = assert_refused_in_one_line(&output, "probe");
    let used = stderr.split(", ").nth(1).and_then(|rest| rest.strip_suffix(" in use)")).map(str::to_owned);
    let used = used.or_else(|| {
        let start = stderr.find("ulimit -v, ")? + "ulimit -v, ".len();
        let end = stderr[start..].find(" in use")? + start;
        Some(stderr[start..end].to_owned())
    });
    let used = used.unwrap_or_else(|| panic!("no figure in use: {stderr}"));
    let (number, unit) = used.split_once(' ').unwrap_or_else(|| panic!("{used}"));
    let number: f64 = number.parse().unwrap_or_else(|_| panic!("{used}"));
    let kib = match unit {
        "KiB" => number,
        "MiB" => number * 1024.0,
        other => panic!("unexpected unit {other}"),
    };
    kib.ceil() as u64
}

#[test]
fn an_allocation_that_still_fails_ends_the_run_as_failed_with_its_reason() {
    // Room for the check (what is mapped now + 256 MiB) and 128 MiB more, less than the task's
    // 256 MiB once the run has mapped its board and stacks: the check passes, the allocation
    // cannot.
    let limit = format!("-v {}", address_space_in_use_kib() + 1024 + (256 + 128) * 1024);
    let output = run_limited(
        &limit,
        &["run", "--format", "json", "-w", "memory", "-m", "threads", "-n", "1", "-t", "2", "-s", "256"],
    );
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("backtrace") && !stderr.contains("memory allocation of"), "{stderr}");
    let json: Value = serde_json::from_slice(&output.stdout).expect("a report");
    assert_eq!(json["outcome"], "failed");
    let worker = &json["workers"][0];
    assert_eq!(worker["outcome"], "failed");
    let error = worker["error"].as_str().expect("an error field");
    assert!(error.starts_with("memory: cannot allocate the task's 256 MiB"), "{error}");
}

/// A temporary directory of its own for one test, removed when dropped.
struct TempBase(PathBuf);

impl TempBase {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("concur-tui-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir(&path).expect("make a temporary base");
        Self(path)
    }
}

impl Drop for TempBase {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run_disk_in(tmpdir: &Path, args: &[&str]) -> Output {
    let tag = new_tag();
    let mut full = vec!["run", "-w", "disk"];
    full.extend_from_slice(args);
    let output = common::command(&tag, &full).env("TMPDIR", tmpdir).output().expect("start the binary");
    assert_no_leftovers(&tag);
    output
}

#[test]
fn a_temporary_directory_that_cannot_be_used_refuses_the_run_with_the_reason() {
    let base = TempBase::new("not-a-dir");
    let file = base.0.join("file");
    std::fs::write(&file, b"").expect("a file");
    for (tmpdir, reason) in
        [(Path::new("/nonexistent"), "No such file or directory"), (file.as_path(), "Not a directory")]
    {
        let output = run_disk_in(tmpdir, &["-n", "2", "-t", "2", "-s", "1"]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(&tmpdir.display().to_string()) && stderr.contains(reason), "{stderr}");
    }
}

#[test]
fn a_failed_task_says_why_in_the_table_and_the_json_even_from_a_worker_process() {
    // Five descriptors: a task opens its file, then cannot reopen it to read it back (EMFILE).
    for model in ["sequential", "processes"] {
        let json_output =
            run_limited("-n 5", &["run", "--format", "json", "-w", "disk", "-m", model, "-t", "1", "-s", "1"]);
        let json: Value = serde_json::from_slice(&json_output.stdout)
            .unwrap_or_else(|_| panic!("{model}: no report: {}", text(&json_output.stderr)));
        assert_eq!(json_output.status.code(), Some(1), "{model}");
        let failed: Vec<&Value> =
            json["workers"].as_array().expect("workers").iter().filter(|w| w["outcome"] == "failed").collect();
        assert!(!failed.is_empty(), "{model}: {json}");
        for worker in failed {
            let error = worker["error"].as_str().unwrap_or_else(|| panic!("{model}: no error in {worker}"));
            assert!(error.starts_with("disk: ") && error.contains("Too many open files"), "{model}: {error}");
        }
        let table = run_limited("-n 5", &["run", "-w", "disk", "-m", model, "-t", "1", "-s", "1"]);
        let stdout = text(&table.stdout);
        assert!(
            stdout.lines().any(|line| line.starts_with("worker ")
                && line.contains(": failed (disk: ")
                && line.contains("Too many open files")),
            "{model}: {stdout}"
        );
    }
}

#[test]
fn the_orphan_sweep_leaves_other_users_directories_alone() {
    // SAFETY: geteuid takes nothing and always succeeds.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: making a directory owned by another user needs root");
        return;
    }
    let base = TempBase::new("sweep");
    // A pid that is gone: a child that ran and was reaped.
    let mut child = Command::new("true").spawn().expect("true");
    let gone = child.id();
    child.wait().expect("reap true");
    let nobody = |name: String| {
        let path = base.0.join(name);
        std::fs::create_dir(&path).expect("make");
        std::os::unix::fs::chown(&path, Some(65534), Some(65534)).expect("chown to nobody");
        path
    };
    let theirs_old_style = nobody(format!("concur-tui-disk-{gone}"));
    let theirs_marked = nobody(format!("concur-tui-disk-{gone}-0123456789abcdef"));
    let mine = base.0.join(format!("concur-tui-disk-{gone}-fedcba9876543210"));
    std::fs::create_dir(&mine).expect("make");
    std::fs::set_permissions(&mine, std::os::unix::fs::PermissionsExt::from_mode(0o700)).expect("chmod");
    let output = run_disk_in(&base.0, &["-n", "1", "-t", "1", "-s", "1"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    for theirs in [&theirs_old_style, &theirs_marked] {
        let meta = std::fs::symlink_metadata(theirs).unwrap_or_else(|_| panic!("{} was removed", theirs.display()));
        assert_eq!(meta.uid(), 65534);
    }
    assert!(!mine.exists(), "this user's orphan with the mark is swept");
    let left: Vec<_> = std::fs::read_dir(&base.0).expect("base").flatten().map(|entry| entry.file_name()).collect();
    assert_eq!(left.len(), 2, "the run removed its own directory: {left:?}");
}
