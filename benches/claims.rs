//! `cargo bench`: the project's speed goals as ratios, measured in one run beside the C floors
//! of `benches/floors.c` (compiled here with gcc when it is present). Absolute
//! times drift on shared machines; the ratios are what docs/figures.md and the notes quote.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use concur_tui::engine::affinity::Affinity;
use std::time::{Duration, Instant};

use concur_tui::engine::RunReport;
use concur_tui::engine::{DrainPolicy, Engine, Model, Phase, PlanRequest, StopReason};
use concur_tui::workload::by_name;

/// Rounds of interleaved measurements; the best of each side is kept, since on a shared machine
/// interference only ever makes a run slower.
const ROUNDS: usize = 5;
/// Start-up is measured one worker at a time, as floors.c does, so that the figure is the cost
/// of one start and not the queueing of many on two cores.
const STARTUP_RUNS: usize = 101;
/// Fresh processes for the cold start-up, each side: the first worker of a new program pays for
/// what a program does the first time (the kernel's page tables, the allocator's first arena).
const COLD_RUNS: usize = 41;

fn main() {
    let floors = c_floors(&["B1", "B2", "B6"]);
    let engine = Engine::new().expect("board");

    println!("## cpu kernel (sum of i*i, i < 10^6, progress reporting included), best of {ROUNDS} interleaved rounds");
    let mut ours_best = f64::INFINITY;
    let mut c_best = f64::INFINITY;
    for _ in 0..ROUNDS {
        if let Some(c) = c_floors(&["B6"]).get("B6.cpu_task.ns") {
            c_best = c_best.min(*c);
        }
        let report = run(
            &engine,
            &PlanRequest {
                tasks: 200,
                size: Some(1_000_000),
                ..PlanRequest::new(by_name("cpu").expect("cpu"), Model::Sequential)
            },
        );
        ours_best = ours_best.min(report.wall_seconds / 200.0 * 1e9);
    }
    compare("cpu task, ns", ours_best, c_best.is_finite().then_some(&c_best));

    println!("\n## worker start-up (ask → first instruction), median of {STARTUP_RUNS} one-worker runs");
    for (model, floor) in [(Model::Threads, "B1.pthread_create_join.us"), (Model::Processes, "B2.fork_exit_wait.us")] {
        let startup = median_of(STARTUP_RUNS, || {
            let report = run(
                &engine,
                &PlanRequest {
                    workers: Some(1),
                    tasks: 1,
                    size: Some(1000),
                    ..PlanRequest::new(by_name("cpu").expect("cpu"), model)
                },
            );
            report.median_startup_seconds().unwrap_or(f64::NAN) * 1e6
        });
        compare(&format!("{model} start-up, µs"), startup, floors.get(floor));
    }

    cold_startup();

    thousand(&engine);

    println!(
        "\n## 2-worker speedup, cpu, 8 tasks of the default size (baseline: 1 worker, same model), best of {ROUNDS}"
    );
    for (label, model, gil, affinity) in [
        ("threads", Model::Threads, false, Affinity::None),
        ("processes", Model::Processes, false, Affinity::None),
        ("threads + lock", Model::Threads, true, Affinity::None),
        ("processes + lock", Model::Processes, true, Affinity::None),
        ("threads, affinity single", Model::Threads, false, Affinity::Single),
        ("processes, affinity single", Model::Processes, false, Affinity::Single),
    ] {
        let wall = |workers| {
            run(
                &engine,
                &PlanRequest {
                    workers: Some(workers),
                    tasks: 8,
                    gil: gil.then_some(concur_tui::engine::plan::DEFAULT_SWITCH_INTERVAL),
                    affinity: affinity.clone(),
                    ..PlanRequest::new(by_name("cpu").expect("cpu"), model)
                },
            )
            .wall_seconds
        };
        let (mut one, mut two) = (f64::INFINITY, f64::INFINITY);
        for _ in 0..ROUNDS {
            one = one.min(wall(1));
            two = two.min(wall(2));
        }
        println!("{label:<28} 1 worker {one:.3} s, 2 workers {two:.3} s, speedup {:.2}", one / two);
    }

    println!("\n## io: 16 tasks of 200 ms");
    for (model, workers) in [(Model::Sequential, 1), (Model::Threads, 16), (Model::Processes, 16)] {
        let report = run(
            &engine,
            &PlanRequest {
                workers: (model != Model::Sequential).then_some(workers),
                tasks: 16,
                ..PlanRequest::new(by_name("io").expect("io"), model)
            },
        );
        println!("{model:<12} {workers:>2} worker(s): {:.3} s", report.wall_seconds);
    }

    shutdown(&engine);
}

