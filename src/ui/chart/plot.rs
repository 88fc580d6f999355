//! The chart's plot: a braille canvas whose dot grid this file maps itself, so that the
//! points' marks, the ticks and the worker counts under them all sit in the columns of their
//! data; each model's measured points marked and joined, its Amdahl fit dashed, the ideal and 1×
//! lines, the legend and the axes. The table and the summary beside and below it are `mod.rs`'s.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::canvas::{Canvas, Context, Line as Segment};
use ratatui::widgets::Widget;

use super::models;
use crate::sweep::{BenchModel, Results};
use crate::ui::theme::Theme;

/// Samples per worker of a drawn Amdahl curve: enough for a smooth line in braille.
pub(super) const CURVE_STEPS: usize = 8;
/// Braille dots of a fit's dash, and of a dash and its gap.
const DASH_ON: usize = 4;
const DASH_PERIOD: usize = 7;
/// Braille dots per cell, across and down.
const DOTS_ACROSS: usize = 2;
const DOTS_DOWN: usize = 4;
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

/// The mark of a model's measured points, so that series read apart without colour too.
pub(super) fn mark(model: BenchModel) -> char {
    match model {
        BenchModel::Sequential | BenchModel::Threads => '●',
        BenchModel::ThreadsGil => '■',
        BenchModel::Processes => '▲',
        BenchModel::ProcessesGil => '◆',
        BenchModel::Async => '○',
        BenchModel::PythonSequential | BenchModel::PythonThreads => '◇',
        BenchModel::PythonProcesses => '△',
    }
}

/// Where data lands on a braille canvas of `cells`: the same sums as ratatui's canvas, so a
/// value's cell here is the cell its dot is drawn in.
#[derive(Debug, Clone, Copy)]
struct Plot {
    cells: Rect,
    x_bounds: [f64; 2],
    y_bounds: [f64; 2],
}

impl Plot {
    /// The column of `x`, absolute in the frame.
    fn column(&self, x: f64) -> u16 {
        let dots = usize::from(self.cells.width) * DOTS_ACROSS;
        self.cells.x + (dot(x, self.x_bounds, dots) / DOTS_ACROSS) as u16
    }

    /// The row of `y`, absolute in the frame.
    fn row(&self, y: f64) -> u16 {
        let dots = usize::from(self.cells.height) * DOTS_DOWN;
        let [bottom, top] = self.y_bounds;
        self.cells.y + (dot(top - y + bottom, self.y_bounds, dots) / DOTS_DOWN) as u16
    }

    /// The data `x` of dot column `column`.
    fn x_of_dot(&self, column: usize) -> f64 {
        let dots = (usize::from(self.cells.width) * DOTS_ACROSS).max(2);
        let [left, right] = self.x_bounds;
        left + (right - left) * column as f64 / (dots - 1) as f64
    }

    fn canvas<F: Fn(&mut Context)>(&self, paint: F) -> Canvas<'static, F> {
        Canvas::default().marker(Marker::Braille).x_bounds(self.x_bounds).y_bounds(self.y_bounds).paint(paint)
    }
}

/// The dot, from 0 to `dots - 1`, of `value` within `bounds`, clamped.
fn dot(value: f64, [low, high]: [f64; 2], dots: usize) -> usize {
    let span = high - low;
    if span <= 0.0 || dots == 0 {
        return 0;
    }
    let at = ((value - low).clamp(0.0, span) * (dots - 1) as f64 / span).round();
    (at as usize).min(dots - 1)
}

/// One model on the chart: its measured speedups and its fitted Amdahl curve.
struct Series {
    model: BenchModel,
    points: Vec<(f64, f64)>,
    curve: Vec<(f64, f64)>,
}

