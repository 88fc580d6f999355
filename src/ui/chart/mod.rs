//! The sweep's chart (`p`), in place of the middle panels and the results: speedup against
//! workers, one series per model (its measured points marked and joined, its Amdahl fit
//! dashed), the ideal line and the 1× line, with the table of speedups beside it and, below
//! both across the whole width, hyperfine's summary and the warnings, never cut. It only draws:
//! the sweep and its statistics come from the state (`sweep`).
//!
//! The plot itself is `plot.rs`; here are the layout, the table and the summary.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

mod plot;

use plot::{mark, render_chart};

use super::panel;
use super::theme::Theme;
use crate::app::state::State;
use crate::sweep::{BenchModel, Config, Results, Runs};

/// The plot is never made narrower than this to keep the table's uncertainties: they go first.
const MIN_PLOT_WIDTH: u16 = 40;
/// Rows the plot keeps when the summary and warnings below it take the rest.
const MIN_PLOT_ROWS: u16 = 6;
/// The worker counts column of the table, then each model's: a space and `1.93±0.02`, or a
/// space and `1.93` when narrow.
const COUNT_WIDTH: u16 = 3;
const FULL_CELL: u16 = 11;
const COMPACT_CELL: u16 = 6;
/// The table's lines under its rows (`seq …`, `s: …`) need this much.
const TABLE_TEXT_WIDTH: u16 = 27;

pub(crate) fn render(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let Some(sweep) = &state.sweep else { return };
    let results = sweep.results();
    let base = &sweep.spec().base;
    let kind = base.workload;
    let size = kind.size().show(base.size.unwrap_or(kind.size().default));
    let (done, total) = sweep.progress();
    let status = if sweep.current().is_some() {
        format!("run {}/{total} · c or Esc cancels", done + 1)
    } else {
        format!("{done} runs · p sweeps again · Esc closes")
    };
    let title = format!(" Sweep · {} · speedup against workers · {status} ", kind.name());
    let runs = match sweep.spec().runs {
        Runs::Fixed(runs) => format!("{runs} runs a point"),
        Runs::Auto => "runs for ~3 s a point".to_owned(),
    };
    let note = format!(
        " {} tasks of {size} (the dashboard's size ÷ {}, to keep it short) · {runs} ",
        base.tasks,
        crate::app::sweep::SWEEP_SIZE_DIVISOR,
    );
    let block = panel(title, true, theme).title_bottom(Line::styled(note, theme.dim()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    // The summary and the warnings first: whole lines across the panel, as many rows as they
    // take once wrapped, so that none is ever cut; the plot and the table get the rest.
    let summary = summary_lines(&results, usize::from(inner.width), theme);
    let summary_rows = (summary.len() as u16).min(inner.height.saturating_sub(MIN_PLOT_ROWS));
    let [top, bottom] = Layout::vertical([Constraint::Min(0), Constraint::Length(summary_rows)]).areas(inner);
    frame.render_widget(Paragraph::new(summary), bottom);
    let models = models(&results);
    let compact = inner.width.saturating_sub(table_width(models.len(), false) + 1) < MIN_PLOT_WIDTH;
    let [chart_area, table_area] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(table_width(models.len(), compact))])
            .spacing(1)
            .areas(top);
    render_chart(frame.buffer_mut(), chart_area, &results, theme);
    render_table(frame, table_area, &results, compact, theme);
}

/// The table's width for `models` columns, with or without uncertainties.
fn table_width(models: usize, compact: bool) -> u16 {
    let cell = if compact { COMPACT_CELL } else { FULL_CELL };
    (COUNT_WIDTH + cell * models as u16).max(TABLE_TEXT_WIDTH)
}

/// The models drawn, in the sweep's order: every one but the sequential baseline.
fn models(results: &Results) -> Vec<BenchModel> {
    results.spec.models.iter().copied().filter(|model| !model.is_baseline()).collect()
}

