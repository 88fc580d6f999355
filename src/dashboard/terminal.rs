//! The terminal guard: one place enters raw mode and the alternate screen, one idempotent
//! `restore` leaves them. It runs on every exit path: on drop, and first in the panic hook.
//! It only switches the terminal's modes, and asks the terminal for its background colour
//! on the way in: it draws nothing and knows no state.
//!
//! A terminal can go away under the program (a closed window, a dropped ssh connection: EIO
//! on every write). Nothing here may panic then: `restore` drops its errors, and ratatui's
//! `Terminal`, whose drop `eprintln!`s when it cannot show the cursor (a panic on a dead
//! terminal, and an abort from the panic hook), is never dropped.

use std::io::{stdout, Read, Stdout, Write};
use std::mem::ManuallyDrop;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::cursor::Show;
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::crossterm::ExecutableCommand;
use ratatui::Terminal;

use crate::ui::theme::Background;

/// Whether this process has the terminal in raw mode and on the alternate screen. Process-wide
/// by nature: there is one terminal, and the panic hook must be able to find it.
static ENTERED: AtomicBool = AtomicBool::new(false);

pub(crate) type Screen = Terminal<CrosstermBackend<Stdout>>;

/// How long the terminal has to answer the background query. A terminal answers within
/// milliseconds, and the device-attributes query sent after it ends the wait at once; only
/// one that answers neither (a bare pseudo-terminal) costs the whole of it, once, at start.
const ANSWER_TIMEOUT: Duration = Duration::from_millis(500);

/// Owns the terminal while the dashboard runs.
pub(crate) struct TerminalGuard {
    /// Never dropped: `restore` shows the cursor that ratatui's drop would, without its
    /// `eprintln!`. Its buffers go with the process, which ends soon after.
    screen: ManuallyDrop<Screen>,
    /// The terminal's background, when it was asked and said.
    pub background: Option<Background>,
}

impl TerminalGuard {
    /// Enters raw mode and the alternate screen; with `ask_background`, asks the terminal for
    /// its background between the two: raw mode keeps the answer from being echoed or held
    /// for a line, and nothing else reads the terminal yet.
    pub(crate) fn enter(ask_background: bool) -> std::io::Result<Self> {
        enable_raw_mode()?;
        ENTERED.store(true, Ordering::SeqCst);
        let background = if ask_background { query_background() } else { None };
        let mut out = stdout();
        // A plain erase, not `Terminal::clear`: that one asks the terminal where the cursor is
        // and waits up to 2 s for an answer, with a blank screen and signals unheard.
        if let Err(error) = out.execute(EnterAlternateScreen).and_then(|out| out.execute(Clear(ClearType::All))) {
            restore();
            return Err(error);
        }
        match Terminal::new(CrosstermBackend::new(out)) {
            Ok(mut screen) => {
                let _ = screen.hide_cursor();
                Ok(Self { screen: ManuallyDrop::new(screen), background })
            }
            Err(error) => {
                restore();
                Err(error)
            }
        }
    }
}

impl TerminalGuard {
    pub(crate) fn screen(&mut self) -> &mut Screen {
        &mut self.screen
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Leaves raw mode and the alternate screen and shows the cursor, if this process entered
/// them. Safe to call any number of times, from any thread, a panic hook included.
pub(crate) fn restore() {
    if ENTERED.swap(false, Ordering::SeqCst) {
        let mut out = stdout();
        let _ = out.execute(LeaveAlternateScreen);
        let _ = out.execute(Show);
        let _ = disable_raw_mode();
        let _ = out.flush();
    }
}

/// Asks the terminal for its background colour (OSC 11), then for its primary device
/// attributes (DA1), which every terminal answers and answers in order: once that answer is
/// in, a background answer has come or never will. So a terminal that ignores OSC 11 costs no
/// wait, and no late answer is left behind to be read as keys.
fn query_background() -> Option<Background> {
    let mut tty = std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty").ok()?;
    tty.write_all(b"\x1b]11;?\x1b\\\x1b[c").ok()?;
    tty.flush().ok()?;
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 256];
    while !has_device_attributes(&answer) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let timeout = PollTimeout::try_from(left).unwrap_or(PollTimeout::ZERO);
        match poll(&mut [PollFd::new(tty.as_fd(), PollFlags::POLLIN)], timeout) {
            Ok(0) => break,
            Ok(_) | Err(Errno::EINTR) => {}
            Err(_) => break,
        }
        match tty.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(read) => answer.extend_from_slice(&chunk[..read]),
        }
    }
    background_in(&answer)
}

/// Whether `answer` holds a DA1 answer, `ESC [ ? 6 4 ; 1 ; 2 c`.
fn has_device_attributes(answer: &[u8]) -> bool {
    answer.windows(3).enumerate().any(|(at, window)| {
        window == b"\x1b[?"
            && answer[at + 3..]
                .iter()
                .find(|byte| !(byte.is_ascii_digit() || **byte == b';'))
                .is_some_and(|end| *end == b'c')
    })
}

/// The background in an OSC 11 answer, `ESC ] 11 ; rgb:RRRR/GGGG/BBBB` ended by ST or BEL,
/// each channel of 1 to 4 hex digits.
fn background_in(answer: &[u8]) -> Option<Background> {
    const PREFIX: &str = "]11;rgb:";
    let text = String::from_utf8_lossy(answer);
    let rest = &text[text.find(PREFIX)? + PREFIX.len()..];
    let colour = &rest[..rest.find(['\x07', '\x1b'])?];
    let channel = |hex: &str| {
        let digits = u32::try_from(hex.len()).ok().filter(|digits| (1..=4).contains(digits))?;
        let value = u32::from_str_radix(hex, 16).ok()?;
        Some(f64::from(value) / f64::from((1 << (4 * digits)) - 1))
    };
    let channels: Vec<f64> = colour.split('/').map(channel).collect::<Option<_>>()?;
    let rgb: [f64; 3] = channels.try_into().ok()?;
    Some(Background::of_rgb(rgb))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_background_is_read_from_xterms_answers() {
        let black = b"\x1b]11;rgb:0000/0000/0000\x1b\\\x1b[?64;1;2;6;9;15;16;17;18;21;22;28c";
        assert_eq!(background_in(black), Some(Background::Dark));
        assert!(has_device_attributes(black));
        assert_eq!(background_in(b"\x1b]11;rgb:ffff/ffff/ffff\x07"), Some(Background::Light));
        // Solarized light's base3, in two-digit channels.
        assert_eq!(background_in(b"\x1b]11;rgb:fd/f6/e3\x1b\\"), Some(Background::Light));
    }

    #[test]
    fn no_answer_or_a_broken_one_says_nothing() {
        let attributes_only = b"\x1b[?1;2c";
        assert!(has_device_attributes(attributes_only));
        assert_eq!(background_in(attributes_only), None);
        assert_eq!(background_in(b""), None);
        assert_eq!(background_in(b"\x1b]11;rgb:ffff/ffff"), None, "cut short");
        assert_eq!(background_in(b"\x1b]11;rgb:ffff/ffff\x07"), None, "two channels");
        assert_eq!(background_in(b"\x1b]11;rgb:fffff/0/0\x07"), None, "five digits");
        assert_eq!(background_in(b"\x1b]11;rgb:zz/00/00\x07"), None);
        assert!(!has_device_attributes(b"\x1b[?64;1"), "not yet ended");
        assert!(!has_device_attributes(b"\x1b[?64;1R"));
    }
}
