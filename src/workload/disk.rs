//! `disk`: file I/O as the articles mean it. Each task writes `--size` MiB of seeded data to a
//! file, fsyncs it, drops it from the page cache, reads it back and checks every byte, in a
//! private directory the program makes for the run ([`Scratch`]) and removes on every way out
//! it survives. Writes, fsyncs and reads are blocking waits: the interpreter lock is released
//! around them, as CPython does. On the event loop (`--model async`) each file call goes to a
//! helper thread of the loop's runtime (tokio's blocking pool, as asyncio's `run_in_executor`
//! or aiofiles do) and the task awaits it: making and checking the data stay on the loop
//! (`disk/on_loop.rs`).

mod on_loop;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::kind::{Kind, PythonTwin, Setup, SizeSpec};
use super::task::{
    fields_of, AsyncWorkload, Cells, Flow, Hooks, LiveCells, Metrics, Preparing, RunCells, TaskEnd, Unprepared,
    Workload,
};
use crate::files::PrivateDir as Scratch;

/// The purpose in the name of disk's private directory.
const SCRATCH_PURPOSE: &str = "disk";

const MIB: usize = 1 << 20;
/// Bytes in a megabyte, as disk speeds are quoted.
const MB: f64 = 1e6;

/// The catalog entry.
pub(super) struct Disk;

impl Kind for Disk {
    fn name(&self) -> &'static str {
        "disk"
    }

    fn summary(&self) -> &'static str {
        "file I/O: write, fsync, read back and check; threads overlap the waits, lock or not"
    }

    fn explanation(&self) -> &'static str {
        "Each task writes its MiB to a file, fsyncs it, drops it from the page cache and reads \
         it back, so both figures are the disk's, not memory's (on tmpfs they are memory's). \
         The interpreter lock is released while the disk works: threads overlap their waits \
         until the device is busy. The files live in a private directory removed at the end, \
         Ctrl-C and crashed workers included. With the async model the loop hands each file \
         call to a helper thread (tokio's blocking pool, as asyncio's run_in_executor does) \
         and awaits it: the tasks share one thread, their file calls do not."
    }

    fn size(&self) -> SizeSpec {
        SizeSpec {
            unit: "MiB per task",
            short_unit: "MiB",
            default: 8,
            watchable: 64,
            max: Some(4096),
            in_millions: false,
        }
    }

    fn build(&self, setup: &Setup) -> Box<dyn Workload> {
        Box::new(Files { mib: setup.size, scratch: OnceLock::new() })
    }

    fn python(&self) -> Option<PythonTwin> {
        Some(PythonTwin { source: PYTHON_TWIN, size: self.size(), on_event_loop: true })
    }
}

/// The same task in Python, in the run's directory (the program's, told in the spec): write
/// each MiB with `os.write`, `os.fsync`, drop the pages (`os.posix_fadvise`), reopen, read back
/// and check, remove; each call a blocking wait, timed around the call. On the loop each call
/// goes to `run_in_executor`'s helper threads, their CPU time counted as the task's. The bytes
/// are SHAKE-128 of the task and MiB (C speed) instead of the native splitmix64 words, which
/// pure Python makes at about 13 MiB/s: that would turn a lesson about waits into one about
/// computing. Digests are the native ones (the task's index + 1); write times go in the
/// worker's own counter, read times in the shared one, as natively.
const PYTHON_TWIN: &str = r"
import hashlib
import os
import time

MIB = 1 << 20


def content(index, chunk):
    return hashlib.shake_128('concur-tui disk {} {}'.format(index, chunk).encode()).digest(MIB)


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def read_exactly(reader, buf):
    view, filled = memoryview(buf), 0
    while filled < len(buf):
        got = reader.readinto(view[filled:])
        if not got:
            raise EOFError('the file ends {} bytes short'.format(len(buf) - filled))
        filled += got


def timed(h, call, *args):
    # A file call as a blocking wait: its result and the nanoseconds it took.
    with h.blocked():
        started = time.monotonic_ns()
        value = call(*args)
        return value, time.monotonic_ns() - started


