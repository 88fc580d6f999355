//! The footer: the keys that work right now, from the same table as the key handling.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use super::theme::Theme;
use crate::app::keys::footer_hints;
use crate::app::state::State;

/// Hints that always fit: the way out and the way to every other key.
const ALWAYS: [&str; 2] = ["help", "quit"];

pub(super) fn render(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let hints = footer_hints(state);
    let (always, others): (Vec<_>, Vec<_>) = hints.into_iter().partition(|(_, help)| ALWAYS.contains(help));
    let reserved: usize = always.iter().map(|(keys, help)| keys.chars().count() + help.chars().count() + 3).sum();
    let mut spans = Vec::new();
    let mut used = reserved;
    for (keys, help) in others.into_iter().chain(always) {
        let width = keys.chars().count() + help.chars().count() + 3;
        if !ALWAYS.contains(&help) {
            if used + width > usize::from(area.width) {
                continue;
            }
            used += width;
        }
        spans.push(Span::styled(format!(" {keys}"), theme.key()));
        spans.push(Span::raw(format!(" {help} ")));
    }
    frame.render_widget(Line::from(spans), area);
}
