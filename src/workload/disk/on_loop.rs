//! `disk` on the event loop (`--model async`): each file call goes to a helper thread of the
//! loop's runtime (tokio's blocking pool, as asyncio's `run_in_executor` or aiofiles do) and the
//! task awaits it; making and checking the data stay on the loop. The same bytes, checks,
//! digest and times as [`Files`]'s `Workload` side, in `disk.rs`.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use super::{count_times, fill, Files, MIB};
use crate::board::thread_cpu_ns;
use crate::workload::task::{awaiting, AsyncHooks, AsyncWorkload, Flow, LocalFuture, TaskEnd};

impl AsyncWorkload for Files {
    /// [`Workload::run_task`] with every file call on a helper thread, awaited: the same bytes,
    /// the same checks, the same digest, and times measured on the helper, around the call
    /// alone, so that MB/s mean what they mean with threads.
    fn run_task_async<'a>(&'a self, task: u64, hooks: &'a mut dyn AsyncHooks) -> LocalFuture<'a, TaskEnd> {
        Box::pin(async move {
            let path = match self.task_path(task) {
                Ok(path) => path,
                Err(end) => return end,
            };
            let end = match self.write_on_loop(task, &path, hooks).await {
                Ok((file, writing)) => {
                    let (end, reading) = self.read_back_on_loop(task, file, &path, hooks).await;
                    count_times(&hooks.cells(), &end, writing, reading);
                    end
                }
                Err(end) => end,
            };
            // Removed even after a stop: a helper runs its call to the end once it has it.
            let _ = off_loop(hooks, move || std::fs::remove_file(&path)).await;
            end
        })
    }
}

/// Runs `call` on a helper thread of the loop's runtime and awaits it as blocked time; the CPU
/// time the helper spent on it counts as the task's. Err is how the task ends: the run stopped
/// meanwhile (the helper still finishes the call, and the runtime joins it before the loop's
/// thread ends), or the call panicked.
async fn off_loop<T: Send + 'static>(
    hooks: &mut dyn AsyncHooks,
    call: impl FnOnce() -> T + Send + 'static,
) -> Result<T, TaskEnd> {
    let measured = move || {
        let before = thread_cpu_ns();
        let value = call();
        (value, Duration::from_nanos(thread_cpu_ns().saturating_sub(before)))
    };
    match awaiting(hooks, tokio::task::spawn_blocking(measured)).await {
        None => Err(TaskEnd::Stopped),
        Some(Ok((value, spent))) => {
            hooks.add_helper_cpu(spent);
            Ok(value)
        }
        Some(Err(error)) => Err(TaskEnd::Failed(format!("disk: a file call failed on its helper thread: {error}"))),
    }
}

/// `io` on a helper, with the time it took there.
fn timed_here<T>(io: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let result = io();
    (result, started.elapsed())
}

impl Files {
    /// [`Files::write`] on the loop: the data made here, each write and the fsync on a helper.
    async fn write_on_loop(
        &self,
        task: u64,
        path: &std::path::Path,
        hooks: &mut dyn AsyncHooks,
    ) -> Result<(File, Duration), TaskEnd> {
        let fail = |what: &str, error: std::io::Error| TaskEnd::Failed(format!("disk: {what} {}: {error}", path.display()));
        let target = path.to_owned();
        let mut file = off_loop(hooks, move || {
            File::options().read(true).write(true).create(true).truncate(true).open(target)
        })
        .await?
        .map_err(|error| fail("cannot create", error))?;
        let mut buf = vec![0u8; MIB];
        let mut spent = Duration::ZERO;
        for chunk in 0..self.mib {
            fill(&mut buf, task, chunk);
            let (back, written, took) = off_loop(hooks, move || {
                let (written, took) = timed_here(|| file.write_all(&buf));
                ((file, buf), written, took)
            })
            .await?;
            (file, buf) = back;
            spent += took;
            written.map_err(|error| fail("cannot write", error))?;
            if hooks.checkpoint(chunk + 1).await == Flow::Stop {
                return Err(TaskEnd::Stopped);
            }
        }
        let (file, synced, took) = off_loop(hooks, move || {
            let (synced, took) = timed_here(|| file.sync_all());
            (file, synced, took)
        })
        .await?;
        synced.map_err(|error| fail("cannot fsync", error))?;
        Ok((file, spent + took))
    }

    /// [`Files::read_back`] on the loop: each read on a helper, every byte checked here.
    async fn read_back_on_loop(
        &self,
        task: u64,
        file: File,
        path: &std::path::Path,
        hooks: &mut dyn AsyncHooks,
    ) -> (TaskEnd, Duration) {
        let mut spent = Duration::ZERO;
        let target = path.to_owned();
        let reopened = off_loop(hooks, move || {
            let _ = nix::fcntl::posix_fadvise(file.as_fd(), 0, 0, nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED);
            drop(file);
            File::open(target)
        })
        .await;
        let mut reader = match reopened {
            Ok(Ok(reader)) => reader,
            Ok(Err(error)) => return (TaskEnd::Failed(format!("disk: cannot reopen {}: {error}", path.display())), spent),
            Err(end) => return (end, spent),
        };
        let (mut got, mut expected) = (vec![0u8; MIB], vec![0u8; MIB]);
        for chunk in 0..self.mib {
            let read = off_loop(hooks, move || {
                let (read, took) = timed_here(|| reader.read_exact(&mut got));
                ((reader, got), read, took)
            })
            .await;
            let read = match read {
                Ok((back, read, took)) => {
                    (reader, got) = back;
                    spent += took;
                    read
                }
                Err(end) => return (end, spent),
            };
            if let Err(error) = read {
                return (TaskEnd::Failed(format!("disk: cannot read {}: {error}", path.display())), spent);
            }
            fill(&mut expected, task, chunk);
            if got != expected {
                return (TaskEnd::Failed(format!("disk: MiB {chunk} of {} reads back wrong", path.display())), spent);
            }
            if hooks.checkpoint(self.mib + chunk + 1).await == Flow::Stop {
                return (TaskEnd::Stopped, spent);
            }
        }
        (TaskEnd::Completed { digest: task + 1 }, spent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::testing::{OnLoop, Recorder};

    /// The CPU a file call burns on its helper thread is the task's: reported, not lost.
    #[test]
    fn a_call_off_the_loop_counts_its_helper_threads_cpu_time() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let mut hooks = OnLoop(Recorder::default());
        let burnt = runtime.block_on(off_loop(&mut hooks, || {
            let started = thread_cpu_ns();
            let mut spin = 0u64;
            while thread_cpu_ns() - started < 5_000_000 {
                spin = std::hint::black_box(spin + 1);
            }
            Duration::from_nanos(thread_cpu_ns() - started)
        }));
        let burnt = burnt.expect("the call ran");
        assert!(hooks.0.helper_cpu >= burnt, "{:?} reported for {burnt:?} burnt", hooks.0.helper_cpu);
        assert_eq!(hooks.0.blocking_calls, 1, "awaited as blocked time");
    }
}