/// The first worker of a fresh `concur-tui run`, thread and fork, beside cold_start.c's first
/// `pthread_create` and `fork` of a fresh process; interleaved, median of [`COLD_RUNS`] each.
fn cold_startup() {
    println!(
        "\n## cold start-up: the first worker of a fresh process, median of {COLD_RUNS} processes each, interleaved"
    );
    let dir = std::env::temp_dir().join(format!("concur-tui-cold-{}", std::process::id()));
    let floor = compile_c(&dir, "cold_start.c");
    for (model, c_mode) in [("threads", "thread"), ("processes", "fork")] {
        let (mut ours, mut c) = (Vec::new(), Vec::new());
        for _ in 0..COLD_RUNS {
            let output = Command::new(env!("CARGO_BIN_EXE_concur-tui"))
                .args(["run", "--format", "json", "-w", "cpu", "-n", "1", "-t", "1", "-s", "1000", "-m", model])
                .output();
            let startup = output.ok().and_then(|output| {
                let json: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
                json["workers"][0]["startup_seconds"].as_f64()
            });
            ours.extend(startup.map(|seconds| seconds * 1e6));
            if let Some(floor) = &floor {
                let output = Command::new(floor).arg(c_mode).output();
                c.extend(
                    output.ok().and_then(|output| String::from_utf8_lossy(&output.stdout).trim().parse::<f64>().ok()),
                );
            }
        }
        let c = (!c.is_empty()).then(|| median(&mut c));
        compare(&format!("{model} cold start-up, µs"), median(&mut ours), c.as_ref());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Compiles `benches/<source>` into `dir`; None when gcc or the file is missing.
fn compile_c(dir: &Path, source: &str) -> Option<std::path::PathBuf> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches").join(source);
    std::fs::create_dir_all(dir).ok()?;
    let binary = dir.join(source.file_stem()?);
    let built = Command::new("gcc").args(["-O2", "-pthread"]).arg(&source).arg("-o").arg(&binary).status();
    built.is_ok_and(|status| status.success()).then_some(binary)
}

/// A thousand workers at once, each with one trivial task: the time until the last one was
/// started (`Engine::start` returns), and until the last one was reaped; beside a thousand of
/// floors.c's create + join (threads) and fork + `_exit` + waitpid (processes), one after the
/// other as floors.c makes them, and beside a thousand threads or processes of nothing but the
/// OS alive at once, as a run's are; all measured in the same rounds.
fn thousand(engine: &Engine) {
    const WORKERS: usize = 1000;
    println!("\n## {WORKERS} workers at once, one trivial task each, best of {ROUNDS} interleaved rounds (C floor: {WORKERS} × floors.c's)");
    for (model, group, floor) in
        [(Model::Threads, "B1", "B1.pthread_create_join.us"), (Model::Processes, "B2", "B2.fork_exit_wait.us")]
    {
        let plan = PlanRequest {
            workers: Some(WORKERS),
            tasks: WORKERS as u64,
            size: Some(1),
            ..PlanRequest::new(by_name("cpu").expect("cpu"), model)
        }
        .validate()
        .expect("plan");
        let (mut started, mut reaped, mut c_us) = (f64::INFINITY, f64::INFINITY, f64::INFINITY);
        let mut live = f64::INFINITY;
        for _ in 0..ROUNDS {
            if let Some(us) = c_floors(&[group]).get(floor) {
                c_us = c_us.min(*us);
            }
            live = live.min(all_live_at_once(model, WORKERS));
            let asked = Instant::now();
            let mut run = engine.start(&plan).expect("start");
            started = started.min(asked.elapsed().as_secs_f64() * 1e3);
            run.wait(Duration::from_millis(1), |_| {});
            reaped = reaped.min(asked.elapsed().as_secs_f64() * 1e3);
            assert_eq!(run.finish().checksum_ok(), Some(true), "a benchmark run lost or repeated a task");
        }
        // µs per worker × 1000 workers = ms.
        let floor_ms = c_us.is_finite().then_some(c_us * WORKERS as f64 / 1000.0);
        compare(&format!("{WORKERS} {model} all started, ms"), started, floor_ms.as_ref());
        compare(&format!("{WORKERS} {model} all reaped, ms"), reaped, floor_ms.as_ref());
        println!(
            "{:<28} ours {started:.1}, {WORKERS} bare {model} alive at once {live:.1}, ratio {:.2}×",
            format!("{WORKERS} {model} all started, ms"),
            started / live
        );
    }
}

/// The time (ms) to start `workers` threads or processes that live at once and do nothing:
/// std threads parked on a barrier, or forked children blocked on a pipe. floors.c ends each
/// before it makes the next, so the next reuses its stack or its page tables; in a run, as
/// here, all of them live together.
fn all_live_at_once(model: Model, workers: usize) -> f64 {
    let asked = Instant::now();
    let started = if model == Model::Processes {
        let mut ends = [0; 2];
        // SAFETY: pipe(2) fills the two descriptors of the array it is given.
        assert_eq!(unsafe { libc::pipe(ends.as_mut_ptr()) }, 0, "pipe");
        let [read_end, write_end] = ends;
        let mut children = Vec::with_capacity(workers);
        for _ in 0..workers {
            // SAFETY: the child makes only async-signal-safe calls (close, read, _exit).
            match unsafe { libc::fork() } {
                0 => unsafe {
                    // SAFETY: as above; the read returns at end of file, when the bench closes
                    // its end or dies.
                    libc::close(write_end);
                    let mut byte = 0u8;
                    libc::read(read_end, (&raw mut byte).cast(), 1);
                    libc::_exit(0)
                },
                child if child > 0 => children.push(child),
                _ => break,
            }
        }
        let started = asked.elapsed();
        // SAFETY: closing our own descriptors and waiting for our own children.
        unsafe {
            libc::close(write_end);
            for child in children {
                libc::waitpid(child, std::ptr::null_mut(), 0);
            }
            libc::close(read_end);
        }
        started
    } else {
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(workers + 1));
        let threads: Vec<_> = (0..workers)
            .map(|_| {
                let barrier = std::sync::Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                })
            })
            .collect();
        let started = asked.elapsed();
        barrier.wait();
        for thread in threads {
            let _ = thread.join();
        }
        started
    };
    started.as_secs_f64() * 1e3
}

