//! `--function`: the user's own Python function end to end, with the machine's `python3`. Each
//! test writes its functions into a directory of its own, removed when the test ends.

mod common;

use std::path::{Path, PathBuf};

use common::{assert_no_leftovers, command, new_tag, run, run_json};
use serde_json::Value;

/// A scratch directory with the test's Python files, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(files: &[(&str, &str)]) -> Self {
        let dir = std::env::temp_dir().join(format!("concur-tui-function-{}", new_tag()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        for (name, text) in files {
            let path = dir.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("its folder");
            }
            std::fs::write(path, text).expect("a Python file");
        }
        Self(dir)
    }

    /// `--function` for `name` in `file` of this directory.
    fn function(&self, file: &str, name: &str) -> String {
        format!("{}:{name}", self.0.join(file).display())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Big integers, so that the checksum is taken modulo 2^64; a coroutine function for asyncio;
/// and what cannot run.
const WORK: &str = "\
import asyncio

print('the module may print when imported')


def power(i):
    return 3 ** (40 + i)


async def later(i):
    await asyncio.sleep(0.005)
    return 3 ** (40 + i)


def boom(i):
    if i == 2:
        raise ValueError('task %d went wrong' % i)
    return i


square = lambda i: i * i


def outer():
    def inner(i):
        return i
    return inner


nested = outer()
NUMBERS = [1, 2]
";

/// What `power` gives for tasks `0..tasks`, summed modulo 2^64.
fn power_checksum(tasks: u32) -> u64 {
    (0..tasks).fold(0u64, |sum, i| sum.wrapping_add(3u64.wrapping_pow(40 + i)))
}

fn assert_ran_every_task(what: &str, json: &Value, tasks: u64) {
    assert_eq!(json["outcome"], "finished", "{what}: {json}");
    assert_eq!(json["tasks_done"], tasks, "{what}");
    assert_eq!(json["plan"]["workload"], "function", "{what}");
    assert_eq!(json["plan"]["runtime"]["kind"], "python", "{what}");
    assert!(json["metrics"]["expected_checksum"].is_null(), "{what}: nothing can check it");
    let workers = json["workers"].as_array().expect("workers");
    assert!(workers.iter().all(|worker| worker["outcome"] == "done"), "{what}: {json}");
}

/// Every Python model runs the function once per task: the same checksum each time, the one
/// its results add up to modulo 2^64; a coroutine function is awaited.
#[test]
fn a_function_runs_under_every_python_model_with_one_checksum() {
    let scratch = Scratch::new(&[("work.py", WORK)]);
    let power = scratch.function("work.py", "power");
    let later = scratch.function("work.py", "later");
    let models: [(&[&str], &str); 10] = [
        (&["-m", "sequential"], &power),
        (&["-m", "threads", "-n", "3"], &power),
        (&["-m", "processes", "-n", "3", "--start", "fork"], &power),
        (&["-m", "processes", "-n", "2", "--start", "spawn"], &power),
        (&["-m", "processes", "-n", "2", "--start", "forkserver"], &power),
        (&["-m", "threads", "-n", "3", "--schedule", "dynamic", "--chunk", "2"], &power),
        (&["-m", "processes", "-n", "2", "--schedule", "dynamic", "--chunk", "3", "--start", "spawn"], &power),
        (&["-m", "async", "-n", "3"], &later),
        (&["-m", "async", "-n", "3"], &power),
        (&["-m", "threads", "-n", "2"], &later),
    ];
    for (model, function) in models {
        let mut args = vec!["--function", function, "-t", "7"];
        args.extend_from_slice(model);
        let (code, json) = run_json(&args);
        let what = args.join(" ");
        assert_eq!(code, 0, "{what}: {json}");
        assert_ran_every_task(&what, &json, 7);
        assert_eq!(json["metrics"]["checksum"], power_checksum(7), "{what}");
    }
    let table = run(&["run", "--function", &power, "-t", "3", "-n", "2"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.starts_with("function · threads") && text.contains("CPython 3."), "{text}");
    assert!(text.contains(&format!("checksum {}, which nothing can check", power_checksum(3))), "{text}");
}

/// What a task returns adds into the checksum by the documented rules: a float by its IEEE-754
/// bits, a bool as 0 or 1, None and text as 0; the same under threads and processes.
#[test]
fn floats_bools_none_and_text_fold_into_the_checksum_as_documented() {
    let source = "def half(i):\n    return i / 4\n\ndef odd(i):\n    return i % 2 == 1\n\n\
                  def nothing(i):\n    return None\n\ndef text(i):\n    return str(i)\n";
    let scratch = Scratch::new(&[("kinds.py", source)]);
    let halves = (0..6u32).fold(0u64, |sum, i| sum.wrapping_add((f64::from(i) / 4.0).to_bits()));
    for (name, expected) in [("half", halves), ("odd", 3), ("nothing", 0), ("text", 0)] {
        for model in ["threads", "processes"] {
            let function = scratch.function("kinds.py", name);
            let (code, json) = run_json(&["--function", &function, "-t", "6", "-n", "2", "-m", model]);
            assert_eq!(code, 0, "{name} {model}: {json}");
            assert_eq!(json["metrics"]["checksum"], expected, "{name} {model}");
        }
    }
}

/// `package.module:name`, importable from the current directory, as `python -m` finds it.
#[test]
fn a_function_of_a_module_is_found_from_the_current_directory() {
    let scratch = Scratch::new(&[("jobs/__init__.py", ""), ("jobs/heavy.py", "def twice(i):\n    return 2 * i\n")]);
    for model in [["-m", "threads"], ["-m", "processes"]] {
        let tag = new_tag();
        let mut args = vec!["run", "--format", "json", "--function", "jobs.heavy:twice", "-t", "5", "-n", "2"];
        args.extend_from_slice(&model);
        let output = command(&tag, &args).current_dir(&scratch.0).output().expect("start the binary");
        assert_no_leftovers(&tag);
        let json: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(&output.stderr)));
        assert_eq!(output.status.code(), Some(0), "{json}");
        assert_ran_every_task("module", &json, 5);
        assert_eq!(json["metrics"]["checksum"], 20, "2 × (0 + 1 + 2 + 3 + 4)");
    }
    assert!(!scratch.0.join("jobs/__pycache__").exists(), "no .pyc written beside the user's code");
}

