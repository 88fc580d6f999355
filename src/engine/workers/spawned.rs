//! The spawn start method: a worker process that re-executes this program's own binary with a
//! hidden `__worker` subcommand and maps the board from an inherited descriptor, as Python's
//! multiprocessing "spawn" does. Slower to start than fork, and immune to its hazards: nothing
//! of the parent's memory or threads comes along.

use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use nix::unistd::{getpid, Pid};

use super::gil::InterpreterLock;
use super::line::{End, WireEnd};
use super::pen::Pen;
use super::processes::{become_worker_process, terminate_flag, EXIT_PANICKED, EXIT_TASK_FAILED};
use super::worker::{note_panicked, run_worker, TaskSource, WorkerSpec};
use crate::board::{monotonic_ns, Board, SlotState};
use crate::workload::{by_name, Options, Setup};

/// A spawned worker's argv[0] and process name.
const PROGRAM_NAME: &std::ffi::CStr = c"concur-tui";

/// Everything a spawned worker needs, passed as one JSON argument.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct SpawnSpec {
    pub board_fd: i32,
    pub parent: i32,
    /// The run's process group; 0: found it.
    pub group: i32,
    pub index: usize,
    pub generation: u64,
    /// The workload by its catalog name, its size and options.
    pub workload: String,
    pub size: u64,
    pub tasks_total: u64,
    pub options: Options,
    /// Static: the block. Dynamic: `chunk` and the block to redo first.
    pub dynamic_chunk: Option<u64>,
    pub tasks_start: u64,
    pub tasks_end: u64,
    pub cpu: Option<usize>,
    pub switch_interval_ns: Option<u64>,
    /// The worker's end of its line to the coordinator, for workloads that talk.
    pub line: Option<WireEnd>,
}

/// Why a spawned worker could not run.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SpawnedError {
    #[error("cannot read the worker spec: {0}")]
    Spec(#[from] serde_json::Error),
    #[error(transparent)]
    Board(#[from] crate::board::BoardError),
    #[error("no workload called '{0}' in the catalog")]
    UnknownWorkload(String),
    #[error("descriptor {0} is not open: a worker maps the board its parent passed it")]
    NoBoard(i32),
}

/// What a spawned worker runs, beside its [`WorkerSpec`].
pub(crate) struct SpawnedWork<'a> {
    pub workload: &'a Setup,
    pub switch_interval: Option<Duration>,
}

