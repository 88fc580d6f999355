//! The workers' own cpu cgroup: a directory `concur-tui-PID-N` below the dashboard's own cgroup in
//! the cgroup v1 `cpu` hierarchy, which each worker joins at its start (`priority.rs`), and
//! which is removed when the dashboard ends (or, after a SIGKILL, by the next dashboard).
//!
//! Only cgroup v1 is handled, and only where the process may create a cgroup (as root). On
//! cgroup v2 a thread can only move within a threaded subtree that the user owns: not done.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// What every pen's directory is called, followed by the dashboard's pid and a count of the
/// pens it made (one, but tests make several at once).
const PREFIX: &str = "concur-tui-";

static MADE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Why the workers get no cgroup of their own.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Unavailable {
    #[error("no cgroup v1 cpu hierarchy here (cgroup v2 is not handled)")]
    NoHierarchy,
    #[error("cannot create {}: {source}", path.display())]
    Create { path: PathBuf, source: std::io::Error },
    #[error("cannot open {}: {source}", path.display())]
    Open { path: PathBuf, source: std::io::Error },
}

/// A cpu cgroup for the dashboard's workers; dropping it moves whatever is left back home and
/// removes the directory.
#[derive(Debug)]
pub(crate) struct CpuCgroup {
    dir: PathBuf,
    /// The pen's and home's `tasks` files, each written one thread id at a time; opened
    /// before any worker, since a forked worker may not allocate to open one.
    pen_tasks: File,
    home_tasks: File,
}

impl CpuCgroup {
    /// Creates the pen below the calling thread's cpu cgroup, after removing the empty pens
    /// of dashboards no longer running.
    pub(crate) fn create() -> Result<Self, Unavailable> {
        let read = |path: &str| fs::read_to_string(path).unwrap_or_default();
        let home = home_of(&read("/proc/self/mountinfo"), &read("/proc/thread-self/cgroup"))
            .ok_or(Unavailable::NoHierarchy)?;
        Self::create_in(&home, std::process::id())
    }

    /// Creates the pen of dashboard `pid` in `home`, a cpu cgroup's directory.
    pub(crate) fn create_in(home: &Path, pid: u32) -> Result<Self, Unavailable> {
        sweep_stale(home, pid);
        let made = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = home.join(format!("{PREFIX}{pid}-{made}"));
        match fs::create_dir(&dir) {
            Ok(()) => {}
            // Left by an earlier dashboard of the same pid: empty, or its threads are gone.
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(source) => return Err(Unavailable::Create { path: dir, source }),
        }
        let open = |path: PathBuf| {
            OpenOptions::new().write(true).open(&path).map_err(|source| Unavailable::Open { path, source })
        };
        let pen_tasks = match open(dir.join("tasks")) {
            Ok(file) => file,
            Err(error) => {
                let _ = fs::remove_dir(&dir);
                return Err(error);
            }
        };
        let home_tasks = match open(home.join("tasks")) {
            Ok(file) => file,
            Err(error) => {
                let _ = fs::remove_dir(&dir);
                return Err(error);
            }
        };
        Ok(Self { dir, pen_tasks, home_tasks })
    }

    /// The pen's directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Moves the calling thread in; false if the kernel refused. Async-signal-safe: a write of
    /// a constant to a file opened beforehand. Written as 0, "the writer", rather than its id:
    /// the kernel then moves it without the global lock that makes a move wait for an RCU grace
    /// period and holds up every fork on the machine meanwhile.
    pub(crate) fn admit_caller(&self) -> bool {
        (&self.pen_tasks).write_all(b"0\n").is_ok()
    }
}

/// Writes thread `tid` into a `tasks` file, which moves it to that cgroup.
fn move_thread(mut tasks: &File, tid: i32) -> bool {
    tasks.write_all(format!("{tid}\n").as_bytes()).is_ok()
}

