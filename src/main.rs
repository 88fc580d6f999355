//! Entry point: everything is in the library's `program` module, so that the compiler sees the
//! whole program in one crate and reports what it never uses.

fn main() -> std::process::ExitCode {
    concur_tui::program::main()
}

/// Run by the C runtime before Rust's, which reopens a closed standard descriptor on /dev/null:
/// the one moment when `run … >&-` can be told from `run … >/dev/null`. Here, in the binary,
/// because a constructor in the library could be left out by the linker.
#[used]
#[link_section = ".init_array"]
static NOTE_STDOUT_AT_START: extern "C" fn() = note_stdout_at_start;

extern "C" fn note_stdout_at_start() {
    concur_tui::program::note_stdout_at_start();
}
