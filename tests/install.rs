//! What an installed concur-tui offers beside its commands, on the real binary: `--version` with
//! the commit, shell completions and the man page, none of them showing the hidden worker.

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

#[test]
fn bash_completion_offers_the_subcommands_but_not_the_worker() {
    let script = stdout_of(&["completions", "bash"]);
    for subcommand in ["run", "bench", "list", "completions", "man"] {
        assert!(script.contains(subcommand), "bash completion lacks {subcommand}");
    }
    assert!(script.contains("--workload"), "bash completion lacks run's options");
    assert!(!script.contains("__worker"), "bash completion offers the hidden worker");
}

#[test]
fn zsh_and_fish_completions_leave_out_the_worker() {
    for shell in ["zsh", "fish"] {
        let script = stdout_of(&["completions", shell]);
        assert!(script.contains("bench"), "{shell} completion lacks bench");
        assert!(!script.contains("__worker"), "{shell} completion offers the hidden worker");
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let output = run(&["completions", "tcsh"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn the_man_page_is_roff_without_the_worker() {
    let page = stdout_of(&["man"]);
    // roff's portable-apostrophe preamble (`.ie \n(.g .ds Aq …`, `.el …`) comes first; then the
    // title request.
    let first_request = page.lines().find(|line| !line.starts_with(".ie ") && !line.starts_with(".el "));
    assert!(
        first_request.is_some_and(|line| line.starts_with(".TH concur-tui 1")),
        "not a man page: {first_request:?}"
    );
    assert!(page.contains("concur\\-tui"), "the page does not name the program");
    assert!(page.contains("bench"), "the page does not list bench");
    assert!(!page.contains("__worker"), "the man page shows the hidden worker");
}

#[test]
fn every_subcommand_the_man_page_lists_has_a_page_of_its_own() {
    for subcommand in ["list", "run", "bench", "completions", "man"] {
        let page = stdout_of(&["man", subcommand]);
        let title = format!(".TH concur-tui-{subcommand} 1");
        assert!(page.contains(&title), "man {subcommand} has no {title}");
    }
    let run_page = stdout_of(&["man", "run"]);
    assert!(run_page.contains("\\-\\-workload"), "the run page lacks its options");
    assert_eq!(run(&["man", "__worker"]).status.code(), Some(2), "the hidden worker has a page");
}
