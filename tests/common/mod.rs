//! Shared helpers for the end-to-end tests: start the real binary with a tag in its
//! environment, so that every process it forks carries the tag and a leak can be found by
//! scanning /proc, whatever else runs on the machine.

#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub(crate) mod pty;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_concur-tui");
pub(crate) const TAG_VAR: &str = "CONCUR_TUI_TEST_TAG";

/// A unique tag for one test's processes.
pub(crate) fn new_tag() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!("{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// The binary with `args`, tagged, with SIGINT/SIGTERM at their default disposition (a test
/// harness started in the background of a shell would otherwise pass SIGINT down as ignored).
pub(crate) fn command(tag: &str, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args).env(TAG_VAR, tag).env("NO_COLOR", "1").stdin(Stdio::null());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGTERM, libc::SIG_DFL);
            libc::signal(libc::SIGHUP, libc::SIG_DFL);
            Ok(())
        });
    }
    command
}

/// Runs the binary to its end; checks that it left no process behind.
pub(crate) fn run(args: &[&str]) -> Output {
    let tag = new_tag();
    let output = command(&tag, args).output().expect("start the binary");
    assert_no_leftovers(&tag);
    output
}

/// `run --format json ARGS` to its end: the exit code and the report.
pub(crate) fn run_json(args: &[&str]) -> (i32, serde_json::Value) {
    let mut full = vec!["run", "--format", "json"];
    full.extend_from_slice(args);
    let output = run(&full);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{}", String::from_utf8_lossy(&output.stderr)));
    (output.status.code().expect("exit code"), json)
}

/// Pids of live processes carrying `tag` in their environment.
pub(crate) fn tagged_processes(tag: &str) -> Vec<i32> {
    let needle = format!("{TAG_VAR}={tag}\0");
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|environ| environ.windows(needle.len()).any(|window| window == needle.as_bytes()))
        })
        .filter(|pid| !is_zombie(*pid))
        .collect()
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rsplit_once(')').map(|(_, rest)| rest.trim_start().starts_with('Z')))
        .unwrap_or(true)
}

/// Fails (after killing them) if processes with `tag` are still alive. A process that is just
/// exiting gets a moment to go.
pub(crate) fn assert_no_leftovers(tag: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut left = tagged_processes(tag);
    while !left.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        left = tagged_processes(tag);
    }
    for pid in &left {
        // SAFETY: kill with a pid and a signal number.
        unsafe { libc::kill(*pid, libc::SIGKILL) };
    }
    assert!(left.is_empty(), "processes left behind: {left:?}");
}

/// Kills and reaps a child when dropped, so a failing test leaves nothing running.
pub(crate) struct Reaped(Option<Child>);

impl Reaped {
    pub(crate) fn new(child: Child) -> Self {
        Self(Some(child))
    }

    pub(crate) fn id(&self) -> u32 {
        self.0.as_ref().map_or(0, Child::id)
    }

    /// Waits for the child to end and takes its output.
    pub(crate) fn wait_with_output(mut self) -> Output {
        self.0.take().expect("child").wait_with_output().expect("wait for the child")
    }

    /// Sends `signal` to the child, as a user or a supervisor would.
    pub(crate) fn signal(&self, signal: i32) {
        // SAFETY: kill with a pid and a signal number.
        unsafe { libc::kill(self.id() as i32, signal) };
    }

    /// Sends `signal`, waits for the run to end, checks that the run left nothing of `tag`
    /// behind, and returns its exit code and its JSON report (written even when interrupted).
    pub(crate) fn interrupt_for_report(self, signal: i32, tag: &str) -> (i32, serde_json::Value) {
        self.signal(signal);
        let output = self.wait_with_output();
        let json = serde_json::from_slice(&output.stdout).expect("a report even when interrupted");
        assert_no_leftovers(tag);
        (output.status.code().expect("exit code"), json)
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The Python runner's private directories that program `pid` made in the temporary directory
/// and left there (`concur-tui-python-PID-…`).
pub(crate) fn python_dirs_of(pid: u32) -> Vec<String> {
    let prefix = format!("concur-tui-python-{pid}-");
    std::fs::read_dir(std::env::temp_dir())
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
                .filter(|name| name.starts_with(&prefix))
                .collect()
        })
        .unwrap_or_default()
}

