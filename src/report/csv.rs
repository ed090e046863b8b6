//! CSV tables of a review: one table per file, UTF-8 with a byte-order mark (so Excel and WPS
//! open Chinese text correctly), RFC 4180 quoting, a header row, `\r\n` line ends.
//!
//! Free-text cells (comments, cue texts, names) that start with `=`, `+`, `-`, `@` or a
//! tab are prefixed with `'` so a spreadsheet never runs a viewer's comment as a formula.
//! Times are given twice: local (`YYYY-MM-DD HH:MM:SS`, offset in the header) and as ms since
//! the epoch.

use std::io::{BufWriter, Write};

use super::model::Review;
use super::{Progress, ReportError, Table, local_time, offset_label};
use crate::analyze::Topic;
use crate::store::{Reader, SessionRow, intent_labels};

const BOM: &[u8] = "\u{feff}".as_bytes();

/// A cell: numbers and fixed labels as they are; text sanitized.
enum Cell<'a> {
    Num(String),
    Text(&'a str),
}

fn num(x: impl ToString) -> Cell<'static> {
    Cell::Num(x.to_string())
}

fn opt<T: ToString>(x: Option<T>) -> Cell<'static> {
    Cell::Num(x.map(|v| v.to_string()).unwrap_or_default())
}

fn write_row(out: &mut dyn Write, cells: &[Cell<'_>]) -> std::io::Result<()> {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        match cell {
            Cell::Num(s) => write_field(out, s, false)?,
            Cell::Text(s) => write_field(out, s, true)?,
        }
    }
    out.write_all(b"\r\n")
}

fn write_field(out: &mut dyn Write, s: &str, text: bool) -> std::io::Result<()> {
    let formula = text && s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = formula || s.contains([',', '"', '\n', '\r']);
    if !quote {
        return out.write_all(s.as_bytes());
    }
    out.write_all(b"\"")?;
    if formula {
        out.write_all(b"'")?;
    }
    out.write_all(s.replace('"', "\"\"").as_bytes())?;
    out.write_all(b"\"")
}

fn header(out: &mut dyn Write, names: &[&str]) -> std::io::Result<()> {
    out.write_all(BOM)?;
    let cells: Vec<Cell<'_>> = names.iter().map(|n| Cell::Num((*n).to_owned())).collect();
    write_row(out, &cells)
}

/// The comment table, streamed from the database: `time` (local), `at_ms` (arrival),
/// `ts_ms` (the source's), `viewer` (pseudonym), `text` (masked; empty when not kept),
/// `product`, `named` (0/1), `intents` (labels separated by spaces), `sentiment`, `label`,
/// `question` (0/1), `key`, `complaint`, `medal` (fan medal name), `medal_level`,
/// `super_chat_cny` (a paid comment's price).
pub fn comments(
    reader: &Reader,
    s: &SessionRow,
    tz: i32,
    progress: &mut dyn FnMut(Progress),
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    let total = reader.counts(s)?.comments;
    let mut out = BufWriter::with_capacity(1 << 16, out);
    let time = format!("time ({})", offset_label(tz));
    header(
        &mut out,
        &[
            &time,
            "at_ms",
            "ts_ms",
            "viewer",
            "text",
            "product",
            "named",
            "intents",
            "sentiment",
            "label",
            "question",
            "key",
            "complaint",
            "medal",
            "medal_level",
            "super_chat_cny",
        ],
    )?;
    let mut failed: Option<std::io::Error> = None;
    let mut done = 0u64;
    let mut intents = String::new();
    reader.for_each_comment(s, |c| {
        if failed.is_some() {
            return;
        }
        intents.clear();
        for (i, l) in intent_labels(c.intents).enumerate() {
            if i > 0 {
                intents.push(' ');
            }
            intents.push_str(l);
        }
        let label = match c.label {
            1 => "positive",
            -1 => "negative",
            _ => "neutral",
        };
        let row = [
            Cell::Num(local_time(c.at, tz)),
            num(c.at),
            num(c.ts),
            Cell::Num(c.viewer.unwrap_or("").to_owned()),
            Cell::Text(c.text.unwrap_or("")),
            Cell::Text(c.product.unwrap_or("")),
            num(u8::from(c.named)),
            Cell::Num(intents.clone()),
            num((c.sentiment * 1000.0).round() / 1000.0),
            Cell::Num(label.to_owned()),
            num(u8::from(c.question)),
            Cell::Text(c.key.unwrap_or("")),
            Cell::Text(c.complaint.unwrap_or("")),
            Cell::Text(c.medal.unwrap_or("")),
            opt(c.medal_level),
            opt(c.super_chat),
        ];
        if let Err(e) = write_row(&mut out, &row) {
            failed = Some(e);
        }
        done += 1;
        if done % 100_000 == 0 {
            progress(Progress { done, total });
        }
    })?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    progress(Progress { done, total });
    out.flush()?;
    Ok(())
}

