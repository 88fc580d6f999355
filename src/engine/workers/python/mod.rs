//! The Python runtime's host process: `python runner.py spec.json`, started with the board's
//! memfd inherited, in a process group of its own, dying with the program (PR_SET_PDEATHSIG,
//! SIGTERM, which the runner turns into a kill of its whole group). The runner (`runner.py`, carried
//! in the binary) starts the run's workers the way a Python programmer would, and they report
//! into the board. The runner, the workload's twin and the spec are written into a private
//! directory that the returned [`PythonHost`] removes when dropped.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use nix::unistd::Pid;

use super::line::{End, WireEnd};
use super::pen::Pen;
use crate::board::Board;
use crate::engine::plan::{Plan, Schedule};
use crate::files::PrivateDir;
use crate::workload::Workload;

/// The runner's modules, as the binary carries them: the models and the host (`runner.py`, the
/// script), one worker's life, and the board.
const RUNNER: [(&str, &str); 3] = [
    ("runner.py", include_str!("runner.py")),
    ("concur_worker.py", include_str!("concur_worker.py")),
    ("concur_board.py", include_str!("concur_board.py")),
];

/// What the host needs to start a run's workers.
pub(crate) struct PythonGroup<'a> {
    pub board: &'a Board,
    pub generation: u64,
    pub plan: &'a Plan,
    pub workload: &'a dyn Workload,
    pub interpreter: &'a Path,
    /// The twin's source.
    pub twin: &'static str,
    /// Each worker's end of its line to the program's coordinator, for a workload that talks
    /// (empty otherwise): the host inherits them and the program closes its copies.
    pub lines: Vec<End>,
}

/// A started host: its pid (the leader of its process group) and the directory its files are in.
pub(crate) struct PythonHost {
    pub pid: Pid,
    pub dir: PrivateDir,
}

impl PythonHost {
    /// The traceback worker `index` left when a task raised, if any.
    pub(crate) fn traceback(&self, index: usize) -> Option<String> {
        std::fs::read_to_string(self.dir.path().join(format!("traceback-{index}.txt"))).ok()
    }

    /// The last line the host wrote on its standard error, when it failed before its workers.
    pub(crate) fn last_words(&self) -> Option<String> {
        let log = std::fs::read_to_string(self.dir.path().join("host.log")).ok()?;
        log.lines().rev().find(|line| !line.trim().is_empty()).map(|line| line.trim().to_owned())
    }
}

/// The spec the runner reads: the board's layout, the run's shape, the workload's size and
/// options.
#[derive(serde::Serialize)]
struct Spec<'a> {
    board_fd: i32,
    layout: BTreeMap<&'static str, usize>,
    generation: u64,
    workers: usize,
    tasks: u64,
    model: &'static str,
    schedule: &'static str,
    chunk: u64,
    start: &'static str,
    pinning: &'a [Option<usize>],
    workload: &'static str,
    size: u64,
    /// Units of one task, for its progress bar (the workload's own count).
    units: u64,
    options: BTreeMap<&'a str, &'a str>,
    dir: PathBuf,
    program_pid: i32,
    /// What the workload's tasks must know of the run (`Workload::python_context`).
    context: BTreeMap<&'static str, String>,
    /// Each worker's line to the coordinator as the host inherits it: read and write
    /// descriptors, by worker index.
    lines: Vec<[i32; 2]>,
}

/// Writes the runner, the twin and the spec into a new private directory and starts the host.
pub(crate) fn start_host(group: &PythonGroup<'_>, pen: Option<Arc<dyn Pen>>) -> std::io::Result<PythonHost> {
    let dir = PrivateDir::create("python")?;
    let plan = group.plan;
    let lines = line_descriptors(&group.lines)?;
    let spec = Spec {
        board_fd: group.board.raw_fd(),
        layout: crate::board::layout::cells().into_iter().collect(),
        generation: group.generation,
        workers: plan.workers,
        tasks: plan.tasks,
        model: plan.model.name(),
        schedule: match plan.schedule {
            Schedule::Static => "static",
            Schedule::Dynamic => "dynamic",
        },
        chunk: plan.chunk,
        start: plan.start.name(),
        pinning: &plan.pinning,
        workload: plan.workload.kind.name(),
        size: plan.workload.size,
        units: group.workload.units_for(0),
        options: plan.workload.options.iter().collect(),
        dir: dir.path().to_path_buf(),
        program_pid: nix::unistd::getpid().as_raw(),
        context: group.workload.python_context().into_iter().collect(),
        lines: lines.clone(),
    };
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text);
    for (name, source) in RUNNER {
        write(name, source)?;
    }
    write("twin.py", group.twin)?;
    write("spec.json", &serde_json::to_string(&spec).map_err(std::io::Error::other)?)?;
    let log = File::create(dir.path().join("host.log"))?;
    let mut command = Command::new(group.interpreter);
    command
        .arg("-B")
        .arg(dir.path().join("runner.py"))
        .arg(dir.path().join("spec.json"))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    let board_fd = group.board.raw_fd();
    let inherited: Vec<i32> = std::iter::once(board_fd).chain(lines.into_iter().flatten()).collect();
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            super::pen::admit(pen.as_ref());
            // SIGTERM, not SIGKILL: the runner then kills its whole group, forkserver and
            // resource_tracker included, and removes nothing the program would not.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM, 0, 0, 0);
            libc::setpgid(0, 0);
            libc::signal(libc::SIGINT, libc::SIG_IGN);
            for &fd in &inherited {
                if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let child = command.spawn()?;
    let pid = Pid::from_raw(i32::try_from(child.id()).map_err(std::io::Error::other)?);
    // The engine reaps it by pid with wait4; the std handle is not needed.
    drop(child);
    Ok(PythonHost { pid, dir })
}

/// The descriptors of each line's worker end: a pipe each way or a socket. A line in the
/// board's shared memory (`shm`) has no descriptor a Python worker could use.
fn line_descriptors(lines: &[End]) -> std::io::Result<Vec<[i32; 2]>> {
    lines
        .iter()
        .map(|end| match end.wire() {
            Some((WireEnd::Stream { read, write }, _)) => Ok([read, write]),
            _ => Err(std::io::Error::other("the Python runtime's lines are pipes or sockets")),
        })
        .collect()
}
