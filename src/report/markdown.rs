//! Markdown: a GitHub-flavoured table for any [`Sheet`], its cells escaped so that a `|` in a
//! value cannot break a row.

use super::sheet::{Align, Sheet};

#[must_use]
pub(crate) fn to_markdown(sheet: &Sheet) -> String {
    let escape = |cell: &str| cell.replace('|', "\\|").replace('\n', " ");
    let line = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
    let mut out = line(sheet.columns.iter().map(|column| escape(&column.name)).collect());
    out.push_str(&line(
        sheet
            .columns
            .iter()
            .map(|column| match column.align {
                Align::Left => ":--".to_owned(),
                Align::Right => "--:".to_owned(),
            })
            .collect(),
    ));
    for row in &sheet.rows {
        out.push_str(&line(row.iter().map(|cell| escape(cell)).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_with_alignment_and_escaped_cells() {
        let mut sheet = Sheet::new(&[("model", Align::Left), ("mean", Align::Right)]);
        sheet.push(vec!["a|b".into(), "1.5 s".into()]);
        assert_eq!(to_markdown(&sheet), "| model | mean |\n| :-- | --: |\n| a\\|b | 1.5 s |\n");
    }
}
