//! How results leave the tool: a table for people, then exactly one JSON line for machines.
//!
//! Every scenario prints its human table to stdout and ends its output with one line
//! `{"scenario":"<name>",...}` — the last line of stdout — so a run can be kept with
//! `jeco-bench … | tail -n1 >> results.jsonl` and compared with `jq`. Progress goes to stderr.

use serde::Serialize;

/// A two-column table of labelled figures, grouped under headings.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<Row>,
}

#[derive(Debug)]
enum Row {
    Heading(String),
    Figure(String, String),
}

impl Table {
    pub fn heading(&mut self, title: impl Into<String>) -> &mut Self {
        self.rows.push(Row::Heading(title.into()));
        self
    }

    pub fn row(&mut self, label: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.rows.push(Row::Figure(label.into(), value.into()));
        self
    }

    pub fn render(&self) -> String {
        let width = self
            .rows
            .iter()
            .filter_map(|r| match r {
                Row::Figure(label, _) => Some(label.chars().count()),
                Row::Heading(_) => None,
            })
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        for row in &self.rows {
            match row {
                Row::Heading(title) => {
                    if !out.is_empty() {
                        out.push('\n');
                    }
                    out.push_str(title);
                    out.push('\n');
                }
                Row::Figure(label, value) => {
                    out.push_str(&format!("  {label:<width$}  {value}\n"));
                }
            }
        }
        out
    }
}

/// Prints the table, then the one JSON line.
pub fn emit<T: Serialize>(table: &Table, result: &T) -> anyhow::Result<()> {
    print!("{}", table.render());
    println!("{}", serde_json::to_string(result)?);
    Ok(())
}

/// `12345.678` → `"12,345.7"`; figures in reports are read by people first.
pub fn thousands(value: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, value.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if value < 0.0 { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(thousands(20000.0, 0), "20,000");
        assert_eq!(thousands(1234.567, 1), "1,234.6");
        assert_eq!(thousands(-999.0, 0), "-999");
        assert_eq!(thousands(12.0, 2), "12.00");
    }

    #[test]
    fn labels_are_aligned() {
        let mut t = Table::default();
        t.heading("h").row("a", "1").row("long label", "2");
        assert_eq!(t.render(), "h\n  a           1\n  long label  2\n");
    }
}
