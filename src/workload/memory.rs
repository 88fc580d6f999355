//! `memory`: each task allocates and touches `--size` MiB; a worker process also writes into a
//! buffer it inherited across fork, so copy-on-write copies it. Each worker then reads its own
//! RSS and PSS from `/proc/self/smaps_rollup`: processes cost more memory than threads, and
//! copy-on-write shows up as soon as an inherited page is written.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

use super::kind::{Footprint, Kind, PythonTwin, Setup, Shape, SizeSpec};
use super::task::{fields_of, Flow, Hooks, Measure, Metrics, Preparing, RunCells, TaskEnd, Unprepared, Workload};

const MIB: usize = 1 << 20;
const PAGE: usize = 4096;

/// The catalog entry.
pub(super) struct Memory;

impl Kind for Memory {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn summary(&self) -> &'static str {
        "each worker allocates and touches memory: processes cost more, copy-on-write shows"
    }

    fn explanation(&self) -> &'static str {
        "Each task allocates and touches its size in MiB, and a worker process also writes \
         a buffer it inherited, so copy-on-write copies it. Workers report their RSS and \
         PSS: threads share one address space, processes each pay for their own copy."
    }

    fn size(&self) -> SizeSpec {
        SizeSpec {
            unit: "MiB per task",
            short_unit: "MiB",
            default: 64,
            watchable: 512,
            max: Some(8192),
            in_millions: false,
        }
    }

    fn footprint(&self, setup: &Setup, shape: &Shape, spawned: bool) -> Footprint {
        let bytes = setup.size.saturating_mul(MIB as u64);
        if shape.processes && !spawned {
            // A forked worker writes every page of the buffer it inherited, so it ends up with
            // a copy of it beside its own.
            Footprint { per_worker: bytes.saturating_mul(2), once: bytes, copied: bytes }
        } else {
            Footprint { per_worker: bytes, once: 0, copied: 0 }
        }
    }

    fn build(&self, setup: &Setup) -> Box<dyn Workload> {
        Box::new(Touching::new(setup.size))
    }

    fn python(&self) -> Option<PythonTwin> {
        // Touching memory costs CPython what it costs Rust: the native sizes.
        Some(PythonTwin { source: PYTHON_TWIN, size: self.size(), on_event_loop: false })
    }
}

/// The Python twin: each task holds its size in `bytearray`s of 1 MiB (zero-filled, so every
/// page is written and resident), then the worker reads its process's RSS and PSS from
/// `/proc/self/smaps_rollup` into its slot. A worker process's figures include its own
/// interpreter; threads share one. Nothing is inherited: the host makes no buffer before it
/// forks. The digest is the task's index + 1, as the native one's.
const PYTHON_TWIN: &str = r"
MIB = 1 << 20


def task(index, size, options, h):
    held = []
    for done in range(size):
        held.append(bytearray(MIB))
        if not h.checkpoint(done + 1):
            return None
    h.measure_memory()
    return index + 1
";

/// The workload: every task allocates and touches `mib`, a process also writes what it inherited.
pub(super) struct Touching {
    pub mib: u64,
    /// Allocated and touched by [`Workload::prepare`] in the engine's process before any worker
    /// exists, and only when workers are forked: they inherit it. Threads and spawned processes
    /// inherit nothing, so nothing is made for them. Only processes write it (one worker each);
    /// atomics keep a shared write well-defined anyway.
    inherited: OnceLock<Vec<AtomicU8>>,
}

impl Touching {
    #[must_use]
    pub(super) fn new(mib: u64) -> Self {
        Self { mib, inherited: OnceLock::new() }
    }
}

/// What the run cost in memory, in all; the names are the JSON contract's.
#[derive(Debug, serde::Serialize)]
#[allow(clippy::struct_field_names)]
struct Figures {
    rss_bytes: u64,
    pss_bytes: u64,
    inherited_bytes: usize,
    /// How many workers share `pss_bytes`, for the measure a worker; not in the JSON.
    #[serde(skip)]
    workers: usize,
}

impl Metrics for Figures {
    fn headline(&self) -> Option<String> {
        Some(format!("PSS {}", crate::units::format_bytes(self.pss_bytes)))
    }

    /// Memory a worker is the lesson: processes each pay for their own, threads share one.
    fn measure(&self) -> Option<Measure> {
        let per_worker = self.pss_bytes / self.workers.max(1) as u64;
        (self.pss_bytes > 0).then(|| Measure {
            value: per_worker as f64,
            higher_is_better: false,
            wins_by: "took less memory a worker",
            text: format!("PSS {} a worker", crate::units::format_bytes(per_worker)),
        })
    }

    fn json(&self) -> serde_json::Map<String, serde_json::Value> {
        fields_of(self)
    }
}

impl Workload for Touching {
    fn units_for(&self, _task: u64) -> u64 {
        self.mib
    }

