//! The sweep's chart (`p`), in place of the middle panels and the results: speedup against
//! workers, one series per model, the ideal line and each model's Amdahl fit, with the table of
//! speedups beside it, hyperfine's summary and the warnings. It only draws: the sweep and
//! its statistics come from the state (`bench`).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, LegendPosition, Paragraph, Wrap};
use ratatui::Frame;

use super::panel;
use super::theme::Theme;
use crate::app::state::State;
use crate::bench::{BenchModel, Config, Results, Runs};

/// Samples per worker of a drawn Amdahl curve: enough for a smooth line in braille.
const CURVE_STEPS: usize = 8;
/// The table's width beside the chart: the worker count and four model columns.
const TABLE_WIDTH: u16 = 38;

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
    let table_width = TABLE_WIDTH.min(inner.width / 2);
    let [chart_area, table_area] =
        Layout::horizontal([Constraint::Min(20), Constraint::Length(table_width)]).spacing(1).areas(inner);
    render_chart(frame, chart_area, &results, theme);
    render_table(frame, table_area, &results, theme);
}

/// The models drawn, in the sweep's order: every one but the sequential baseline.
fn models(results: &Results) -> Vec<BenchModel> {
    results.spec.models.iter().copied().filter(|model| *model != BenchModel::Sequential).collect()
}

/// Each model's measured speedups, by worker count.
#[must_use]
pub(crate) fn measured(results: &Results, model: BenchModel) -> Vec<(f64, f64)> {
    results
        .points
        .iter()
        .filter(|point| point.config.model == model)
        .filter_map(|point| point.speedup.map(|speedup| (point.config.workers as f64, speedup.value)))
        .collect()
}

/// A model's Amdahl fit drawn from 1 to `most` workers.
#[must_use]
pub(crate) fn fit_curve(results: &Results, model: BenchModel, most: f64) -> Vec<(f64, f64)> {
    let Some((_, fit)) = results.fits.iter().find(|(fitted, _)| *fitted == model) else { return Vec::new() };
    let steps = ((most - 1.0).max(0.0) as usize * CURVE_STEPS).max(1);
    (0..=steps).map(|step| 1.0 + (most - 1.0) * step as f64 / steps as f64).map(|p| (p, fit.speedup(p))).collect()
}

/// One model on the chart: its measured speedups and its fitted Amdahl curve.
struct Series {
    model: BenchModel,
    points: Vec<(f64, f64)>,
    curve: Vec<(f64, f64)>,
}

fn render_chart(frame: &mut Frame, area: Rect, results: &Results, theme: Theme) {
    let most = results.spec.workers.iter().copied().max().unwrap_or(1).max(2) as f64;
    let models = models(results);
    let series: Vec<Series> = models
        .iter()
        .map(|&model| Series { model, points: measured(results, model), curve: fit_curve(results, model, most) })
        .collect();
    let ideal = vec![(1.0, 1.0), (most, most)];
    let highest = series.iter().flat_map(|one| one.points.iter().map(|(_, speedup)| *speedup)).fold(most, f64::max);
    // Even, so that the middle label is a whole number too.
    let top = (highest / 2.0).ceil() * 2.0;
    let mut datasets = vec![Dataset::default()
        .name("ideal")
        .marker(Marker::Braille)
        .graph_type(GraphType::Line)
        .style(theme.dim())
        .data(&ideal)];
    // Measured speedups are solid lines, fits dotted, so the two read apart without colour too.
    for Series { model, points, curve } in &series {
        datasets.push(
            Dataset::default()
                .marker(Marker::Dot)
                .graph_type(GraphType::Scatter)
                .style(theme.model(*model))
                .data(curve),
        );
        datasets.push(
            Dataset::default()
                .name(model.name())
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(theme.model(*model).add_modifier(Modifier::BOLD))
                .data(points),
        );
    }
    datasets.push(Dataset::default().name("• Amdahl fit").style(theme.dim()));
    let label = |value: f64| Span::styled(format!("{value:.0}"), theme.dim());
    // Labels are spread evenly over the axis: every count while they fit, else both ends.
    let x_labels: Vec<Span> = if most <= 8.0 {
        (1..=most as usize).map(|n| label(n as f64)).collect()
    } else {
        vec![label(1.0), label(most)]
    };
    let chart = Chart::new(datasets)
        .x_axis(Axis::default().title(Span::styled("workers", theme.dim())).bounds([1.0, most]).labels(x_labels))
        .y_axis(Axis::default().title(Span::styled("speedup", theme.dim())).bounds([0.0, top]).labels([
            label(0.0),
            label(top / 2.0),
            label(top),
        ]))
        .legend_position(Some(LegendPosition::TopLeft))
        .hidden_legend_constraints((Constraint::Percentage(60), Constraint::Percentage(60)));
    frame.render_widget(chart, area);
}

