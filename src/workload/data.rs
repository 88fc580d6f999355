//! `data`: the articles' data-intensive processing. A dataset generated from a seed is split into one chunk per task;
//! each task reduces its chunk to a byte histogram; the coordinator combines the partial histograms and checks them
//! against the sequential result. Threads read the data in place; forked processes inherit it copy-on-write and never
//! copy it, since they only read. With `--transfer pipe` a worker instead asks the coordinator for each chunk over a
//! pipe and sends its histogram back, as `multiprocessing.Pool.map` pickles arguments and results.

use std::num::NonZeroUsize;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use nix::sys::mman::{mmap_anonymous, munmap, MapFlags, ProtFlags};

use super::imbalance::SEED;
use super::choice::choice;
use super::kind::{Footprint, Kind, OptionError, OptionSpec, Options, Setup, Shape, SizeSpec, Values, Variant};
use super::task::{
    fields_of, ExchangeError, Flow, Hooks, Line, Metrics, Preparing, RunCells, TalkingWorkload, TaskEnd, Transport, Unprepared,
    Workload,
};
use super::Choice;

const BINS: usize = 256;
/// Bytes between two checkpoints.
const CHUNK: usize = 1 << 20;

/// One histogram per task, in memory shared with forked workers (MAP_SHARED, made before any
/// fork), so the coordinator can combine what processes computed.
struct Partials {
    ptr: NonNull<AtomicU64>,
    len: usize,
}

// SAFETY: only atomics live in the mapping, which outlives every reference handed out.
unsafe impl Send for Partials {}
// SAFETY: as above.
unsafe impl Sync for Partials {}

impl Partials {
    fn new(tasks: usize) -> nix::Result<Self> {
        let len = tasks.max(1).checked_mul(BINS).ok_or(nix::Error::ENOMEM)?;
        let bytes =
            len.checked_mul(std::mem::size_of::<AtomicU64>()).and_then(NonZeroUsize::new).ok_or(nix::Error::ENOMEM)?;
        // SAFETY: a fresh anonymous shared mapping, zero-filled; zero bytes are valid atomics.
        let ptr =
            unsafe { mmap_anonymous(None, bytes, ProtFlags::PROT_READ | ProtFlags::PROT_WRITE, MapFlags::MAP_SHARED) }?;
        Ok(Self { ptr: ptr.cast(), len })
    }

    fn bins(&self, task: usize) -> &[AtomicU64] {
        // SAFETY: the mapping holds `len` atomics; callers stay within the tasks it was sized for.
        let all = unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) };
        all.get(task * BINS..(task + 1) * BINS).unwrap_or(&[])
    }
}

impl Drop for Partials {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, with its length; no reference outlives `self`.
        unsafe {
            let _ = munmap(self.ptr.cast(), self.len * std::mem::size_of::<AtomicU64>());
        }
    }
}

choice! {
    /// How a worker gets its chunk.
    pub(super) enum Transfer {
        "Read in place: shared by threads, inherited copy-on-write by forked processes, made anew from the seed by spawned ones." Inherit = "inherit",
        "Sent to the worker over a pipe, the histogram sent back: processes only." Pipe = "pipe",
    }
}

/// The catalog entry.
pub(super) struct Data;

