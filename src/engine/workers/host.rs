//! A host process for a thread group whose workload may take its whole process down (an abort,
//! a segfault, an exit in one thread ends every thread, as in Python). The group runs in a
//! forked child; the program survives, and the engine reports the group from the board and the
//! host's wait status.
//!
//! The host keeps to the fork discipline: it starts threads (allowed after fork), joins them and
//! leaves with `_exit`; it never prints or touches what the parent's other threads hold.

use std::sync::Arc;

use nix::unistd::{fork, getpid, ForkResult, Pid};

use super::gil::InterpreterLock;
use super::pen::Pen;
use super::processes::{become_worker_process, exit_now, terminate_flag};
use super::threads::{spawn_worker, ThreadWorker};
use super::worker::TaskSource;
use crate::board::Board;
use crate::workload::Workload;

/// What the host needs to start its threads.
pub(crate) struct HostedGroup<'a> {
    pub board: &'a Arc<Board>,
    pub generation: u64,
    pub workload: &'a Arc<dyn Workload>,
    pub sources: Vec<TaskSource>,
    pub pinning: &'a [Option<usize>],
    pub switch_interval: Option<std::time::Duration>,
    pub group: Option<Pid>,
}

/// Forks the host, admitted to `pen` (if any) first: its worker threads inherit that. In the
/// child this never returns.
pub(super) fn fork_host(group: HostedGroup<'_>, pen: Option<&Arc<dyn Pen>>) -> nix::Result<Pid> {
    let parent = getpid();
    // SAFETY: the child keeps to the discipline in the module doc.
    match unsafe { fork() }? {
        ForkResult::Parent { child } => {
            let _ = nix::unistd::setpgid(child, group.group.unwrap_or(child));
            Ok(child)
        }
        ForkResult::Child => {
            super::pen::admit(pen);
            become_worker_process(parent, group.group);
            // A lock of the host's own: the parent's was never held, but a fresh one owes
            // nothing to the parent's memory.
            let gil = group.switch_interval.map(|interval| Arc::new(InterpreterLock::new(interval)));
            let threads: Vec<_> = group
                .sources
                .into_iter()
                .enumerate()
                .filter_map(|(index, tasks)| {
                    spawn_worker(
                        ThreadWorker {
                            index,
                            board: Arc::clone(group.board),
                            generation: group.generation,
                            workload: Arc::clone(group.workload),
                            tasks,
                            cpu: group.pinning.get(index).copied().flatten(),
                            gil: gil.clone(),
                            terminate: Some(terminate_flag()),
                            line: None,
                        },
                        None,
                    )
                    .ok()
                })
                .collect();
            for thread in threads {
                let _ = thread.join();
            }
            exit_now(0)
        }
    }
}
