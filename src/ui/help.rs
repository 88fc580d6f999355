//! The help overlay: every key, from the same table as the key handling, and in its corner
//! the dashboard's own responsiveness (key-to-screen and frame time, p50/p99).

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

use super::theme::Theme;
use crate::app::keys::BINDINGS;
use crate::app::state::{Priority, State};
use crate::telemetry::responsiveness::{Percentiles, Responsiveness};

pub(super) fn render(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let height = (BINDINGS.len() as u16 + 2).min(area.height);
    let width = 76.min(area.width);
    let [vertical] = Layout::vertical([Constraint::Length(height)]).flex(Flex::Center).areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(width)]).flex(Flex::Center).areas(vertical);
    frame.render_widget(Clear, popup);
    let block = Block::bordered()
        .title(Line::styled(" Keys ", theme.title()))
        .title(responsiveness(state.responsiveness, theme).right_aligned())
        .title_bottom(Line::styled(" Esc or ? closes · Tab: what the columns mean ", theme.dim()))
        .title_bottom(
            Line::styled(workers_placement(state.settings.priority, state.workers_in_cgroup), theme.dim())
                .right_aligned(),
        )
        .border_style(theme.border(true));
    let lines: Vec<Line> = BINDINGS
        .iter()
        .map(|binding| {
            Line::from(vec![Span::styled(format!(" {:<7} ", binding.keys), theme.key()), Span::raw(binding.help)])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}

/// ` key→screen p50 4 ms p99 12 ms · frame p50 2 ms p99 6 ms `, or what is not measured yet.
fn responsiveness(figures: Responsiveness, theme: Theme) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    for (name, figures) in [("key→screen", figures.key_to_screen), ("frame", figures.frame)] {
        if spans.len() > 1 {
            spans.push(Span::styled(" · ", theme.dim()));
        }
        spans.push(Span::styled(format!("{name} "), theme.dim()));
        match figures {
            Some(Percentiles { p50, p99, .. }) => {
                spans.push(Span::styled("p50 ", theme.dim()));
                spans.push(Span::styled(milliseconds(p50), theme.value()));
                spans.push(Span::styled(" p99 ", theme.dim()));
                spans.push(Span::styled(milliseconds(p99), theme.value()));
            }
            None => spans.push(Span::styled("not measured yet", theme.dim())),
        }
    }
    spans.push(Span::raw(" "));
    Line::from(spans)
}

/// How the next run's workers are kept from the dashboard's loop (see `dashboard/priority.rs`).
fn workers_placement(priority: Priority, in_cgroup: bool) -> &'static str {
    match (priority, in_cgroup) {
        (Priority::Idle, true) => " workers: idle, own cgroup ",
        (Priority::Idle, false) => " workers: idle priority ",
        (Priority::Normal, _) => " workers: normal priority ",
    }
}

/// `0.4 ms`, `12 ms`: a tenth of a millisecond where it matters.
fn milliseconds(duration: std::time::Duration) -> String {
    let ms = duration.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}