/// The table beside the chart: speedup ± u per worker count and model (the value alone when
/// `compact`), each model's serial fraction and the sequential time.
fn render_table(frame: &mut Frame, area: Rect, results: &Results, compact: bool, theme: Theme) {
    let models = models(results);
    let cell = usize::from(if compact { COMPACT_CELL } else { FULL_CELL }) - 1;
    let mut lines = Vec::new();
    let mut header = vec![Span::styled(format!("{:>3}", "n"), theme.dim())];
    header.extend(models.iter().map(|&model| {
        let name = if compact { abbreviation(model) } else { short_name(model) };
        Span::styled(format!(" {:>cell$}", format!("{}{name}", mark(model))), theme.model(model))
    }));
    lines.push(Line::from(header));
    for &workers in &results.spec.workers {
        let mut row = vec![Span::styled(format!("{workers:>3}"), theme.dim())];
        for &model in &models {
            let speedup = results.point(Config { model, workers }).and_then(|point| point.speedup);
            let text = match speedup {
                None => "·".to_owned(),
                Some(speedup) if compact => format!("{:.2}", speedup.value),
                Some(speedup) => format!("{:.2}±{:.2}", speedup.value, speedup.uncertainty),
            };
            row.push(Span::raw(format!(" {text:>cell$}")));
        }
        lines.push(Line::from(row));
    }
    let mut fits = vec![Span::styled(format!("{:>3}", "s"), theme.dim())];
    for &model in &models {
        let fit = results.fits.iter().find(|(fitted, _)| *fitted == model);
        let text = fit.map_or_else(|| "·".to_owned(), |(_, fit)| format!("{:.3}", fit.serial_fraction));
        fits.push(Span::raw(format!(" {text:>cell$}")));
    }
    lines.push(Line::from(fits));
    lines.push(Line::styled("s: serial fraction (Amdahl)", theme.dim()));
    if compact {
        lines.push(Line::styled("L: with the lock", theme.dim()));
    }
    if let Some(time) = results.point(Config { model: BenchModel::Sequential, workers: 1 }).and_then(|point| point.time)
    {
        lines.push(Line::styled(format!("seq {} ± {}", seconds(time.mean), seconds(time.stddev)), theme.dim()));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// Under the plot and the table: the comparison hyperfine would print, then every warning,
/// each wrapped at `width` into whole lines.
fn summary_lines(results: &Results, width: usize, theme: Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if let Some(comparison) = results.comparison() {
        // The model that matters most to compare with: another parallel one, else sequential.
        let against =
            comparison.against.iter().find(|(config, _)| !config.model.is_baseline()).or(comparison.against.first());
        if let Some((config, ratio)) = against {
            let text = format!(
                "{} ran {:.2} ± {:.2} times faster than {config}",
                comparison.fastest, ratio.value, ratio.uncertainty
            );
            lines.extend(wrap_words(&text, width).into_iter().map(|line| Line::styled(line, theme.value())));
        }
    }
    for warning in &results.warnings {
        let text = format!("! {warning}");
        lines.extend(wrap_words(&text, width).into_iter().map(|line| Line::styled(line, theme.warning())));
    }
    lines
}

/// `text` in lines of at most `width` characters, broken between words (a word longer than
/// the width is broken where it must).
pub(super) fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        let used = current.chars().count();
        if used > 0 && used + 1 + word.len() <= width {
            current.push(' ');
            current.extend(&word);
            continue;
        }
        if used > 0 {
            lines.push(std::mem::take(&mut current));
        }
        while word.len() > width {
            lines.push(word.drain(..width).collect());
        }
        current = word.into_iter().collect();
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

/// `text` wrapped as [`wrap_words`] does, in at most `max_lines` lines: when it needs more,
/// the last shown ends with `…` after its last whole word that leaves room for it, so that
/// what is left out is marked and no word is cut.
pub(super) fn wrap_words_within(text: &str, width: usize, max_lines: usize) -> Vec<String> {
    let mut lines = wrap_words(text, width);
    if lines.len() <= max_lines {
        return lines;
    }
    lines.truncate(max_lines);
    if let Some(last) = lines.last_mut() {
        let mut words: Vec<&str> = last.split(' ').collect();
        while !words.is_empty() && words.join(" ").chars().count() + 2 > width.max(1) {
            words.pop();
        }
        *last = if words.is_empty() { "…".to_owned() } else { format!("{} …", words.join(" ")) };
    }
    lines
}

fn short_name(model: BenchModel) -> &'static str {
    match model {
        BenchModel::Sequential => "sequential",
        BenchModel::Threads => "threads",
        BenchModel::ThreadsGil => "thr+lock",
        BenchModel::Processes => "processes",
        BenchModel::ProcessesGil => "proc+lock",
        BenchModel::Async => "async",
        BenchModel::PythonSequential => "py seq",
        BenchModel::PythonThreads => "py thr",
        BenchModel::PythonProcesses => "py proc",
    }
}

/// A model's name in three letters, `L` for the lock, for the narrow table.
fn abbreviation(model: BenchModel) -> &'static str {
    match model {
        BenchModel::Sequential => "seq",
        BenchModel::Threads => "thr",
        BenchModel::ThreadsGil => "thrL",
        BenchModel::Processes => "pro",
        BenchModel::ProcessesGil => "proL",
        BenchModel::Async => "asy",
        BenchModel::PythonSequential => "pyS",
        BenchModel::PythonThreads => "pyT",
        BenchModel::PythonProcesses => "pyP",
    }
}