impl Kind for Data {
    fn name(&self) -> &'static str {
        "data"
    }

    fn summary(&self) -> &'static str {
        "data-intensive: histograms of a dataset, combined and checked; shared, or sent over a pipe"
    }

    fn explanation(&self) -> &'static str {
        "A dataset made from a seed is split into chunks; each task counts the bytes of its \
         chunk and the partial histograms are combined and checked against a sequential \
         count. Threads read the data in place; forked processes inherit it copy-on-write, \
         and since they only read, nothing is copied. Transfer pipe sends every chunk to \
         its process and the result back, as multiprocessing's Pool.map does."
    }

    fn checksum_checks_result(&self) -> bool {
        true
    }

    fn size(&self) -> SizeSpec {
        // The dataset is held in memory whole, and made before the run starts.
        SizeSpec {
            unit: "MiB of data in all",
            short_unit: "MiB data",
            default: 64,
            watchable: 512,
            max: Some(1024),
            in_millions: false,
        }
    }

    fn options(&self) -> &'static [OptionSpec] {
        &[
            SEED,
            OptionSpec {
                flag: "transfer",
                help: "data: inherit (read in place, copy-on-write for processes) or pipe (each chunk sent to \
                       the worker process and its result sent back, as Pool.map)",
                values: Values::Choice(Transfer::NAMES),
                default: Some("inherit"),
            },
            OptionSpec {
                flag: "passes",
                help: "data: how many times each task counts its chunk, as an analysis that reads its data \
                       several times",
                values: Values::Number { from: 1 },
                default: Some("1"),
            },
        ]
    }

    /// 1 GiB is read in about half a second; a watchable run reads it several times.
    fn watchable_options(&self) -> &'static [(&'static str, &'static str)] {
        &[("passes", "40")]
    }

    fn check(&self, options: &mut Options, shape: &Shape) -> Result<(), OptionError> {
        if options.choice::<Transfer>("transfer") == Transfer::Pipe && !shape.processes {
            return Err(OptionError::Refused(
                "--transfer pipe sends each chunk to a worker process: use it with --model processes".to_owned(),
            ));
        }
        Ok(())
    }

    fn variants(&self, _processes: bool) -> &'static [Variant] {
        &[
            Variant { label: "inherit", sets: &[("transfer", "inherit")] },
            Variant { label: "pipe (Pool.map)", sets: &[("transfer", "pipe")] },
        ]
    }

    fn footprint(&self, setup: &Setup, _shape: &Shape, spawned: bool) -> Footprint {
        let bytes = setup.size.saturating_mul(1 << 20);
        // A spawned worker that reads in place makes the dataset anew for itself.
        let copies = spawned && setup.options.choice::<Transfer>("transfer") == Transfer::Inherit;
        // Beside the dataset, one shared histogram per task.
        let partials = setup.tasks.saturating_mul((BINS * std::mem::size_of::<u64>()) as u64);
        Footprint { per_worker: if copies { bytes } else { 0 }, once: bytes.saturating_add(partials), copied: 0 }
    }

    fn build(&self, setup: &Setup) -> Box<dyn Workload> {
        let mut histograms =
            Histograms::new(setup.size, setup.options.number("seed"), setup.tasks, setup.options.choice("transfer"));
        histograms.passes = setup.options.number("passes").max(1);
        Box::new(histograms)
    }
}

/// What a data run shows: whether the partial histograms add up, and what crossed the pipes.
#[derive(Debug, serde::Serialize)]
struct Figures {
    transfer: &'static str,
    bytes: usize,
    histogram_matches: Option<bool>,
    bytes_transferred: u64,
    transfer_seconds: f64,
}

impl Metrics for Figures {
    fn headline(&self) -> Option<String> {
        (self.transfer == Transfer::Pipe.name() && self.histogram_matches == Some(true))
            .then(|| format!("ok, {} piped", crate::units::format_bytes(self.bytes_transferred)))
    }

    fn json(&self) -> serde_json::Map<String, serde_json::Value> {
        fields_of(self)
    }
}

/// The workload: the histograms of a seeded dataset, one chunk per task.
pub(super) struct Histograms {
    len: usize,
    seed: u64,
    tasks: u64,
    transfer: Transfer,
    /// Times each task counts its chunk; the histogram holds every pass.
    passes: u64,
    /// Made by [`Workload::prepare`] in the program, before any worker exists, so forked workers
    /// share its pages; made on first use in a spawned worker that reads in place.
    bytes: OnceLock<Vec<u8>>,
    /// The histogram of the whole dataset, counted sequentially.
    whole: OnceLock<[u64; BINS]>,
    partials: Option<Partials>,
}

impl Histograms {
    /// The dataset of `mib` MiB from `seed`, and the shared space for `tasks` partial results.
    #[must_use]
    pub(super) fn new(mib: u64, seed: u64, tasks: u64, transfer: Transfer) -> Self {
        let partials = usize::try_from(tasks).ok().and_then(|tasks| Partials::new(tasks).ok());
        Self {
            len: usize::try_from(mib).unwrap_or(0).saturating_mul(1 << 20),
            seed,
            tasks,
            transfer,
            passes: 1,
            bytes: OnceLock::new(),
            whole: OnceLock::new(),
            partials,
        }
    }

    /// The dataset, made on first use where [`Workload::prepare`] did not make it (a spawned
    /// worker), or why it cannot be.
    fn dataset(&self) -> Result<&[u8], String> {
        if let Some(bytes) = self.bytes.get() {
            return Ok(bytes);
        }
        let made = make_dataset(self.seed, self.len, &|| false)?.unwrap_or_default();
        Ok(self.bytes.get_or_init(|| made))
    }

    fn whole_histogram(&self) -> &[u64; BINS] {
        self.whole.get_or_init(|| {
            let mut whole = [0u64; BINS];
            histogram_of(self.dataset().unwrap_or_default(), &mut whole);
            whole
        })
    }

    fn chunk_bounds(&self, task: u64) -> std::ops::Range<usize> {
        let (len, tasks) = (self.len as u128, u128::from(self.tasks.max(1)));
        let at = |task: u64| (len * u128::from(task) / tasks) as usize;
        at(task)..at(task + 1)
    }