/// One of the tables drawn from the review (see [`Table`]; columns in the docs).
pub fn table(review: &Review, table: Table, out: &mut dyn Write) -> Result<(), ReportError> {
    let tz = review.tz_offset_min;
    let time = format!("time ({})", offset_label(tz));
    match table {
        Table::Comments => {
            return Err(ReportError::BadFormat(
                "the comment table is streamed from the store (csv::comments)".into(),
            ));
        }
        Table::Minutes => {
            header(
                out,
                &[
                    &time,
                    "at_ms",
                    "comments",
                    "questions",
                    "sentiment",
                    "positive",
                    "negative",
                    "purchase",
                    "complaints",
                    "gifts",
                    "gift_value",
                    "likes",
                    "enters",
                    "follows",
                    "orders",
                    "order_amount",
                ],
            )?;
            for m in &review.timeline {
                write_row(
                    out,
                    &[
                        Cell::Num(local_time(m.at, tz)),
                        num(m.at),
                        num(m.comments),
                        num(m.questions),
                        opt(m.sentiment),
                        num(m.positive),
                        num(m.negative),
                        num(m.purchase),
                        num(m.complaints),
                        num(m.gifts),
                        num(m.gift_value),
                        num(m.likes),
                        num(m.enters),
                        num(m.follows),
                        num(m.orders),
                        num(m.order_amount),
                    ],
                )?;
            }
        }
        Table::Cues => {
            header(
                out,
                &[
                    &time,
                    "at_ms",
                    "id",
                    "kind",
                    "product",
                    "priority",
                    "variant",
                    "text",
                    "reason",
                    "state",
                    "outcome",
                    "response_s",
                    "before_rate_per_min",
                    "after_rate_per_min",
                    "before_sentiment",
                    "after_sentiment",
                    "before_purchase_signals",
                    "after_purchase_signals",
                    "before_orders",
                    "after_orders",
                ],
            )?;
            for c in &review.cues {
                write_row(
                    out,
                    &[
                        Cell::Num(local_time(c.created_at, tz)),
                        num(c.created_at),
                        Cell::Text(&c.id),
                        Cell::Num(c.kind.clone()),
                        Cell::Text(c.product.as_deref().unwrap_or("")),
                        num(c.priority),
                        Cell::Text(c.variant.as_deref().unwrap_or("")),
                        Cell::Text(&c.text),
                        Cell::Text(&c.reason),
                        Cell::Num(c.state.clone()),
                        Cell::Num(c.outcome.to_owned()),
                        opt(c.response_s),
                        num(c.before.rate_per_min),
                        num(c.after.rate_per_min),
                        opt(c.before.sentiment),
                        opt(c.after.sentiment),
                        num(c.before.purchase_signals),
                        num(c.after.purchase_signals),
                        num(c.before.orders),
                        num(c.after.orders),
                    ],
                )?;
            }
        }
        Table::Products => {
            let mut names = vec![
                "id",
                "name",
                "price",
                "pitched_s",
                "mentions",
                "named",
                "questions",
            ];
            let topic_cols: Vec<String> =
                Topic::QUESTIONS.iter().map(|t| format!("q_{t}")).collect();
            names.extend(topic_cols.iter().map(String::as_str));
            names.extend([
                "purchase_signals",
                "complaints",
                "sentiment",
                "negative",
                "orders",
                "order_quantity",
                "order_amount",
            ]);
            header(out, &names)?;
            for p in &review.products {
                let mut row = vec![
                    Cell::Text(&p.id),
                    Cell::Text(&p.name),
                    opt(p.price),
                    num(p.pitched_s),
                    num(p.mentions),
                    num(p.named),
                    num(p.questions_total),
                ];
                row.extend(
                    Topic::QUESTIONS
                        .iter()
                        .map(|t| num(p.questions.get(t.as_str()).copied().unwrap_or(0))),
                );
                row.extend([
                    num(p.purchase_signals),
                    num(p.complaints),
                    opt(p.sentiment),
                    num(p.negative),
                    num(p.orders),
                    num(p.order_quantity),
                    num(p.order_amount),
                ]);
                write_row(out, &row)?;
            }
        }
        Table::Questions => {
            header(
                out,
                &[
                    "key",
                    "topic",
                    "product",
                    "asks",
                    "askers",
                    "first_asked",
                    "first_at_ms",
                    "cue_at_ms",
                    "answered_at_ms",
                    "answer_s",
                    "asks_after_answer",
                    "samples",
                ],
            )?;
            for q in &review.questions {
                let samples = q.samples.join(" | ");
                write_row(
                    out,
                    &[
                        Cell::Text(&q.key),
                        Cell::Num(q.topic.clone()),
                        Cell::Text(q.product.as_deref().unwrap_or("")),
                        num(q.asks),
                        num(q.askers),
                        Cell::Num(local_time(q.first_at, tz)),
                        num(q.first_at),
                        opt(q.cue_at),
                        opt(q.answered_at),
                        opt(q.answer_s),
                        num(q.asks_after_answer),
                        Cell::Text(&samples),
                    ],
                )?;
            }
        }
        Table::Gaps => {
            header(
                out,
                &[
                    "source",
                    "kind",
                    "reason",
                    &time,
                    "from_ms",
                    "to",
                    "to_ms",
                    "duration_s",
                    "missing",
                    "note",
                ],
            )?;
            for g in &review.source_gaps {
                write_row(
                    out,
                    &[
                        Cell::Text(&g.source),
                        Cell::Text(&g.kind),
                        Cell::Num(g.reason.clone()),
                        Cell::Num(local_time(g.from, tz)),
                        num(g.from),
                        Cell::Num(local_time(g.to, tz)),
                        num(g.to),
                        num(g.duration_s),
                        opt(g.missing),
                        Cell::Text(&g.note),
                    ],
                )?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[Cell<'_>]) -> String {
        let mut out = Vec::new();
        write_row(&mut out, cells).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(
            row(&[num(1), Cell::Text("a,b"), Cell::Text("say \"hi\"")]),
            "1,\"a,b\",\"say \"\"hi\"\"\"\r\n"
        );
        assert_eq!(
            row(&[Cell::Text("=HYPERLINK(\"x\")")]),
            "\"'=HYPERLINK(\"\"x\"\")\"\r\n"
        );
        assert_eq!(row(&[num(-0.5), Cell::Text("-1号")]), "-0.5,\"'-1号\"\r\n");
        assert_eq!(row(&[Cell::Text("2号多少钱\n")]), "\"2号多少钱\n\"\r\n");
    }
}
