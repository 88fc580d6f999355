//! The dashboard driven as a person would: the real binary in a pseudo-terminal, keys typed,
//! the screen read, the exit status, the terminal left behind and every worker process checked.

mod common;

use common::pty::Dashboard;
use common::{assert_no_leftovers, children_of, python_dirs_of, wait_until};
use std::time::Duration;

/// Settings for a long processes run of `io` whose draining can be watched: 2 workers, 4 tasks
/// of 1.6 s (the dashboard's 400 ms doubled twice), draining at the end of the task in hand.
/// Its sequential baseline runs first (6.4 s), so that its speedup is known.
fn long_processes_run(dashboard: &mut Dashboard) {
    to_the_catalog(dashboard);
    dashboard.send("j"); // io
    dashboard.send("m"); // threads → processes
    dashboard.send("\t"); // focus the settings
    dashboard.send("jj"); // down to "tasks"
    dashboard.send("hh"); // 16 → 4
    dashboard.send("j"); // "size"
    dashboard.send("ll");
    dashboard.wait_for("1600 ms");
    dashboard.send("d"); // drain at the end of the task
    dashboard.wait_for("end of task");
    dashboard.send("\r");
    dashboard.wait_for("running the sequential baseline first");
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

/// From the experiments list the dashboard opens on to the catalog, one Tab away.
fn to_the_catalog(dashboard: &mut Dashboard) {
    dashboard.wait_for("Experiments");
    dashboard.send("\t");
    dashboard.wait_for("Catalog");
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
fn runs_a_workload_after_its_baseline_shows_its_speedup_and_saves_the_results_on_q() {
    let mut dashboard = Dashboard::start(&[], 120, 36);
    to_the_catalog(&mut dashboard);
    dashboard.wait_for("Press Enter to run cpu");
    dashboard.send("j"); // io: 16 tasks of 100 ms on 2 threads
    dashboard.send("\t");
    dashboard.send("jjj"); // "size"
    dashboard.send("hh");
    dashboard.wait_for("100 ms");
    dashboard.wait_for("no baseline yet for io");
    dashboard.send("\r");
    dashboard.wait_for("running the sequential baseline first");
    dashboard.wait_for("io · threads × 2: finished");
    // The sentence is drawn after the rows above it: once it shows, so does the whole table.
    dashboard.wait_for("threads × 2 ran");
    let screen = dashboard.contents();
    let row = |n: usize| screen.lines().find(|line| line.contains(&format!(" {n}   io "))).unwrap_or_default();
    assert!(row(1).contains("sequential"), "the baseline first:\n{screen}");
    // Speedup without pressing b, and no claim from a checksum that proves no computed result.
    let threads = row(2);
    assert!(threads.contains("threads") && threads.contains('×'), "a speedup: {threads}");
    assert!(!threads.contains(" ok ") && !threads.contains("checksum"), "{threads}");
    assert!(threads.contains('★'), "the faster row wins: {threads}");
    assert!(screen.contains("threads × 2 ran") && screen.contains("faster than sequential × 1"), "{screen}");
    dashboard.send("q");
    assert_eq!(dashboard.wait_exit(), 0);
    dashboard.assert_terminal_restored();
    let summary = dashboard.contents();
    assert!(summary.contains("2 run(s) finished, 0 cancelled; nothing was running at exit."), "{summary}");
    let files = dashboard.results_files();
    assert_eq!(files.len(), 2, "{files:?}");
    for file in &files {
        let name = file.file_name().expect("a name").to_string_lossy().into_owned();
        assert!(summary.contains(&name), "the summary names {name}:\n{summary}");
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&files[0]).expect("the JSON")).expect("results JSON");
    let rows = json["results"].as_array().expect("rows");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["model"], "threads");
    assert!(rows[1]["speedup"].as_f64().expect("a speedup") > 1.0, "{json}");
    assert_eq!(rows[1]["runs"][0]["plan"]["workers"], 2, "each run in the run report's shape");
    let markdown = std::fs::read_to_string(&files[1]).expect("the Markdown");
    assert!(markdown.contains("| 2 ★ | io |") && markdown.contains("threads × 2 ran"), "{markdown}");
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
    // The baseline finished, the run was cancelled: counted apart, and both kept in the files.
    assert!(screen.contains("1 run(s) finished, 1 cancelled."), "{screen}");
    assert_eq!(dashboard.results_files().len(), 2, "results written on Ctrl-C too");
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
        to_the_catalog(&mut dashboard);
        dashboard.send("m"); // processes, cpu
        dashboard.send("\t");
        dashboard.send("jj"); // "tasks"
        dashboard.send("hhh"); // 16 → 2: one task a worker, after a baseline of two
        dashboard.send("j"); // "size": 1.5 G → 375 M integers, seconds a task in a debug build
        dashboard.send("hh");
        dashboard.wait_for("375M ints");
        dashboard.send("\r");
        // The processes' run has begun (not "running 2": on a busy machine the kernel may show
        // one of them waiting for a CPU), and both worker processes exist.
        dashboard.wait_for("Workers · cpu · processes × 2 ·");
        let workers = worker_pids(&dashboard);
        dashboard.signal(signal);
        assert_eq!(dashboard.wait_exit(), code, "{name}");
        dashboard.assert_terminal_restored();
        let screen = dashboard.contents();
        assert!(screen.contains(&format!("stopped by {name}")), "{screen}");
        assert!(screen.contains("results written to concur-tui-results-"), "{screen}");
        assert_all_gone(&workers);
        assert_no_leftovers(&dashboard.tag);
    }
}

