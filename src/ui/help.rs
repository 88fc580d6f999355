//! The help overlay: every key, from the same table as the key handling.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

use super::theme::Theme;
use crate::app::keys::BINDINGS;

pub(super) fn render(frame: &mut Frame, area: Rect, theme: Theme) {
    let height = (BINDINGS.len() as u16 + 2).min(area.height);
    let width = 76.min(area.width);
    let [vertical] = Layout::vertical([Constraint::Length(height)]).flex(Flex::Center).areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(width)]).flex(Flex::Center).areas(vertical);
    frame.render_widget(Clear, popup);
    let block = Block::bordered()
        .title(Line::styled(" Keys ", theme.title()))
        .title_bottom(Line::styled(" Esc or ? closes · Tab: what the columns mean ", theme.dim()))
        .border_style(theme.border(true));
    let lines: Vec<Line> = BINDINGS
        .iter()
        .map(|binding| {
            Line::from(vec![Span::styled(format!(" {:<8}", binding.keys), theme.key()), Span::raw(binding.help)])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}
