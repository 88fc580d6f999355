//! The catalog panel: every workload by name, and what the selected one shows.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::chart::wrap_words_within;
use super::theme::Theme;
use super::{focused, panel};
use crate::app::state::{Focus, State};

pub(super) fn render(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let block = panel(" Catalog ", focused(state, Focus::Catalog), theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [names_area, text_area] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    frame.render_widget(names_line(state, usize::from(names_area.width), theme), names_area);
    // Wrapped between words; what the panel has no room for ends in `…`.
    let text = wrap_words_within(state.workload().explanation(), usize::from(text_area.width), text_area.height.into());
    frame.render_widget(Paragraph::new(text.into_iter().map(Line::raw).collect::<Vec<_>>()), text_area);
}

/// The workloads by name, the selected one always among them: names lose their padding
/// before any is left out, and those left out on a narrow terminal are marked `…` on their
/// side.
fn names_line(state: &State, width: usize, theme: Theme) -> Line<'static> {
    let names: Vec<&str> = state.settings.catalog().map(crate::workload::Kind::name).collect();
    let padded: usize = names.iter().map(|name| name.len() + 3).sum();
    let pad = if padded <= width { " " } else { "" };
    let lengths: Vec<usize> = names.iter().map(|name| name.len() + 2 * pad.len()).collect();
    let (first, last) = shown_names(&lengths, state.selected.min(names.len().saturating_sub(1)), width);
    let mut spans = Vec::new();
    if first > 0 {
        spans.push(Span::styled("… ", theme.dim()));
    }
    for (index, name) in names.iter().enumerate().take(last).skip(first) {
        let style = if index == state.selected { theme.selected() } else { theme.value() };
        spans.push(Span::styled(format!("{pad}{name}{pad}"), style));
        spans.push(Span::raw(" "));
    }
    if last < names.len() {
        spans.push(Span::styled("…", theme.dim()));
    }
    Line::from(spans)
}

/// Which names fit `width` columns, each of `lengths` and a space after it: from `first` to
/// `last` (exclusive), `selected` among them, leaving room for `… ` before and `…` after
/// when names are left out on that side.
fn shown_names(lengths: &[usize], selected: usize, width: usize) -> (usize, usize) {
    let fits = |first: usize, last: usize| {
        let names: usize = lengths[first..last].iter().map(|length| length + 1).sum();
        let marks = if first > 0 { 2 } else { 0 } + usize::from(last < lengths.len());
        // The last name's space may fall off the edge.
        names + marks <= width + 1
    };
    let mut first = 0;
    while first < selected && !fits(first, selected + 1) {
        first += 1;
    }
    let mut last = (selected + 1).min(lengths.len());
    while last < lengths.len() && fits(first, last + 1) {
        last += 1;
    }
    (first, last)
}

#[cfg(test)]
mod tests {
    use super::shown_names;

    #[test]
    fn the_selected_name_is_always_shown_and_those_left_out_are_marked() {
        let lengths = [3, 2, 4, 3, 6];
        assert_eq!(shown_names(&lengths, 0, 40), (0, 5), "all fit");
        assert_eq!(shown_names(&lengths, 0, 12), (0, 3), "3 + 2 + 4 with spaces, and `…`");
        assert_eq!(shown_names(&lengths, 4, 12), (3, 5), "`… ` then the last two");
    }
}
