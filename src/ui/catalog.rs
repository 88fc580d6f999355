//! The catalog panel: every workload by name, and what the selected one shows.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::theme::Theme;
use super::{focused, panel};
use crate::app::state::{Focus, State};

pub(super) fn render(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let block = panel(" Catalog ", focused(state, Focus::Catalog), theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [names_area, text_area] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    // Names lose their padding before any falls off the right edge of a narrow terminal.
    let padded: usize = state.settings.catalog().map(|kind| kind.name().len() + 3).sum();
    let pad = if padded <= usize::from(names_area.width) { " " } else { "" };
    let mut names = Vec::new();
    for (index, kind) in state.settings.catalog().enumerate() {
        let style = if index == state.selected { theme.selected() } else { theme.value() };
        names.push(Span::styled(format!("{pad}{}{pad}", kind.name()), style));
        names.push(Span::raw(" "));
    }
    frame.render_widget(Line::from(names), names_area);
    let kind = state.workload();
    let text = Line::from(vec![Span::raw(kind.explanation())]);
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), text_area);
}
