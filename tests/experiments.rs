//! `concur-tui experiments` as a user runs it: the real binary, two short experiments, the
//! claims table and each verdict on stdout, the exports read back and checked against each
//! other, and an unknown name refused in one line with exit 2.

mod common;

use std::path::PathBuf;

use std::time::Duration;

use common::{assert_no_leftovers, command, new_tag, run, tagged_processes, wait_until, Reaped};
use serde_json::Value;

/// A directory of its own for a test's files, removed with everything in it when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("concur-tui-experiments-{}", new_tag()));
        std::fs::create_dir_all(&path).expect("temp dir");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const VERDICTS: [&str; 3] = ["holds", "does not hold", "can't tell"];

/// The lost-updates row's verdict and figure are what its runs' JSON says: the racy run lost
/// updates (on one CPU it may not, and the figure then says 0); the mutex lost none.
fn check_lost_updates(json: &Value) {
    let experiments = json["experiments"].as_array().expect("experiments");
    let lost = experiments.iter().find(|e| e["name"] == "lost-updates").expect("lost-updates");
    let runs = lost["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2, "{lost:#}");
    let lost_of = |at: usize| runs[at]["report"]["metrics"]["lost_updates"].as_u64().expect("lost_updates");
    assert_eq!(runs[1]["report"]["metrics"]["strategy"], "mutex");
    assert_eq!(lost_of(1), 0, "a mutex loses nothing");
    let figure = lost["figure"].as_str().expect("a figure");
    let grouped = |count: u64| {
        let digits = count.to_string();
        let mut text = String::new();
        for (at, digit) in digits.chars().enumerate() {
            if at > 0 && (digits.len() - at).is_multiple_of(3) {
                text.push(',');
            }
            text.push(digit);
        }
        text
    };
    assert!(figure.starts_with(&format!("racy {} lost", grouped(lost_of(0)))), "{figure}");
    let verdict = lost["verdict"].as_str().expect("a verdict");
    assert_eq!(verdict == "holds", lost_of(0) > 0, "{lost:#}");
}

#[test]
fn runs_the_named_experiments_prints_the_claims_table_and_exports_it() {
    let dir = TempDir::new();
    let (json_path, markdown_path) = (dir.0.join("claims.json"), dir.0.join("claims.md"));
    let output = run(&[
        "experiments",
        "convoy",
        "lost-updates",
        "--export-json",
        json_path.to_str().expect("utf-8"),
        "--export-markdown",
        markdown_path.to_str().expect("utf-8"),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let header = stdout.lines().next().unwrap_or_default();
    for column in ["experiment", "claim", "runs", "figure", "verdict"] {
        assert!(header.contains(column), "{header}");
    }
    for name in ["convoy", "lost-updates"] {
        let row = stdout.lines().find(|line| line.starts_with(name)).unwrap_or_default();
        assert!(VERDICTS.iter().any(|verdict| row.trim_end().ends_with(verdict)), "{name}'s row: {stdout}");
        let sentence = stdout.lines().find(|line| line.starts_with(&format!("{name}: "))).unwrap_or_default();
        assert!(
            ["Holds: ", "Does not hold here: ", "Can't tell: "].iter().any(|start| sentence.contains(start)),
            "{name}'s verdict in words: {stdout}"
        );
    }
    let convoy = stdout.lines().find(|line| line.starts_with("convoy")).unwrap_or_default();
    assert!(convoy.contains("req/s"), "the convoy's own measure: {convoy}");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&json_path).expect("the JSON export"))
        .expect("the JSON export is JSON");
    check_lost_updates(&json);
    let markdown = std::fs::read_to_string(&markdown_path).expect("the Markdown export");
    assert!(markdown.contains("| experiment | claim | runs | figure | verdict |"), "{markdown}");
    assert!(markdown.contains("threads × 2 with the lock"), "runs named in full: {markdown}");
}

#[test]
fn an_unknown_experiment_is_refused_in_one_line_naming_the_valid_ones() {
    let output = run(&["experiments", "convoy", "gil-magic"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("gil-magic") && stderr.contains("cpu-bound") && stderr.contains("talking"), "{stderr}");
    assert!(output.stdout.is_empty());
}

/// Ctrl-C ends the run in hand and the experiments with it: the table is printed with what was
/// judged, the experiment cut short says `stopped`, the export is written, the status is 130.
#[test]
fn ctrl_c_stops_the_experiments_and_prints_what_was_judged() {
    let dir = TempDir::new();
    let json_path = dir.0.join("partial.json");
    let tag = new_tag();
    let child =
        command(&tag, &["experiments", "crash", "io-bound", "--export-json", json_path.to_str().expect("utf-8")])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start the experiments");
    let child = Reaped::new(child);
    // A worker process (crash runs processes first) exists only once the signal listener is up.
    assert!(wait_until(Duration::from_secs(60), || tagged_processes(&tag).len() > 1), "no worker started");
    child.signal(libc::SIGINT);
    let output = child.wait_with_output();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(130), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.starts_with("experiment"), "the table: {stdout}");
    assert!(stdout.lines().any(|line| line.trim_end().ends_with("stopped")), "{stdout}");
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).expect("the export")).expect("the export is JSON");
    assert!(json["experiments"].as_array().is_some_and(|judged| !judged.is_empty()), "{json:#}");
    assert_no_leftovers(&tag);
}
