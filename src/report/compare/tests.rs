use std::time::Duration;

use super::*;
use crate::engine::PlanRequest;
use crate::workload::{by_name, Measure, Metrics, MetricsOf, Wrong};

fn plan(workload: &str, model: Model, workers: usize, lock: bool, options: &[(&str, &str)]) -> Plan {
    let mut request = PlanRequest {
        workers: Some(workers),
        tasks: 16,
        size: Some(1000),
        gil: lock.then_some(Duration::from_millis(5)),
        ..PlanRequest::new(by_name(workload).expect("workload"), model)
    };
    for (flag, value) in options {
        request.set(flag, value);
    }
    request.validate_with(&[0, 1]).expect("plan")
}

fn run(plan: &Plan, wall: f64) -> RunReport {
    RunReport { wall_seconds: wall, ..RunReport::empty(plan.clone()) }
}

#[test]
fn repeats_are_one_row_with_mean_and_sample_deviation() {
    let threads = plan("cpu", Model::Threads, 2, false, &[]);
    let reports = vec![run(&threads, 1.0), run(&threads, 2.0), run(&threads, 3.0)];
    let comparison = compare(&reports);
    assert_eq!(comparison.rows.len(), 1);
    let row = &comparison.rows[0];
    assert_eq!(row.runs, vec![0, 1, 2]);
    assert!((row.wall_mean - 2.0).abs() < 1e-12);
    assert!((row.wall_sd.expect("repeats have a spread") - 1.0).abs() < 1e-12);
    assert_eq!(row.speedup, None, "no baseline yet");
    assert!(!row.winner, "a row alone wins nothing");
    assert_eq!(comparison.sentence, None);
}

#[test]
fn speedup_uses_the_baseline_mean_and_the_fastest_row_wins_with_a_reason() {
    let sequential = plan("cpu", Model::Sequential, 1, false, &[]);
    let locked = plan("cpu", Model::Threads, 2, true, &[]);
    let processes = plan("cpu", Model::Processes, 2, false, &[]);
    let reports = vec![
        run(&sequential, 0.8),
        run(&sequential, 1.2),
        run(&locked, 1.1),
        run(&processes, 0.5),
        run(&processes, 0.5),
    ];
    let comparison = compare(&reports);
    let rows = &comparison.rows;
    assert_eq!(rows.len(), 3);
    assert!((rows[0].speedup.expect("its own baseline") - 1.0).abs() < 1e-12);
    assert!((rows[2].speedup.expect("processes") - 2.0).abs() < 1e-12, "{:?}", rows[2]);
    assert!((rows[2].efficiency.expect("efficiency") - 1.0).abs() < 1e-12);
    assert_eq!(rows.iter().map(|row| row.winner).collect::<Vec<_>>(), vec![false, false, true]);
    assert_eq!(
        comparison.sentence.as_deref(),
        Some(
            "processes × 2 ran 2.20× faster than threads × 2 with the lock: the lock lets one thread of a \
             process compute at a time."
        )
    );
}

#[test]
fn variants_tell_rows_apart_and_the_sentence_falls_back_on_the_catalog_text() {
    let racy = plan("contention", Model::Threads, 2, false, &[("strategy", "racy")]);
    let mutex = plan("contention", Model::Threads, 2, false, &[("strategy", "mutex")]);
    let comparison = compare(&[run(&mutex, 2.0), run(&racy, 1.0)]);
    let variants: Vec<&str> = comparison.rows.iter().map(|row| row.variant.as_str()).collect();
    assert_eq!(variants, vec!["mutex", "racy"]);
    let sentence = comparison.sentence.expect("two rows");
    assert!(sentence.starts_with("threads × 2 (racy) ran 2.00× faster than threads × 2 (mutex): one shared counter"));
    let dynamic = plan("imbalance", Model::Threads, 2, false, &[("schedule", "dynamic")]);
    assert_eq!(variant_of(&dynamic), "dynamic");
    assert_eq!(variant_of(&plan("imbalance", Model::Threads, 2, false, &[])), "static");
    assert_eq!(variant_of(&plan("cpu", Model::Threads, 2, false, &[])), "");
}

