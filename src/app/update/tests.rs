//! `update` driven by event sequences, as the dashboard would feed it.

use std::time::Duration;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::app::state::Priority;
use crate::engine::{RunOutcome, RunReport};
use crate::workload::CATALOG;

fn press(state: &mut State, keys: &str) -> Vec<Command> {
    keys.chars()
        .flat_map(|c| {
            let code = match c {
                '\n' => KeyCode::Enter,
                '\t' => KeyCode::Tab,
                '<' => KeyCode::Left,
                '>' => KeyCode::Right,
                other => KeyCode::Char(other),
            };
            update(state, Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
        })
        .collect()
}

fn ctrl_c(state: &mut State) -> Vec<Command> {
    update(state, Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)))
}

/// The dashboard with the catalog focused, as the tests of runs by hand want it (it opens on
/// the experiments list, one Tab before the catalog; `experiments_*` tests start there).
fn new_state() -> State {
    State { focus: Focus::Catalog, ..State::new(2, Duration::from_secs(3)) }
}

fn fake_run(state: &mut State) {
    let plan = state.settings.request(state.workload()).validate_with(&[0, 1]).expect("plan");
    state.run = Some(crate::telemetry::RunView::of_plan(plan));
}

/// The run that `keys` asks for: the one started, or the one waiting for its baseline.
fn asked(state: &mut State, keys: &str) -> crate::engine::PlanRequest {
    let commands = press(state, keys);
    let [Command::Start(started)] = commands.as_slice() else { panic!("{commands:?}") };
    state.baseline.waiting().cloned().unwrap_or_else(|| started.clone())
}

fn ended(request: &crate::engine::PlanRequest, outcome: RunOutcome) -> RunReport {
    let plan = request.validate_with(&[0, 1]).expect("plan");
    RunReport { outcome, wall_seconds: 1.0, ..RunReport::empty(plan) }
}

#[test]
fn enter_runs_the_selected_workload_with_the_settings() {
    let mut state = new_state();
    let request = asked(&mut state, "jm+g\n");
    assert_eq!(request.workload.name(), CATALOG[1].name());
    assert_eq!((request.model, request.workers), (Model::Processes, Some(3)));
    assert!(request.gil.is_some());
}

#[test]
fn the_variant_row_picks_ipc_transports_between_processes_and_data_transfers() {
    let mut state = new_state();
    press(&mut state, "jjjm\tjjjjjjj");
    assert_eq!((state.workload().name(), state.settings.model), ("ipc", Model::Processes));
    let request = asked(&mut state, ">>\n");
    assert_eq!(request.options, vec![("transport".to_owned(), "shm".to_owned())]);
    // Threads have only the channel: the row does not move, and the run uses the channel.
    let mut state = new_state();
    press(&mut state, "jjj\tjjjjjjj>");
    let request = asked(&mut state, "\n");
    assert_eq!(request.options, vec![("transport".to_owned(), "channel".to_owned())]);
    let mut state = new_state();
    press(&mut state, "jjm\tjjjjjjj>");
    assert_eq!(state.workload().name(), "data");
    let request = asked(&mut state, "\n");
    assert!(request.options.contains(&("transfer".to_owned(), "pipe".to_owned())), "{:?}", request.options);
    // Imbalance's variant is the run's schedule.
    let mut state = new_state();
    press(&mut state, "jjjjjj\tjjjjjjj>");
    let request = asked(&mut state, "\n");
    assert_eq!((request.workload.name(), request.schedule), ("imbalance", crate::engine::Schedule::Dynamic));
}

#[test]
fn the_model_cycle_offers_async_only_to_workloads_that_run_on_an_event_loop() {
    let mut state = new_state();
    press(&mut state, "jj"); // data: no event loop
    assert_eq!(state.workload().name(), "data");
    assert_eq!(state.settings.model, Model::Threads);
    press(&mut state, "m");
    assert_eq!(state.settings.model, Model::Processes);
    press(&mut state, "m");
    assert_eq!(state.settings.model, Model::Sequential, "async skipped");
    press(&mut state, "kk"); // back to cpu, which has async
    press(&mut state, "mmm");
    assert_eq!(state.settings.model, Model::Async);
}

#[test]
fn plus_on_sequential_switches_to_threads() {
    let mut state = new_state();
    press(&mut state, "mm");
    assert_eq!(state.settings.model, Model::Async);
    press(&mut state, "m");
    assert_eq!(state.settings.model, Model::Sequential);
    press(&mut state, "+");
    assert_eq!((state.settings.model, state.settings.workers), (Model::Threads, 3));
}