/// Median time from a stop request to the last worker ended, over 20 runs of 2 busy workers;
/// and from a second request (escalation) to the end, with workers that would drain slowly.
fn shutdown(engine: &Engine) {
    println!("\n## shutdown, median of 20 (in-process: the signal itself adds microseconds)");
    for model in [Model::Threads, Model::Processes] {
        let mut first = Vec::new();
        let mut second = Vec::new();
        for _ in 0..20 {
            for (times, drain) in [(&mut first, DrainPolicy::Chunk), (&mut second, DrainPolicy::Task)] {
                let plan = PlanRequest {
                    workers: Some(2),
                    tasks: 64,
                    drain,
                    ..PlanRequest::new(by_name("cpu").expect("cpu"), model)
                }
                .validate()
                .expect("plan");
                let mut run = engine.start(&plan).expect("start");
                std::thread::sleep(Duration::from_millis(30));
                if drain == DrainPolicy::Task {
                    run.request_stop(StopReason::User);
                }
                let asked = Instant::now();
                run.request_stop(StopReason::User);
                while run.poll() != Phase::Ended {
                    std::thread::sleep(Duration::from_micros(200));
                }
                times.push(asked.elapsed().as_secs_f64() * 1e3);
                let _ = run.finish();
            }
        }
        first.sort_by(f64::total_cmp);
        second.sort_by(f64::total_cmp);
        println!(
            "{model:<10} stop → last worker stopped {:.2} ms (max {:.2}); second stop → ended {:.2} ms",
            first[10], first[19], second[10]
        );
    }
}

fn run(engine: &Engine, request: &PlanRequest) -> RunReport {
    let plan = request.validate().expect("a valid plan");
    let mut run = engine.start(&plan).expect("start");
    run.wait(std::time::Duration::from_millis(1), |_| {});
    let report = run.finish();
    assert_eq!(report.checksum_ok(), Some(true), "a benchmark run lost or repeated a task");
    report
}

fn median_of(repeats: usize, mut measure: impl FnMut() -> f64) -> f64 {
    let mut values: Vec<f64> = (0..repeats).map(|_| measure()).collect();
    median(&mut values)
}

fn compare(label: &str, ours: f64, floor: Option<&f64>) {
    match floor {
        Some(floor) => println!("{label:<28} ours {ours:.1}, C floor {floor:.1}, ratio {:.2}×", ours / floor),
        None => println!("{label:<28} ours {ours:.1} (no C floor: gcc or floors.c missing)"),
    }
}

/// Compiles floors.c and runs the given groups of it; empty when gcc or the file is missing.
fn c_floors(groups: &[&str]) -> HashMap<String, f64> {
    let mut figures = HashMap::new();
    let dir = std::env::temp_dir().join(format!("concur-tui-floors-{}", std::process::id()));
    if let Some(binary) = compile_c(&dir, "floors.c") {
        for group in groups {
            if let Ok(output) = Command::new(&binary).arg(group).output() {
                for line in String::from_utf8_lossy(&output.stdout).lines() {
                    if let Some((name, value)) = line.split_once(' ') {
                        if let Ok(value) = value.trim().parse() {
                            figures.insert(name.to_owned(), value);
                        }
                    }
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    figures
}
