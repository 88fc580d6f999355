//! The experiments: the list the dashboard opens on (each claim's name with its latest verdict's
//! mark), and beside it, while the list has focus or an experiment runs, the selected claim in
//! plain words, what to watch while it runs, and its runs; the catalog takes that place otherwise.

use ratatui::layout::{Alignment, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::theme::Theme;
use super::{focused, panel};
use crate::app::state::{Focus, State};
use crate::experiments::{Outcome, Verdict, EXPERIMENTS};

/// The mark of a verdict in the list: ✓ holds, ✗ does not hold, ? can't tell.
fn mark(verdict: Option<&Verdict>) -> &'static str {
    match verdict.map(|verdict| verdict.outcome) {
        Some(Outcome::Holds) => "✓",
        Some(Outcome::DoesNotHold) => "✗",
        Some(Outcome::CantTell) => "?",
        None => " ",
    }
}

/// The list: one line per experiment, the selected one highlighted, the one running marked ▶.
pub(super) fn render_list(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let mut block = panel(" Experiments ", focused(state, Focus::Experiments), theme);
    let inner = block.inner(area);
    let visible = usize::from(inner.height).max(1);
    // The view follows the selection; a marker in the border says where it is.
    let first = state.experiment.saturating_sub(visible - 1).min(EXPERIMENTS.len().saturating_sub(visible));
    if EXPERIMENTS.len() > visible {
        block = block.title_bottom(
            Line::styled(format!(" {}/{} ", state.experiment + 1, EXPERIMENTS.len()), theme.dim())
                .alignment(Alignment::Right),
        );
    }
    frame.render_widget(block, area);
    let running = state.course.as_ref().map(|course| course.experiment.name);
    let lines: Vec<Line> = EXPERIMENTS
        .iter()
        .enumerate()
        .skip(first)
        .take(visible)
        .map(|(index, experiment)| {
            let verdict = state.verdicts.get(index).and_then(Option::as_ref);
            let mark = if running == Some(experiment.name) { "▶" } else { mark(verdict) };
            let style = if index == state.experiment { theme.selected() } else { theme.value() };
            let mark_style = match verdict.map(|verdict| verdict.outcome) {
                Some(Outcome::Holds) => theme.good(),
                Some(Outcome::DoesNotHold) => theme.warning(),
                _ => theme.dim(),
            };
            Line::from(vec![Span::styled(mark, mark_style), Span::raw(" "), Span::styled(experiment.name, style)])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The selected experiment in words: its verdict when it has one, the claim, what to watch,
/// its runs; the title says how far its course has come while it runs.
pub(super) fn render_claim(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let experiment = state.selected_experiment();
    let mut block = panel(format!(" {} ", experiment.title), false, theme);
    if let Some(course) = state.course.as_ref().filter(|course| course.experiment.name == experiment.name) {
        let (done, total) = course.progress();
        block = block
            .title(Line::styled(format!(" run {} of {total} ", done + 1), theme.value()).alignment(Alignment::Right));
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut paragraphs = Vec::new();
    if let Some(verdict) = state.verdicts.get(state.experiment).and_then(Option::as_ref) {
        let style = if verdict.outcome == Outcome::Holds { theme.good() } else { theme.warning() };
        paragraphs.push((format!("{} {} · {}", mark(Some(verdict)), verdict.outcome.text(), verdict.figure), style));
    }
    paragraphs.push((experiment.claim.to_owned(), theme.value()));
    paragraphs.push((format!("Watch: {}", experiment.watch), theme.dim()));
    paragraphs.push((format!("Runs: {}", experiment.runs_text()), theme.dim()));
    let lines: Vec<Line> = fitted(&paragraphs, usize::from(inner.width), usize::from(inner.height))
        .into_iter()
        .map(|(text, style)| Line::styled(text, style))
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// `paragraphs` wrapped between words to `width`, cut to `height` lines; a cut is marked with
/// `…` at the end of the last line shown.
fn fitted(paragraphs: &[(String, Style)], width: usize, height: usize) -> Vec<(String, Style)> {
    let mut lines: Vec<(String, Style)> = paragraphs
        .iter()
        .flat_map(|(text, style)| super::chart::wrap_words(text, width).into_iter().map(move |line| (line, *style)))
        .collect();
    if lines.len() > height {
        lines.truncate(height);
        if let Some((last, _)) = lines.last_mut() {
            // Whole words only: the last ones give way to the mark.
            while last.chars().count() + 2 > width && !last.is_empty() {
                match last.rfind(' ') {
                    Some(at) => last.truncate(at),
                    None => *last = last.chars().take(width.saturating_sub(2)).collect(),
                }
            }
            last.push_str(" …");
        }
    }
    lines
}