/// A closed window, a dropped ssh connection, `tmux kill-server`: the terminal hangs up in the
/// middle of a run. The run drains, the results are written, the workers' cgroup goes, and the
/// exit status says SIGHUP: nothing aborts on the writes that fail.
#[test]
fn a_terminal_that_hangs_up_during_a_run_is_an_ordinary_sighup_exit() {
    let mut dashboard = Dashboard::start(&[], 120, 36);
    long_processes_run(&mut dashboard);
    let workers = worker_pids(&dashboard);
    let pen = workers_cgroup(dashboard.pid());
    dashboard.hang_up();
    assert_eq!(dashboard.wait_exit(), 129, "SIGHUP's status, not an abort");
    let files = dashboard.results_files();
    assert_eq!(files.len(), 2, "the results, written on a hang-up too: {files:?}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&files[0]).expect("the JSON")).expect("results JSON");
    let runs = json["results"].as_array().expect("rows").iter().map(|row| row["runs"].as_array().map_or(0, Vec::len));
    assert_eq!(runs.sum::<usize>(), 2, "the baseline and the run cut short: {json}");
    assert!(!pen.exists(), "{} outlived the dashboard", pen.display());
    assert_all_gone(&workers);
    assert_no_leftovers(&dashboard.tag);
}

/// The names of the dashboard's files are predictable from `ps`: in a shared directory someone
/// plants links under them. The files go to the next free name; what the links point to stays
/// as it was.
#[test]
fn links_planted_under_the_results_and_trace_names_are_never_written_through() {
    let mut dashboard = Dashboard::start(&[], 120, 36);
    to_the_catalog(&mut dashboard);
    let (pid, dir) = (dashboard.pid(), dashboard.dir.clone());
    let victim = dir.join("victim");
    std::fs::write(&victim, "precious").expect("the victim");
    for runs in 1..=3 {
        for name in [
            format!("results-{pid}-{runs}.md"),
            format!("results-{pid}-{runs}.json"),
            format!("trace-{pid}-{runs}-io.json"),
        ] {
            std::os::unix::fs::symlink(&victim, dir.join(format!("concur-tui-{name}"))).expect("a planted link");
        }
    }
    dashboard.send("j"); // io: 16 tasks of 100 ms on 2 threads, after its baseline
    dashboard.send("\t");
    dashboard.send("jjj"); // "size"
    dashboard.send("hh");
    dashboard.wait_for("100 ms");
    dashboard.send("\r");
    dashboard.wait_for("io · threads × 2: finished");
    dashboard.send("e");
    dashboard.wait_for("trace of run 2 written to");
    dashboard.send("q");
    assert_eq!(dashboard.wait_exit(), 0);
    assert_eq!(std::fs::read_to_string(&victim).expect("the victim"), "precious");
    let summary = dashboard.contents();
    let (markdown, json) = (format!("concur-tui-results-{pid}-2.1.md"), format!("concur-tui-results-{pid}-2.1.json"));
    assert!(summary.contains(&markdown) && summary.contains(&json), "{summary}");
    for name in [markdown, json, format!("concur-tui-trace-{pid}-2-io.1.json")] {
        let meta = std::fs::symlink_metadata(dir.join(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(meta.is_file() && meta.len() > 0, "{name}: {meta:?}");
    }
    assert_no_leftovers(&dashboard.tag);
}

/// `run` and `bench` on a terminal that hangs up: the run in hand is cancelled and the exit
/// status is SIGHUP's, though the report has nowhere to go.
#[test]
fn run_and_bench_on_a_terminal_that_hangs_up_exit_129() {
    let cases: [(&[&str], &str); 2] = [
        (&["run", "-w", "io", "-m", "processes", "-n", "2", "-t", "8", "-s", "1s"], "io · processes × 2"),
        (&["bench", "-w", "io", "-s", "1s", "-t", "4", "--workers", "1,2", "--runs", "1"], "runs"),
    ];
    for (args, progress) in cases {
        let mut program = Dashboard::start(args, 120, 36);
        program.wait_for(progress);
        program.hang_up();
        assert_eq!(program.wait_exit(), 129, "{args:?}");
        assert_no_leftovers(&program.tag);
    }
}

#[test]
fn kill_9_of_the_dashboard_leaves_no_worker_and_the_next_one_sweeps_its_cgroup() {
    let mut dashboard = Dashboard::start(&[], 100, 30);
    long_processes_run(&mut dashboard);
    let workers = worker_pids(&dashboard);
    let pen = workers_cgroup(dashboard.pid());
    dashboard.signal(libc::SIGKILL);
    dashboard.wait_exit();
    assert_all_gone(&workers);
    assert_no_leftovers(&dashboard.tag);
    // Nothing can remove the pen on a SIGKILL, but a dashboard of another test starting in
    // parallel may already have swept it, as the next one here would.
    if may_make_cgroups() && pen.is_dir() {
        let mut next = Dashboard::start(&[], 100, 30);
        next.wait_for("Experiments");
        assert!(wait_until(Duration::from_secs(10), || !pen.exists()), "{} was not swept", pen.display());
        next.send("q");
        assert_eq!(next.wait_exit(), 0);
        assert_no_leftovers(&next.tag);
    }
}

/// True where the dashboard may make its workers a cpu cgroup (cgroup v1, as root: CI here).
fn may_make_cgroups() -> bool {
    let hierarchy = c"/sys/fs/cgroup/cpu";
    // SAFETY: a NUL-terminated path and a mode.
    unsafe { libc::access(hierarchy.as_ptr(), libc::W_OK) == 0 }
}

/// Where dashboard `pid` keeps the workers of its runs: below its own cpu cgroup.
fn workers_cgroup(pid: i32) -> std::path::PathBuf {
    let (_, home) = policy_and_cgroup(pid);
    std::path::PathBuf::from(format!("/sys/fs/cgroup/cpu{}/concur-tui-{pid}-0", home.trim_end_matches('/')))
}

/// A process's scheduling policy (the 41st field of its stat) and its cpu cgroup.
fn policy_and_cgroup(pid: i32) -> (i32, String) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let policy = after.split_whitespace().nth(38).and_then(|policy| policy.parse().ok()).unwrap_or(-1);
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    let cpu =
        cgroups.lines().find(|line| line.split(':').nth(1).is_some_and(|list| list.split(',').any(|c| c == "cpu")));
    (policy, cpu.and_then(|line| line.rsplit(':').next()).unwrap_or_default().to_owned())
}

#[test]
fn workers_run_at_idle_priority_in_a_cgroup_of_their_own_that_goes_with_the_dashboard() {
    let mut dashboard = Dashboard::start(&[], 120, 36);
    long_processes_run(&mut dashboard);
    let workers = worker_pids(&dashboard);
    let pen = workers_cgroup(dashboard.pid());
    let pen_name = format!("/{}", pen.file_name().and_then(|name| name.to_str()).unwrap_or_default());
    for worker in &workers {
        let (policy, cgroup) = policy_and_cgroup(*worker);
        assert_eq!(policy, libc::SCHED_IDLE, "worker {worker}");
        if may_make_cgroups() {
            assert!(cgroup.ends_with(&pen_name), "worker {worker} in {cgroup}");
        }
    }
    let (policy, cgroup) = policy_and_cgroup(dashboard.pid());
    assert_eq!(policy, libc::SCHED_OTHER, "the dashboard keeps its priority");
    assert!(!cgroup.ends_with(&pen_name), "the dashboard is in its workers' cgroup");
    assert_eq!(pen.is_dir(), may_make_cgroups());
    dashboard.send("q");
    assert_eq!(dashboard.wait_exit(), 0);
    let screen = dashboard.contents();
    assert!(screen.contains("workers at SCHED_IDLE"), "{screen}");
    assert!(!pen.exists(), "{} outlived the dashboard", pen.display());
    assert_all_gone(&workers);
    assert_no_leftovers(&dashboard.tag);
}

/// `i` gives the next runs `run`'s normal priority: no idle policy, no cgroup of their own.
#[test]
fn i_runs_the_workers_at_normal_priority_as_run_does() {
    let mut dashboard = Dashboard::start(&[], 120, 36);
    dashboard.wait_for("keys stay quick");
    dashboard.send("i");
    dashboard.wait_for("i: normal");
    long_processes_run(&mut dashboard);
    let workers = worker_pids(&dashboard);
    let pen = workers_cgroup(dashboard.pid());
    let pen_name = format!("/{}", pen.file_name().and_then(|name| name.to_str()).unwrap_or_default());
    for worker in &workers {
        let (policy, cgroup) = policy_and_cgroup(*worker);
        assert_eq!(policy, libc::SCHED_OTHER, "worker {worker}");
        assert!(!cgroup.ends_with(&pen_name), "worker {worker} in {cgroup}");
    }
    dashboard.send("q");
    assert_eq!(dashboard.wait_exit(), 0);
    let screen = dashboard.contents();
    assert!(screen.contains("workers at normal priority"), "{screen}");
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
    to_the_catalog(&mut dashboard);
    dashboard.send("j"); // io: waits that show as blocked
    dashboard.send("g"); // with the lock, each wait ends in a lock wait
    dashboard.send("\r");
    // After its sequential baseline, which has no lock.
    dashboard.wait_for("lock held");
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
    dashboard.wait_for("trace of run 2 written to");
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

#[test]
fn p_sweeps_the_selected_workload_into_a_chart_that_c_cancels_and_esc_closes() {
    let mut dashboard = Dashboard::start(&[], 120, 36);
    to_the_catalog(&mut dashboard);
    dashboard.send("j"); // io: its waits time the same on a busy machine
    dashboard.send("p");
    dashboard.wait_for("Sweep · io · speedup against workers · run");
    dashboard.wait_for("the dashboard's size ÷ 16");
    for column in ["threads", "thr+lock", "processes"] {
        dashboard.wait_for(column);
    }
    // A measured point: the sequential baseline and the first configuration have run.
    dashboard.wait_for("±0.");
    dashboard.send("c");
    dashboard.wait_for("the sweep was cancelled");
    dashboard.wait_for("p sweeps again · Esc closes");
    dashboard.send("\x1b");
    dashboard.wait_for("Run settings");
    dashboard.send("q");
    assert_eq!(dashboard.wait_exit(), 0);
    dashboard.assert_terminal_restored();
    assert_no_leftovers(&dashboard.tag);
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
    to_the_catalog(&mut dashboard);
    dashboard.send("j"); // io: waits, so sixty workers do not need sixty cores
    dashboard.send("\t"); // settings
                          // 16 tasks of 400 ms: the sequential baseline that runs first takes 6.4 s, the 60 workers
                          // (44 of them without a task) less than a second; the panel sums them up after the run too.
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

/// io as async with the lock on, reached with → in the catalog: the settings say the lock does
/// not apply, and Enter runs the baseline then the run, never a refusal; once the run starts,
/// the border no longer speaks of the baseline's end.
#[test]
fn under_async_the_lock_reads_not_applicable_and_enter_runs_without_a_refusal() {
    let mut dashboard = Dashboard::start(&[], 120, 36);
    to_the_catalog(&mut dashboard);
    dashboard.wait_for("Press Enter to run cpu");
    dashboard.send("l"); // → in the catalog: io
    dashboard.wait_for("Press Enter to run io");
    dashboard.send("mm"); // threads → processes → async
    dashboard.wait_for("Press Enter to run io with async");
    dashboard.send("g");
    dashboard.wait_for("n/a (async)");
    dashboard.send("\t");
    dashboard.send("jjj"); // "size"
    dashboard.send("hh");
    dashboard.wait_for("100 ms");
    dashboard.send("\r");
    dashboard.wait_for("io · async × 2: finished");
    // The results table is drawn after the border says so: wait for the run's row whole.
    let row_drawn = |screen: &str| screen.lines().any(|line| line.contains(" 2   io ") && line.contains("finished"));
    assert!(wait_until(Duration::from_secs(20), || row_drawn(&dashboard.contents())), "{}", dashboard.contents());
    let screen = dashboard.contents();
    assert!(!screen.contains("cannot run"), "{screen}");
    let row = screen.lines().find(|line| line.contains(" 2   io ")).unwrap_or_default();
    assert!(row.contains("async"), "{row}\n{screen}");
    assert!(row.contains("off"), "the run went without the lock: {row}\n{screen}");
    dashboard.send("q");
    assert_eq!(dashboard.wait_exit(), 0);
    dashboard.assert_terminal_restored();
}

#[test]
fn opens_on_the_run_flags_given_on_the_command_line() {
    let mut dashboard = Dashboard::start(&["--workload", "io", "--workers", "4"], 120, 36);
    dashboard.wait_for("Press Enter to run io");
    dashboard.wait_for("workers  4");
    // A workload's flags open the catalog; the experiments list stays beside it.
    let screen = dashboard.contents();
    assert!(screen.contains("Catalog") && screen.contains("Experiments"), "{screen}");
    dashboard.send("q");
    assert_eq!(dashboard.wait_exit(), 0);
}

/// The dashboard opens on the experiments; Enter on the convoy runs its four runs (two
/// configurations, two rounds) into the results table and states its verdict in its own
/// measure, requests a second, in the results panel, with the verdict's mark in the list.
#[test]
fn an_experiment_runs_its_runs_and_states_its_verdict() {
    let mut dashboard = Dashboard::start(&[], 120, 36);
    dashboard.wait_for("Experiments");
    dashboard.wait_for("Press Enter to run the experiment cpu-bound");
    dashboard.send("jjjjj"); // convoy: latency, fixed-length tasks, seconds in all
    dashboard.wait_for("Do threads keep a program responsive?");
    dashboard.wait_for("Watch: On the timeline");
    dashboard.send("\r");
    dashboard.wait_for("convoy: run 1 of 4");
    let said = ["convoy: Holds: ", "convoy: Does not hold here: ", "convoy: Can't tell: "];
    let judged = wait_until(Duration::from_secs(90), || {
        let screen = dashboard.contents();
        said.iter().any(|start| screen.contains(start))
    });
    let screen = dashboard.contents();
    assert!(judged, "no verdict:\n{screen}");
    assert!(screen.contains("requests a second"), "in the claim's own measure:\n{screen}");
    let rows = screen.lines().filter(|line| line.contains("   latency   ")).count();
    assert_eq!(rows, 2, "two configurations side by side, each run twice:\n{screen}");
    let listed = screen.lines().find(|line| line.contains(" convoy ")).unwrap_or_default();
    assert!(["✓ convoy", "✗ convoy", "? convoy"].iter().any(|mark| listed.contains(mark)), "{listed}");
    dashboard.send("q");
    assert_eq!(dashboard.wait_exit(), 0);
    dashboard.assert_terminal_restored();
    assert_no_leftovers(&dashboard.tag);
}

/// Every `lost_updates` figure anywhere in `json`.
fn lost_updates_in(json: &serde_json::Value, into: &mut Vec<u64>) {
    match json {
        serde_json::Value::Object(map) => {
            for (name, value) in map {
                match value.as_u64() {
                    Some(count) if name == "lost_updates" => into.push(count),
                    _ => lost_updates_in(value, into),
                }
            }
        }
        serde_json::Value::Array(values) => values.iter().for_each(|value| lost_updates_in(value, into)),
        _ => {}
    }
}

/// The lost-updates experiment in the dashboard: the racy row is marked wrong, never starred,
/// and says it lost updates; the verdict's count is the one the saved results hold.
#[test]
fn the_racy_row_of_the_lost_updates_experiment_is_wrong_never_starred_and_its_count_is_true() {
    let mut dashboard = Dashboard::start(&[], 120, 36);
    dashboard.wait_for("Experiments");
    dashboard.send("jjjj"); // lost-updates
    dashboard.wait_for("Shared counters lose updates without a lock");
    dashboard.send("\r");
    let said = ["lost-updates: Holds: ", "lost-updates: Does not hold here: ", "lost-updates: Can't tell: "];
    let judged = wait_until(Duration::from_secs(90), || {
        let screen = dashboard.contents();
        said.iter().any(|start| screen.contains(start))
    });
    let screen = dashboard.contents();
    assert!(judged && screen.contains("(mutex) lost none"), "no verdict:\n{screen}");
    let racy = screen.lines().find(|line| line.contains("contention") && line.contains("racy")).unwrap_or_default();
    let count = screen.split("(racy) lost ").nth(1).and_then(|rest| rest.split(" of ").next()).unwrap_or_default();
    dashboard.send("q");
    assert_eq!(dashboard.wait_exit(), 0);
    let files = dashboard.results_files();
    let json_file = files.iter().find(|file| file.extension().is_some_and(|ext| ext == "json")).expect("results");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(json_file).expect("read")).expect("JSON");
    let mut lost = Vec::new();
    lost_updates_in(&json, &mut lost);
    let racy_lost = lost.iter().copied().max().unwrap_or(0);
    assert!(lost.contains(&0), "the mutex lost none: {lost:?}");
    assert!(!racy.contains('★'), "a wrong result is never starred: {racy}");
    if racy_lost > 0 {
        assert!(racy.contains('✗') && racy.contains("lost"), "{racy}\n{screen}");
        assert_eq!(count.replace(',', ""), racy_lost.to_string(), "the verdict's count is the run's:\n{screen}");
    } else {
        // One CPU, or a machine that never let the two overlap: nothing lost, nothing marked.
        assert!(screen.contains("(racy) lost none"), "{screen}");
    }
    assert_no_leftovers(&dashboard.tag);
}

/// The machine's python3 picked on the runtime row, cpu run on 2 CPython threads at a tiny
/// size after Python's own sequential baseline: the results name CPython and its GIL, the
/// sentence says what the threads gained, and q leaves the terminal restored, no Python
/// process and no runner directory behind.
#[test]
fn a_python_workload_runs_on_the_interpreter_picked_in_the_runtime_row() {
    let mut dashboard = Dashboard::start(&["--workers", "2"], 120, 36);
    dashboard.wait_for("Press Enter to run cpu");
    dashboard.send("\t");
    dashboard.send("jjjjj"); // "runtime"
    dashboard.wait_for("runtime  native");
    dashboard.send("l"); // python3, first after native
                         // The row fills in once python3 has said what it is, off the loop's thread.
    dashboard.wait_for("runtime  CPython 3.");
    dashboard.wait_for("lock     GIL ");
    let screen = dashboard.contents();
    let runtime = screen.lines().find(|line| line.contains("runtime  CPython 3.")).unwrap_or_default();
    assert!(runtime.contains("· GIL on") || runtime.contains("· GIL off"), "{runtime}\n{screen}");
    dashboard.send("kk"); // "size": the twin's own, 6M ints a task
    dashboard.wait_for("size     6M ints");
    dashboard.send("hhhhhh"); // 6M / 64
    dashboard.wait_for("size     93750 ints");
    dashboard.send("\r");
    dashboard.wait_for("running the sequential baseline first");
    dashboard.wait_for("cpu · threads × 2: finished");
    let row_of = |screen: &str, n: usize| {
        screen.lines().find(|line| line.contains(&format!(" {n}   cpu "))).unwrap_or_default().to_owned()
    };
    // The table is drawn row by row: wait for the second row whole.
    let drawn = wait_until(Duration::from_secs(20), || row_of(&dashboard.contents(), 2).contains("CPython 3."));
    assert!(drawn, "no row names CPython:\n{}", dashboard.contents());
    let screen = dashboard.contents();
    let row = |n: usize| row_of(&screen, n);
    assert!(row(1).contains("sequential") && row(1).contains("CPython 3."), "the baseline on Python:\n{screen}");
    let threads = row(2);
    assert!(threads.contains("threads") && threads.contains("CPython 3."), "{threads}\n{screen}");
    assert!(threads.contains(" GIL ") || threads.contains(" free "), "the interpreter's own lock: {threads}");
    assert!(threads.contains('×'), "a speedup over Python's own baseline: {threads}");
    assert!(screen.contains("CPython 3.") && screen.contains("threads × 2"), "{screen}");
    let pid = dashboard.pid() as u32;
    dashboard.send("q");
    assert_eq!(dashboard.wait_exit(), 0);
    dashboard.assert_terminal_restored();
    assert_no_leftovers(&dashboard.tag);
    assert_eq!(python_dirs_of(pid), Vec::<String>::new(), "the runner's directory goes with its run");
    let saved = dashboard.results_files();
    let json = saved.iter().find(|path| path.extension().is_some_and(|ext| ext == "json")).expect("results saved");
    let json = std::fs::read_to_string(json).expect("readable");
    assert!(json.contains("\"kind\": \"python\"") && json.contains("\"implementation\": \"CPython\""), "{json}");
}

/// `--runtime python` opens the dashboard with the machine's python3 chosen and its GIL shown.
#[test]
fn runtime_python_on_the_command_line_opens_with_python3_chosen() {
    let mut dashboard = Dashboard::start(&["--runtime", "python", "--size", "50000"], 120, 36);
    dashboard.wait_for("Press Enter to run cpu");
    dashboard.wait_for("runtime  CPython 3.");
    dashboard.wait_for("lock     GIL ");
    dashboard.wait_for("size     50000 ints");
    dashboard.send("q");
    assert_eq!(dashboard.wait_exit(), 0);
    dashboard.assert_terminal_restored();
}