impl Drop for CpuCgroup {
    fn drop(&mut self) {
        // Threads the run abandoned still live in it; a cgroup with members cannot be removed.
        let left = fs::read_to_string(self.dir.join("tasks")).unwrap_or_default();
        for tid in left.lines().filter_map(|line| line.trim().parse().ok()) {
            move_thread(&self.home_tasks, tid);
        }
        let _ = fs::remove_dir(&self.dir);
    }
}

/// The directory of the calling thread's cpu cgroup, from `/proc/self/mountinfo` (where the v1
/// hierarchy with the `cpu` controller is mounted, and which of its cgroups that mount shows)
/// and `/proc/thread-self/cgroup` (which cgroup of it the thread is in).
pub(crate) fn home_of(mountinfo: &str, cgroups: &str) -> Option<PathBuf> {
    let has_cpu = |list: &str| list.split(',').any(|name| name == "cpu");
    let (mount_root, mount_point) = mountinfo.lines().find_map(|line| {
        let (mount, fs) = line.split_once(" - ")?;
        let mut fs = fs.split_whitespace();
        let (kind, _source, options) = (fs.next()?, fs.next()?, fs.next()?);
        let mut mount = mount.split_whitespace();
        let (root, point) = (mount.nth(3)?, mount.next()?);
        (kind == "cgroup" && has_cpu(options)).then_some((root, point))
    })?;
    let path = cgroups.lines().find_map(|line| {
        let mut fields = line.splitn(3, ':');
        let (_id, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
        has_cpu(controllers).then_some(path)
    })?;
    // A mount may show only part of the hierarchy (in a container): the path is below its root.
    let below = path.strip_prefix(mount_root)?.trim_start_matches('/');
    Some(Path::new(mount_point).join(below))
}

/// Removes the pens in `home` of dashboards no longer running. One whose threads still live
/// (a worker that outlived a killed dashboard) refuses removal and is left for next time.
fn sweep_stale(home: &Path, own: u32) {
    let Ok(entries) = fs::read_dir(home) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let pid = name.to_str().and_then(|name| name.strip_prefix(PREFIX)).and_then(|rest| rest.split('-').next());
        let Some(pid) = pid.and_then(|pid| pid.parse::<u32>().ok()) else {
            continue;
        };
        if pid != own && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_dir(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO_V1: &str = "\
24 1 254:0 / / rw,relatime - ext4 /dev/vda rw
30 25 0:26 / /sys/fs/cgroup/cpuacct rw,relatime shared:8 - cgroup cgroup rw,cpuacct
31 25 0:27 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu
32 25 0:28 / /sys/fs/cgroup/cpuset rw,relatime shared:10 - cgroup cgroup rw,cpuset
";

    #[test]
    fn the_home_is_the_cpu_hierarchy_joined_with_the_threads_cgroup() {
        let cgroups = "3:cpuset:/\n2:cpuacct:/\n1:cpu:/user.slice/session-2.scope\n0::/\n";
        assert_eq!(
            home_of(MOUNTINFO_V1, cgroups),
            Some(PathBuf::from("/sys/fs/cgroup/cpu/user.slice/session-2.scope"))
        );
        assert_eq!(home_of(MOUNTINFO_V1, "1:cpu:/\n"), Some(PathBuf::from("/sys/fs/cgroup/cpu/")));
    }

    #[test]
    fn cpu_shared_with_cpuacct_and_a_container_root_are_understood() {
        let mountinfo = "40 30 0:33 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro - cgroup cgroup rw,cpu,cpuacct\n";
        let cgroups = "4:cpu,cpuacct:/docker/abc/inner\n";
        assert_eq!(home_of(mountinfo, cgroups), Some(PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/inner")));
    }

    #[test]
    fn cgroup_v2_alone_or_no_cgroups_give_no_home() {
        let v2 = "35 25 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(home_of(v2, "0::/user.slice/user-1000.slice/session-2.scope\n"), None);
        assert_eq!(home_of("", ""), None);
        // cpuacct is not cpu.
        assert_eq!(home_of(MOUNTINFO_V1.lines().nth(1).unwrap_or_default(), "2:cpuacct:/\n"), None);
    }

    #[test]
    fn a_home_that_cannot_be_written_is_refused_in_one_line() {
        let missing = Path::new("/proc/no-such-cgroup-home");
        let error = CpuCgroup::create_in(missing, 1).expect_err("no such home");
        let line = error.to_string();
        assert!(line.starts_with("cannot create /proc/no-such-cgroup-home/concur-tui-1-"), "{line}");
        assert!(!line.contains('\n'));
    }

    /// The real hierarchy, where this process may create a cgroup (as root, as on CI): a thread
    /// that admits itself is in it and its creator is not, and dropping the pen removes it with
    /// the thread still inside.
    #[test]
    fn a_thread_that_admits_itself_is_in_the_pen_and_the_pen_goes_with_its_owner() {
        let pen = match CpuCgroup::create() {
            Ok(pen) => pen,
            Err(error) => {
                let writable = nix::unistd::access("/sys/fs/cgroup/cpu", nix::unistd::AccessFlags::W_OK).is_ok();
                assert!(!writable, "a writable cpu hierarchy, yet no pen: {error}");
                return;
            }
        };
        let cgroup_of = |tid: i32| fs::read_to_string(format!("/proc/self/task/{tid}/cgroup")).unwrap_or_default();
        let caller = || nix::unistd::gettid().as_raw();
        let pen_name = pen.dir().file_name().and_then(|name| name.to_str()).unwrap_or_default().to_owned();
        let in_pen = |tid: i32| cgroup_of(tid).lines().any(|line| line.contains(":cpu") && line.ends_with(&pen_name));
        let pen = std::sync::Arc::new(pen);
        let (started, told) = std::sync::mpsc::channel();
        let (finish, finished) = std::sync::mpsc::channel::<()>();
        let worker = std::thread::spawn({
            let pen = std::sync::Arc::clone(&pen);
            move || {
                let admitted = pen.admit_caller();
                drop(pen);
                let _ = started.send((admitted, caller()));
                let _ = finished.recv();
            }
        });
        let (admitted, worker_tid) = told.recv().expect("the worker says its id");
        assert!(admitted, "the kernel refused the move");
        assert!(in_pen(worker_tid), "worker {worker_tid}: {}", cgroup_of(worker_tid));
        assert!(!in_pen(caller()), "the caller is home again: {}", cgroup_of(caller()));
        let dir = pen.dir().to_owned();
        let pen = std::sync::Arc::into_inner(pen).expect("the worker let go of it");
        drop(pen);
        assert!(!dir.exists(), "{} removed with a thread still in it", dir.display());
        assert!(!in_pen(worker_tid));
        let _ = finish.send(());
        worker.join().expect("the worker ends");
    }

    #[test]
    fn pens_of_dead_dashboards_are_swept_and_others_kept() {
        /// A scratch home, removed with what is left in it however the test ends.
        struct Home(PathBuf);
        impl Drop for Home {
            fn drop(&mut self) {
                let _ = fs::remove_dir_all(&self.0);
            }
        }
        let home = Home(std::env::temp_dir().join(format!("concur-tui-pen-test-{}", std::process::id())));
        // pid_max is at most 2^22: this pid cannot be running.
        let dead = home.0.join(format!("{PREFIX}99999999-0"));
        let alive = home.0.join(format!("{PREFIX}{}-0", std::process::id()));
        let other = home.0.join("system.slice");
        for dir in [&dead, &alive, &other] {
            fs::create_dir_all(dir).expect("made");
        }
        sweep_stale(&home.0, 0);
        assert!(!dead.exists());
        assert!(alive.exists() && other.exists());
    }
}
