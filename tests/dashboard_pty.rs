//! The dashboard driven as a person would: the real binary in a pseudo-terminal, keys typed,
//! the screen read, the exit status, the terminal left behind and every worker process checked.

mod common;

use common::pty::Dashboard;
use common::{assert_no_leftovers, children_of, wait_until};
use std::time::Duration;

/// Settings for a long processes run of `io` whose draining can be watched: 2 workers, tasks
/// of 3.2 s (the dashboard's 400 ms doubled three times), draining at the end of the task in hand.
fn long_processes_run(dashboard: &mut Dashboard) {
    dashboard.wait_for("Catalog");
    dashboard.send("j"); // io
    dashboard.send("m"); // threads → processes
    dashboard.send("\t"); // focus the settings
    for _ in 0..3 {
        dashboard.send("j"); // down to "size"
    }
    for _ in 0..3 {
        dashboard.send("l");
    }
    dashboard.wait_for("3200 ms");
    dashboard.send("d"); // drain at the end of the task
    dashboard.wait_for("end of task");
    dashboard.send("\r");
    // Waiting without the CPU: the workers show as blocked while they wait.
    dashboard.wait_for("blocked 2");
    // Both workers inside their first task: their gauges have started to fill.
    let started = wait_until(Duration::from_secs(20), || {
        let screen = dashboard.contents();
        let rows = screen
            .lines()
            .filter(|line| line.contains(" blocked ") && line.contains(['▏', '▎', '▍', '▌', '▋', '▊', '▉', '█']));
        rows.count() == 2
    });
    assert!(started, "workers never began a task:\n{}", dashboard.contents());
}

fn worker_pids(dashboard: &Dashboard) -> Vec<i32> {
    let pid = dashboard.pid() as u32;
    assert!(wait_until(Duration::from_secs(20), || children_of(pid).len() >= 2), "no worker processes");
    children_of(pid)
}

fn assert_all_gone(pids: &[i32]) {
    assert!(
        wait_until(Duration::from_secs(10), || pids.iter().all(|pid| !common::alive(*pid))),
        "workers outlived the dashboard: {pids:?}"
    );
}

#[test]
fn runs_a_workload_shows_its_result_and_quits_with_q() {
    let mut dashboard = Dashboard::start(&[], 120, 36);
    dashboard.wait_for("Catalog");
    dashboard.wait_for("Press Enter to run cpu");
    dashboard.send("j"); // io: 16 tasks of 400 ms on 2 threads
    dashboard.send("\r");
    dashboard.wait_for("io · threads × 2: finished");
    let screen = dashboard.contents();
    let row = screen.lines().find(|line| line.contains("│1 ") && line.contains("io")).unwrap_or_default();
    // At 120 columns the figure has room and the outcome column does not: a run that did not
    // finish would lead its figure with its outcome.
    assert!(row.contains("threads") && row.contains("checksum ok"), "no results row:\n{screen}");
    assert!(!row.contains("cancelled") && !row.contains("failed"), "{row}");
    dashboard.send("q");
    assert_eq!(dashboard.wait_exit(), 0);
    dashboard.assert_terminal_restored();
    assert!(dashboard.contents().contains("1 run(s) finished"), "{}", dashboard.contents());
    // A cursor-position query waits up to 2 s for the terminal's answer (the pty here gives
    // none), with a blank screen and signals unheard: the dashboard must never ask.
    assert!(!dashboard.wrote(b"\x1b[6n"), "the dashboard asked the terminal for the cursor position");
    assert_no_leftovers(&dashboard.tag);
}

#[test]
fn ctrl_c_during_a_processes_run_drains_then_exits_130() {
    let mut dashboard = Dashboard::start(&["--grace", "10s"], 120, 36);
    long_processes_run(&mut dashboard);
    let workers = worker_pids(&dashboard);
    dashboard.send("\x03");
    dashboard.wait_for("DRAINING");
    assert_eq!(dashboard.wait_exit(), 130);
    dashboard.assert_terminal_restored();
    let screen = dashboard.contents();
    assert!(screen.contains("stopped by SIGINT while running io · processes × 2"), "{screen}");
    // Draining at the end of the task: each worker finished the task in hand.
    assert_eq!(screen.matches("cancelled after 1 task(s)").count(), 2, "{screen}");
    assert_all_gone(&workers);
    assert_no_leftovers(&dashboard.tag);
}