    fn chunk(&self, task: u64) -> Result<&[u8], String> {
        Ok(&self.dataset()?[self.chunk_bounds(task)])
    }

    /// Counts `chunk` `passes` times, with a checkpoint after every piece; None when told to stop.
    fn count(&self, chunk: &[u8], hooks: &mut dyn Hooks) -> Option<[u64; BINS]> {
        let mut histogram = [0u64; BINS];
        let mut done = 0;
        for _ in 0..self.passes {
            for piece in chunk.chunks(CHUNK) {
                histogram_of(piece, &mut histogram);
                done += 1;
                if hooks.checkpoint(done) == Flow::Stop {
                    return None;
                }
            }
        }
        Some(histogram)
    }

    /// What the partial histograms must add up to: the whole dataset, counted `passes` times.
    fn expected_histogram(&self) -> [u64; BINS] {
        self.whole_histogram().map(|count| count.wrapping_mul(self.passes))
    }

    /// A pipe worker's task: ask for the chunk, count it, send the histogram back.
    fn run_piped(&self, task: u64, hooks: &mut dyn Hooks) -> Result<Option<[u64; BINS]>, ExchangeError> {
        let mut chunk = Vec::new();
        hooks.exchange(&task.to_le_bytes(), &mut chunk)?;
        if chunk.len() != self.chunk_bounds(task).len() {
            return Err(ExchangeError::Broken(format!("chunk {task} came with {} bytes", chunk.len())));
        }
        let Some(histogram) = self.count(&chunk, hooks) else {
            return Ok(None);
        };
        let mut message = Vec::with_capacity(8 + BINS * 8);
        message.extend_from_slice(&task.to_le_bytes());
        for count in histogram {
            message.extend_from_slice(&count.to_le_bytes());
        }
        hooks.exchange(&message, &mut chunk)?;
        Ok(Some(histogram))
    }

    fn store_partial(&self, task: u64, histogram: &[u64; BINS]) {
        if let Some(partials) = &self.partials {
            for (cell, count) in partials.bins(task as usize).iter().zip(histogram) {
                cell.store(*count, Ordering::Relaxed);
            }
        }
    }
}