#[test]
fn a_baseline_keeps_the_options_a_sequential_run_can_take() {
    let piped = plan("data", Model::Processes, 2, false, &[("transfer", "pipe"), ("passes", "3")]);
    let base = baseline_setup_of(&piped).expect("a baseline setup");
    assert_eq!(base.options.get("transfer"), "inherit", "a sequential run cannot pipe");
    assert_eq!(base.options.get("passes"), "3");
    let sequential = plan("data", Model::Sequential, 1, false, &[("passes", "3")]);
    let comparison = compare(&[run(&sequential, 1.0), run(&piped, 0.5)]);
    assert!((comparison.rows[1].speedup.expect("matched") - 2.0).abs() < 1e-12);
    let other_passes = plan("data", Model::Sequential, 1, false, &[("passes", "4")]);
    assert_eq!(compare(&[run(&other_passes, 1.0), run(&piped, 0.5)]).rows[1].speedup, None);
}

#[test]
fn cancelled_runs_keep_their_own_row_and_never_win() {
    let threads = plan("cpu", Model::Threads, 2, false, &[]);
    let cancelled = RunReport { outcome: RunOutcome::Cancelled(None), ..run(&threads, 0.1) };
    let comparison = compare(&[run(&threads, 1.0), cancelled.clone(), run(&threads, 1.0), cancelled]);
    assert_eq!(
        comparison.rows.iter().map(|row| row.runs.clone()).collect::<Vec<_>>(),
        vec![vec![0, 2], vec![1], vec![3]]
    );
    assert!(comparison.rows.iter().all(|row| !row.winner));
}

#[test]
fn a_lock_shared_by_the_winner_is_named_rather_than_the_work_shared() {
    let sequential = plan("io", Model::Sequential, 1, false, &[]);
    let locked = plan("io", Model::Threads, 2, true, &[]);
    let sentence = compare(&[run(&sequential, 2.0), run(&locked, 1.0)]).sentence.expect("two rows");
    assert_eq!(
        sentence,
        "threads × 2 with the lock ran 2.00× faster than sequential × 1: its 2 threads share one lock, so only \
         their waits can overlap."
    );
}

#[test]
fn the_sentence_compares_parallel_rows_among_themselves_when_there_are_two() {
    let racy_base = plan("contention", Model::Sequential, 1, false, &[("strategy", "racy")]);
    let racy = plan("contention", Model::Threads, 2, false, &[("strategy", "racy")]);
    let mutex_base = plan("contention", Model::Sequential, 1, false, &[("strategy", "mutex")]);
    let mutex = plan("contention", Model::Threads, 2, false, &[("strategy", "mutex")]);
    let reports = [run(&racy_base, 4.0), run(&racy, 1.0), run(&mutex_base, 0.5), run(&mutex, 2.0)];
    let sentence = compare(&reports).sentence.expect("a sentence");
    assert!(sentence.starts_with("threads × 2 (racy) ran 2.00× faster than threads × 2 (mutex)"), "{sentence}");
}

/// A workload's own figures as a test sets them: a wrong result, a measure.
#[derive(Debug, Default)]
struct Figures {
    wrong: Option<Wrong>,
    measure: Option<Measure>,
}

impl Metrics for Figures {
    fn json(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::Map::new()
    }

    fn wrong(&self) -> Option<Wrong> {
        self.wrong.clone()
    }

    fn measure(&self) -> Option<Measure> {
        self.measure.clone()
    }
}

fn with(report: RunReport, figures: Figures) -> RunReport {
    RunReport { metrics: MetricsOf(std::sync::Arc::new(figures)), ..report }
}

fn lost(lost: u64, of: u64) -> Figures {
    Figures {
        wrong: Some(Wrong {
            brief: format!("{} lost", crate::units::brief_count(lost)),
            whole: format!("lost {} of {} updates", crate::units::grouped(lost), crate::units::grouped(of)),
        }),
        measure: None,
    }
}

fn requests(rate: f64, p99: &str) -> Figures {
    Figures {
        wrong: None,
        measure: Some(Measure {
            value: rate,
            higher_is_better: true,
            wins_by: "answered more requests a second",
            text: format!("{rate:.0} requests/s, p99 {p99}"),
        }),
    }
}