#[test]
fn a_second_ctrl_c_kills_at_once() {
    let mut dashboard = Dashboard::start(&["--grace", "10s"], 120, 36);
    long_processes_run(&mut dashboard);
    let workers = worker_pids(&dashboard);
    dashboard.send("\x03");
    dashboard.wait_for("DRAINING");
    dashboard.send("\x03");
    assert_eq!(dashboard.wait_exit(), 130);
    dashboard.assert_terminal_restored();
    let screen = dashboard.contents();
    // Escalation is SIGKILL, not the end of a 3.2 s task.
    assert_eq!(screen.matches("killed (SIGKILL) after 0 task(s)").count(), 2, "{screen}");
    assert_all_gone(&workers);
    assert_no_leftovers(&dashboard.tag);
}

#[test]
fn sigterm_and_sighup_shut_down_like_ctrl_c() {
    for (signal, code, name) in [(libc::SIGTERM, 143, "SIGTERM"), (libc::SIGHUP, 129, "SIGHUP")] {
        let mut dashboard = Dashboard::start(&[], 120, 36);
        dashboard.wait_for("Catalog");
        dashboard.send("m"); // processes, cpu
        dashboard.send("\r");
        dashboard.wait_for("running 2");
        let workers = worker_pids(&dashboard);
        dashboard.signal(signal);
        assert_eq!(dashboard.wait_exit(), code, "{name}");
        dashboard.assert_terminal_restored();
        assert!(dashboard.contents().contains(&format!("stopped by {name}")), "{}", dashboard.contents());
        assert_all_gone(&workers);
        assert_no_leftovers(&dashboard.tag);
    }
}

#[test]
fn kill_9_of_the_dashboard_leaves_no_worker() {
    let mut dashboard = Dashboard::start(&[], 100, 30);
    long_processes_run(&mut dashboard);
    let workers = worker_pids(&dashboard);
    dashboard.signal(libc::SIGKILL);
    dashboard.wait_exit();
    assert_all_gone(&workers);
    assert_no_leftovers(&dashboard.tag);
}

#[test]
fn a_small_terminal_says_so_and_quits_cleanly() {
    let mut dashboard = Dashboard::start(&[], 60, 15);
    dashboard.wait_for("Terminal too small");
    dashboard.send("q");
    assert_eq!(dashboard.wait_exit(), 0);
    dashboard.assert_terminal_restored();
}