def write_file(index, size, path, h):
    # Writes and fsyncs the file: the time in writes and the fsync, or None when stopped.
    spent = 0
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        for chunk in range(size):
            spent += timed(h, write_all, fd, content(index, chunk))[1]
            if not h.checkpoint(chunk + 1):
                return None
        spent += timed(h, os.fsync, fd)[1]
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return spent


def read_file(index, size, path, h):
    # Reads the file back and checks every byte: the time in reads, or None when stopped.
    spent, buf = 0, bytearray(MIB)
    with open(path, 'rb', buffering=0) as reader:
        for chunk in range(size):
            spent += timed(h, read_exactly, reader, buf)[1]
            if buf != content(index, chunk):
                raise ValueError('disk: MiB {} of {} reads back wrong'.format(chunk, path))
            if not h.checkpoint(size + chunk + 1):
                return None
    return spent


def count(index, writing, reading, h):
    if reading is None:
        return None
    h.add_own(writing)
    h.add_shared(reading)
    return index + 1


def task(index, size, options, h):
    path = os.path.join(h.context('dir'), 'task-{}.bin'.format(index))
    reading = None
    try:
        writing = write_file(index, size, path, h)
        if writing is not None:
            reading = read_file(index, size, path, h)
    finally:
        # One file at a time per worker: the disk holds workers x size, not tasks x size.
        if os.path.exists(path):
            os.remove(path)
    return count(index, writing, reading, h)


async def off_loop(h, call, *args):
    # A file call on a helper thread, awaited as blocked time: its result and the nanoseconds
    # it took there; the CPU time it took there is the task's.
    import asyncio

    def measured():
        cpu, started = time.thread_time_ns(), time.monotonic_ns()
        value = call(*args)
        return value, time.monotonic_ns() - started, time.thread_time_ns() - cpu

    with h.blocked():
        value, took, cpu = await asyncio.get_running_loop().run_in_executor(None, measured)
    h.add_helper_cpu(cpu)
    return value, took