/// Polls `condition` every 20 ms for up to `limit`; a hang detector, not a speed check.
pub(crate) fn wait_until(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    condition()
}

/// Direct children of `pid` (all its threads).
pub(crate) fn children_of(pid: u32) -> Vec<i32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Vec::new() };
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("children")).ok())
        .flat_map(|text| text.split_whitespace().filter_map(|p| p.parse().ok()).collect::<Vec<i32>>())
        .collect()
}

/// True while a process with this pid exists and is not a zombie.
pub(crate) fn alive(pid: i32) -> bool {
    !is_zombie(pid)
}

/// The `/proc` directories of program `pid`'s worker threads: a worker thread names itself
/// (`worker-N`) just after its first instruction.
fn worker_thread_dirs(pid: u32) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(format!("/proc/{pid}/task")).map_or_else(
        |_| Vec::new(),
        |tasks| {
            tasks
                .filter_map(Result::ok)
                .map(|task| task.path())
                .filter(|dir| std::fs::read_to_string(dir.join("comm")).is_ok_and(|c| c.starts_with("worker-")))
                .collect()
        },
    )
}

/// How many threads of program `pid` are workers that have begun.
pub(crate) fn worker_threads(pid: u32) -> usize {
    worker_thread_dirs(pid).len()
}

/// How many workers of program `pid` sleep inside an `io` task right now: its threads named
/// `worker-N`, or its child processes, whose kernel wait channel is a nanosleep. A worker that
/// has not begun its first task does not sleep, so this tells "started a task" from "exists".
pub(crate) fn workers_in_io_task(pid: u32) -> usize {
    let sleeping = |dir: String| std::fs::read_to_string(format!("{dir}/wchan")).is_ok_and(|w| w.contains("nanosleep"));
    let threads = worker_thread_dirs(pid).into_iter().filter(|dir| sleeping(dir.display().to_string())).count();
    threads + children_of(pid).into_iter().filter(|child| sleeping(format!("/proc/{child}"))).count()
}

/// A 64 KiB tmpfs mounted on a directory of its own and filled to the last byte: every write
/// there fails with ENOSPC, as on a full disk. Unmounted and removed when dropped, also when
/// the test fails. None, with the reason printed, where mounting is refused (not root).
pub(crate) struct FullDisk {
    pub dir: std::path::PathBuf,
}

impl FullDisk {
    pub(crate) fn mount() -> Option<Self> {
        let dir = std::env::temp_dir().join(format!("concur-tui-full-{}", new_tag()));
        std::fs::create_dir_all(&dir).expect("a mount point");
        let target = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).expect("a path without NUL");
        // SAFETY: NUL-terminated strings for the source, target, type and options.
        let mounted = unsafe {
            libc::mount(c"tmpfs".as_ptr(), target.as_ptr(), c"tmpfs".as_ptr(), 0, c"size=64k".as_ptr().cast())
        } == 0;
        if !mounted {
            let error = std::io::Error::last_os_error();
            let _ = std::fs::remove_dir(&dir);
            println!("skipped: cannot mount a small tmpfs to fill ({error}); run as root to test a full disk");
            return None;
        }
        let disk = Self { dir };
        let filler = vec![0u8; 4096];
        let mut file = std::fs::File::create(disk.dir.join("filler")).expect("the filler");
        while std::io::Write::write_all(&mut file, &filler).is_ok() {}
        Some(disk)
    }

    /// What is on the disk besides the filler.
    pub(crate) fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)
            .expect("the full disk")
            .filter_map(Result::ok)
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name != "filler")
            .collect();
        names.sort();
        names
    }
}

impl Drop for FullDisk {
    fn drop(&mut self) {
        if let Ok(target) = std::ffi::CString::new(self.dir.as_os_str().as_encoded_bytes()) {
            // SAFETY: a NUL-terminated path; MNT_DETACH even if something still holds a file.
            unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
        }
        let _ = std::fs::remove_dir(&self.dir);
    }
}
