//! Entry point: everything is in the library's `program` module, so that the compiler sees the
//! whole program in one crate and reports what it never uses.

fn main() -> std::process::ExitCode {
    concur_tui::program::main()
}
