//! Writing to stdout and stderr without `print!` and `eprintln!`: those panic when the write
//! fails, as it does on a terminal that hung up (EIO) or on a full disk, and a panic there
//! ended in an abort. Here a failed write is returned or dropped, and the exit status, which
//! always reaches the parent, says what happened.

use std::io::Write;

/// Writes `text` to stdout and flushes it.
pub(crate) fn print(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Writes `line` and a newline to stderr. A failure is dropped: stderr is where it would be
/// said.
pub(crate) fn say(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}