/// What a histogram folds into for the run's checksum: linear, so partial digests add up to the
/// digest of the whole, and weighted per bin, so a misplaced count shows.
fn digest(histogram: &[u64]) -> u64 {
    histogram.iter().enumerate().fold(0u64, |sum, (bin, count)| {
        sum.wrapping_add(count.wrapping_mul((bin as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1))
    })
}

/// `len` reproducible bytes from `seed` (xorshift64), made a MiB at a time so that a stop
/// (`stopped` turning true) ends the making within a MiB; None when it did.
fn make_dataset(seed: u64, len: usize, stopped: &dyn Fn() -> bool) -> Result<Option<Vec<u8>>, String> {
    const STEP: usize = 1 << 20;
    let mut state = seed | 1;
    let mut data = Vec::new();
    // Fallible: under an address-space limit the run is refused, or the task fails, with the
    // reason instead of an abort.
    data.try_reserve_exact(len)
        .map_err(|error| format!("data: cannot allocate the {} MiB dataset: {error}", len >> 20))?;
    while data.len() < len {
        if data.len() % STEP == 0 && stopped() {
            return Ok(None);
        }
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data.extend_from_slice(&state.to_le_bytes()[..8.min(len - data.len())]);
    }
    Ok(Some(data))
}

fn histogram_of(bytes: &[u8], into: &mut [u64; BINS]) {
    for byte in bytes {
        into[usize::from(*byte)] += 1;
    }
}

impl Workload for Histograms {
    fn units_for(&self, task: u64) -> u64 {
        (self.chunk_bounds(task).len().div_ceil(CHUNK) as u64).saturating_mul(self.passes)
    }

    fn run_task(&self, task: u64, hooks: &mut dyn Hooks) -> TaskEnd {
        let histogram = match self.transfer {
            Transfer::Inherit => match self.chunk(task) {
                Ok(chunk) => self.count(chunk, hooks).inspect(|histogram| self.store_partial(task, histogram)),
                Err(why) => return TaskEnd::Failed(why),
            },
            Transfer::Pipe => match self.run_piped(task, hooks) {
                Ok(histogram) => histogram,
                // The coordinator is gone or garbled the data: fail rather than report the task.
                Err(error) => return error.task_end("data"),
            },
        };
        match histogram {
            Some(histogram) => TaskEnd::Completed { digest: digest(&histogram) },
            None => TaskEnd::Stopped,
        }
    }

    fn expected_checksum(&self, _tasks: u64) -> Option<u64> {
        Some(digest(&self.expected_histogram()))
    }

    fn prepares(&self) -> bool {
        true
    }

    fn prepare(&self, preparing: &Preparing<'_>) -> Result<Flow, Unprepared> {
        if self.bytes.get().is_some() {
            return Ok(Flow::Continue);
        }
        match make_dataset(self.seed, self.len, &|| preparing.stopped()).map_err(Unprepared)? {
            Some(data) => {
                let _ = self.bytes.set(data);
                Ok(Flow::Continue)
            }
            None => Ok(Flow::Stop),
        }
    }

    fn metrics(&self, run: &RunCells) -> Box<dyn Metrics> {
        let mut combined = [0u64; BINS];
        if let Some(partials) = &self.partials {
            for task in 0..run.tasks as usize {
                for (total, cell) in combined.iter_mut().zip(partials.bins(task)) {
                    *total += cell.load(Ordering::Relaxed);
                }
            }
        }
        // Spawned readers in place share only the board: their histograms arrive as digests.
        let combinable = self.partials.is_some() && (run.inherited_memory || self.transfer == Transfer::Pipe);
        let matches = combinable.then(|| run.tasks_done == run.tasks && combined == self.expected_histogram());
        Box::new(Figures {
            transfer: self.transfer.name(),
            bytes: self.len,
            histogram_matches: matches,
            bytes_transferred: run.line_bytes,
            transfer_seconds: run.line_seconds,
        })
    }

    /// Only the pipe transfer talks; the others share memory instead.
    fn as_talking(&self) -> Option<&dyn TalkingWorkload> {
        (self.transfer == Transfer::Pipe).then_some(self)
    }
}

impl TalkingWorkload for Histograms {
    fn transport(&self) -> Transport {
        Transport::Pipe
    }

    /// Hands out chunks and collects histograms: `[task]` asks for a chunk, `[task, 256
    /// counts]` brings a result, answered with an empty acknowledgement.
    fn serve(&self, _worker: usize, line: &mut dyn Line) {
        let mut message = Vec::new();
        while line.recv(&mut message).is_ok() {
            let Some(task) = message.get(..8).and_then(|bytes| bytes.try_into().ok()).map(u64::from_le_bytes) else {
                return;
            };
            if task >= self.tasks {
                return;
            }
            let reply: &[u8] = if message.len() == 8 {
                // The coordinator runs after prepare made the dataset; without it, the line
                // closes and the worker fails its task.
                let Ok(chunk) = self.chunk(task) else { return };
                chunk
            } else if message.len() == 8 + BINS * 8 {
                let mut histogram = [0u64; BINS];
                for (count, bytes) in histogram.iter_mut().zip(message[8..].chunks_exact(8)) {
                    *count = u64::from_le_bytes(bytes.try_into().unwrap_or_default());
                }
                self.store_partial(task, &histogram);
                &[]
            } else {
                return;
            };
            if line.send(reply).is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::testing::{Recorder, ScriptedLine};

    #[test]
    fn partial_histograms_add_up_to_the_whole() {
        let data = Histograms::new(1, 9, 5, Transfer::Inherit);
        let sum = (0..5).fold(0u64, |sum, task| match data.run_task(task, &mut Recorder::default()) {
            TaskEnd::Completed { digest } => sum.wrapping_add(digest),
            _ => sum,
        });
        assert_eq!(Some(sum), data.expected_checksum(5));
        assert_eq!(Histograms::new(1, 9, 5, Transfer::Pipe).dataset(), data.dataset(), "the seed makes the data");
    }

    #[test]
    fn the_coordinator_sends_chunks_and_keeps_the_histograms_it_gets() {
        let data = Histograms::new(1, 3, 4, Transfer::Pipe);
        let mut histogram = [0u64; BINS];
        histogram_of(data.chunk(2).expect("the dataset"), &mut histogram);
        let mut result = 2u64.to_le_bytes().to_vec();
        result.extend(histogram.iter().flat_map(|count| count.to_le_bytes()));
        // A worker that asks for chunk 2, then brings its histogram.
        let mut line = ScriptedLine { inbox: [2u64.to_le_bytes().to_vec(), result].into(), sent: Vec::new() };
        data.serve(0, &mut line);
        assert_eq!(line.sent, vec![data.chunk(2).expect("the dataset").to_vec(), Vec::new()]);
        let partials = data.partials.as_ref().expect("partials");
        let stored: Vec<u64> = partials.bins(2).iter().map(|cell| cell.load(Ordering::Relaxed)).collect();
        assert_eq!(stored, histogram);
    }
}
