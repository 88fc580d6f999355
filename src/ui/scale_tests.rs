//! The dashboard at scale: 64 to 256 CPUs from a fake sampler, 1,000 workers scrolled and
//! sorted, the whole screen at 80×24 and 120×36, and the responsiveness figures.

use std::time::Duration;

use ratatui::crossterm::event::KeyCode;

use super::tests::{fixture, panel_snapshot, render_with, worker, workers_panel};
use super::{cores, draw};
use crate::app::state::{Focus, Overlay, State};
use crate::engine::Phase;
use crate::telemetry::{CoreSample, WorkerState, WorkerView};

/// The fixture on a machine of `cpus` CPUs, as a fake sampler reports them, with
/// `workers` workers running at staggered progress.
fn big(cpus: usize, workers: usize) -> State {
    use crate::telemetry::cores::{CoreSource, FakeCores};
    let mut state = fixture();
    let mut source = FakeCores(cpus);
    crate::app::update(
        &mut state,
        crate::app::Event::Cores(CoreSample { usage: source.refresh(), interval: Duration::from_millis(250) }),
    );
    let run = state.run.as_mut().expect("run");
    run.phase = Phase::Running;
    run.lock = None;
    run.workers = (0..workers)
        .map(|index| {
            let state = [WorkerState::Running, WorkerState::Blocked, WorkerState::Idle][index % 3];
            WorkerView { tasks_done: (index % 7) as u64, ..worker(index, state, (index % 10) as f64 / 10.0) }
        })
        .collect();
    state
}

#[test]
fn cores_panel_at_64_128_and_256_cpus_shows_every_cpu() {
    for cpus in [64, 128, 256] {
        let state = big(cpus, 2);
        // As the dashboard gives it room at 80×24 and at 120×36.
        for (width, height) in [(52, 11), (86, 21)] {
            let rows = cores::rows_wanted(&state, width, height);
            let screen = panel_snapshot(width, rows + 2, cores::render, &state);
            assert!(screen.contains(&format!("Cores: {cpus}")), "{screen}");
            insta::assert_snapshot!(format!("cores_{cpus}_cpus_{width}x{height}"), screen);
        }
    }
}

#[test]
fn sixteen_cpus_get_columns_of_bars() {
    let state = big(16, 2);
    let rows = cores::rows_wanted(&state, 86, 21);
    insta::assert_snapshot!(panel_snapshot(86, rows + 2, cores::render, &state));
}

#[test]
fn a_thousand_workers_scroll_sort_and_sum_up() {
    let mut state = big(2, 1000);
    state.focus = Focus::Workers;
    let top = panel_snapshot(100, 12, workers_panel, &state);
    assert!(top.contains("↓ 993 below") && top.contains("progress min 0%"), "{top}");
    // A page is what the panel showed; End goes to the last row, in the shown order.
    crate::app::update(&mut state, crate::app::Event::WorkersRows(7));
    let key = |code| crate::app::Event::Key(ratatui::crossterm::event::KeyEvent::from(code));
    crate::app::update(&mut state, key(KeyCode::PageDown));
    assert_eq!(state.workers_table.selected, 7);
    crate::app::update(&mut state, key(KeyCode::Char('s')));
    crate::app::update(&mut state, key(KeyCode::Char('s')));
    crate::app::update(&mut state, key(KeyCode::End));
    let bottom = panel_snapshot(100, 12, workers_panel, &state);
    assert!(bottom.contains("↑ 993 above · ↓ 0 below") && bottom.contains("by progress"), "{bottom}");
    insta::assert_snapshot!(format!("{top}\n{bottom}"));
}

#[test]
fn the_whole_dashboard_at_1000_workers_on_256_cpus_fits_80_by_24_and_120_by_36() {
    let state = big(256, 1000);
    insta::assert_snapshot!(render_with(80, 24, |frame| {
        draw(frame, &state);
    }));
    insta::assert_snapshot!(render_with(120, 36, |frame| {
        draw(frame, &state);
    }));
    let small = render_with(60, 15, |frame| {
        draw(frame, &state);
    });
    assert!(small.contains("Terminal too small"), "{small}");
}

#[test]
fn the_help_overlay_shows_key_to_screen_and_frame_times() {
    use crate::telemetry::responsiveness::Meter;
    let mut meter = Meter::default();
    for ms in [3, 4, 40] {
        meter.key_to_screen.push(Duration::from_millis(ms));
        meter.frame.push(Duration::from_micros(ms * 300));
    }
    let mut state = fixture();
    state.overlay = Some(Overlay::Help);
    let before = render_with(80, 24, |frame| {
        draw(frame, &state);
    });
    assert!(before.contains("not measured yet"), "{before}");
    crate::app::update(&mut state, crate::app::Event::Responsiveness(meter.figures()));
    let after = render_with(80, 24, |frame| {
        draw(frame, &state);
    });
    let top = after.lines().next().unwrap_or_default();
    assert!(top.contains("key→screen p50 4.0 ms p99 40 ms"), "{top}");
    assert!(top.contains("frame p50 1.2 ms p99 12 ms"), "{top}");
    // Beside them, how the workers are kept from the loop.
    assert!(after.contains("workers: idle priority"), "{after}");
    state.workers_in_cgroup = true;
    let penned = render_with(80, 24, |frame| {
        draw(frame, &state);
    });
    assert!(penned.contains("workers: idle, own cgroup"), "{penned}");
}