#[test]
fn a_racy_run_is_wrong_never_wins_and_the_sentence_says_how_many_updates_it_lost() {
    let sequential = plan("contention", Model::Sequential, 1, false, &[("strategy", "racy")]);
    let racy = plan("contention", Model::Threads, 2, false, &[("strategy", "racy")]);
    let mutex = plan("contention", Model::Threads, 2, false, &[("strategy", "mutex")]);
    let reports = [
        run(&sequential, 4.0),
        with(run(&racy, 1.0), lost(142_224_382, 288_000_000)),
        run(&mutex, 9.0),
        with(run(&racy, 1.1), lost(140_000_000, 288_000_000)),
    ];
    let comparison = compare(&reports);
    let racy_row = &comparison.rows[1];
    assert_eq!(racy_row.runs, vec![1, 3], "repeats of a wrong run still fold");
    assert_eq!(racy_row.wrong.as_ref().map(|wrong| wrong.brief.as_str()), Some("140M lost"));
    assert!(!racy_row.winner, "the fastest, but wrong");
    assert_eq!(comparison.rows.iter().map(|row| row.winner).collect::<Vec<_>>(), vec![true, false, false]);
    assert_eq!(
        comparison.sentence.as_deref(),
        Some("threads × 2 (racy) lost 140,000,000 of 288,000,000 updates, so its result is wrong; threads × 2 (mutex) got it right.")
    );
    assert_eq!(comparison.compared, Some((2, 1)));
}

#[test]
fn the_latest_right_run_is_set_against_the_wrong_one_when_it_has_no_other_right_run() {
    let racy = plan("contention", Model::Threads, 2, false, &[("strategy", "racy")]);
    let mutex = plan("contention", Model::Threads, 2, false, &[("strategy", "mutex")]);
    let comparison = compare(&[with(run(&racy, 1.0), lost(512, 32_000)), run(&mutex, 2.0)]);
    assert_eq!(
        comparison.sentence.as_deref(),
        Some(
            "threads × 2 (racy) lost 512 of 32,000 updates, so its result is wrong; threads × 2 (mutex) got it right."
        )
    );
    assert!(comparison.rows.iter().all(|row| !row.winner), "one right row wins nothing");
}

#[test]
fn a_checksum_mismatch_and_a_failed_worker_are_wrong_results() {
    let threads = plan("cpu", Model::Threads, 2, false, &[]);
    let mismatch = RunReport { checksum: 1, expected_checksum: Some(2), ..run(&threads, 1.0) };
    assert_eq!(
        wrong_of(&mismatch).map(|wrong| wrong.whole),
        Some("ended with a checksum that does not match".to_owned())
    );
    let failed = RunReport { outcome: RunOutcome::Failed, ..run(&threads, 1.0) };
    let comparison = compare(&[failed]);
    assert_eq!(comparison.rows[0].wrong.as_ref().map(|wrong| wrong.brief.as_str()), Some("1 failed"));
    assert_eq!(comparison.sentence.as_deref(), Some("threads × 2 had a worker fail, so its result is wrong."));
    assert_eq!(wrong_of(&run(&threads, 1.0)), None);
}

#[test]
fn latency_is_judged_by_requests_a_second_not_wall_time() {
    let open = plan("latency", Model::Threads, 2, false, &[]);
    let locked = plan("latency", Model::Threads, 2, true, &[]);
    let comparison = compare(&[
        with(run(&locked, 4.0), requests(86.0, "2.3 s")),
        with(run(&open, 4.01), requests(17_510.0, "1.2 ms")),
    ]);
    assert_eq!(comparison.rows.iter().map(|row| row.winner).collect::<Vec<_>>(), vec![false, true]);
    assert_eq!(
        comparison.sentence.as_deref(),
        Some(
            "threads × 2 answered more requests a second than threads × 2 with the lock: 17510 requests/s, p99 1.2 \
             ms against 86 requests/s, p99 2.3 s."
        )
    );
}

