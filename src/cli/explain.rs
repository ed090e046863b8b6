//! `livecue analyze --explain`: per comment, what the rules found and, per output label, the
//! model's probability and its strongest features; then the combined analysis. JSON (one
//! object per line) or a table for people. The default output of `analyze` is untouched.

use std::io::{self, Write};

use serde::Serialize;

use super::Format;
use crate::analyze::model::explain::LabelExplanation;
use crate::analyze::{Analysis, Analyzer, IntentSet, RoomCatalog, Sentiment};

/// What the rules alone said.
#[derive(Serialize)]
struct Rules {
    intents: IntentSet,
    question: bool,
    sentiment: Sentiment,
    key: Option<String>,
}

impl Rules {
    fn of(a: &Analysis) -> Rules {
        Rules {
            intents: a.intents,
            question: a.question,
            sentiment: a.sentiment,
            key: a.key.as_ref().map(|k| k.to_string()),
        }
    }
}

#[derive(Serialize)]
struct Line<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    rules: Rules,
    /// `null` when the analyzer has no model (`--rules-only`).
    model: Option<&'a [LabelExplanation]>,
    analysis: &'a Analysis,
}

/// Writes the explanation of one comment.
#[allow(clippy::too_many_arguments)]
pub fn write<W: Write>(
    out: &mut W,
    format: Format,
    line: u64,
    id: Option<&str>,
    analyzer: &Analyzer,
    text: &str,
    catalog: &RoomCatalog,
    cut: bool,
) -> io::Result<()> {
    let (mut rules, labels, mut combined) = match analyzer.explain(text, catalog) {
        Some(e) => (e.rules, Some(e.labels), e.combined),
        None => {
            let a = analyzer.analyze_rules(text, catalog);
            (a.clone(), None, a)
        }
    };
    rules.truncated |= cut;
    combined.truncated |= cut;
    match format {
        Format::Jsonl => {
            serde_json::to_writer(
                &mut *out,
                &Line {
                    id,
                    rules: Rules::of(&rules),
                    model: labels.as_deref(),
                    analysis: &combined,
                },
            )?;
            out.write_all(b"\n")
        }
        Format::Table => table(out, line, &rules, labels.as_deref(), &combined),
    }
}

fn summary(a: &Analysis) -> String {
    let intents: Vec<&str> = a.intents.iter().map(|i| i.as_str()).collect();
    format!(
        "{} · question {} · {} {:+.2}{}",
        intents.join(","),
        if a.question { "yes" } else { "no" },
        a.sentiment.label.as_str(),
        a.sentiment.score,
        a.key
            .as_ref()
            .map(|k| format!(" · key {k}"))
            .unwrap_or_default()
    )
}

/// Shown in the table: labels on in either analysis, or with a probability of at least this.
const SHOWN_FROM: f32 = 0.1;

fn table<W: Write>(
    out: &mut W,
    line: u64,
    rules: &Analysis,
    labels: Option<&[LabelExplanation]>,
    combined: &Analysis,
) -> io::Result<()> {
    writeln!(out, "#{line} {}", combined.text)?;
    writeln!(out, "  rules:    {}", summary(rules))?;
    writeln!(out, "  combined: {}", summary(combined))?;
    for l in labels.unwrap_or_default() {
        let on = |a: &Analysis| a.intents.iter().any(|i| i.as_str() == l.label);
        if l.probability < SHOWN_FROM && !on(rules) && !on(combined) {
            continue;
        }
        let features: Vec<String> = l
            .features
            .iter()
            .map(|c| format!("{} {:+.2}", c.feature, c.weight))
            .collect();
        let threshold = l
            .threshold
            .map(|t| format!(" (≥{t:.2}{})", if l.guard { ", guard" } else { "" }))
            .unwrap_or_default();
        writeln!(
            out,
            "  {:<13} p={:.3}{threshold}  {}",
            l.label,
            l.probability,
            features.join(", ")
        )?;
    }
    Ok(())
}
