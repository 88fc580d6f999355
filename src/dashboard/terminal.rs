//! The terminal guard: one place enters raw mode and the alternate screen, one idempotent
//! `restore` leaves them. It runs on every exit path: on drop, and first in the panic hook.
//! It only switches the terminal's modes: it draws nothing and knows no state.
//!
//! A terminal can go away under the program (a closed window, a dropped ssh connection: EIO
//! on every write). Nothing here may panic then: `restore` drops its errors, and ratatui's
//! `Terminal`, whose drop `eprintln!`s when it cannot show the cursor (a panic on a dead
//! terminal, and an abort from the panic hook), is never dropped.

use std::io::{stdout, Stdout, Write};
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, Ordering};

use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::cursor::Show;
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::crossterm::ExecutableCommand;
use ratatui::Terminal;

/// Whether this process has the terminal in raw mode and on the alternate screen. Process-wide
/// by nature: there is one terminal, and the panic hook must be able to find it.
static ENTERED: AtomicBool = AtomicBool::new(false);

pub(crate) type Screen = Terminal<CrosstermBackend<Stdout>>;

/// Owns the terminal while the dashboard runs.
pub(crate) struct TerminalGuard {
    /// Never dropped: `restore` shows the cursor that ratatui's drop would, without its
    /// `eprintln!`. Its buffers go with the process, which ends soon after.
    screen: ManuallyDrop<Screen>,
}

impl TerminalGuard {
    pub(crate) fn enter() -> std::io::Result<Self> {
        enable_raw_mode()?;
        ENTERED.store(true, Ordering::SeqCst);
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
                Ok(Self { screen: ManuallyDrop::new(screen) })
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