fn seconds(value: f64) -> String {
    crate::units::format_seconds(value)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    use super::plot::{fit_curve, measured, CURVE_STEPS};
    use super::*;
    use crate::engine::{Model, PlanRequest, RunReport};
    use crate::sweep::{Runs, Sweep, SweepSpec};
    use crate::workload::by_name;

    /// A finished sweep of cpu on 2 CPUs from fixed times: threads and processes scale to 2
    /// workers and stay there, threads with the lock do not scale at all.
    pub(crate) fn swept() -> State {
        swept_models(vec![BenchModel::Threads, BenchModel::ThreadsGil, BenchModel::Processes], 0.0)
    }

    /// As [`swept`], of `models`, while other programs used `others` of a CPU; processes with
    /// the lock scale as processes do, one lock each.
    fn swept_models(models: Vec<BenchModel>, others: f64) -> State {
        swept_with(models, others, None)
    }

    /// As [`swept_models`], with the Python models on `python`: CPython's threads take turns
    /// under the GIL, and its work takes four times as long.
    fn swept_with(models: Vec<BenchModel>, others: f64, python: Option<crate::sweep::PythonSide>) -> State {
        let mut state = State::new(2, Duration::from_secs(3));
        state.color = false;
        let spec = SweepSpec {
            base: PlanRequest {
                tasks: 16,
                size: Some(18_750_000),
                ..PlanRequest::new(by_name("cpu").expect("cpu"), Model::Threads)
            },
            models,
            workers: vec![1, 2, 3, 4],
            runs: Runs::Fixed(3),
            warmup: 0,
            python,
        };
        let mut sweep = Sweep::new(spec);
        let mut jitter = 0.0;
        while let Some(request) = sweep.next() {
            let workers = request.workers.unwrap_or(1) as f64;
            let on_python = request.runtime.interpreter().is_some();
            let one_lock = (request.gil.is_some() || on_python) && request.model == Model::Threads;
            let parallel = if one_lock { 1.0 } else { workers.min(2.0) };
            let overhead = if request.model == Model::Processes { 0.02 } else { 0.01 };
            jitter = (jitter + 0.007) % 0.02;
            let wall = (1.0 / parallel + overhead * workers + jitter) * if on_python { 4.0 } else { 1.0 };
            let plan = request.validate_with(&[0, 1]).expect("plan");
            let report = RunReport { wall_seconds: wall, tasks_done: plan.tasks, ..RunReport::empty(plan) };
            sweep.record(&report, Some(others * wall));
        }
        state.sweep = Some(sweep);
        state
    }

    #[test]
    fn the_chart_has_one_series_per_model_and_a_fit_for_each() {
        let state = swept();
        let results = state.sweep.as_ref().expect("sweep").results();
        assert_eq!(models(&results), vec![BenchModel::Threads, BenchModel::ThreadsGil, BenchModel::Processes]);
        let threads = measured(&results, BenchModel::Threads);
        assert_eq!(threads.iter().map(|(workers, _)| *workers).collect::<Vec<_>>(), vec![1.0, 2.0, 3.0, 4.0]);
        assert!(threads[1].1 > 1.7, "threads scale to 2 workers: {threads:?}");
        assert!(measured(&results, BenchModel::ThreadsGil).iter().all(|(_, speedup)| *speedup < 1.1));
        let curve = fit_curve(&results, BenchModel::Threads, 4.0);
        assert_eq!(curve.len(), 3 * CURVE_STEPS + 1);
        assert_eq!((curve[0].0, curve[curve.len() - 1].0), (1.0, 4.0));
        assert!((curve[0].1 - 1.0).abs() < 1e-9, "every Amdahl curve starts at 1");
    }

    #[test]
    fn sweep_chart_at_80_by_24() {
        let state = swept();
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("test backend");
        terminal
            .draw(|frame| {
                crate::ui::draw(frame, &state);
            })
            .expect("draw");
        insta::assert_snapshot!(terminal.backend().to_string());
    }

    #[test]
    fn sweep_chart_wide_while_running() {
        let mut state = swept();
        let mut sweep = Sweep::new(state.sweep.as_ref().expect("sweep").spec().clone());
        let first = sweep.next().expect("a run");
        let plan = first.validate_with(&[0, 1]).expect("plan");
        sweep.record(&RunReport { wall_seconds: 1.0, tasks_done: plan.tasks, ..RunReport::empty(plan) }, Some(0.0));
        state.sweep = Some(sweep);
        let mut terminal = Terminal::new(TestBackend::new(120, 30)).expect("test backend");
        terminal.draw(|frame| render(frame, frame.area(), &state, Theme::PLAIN)).expect("draw");
        insta::assert_snapshot!(terminal.backend().to_string());
    }

    /// CPython's threads swept beside native threads with the emulated lock: two series, each
    /// over its own runtime's baseline, and the table's column for each.
    #[test]
    fn the_real_gil_is_drawn_beside_the_emulated_lock() {
        let interpreter = crate::engine::plan::runtime::Interpreter {
            path: "/usr/bin/python3".into(),
            implementation: "CPython".to_owned(),
            version: (3, 11, 7),
            free_threaded: false,
            gil: true,
        };
        let python = crate::sweep::PythonSide { interpreter, size: Some(375_000) };
        let state = swept_with(vec![BenchModel::ThreadsGil, BenchModel::PythonThreads], 0.0, Some(python));
        let results = state.sweep.as_ref().expect("sweep").results();
        assert_eq!(models(&results), vec![BenchModel::ThreadsGil, BenchModel::PythonThreads]);
        let real = measured(&results, BenchModel::PythonThreads);
        assert_eq!(real.len(), 4, "{real:?}");
        assert!(real.iter().all(|(_, speedup)| (0.8..1.1).contains(speedup)), "over Python's own baseline: {real:?}");
        let lines = crate::report::sweep_gil_lines(&results);
        assert!(lines[1].starts_with("CPython 3.11 threads × 2: "), "{lines:?}");
        let screen = whole_dashboard(&state, 80, 24);
        assert!(screen.contains("py thr") || screen.contains("pyT"), "{screen}");
        insta::assert_snapshot!(screen);
    }

    fn whole_dashboard(state: &State, width: u16, height: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test backend");
        terminal
            .draw(|frame| {
                crate::ui::draw(frame, state);
            })
            .expect("draw");
        terminal.backend().to_string()
    }

    fn four_series(others: f64) -> State {
        let models = vec![BenchModel::Threads, BenchModel::ThreadsGil, BenchModel::Processes, BenchModel::ProcessesGil];
        swept_models(models, others)
    }

    #[test]
    fn sweep_chart_with_four_series_at_120_by_36() {
        insta::assert_snapshot!(whole_dashboard(&four_series(0.0), 120, 36));
    }

    #[test]
    fn sweep_chart_with_four_series_at_80_by_24() {
        insta::assert_snapshot!(whole_dashboard(&four_series(0.0), 80, 24));
    }

    #[test]
    fn sweep_chart_at_120_by_36() {
        insta::assert_snapshot!(whole_dashboard(&swept(), 120, 36));
    }

    #[test]
    fn worker_counts_sit_under_their_points() {
        let state = swept();
        let screen = whole_dashboard(&state, 120, 36);
        let rows: Vec<Vec<char>> = screen.lines().map(|line| line.trim_matches('"').chars().collect()).collect();
        let axis = rows.iter().position(|row| row.contains(&'┬')).expect("the x axis");
        let ticks: Vec<usize> = rows[axis].iter().enumerate().filter(|(_, c)| **c == '┬').map(|(at, _)| at).collect();
        assert_eq!(ticks.len(), 4, "a tick per worker count");
        for (count, tick) in (1..=4).zip(&ticks) {
            assert_eq!(rows[axis + 1][*tick], char::from_digit(count, 10).expect("digit"), "count {count}");
            // The count's points are marked in the column of its tick.
            assert!((0..axis).any(|row| "●■▲".contains(rows[row][*tick])), "a mark above {count}");
        }
    }

    #[test]
    fn warnings_are_whole_lines_below_the_chart() {
        let state = four_series(0.6);
        let warnings = state.sweep.as_ref().expect("sweep").results().warnings;
        assert!(!warnings.is_empty(), "a busy machine is warned of");
        for (width, height) in [(80, 24), (120, 36)] {
            let screen = whole_dashboard(&state, width, height);
            let shown: String = screen
                .lines()
                .map(|line| line.trim_matches('"').trim_matches('│').trim())
                .collect::<Vec<_>>()
                .join(" ");
            for warning in &warnings {
                assert!(shown.contains(&format!("! {warning}")), "{warning} in\n{screen}");
            }
        }
        insta::assert_snapshot!(whole_dashboard(&state, 80, 24));
    }

    #[test]
    fn words_wrap_into_whole_lines() {
        assert_eq!(wrap_words("one two three", 7), vec!["one two", "three"]);
        assert_eq!(wrap_words("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap_words("", 4), Vec::<String>::new());
        assert_eq!(wrap_words_within("one two three", 7, 2), vec!["one two", "three"]);
        assert_eq!(wrap_words_within("one two three four", 9, 1), vec!["one two …"], "whole words, marked");
        assert_eq!(wrap_words_within("one two three four", 8, 1), vec!["one …"]);
        assert_eq!(wrap_words_within("abcdefghij", 4, 1), vec!["…"]);
    }

    #[test]
    fn the_chart_never_panics_at_any_size() {
        let state = four_series(0.0);
        for width in [0, 1, 5, 20, 45, 80, 121] {
            for height in [0, 1, 3, 8, 24, 40] {
                let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test backend");
                terminal.draw(|frame| render(frame, frame.area(), &state, Theme::PLAIN)).expect("draw");
            }
        }
    }
}