/// The table beside the chart: speedup ± u per worker count and model, the sequential time,
/// each model's serial fraction, then the summary and the warnings, as many as fit.
fn render_table(frame: &mut Frame, area: Rect, results: &Results, theme: Theme) {
    let models = models(results);
    let mut lines = Vec::new();
    let mut header = vec![Span::styled(format!("{:>3}", "n"), theme.dim())];
    header.extend(models.iter().map(|model| Span::styled(format!(" {:>10}", short_name(*model)), theme.model(*model))));
    lines.push(Line::from(header));
    for &workers in &results.spec.workers {
        let mut row = vec![Span::styled(format!("{workers:>3}"), theme.dim())];
        for &model in &models {
            let cell = results
                .point(Config { model, workers })
                .and_then(|point| point.speedup)
                .map_or_else(|| "·".to_owned(), |speedup| format!("{:.2}±{:.2}", speedup.value, speedup.uncertainty));
            row.push(Span::raw(format!(" {cell:>10}")));
        }
        lines.push(Line::from(row));
    }
    let mut fits = vec![Span::styled(format!("{:>3}", "s"), theme.dim())];
    for &model in &models {
        let fit = results.fits.iter().find(|(fitted, _)| *fitted == model);
        let cell = fit.map_or_else(|| "·".to_owned(), |(_, fit)| format!("{:.3}", fit.serial_fraction));
        fits.push(Span::raw(format!(" {cell:>10}")));
    }
    lines.push(Line::from(fits));
    if let Some(time) = results.point(Config { model: BenchModel::Sequential, workers: 1 }).and_then(|point| point.time)
    {
        lines.push(Line::styled(format!("sequential {} ± {}", seconds(time.mean), seconds(time.stddev)), theme.dim()));
    }
    lines.push(Line::styled("s: Amdahl's serial fraction, fitted", theme.dim()));
    if let Some(comparison) = results.comparison() {
        // The model that matters most to compare with: another parallel one, else sequential.
        let against = comparison
            .against
            .iter()
            .find(|(config, _)| config.model != BenchModel::Sequential)
            .or(comparison.against.first());
        if let Some((config, ratio)) = against {
            lines.push(Line::styled(
                format!(
                    "{} ran {:.2} ± {:.2} times faster than {config}",
                    comparison.fastest, ratio.value, ratio.uncertainty
                ),
                theme.value(),
            ));
        }
    }
    for warning in &results.warnings {
        lines.push(Line::styled(format!("! {warning}"), theme.warning()));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), area);
}

fn short_name(model: BenchModel) -> &'static str {
    match model {
        BenchModel::Sequential => "sequential",
        BenchModel::Threads => "threads",
        BenchModel::ThreadsGil => "thr+lock",
        BenchModel::Processes => "processes",
        BenchModel::ProcessesGil => "proc+lock",
        BenchModel::Async => "async",
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

    use super::*;
    use crate::bench::{Runs, Sweep, SweepSpec};
    use crate::engine::{Model, PlanRequest, RunReport};
    use crate::workload::by_name;

    /// A finished sweep of cpu on 2 CPUs from fixed times: threads and processes scale to 2
    /// workers and stay there, threads with the lock do not scale at all.
    pub(crate) fn swept() -> State {
        let mut state = State::new(2, Duration::from_secs(3));
        state.color = false;
        let spec = SweepSpec {
            base: PlanRequest {
                tasks: 16,
                size: Some(18_750_000),
                ..PlanRequest::new(by_name("cpu").expect("cpu"), Model::Threads)
            },
            models: vec![BenchModel::Threads, BenchModel::ThreadsGil, BenchModel::Processes],
            workers: vec![1, 2, 3, 4],
            runs: Runs::Fixed(3),
            warmup: 0,
        };
        let mut sweep = Sweep::new(spec);
        let mut jitter = 0.0;
        while let Some(request) = sweep.next() {
            let workers = request.workers.unwrap_or(1) as f64;
            let parallel = if request.gil.is_some() { 1.0 } else { workers.min(2.0) };
            let overhead = if request.model == Model::Processes { 0.02 } else { 0.01 };
            jitter = (jitter + 0.007) % 0.02;
            let wall = 1.0 / parallel + overhead * workers + jitter;
            let plan = request.validate_with(&[0, 1]).expect("plan");
            sweep
                .record(&RunReport { wall_seconds: wall, tasks_done: plan.tasks, ..RunReport::empty(plan) }, Some(0.0));
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
}
