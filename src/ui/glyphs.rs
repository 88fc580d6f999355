//! Glyphs where there is no colour, or beside it: a bar of eighth blocks, a core's bar split
//! between the run and other programs, stacked whole cells, a shade per activity and a
//! sparkline. Pure functions of fractions; every colour is `theme.rs`'s.

use crate::board::Activity;

/// A bar of `width` cells filled to `fraction` with eighth blocks.
#[must_use]
pub(crate) fn bar(fraction: f64, width: usize) -> String {
    const EIGHTHS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let eighths = (fraction.clamp(0.0, 1.0) * (width * 8) as f64).round() as usize;
    let mut out = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) && out.chars().count() < width {
        out.push(EIGHTHS[eighths % 8]);
    }
    let filled = out.chars().count();
    out.push_str(&"·".repeat(width.saturating_sub(filled)));
    out
}

/// The glyphs of a core's bar: the run's part, other programs' part, and what is free.
pub(crate) const RUN_GLYPH: char = '█';
pub(crate) const OTHERS_GLYPH: char = '▒';
const FREE_GLYPH: char = '·';

/// A core's bar of `width` whole cells: the run's part (`run`, a fraction of the core) first,
/// then other programs' (`others`), then what is free; each part as its own string.
#[must_use]
pub(crate) fn split_bar(run: f64, others: f64, width: usize) -> [String; 3] {
    let cells = stacked_cells(&[run, others], width);
    let used = cells.iter().sum::<usize>();
    [
        RUN_GLYPH.to_string().repeat(cells[0]),
        OTHERS_GLYPH.to_string().repeat(cells[1]),
        FREE_GLYPH.to_string().repeat(width - used),
    ]
}

/// Whole cells for fractions stacked one after the other in a bar of `width`: each boundary is
/// the running total rounded, so the parts never exceed the width and a whole adds up to it.
#[must_use]
pub(crate) fn stacked_cells(fractions: &[f64], width: usize) -> Vec<usize> {
    let mut total = 0.0;
    let mut boundary = 0;
    fractions
        .iter()
        .map(|fraction| {
            total += fraction.max(0.0);
            let next = ((total.min(1.0) * width as f64).round() as usize).clamp(boundary, width);
            let cells = next - boundary;
            boundary = next;
            cells
        })
        .collect()
}

/// What stands for an activity where there is no colour: a shade each.
#[must_use]
pub(crate) fn activity_glyph(activity: Activity) -> char {
    match activity {
        Activity::Running => '█',
        Activity::LockWait => '░',
        Activity::WaitingForCpu => '▞',
        // Low: the thread is down, off its CPU.
        Activity::OffCpu => '▁',
        Activity::Blocked => '▒',
        Activity::Idle => '·',
        Activity::Paused => '‖',
        Activity::Draining => '▓',
        Activity::End => ' ',
    }
}

/// A sparkline of percentages, one cell per sample.
#[must_use]
pub(crate) fn sparkline(samples: impl Iterator<Item = u8>) -> String {
    const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    samples.map(|percent| LEVELS[(usize::from(percent.min(100)) * 7 + 50) / 100]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_fill_exactly_their_width() {
        for fraction in [0.0, 0.03, 0.5, 0.99, 1.0] {
            assert_eq!(bar(fraction, 10).chars().count(), 10, "{fraction}");
        }
        assert_eq!(bar(1.0, 4), "████");
        assert_eq!(bar(0.0, 3), "···");
    }

    #[test]
    fn stacked_cells_add_up_to_the_width_for_a_whole() {
        assert_eq!(stacked_cells(&[0.55, 0.3, 0.05, 0.1], 10), vec![6, 3, 0, 1]);
        assert_eq!(stacked_cells(&[0.25, 0.25, 0.25, 0.25], 6).iter().sum::<usize>(), 6);
        assert_eq!(stacked_cells(&[0.9, 0.9], 4), vec![4, 0], "never wider than the bar");
    }

    #[test]
    fn split_bars_put_the_run_first_and_fill_exactly_their_width() {
        assert_eq!(split_bar(0.5, 0.25, 8), ["████", "▒▒", "··"]);
        assert_eq!(split_bar(0.0, 1.0, 4), ["", "▒▒▒▒", ""]);
        assert_eq!(split_bar(1.0, 0.5, 4), ["████", "", ""], "never wider than the bar");
        for (run, others) in [(0.0, 0.0), (0.33, 0.33), (0.04, 0.04), (0.99, 0.0), (-1.0, 2.0)] {
            let width: usize = split_bar(run, others, 10).iter().map(|part| part.chars().count()).sum();
            assert_eq!(width, 10, "{run} {others}");
        }
    }

    #[test]
    fn sparkline_spans_the_levels() {
        assert_eq!(sparkline([0, 50, 100].into_iter()), "▁▅█");
    }
}
