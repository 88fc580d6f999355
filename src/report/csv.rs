//! CSV, as RFC 4180 says: a header row, CRLF line ends, and a field quoted (its quotes doubled)
//! when it holds a comma, a quote or a line break, so that any spreadsheet loads it.

use super::sheet::Sheet;

#[must_use]
pub(crate) fn to_csv(sheet: &Sheet) -> String {
    let mut out = String::new();
    let names: Vec<String> = sheet.columns.iter().map(|column| column.name.clone()).collect();
    for row in std::iter::once(&names).chain(&sheet.rows) {
        let fields: Vec<String> = row.iter().map(|field| quoted(field)).collect();
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

fn quoted(field: &str) -> String {
    if field.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sheet::Align;

    #[test]
    fn fields_that_need_it_are_quoted() {
        let mut sheet = Sheet::new(&[("name", Align::Left), ("value", Align::Right)]);
        sheet.push(vec!["plain".into(), "1.5".into()]);
        sheet.push(vec!["a, b".into(), "say \"hi\"".into()]);
        sheet.push(vec!["two\nlines".into(), String::new()]);
        assert_eq!(to_csv(&sheet), "name,value\r\nplain,1.5\r\n\"a, b\",\"say \"\"hi\"\"\"\r\n\"two\nlines\",\r\n");
    }
}
