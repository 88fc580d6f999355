//! What an installed concur-tui offers beside its commands, on the real binary: `--version` with
//! the commit.

mod common;

use common::run;

/// The binary's standard output for `args`, after checking that it succeeded.
fn stdout_of(args: &[&str]) -> String {
    let output = run(args);
    assert!(output.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("UTF-8")
}

#[test]
fn version_names_the_cargo_version_and_a_commit() {
    let version = stdout_of(&["--version"]);
    assert!(version.starts_with("concur-tui "), "{version}");
    assert!(version.contains(env!("CARGO_PKG_VERSION")), "{version}");
    // A hash in a checkout, "unknown" in a build without git: either way the slot is there.
    assert!(version.contains("(commit "), "{version}");
}