#[test]
fn without_a_terminal_it_points_to_run() {
    let output = common::run(&[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("concur-tui run") && stderr.trim_end().lines().count() == 1, "{stderr}");
}

#[test]
fn the_timeline_shows_each_worker_then_each_cpu_and_exports_a_trace() {
    let dir = std::env::temp_dir().join(format!("concur-tui-pty-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let mut dashboard = Dashboard::start_in(Some(&dir), &[], 120, 36);
    dashboard.wait_for("Catalog");
    dashboard.send("j"); // io: waits that show as blocked
    dashboard.send("g"); // with the lock, each wait ends in a lock wait
    dashboard.send("\r");
    dashboard.wait_for("blocked");
    dashboard.send("t");
    dashboard.wait_for("Timeline · workers");
    dashboard.wait_for("lock wait");
    // Both lanes fill with the record of what each worker did.
    let drawn = wait_until(Duration::from_secs(20), || {
        let screen = dashboard.contents();
        ["w0 ", "w1 "].iter().all(|lane| {
            screen.lines().any(|line| line.contains(lane) && line.chars().filter(|c| *c == '█').count() > 2)
        })
    });
    assert!(drawn, "the lanes stayed empty:\n{}", dashboard.contents());
    dashboard.send("[");
    dashboard.wait_for("1.00 s window");
    dashboard.send("t");
    dashboard.wait_for("Timeline · CPUs");
    dashboard.wait_for("cpu0");
    dashboard.wait_for("io · threads × 2: finished");
    dashboard.send("e");
    dashboard.wait_for("trace of run 1 written to");
    let traces: Vec<_> = std::fs::read_dir(&dir).expect("the scratch directory").filter_map(Result::ok).collect();
    assert_eq!(traces.len(), 1, "one trace file");
    let trace: serde_json::Value =
        serde_json::from_slice(&std::fs::read(traces[0].path()).expect("the trace")).expect("trace JSON");
    let events = trace["traceEvents"].as_array().expect("trace events");
    assert!(events.iter().any(|event| event["name"] == "blocked"), "no blocked segment in the trace");
    dashboard.send("t");
    dashboard.wait_for("Run settings");
    dashboard.send("q");
    assert_eq!(dashboard.wait_exit(), 0);
    dashboard.assert_terminal_restored();
    assert_no_leftovers(&dashboard.tag);
    std::fs::remove_dir_all(&dir).expect("remove the scratch directory");
}

/// `(above, below)` from the workers panel's `↑ 3 above · ↓ 40 below` marker, if shown.
fn hidden_rows(screen: &str) -> Option<(usize, usize)> {
    let at = screen.find("↑ ")?;
    let mut numbers = screen[at..].split_whitespace().filter_map(|word| word.parse::<usize>().ok());
    Some((numbers.next()?, numbers.next()?))
}

#[test]
fn sixty_workers_scroll_sort_sum_up_and_the_latency_shows_in_the_help() {
    let mut dashboard = Dashboard::start(&[], 120, 36);
    dashboard.wait_for("Catalog");
    dashboard.send("j"); // io: waits, so sixty workers do not need sixty cores
    dashboard.send("\t"); // settings
    dashboard.send("jj"); // tasks
    dashboard.send("lll"); // 16 → 128 tasks
    dashboard.send("j"); // size
    dashboard.send("ll"); // 400 → 1600 ms a task: about three each, five seconds in all
    dashboard.send(&"+".repeat(58)); // 2 → 60 workers, as one burst of keys
    dashboard.wait_for("workers  60");
    dashboard.send("\r");
    dashboard.wait_for("× 60");
    dashboard.send("\t"); // focus the workers panel
    let shown = |dashboard: &Dashboard| hidden_rows(&dashboard.contents());
    assert!(
        wait_until(Duration::from_secs(30), || shown(&dashboard).is_some()),
        "no marker:\n{}",
        dashboard.contents()
    );
    let (above, below) = shown(&dashboard).unwrap_or_default();
    assert_eq!(above, 0, "{}", dashboard.contents());
    assert!(below > 0 && below < 60, "{}", dashboard.contents());
    // The aggregate sums up every worker, shown or not: while running, or after the run.
    let screen = dashboard.contents();
    assert!(screen.contains("progress min") || screen.contains("tasks done min"), "{screen}");
    dashboard.send("\x1b[6~"); // PgDn
    assert!(
        wait_until(Duration::from_secs(30), || shown(&dashboard)
            .is_some_and(|(up, down)| up > 0 && up + down == below)),
        "PgDn did not scroll by a page:\n{}",
        dashboard.contents()
    );
    dashboard.send("\x1b[F"); // End
    assert!(
        wait_until(Duration::from_secs(30), || shown(&dashboard) == Some((below, 0))),
        "End did not reach the last row:\n{}",
        dashboard.contents()
    );
    dashboard.send("s");
    dashboard.wait_for("Workers by state");
    dashboard.send("?");
    dashboard.wait_for("key→screen p50");
    let help = dashboard.contents();
    let line = help.lines().find(|line| line.contains("key→screen")).unwrap_or_default();
    assert!(line.contains("p99") && line.contains("frame p50"), "{line}");
    dashboard.send("\x1b");
    dashboard.send("q");
    assert_eq!(dashboard.wait_exit(), 0);
    dashboard.assert_terminal_restored();
    assert!(dashboard.contents().contains("key-to-screen p50"), "{}", dashboard.contents());
    assert_no_leftovers(&dashboard.tag);
}