/// The plot: a legend line, the y labels and axis, the canvas, the x axis with a tick under
/// each worker count and the counts under their ticks.
pub(super) fn render_chart(buffer: &mut Buffer, area: Rect, results: &Results, theme: Theme) {
    let counts: Vec<usize> = results.spec.workers.clone();
    let most = counts.iter().copied().max().unwrap_or(1).max(2) as f64;
    let series: Vec<Series> = models(results)
        .into_iter()
        .map(|model| Series { model, points: measured(results, model), curve: fit_curve(results, model, most) })
        .collect();
    let highest = series.iter().flat_map(|one| one.points.iter().map(|(_, speedup)| *speedup)).fold(most, f64::max);
    // Even, so that the middle label is a whole number too.
    let top = (highest / 2.0).ceil() * 2.0;
    let y_labels: Vec<(f64, String)> =
        [top, top / 2.0, 1.0, 0.0].into_iter().map(|value| (value, format!("{value:.0}×"))).collect();
    let label_width = y_labels.iter().map(|(_, label)| label.chars().count()).max().unwrap_or(2) as u16;
    // Legend, canvas, axis, counts; a y label column and the axis.
    if area.height < 5 || area.width < label_width + 6 {
        return;
    }
    let plot = Plot {
        cells: Rect {
            x: area.x + label_width + 1,
            y: area.y + 1,
            width: area.width - label_width - 1,
            height: area.height - 3,
        },
        x_bounds: [1.0, most],
        y_bounds: [0.0, top],
    };
    render_legend(buffer, Rect { height: 1, ..area }, theme);
    render_axes(buffer, &plot, label_width, &y_labels, &counts, theme);
    let guides = plot.canvas(|context| {
        context.draw(&Segment::new(1.0, 1.0, most, most, Color::Reset));
        context.draw(&Segment::new(1.0, 1.0, most, 1.0, Color::Reset));
    });
    overlay(buffer, guides, plot.cells, theme.dim());
    let fits = plot.canvas(|context| {
        for one in &series {
            draw_dashed(context, &plot, &one.curve, colour(theme, one.model));
            context.layer();
        }
    });
    overlay(buffer, fits, plot.cells, Style::new());
    let lines = plot.canvas(|context| {
        for one in &series {
            for pair in one.points.windows(2) {
                let ((x1, y1), (x2, y2)) = (pair[0], pair[1]);
                context.draw(&Segment::new(x1, y1, x2, y2, colour(theme, one.model)));
            }
            context.layer();
        }
    });
    overlay(buffer, lines, plot.cells, Style::new().add_modifier(Modifier::BOLD));
    for one in &series {
        let style = theme.model(one.model).add_modifier(Modifier::BOLD);
        for &(workers, speedup) in &one.points {
            if let Some(cell) = buffer.cell_mut((plot.column(workers), plot.row(speedup))) {
                cell.set_char(mark(one.model)).set_style(style);
            }
        }
    }
}

/// The colour a canvas draws a model in: its style's, or the terminal's without colour.
fn colour(theme: Theme, model: BenchModel) -> Color {
    theme.model(model).fg.unwrap_or(Color::Reset)
}

/// A fit as dashes of braille: `DASH_ON` dot columns drawn in every `DASH_PERIOD`, each
/// joined to the next so that steep parts stay whole.
fn draw_dashed(context: &mut Context, plot: &Plot, curve: &[(f64, f64)], colour: Color) {
    let Some((&(first, _), &(last, _))) = curve.first().zip(curve.last()) else { return };
    let at = |x: f64| {
        let next = curve.partition_point(|(point, _)| *point < x).clamp(1, curve.len().saturating_sub(1).max(1));
        let (x0, y0) = curve[next - 1];
        let (x1, y1) = curve.get(next).copied().unwrap_or((x0, y0));
        if x1 > x0 {
            y0 + (y1 - y0) * (x - x0) / (x1 - x0)
        } else {
            y0
        }
    };
    let dots = usize::from(plot.cells.width) * DOTS_ACROSS;
    for column in 0..dots {
        let (x, next) = (plot.x_of_dot(column), plot.x_of_dot(column + 1));
        if column % DASH_PERIOD < DASH_ON - 1 && x >= first && next <= last {
            context.draw(&Segment::new(x, at(x), next, at(next), colour));
        }
    }
}