#[test]
fn the_sentence_names_every_setting_that_differs_affinity_included() {
    let unpinned = plan("cpu", Model::Threads, 2, false, &[]);
    let mut pinned = unpinned.clone();
    pinned.affinity = crate::engine::affinity::Affinity::Single;
    let sentence = compare(&[run(&pinned, 4.0), run(&unpinned, 3.0)]).sentence.expect("two rows");
    assert_eq!(
        sentence,
        "threads × 2 unpinned ran 1.33× faster than threads × 2 pinned to one CPU: on one CPU its workers take turns."
    );
    let mut slower_switch = plan("cpu", Model::Threads, 2, true, &[]);
    slower_switch.gil = Some(Duration::from_millis(100));
    let locked = plan("cpu", Model::Threads, 2, true, &[]);
    let (a, b) = verdict::labels(&locked, "", &slower_switch, "");
    assert_eq!((a.as_str(), b.as_str()), ("threads × 2 with the lock (5 ms)", "threads × 2 with the lock (100 ms)"));
}

/// `plan` run by a CPython 3.11 (GIL on), or a free-threaded 3.13t with the GIL off.
fn on_python(mut plan: Plan, free_threaded: bool) -> Plan {
    plan.runtime = crate::engine::plan::runtime::Runtime::Python(crate::engine::plan::runtime::Interpreter {
        path: "/usr/bin/python3".into(),
        implementation: "CPython".to_owned(),
        version: if free_threaded { (3, 13, 1) } else { (3, 11, 7) },
        free_threaded,
        gil: !free_threaded,
    });
    plan
}

#[test]
fn python_runs_are_rows_of_their_own_measured_against_pythons_own_baseline() {
    let native = plan("cpu", Model::Sequential, 1, false, &[]);
    let python = on_python(plan("cpu", Model::Sequential, 1, false, &[]), false);
    let threads = on_python(plan("cpu", Model::Threads, 2, false, &[]), false);
    let reports = vec![run(&native, 1.0), run(&python, 4.0), run(&threads, 4.0)];
    let comparison = compare(&reports);
    assert_eq!(comparison.rows.len(), 3, "a Python run never folds into a native one");
    let speedup = comparison.rows[2].speedup.expect("over Python's own baseline");
    assert!((speedup - 1.0).abs() < 1e-12, "{speedup}");
    let sentence = comparison.sentence.expect("two Python rows");
    assert!(
        sentence.contains("CPython 3.11 threads × 2") && sentence.contains("CPython 3.11 sequential × 1"),
        "{sentence}"
    );
}

#[test]
fn the_real_gil_is_set_beside_the_emulated_lock_and_a_difference_is_named() {
    let native = plan("cpu", Model::Sequential, 1, false, &[]);
    let locked = plan("cpu", Model::Threads, 2, true, &[]);
    let python = on_python(plan("cpu", Model::Sequential, 1, false, &[]), false);
    let threads = on_python(plan("cpu", Model::Threads, 2, false, &[]), false);
    // 1.0 / 1.05 = 0.95×; 4.0 / 4.08 = 0.98×.
    let reports = vec![run(&native, 1.0), run(&locked, 1.05), run(&python, 4.0), run(&threads, 4.08)];
    let sentence = compare(&reports).sentence.expect("a sentence");
    assert!(
        sentence.starts_with("CPython 3.11 threads × 2: 0.98×; emulated lock: 0.95×, within 10% of each other"),
        "{sentence}"
    );
    // The same pair, the native run latest, on a free-threaded build: they differ, and it says so.
    let free = on_python(plan("cpu", Model::Sequential, 1, false, &[]), true);
    let free_threads = on_python(plan("cpu", Model::Threads, 2, false, &[]), true);
    let reports = vec![run(&free, 4.0), run(&free_threads, 2.1), run(&native, 1.0), run(&locked, 1.05)];
    let sentence = compare(&reports).sentence.expect("a sentence");
    assert!(sentence.starts_with("CPython 3.13t threads × 2 (GIL off): 1.90×; emulated lock: 0.95×"), "{sentence}");
    assert!(sentence.contains("they differ by more than 10%"), "{sentence}");
    // Other worker counts are not a pair.
    let four = plan("cpu", Model::Threads, 4, true, &[]);
    let reports = vec![run(&native, 1.0), run(&python, 4.0), run(&threads, 4.08), run(&four, 1.05)];
    assert!(!compare(&reports).sentence.unwrap_or_default().contains("emulated lock:"));
    assert!(super::gil::agree(1.0, 0.91) && !super::gil::agree(1.0, 0.89));
}
