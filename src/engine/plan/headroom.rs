//! How much memory this process may still take: the smallest of the kernel's `MemAvailable`
//! and the room left under each memory limit of the cgroups it belongs to (cgroup v2
//! `memory.max`, or v1 `memory.limit_in_bytes`, at its own level and every level above), and
//! the room one process has under its own limits (`RLIMIT_AS`, `RLIMIT_DATA`, less the address
//! space it already uses). [`Plan::check_memory`] refuses a plan whose workload's footprint
//! exceeds either before the run starts, instead of letting it be OOM-killed or abort on a failed
//! allocation with no report. Files are read through a function the caller passes and the
//! limits are passed in, so tests fake a limit without depending on this machine's memory.

use std::fmt;
use std::path::{Path, PathBuf};

use super::{Model, Plan, PlanError, StartMethod};
use crate::units::format_bytes;
use crate::workload::Shape;

/// Where cgroup hierarchies are mounted: v2 alone, or v2 beside v1 (hybrid).
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// Memory this process may still take, and what limits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Headroom {
    pub bytes: u64,
    pub limit: Limit,
}

/// What sets the [`Headroom`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Limit {
    /// The kernel's estimate of memory available without swapping (`/proc/meminfo`).
    MemAvailable,
    /// A cgroup's memory limit, and the directory that sets it.
    Cgroup { max: u64, dir: PathBuf },
}

impl fmt::Display for Headroom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.limit {
            Limit::MemAvailable => write!(f, "{} is available (MemAvailable)", format_bytes(self.bytes)),
            Limit::Cgroup { max, dir } => write!(
                f,
                "{} is available (cgroup limit {} at {})",
                format_bytes(self.bytes),
                format_bytes(*max),
                dir.display()
            ),
        }
    }
}

/// A limit of one process's own (`ulimit -v`, `ulimit -d`): every thread of a process shares
/// it, and each worker process has its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProcessLimit {
    /// `RLIMIT_AS`, against the address space in use (`VmSize`).
    AddressSpace,
    /// `RLIMIT_DATA`, against the private writable mappings in use (`VmData`).
    Data,
}

impl ProcessLimit {
    /// The `/proc/self/status` field that the kernel compares with the limit.
    fn status_field(self) -> &'static str {
        match self {
            Self::AddressSpace => "VmSize:",
            Self::Data => "VmData:",
        }
    }
}

/// The soft limits of this process, in bytes; None where unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct ProcessLimits {
    pub address_space: Option<u64>,
    pub data: Option<u64>,
}

impl ProcessLimits {
    /// This process's soft `RLIMIT_AS` and `RLIMIT_DATA` (`getrlimit`).
    #[must_use]
    pub(crate) fn current() -> Self {
        use nix::sys::resource::{getrlimit, Resource, RLIM_INFINITY};
        let soft = |resource| getrlimit(resource).ok().map(|(soft, _)| soft).filter(|soft| *soft != RLIM_INFINITY);
        Self { address_space: soft(Resource::RLIMIT_AS), data: soft(Resource::RLIMIT_DATA) }
    }
}

/// What one process may still map under its own limits: the tightest of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProcessRoom {
    pub bytes: u64,
    pub limit: ProcessLimit,
    /// The limit, and what this process already uses of it.
    pub max: u64,
    pub used: u64,
}

impl fmt::Display for ProcessRoom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, name, ulimit) = match self.limit {
            ProcessLimit::AddressSpace => ("address space", "RLIMIT_AS", "ulimit -v"),
            ProcessLimit::Data => ("data", "RLIMIT_DATA", "ulimit -d"),
        };
        write!(
            f,
            "{} of {what} is left ({name} {} set by {ulimit}, {} in use)",
            format_bytes(self.bytes),
            format_bytes(self.max),
            format_bytes(self.used)
        )
    }
}

/// Everything a plan's memory is checked against; None parts are unknown and refuse nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Room {
    pub machine: Option<Headroom>,
    pub process: Option<ProcessRoom>,
}

impl Room {
    /// This process's room now.
    #[must_use]
    pub(crate) fn current() -> Self {
        let read = |path: &Path| std::fs::read_to_string(path).ok();
        Self { machine: read_with(&read), process: process_room_with(&read, &ProcessLimits::current()) }
    }
}

