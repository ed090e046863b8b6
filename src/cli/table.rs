//! The `table` format of `livecue analyze`: aligned columns for a person reading a terminal.
//! Chinese characters and emoji take two columns, so widths are counted in display cells.

use std::io::{self, Write};

use crate::analyze::Analysis;

const WIDTHS: [usize; 6] = [5, 16, 28, 2, 4, 12];

pub struct Table;

impl Table {
    pub fn new() -> Table {
        Table
    }

    pub fn header<W: Write>(&mut self, out: &mut W) -> io::Result<()> {
        let cells = ["line", "sentiment", "intents", "q", "prod", "key"];
        self.cells(out, &cells.map(String::from), "tokens")
    }

    pub fn row<W: Write>(&mut self, out: &mut W, line: u64, a: &Analysis) -> io::Result<()> {
        let intents: Vec<&str> = a.intents.iter().map(|i| i.as_str()).collect();
        let cells = [
            line.to_string(),
            format!(
                "{:<8} {:+.2}",
                a.sentiment.label.as_str(),
                a.sentiment.score
            ),
            intents.join(","),
            if a.question {
                "?".into()
            } else {
                String::new()
            },
            a.product.as_deref().unwrap_or("-").to_string(),
            a.key.as_ref().map(|k| k.to_string()).unwrap_or_default(),
        ];
        let tokens: Vec<&str> = a.tokens().collect();
        self.cells(out, &cells, &tokens.join(" / "))
    }

    pub fn error<W: Write>(&mut self, out: &mut W, line: u64, message: &str) -> io::Result<()> {
        writeln!(out, "{:<w$}  error: {message}", line, w = WIDTHS[0])
    }

    fn cells<W: Write>(&mut self, out: &mut W, cells: &[String; 6], last: &str) -> io::Result<()> {
        for (cell, width) in cells.iter().zip(WIDTHS) {
            let pad = width.saturating_sub(display_width(cell));
            write!(out, "{cell}{}  ", " ".repeat(pad))?;
        }
        writeln!(out, "{last}")
    }
}

/// Terminal cells a string takes: two for East Asian wide characters and emoji.
pub fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| match c as u32 {
            0x1100..=0x115f
            | 0x2e80..=0xa4cf
            | 0xac00..=0xd7a3
            | 0xf900..=0xfaff
            | 0xfe30..=0xfe4f
            | 0xff00..=0xff60
            | 0xffe0..=0xffe6
            | 0x1f300..=0x1faff
            | 0x20000..=0x3fffd => 2,
            _ => 1,
        })
        .sum()
}
