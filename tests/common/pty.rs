//! The real binary in a pseudo-terminal: type keys, read the screen through vt100, check the
//! terminal it leaves behind. Dropping a [`Dashboard`] kills and reaps it.

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use portable_pty::{native_pty_system, Child, CommandBuilder, MasterPty, PtySize};

use super::{wait_until, BIN, TAG_VAR};

pub(crate) struct Dashboard {
    child: Box<dyn Child + Send + Sync>,
    /// The terminal's side; None once [`Dashboard::hang_up`] closed it.
    master: Option<Box<dyn MasterPty + Send>>,
    writer: Option<Box<dyn Write + Send>>,
    /// Reads the master into the screen until told to stop (its duplicate of the master must
    /// be closed too for the terminal to hang up).
    reader: Option<std::thread::JoinHandle<()>>,
    stop_reading: Arc<AtomicBool>,
    screen: Arc<Mutex<vt100::Parser>>,
    /// Every byte the program wrote, for what the screen does not show (terminal queries).
    written: Arc<Mutex<Vec<u8>>>,
    pub tag: String,
    /// The directory it runs in, where it writes its results on exit: a scratch directory of
    /// its own, removed on drop, unless the test gave one.
    pub dir: std::path::PathBuf,
    scratch: bool,
}

impl Dashboard {
    /// Starts `concur-tui ARGS` in a `cols`×`rows` terminal.
    pub(crate) fn start(args: &[&str], cols: u16, rows: u16) -> Self {
        Self::start_in(None, args, cols, rows)
    }

    /// The results files the dashboard wrote in its directory, sorted.
    pub(crate) fn results_files(&self) -> Vec<std::path::PathBuf> {
        let mut found: Vec<std::path::PathBuf> = std::fs::read_dir(&self.dir)
            .map(|entries| entries.filter_map(Result::ok).map(|entry| entry.path()).collect())
            .unwrap_or_default();
        found.retain(|path| {
            path.file_name().is_some_and(|name| name.to_string_lossy().starts_with("concur-tui-results-"))
        });
        found.sort();
        found
    }

    /// As [`Dashboard::start`], in directory `dir` (where the dashboard writes its files).
    pub(crate) fn start_in(dir: Option<&std::path::Path>, args: &[&str], cols: u16, rows: u16) -> Self {
        let pair =
            native_pty_system().openpty(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 }).expect("open a pty");
        let tag = super::new_tag();
        let scratch = dir.is_none();
        let dir = dir
            .map_or_else(|| std::env::temp_dir().join(format!("concur-tui-pty-{tag}")), std::path::Path::to_path_buf);
        std::fs::create_dir_all(&dir).expect("the dashboard's directory");
        let mut command = CommandBuilder::new(BIN);
        command.args(args);
        command.env(TAG_VAR, &tag);
        command.env("TERM", "xterm-256color");
        command.env_remove("NO_COLOR");
        command.cwd(&dir);
        let child = pair.slave.spawn_command(command).expect("spawn in the pty");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let writer = pair.master.take_writer().expect("pty writer");
        let size = |n: u16| NonZeroU16::new(n).expect("non-zero size");
        let screen = Arc::new(Mutex::new(vt100::Parser::new(size(rows), size(cols), 0)));
        let feed = Arc::clone(&screen);
        let written = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&written);
        let stop_reading = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&stop_reading);
        let fd = pair.master.as_raw_fd().expect("the pty's descriptor");
        let reader = std::thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            while !stop.load(Ordering::Relaxed) {
                // A blocking read could not be told to stop: wait for input 50 ms at a time.
                // The master lives until this thread is joined, so `fd` stays its descriptor.
                let mut poll = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
                // SAFETY: one pollfd on the stack, a count of 1.
                if unsafe { libc::poll(&raw mut poll, 1, 50) } <= 0 {
                    continue;
                }
                let Ok(read) = reader.read(&mut buffer) else { break };
                if read == 0 {
                    break;
                }
                if let Ok(mut parser) = feed.lock() {
                    parser.process(&buffer[..read]);
                }
                if let Ok(mut all) = record.lock() {
                    all.extend_from_slice(&buffer[..read]);
                }
            }
        });
        Self {
            child,
            master: Some(pair.master),
            writer: Some(writer),
            reader: Some(reader),
            stop_reading,
            screen,
            written,
            tag,
            dir,
            scratch,
        }
    }

    /// Closes the terminal, as a closed window or a dropped ssh connection does: the kernel
    /// sends the program SIGHUP and its terminal reads and writes fail from then on.
    pub(crate) fn hang_up(&mut self) {
        self.stop_reader();
        self.writer = None;
        self.master = None;
    }

    fn stop_reader(&mut self) {
        self.stop_reading.store(true, Ordering::Relaxed);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }

    /// True when the program wrote `bytes` at some point.
    pub(crate) fn wrote(&self, bytes: &[u8]) -> bool {
        self.written.lock().is_ok_and(|all| all.windows(bytes.len()).any(|window| window == bytes))
    }

    pub(crate) fn pid(&self) -> i32 {
        self.child.process_id().map_or(0, |pid| pid as i32)
    }

    pub(crate) fn contents(&self) -> String {
        self.screen.lock().map(|parser| parser.screen().contents()).unwrap_or_default()
    }

    /// Waits until the screen shows `text`; a hang detector, generous on a busy machine.
    pub(crate) fn wait_for(&self, text: &str) {
        let shown = wait_until(Duration::from_secs(90), || self.contents().contains(text));
        assert!(shown, "never saw {text:?}; the screen:\n{}", self.contents());
    }

    pub(crate) fn send(&mut self, keys: &str) {
        let writer = self.writer.as_mut().expect("a terminal not hung up");
        writer.write_all(keys.as_bytes()).expect("type into the pty");
        writer.flush().expect("flush the pty");
        // One key at a time reaches the program as one key event.
        std::thread::sleep(Duration::from_millis(30));
    }

    pub(crate) fn signal(&self, signal: i32) {
        // SAFETY: kill with a pid and a signal number.
        unsafe { libc::kill(self.pid(), signal) };
    }

    /// Waits for the program to exit and returns its exit code.
    pub(crate) fn wait_exit(&mut self) -> u32 {
        let mut status = None;
        let exited = wait_until(Duration::from_secs(30), || {
            status = self.child.try_wait().ok().flatten();
            status.is_some()
        });
        assert!(exited, "the dashboard never exited; the screen:\n{}", self.contents());
        // Let the reader drain what was written last.
        std::thread::sleep(Duration::from_millis(200));
        status.map_or(u32::MAX, |s| s.exit_code())
    }

    /// Alternate screen left, cursor visible, and the line discipline back in cooked mode.
    pub(crate) fn assert_terminal_restored(&self) {
        let (alternate, hidden) =
            self.screen.lock().map(|p| (p.screen().alternate_screen(), p.screen().hide_cursor())).expect("screen");
        assert!(!alternate, "still on the alternate screen");
        assert!(!hidden, "cursor still hidden");
        let master = self.master.as_ref().expect("a terminal not hung up");
        let fd = master.as_raw_fd().expect("the pty's descriptor");
        // SAFETY: termios is plain old data that tcgetattr fills.
        let mut termios: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: a valid descriptor and a pointer to a local.
        assert_eq!(unsafe { libc::tcgetattr(fd, &raw mut termios) }, 0, "tcgetattr");
        assert!(termios.c_lflag & libc::ICANON != 0, "raw mode still on: no ICANON");
        assert!(termios.c_lflag & libc::ECHO != 0, "raw mode still on: no ECHO");
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stop_reader();
        if self.scratch {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