#[test]
fn settings_rows_change_with_left_and_right() {
    let mut state = new_state();
    press(&mut state, "\tjj>");
    assert_eq!(state.focus, Focus::Settings);
    assert_eq!(state.settings.tasks, 32);
    press(&mut state, "j>");
    assert_eq!(state.settings.size_of(CATALOG[0]), CATALOG[0].size().watchable * 2);
    press(&mut state, "jjjjj<");
    assert_eq!(state.settings.grace, Duration::from_secs(1));
}

#[test]
fn quitting_without_a_run_leaves_at_once() {
    let mut state = new_state();
    assert!(press(&mut state, "q").is_empty());
    assert_eq!(state.exit, Some(0));
    let mut state = new_state();
    ctrl_c(&mut state);
    assert_eq!(state.exit, Some(130));
}

#[test]
fn ctrl_c_drains_first_escalates_second_and_leaves_when_the_run_ends() {
    let mut state = new_state();
    fake_run(&mut state);
    assert_eq!(ctrl_c(&mut state), vec![Command::Stop(StopReason::Signal(Signal::SIGINT))]);
    assert_eq!(state.exit, None, "must wait for the workers");
    assert_eq!(ctrl_c(&mut state), vec![Command::Stop(StopReason::Signal(Signal::SIGINT))]);
    let report = crate::engine::RunReport {
        plan: state.run.as_ref().expect("run").plan.clone(),
        outcome: crate::engine::RunOutcome::Cancelled(Some(Signal::SIGINT)),
        wall_seconds: 0.3,
        cpu_seconds: 0.1,
        peak_rss_bytes: 1,
        tasks_done: 1,
        checksum: 0,
        expected_checksum: None,
        started_ns: 0,
        workers: Vec::new(),
        metrics: crate::workload::MetricsOf::none(),
        replaced: Vec::new(),
        respawn_failures: Vec::new(),
        timeline: crate::engine::timeline::Timeline::default(),
        observer: crate::engine::ObserverSource::None,
    };
    update(&mut state, Event::Finished(report));
    assert_eq!(state.exit, Some(130));
    assert!(state.interrupted.is_some());
}

#[test]
fn sigterm_and_sighup_leave_with_their_own_status() {
    for (signal, code) in [(Signal::SIGTERM, 143), (Signal::SIGHUP, 129)] {
        let mut state = new_state();
        update(&mut state, Event::Signal(signal));
        assert_eq!(state.exit, Some(code));
    }
}

#[test]
fn c_cancels_only_the_run_and_settings_are_frozen_while_it_runs() {
    let mut state = new_state();
    fake_run(&mut state);
    assert_eq!(press(&mut state, "c"), vec![Command::Stop(StopReason::User)]);
    assert_eq!(state.shutdown, None);
    let before = state.settings.clone();
    assert!(press(&mut state, "m+ag\n").is_empty());
    assert_eq!(state.settings, before);
}

#[test]
fn space_pauses_and_resumes() {
    let mut state = new_state();
    fake_run(&mut state);
    assert_eq!(press(&mut state, " "), vec![Command::SetPaused(true)]);
    if let Some(run) = state.run.as_mut() {
        run.phase = Phase::Paused;
    }
    assert_eq!(press(&mut state, " "), vec![Command::SetPaused(false)]);
}