impl Plan {
    /// Refuses a plan whose workload would hold more memory than the machine's headroom, or map
    /// more in one process than that process's own limits leave.
    pub(crate) fn check_memory(&self, room: &Room) -> Result<(), PlanError> {
        let spawned = self.start == StartMethod::Spawn;
        let shape = Shape { workers: self.workers, tasks: self.tasks, processes: self.model == Model::Processes };
        let footprint = self.workload.kind.footprint(&self.workload, &shape, spawned);
        let need = footprint.total(self.workers);
        let parts = || {
            let mut parts = Vec::new();
            if footprint.per_worker > 0 {
                let noun = if self.workers == 1 { "worker" } else { "workers" };
                parts.push(format!("{} {noun} × {}", self.workers, format_bytes(footprint.per_worker)));
            }
            if footprint.once > 0 {
                parts.push(format!("{} once", format_bytes(footprint.once)));
            }
            parts.join(" + ")
        };
        if let Some(headroom) = room.machine.as_ref().filter(|headroom| need > headroom.bytes) {
            return Err(PlanError::NotEnoughMemory(format!(
                "{}: {} need {}, but only {headroom}: use fewer workers or a smaller --size",
                self.workload.kind.name(),
                parts(),
                format_bytes(need),
            )));
        }
        let (in_one, whose) = self.one_process_need(&footprint, spawned);
        if let Some(process) = room.process.as_ref().filter(|process| in_one > process.bytes) {
            let need = if whose == "the program" { format!("{} need", parts()) } else { format!("{whose} needs") };
            return Err(PlanError::NotEnoughMemory(format!(
                "{}: {need} {} in one process, but only {process}: use fewer workers or a smaller --size, or \
                 raise the limit",
                self.workload.kind.name(),
                format_bytes(in_one),
            )));
        }
        Ok(())
    }

    /// The most one process of the run maps beyond what this process already does, and which
    /// process that is. Threads share the program's address space; each worker process has its
    /// own, a forked one starting with a copy of the program's (its inherited pages are already
    /// mapped there, so copying them on write maps nothing new), a spawned one starting afresh.
    fn one_process_need(&self, footprint: &crate::workload::Footprint, spawned: bool) -> (u64, &'static str) {
        if self.model != Model::Processes {
            return (footprint.total(self.workers), "the program");
        }
        let child = if spawned {
            footprint.per_worker
        } else {
            footprint.once.saturating_add(footprint.per_worker.saturating_sub(footprint.copied))
        };
        if child >= footprint.once {
            (child, "each worker process")
        } else {
            (footprint.once, "the program")
        }
    }
}

/// The room one process has under `limits`, reading what it already uses from
/// `/proc/self/status` through `read`; None when no limit is set.
#[must_use]
pub(crate) fn process_room_with(read: &dyn Fn(&Path) -> Option<String>, limits: &ProcessLimits) -> Option<ProcessRoom> {
    let status = read(Path::new("/proc/self/status")).unwrap_or_default();
    [(ProcessLimit::AddressSpace, limits.address_space), (ProcessLimit::Data, limits.data)]
        .into_iter()
        .filter_map(|(limit, max)| {
            let max = max?;
            let used = status_kib(&status, limit.status_field()).map_or(0, |kib| kib.saturating_mul(1024));
            Some(ProcessRoom { bytes: max.saturating_sub(used), limit, max, used })
        })
        .min_by_key(|room| room.bytes)
}

/// The headroom, reading every file through `read`.
#[must_use]
pub(crate) fn read_with(read: &dyn Fn(&Path) -> Option<String>) -> Option<Headroom> {
    let available = mem_available(&read(Path::new("/proc/meminfo"))?)?;
    let mut best = Headroom { bytes: available, limit: Limit::MemAvailable };
    let membership = read(Path::new("/proc/self/cgroup")).unwrap_or_default();
    for (dir, files) in limit_dirs(&membership) {
        for dir in ancestors_within(&dir) {
            if let Some(room) = cgroup_room(&dir, files, read) {
                if room.bytes < best.bytes {
                    best = room;
                }
            }
        }
    }
    Some(best)
}