async def write_file_async(index, size, path, h):
    spent = 0
    fd = (await off_loop(h, os.open, path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600))[0]
    try:
        for chunk in range(size):
            spent += (await off_loop(h, write_all, fd, content(index, chunk)))[1]
            if not h.checkpoint(chunk + 1):
                return None
        spent += (await off_loop(h, os.fsync, fd))[1]
        await off_loop(h, os.posix_fadvise, fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        await off_loop(h, os.close, fd)
    return spent


async def read_file_async(index, size, path, h):
    spent, buf = 0, bytearray(MIB)
    reader = (await off_loop(h, open, path, 'rb', 0))[0]
    try:
        for chunk in range(size):
            spent += (await off_loop(h, read_exactly, reader, buf))[1]
            if buf != content(index, chunk):
                raise ValueError('disk: MiB {} of {} reads back wrong'.format(chunk, path))
            if not h.checkpoint(size + chunk + 1):
                return None
    finally:
        await off_loop(h, reader.close)
    return spent


async def task_async(index, size, options, h):
    path = os.path.join(h.context('dir'), 'task-{}.bin'.format(index))
    reading = None
    try:
        writing = await write_file_async(index, size, path, h)
        if writing is not None:
            reading = await read_file_async(index, size, path, h)
    finally:
        if os.path.exists(path):
            await off_loop(h, os.remove, path)
    return count(index, writing, reading, h)
";

/// The workload: task `t` writes and reads back `mib` MiB in `task-t.bin`.
pub(super) struct Files {
    mib: u64,
    /// The run's directory, made by [`Workload::prepare`] in the program; forked workers
    /// inherit it. Empty in a spawned worker, which finds it by its parent's pid.
    scratch: OnceLock<Result<Scratch, String>>,
}

/// What a disk run shows: how fast one writer and one reader went, and the run in all.
#[derive(Debug, serde::Serialize)]
struct Figures {
    /// The file system under the directory (`ext4`, `tmpfs`…): tmpfs measures memory.
    filesystem: String,
    bytes_written: u64,
    bytes_read: u64,
    /// Workers' time in write and fsync calls, and in read calls, summed.
    write_seconds: f64,
    read_seconds: f64,
    /// MB (10⁶ bytes) a second one writer saw, fsync included; and one reader.
    write_mb_per_second: Option<f64>,
    read_mb_per_second: Option<f64>,
    /// Everything written and read over the run's wall time: what more workers change.
    run_mb_per_second: Option<f64>,
}

impl Metrics for Figures {
    fn headline(&self) -> Option<String> {
        match (self.write_mb_per_second, self.read_mb_per_second) {
            (Some(write), Some(read)) => Some(format!("write {write:.0} MB/s, read {read:.0} MB/s")),
            _ => None,
        }
    }

    fn json(&self) -> serde_json::Map<String, serde_json::Value> {
        fields_of(self)
    }
}

/// The seeded content of word `word` of task `task`'s file (splitmix64).
fn word_of(task: u64, word: u64) -> u64 {
    let mut z = (task << 40 ^ word).wrapping_add(0x9E37_79B9_7F4A_7C15).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Runs `io`, adding the time it took to `spent`.
fn timed<T>(spent: &mut Duration, io: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let result = io();
    *spent += started.elapsed();
    result
}

/// Fills `buf` with MiB `chunk` of task `task`'s file.
fn fill(buf: &mut [u8], task: u64, chunk: u64) {
    let first = chunk * (MIB / 8) as u64;
    for (at, bytes) in buf.chunks_exact_mut(8).enumerate() {
        bytes.copy_from_slice(&word_of(task, first + at as u64).to_le_bytes());
    }
}

impl Files {
    fn scratch(&self) -> Result<PathBuf, String> {
        match self.scratch.get() {
            Some(made) => made.as_ref().map(|scratch| scratch.path().to_owned()).map_err(Clone::clone),
            None => Scratch::find_for(SCRATCH_PURPOSE, nix::unistd::getppid()),
        }
    }

    /// Task `task`'s file in the run's directory, or how the task ends without one.
    fn task_path(&self, task: u64) -> Result<PathBuf, TaskEnd> {
        let dir = self.scratch().map_err(|why| TaskEnd::Failed(format!("disk: {why}")))?;
        Ok(dir.join(format!("task-{task}.bin")))
    }

    /// Writes the file, then fsyncs it: returns it open with the time spent in writes and the
    /// fsync (not in making the data), or how the task ends.
    fn write(&self, task: u64, path: &std::path::Path, hooks: &mut dyn Hooks) -> Result<(File, Duration), TaskEnd> {
        let fail = |what: &str, error: std::io::Error| TaskEnd::Failed(format!("disk: {what} {}: {error}", path.display()));
        let mut file = File::options()
            .read(true)
            .write(true)
            // A replacement (`--respawn`) redoes the task its predecessor left half-written.
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|error| fail("cannot create", error))?;
        let mut buf = vec![0u8; MIB];
        let mut spent = Duration::ZERO;
        for chunk in 0..self.mib {
            fill(&mut buf, task, chunk);
            let mut written = Ok(());
            hooks.blocking(&mut || written = timed(&mut spent, || file.write_all(&buf)));
            written.map_err(|error| fail("cannot write", error))?;
            if hooks.checkpoint(chunk + 1) == Flow::Stop {
                return Err(TaskEnd::Stopped);
            }
        }
        let mut synced = Ok(());
        hooks.blocking(&mut || synced = timed(&mut spent, || file.sync_all()));
        synced.map_err(|error| fail("cannot fsync", error))?;
        Ok((file, spent))
    }

    /// Reads the file back from its start and checks every byte; returns how the task ends and
    /// the time spent in reads.
    fn read_back(&self, task: u64, file: &File, path: &std::path::Path, hooks: &mut dyn Hooks) -> (TaskEnd, Duration) {
        // The pages are clean after fsync, so the kernel can drop them: the read goes to the
        // device. Advice that does not take (tmpfs) leaves a read from memory, which the
        // metrics' `filesystem` tells.
        let _ = nix::fcntl::posix_fadvise(file.as_fd(), 0, 0, nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED);
        let mut spent = Duration::ZERO;
        let mut reader = match File::open(path) {
            Ok(reader) => reader,
            Err(error) => return (TaskEnd::Failed(format!("disk: cannot reopen {}: {error}", path.display())), spent),
        };
        let (mut got, mut expected) = (vec![0u8; MIB], vec![0u8; MIB]);
        for chunk in 0..self.mib {
            let mut read = Ok(());
            hooks.blocking(&mut || read = timed(&mut spent, || reader.read_exact(&mut got)));
            if let Err(error) = read {
                return (TaskEnd::Failed(format!("disk: cannot read {}: {error}", path.display())), spent);
            }
            fill(&mut expected, task, chunk);
            if got != expected {
                return (TaskEnd::Failed(format!("disk: MiB {chunk} of {} reads back wrong", path.display())), spent);
            }
            if hooks.checkpoint(self.mib + chunk + 1) == Flow::Stop {
                return (TaskEnd::Stopped, spent);
            }
        }
        (TaskEnd::Completed { digest: task + 1 }, spent)
    }
}

/// Adds a task's write and read times to the worker's and the run's counters, for completed
/// tasks only, so that the times match the bytes counted.
fn count_times(cells: &Cells<'_>, end: &TaskEnd, writing: Duration, reading: Duration) {
    if matches!(end, TaskEnd::Completed { .. }) {
        cells.own_counter.fetch_add(writing.as_nanos() as u64, Ordering::Relaxed);
        cells.shared_counter.fetch_add(reading.as_nanos() as u64, Ordering::Relaxed);
    }
}

impl Workload for Files {
    /// MiB written, then MiB read.
    fn units_for(&self, _task: u64) -> u64 {
        2 * self.mib
    }

    fn run_task(&self, task: u64, hooks: &mut dyn Hooks) -> TaskEnd {
        let path = match self.task_path(task) {
            Ok(path) => path,
            Err(end) => return end,
        };
        let end = match self.write(task, &path, hooks) {
            Ok((file, writing)) => {
                let (end, reading) = self.read_back(task, &file, &path, hooks);
                count_times(&hooks.cells(), &end, writing, reading);
                end
            }
            Err(end) => end,
        };
        // One file at a time per worker: the disk holds workers × size, not tasks × size.
        let _ = std::fs::remove_file(&path);
        end
    }

    fn expected_checksum(&self, tasks: u64) -> Option<u64> {
        Some(tasks.wrapping_mul(tasks.wrapping_add(1)) / 2)
    }

    fn as_async(&self) -> Option<&dyn AsyncWorkload> {
        Some(self)
    }

    /// Makes the run's directory, in the program, before any worker exists; a directory that
    /// cannot be made refuses the run with the OS's reason.
    fn prepares(&self) -> bool {
        true
    }

    fn prepare(&self, _preparing: &Preparing<'_>) -> Result<Flow, Unprepared> {
        match self.scratch.get_or_init(|| Scratch::create(SCRATCH_PURPOSE).map_err(|error| error.to_string())) {
            Ok(_) => Ok(Flow::Continue),
            Err(why) => Err(Unprepared(format!("disk: {why}"))),
        }
    }

    /// The directory [`Workload::prepare`] made: a Python worker is told it, never looks.
    fn python_context(&self) -> Vec<(&'static str, String)> {
        match self.scratch.get() {
            Some(Ok(scratch)) => vec![("dir", scratch.path().display().to_string())],
            _ => Vec::new(),
        }
    }

    /// The run's figures so far, as its results will give them: `write 310 MB/s, read 2900
    /// MB/s · 12 files of 64 MiB`.
    fn live(&self, now: &LiveCells) -> Option<String> {
        let bytes = (now.tasks_done * self.mib * MIB as u64) as f64;
        let speed = |seconds: f64| {
            if seconds > 0.0 && bytes > 0.0 {
                format!("{:.0} MB/s", bytes / MB / seconds)
            } else {
                "—".to_owned()
            }
        };
        let write = speed(now.own_counters.iter().sum::<u64>() as f64 / 1e9);
        let read = speed(now.shared_counter as f64 / 1e9);
        Some(format!("write {write}, read {read} · {} files of {} MiB", now.tasks_done, self.mib))
    }

    fn metrics(&self, run: &RunCells) -> Box<dyn Metrics> {
        let bytes = run.tasks_done * self.mib * MIB as u64;
        let write_seconds = run.own_counters.iter().sum::<u64>() as f64 / 1e9;
        let read_seconds = run.shared_counter as f64 / 1e9;
        let speed = |bytes: u64, seconds: f64| (seconds > 0.0).then(|| bytes as f64 / MB / seconds);
        Box::new(Figures {
            filesystem: self
                .scratch
                .get()
                .and_then(|made| made.as_ref().ok())
                .map_or_else(|| "unknown".to_owned(), |scratch| scratch.filesystem().to_owned()),
            bytes_written: bytes,
            bytes_read: bytes,
            write_seconds,
            read_seconds,
            write_mb_per_second: speed(bytes, write_seconds),
            read_mb_per_second: speed(bytes, read_seconds),
            run_mb_per_second: speed(2 * bytes, run.wall_seconds),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::testing::Recorder;

    #[test]
    fn a_task_writes_reads_back_and_leaves_no_file() {
        let dir = std::env::temp_dir().join(format!("concur-tui-disk-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let files = Files { mib: 2, scratch: OnceLock::new() };
        let _ = files.scratch.set(Ok(Scratch::at(dir.clone())));
        let mut hooks = Recorder::default();
        assert_eq!(files.run_task(6, &mut hooks), TaskEnd::Completed { digest: 7 });
        assert_eq!(hooks.checkpoints, vec![1, 2, 3, 4]);
        assert!(hooks.own.load(Ordering::Relaxed) > 0 && hooks.counter.load(Ordering::Relaxed) > 0);
        assert_eq!(std::fs::read_dir(&dir).expect("dir").count(), 0, "the task's file is gone");
        let mut stopping = Recorder { stop_after: Some(1), ..Recorder::default() };
        assert_eq!(files.run_task(1, &mut stopping), TaskEnd::Stopped);
        assert_eq!(std::fs::read_dir(&dir).expect("dir").count(), 0, "a stopped task's file is gone");
        drop(files);
        assert!(!dir.exists(), "the scratch directory goes with the workload");
    }

    #[test]
    fn the_live_line_gives_the_speeds_so_far() {
        let files = Files { mib: 64, scratch: OnceLock::new() };
        let mut now = LiveCells { elapsed_seconds: 2.0, tasks_done: 0, shared_counter: 0, own_counters: vec![0, 0] };
        assert_eq!(files.live(&now).as_deref(), Some("write —, read — · 0 files of 64 MiB"));
        // 4 files of 64 MiB (268 MB): written in 1 s of the workers' time, read in 0.1 s.
        now.tasks_done = 4;
        now.own_counters = vec![500_000_000, 500_000_000];
        now.shared_counter = 100_000_000;
        assert_eq!(files.live(&now).as_deref(), Some("write 268 MB/s, read 2684 MB/s · 4 files of 64 MiB"));
    }

    #[test]
    fn tasks_write_different_data() {
        let (mut a, mut b) = (vec![0u8; MIB], vec![0u8; MIB]);
        fill(&mut a, 0, 0);
        fill(&mut b, 1, 0);
        assert_ne!(a, b);
        fill(&mut b, 0, 1);
        assert_ne!(a, b);
        fill(&mut b, 0, 0);
        assert_eq!(a, b);
    }
}
