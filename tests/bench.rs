//! `concur-tui bench` and `run --format csv|markdown` as a user runs them: the real binary, a
//! tiny sweep, its three exports read back, bad input refused in one line with nothing left
//! behind, and Ctrl-C ending a sweep with what it measured.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{assert_no_leftovers, command, new_tag, run, tagged_processes, wait_until, Reaped};
use serde_json::Value;

/// A directory of its own for a test's files, removed with everything in it when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("concur-tui-bench-{}", new_tag()));
        std::fs::create_dir_all(&path).expect("temp dir");
        Self(path)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn entries(&self) -> Vec<PathBuf> {
        std::fs::read_dir(&self.0).expect("read dir").map(|entry| entry.expect("entry").path()).collect()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_tiny_sweep_prints_the_table_and_writes_three_exports_that_parse() {
    let dir = TempDir::new();
    let (json, csv, markdown) = (dir.file("sweep.json"), dir.file("sweep.csv"), dir.file("sweep.md"));
    let output = run(&[
        "bench",
        "--workload",
        "cpu",
        "--size",
        "20000",
        "--tasks",
        "4",
        "--models",
        "threads,threads+gil,processes",
        "--workers",
        "1,2",
        "--runs",
        "3",
        "--export-json",
        json.to_str().expect("path"),
        "--export-csv",
        csv.to_str().expect("path"),
        "--export-markdown",
        markdown.to_str().expect("path"),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("mean ± σ") && stdout.contains("Karp-Flatt"), "{stdout}");
    assert!(stdout.contains(" ran\n") && stdout.contains("times faster than"), "no summary: {stdout}");
    assert!(stdout.contains("serial fraction"), "no Amdahl fit: {stdout}");

    let json: Value = serde_json::from_str(&text(&json)).expect("the JSON export parses");
    let points = json["results"].as_array().expect("a results list");
    // The sequential baseline, then 3 models × 2 worker counts.
    assert_eq!(points.len(), 7, "{json:#}");
    assert_eq!((points[0]["model"].as_str(), points[0]["speedup"].as_f64()), (Some("sequential"), Some(1.0)));
    for point in points {
        for key in ["mean", "stddev", "median", "min", "max", "speedup"] {
            assert!(point[key].is_f64(), "{key} missing: {point}");
        }
        let (min, mean, max) = (point["min"].as_f64(), point["mean"].as_f64(), point["max"].as_f64());
        assert!(min <= mean && mean <= max, "{point}");
        let runs = point["runs"].as_array().expect("every single run");
        assert_eq!(runs.len(), 3, "{point}");
        for single in runs {
            assert!(single["wall_seconds"].as_f64().is_some_and(|wall| wall > 0.0), "{single}");
            assert_eq!(single["tasks_done"], 4);
            assert_eq!(single["checksum_ok"], true, "every measured run did the whole work: {single}");
        }
    }
    let gil = points.iter().find(|p| p["model"] == "threads+gil" && p["workers"] == 2).expect("threads+gil × 2");
    assert_eq!(gil["gil"], true);

    let csv = text(&csv);
    let lines: Vec<&str> = csv.split("\r\n").filter(|line| !line.is_empty()).collect();
    assert!(lines[0].starts_with("model,workers,runs,mean_s,stddev_s,median_s,min_s,max_s,speedup"), "{csv}");
    assert_eq!(lines.len(), 1 + 7, "a header and one row per point: {csv}");
    let columns = lines[0].split(',').count();
    assert!(lines.iter().all(|line| line.split(',').count() == columns), "{csv}");
    assert!(lines[1].starts_with("sequential,1,3,"), "{csv}");

    let markdown = text(&markdown);
    assert!(
        markdown.contains("| model | workers | mean ± σ |") && markdown.contains("| threads+gil | 2 |"),
        "{markdown}"
    );
}

#[test]
fn bad_input_gets_one_line_exit_2_and_leaves_no_file() {
    let dir = TempDir::new();
    let json = dir.file("never.json");
    let json = json.to_str().expect("path");
    let unwritable = dir.file("no-such-dir/out.csv");
    let unwritable = unwritable.to_str().expect("path");
    let cases: [&[&str]; 7] = [
        &["--workers", "0"],
        &["--workers", "3..1"],
        &["--models", "foo"],
        &["--runs", "0"],
        &["--export-csv", unwritable],
        &["--affinity", "4096"],
        &["--size", "0"],
    ];
    for case in cases {
        let mut args = vec!["bench", "-w", "cpu", "-s", "1000", "-t", "2", "--workers", "1", "--runs", "1"];
        args.extend(["--export-json", json]);
        args.extend_from_slice(case);
        // The later --workers and --runs of a case would be refused as repeats: drop the defaults.
        if case[0] == "--workers" || case[0] == "--runs" {
            let at = args.iter().position(|arg| *arg == case[0]).expect("default");
            args.drain(at..at + 2);
        }
        let output = run(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{case:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{case:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{case:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{case:?}");
        assert!(dir.entries().is_empty(), "{case:?} left {:?}", dir.entries());
    }
}

/// A tiny sweep with `extra` arguments.
fn tiny_bench(extra: &[&str]) -> std::process::Output {
    let mut args = vec!["bench", "-w", "cpu", "-s", "1000", "-t", "2", "--workers", "1", "--runs", "1"];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn two_exports_to_one_file_are_refused_before_measuring() {
    let dir = TempDir::new();
    let path = dir.file("sweep.out");
    let same = dir.0.join(".").join("sweep.out");
    let output =
        tiny_bench(&["--export-json", path.to_str().expect("path"), "--export-csv", same.to_str().expect("path")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("two exports"), "{stderr}");
    assert!(output.stdout.is_empty(), "nothing was measured");
    assert!(dir.entries().is_empty(), "left {:?}", dir.entries());
}

#[test]
fn an_export_path_that_is_a_link_is_refused_and_its_target_kept() {
    let dir = TempDir::new();
    let victim = dir.file("victim");
    std::fs::write(&victim, "precious").expect("the victim");
    let link = dir.file("sweep.json");
    std::os::unix::fs::symlink(&victim, &link).expect("a planted link");
    let output = tiny_bench(&["--export-json", link.to_str().expect("path")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert_eq!(text(&victim), "precious");
    // An existing regular file named by the user is replaced, as hyperfine does.
    std::fs::remove_file(&link).expect("remove the link");
    std::fs::write(&link, "an older sweep").expect("an older export");
    let output = tiny_bench(&["--export-json", link.to_str().expect("path")]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let _: Value = serde_json::from_str(&text(&link)).expect("the new export");
    assert_eq!(dir.entries().len(), 2, "no temporary file left: {:?}", dir.entries());
}

#[test]
fn an_export_to_a_full_disk_leaves_no_empty_file_and_says_so() {
    let Some(disk) = common::FullDisk::mount() else { return };
    let json = disk.dir.join("sweep.json");
    let output = tiny_bench(&["--export-json", json.to_str().expect("path")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("No space left on device") && stderr.contains("removed"), "{stderr}");
    assert!(disk.entries().is_empty(), "left {:?}", disk.entries());
}

#[test]
fn ctrl_c_stops_the_sweep_prints_and_exports_what_was_measured() {
    let dir = TempDir::new();
    let json = dir.file("partial.json");
    let tag = new_tag();
    let child = command(
        &tag,
        &[
            "bench",
            "-w",
            "io",
            "-s",
            "200",
            "-t",
            "4",
            "--models",
            "processes",
            "--workers",
            "1..4",
            "--runs",
            "5",
            "--export-json",
            json.to_str().expect("path"),
        ],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .expect("start bench");
    let child = Reaped::new(child);
    // A worker process exists only once the signal listener is up: then Ctrl-C is the sweep's.
    assert!(wait_until(Duration::from_secs(60), || tagged_processes(&tag).len() > 1), "no worker started");
    child.signal(libc::SIGINT);
    let output = child.wait_with_output();
    assert_no_leftovers(&tag);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(130), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("cancelled"), "{stdout}");
    let json: Value = serde_json::from_str(&text(&json)).expect("the partial export parses");
    let measured: usize =
        json["results"].as_array().expect("results").iter().map(|p| p["runs"].as_array().map_or(0, Vec::len)).sum();
    assert!(measured < 5 * 5, "the sweep stopped early: {measured} runs");
    assert!(json["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .any(|w| w.as_str().is_some_and(|w| w.contains("cancelled"))));
}

#[test]
fn run_writes_csv_and_markdown_with_a_row_per_worker() {
    let csv = run(&["run", "-w", "cpu", "-m", "threads", "-n", "3", "-t", "6", "-s", "20000", "--format", "csv"]);
    assert_eq!(csv.status.code(), Some(0));
    let csv = String::from_utf8(csv.stdout).expect("utf-8");
    let lines: Vec<&str> = csv.split("\r\n").filter(|line| !line.is_empty()).collect();
    assert_eq!(lines[0], "worker,pid,tid,outcome,tasks,cpu_s,cores,lock_wait_s,start_up_s");
    assert_eq!(lines.len(), 4, "{csv}");
    let tasks: u64 =
        lines[1..].iter().map(|line| line.split(',').nth(4).expect("tasks").parse::<u64>().expect("a number")).sum();
    assert_eq!(tasks, 6);

    let markdown = run(&["run", "-w", "cpu", "-m", "processes", "-n", "2", "-t", "2", "-s", "20000", "-f", "markdown"]);
    assert_eq!(markdown.status.code(), Some(0));
    let markdown = String::from_utf8(markdown.stdout).expect("utf-8");
    assert!(markdown.starts_with("## concur-tui run: cpu · processes × 2"), "{markdown}");
    assert_eq!(markdown.lines().filter(|line| line.starts_with("| ")).count(), 2 + 2, "{markdown}");
    assert!(markdown.contains("finished"), "{markdown}");
}