/// A task that raises ends its worker failed: the exception's type and message in `error`, the
/// traceback in the JSON, nothing of it on the screen.
#[test]
fn a_raising_function_fails_its_worker_and_keeps_the_traceback() {
    let scratch = Scratch::new(&[("work.py", WORK)]);
    let boom = scratch.function("work.py", "boom");
    for model in [["-m", "threads"], ["-m", "processes"]] {
        let tag = new_tag();
        let args = ["run", "--format", "json", "--function", &boom, "-t", "4", "-n", "2", model[0], model[1]];
        let output = command(&tag, &args).output().expect("start the binary");
        assert_no_leftovers(&tag);
        let json: Value = serde_json::from_slice(&output.stdout).expect("a report");
        assert_eq!(output.status.code(), Some(1), "{json}");
        assert_eq!(json["outcome"], "failed");
        let failed = &json["workers"][1];
        assert_eq!(failed["outcome"], "failed", "{json}");
        assert_eq!(failed["error"], "ValueError: task 2 went wrong");
        let traceback = failed["traceback"].as_str().expect("a traceback");
        assert!(traceback.contains("work.py") && traceback.contains("in boom"), "{traceback}");
        assert!(traceback.trim_end().ends_with("ValueError: task 2 went wrong"), "{traceback}");
        assert_eq!(json["workers"][0]["outcome"], "done");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("Traceback"), "{stderr}");
    }
}