/// The file names of one cgroup version: limit, usage, and the cache counted in usage that the
/// kernel would reclaim before it kills.
struct Files {
    max: &'static str,
    usage: &'static str,
    reclaimable: &'static str,
}

const V2: Files = Files { max: "memory.max", usage: "memory.current", reclaimable: "inactive_file" };
const V1: Files =
    Files { max: "memory.limit_in_bytes", usage: "memory.usage_in_bytes", reclaimable: "total_inactive_file" };

/// The cgroup directories of this process that may hold a memory limit, from
/// `/proc/self/cgroup`: the v2 one (`0::/path`) under both places v2 is mounted, and the v1
/// memory controller's (`N:memory:/path`).
fn limit_dirs(membership: &str) -> Vec<(PathBuf, &'static Files)> {
    let mut dirs = Vec::new();
    for line in membership.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        let relative = path.trim_start_matches('/');
        if id == "0" && controllers.is_empty() {
            for mount in [CGROUP_ROOT.to_owned(), format!("{CGROUP_ROOT}/unified")] {
                dirs.push((Path::new(&mount).join(relative), &V2));
            }
        } else if controllers.split(',').any(|name| name == "memory") {
            dirs.push((Path::new(CGROUP_ROOT).join("memory").join(relative), &V1));
        }
    }
    dirs
}

/// `dir` and its parents up to the cgroup mounts: a limit anywhere above applies too, and in a
/// container the mount point itself is the container's cgroup.
fn ancestors_within(dir: &Path) -> Vec<PathBuf> {
    dir.ancestors().take_while(|dir| dir.starts_with(CGROUP_ROOT)).map(Path::to_path_buf).collect()
}

/// The room left under `dir`'s limit, when it has one.
fn cgroup_room(dir: &Path, files: &Files, read: &dyn Fn(&Path) -> Option<String>) -> Option<Headroom> {
    let max: u64 = read(&dir.join(files.max))?.trim().parse().ok()?;
    // v1 writes "no limit" as a page-rounded i64::MAX.
    if max >= 1 << 62 {
        return None;
    }
    let usage: u64 = read(&dir.join(files.usage)).and_then(|text| text.trim().parse().ok()).unwrap_or(0);
    let reclaimable = read(&dir.join("memory.stat")).and_then(|stat| stat_field(&stat, files.reclaimable)).unwrap_or(0);
    let used = usage.saturating_sub(reclaimable);
    Some(Headroom { bytes: max.saturating_sub(used), limit: Limit::Cgroup { max, dir: dir.to_path_buf() } })
}

/// `MemAvailable` of `/proc/meminfo`, in bytes.
fn mem_available(meminfo: &str) -> Option<u64> {
    status_kib(meminfo, "MemAvailable:").map(|kib| kib * 1024)
}