/// Copies what `canvas` draws in `area` onto `buffer`, in the canvas's colours, with `style`
/// over them; cells it leaves blank keep what is below.
fn overlay(buffer: &mut Buffer, canvas: impl Widget, area: Rect, style: Style) {
    let mut layer = Buffer::empty(area);
    canvas.render(area, &mut layer);
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let drawn = &layer[(x, y)];
            if drawn.symbol() == " " {
                continue;
            }
            if let Some(cell) = buffer.cell_mut((x, y)) {
                let fg = drawn.fg;
                cell.set_symbol(drawn.symbol()).set_style(Style::reset().fg(fg).patch(style));
            }
        }
    }
}

/// What the plot's marks mean, as long as it fits the plot's width.
fn render_legend(buffer: &mut Buffer, area: Rect, theme: Theme) {
    let entry = |glyphs: &'static str, glyph_style: Style, text: &'static str| {
        [Span::styled(glyphs, glyph_style), Span::styled(text, theme.dim())]
    };
    let long: Vec<Span> = [
        entry("●─●", theme.value(), " measured  "),
        entry("╌╌╌", Style::new(), " Amdahl fit  "),
        entry("╱", theme.dim(), " ideal  "),
        entry("─", theme.dim(), " 1× (no gain)"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let short: Vec<Span> = [
        entry("●─", theme.value(), " measured "),
        entry("╌╌", Style::new(), " fit "),
        entry("╱", theme.dim(), " ideal "),
        entry("─", theme.dim(), " 1×"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let line = [Line::from(long), Line::from(short)]
        .into_iter()
        .find(|line| line.width() <= usize::from(area.width))
        .unwrap_or_default();
    line.render(area, buffer);
}

/// The y labels beside the axis, the axis lines, a tick under each worker count and the counts
/// centred under their ticks (those that would touch a neighbour are left out, never the last).
fn render_axes(
    buffer: &mut Buffer,
    plot: &Plot,
    label_width: u16,
    y_labels: &[(f64, String)],
    counts: &[usize],
    theme: Theme,
) {
    let axis_x = plot.cells.x - 1;
    let axis_y = plot.cells.bottom();
    for y in plot.cells.top()..axis_y {
        buffer.set_string(axis_x, y, "│", theme.dim());
    }
    let mut labelled_rows = Vec::new();
    for (value, label) in y_labels {
        let row = plot.row(*value);
        if !labelled_rows.contains(&row) {
            labelled_rows.push(row);
            buffer.set_string(axis_x - label_width, row, format!("{label:>0$}", usize::from(label_width)), theme.dim());
        }
    }
    buffer.set_string(axis_x, axis_y, "└", theme.dim());
    buffer.set_string(plot.cells.x, axis_y, "─".repeat(usize::from(plot.cells.width)), theme.dim());
    let mut placed: Vec<(u16, u16)> = Vec::new();
    let mut order: Vec<usize> = counts.to_vec();
    // The last count first, so that it is always shown; then from the left.
    order.rotate_right(1);
    for count in order {
        let column = plot.column(count as f64);
        buffer.set_string(column, axis_y, "┬", theme.dim());
        let label = count.to_string();
        let width = label.len() as u16;
        let start =
            column.saturating_sub((width - 1) / 2).max(plot.cells.x).min(plot.cells.right().saturating_sub(width));
        let end = start + width;
        if placed.iter().all(|&(left, right)| end < left || start > right) {
            buffer.set_string(start, axis_y + 1, &label, theme.dim());
            placed.push((start, end));
        }
    }
    let title = "workers";
    let title_at = plot.cells.right().saturating_sub(title.len() as u16);
    if placed.iter().all(|&(_, right)| right + 1 < title_at) {
        buffer.set_string(title_at, axis_y + 1, title, theme.dim());
    }
}
