//! How the Cores panel fits any number of CPUs into its rows: one line per CPU while they
//! fit, then columns of compact cells, then a strip of one glyph per CPU (or per group of
//! CPUs) in blocks of eight. Pure maths on sizes, unit-tested; `cores.rs` draws what it picks.

/// How the CPUs are laid out in the panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CoreLayout {
    /// One line per CPU: its bar, total, history and the workers on it.
    Lines,
    /// Cells of label, bar and total, `rows` to a column, CPUs numbered down each column.
    Columns { columns: usize, rows: usize, bar: usize },
    /// One glyph for every `group` CPUs, `per_row` glyphs a row, numbered along each row.
    Strip { per_row: usize, rows: usize, group: usize },
}

/// Fewest bar cells a column cell is still worth drawing with.
const MIN_BAR: usize = 4;
/// Most bar cells a column cell gets.
const MAX_BAR: usize = 10;
/// Between two columns.
pub(super) const COLUMN_GAP: usize = 2;
/// Glyphs in a block of the strip, a space between blocks: eight can be counted at a glance.
pub(super) const BLOCK: usize = 8;

/// Digits of the highest CPU number: the width of a label.
#[must_use]
pub(super) fn label_width(cpus: usize) -> usize {
    cpus.saturating_sub(1).max(1).ilog10() as usize + 1
}

/// A column cell: label, space, bar, space, `100%`.
fn cell_width(cpus: usize, bar: usize) -> usize {
    label_width(cpus) + 1 + bar + 1 + 4
}

/// The richest layout that shows every one of `cpus` CPUs in `width` × `height` cells;
/// `lines` says whether one line per CPU is wanted when it fits.
#[must_use]
pub(super) fn layout(cpus: usize, width: usize, height: usize, lines: bool) -> CoreLayout {
    let height = height.max(1);
    if lines && cpus <= height {
        return CoreLayout::Lines;
    }
    if let Some(columns) = columns(cpus, width, height) {
        return columns;
    }
    strip(cpus, width, height)
}

fn columns(cpus: usize, width: usize, height: usize) -> Option<CoreLayout> {
    let columns = cpus.div_ceil(height).max(1);
    let per_column = (width + COLUMN_GAP).checked_div(columns)?.checked_sub(COLUMN_GAP)?;
    let bar = per_column.checked_sub(cell_width(cpus, 0))?.min(MAX_BAR);
    (bar >= MIN_BAR).then(|| CoreLayout::Columns { columns, rows: cpus.div_ceil(columns), bar })
}

/// Glyphs that fit in a row of `width` after the label, in whole blocks when there is room
/// for one.
#[must_use]
pub(super) fn strip_capacity(cpus: usize, width: usize) -> usize {
    let usable = width.saturating_sub(label_width(cpus) + 1);
    let blocks = (usable + 1) / (BLOCK + 1);
    if blocks == 0 {
        usable.max(1)
    } else {
        blocks * BLOCK
    }
}

fn strip(cpus: usize, width: usize, height: usize) -> CoreLayout {
    let capacity = strip_capacity(cpus, width);
    // The smallest group that fits every CPU in the rows there are, a power of two so that
    // rows start at round CPU numbers.
    let group = cpus.div_ceil(capacity * height).max(1).next_power_of_two();
    let glyphs = cpus.div_ceil(group);
    let per_row = capacity.min(glyphs.max(1));
    CoreLayout::Strip { per_row, rows: glyphs.div_ceil(per_row), group }
}

impl CoreLayout {
    /// Rows the layout fills.
    #[must_use]
    pub(super) fn rows(self, cpus: usize) -> usize {
        match self {
            Self::Lines => cpus,
            Self::Columns { rows, .. } | Self::Strip { rows, .. } => rows,
        }
    }
}

/// The inner rows the panel asks for in a column `width` wide and `height` tall (both
/// panels): a line per CPU while that leaves the workers panel room, else a compact grid in
/// about a quarter of the height.
#[must_use]
pub(super) fn rows_wanted(cpus: usize, width: usize, height: usize) -> usize {
    // The workers panel keeps at least 8 rows (6 inside: its figures, its header, rows).
    let for_lines = height.saturating_sub(2 + 8);
    if cpus <= for_lines.max(2) {
        return cpus.max(1);
    }
    let compact = (height.saturating_sub(2) / 4).max(2);
    layout(cpus, width, compact, false).rows(cpus)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_cpus_get_a_line_each() {
        assert_eq!(layout(2, 50, 2, true), CoreLayout::Lines);
        assert_eq!(rows_wanted(2, 50, 11), 2);
        assert_eq!(rows_wanted(8, 84, 21), 8);
    }

    #[test]
    fn many_cpus_fill_columns_of_readable_cells_then_a_strip() {
        // 16 CPUs in 3 rows of 84 cells: 6 columns of 12 cells, bars of 4.
        assert_eq!(layout(16, 84, 3, false), CoreLayout::Columns { columns: 6, rows: 3, bar: 4 });
        assert_eq!(layout(16, 84, 4, false), CoreLayout::Columns { columns: 4, rows: 4, bar: 10 });
        // 64 CPUs in 4 rows of 50 cells: too many columns; one glyph each.
        assert_eq!(layout(64, 50, 4, false), CoreLayout::Strip { per_row: 40, rows: 2, group: 1 });
        // 256 CPUs in 2 rows of 50 cells: 40 glyphs a row, so 4 CPUs a glyph.
        assert_eq!(layout(256, 50, 2, false), CoreLayout::Strip { per_row: 40, rows: 2, group: 4 });
    }

    #[test]
    fn every_cpu_is_shown_at_any_size() {
        for cpus in [1, 2, 3, 7, 8, 16, 63, 64, 96, 97, 128, 255, 256, 512] {
            for (width, height) in [(1, 1), (8, 1), (20, 2), (50, 2), (50, 5), (84, 6), (200, 40)] {
                let chosen = layout(cpus, width, height, true);
                let shown = match chosen {
                    CoreLayout::Lines => cpus,
                    CoreLayout::Columns { columns, rows, bar } => {
                        assert!(columns * (cell_width(cpus, bar) + COLUMN_GAP) <= width + COLUMN_GAP, "{chosen:?}");
                        columns * rows
                    }
                    CoreLayout::Strip { per_row, rows, group } => {
                        assert!(per_row <= strip_capacity(cpus, width), "{chosen:?}");
                        per_row * rows * group
                    }
                };
                assert!(shown >= cpus, "{cpus} CPUs in {width}×{height}: {chosen:?}");
                assert!(chosen.rows(cpus) <= height || width < 10, "{cpus} CPUs in {width}×{height}: {chosen:?}");
            }
        }
    }

    #[test]
    fn labels_have_the_digits_of_the_last_cpu() {
        assert_eq!((label_width(1), label_width(10), label_width(11), label_width(256)), (1, 1, 2, 3));
    }
}
