//! `bench --runtime python` as a user runs it: CPython's threads and processes swept, the exports
//! naming the interpreter and its version, and the emulated lock's models refused in one line.
//! Needs `python3` on PATH, as the Python runtime's own tests do.

mod common;

use common::run;

#[test]
fn a_python_sweep_names_its_interpreter_in_every_export() {
    let dir = std::env::temp_dir().join(format!("concur-tui-python-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (json, csv, markdown) = (dir.join("sweep.json"), dir.join("sweep.csv"), dir.join("sweep.md"));
    let path = |file: &std::path::Path| file.to_str().expect("utf-8 path").to_owned();
    let (json_arg, csv_arg, markdown_arg) = (path(&json), path(&csv), path(&markdown));
    let output = run(&[
        "bench",
        "--runtime",
        "python",
        "-w",
        "cpu",
        "-s",
        "20000",
        "-t",
        "4",
        "--models",
        "threads,processes",
        "-n",
        "2",
        "-r",
        "1",
        "--export-json",
        &json_arg,
        "--export-csv",
        &csv_arg,
        "--export-markdown",
        &markdown_arg,
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let read = |file: &std::path::Path| std::fs::read_to_string(file).expect("export written");
    let (json, csv, markdown) = (read(&json), read(&csv), read(&markdown));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(stdout.starts_with("cpu · CPython 3."), "the heading names the interpreter: {stdout}");
    assert!(markdown.contains("cpu · CPython 3.") && markdown.contains("GIL"), "{markdown}");
    let parsed: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(parsed["runtime"]["kind"], "python", "{parsed}");
    assert!(parsed["runtime"]["version"].as_str().is_some_and(|v| v.starts_with("3.")), "{parsed}");
    let points = parsed["results"].as_array().expect("points");
    assert_eq!(points.len(), 3, "sequential, threads × 2, processes × 2");
    assert!(points.iter().all(|point| point["runtime"] == "python"), "{parsed}");
    let lines: Vec<&str> = csv.split("\r\n").filter(|line| !line.is_empty()).collect();
    assert!(lines[0].ends_with(",runtime,interpreter"), "{csv}");
    assert!(lines[1..].iter().all(|line| line.contains(",python,CPython 3.")), "{csv}");
}

#[test]
fn the_emulated_lock_models_are_refused_under_python_in_one_line() {
    let output = run(&[
        "bench",
        "--runtime",
        "python",
        "-w",
        "cpu",
        "-s",
        "20000",
        "-t",
        "2",
        "--models",
        "threads,threads+gil",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--models threads+gil") && stderr.contains("own GIL"), "{stderr}");
    assert!(output.stdout.is_empty(), "nothing measured");
}

/// `--models threads+gil,python-threads`: the emulated lock's curve and CPython's real GIL's in
/// one sweep, each over its own runtime's sequential baseline, set side by side at each count.
#[test]
fn a_native_sweep_sets_cpythons_threads_beside_the_emulated_lock() {
    let output = run(&[
        "bench",
        "-w",
        "cpu",
        "-s",
        "20000",
        "-t",
        "2",
        "--models",
        "threads+gil,python-threads",
        "-n",
        "2",
        "-r",
        "1",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("python-sequential") && stdout.contains("python-threads"), "{stdout}");
    assert!(stdout.contains("The real GIL beside the emulated lock"), "{stdout}");
    let line = stdout.lines().find(|line| line.contains("threads × 2: ")).unwrap_or_default();
    assert!(line.trim_start().starts_with("CPython 3.") && line.contains("; emulated lock: "), "{stdout}");
    // Under --runtime python every model is Python's already.
    let refused = run(&["bench", "--runtime", "python", "-w", "cpu", "--models", "python-threads"]);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("--models python-threads") && stderr.trim_end().lines().count() == 1, "{stderr}");
}