/// What cannot run is one line and exit 2 before anything starts: a missing file, a syntax error
/// with its file and line, a missing name, something not callable, and a function that pickle
/// refuses where multiprocessing pickles it.
#[test]
fn what_cannot_run_is_refused_in_one_line() {
    let scratch = Scratch::new(&[("work.py", WORK), ("broken.py", "def f(i):\n    return i +\n")]);
    let work = |name: &str| scratch.function("work.py", name);
    let missing = scratch.function("missing.py", "f");
    let broken = scratch.function("broken.py", "f");
    let cases: Vec<(Vec<String>, String)> = vec![
        (vec![missing.clone()], format!("no file {}", scratch.0.join("missing.py").display())),
        (vec![broken], format!("syntax error at {}:2: invalid syntax", scratch.0.join("broken.py").display())),
        (vec![work("absent")], "has no 'absent'".to_owned()),
        (vec![work("NUMBERS")], "'NUMBERS' is a list, not a function".to_owned()),
        (vec!["work.py".to_owned()], "--function takes FILE.py:NAME or MODULE:NAME".to_owned()),
        (vec!["no_such_module:f".to_owned()], "cannot import no_such_module".to_owned()),
        (vec![work("square"), "-m".into(), "processes".into(), "--start".into(), "spawn".into()], "pickle".to_owned()),
        (
            vec![work("nested"), "-m".into(), "processes".into(), "--start".into(), "forkserver".into()],
            "pickle".to_owned(),
        ),
        (
            vec![work("square"), "-m".into(), "processes".into(), "--schedule".into(), "dynamic".into()],
            "pickle".to_owned(),
        ),
        (vec![work("power"), "-w".into(), "cpu".into()], "cannot be used with".to_owned()),
    ];
    for (given, expected) in cases {
        let mut args = vec!["run", "--function"];
        args.extend(given.iter().map(String::as_str));
        let output = run(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{given:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{given:?}: {stderr}");
        assert!(stderr.contains(&expected), "{given:?}: expected {expected:?} in {stderr}");
        assert!(output.stdout.is_empty(), "{given:?}: nothing ran");
    }
    // A lambda is fine where nothing pickles it: forked processes of the static schedule.
    let (code, json) = run_json(&["--function", &work("square"), "-m", "processes", "-n", "2", "-t", "4"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["metrics"]["checksum"], 14);
}

/// `bench --runtime python --function`: the models over worker counts, named as Python's.
#[test]
fn bench_sweeps_a_function_over_python_models() {
    let scratch = Scratch::new(&[("work.py", WORK)]);
    let power = scratch.function("work.py", "power");
    let args = ["bench", "--runtime", "python", "--function", &power, "-t", "4", "-n", "1,2", "-r", "1"];
    let output = run(&args);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let heading = stdout.lines().next().unwrap_or_default();
    assert!(heading.starts_with("function") && heading.contains("CPython 3."), "{heading}");
    for model in ["sequential", "threads", "processes"] {
        assert!(stdout.lines().any(|line| line.starts_with(model)), "{model}: {stdout}");
    }
    let refused = run(&["bench", "--function", &power, "--models", "threads+gil", "-n", "1,2"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--models threads+gil") && stderr.contains("use threads"), "{stderr}");
}

/// The dashboard opens with the function as its first entry; a failed run's traceback goes to
/// the saved results, never over the screen.
#[test]
fn the_dashboard_opens_on_the_function_and_saves_its_traceback() {
    let scratch = Scratch::new(&[("work.py", WORK)]);
    let mut dashboard = common::pty::Dashboard::start_in(
        Some(&scratch.0),
        &["--function", "work.py:boom", "-n", "1", "--tasks", "4"],
        100,
        30,
    );
    dashboard.wait_for("Press Enter to run function");
    dashboard.send("\r");
    dashboard.wait_for("threads × 1: failed");
    // The worker's row says why it failed, in one line.
    assert!(dashboard.contents().contains("ValueErro"), "{}", dashboard.contents());
    assert!(!dashboard.contents().contains("Traceback"), "{}", dashboard.contents());
    dashboard.send("q");
    assert_eq!(dashboard.wait_exit(), 0);
    let saved = dashboard.results_files();
    let json = saved.iter().find(|path| path.extension().is_some_and(|ext| ext == "json")).expect("saved JSON");
    let results: Value = serde_json::from_str(&std::fs::read_to_string(json).expect("readable")).expect("JSON");
    let worker = &results["results"][0]["runs"][0]["workers"][0];
    assert_eq!(worker["error"], "ValueError: task 2 went wrong", "{results}");
    assert!(worker["traceback"].as_str().is_some_and(|text| text.contains("in boom")), "{results}");
    assert!(in_dir(&saved, &scratch.0));
}

fn in_dir(files: &[PathBuf], dir: &Path) -> bool {
    files.iter().all(|file| file.parent() == Some(dir))
}