#[test]
fn help_opens_and_swallows_keys_until_closed() {
    let mut state = new_state();
    press(&mut state, "?");
    assert_eq!(state.overlay, Some(Overlay::Help));
    assert!(press(&mut state, "\n").is_empty());
    update(&mut state, Event::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
    assert_eq!(state.overlay, None);
}

#[test]
fn core_history_is_bounded() {
    let mut state = new_state();
    for i in 0..200 {
        update(
            &mut state,
            Event::Cores(crate::telemetry::CoreSample {
                usage: vec![i as f32 % 100.0, 50.0],
                interval: Duration::from_millis(250),
            }),
        );
    }
    assert_eq!(state.cores.len(), 2);
    assert_eq!(state.cores[0].history.len(), CORE_HISTORY);
}

#[test]
fn core_samples_split_the_runs_load_from_other_programs_and_flag_a_busy_machine() {
    let mut state = new_state();
    fake_run(&mut state);
    let progress = |state: &mut State, cpu: [f64; 2]| {
        let mut view = state.run.clone().expect("run");
        view.workers =
            (0..2).map(|index| crate::telemetry::WorkerView::running(index, Some(index), cpu[index])).collect();
        update(state, Event::Progress(view));
    };
    let sample = |state: &mut State, usage: Vec<f32>| {
        update(state, Event::Cores(crate::telemetry::CoreSample { usage, interval: Duration::from_millis(250) }));
    };
    progress(&mut state, [0.0, 0.0]);
    for step in 1..=4 {
        // Worker 0 has core 0 to itself; worker 1 gets half of core 1, someone else the rest.
        progress(&mut state, [0.25 * f64::from(step), 0.125 * f64::from(step)]);
        sample(&mut state, vec![100.0, 100.0]);
    }
    assert_eq!((state.cores[0].usage, state.cores[0].run), (100.0, 100.0));
    assert_eq!((state.cores[1].usage, state.cores[1].run), (100.0, 50.0));
    assert_eq!(state.busy_machine(), Some(50.0));
    // A quiet second: no warning.
    for step in 5..=8 {
        progress(&mut state, [0.25 * f64::from(step), 0.125 * f64::from(step)]);
        sample(&mut state, vec![100.0, 55.0]);
    }
    assert_eq!(state.busy_machine(), None, "others use {}", state.share.others_recent());
    // Without a run there is no run's figure to doubt.
    sample(&mut state, vec![100.0, 100.0]);
    state.run = None;
    assert_eq!(state.busy_machine(), None);
}

#[test]
fn cycling_wraps_both_ways() {
    assert_eq!(cycle(&[1, 2, 3], &3, 1), 1);
    assert_eq!(cycle(&[1, 2, 3], &1, -1), 3);
    assert_eq!(cycle(&[1, 2, 3], &7, 1), 1);
    assert_eq!(cycle(&[1, 2, 3], &7, -1), 3);
}

#[test]
fn enter_runs_the_missing_sequential_baseline_first_then_the_run() {
    let mut state = new_state();
    let commands = press(&mut state, "m\n"); // cpu, processes × 2
    let [Command::Start(baseline)] = commands.as_slice() else { panic!("{commands:?}") };
    let wanted = state.baseline.waiting().cloned().expect("the run waits for its baseline");
    assert_eq!((baseline.model, baseline.workers, baseline.gil), (Model::Sequential, Some(1), None));
    assert_eq!((baseline.size, baseline.tasks), (wanted.size, wanted.tasks));
    assert_eq!((wanted.model, wanted.workers), (Model::Processes, Some(2)));
    assert!(state.message.as_deref().is_some_and(|m| m.starts_with("running the sequential baseline first")));
    fake_run(&mut state);
    let next = update(&mut state, Event::Finished(ended(baseline, RunOutcome::Finished)));
    assert_eq!(next, vec![Command::Start(wanted.clone())], "the run follows its baseline");
    assert_eq!(state.baseline, BaselineStep::None);
    update(&mut state, Event::Finished(ended(&wanted, RunOutcome::Finished)));
    assert!(state.comparison.rows[1].speedup.is_some(), "speedup without pressing b");
    // The baseline is there now: Enter runs at once, and a repeat joins its row.
    assert_eq!(press(&mut state, "\n"), vec![Command::Start(wanted.clone())]);
    update(&mut state, Event::Finished(ended(&wanted, RunOutcome::Finished)));
    assert_eq!(state.comparison.rows.len(), 2);
    assert_eq!(state.comparison.rows[1].runs.len(), 2);
}

#[test]
fn a_cancelled_baseline_drops_the_run_that_waited_for_it() {
    let mut state = new_state();
    let commands = press(&mut state, "\n");
    let [Command::Start(baseline)] = commands.as_slice() else { panic!("{commands:?}") };
    fake_run(&mut state);
    assert_eq!(press(&mut state, "c"), vec![Command::Stop(StopReason::User)]);
    assert!(update(&mut state, Event::Finished(ended(baseline, RunOutcome::Cancelled(None)))).is_empty());
    assert_eq!(state.baseline, BaselineStep::None);
    assert!(state.message.as_deref().is_some_and(|m| m.contains("baseline cancelled")), "{:?}", state.message);
    assert!(state.baseline_missing(), "a cancelled run is no baseline");
}

#[test]
fn enter_during_the_baseline_skips_it_and_the_run_follows() {
    let mut state = new_state();
    let commands = press(&mut state, "\n");
    let [Command::Start(baseline)] = commands.as_slice() else { panic!("{commands:?}") };
    let wanted = state.baseline.waiting().cloned().expect("waiting");
    fake_run(&mut state);
    assert_eq!(press(&mut state, "\n"), vec![Command::Stop(StopReason::User)]);
    assert!(press(&mut state, "\n").is_empty(), "one skip is enough");
    let next = update(&mut state, Event::Finished(ended(baseline, RunOutcome::Cancelled(None))));
    assert_eq!(next, vec![Command::Start(wanted)], "the run asked for follows its skipped baseline");
    assert_eq!(state.baseline, BaselineStep::None);
    assert!(state.message.as_deref().is_some_and(|m| m.starts_with("baseline skipped")), "{:?}", state.message);
    assert!(state.results.is_empty(), "a skipped baseline measured nothing: no row");
    // Without a baseline in hand, Enter during a run does nothing.
    fake_run(&mut state);
    assert!(press(&mut state, "\n").is_empty());
}

#[test]
fn a_baseline_takes_only_the_options_a_sequential_run_can_take() {
    let mut state = new_state();
    press(&mut state, "jjjm\tjjjjjjj>>"); // ipc, processes over shm
    let commands = press(&mut state, "\n");
    let [Command::Start(baseline)] = commands.as_slice() else { panic!("{commands:?}") };
    assert_eq!(baseline.model, Model::Sequential);
    assert_eq!(baseline.options, vec![("transport".to_owned(), "channel".to_owned())]);
    // Sequential and 1-worker runs are their own baseline.
    let mut state = new_state();
    press(&mut state, "mmm"); // sequential
    assert_eq!(state.settings.model, Model::Sequential);
    let commands = press(&mut state, "\n");
    assert!(matches!(commands.as_slice(), [Command::Start(r)] if r.model == Model::Sequential));
    assert_eq!(state.baseline, BaselineStep::None);
}

#[test]
fn w_saves_only_once_there_are_results() {
    let mut state = new_state();
    assert!(press(&mut state, "w").is_empty());
    let request = state.settings.request(state.workload());
    update(&mut state, Event::Finished(ended(&request, RunOutcome::Finished)));
    assert_eq!(press(&mut state, "w"), vec![Command::SaveResults]);
}

#[test]
fn tab_in_the_help_turns_to_the_columns_page_and_back() {
    let mut state = new_state();
    press(&mut state, "?\t");
    assert_eq!(state.overlay, Some(Overlay::Columns));
    assert_eq!(state.focus, Focus::Catalog, "the panels' focus stays");
    press(&mut state, "\t");
    assert_eq!(state.overlay, Some(Overlay::Help));
    press(&mut state, "\t?");
    assert_eq!(state.overlay, None);
}

/// The sentence after a baseline on a quiet machine and a run beside busy programs, both at
/// the priority `keys` leaves the settings at.
fn sentence_after_a_busy_run(keys: &str) -> String {
    let mut state = new_state();
    press(&mut state, keys);
    let commands = press(&mut state, "\n");
    let [Command::Start(baseline)] = commands.as_slice() else { panic!("{commands:?}") };
    let wanted = state.baseline.waiting().cloned().expect("waiting");
    update(&mut state, Event::Finished(RunReport { wall_seconds: 2.0, ..ended(baseline, RunOutcome::Finished) }));
    assert!(!state.results[0].busy);
    // Both cores full, none of it the run's: other programs.
    for _ in 0..4 {
        let usage = vec![100.0, 100.0];
        update(&mut state, Event::Cores(crate::telemetry::CoreSample { usage, interval: Duration::from_millis(250) }));
    }
    update(&mut state, Event::Finished(ended(&wanted, RunOutcome::Finished)));
    assert!(state.results[1].busy);
    assert_eq!(state.results[1].priority, state.settings.priority, "the row keeps the priority it ran at");
    let sentence = state.results_sentence().expect("a sentence");
    assert!(sentence.starts_with("threads × 2 ran 2.00× faster than sequential × 1"), "{sentence}");
    sentence
}

#[test]
fn the_sentence_warns_when_other_programs_were_busy_during_a_run_it_compares() {
    let sentence = sentence_after_a_busy_run("i");
    assert!(sentence.ends_with("Other programs were busy during these runs: the figures may be off."), "{sentence}");
}

#[test]
fn at_idle_priority_on_a_busy_machine_the_sentence_says_the_figures_are_off_and_how_to_avoid_it() {
    let sentence = sentence_after_a_busy_run("");
    assert!(
        sentence.ends_with(
            "Other programs were busy, and workers at idle priority yield to them: the figures are off (i: \
             normal priority)."
        ),
        "{sentence}"
    );
}

#[test]
fn i_toggles_the_workers_priority_except_while_a_run_lasts() {
    let mut state = new_state();
    assert_eq!(state.settings.priority, Priority::Idle, "the dashboard's own, for a responsive screen");
    press(&mut state, "i");
    assert_eq!(state.settings.priority, Priority::Normal, "run's");
    fake_run(&mut state);
    assert!(press(&mut state, "i").is_empty());
    assert_eq!(state.settings.priority, Priority::Normal, "frozen while the run lasts");
    state.run = None;
    press(&mut state, "i");
    assert_eq!(state.settings.priority, Priority::Idle);
}

fn key(state: &mut State, code: KeyCode) -> Vec<Command> {
    update(state, Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

#[test]
fn page_keys_scroll_the_focused_workers_panel_by_what_it_shows() {
    let mut state = new_state();
    fake_run(&mut state);
    if let Some(run) = state.run.as_mut() {
        run.workers = (0..50).map(|i| crate::telemetry::WorkerView::running(i, None, 0.0)).collect();
    }
    update(&mut state, Event::WorkersRows(8));
    // The catalog has focus: pages do nothing there.
    key(&mut state, KeyCode::PageDown);
    assert_eq!((state.selected, state.workers_table.selected), (0, 0));
    press(&mut state, "\t\t");
    assert_eq!(state.focus, Focus::Workers);
    key(&mut state, KeyCode::PageDown);
    key(&mut state, KeyCode::PageDown);
    assert_eq!((state.workers_table.selected, state.workers_table.offset), (16, 9));
    key(&mut state, KeyCode::PageUp);
    assert_eq!((state.workers_table.selected, state.workers_table.offset), (8, 8), "the view follows up");
    key(&mut state, KeyCode::End);
    assert_eq!((state.workers_table.selected, state.workers_table.offset), (49, 42));
    key(&mut state, KeyCode::Home);
    assert_eq!((state.workers_table.selected, state.workers_table.offset), (0, 0));
}

#[test]
fn the_crash_key_hits_the_selected_row_in_the_shown_order() {
    let mut state = new_state();
    fake_run(&mut state);
    if let Some(run) = state.run.as_mut() {
        run.workers = (0..4).map(|i| crate::telemetry::WorkerView::running(i, None, i as f64)).collect();
    }
    press(&mut state, "\t\t");
    // s three times: most CPU first, so the top row is worker 3.
    press(&mut state, "sss");
    assert_eq!(state.workers_table.sort, crate::app::workers::WorkerSort::Cpu);
    assert_eq!(press(&mut state, "x"), vec![Command::InjectCrash(3)]);
    press(&mut state, "j");
    assert_eq!(press(&mut state, "x"), vec![Command::InjectCrash(2)]);
}

#[test]
fn a_run_that_cannot_start_says_why_in_the_message_line() {
    let mut state = new_state();
    let error = crate::engine::PlanError::NoTasks;
    let commands = update(&mut state, Event::StartFailed(error.into()));
    assert!(commands.is_empty());
    assert_eq!(state.message.as_deref(), Some("cannot run: --tasks must be at least 1"));
    assert_eq!(state.refusal.as_deref(), Some("The run did not start: --tasks must be at least 1."), "whole");
    assert_eq!(state.exit, None, "nobody was leaving");
}

/// A report whose timeline holds a life for each of 1,000 workers, as a big run's does.
fn with_timeline(request: &crate::engine::PlanRequest) -> RunReport {
    let mut report = ended(request, RunOutcome::Finished);
    report.timeline.workers = vec![crate::engine::timeline::WorkerTimeline::default(); 1000];
    report
}

#[test]
fn the_dashboard_keeps_only_the_last_runs_timeline() {
    let mut state = new_state();
    let request = asked(&mut state, "\n");
    for _ in 0..3 {
        update(&mut state, Event::Finished(with_timeline(&request)));
    }
    let lives: Vec<usize> = state.results.iter().map(|row| row.report.timeline.workers.len()).collect();
    assert_eq!(lives, [0, 0, 1000], "only the last run's timeline is kept");
    // What the table and the saved files need stays: every run, with its workers' figures.
    assert_eq!(state.comparison.rows.iter().map(|row| row.runs.len()).sum::<usize>(), 3);
}

/// The dashboard's memory over many runs of 1,000 workers, as the loop feeds them to `update`:
/// `cargo test --release --lib rss_after_many_runs -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement: 200 runs of 1,000 workers, printed, not asserted"]
fn rss_after_many_runs() {
    let rss_kib = || {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| status.lines().find(|line| line.starts_with("VmRSS:")).map(str::to_owned))
            .unwrap_or_default()
    };
    let engine = crate::engine::Engine::new().expect("the board");
    let mut state = new_state();
    let request = crate::engine::PlanRequest {
        workers: Some(1000),
        tasks: 1000,
        size: Some(1),
        ..crate::engine::PlanRequest::new(crate::workload::by_name("io").expect("io"), Model::Threads)
    };
    let plan = request.validate_with(&[0, 1]).expect("plan");
    println!("before any run: {}", rss_kib());
    for done in 1..=200 {
        let mut run = engine.start(&plan).expect("a run");
        run.wait(Duration::from_millis(10), |_| {});
        update(&mut state, Event::Finished(run.finish()));
        if done == 20 || done == 200 {
            println!("after {done} runs: {}", rss_kib());
        }
    }
}

fn select(state: &mut State, workload: &str) {
    state.selected = CATALOG.iter().position(|kind| kind.name() == workload).expect("in the catalog");
}

#[test]
fn enter_refuses_at_once_before_any_baseline_in_whole_sentences() {
    let mut state = new_state();
    // As a start from the command line could leave it: contention under async.
    select(&mut state, "contention");
    state.settings.model = Model::Async;
    assert!(press(&mut state, "\n").is_empty(), "no baseline, no run");
    assert_eq!(state.baseline, BaselineStep::None);
    let refusal = state.refusal.clone().expect("a refusal");
    assert!(refusal.starts_with("contention cannot run as tasks of one event loop"), "{refusal}");
    assert!(refusal.ends_with("Press m for threads or processes."), "{refusal}");
    assert!(!refusal.contains("--"), "in the dashboard's words, not flags: {refusal}");
    press(&mut state, "\t");
    assert_eq!(state.refusal, None, "the next key moves on");
    let commands = press(&mut state, "b");
    let [Command::Start(baseline)] = commands.as_slice() else { panic!("{commands:?}") };
    assert_eq!(baseline.model, Model::Sequential, "b's sequential baseline can run, so it does");
}

#[test]
fn the_lock_does_not_apply_under_async_and_enter_runs_without_it() {
    let mut state = new_state();
    select(&mut state, "io");
    state.settings.model = Model::Async;
    press(&mut state, "g");
    assert!(state.settings.lock && !state.settings.lock_applies());
    let request = asked(&mut state, "\n");
    assert_eq!((request.model, request.gil), (Model::Async, None));
    assert_eq!(state.refusal, None);
}

#[test]
fn the_size_row_stops_at_the_workloads_limit() {
    let mut state = new_state();
    select(&mut state, "io");
    press(&mut state, "\tjjj");
    press(&mut state, &">".repeat(64));
    let limit = state.workload().size().max.expect("a limit");
    assert_eq!(state.settings.size_of(state.workload()), limit);
    let _ = asked(&mut state, "\n");
    assert_eq!(state.refusal, None);
}

#[test]
fn changing_workload_moves_the_model_to_one_it_runs() {
    let mut state = new_state();
    select(&mut state, "io");
    state.settings.model = Model::Async;
    press(&mut state, "j");
    assert!(!crate::engine::plan::runs_on_event_loop(state.workload()), "{}", state.workload().name());
    assert_eq!(state.settings.model, Model::Threads);
    assert!(state.message.as_deref().is_some_and(|m| m.ends_with("the model is now threads")), "{:?}", state.message);
    // A workload that runs on a loop keeps async.
    select(&mut state, "cpu");
    state.settings.model = Model::Async;
    press(&mut state, ">");
    assert_eq!(state.workload().name(), CATALOG[1].name());
    assert_eq!(state.settings.model == Model::Async, crate::engine::plan::runs_on_event_loop(CATALOG[1]));
}

#[test]
fn left_and_right_move_along_the_catalog_and_s_sorts_from_any_panel() {
    let mut state = new_state();
    assert_eq!(state.focus, Focus::Catalog);
    press(&mut state, ">>");
    assert_eq!(state.selected, 2);
    press(&mut state, "<");
    assert_eq!(state.selected, 1);
    let sort = state.workers_table.sort;
    press(&mut state, "s");
    assert_eq!(state.workers_table.sort, sort, "no rows, nothing to sort");
    fake_run(&mut state);
    if let Some(run) = state.run.as_mut() {
        run.workers = (0..4).map(|i| crate::telemetry::WorkerView::running(i, None, i as f64)).collect();
    }
    press(&mut state, "s");
    assert_ne!(state.workers_table.sort, sort, "the catalog has focus, and s sorts the workers");
    press(&mut state, ">");
    assert_eq!(state.selected, 2, "the catalog moves during a run, as ↑/↓ do");
}

#[test]
fn a_message_about_the_last_run_clears_when_the_next_starts() {
    let mut state = new_state();
    state.settings.model = Model::Sequential;
    let request = asked(&mut state, "\n");
    fake_run(&mut state);
    let _ = update(&mut state, Event::Finished(ended(&request, RunOutcome::Finished)));
    assert!(state.message.as_deref().is_some_and(|m| m.contains("finished in")), "{:?}", state.message);
    let _ = asked(&mut state, "\n");
    assert_eq!(state.message, None, "the border no longer speaks of the last run");
}

#[test]
fn e_during_a_run_exports_that_run_once_it_ends() {
    let mut state = new_state();
    state.settings.model = Model::Sequential;
    assert!(press(&mut state, "e").is_empty(), "nothing to export yet");
    let request = asked(&mut state, "\n");
    fake_run(&mut state);
    assert!(press(&mut state, "e").is_empty(), "not the previous run's trace");
    assert!(state.message.as_deref().is_some_and(|m| m.contains("when it ends")), "{:?}", state.message);
    let commands = update(&mut state, Event::Finished(ended(&request, RunOutcome::Finished)));
    assert_eq!(commands, vec![Command::ExportTrace], "written once the run is a result");
    assert_eq!(state.results.len(), 1);
    assert_eq!(press(&mut state, "e"), vec![Command::ExportTrace], "after it, at once");
}

#[test]
fn the_results_keep_a_bounded_number_of_runs_and_say_so() {
    let mut state = new_state();
    let request = asked(&mut state, "\n");
    for _ in 0..crate::app::state::RESULTS_KEPT + 3 {
        update(&mut state, Event::Finished(with_timeline(&request)));
    }
    assert_eq!(state.results.len(), crate::app::state::RESULTS_KEPT, "the oldest runs go");
    assert!(state.message.as_deref().is_some_and(|message| message.contains("oldest")), "{:?}", state.message);
}

/// The dashboard as it opens, on the experiments list, with `name` selected.
fn on_experiment(name: &str) -> State {
    let mut state = State::new(2, Duration::from_secs(3));
    assert_eq!(state.focus, Focus::Experiments, "it opens on the experiments");
    let at = crate::experiments::EXPERIMENTS.iter().position(|e| e.name == name).expect("an experiment");
    for _ in 0..at {
        press(&mut state, "j");
    }
    assert_eq!(state.selected_experiment().name, name);
    state
}

/// A state whose runtime row offers a CPython 3.11 (as `python3`) and a `python3.12` that is
/// not installed, as pyenv's shims answer; nothing is run.
fn with_pythons() -> State {
    use crate::engine::plan::runtime::{Interpreter, PythonError};
    let mut state = new_state();
    state.settings.runtime.offer(["python3", "python3.12"].map(std::path::PathBuf::from));
    let cpython = Interpreter {
        path: "/usr/bin/python3".into(),
        implementation: "CPython".to_owned(),
        version: (3, 11, 7),
        free_threaded: false,
        gil: true,
    };
    update(&mut state, Event::Interpreter { name: "python3".into(), answer: Ok(cpython) });
    let missing = PythonError::Unusable {
        path: "python3.12".to_owned(),
        reason: "it exited with exit status: 127: pyenv: python3.12: command not found".to_owned(),
    };
    update(&mut state, Event::Interpreter { name: "python3.12".into(), answer: Err(missing) });
    state
}

#[test]
fn experiments_enter_runs_each_run_in_order_then_states_the_verdict() {
    let mut state = on_experiment("lost-updates");
    let mut started = Vec::new();
    let mut commands = press(&mut state, "\n");
    while let [Command::Start(request)] = commands.as_slice() {
        started.push(request.options.clone());
        assert!(state.message.as_deref().is_some_and(|m| m.starts_with("lost-updates: run ")), "{:?}", state.message);
        // Between two runs no run is on, and nothing else may start.
        assert!(press(&mut state, "\nbp").is_empty());
        let report = ended(request, RunOutcome::Finished);
        commands = update(&mut state, Event::Finished(report));
    }
    assert_eq!(commands, []);
    let strategies: Vec<&str> = started
        .iter()
        .map(|options| options.iter().find(|(flag, _)| flag == "strategy").map_or("", |(_, value)| value.as_str()))
        .collect();
    assert_eq!(strategies, ["racy", "mutex"]);
    assert_eq!(state.results.len(), 2, "its runs are rows of the results");
    assert!(state.course.is_none());
    assert!(state.verdicts[4].is_some(), "judged");
    let sentence = state.results_sentence().expect("the verdict in the results");
    assert!(
        sentence.starts_with("lost-updates: Can't tell: "),
        "no lost_updates figure in an empty report: {sentence}"
    );
    // A run of one's own ends the verdict's turn in the results panel.
    state.focus = Focus::Catalog;
    let _ = press(&mut state, "\n");
    assert!(state.results_sentence().is_none_or(|sentence| !sentence.starts_with("lost-updates")));
}

#[test]
fn a_cancelled_experiment_run_stops_it_without_a_verdict() {
    let mut state = on_experiment("convoy");
    let commands = press(&mut state, "\n");
    let [Command::Start(request)] = commands.as_slice() else { panic!("{commands:?}") };
    fake_run(&mut state);
    assert_eq!(press(&mut state, "c"), [Command::Stop(StopReason::User)]);
    let commands = update(&mut state, Event::Finished(ended(request, RunOutcome::Cancelled(None))));
    assert_eq!(commands, []);
    assert!(state.course.is_none() && state.verdicts.iter().all(Option::is_none));
    assert!(state.message.as_deref().is_some_and(|m| m.contains("no verdict")), "{:?}", state.message);
    // And it can run again.
    assert!(matches!(press(&mut state, "\n").as_slice(), [Command::Start(_)]));
}

#[test]
fn the_runtime_row_runs_the_python_twin_at_its_own_size_without_the_emulated_lock() {
    let mut state = with_pythons();
    press(&mut state, "g"); // the emulated lock on, natively
    press(&mut state, "\tjjjjj>"); // the runtime row: native → python3
    assert!(state.settings.runtime.is_python());
    press(&mut state, "g"); // no lock to toggle under Python
    assert!(state.settings.lock, "g changes nothing under Python");
    let request = asked(&mut state, "\n");
    let python = request.runtime.interpreter().expect("a Python run");
    assert_eq!(python.version, (3, 11, 7));
    assert_eq!(request.gil, None, "the interpreter's own GIL, not the emulated lock");
    let twin = CATALOG[0].python().expect("cpu has a twin");
    assert_eq!(request.size, Some(twin.size.watchable), "the twin's own watchable size");
    // Its baseline is Python's own sequential run.
    let baseline = state.baseline.waiting().map(|_| ());
    assert!(baseline.is_some(), "the baseline runs first");
}

#[test]
fn under_python_a_workload_without_a_twin_and_an_unusable_interpreter_are_refused_before_any_baseline() {
    let mut state = with_pythons();
    press(&mut state, "\tjjjjj>");
    let no_twin = CATALOG.iter().position(|kind| kind.python().is_none()).expect("a workload without a twin");
    state.selected = no_twin;
    assert!(press(&mut state, "\n").is_empty(), "nothing starts, not even a baseline");
    let refusal = state.refusal.clone().expect("refused");
    assert!(refusal.contains("has no Python twin") && refusal.contains("cpu"), "{refusal}");
    assert_eq!(refusal.lines().count(), 1, "{refusal}");
    state.selected = 0;
    press(&mut state, ">"); // python3.12, not installed
    let said = state.message.clone().unwrap_or_default();
    assert!(said.starts_with("python3.12 is not installed"), "said when chosen: {said}");
    assert!(press(&mut state, "\n").is_empty());
    let refusal = state.refusal.clone().expect("refused");
    assert!(refusal.starts_with("python3.12 is not installed"), "{refusal}");
    assert!(press(&mut state, "p").is_empty(), "nor is it swept");
    press(&mut state, ">"); // back to native
    assert!(!state.settings.runtime.is_python());
    assert_eq!(asked(&mut state, "\n").runtime, crate::engine::plan::runtime::Runtime::Native);
}

#[test]
fn a_verdict_on_a_busy_machine_says_its_workers_ran_at_idle_priority() {
    let mut state = new_state();
    let request = state.settings.request(state.workload());
    state.add_result(ended(&request, RunOutcome::Finished));
    let verdict = |busy| crate::experiments::Verdict {
        outcome: crate::experiments::Outcome::CantTell,
        figure: String::new(),
        sentence: "Can't tell.".to_owned(),
        busy,
    };
    state.verdict_shown = Some(0);
    state.verdicts[0] = Some(verdict(false));
    let quiet = state.results_sentence().expect("a sentence");
    assert!(!quiet.contains("idle priority"), "{quiet}");
    state.verdicts[0] = Some(verdict(true));
    let busy = state.results_sentence().expect("a sentence");
    assert!(busy.ends_with("Its workers ran at idle priority and yielded to them (i: normal priority)."), "{busy}");
    state.results[0].priority = Priority::Normal;
    let normal = state.results_sentence().expect("a sentence");
    assert!(!normal.contains("idle priority"), "{normal}");
}
