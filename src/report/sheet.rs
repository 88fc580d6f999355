//! A table as data: named columns and rows of text, so that each format (aligned text, CSV,
//! Markdown) is written once, by its own writer, for every table the program has.

/// Which side a column's cells keep to in aligned text and Markdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Right,
}

/// How numbers are written into a sheet's cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// For people: units chosen to fit (`812.3 ms`), `±`, percentages.
    Human,
    /// For spreadsheets and scripts: plain numbers in the unit the column names (`mean_s`).
    Data,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Column {
    pub name: String,
    pub align: Align,
}

/// Columns and rows; every row has one cell per column.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Sheet {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<String>>,
}

impl Sheet {
    /// A sheet with these columns: `(name, align)`.
    #[must_use]
    pub(crate) fn new(columns: &[(&str, Align)]) -> Self {
        Self {
            columns: columns.iter().map(|&(name, align)| Column { name: name.to_owned(), align }).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row, cut or padded to the columns.
    pub(crate) fn push(&mut self, mut row: Vec<String>) {
        row.resize(self.columns.len(), String::new());
        self.rows.push(row);
    }

    /// The width of each column: its widest cell or name, in characters.
    #[must_use]
    pub(crate) fn widths(&self) -> Vec<usize> {
        self.columns
            .iter()
            .enumerate()
            .map(|(index, column)| {
                self.rows
                    .iter()
                    .map(|row| row[index].chars().count())
                    .chain([column.name.chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect()
    }

    /// Aligned text: the header, then one line per row, columns two spaces apart.
    #[must_use]
    pub(crate) fn to_text(&self) -> String {
        let widths = self.widths();
        let names: Vec<String> = self.columns.iter().map(|column| column.name.clone()).collect();
        let mut out = String::new();
        for row in std::iter::once(&names).chain(&self.rows) {
            let cells: Vec<String> = row
                .iter()
                .zip(&self.columns)
                .zip(&widths)
                .map(|((cell, column), &width)| match column.align {
                    Align::Left => format!("{cell:<width$}"),
                    Align::Right => format!("{cell:>width$}"),
                })
                .collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_aligns_each_column_to_its_widest_cell() {
        let mut sheet = Sheet::new(&[("model", Align::Left), ("mean", Align::Right)]);
        sheet.push(vec!["threads".into(), "1.5 s".into()]);
        sheet.push(vec!["sequential".into()]);
        assert_eq!(sheet.to_text(), "model        mean\nthreads     1.5 s\nsequential\n");
        assert_eq!(sheet.widths(), vec![10, 5]);
    }
}