/// A `Name:   1234 kB` line of `/proc/meminfo` or `/proc/self/status`, in KiB.
fn status_kib(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|line| line.starts_with(name))?;
    line[name.len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

/// A `name value` line of a `memory.stat` file.
fn stat_field(stat: &str, name: &str) -> Option<u64> {
    stat.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const GIB: u64 = 1 << 30;

    fn kind(name: &str) -> &'static dyn crate::workload::Kind {
        crate::workload::by_name(name).expect("a catalog entry")
    }

    fn reader(files: &[(&str, String)]) -> impl Fn(&Path) -> Option<String> {
        let files: HashMap<PathBuf, String> =
            files.iter().map(|(path, text)| (PathBuf::from(path), text.clone())).collect();
        move |path| files.get(path).cloned()
    }

    fn meminfo(gib: u64) -> (&'static str, String) {
        ("/proc/meminfo", format!("MemTotal: 99999999 kB\nMemAvailable: {} kB\n", gib * GIB / 1024))
    }

    #[test]
    fn without_a_cgroup_limit_mem_available_is_the_headroom() {
        let read = reader(&[
            meminfo(20),
            ("/proc/self/cgroup", "0::/user.slice\n".into()),
            ("/sys/fs/cgroup/user.slice/memory.max", "max\n".into()),
        ]);
        assert_eq!(read_with(&read), Some(Headroom { bytes: 20 * GIB, limit: Limit::MemAvailable }));
    }

    #[test]
    fn a_v2_limit_above_the_process_counts_less_its_use_and_plus_its_cache() {
        let read = reader(&[
            meminfo(20),
            ("/proc/self/cgroup", "0::/box/job\n".into()),
            ("/sys/fs/cgroup/box/job/memory.max", "max\n".into()),
            ("/sys/fs/cgroup/box/memory.max", format!("{GIB}\n")),
            ("/sys/fs/cgroup/box/memory.current", format!("{}\n", GIB / 2)),
            ("/sys/fs/cgroup/box/memory.stat", format!("anon 1\ninactive_file {}\n", GIB / 4)),
        ]);
        let headroom = read_with(&read).expect("meminfo");
        assert_eq!(headroom.bytes, GIB - GIB / 4);
        assert_eq!(headroom.limit, Limit::Cgroup { max: GIB, dir: PathBuf::from("/sys/fs/cgroup/box") });
        assert!(headroom.to_string().contains("cgroup limit 1.00 GiB at /sys/fs/cgroup/box"), "{headroom}");
    }

    #[test]
    fn a_v1_memory_controller_limit_counts_and_no_limit_does_not() {
        let v1 = |limit: u64| {
            reader(&[
                meminfo(20),
                ("/proc/self/cgroup", "4:memory:/job\n0::/\n".into()),
                ("/sys/fs/cgroup/memory/job/memory.limit_in_bytes", format!("{limit}\n")),
                ("/sys/fs/cgroup/memory/job/memory.usage_in_bytes", format!("{GIB}\n")),
            ])
        };
        assert_eq!(read_with(&v1(3 * GIB)).map(|room| room.bytes), Some(2 * GIB));
        let unlimited = read_with(&v1(9_223_372_036_854_771_712)).expect("meminfo");
        assert_eq!(unlimited.limit, Limit::MemAvailable);
    }

    #[test]
    fn a_run_that_cannot_fit_in_memory_is_refused_in_one_line() {
        const MIB: u64 = 1 << 20;
        let limit = |bytes: u64| Room {
            machine: Some(Headroom {
                bytes,
                limit: Limit::Cgroup { max: bytes, dir: std::path::PathBuf::from("/sys/fs/cgroup/box") },
            }),
            process: None,
        };
        let plan = |workload: &str, model: Model, workers: Option<usize>, size: u64| {
            crate::engine::PlanRequest {
                workers,
                tasks: 1024,
                size: Some(size),
                ..crate::engine::PlanRequest::new(kind(workload), model)
            }
            .validate_with(&[0, 1])
            .expect("valid")
        };
        let huge = plan("memory", Model::Threads, Some(1024), 8192);
        assert_eq!(
            huge.check_memory(&limit(1024 * MIB)),
            Err(PlanError::NotEnoughMemory(
                "memory: 1024 workers × 8.00 GiB need 8.00 TiB, but only 1.00 GiB is available (cgroup limit \
                 1.00 GiB at /sys/fs/cgroup/box): use fewer workers or a smaller --size"
                    .into()
            ))
        );
        // A forked worker holds its task's buffer and its copy of the inherited one; the program
        // holds the buffer to inherit: 2 × 400 + 200 MiB fit in 1 GiB, 3 × 400 + 200 do not.
        assert_eq!(plan("memory", Model::Processes, Some(2), 200).check_memory(&limit(1024 * MIB)), Ok(()));
        let three = plan("memory", Model::Processes, Some(3), 200).check_memory(&limit(1024 * MIB));
        assert!(
            matches!(&three, Err(PlanError::NotEnoughMemory(m)) if m.contains("3 workers × 400.0 MiB + 200.0 MiB once"))
        );
        // Threads and the sequential worker inherit nothing: no buffer to inherit is counted.
        assert_eq!(plan("memory", Model::Sequential, None, 1000).check_memory(&limit(1000 * MIB)), Ok(()));
        // data holds its dataset once, and once more in each spawned worker that reads in place.
        assert_eq!(plan("data", Model::Threads, Some(2), 1000).check_memory(&limit(1024 * MIB)), Ok(()));
        let many_tasks = crate::engine::PlanRequest {
            tasks: 1 << 30,
            ..crate::engine::PlanRequest::new(kind("data"), Model::Threads)
        };
        let refused = many_tasks.validate_with(&[0, 1]).expect("valid").check_memory(&limit(1 << 40));
        assert!(matches!(&refused, Err(PlanError::NotEnoughMemory(m)) if m.contains("2.00 TiB")), "{refused:?}");
        assert!(plan("data", Model::Threads, Some(2), 1024).check_memory(&limit(512 * MIB)).is_err());
        let spawned = crate::engine::PlanRequest {
            workers: Some(8),
            size: Some(512),
            start: StartMethod::Spawn,
            ..crate::engine::PlanRequest::new(kind("data"), Model::Processes)
        }
        .validate_with(&[0, 1])
        .expect("valid");
        assert!(spawned.check_memory(&limit(2048 * MIB)).is_err());
        // Workloads that hold no memory in proportion to their size, or an unknown headroom,
        // refuse nothing.
        assert_eq!(plan("cpu", Model::Threads, Some(1024), 1 << 40).check_memory(&limit(MIB)), Ok(()));
        assert_eq!(huge.check_memory(&Room::default()), Ok(()));
    }

    #[test]
    fn an_address_space_limit_counts_what_one_process_already_maps_and_will_map() {
        const MIB: u64 = 1 << 20;
        // `ulimit -v 1500000` with 100 MiB mapped: 1.33 GiB left, whatever the machine has.
        let status = "Name:\tconcur-tui\nVmPeak:\t  120000 kB\nVmSize:\t  102400 kB\nVmData:\t   20480 kB\n";
        let read = reader(&[("/proc/self/status", status.to_owned())]);
        let limits = ProcessLimits { address_space: Some(1_500_000 * 1024), data: None };
        let process = process_room_with(&read, &limits).expect("a limit is set");
        assert_eq!(
            (process.limit, process.used, process.bytes),
            (ProcessLimit::AddressSpace, 100 * MIB, (1_500_000 - 102_400) * 1024)
        );
        assert_eq!(process_room_with(&read, &ProcessLimits::default()), None, "unlimited: nothing to check");
        // RLIMIT_DATA counts against VmData; the tighter limit is the one that holds.
        let data = process_room_with(&read, &ProcessLimits { data: Some(600 * MIB), ..limits }).expect("limits");
        assert_eq!((data.limit, data.bytes), (ProcessLimit::Data, 580 * MIB));
        let room = Room { machine: None, process: Some(process) };
        let plan = |model: Model, workers: usize, size: u64| {
            crate::engine::PlanRequest {
                workers: Some(workers),
                tasks: 2,
                size: Some(size),
                ..crate::engine::PlanRequest::new(kind("memory"), model)
            }
            .validate_with(&[0, 1])
            .expect("valid")
        };
        // Threads share one address space: 2 × 1 GiB cannot fit in 1.33 GiB, 2 × 600 MiB can.
        let refused = plan(Model::Threads, 2, 1024).check_memory(&room);
        let Err(PlanError::NotEnoughMemory(message)) = &refused else { panic!("refused: {refused:?}") };
        assert!(message.contains("2 workers × 1.00 GiB need 2.00 GiB in one process"), "{message}");
        assert!(message.contains("RLIMIT_AS 1.43 GiB set by ulimit -v, 100.0 MiB in use"), "{message}");
        assert!(!message.contains('\n'));
        assert_eq!(plan(Model::Threads, 2, 600).check_memory(&room), Ok(()));
        // Each forked worker has its own: the inherited buffer (mapped before the fork) and its
        // own, its copy-on-write copy mapping nothing new. 8 × 600 MiB fit, one 1 GiB does not.
        assert_eq!(plan(Model::Processes, 8, 600).check_memory(&room), Ok(()));
        let one = plan(Model::Processes, 1, 1024).check_memory(&room);
        assert!(
            matches!(&one, Err(PlanError::NotEnoughMemory(m)) if m.contains("each worker process needs 2.00 GiB")),
            "{one:?}"
        );
    }

    #[test]
    fn no_meminfo_no_headroom() {
        assert_eq!(read_with(&reader(&[])), None);
    }
}
