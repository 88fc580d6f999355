//! The fallback where perf events are refused: a thread's `/proc/<pid>/task/<tid>/schedstat`,
//! kept open and read again at each sample. It gives totals, not moments: time on a CPU and time
//! runnable but waiting for one, so the timeline keeps the worker's own states and only the
//! report's total of waiting for a CPU comes from here.

use std::fs::File;
use std::os::unix::fs::FileExt;

/// One thread's schedstat file and the waiting it showed since it was opened.
#[derive(Debug)]
pub(crate) struct SchedstatFile {
    file: File,
    /// `run_delay` when first read: the thread's waiting before the observer saw it.
    first_delay_ns: u64,
    latest_delay_ns: u64,
}

impl SchedstatFile {
    /// Opens thread `tid` of process `pid`.
    pub(crate) fn open(pid: i32, tid: i32) -> std::io::Result<Self> {
        let file = File::open(format!("/proc/{pid}/task/{tid}/schedstat"))?;
        let first = read_run_delay(&file).ok_or_else(|| std::io::Error::other("unreadable schedstat"))?;
        Ok(Self { file, first_delay_ns: first, latest_delay_ns: first })
    }

    /// Reads the file again; a thread that has ended keeps what was last read.
    pub(crate) fn sample(&mut self) {
        if let Some(delay) = read_run_delay(&self.file) {
            self.latest_delay_ns = self.latest_delay_ns.max(delay);
        }
    }

    /// Time the thread spent runnable but off every CPU since the file was opened.
    pub(crate) fn waited_ns(&self) -> u64 {
        self.latest_delay_ns.saturating_sub(self.first_delay_ns)
    }
}

/// The second of schedstat's three numbers: nanoseconds spent waiting on a run queue.
fn read_run_delay(file: &File) -> Option<u64> {
    let mut buffer = [0u8; 96];
    let read = file.read_at(&mut buffer, 0).ok()?;
    parse_run_delay(std::str::from_utf8(buffer.get(..read)?).ok()?)
}

fn parse_run_delay(text: &str) -> Option<u64> {
    text.split_ascii_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_delay_is_the_second_number() {
        assert_eq!(parse_run_delay("123 456 7\n"), Some(456));
        assert_eq!(parse_run_delay("123"), None);
        assert_eq!(parse_run_delay(""), None);
    }

    #[test]
    fn this_threads_file_opens_and_reads_again() {
        let mut file =
            SchedstatFile::open(nix::unistd::getpid().as_raw(), nix::unistd::gettid().as_raw()).expect("schedstat");
        file.sample();
        assert!(file.latest_delay_ns >= file.first_delay_ns);
    }
}
