//! How much memory this process may still take: the smallest of the kernel's `MemAvailable`
//! and the room left under each memory limit of the cgroups it belongs to (cgroup v2
//! `memory.max`, or v1 `memory.limit_in_bytes`, at its own level and every level above), and
//! [`Plan::check_memory`], which refuses a plan whose workload's footprint exceeds it before the
//! run starts, instead of letting it be OOM-killed with no report. Files are read through a function the caller passes, so
//! tests fake a limit without depending on this machine's memory.

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

impl Plan {
    /// Refuses a plan whose workload would hold more memory than `headroom` (None: unknown,
    /// nothing is refused).
    pub(crate) fn check_memory(&self, headroom: Option<&Headroom>) -> Result<(), PlanError> {
        let spawned = self.start == StartMethod::Spawn;
        let shape = Shape { workers: self.workers, tasks: self.tasks, processes: self.model == Model::Processes };
        let footprint = self.workload.kind.footprint(&self.workload, &shape, spawned);
        let need = footprint.total(self.workers);
        match headroom {
            Some(headroom) if need > headroom.bytes => {
                let mut parts = Vec::new();
                if footprint.per_worker > 0 {
                    let noun = if self.workers == 1 { "worker" } else { "workers" };
                    parts.push(format!("{} {noun} × {}", self.workers, format_bytes(footprint.per_worker)));
                }
                if footprint.once > 0 {
                    parts.push(format!("{} once", format_bytes(footprint.once)));
                }
                Err(PlanError::NotEnoughMemory(format!(
                    "{}: {} need {}, but only {headroom}: use fewer workers or a smaller --size",
                    self.workload.kind.name(),
                    parts.join(" + "),
                    format_bytes(need),
                )))
            }
            _ => Ok(()),
        }
    }
}

/// This process's headroom, from procfs and the cgroup filesystem; None when even
/// `/proc/meminfo` cannot be read (then nothing is refused).
#[must_use]
pub(crate) fn current() -> Option<Headroom> {
    read_with(&|path| std::fs::read_to_string(path).ok())
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
    let line = meminfo.lines().find(|line| line.starts_with("MemAvailable:"))?;
    let kib: u64 = line["MemAvailable:".len()..].trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
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
        let limit = |bytes: u64| Headroom {
            bytes,
            limit: Limit::Cgroup { max: bytes, dir: std::path::PathBuf::from("/sys/fs/cgroup/box") },
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
            huge.check_memory(Some(&limit(1024 * MIB))),
            Err(PlanError::NotEnoughMemory(
                "memory: 1024 workers × 8.00 GiB need 8.00 TiB, but only 1.00 GiB is available (cgroup limit \
                 1.00 GiB at /sys/fs/cgroup/box): use fewer workers or a smaller --size"
                    .into()
            ))
        );
        // A forked worker holds its task's buffer and its copy of the inherited one; the program
        // holds the buffer to inherit: 2 × 400 + 200 MiB fit in 1 GiB, 3 × 400 + 200 do not.
        assert_eq!(plan("memory", Model::Processes, Some(2), 200).check_memory(Some(&limit(1024 * MIB))), Ok(()));
        let three = plan("memory", Model::Processes, Some(3), 200).check_memory(Some(&limit(1024 * MIB)));
        assert!(
            matches!(&three, Err(PlanError::NotEnoughMemory(m)) if m.contains("3 workers × 400.0 MiB + 200.0 MiB once"))
        );
        // Threads and the sequential worker inherit nothing: no buffer to inherit is counted.
        assert_eq!(plan("memory", Model::Sequential, None, 1000).check_memory(Some(&limit(1000 * MIB))), Ok(()));
        // data holds its dataset once, and once more in each spawned worker that reads in place.
        assert_eq!(plan("data", Model::Threads, Some(2), 1000).check_memory(Some(&limit(1024 * MIB))), Ok(()));
        let many_tasks = crate::engine::PlanRequest {
            tasks: 1 << 30,
            ..crate::engine::PlanRequest::new(kind("data"), Model::Threads)
        };
        let refused = many_tasks.validate_with(&[0, 1]).expect("valid").check_memory(Some(&limit(1 << 40)));
        assert!(matches!(&refused, Err(PlanError::NotEnoughMemory(m)) if m.contains("2.00 TiB")), "{refused:?}");
        assert!(plan("data", Model::Threads, Some(2), 1024).check_memory(Some(&limit(512 * MIB))).is_err());
        let spawned = crate::engine::PlanRequest {
            workers: Some(8),
            size: Some(512),
            start: StartMethod::Spawn,
            ..crate::engine::PlanRequest::new(kind("data"), Model::Processes)
        }
        .validate_with(&[0, 1])
        .expect("valid");
        assert!(spawned.check_memory(Some(&limit(2048 * MIB))).is_err());
        // Workloads that hold no memory in proportion to their size, or an unknown headroom,
        // refuse nothing.
        assert_eq!(plan("cpu", Model::Threads, Some(1024), 1 << 40).check_memory(Some(&limit(MIB))), Ok(()));
        assert_eq!(huge.check_memory(None), Ok(()));
    }

    #[test]
    fn no_meminfo_no_headroom() {
        assert_eq!(read_with(&reader(&[])), None);
    }
}