/// Starts worker `spec.index` as a re-executed process; returns its pid. `line` is the worker's
/// end of its line: its descriptors cross `exec`, and the parent's copy is closed.
pub(crate) fn spawn_worker(
    spec: &WorkerSpec<'_>,
    group: Option<Pid>,
    work: &SpawnedWork<'_>,
    line: Option<End>,
    pen: Option<Arc<dyn Pen>>,
) -> std::io::Result<Pid> {
    let SpawnedWork { workload, switch_interval } = *work;
    let (dynamic_chunk, tasks) = match &spec.tasks {
        TaskSource::Static(range) => (None, range.clone()),
        TaskSource::Dynamic { chunk, first } => (Some(*chunk), first.clone()),
    };
    let board_fd = spec.board.raw_fd();
    let parent = getpid();
    let (line_wire, line_fds) = match line.as_ref().and_then(End::wire) {
        Some((wire, fds)) => (Some(wire), fds),
        None => (None, Vec::new()),
    };
    let wire = SpawnSpec {
        board_fd,
        parent: parent.as_raw(),
        group: group.map_or(0, Pid::as_raw),
        index: spec.index,
        generation: spec.generation,
        workload: workload.kind.name().to_owned(),
        size: workload.size,
        tasks_total: spec.board.header().tasks_total.load(Ordering::Relaxed),
        options: workload.options.clone(),
        dynamic_chunk,
        tasks_start: tasks.start,
        tasks_end: tasks.end,
        cpu: spec.cpu,
        switch_interval_ns: switch_interval.map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
        line: line_wire,
    };
    let json = serde_json::to_string(&wire).map_err(std::io::Error::other)?;
    // This very binary, even if its file was replaced since; named like the program, not "exe".
    let mut command = Command::new("/proc/self/exe");
    command
        .arg0(std::ffi::OsStr::from_bytes(PROGRAM_NAME.to_bytes()))
        .arg("__worker")
        .arg(json)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let group_id = group.map_or(0, Pid::as_raw);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            super::pen::admit(pen.as_ref());
            // Kept across exec: die with the parent, ignore the terminal's SIGINT.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            libc::setpgid(0, group_id);
            libc::signal(libc::SIGINT, libc::SIG_IGN);
            // The board's memfd crosses exec only without its close-on-exec flag.
            // So do the line's descriptors, and its reads and writes stay non-blocking.
            for fd in std::iter::once(board_fd).chain(line_fds.iter().copied()) {
                if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    spec.board.slot(spec.index).requested_ns.store(monotonic_ns(), Ordering::Relaxed);
    let child = command.spawn()?;
    let pid = Pid::from_raw(i32::try_from(child.id()).map_err(std::io::Error::other)?);
    let _ = nix::unistd::setpgid(pid, group.unwrap_or(pid));
    // The engine reaps it by pid with wait4; the std handle is not needed.
    drop(child);
    drop(line);
    Ok(pid)
}

/// The hidden `__worker` subcommand: map the board, run one worker, return the exit status.
pub(crate) fn worker_main(json: &str) -> Result<i32, SpawnedError> {
    // Everything is checked before the process becomes a worker, so a bad spec is refused in
    // one line on stderr.
    let spec: SpawnSpec = serde_json::from_str(json)?;
    let kind = by_name(&spec.workload).ok_or_else(|| SpawnedError::UnknownWorkload(spec.workload.clone()))?;
    // SAFETY: F_GETFD only reads the descriptor's flags; an unknown number fails with EBADF.
    if spec.board_fd < 0 || unsafe { libc::fcntl(spec.board_fd, libc::F_GETFD) } < 0 {
        return Err(SpawnedError::NoBoard(spec.board_fd));
    }
    // SAFETY: the descriptor is open; the parent passed its number and cleared its close-on-exec
    // flag for us, and nothing else in this fresh process owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(spec.board_fd) };
    let board = Arc::new(Board::from_fd(fd)?);
    // The kernel named the process after the file it ran, /proc/self/exe; ps and pgrep should
    // find it under the program's name.
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
    unsafe { libc::prctl(libc::PR_SET_NAME, PROGRAM_NAME.as_ptr(), 0, 0, 0) };
    let parent = Pid::from_raw(spec.parent);
    become_worker_process(parent, (spec.group != 0).then(|| Pid::from_raw(spec.group)));
    // SAFETY: the parent passed these descriptors for this worker's line alone.
    let line = spec.line.map(|wire| unsafe { End::from_wire(wire, &board, spec.index) });
    let workload = Setup { kind, size: spec.size, tasks: spec.tasks_total, options: spec.options.clone() }.build();
    let gil = spec.switch_interval_ns.map(|ns| InterpreterLock::new(Duration::from_nanos(ns)));
    let tasks = match spec.dynamic_chunk {
        Some(chunk) => TaskSource::Dynamic { chunk, first: spec.tasks_start..spec.tasks_end },
        None => TaskSource::Static(spec.tasks_start..spec.tasks_end),
    };
    let worker = WorkerSpec {
        index: spec.index,
        board: &board,
        generation: spec.generation,
        workload: workload.as_ref(),
        tasks,
        cpu: spec.cpu,
        gil: gil.as_ref(),
        terminate: Some(terminate_flag()),
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_worker(&worker, line))) {
        Ok(SlotState::Failed) => Ok(EXIT_TASK_FAILED),
        Ok(_) => Ok(0),
        Err(_) => {
            note_panicked(&board, spec.index);
            Ok(EXIT_PANICKED)
        }
    }
}
