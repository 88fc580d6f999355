//! The cores panel: one bar per CPU split into the current run's load and other programs',
//! with its total, a short history, and the workers that ran on it last, so pinning, the
//! lock's effect and a busy machine are all visible. Past the CPUs its rows can hold, it
//! turns compact (`cores_grid.rs` picks how): columns of bars, then one glyph per CPU, with
//! the whole machine's split in the title; no CPU is ever cut off.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::cores_grid::{self, label_width, layout, CoreLayout, BLOCK, COLUMN_GAP};
use super::glyphs::{sparkline, split_bar, OTHERS_GLYPH, RUN_GLYPH};
use super::panel;
use super::theme::Theme;
use crate::app::state::{CoreView, State};
use crate::telemetry::WorkerState;
use crate::units::{truncate, truncate_words};

pub(super) fn render(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let inner_width = usize::from(area.width.saturating_sub(2));
    let cpus = state.cores.len();
    let chosen = layout(cpus, inner_width, usize::from(area.height.saturating_sub(2)), true);
    let title = match chosen {
        CoreLayout::Lines => " Cores ".to_owned(),
        CoreLayout::Columns { .. } | CoreLayout::Strip { .. } => machine_title(state, chosen),
    };
    let mut block = panel(title.clone(), false, theme);
    // Only the one-line-a-CPU layout draws each core's history.
    let history = matches!(chosen, CoreLayout::Lines);
    let long = legend(theme, [" this run ", " other programs ", " load history "], history);
    let short = legend(theme, [" run ", " others ", " history "], history);
    let room = inner_width.saturating_sub(title.chars().count() + 1);
    if long.width() <= room {
        block = block.title(long.right_aligned());
    } else if short.width() <= room {
        block = block.title(short.right_aligned());
    }
    if let Some(others) = state.busy_machine() {
        let room = usize::from(area.width.saturating_sub(4));
        block = block.title_bottom(Line::styled(format!(" {} ", busy_warning(others, room)), theme.warning()));
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines = match chosen {
        CoreLayout::Lines => core_lines(state, usize::from(inner.width), theme),
        CoreLayout::Columns { columns, rows, bar } => column_lines(state, columns, rows, bar, theme),
        CoreLayout::Strip { per_row, rows, group } => strip_lines(state, per_row, rows, group, theme),
    };
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The Cores panel's height inside its borders, in a column `width` wide and `height` tall
/// that it shares with the workers panel.
#[must_use]
pub(super) fn rows_wanted(state: &State, width: u16, height: u16) -> u16 {
    cores_grid::rows_wanted(state.cores.len(), usize::from(width.saturating_sub(2)), usize::from(height)) as u16
}

/// What the bars' two parts and, with `history`, the sparkline stand for, in the words given.
fn legend(theme: Theme, [run, others, past]: [&'static str; 3], history: bool) -> Line<'static> {
    let mut spans = vec![
        Span::raw(" "),
        Span::styled(RUN_GLYPH.to_string(), theme.run_load()),
        Span::styled(run, theme.dim()),
        Span::styled(OTHERS_GLYPH.to_string(), theme.others_load()),
        Span::styled(others, theme.dim()),
    ];
    if history {
        spans.extend([
            Span::styled(sparkline([15, 50, 100].into_iter()), theme.history()),
            Span::styled(past, theme.dim()),
        ]);
    }
    Line::from(spans)
}

/// ` Cores: 256 (4 a glyph) · run 80% · others 7% `: the whole machine at a glance,
/// for the compact layouts, which have no room for each CPU's history.
fn machine_title(state: &State, chosen: CoreLayout) -> String {
    let cpus = state.cores.len().max(1) as f32;
    let run = state.cores.iter().map(|core| core.run).sum::<f32>() / cpus;
    let others = state.cores.iter().map(|core| (core.usage - core.run).max(0.0)).sum::<f32>() / cpus;
    let group = match chosen {
        CoreLayout::Strip { group, .. } if group > 1 => format!(" ({group} a glyph)"),
        _ => " CPUs".to_owned(),
    };
    format!(" Cores: {}{group} · run {run:.0}% · others {others:.0}% ", state.cores.len())
}

/// One line per CPU: its bar, total, history and the live workers last seen on it.
fn core_lines(state: &State, width: usize, theme: Theme) -> Vec<Line<'static>> {
    let bar_width = (width / 5).clamp(6, 20);
    let spark_width = (width / 4).clamp(4, 40);
    state
        .cores
        .iter()
        .enumerate()
        .map(|(cpu, core)| {
            let history: Vec<u8> = core.history.iter().copied().collect();
            let recent = &history[history.len().saturating_sub(spark_width)..];
            let workers = workers_on(state, cpu);
            let fixed = 5 + 1 + bar_width + 7 + recent.len() + 1;
            let [run_part, others_part, free_part] = core_bar(core, bar_width);
            Line::from(vec![
                Span::styled(format!("cpu{cpu:<2}"), theme.dim()),
                Span::raw(" "),
                Span::styled(run_part, theme.run_load()),
                Span::styled(others_part, theme.others_load()),
                Span::styled(free_part, theme.dim()),
                Span::styled(format!("{:>5.0}%", core.usage), theme.value()),
                Span::raw(" "),
                Span::styled(sparkline(recent.iter().copied()), theme.history()),
                Span::raw(" "),
                Span::styled(truncate(&workers, width.saturating_sub(fixed)), theme.title()),
            ])
        })
        .collect()
}

fn core_bar(core: &CoreView, width: usize) -> [String; 3] {
    let others = (core.usage - core.run).max(0.0);
    split_bar(f64::from(core.run) / 100.0, f64::from(others) / 100.0, width)
}

/// `12 ████▒···  62%` cells, CPUs numbered down each column as htop's meters are.
fn column_lines(state: &State, columns: usize, rows: usize, bar: usize, theme: Theme) -> Vec<Line<'static>> {
    let label = label_width(state.cores.len());
    (0..rows)
        .map(|row| {
            let mut spans = Vec::new();
            for column in 0..columns {
                let cpu = column * rows + row;
                let Some(core) = state.cores.get(cpu) else { break };
                if column > 0 {
                    spans.push(Span::raw(" ".repeat(COLUMN_GAP)));
                }
                let [run_part, others_part, free_part] = core_bar(core, bar);
                spans.extend([
                    Span::styled(format!("{cpu:>label$} "), theme.dim()),
                    Span::styled(run_part, theme.run_load()),
                    Span::styled(others_part, theme.others_load()),
                    Span::styled(free_part, theme.dim()),
                    Span::styled(format!("{:>4.0}%", core.usage.clamp(0.0, 100.0)), theme.value()),
                ]);
            }
            Line::from(spans)
        })
        .collect()
}

/// Rows of glyphs, one per `group` CPUs: the glyph's height is the load, its colour whose
/// load most of it is (this run's or other programs'); each row led by its first CPU.
fn strip_lines(state: &State, per_row: usize, rows: usize, group: usize, theme: Theme) -> Vec<Line<'static>> {
    let label = label_width(state.cores.len());
    let glyphs: Vec<Span<'static>> = state
        .cores
        .chunks(group)
        .map(|cores| {
            let count = cores.len() as f32;
            let usage = cores.iter().map(|core| core.usage).sum::<f32>() / count;
            let run = cores.iter().map(|core| core.run).sum::<f32>() / count;
            let style = if run >= usage - run { theme.run_load() } else { theme.others_load() };
            Span::styled(sparkline(std::iter::once(usage.clamp(0.0, 100.0).round() as u8)), style)
        })
        .collect();
    glyphs
        .chunks(per_row.max(1))
        .take(rows)
        .enumerate()
        .map(|(row, glyphs)| {
            let mut spans = vec![Span::styled(format!("{:>label$} ", row * per_row * group), theme.dim())];
            for (at, glyph) in glyphs.iter().enumerate() {
                if at > 0 && at % BLOCK == 0 {
                    spans.push(Span::raw(" "));
                }
                spans.push(glyph.clone());
            }
            Line::from(spans)
        })
        .collect()
}

/// `busy machine: other programs use 63% of a core — figures may be off`, shortened to fit
/// `room` cells.
fn busy_warning(others: f32, room: usize) -> String {
    let amount =
        if others < 150.0 { format!("{others:.0}% of a core") } else { format!("{:.1} cores", others / 100.0) };
    let long = format!("busy machine: other programs use {amount} — figures may be off");
    if long.chars().count() <= room {
        return long;
    }
    truncate_words(&format!("busy machine: others use {amount}"), room)
}

/// `w0 w3`: the live workers last seen on `cpu`.
fn workers_on(state: &State, cpu: usize) -> String {
    let Some(run) = &state.run else { return String::new() };
    run.workers
        .iter()
        .filter(|w| w.core == Some(cpu) && matches!(w.state, WorkerState::Running | WorkerState::Draining))
        .map(|w| format!("w{}", w.index))
        .collect::<Vec<_>>()
        .join(" ")
}