    fn run_task(&self, task: u64, hooks: &mut dyn Hooks) -> TaskEnd {
        let mib = usize::try_from(self.mib).unwrap_or(0);
        // Fallible: under an address-space limit (`ulimit -v`) the task fails with the reason
        // instead of the allocator aborting the program or the worker.
        let mut own = Vec::<u8>::new();
        if let Err(error) = own.try_reserve_exact(mib.saturating_mul(MIB)) {
            return TaskEnd::Failed(format!("memory: cannot allocate the task's {} MiB: {error}", self.mib));
        }
        let in_process = hooks.cells().in_process;
        for done in 0..mib {
            // Writing the zeros makes every page resident.
            own.extend(std::iter::repeat_n(0u8, MIB));
            if let Some(inherited) = self.inherited.get().filter(|_| in_process) {
                for page in (done * MIB..(done + 1) * MIB).step_by(PAGE) {
                    if let Some(byte) = inherited.get(page) {
                        byte.store(2, Ordering::Relaxed);
                    }
                }
            }
            if hooks.checkpoint(done as u64 + 1) == Flow::Stop {
                return TaskEnd::Stopped;
            }
        }
        if let Some((rss, pss)) = own_memory() {
            let cells = hooks.cells();
            cells.rss_bytes.store(rss, Ordering::Relaxed);
            cells.pss_bytes.store(pss, Ordering::Relaxed);
        }
        std::hint::black_box(&own);
        TaskEnd::Completed { digest: task + 1 }
    }

    fn expected_checksum(&self, tasks: u64) -> Option<u64> {
        Some(tasks.wrapping_mul(tasks.wrapping_add(1)) / 2)
    }

    fn prepares(&self) -> bool {
        true
    }

    fn prepare(&self, preparing: &Preparing<'_>) -> Result<Flow, Unprepared> {
        if !preparing.forked || self.inherited.get().is_some() {
            return Ok(Flow::Continue);
        }
        let mib = usize::try_from(self.mib).unwrap_or(0);
        let mut inherited = Vec::new();
        inherited.try_reserve_exact(mib.saturating_mul(MIB)).map_err(|error| {
            Unprepared(format!("memory: cannot allocate the {} MiB buffer to inherit: {error}", self.mib))
        })?;
        for _ in 0..mib {
            if preparing.stopped() {
                return Ok(Flow::Stop);
            }
            // Non-zero, so every page is written and resident before the fork.
            inherited.extend((0..MIB).map(|_| AtomicU8::new(1)));
        }
        let _ = self.inherited.set(inherited);
        Ok(Flow::Continue)
    }

    fn metrics(&self, run: &RunCells) -> Box<dyn Metrics> {
        // Threads share one process: its PSS is the total. Processes add up, with the parent
        // (which holds the inherited buffer) on top.
        let (rss, pss) = if run.processes {
            let parent = own_memory().unwrap_or((0, 0));
            (parent.0 + run.rss_bytes.iter().sum::<u64>(), parent.1 + run.pss_bytes.iter().sum::<u64>())
        } else {
            (run.rss_bytes.iter().copied().max().unwrap_or(0), run.pss_bytes.iter().copied().max().unwrap_or(0))
        };
        Box::new(Figures {
            rss_bytes: rss,
            pss_bytes: pss,
            inherited_bytes: self.inherited.get().map_or(0, Vec::len),
            workers: run.pss_bytes.len(),
        })
    }
}

/// RSS and PSS of the calling process, in bytes, from `/proc/self/smaps_rollup`.
#[must_use]
pub(super) fn own_memory() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/self/smaps_rollup").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|line| line.starts_with(name))?;
        let kib: u64 = line[name.len()..].trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kib * 1024)
    };
    Some((field("Rss:")?, field("Pss:")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_forked_workers_get_a_buffer_to_inherit() {
        let stop = std::sync::atomic::AtomicBool::new(false);
        let threads = Touching::new(2);
        assert_eq!(threads.prepare(&Preparing::new(false, &stop)), Ok(Flow::Continue));
        assert!(threads.inherited.get().is_none(), "threads inherit nothing: nothing is allocated");
        let forked = Touching::new(2);
        assert_eq!(forked.prepare(&Preparing::new(true, &stop)), Ok(Flow::Continue));
        assert_eq!(forked.inherited.get().map(Vec::len), Some(2 * MIB));
        stop.store(true, Ordering::Relaxed);
        let stopped = Touching::new(2);
        assert_eq!(stopped.prepare(&Preparing::new(true, &stop)), Ok(Flow::Stop));
        assert!(stopped.inherited.get().is_none());
    }

    #[test]
    fn reads_its_own_memory() {
        let (rss, pss) = own_memory().expect("smaps_rollup");
        assert!(rss > 0 && pss > 0 && pss <= rss);
    }
}
