//! `models/METRICS.md`: what `livecue train` measured, written the same way every run (no
//! times, no paths outside the corpus), so a retrain's diff shows only what changed.

use std::fmt::Write;

use super::corpus::{Corpus, Split};
use super::eval::{Counts, Metrics};
use super::learn::Params;
use crate::analyze::Intent;
use crate::analyze::model::{INTENTS, Model, QUESTION};

pub struct Inputs<'a> {
    pub corpus: &'a Corpus,
    pub corrections: usize,
    pub params: Params,
    pub model: &'a Model,
    pub model_bytes: usize,
    /// Rules alone, then combined.
    pub dev: &'a (Metrics, Metrics),
    pub test: &'a (Metrics, Metrics),
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

fn prf(c: &Counts) -> String {
    format!("{:.2} / {:.2} / {:.2}", c.precision(), c.recall(), c.f1())
}

pub fn markdown(i: &Inputs<'_>) -> String {
    let mut s = String::new();
    let c = i.corpus;
    let read: usize = c.files.iter().map(|(_, n)| n).sum();
    let count = |split: Split| c.rows.iter().filter(|(_, _, s)| *s == split).count();
    let _ = writeln!(
        s,
        "# Model metrics\n\nWritten by `livecue train` (`cargo run --release -- train`); do not \
         edit by hand. Corpus: `corpus/raw/*.tsv`, {read} rows read ({}), {} exact duplicate \
         texts dropped (the first kept), {} rows kept. Near-duplicates (a skeleton an earlier \
         row already had: digits, product numbers, emoji, emote codes and punctuation removed): \
         {} rows, **{}** of the rows kept. Split by a fixed hash of the skeleton: {} train, {} \
         dev, {} test rows{}.\n",
        c.files
            .iter()
            .map(|(f, n)| format!("{f} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        c.exact_duplicates,
        c.rows.len(),
        c.near_duplicates,
        pct(c.near_duplicates as f64 / c.rows.len().max(1) as f64),
        count(Split::Train),
        count(Split::Dev),
        count(Split::Test),
        if i.corrections > 0 {
            format!(", plus {} operator corrections in training", i.corrections)
        } else {
            String::new()
        },
    );
    let (dr, dc) = i.dev;
    let (tr, tc) = i.test;
    let _ = writeln!(
        s,
        "## Headline\n\nRules: `Analyzer::analyze` without a model. Combined: with this model \
         (models/README.md).\n\n| metric | dev rules | dev combined | test rules | test combined |\n\
         |---|---|---|---|---|"
    );
    type Row = (&'static str, fn(&Metrics) -> String);
    let rows: [Row; 7] = [
        ("intent macro-F1 (17 labels)", |m| {
            format!("{:.3}", m.macro_f1())
        }),
        ("exact intent set", |m| pct(m.exact_share())),
        ("question accuracy", |m| pct(m.question_accuracy())),
        ("question recall", |m| pct(m.question.recall())),
        ("sentiment accuracy (3 classes)", |m| {
            pct(m.sentiment_accuracy())
        }),
        ("product accuracy", |m| pct(m.product_accuracy())),
        ("commerce intents on entertainment chatter", |m| {
            format!(
                "{} ({} of {})",
                pct(m.chatter_commerce_rate()),
                m.chatter_commerce,
                m.chatter_rows
            )
        }),
    ];
    for (name, f) in rows {
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | {} |",
            f(dr),
            f(dc),
            f(tr),
            f(tc)
        );
    }
    let _ = writeln!(
        s,
        "\n## Per intent\n\nPrecision / recall / F1.\n\n| intent | test support | test rules | \
         test combined | dev support | dev rules | dev combined |\n|---|---|---|---|---|---|---|"
    );
    for intent in Intent::ALL {
        let k = intent as usize;
        let _ = writeln!(
            s,
            "| {intent} | {} | {} | {} | {} | {} | {} |",
            tc.intents[k].support(),
            prf(&tr.intents[k]),
            prf(&tc.intents[k]),
            dc.intents[k].support(),
            prf(&dr.intents[k]),
            prf(&dc.intents[k]),
        );
    }
    let _ = writeln!(
        s,
        "| question | {} | {} | {} | {} | {} | {} |",
        tc.question.support(),
        prf(&tr.question),
        prf(&tc.question),
        dc.question.support(),
        prf(&dr.question),
        prf(&dc.question)
    );
    for (name, m) in [("rules", tr), ("combined", tc)] {
        let _ = writeln!(
            s,
            "\nTest sentiment, {name} (rows: labelled, columns: predicted):\n\n| | positive | \
             neutral | negative |\n|---|---|---|---|"
        );
        for (label, row) in ["positive", "neutral", "negative"]
            .iter()
            .zip(m.sentiment_confusion)
        {
            let _ = writeln!(s, "| {label} | {} | {} | {} |", row[0], row[1], row[2]);
        }
    }
    let mut worst: Vec<Intent> = Intent::ALL.to_vec();
    worst.sort_by(|a, b| {
        tc.intents[*a as usize]
            .f1()
            .total_cmp(&tc.intents[*b as usize].f1())
    });
    let _ = writeln!(
        s,
        "\n## Worst labels on test (combined)\n\nWhat the combined analysis said instead on the \
         rows where the label was missed, and the precision lost to false positives.\n\n| \
         intent | F1 | missed | said instead (top 3) | false positives |\n|---|---|---|---|---|"
    );
    for intent in worst.iter().take(4) {
        let k = *intent as usize;
        let mut instead: Vec<(u32, Intent)> = Intent::ALL
            .iter()
            .map(|o| (tc.missed_as[k][*o as usize], *o))
            .filter(|(n, _)| *n > 0)
            .collect();
        instead.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let said: Vec<String> = instead
            .iter()
            .take(3)
            .map(|(n, o)| format!("{o} {n}"))
            .collect();
        let _ = writeln!(
            s,
            "| {intent} | {:.2} | {} | {} | {} |",
            tc.intents[k].f1(),
            tc.intents[k].fn_,
            said.join(", "),
            tc.intents[k].fp
        );
    }
    let t = i.model.thresholds();
    let _ = writeln!(
        s,
        "\n## Decision (chosen on dev)\n\nAn intent is on when its probability reaches the \
         threshold; a guard intent is also on when the rules found it. Question threshold: \
         {:.3}.\n\n| intent | threshold | guard |\n|---|---|---|",
        t[QUESTION]
    );
    for intent in Intent::ALL {
        let _ = writeln!(
            s,
            "| {intent} | {:.3} | {} |",
            t[intent as usize],
            if i.model.guards().contains(intent) {
                "yes"
            } else {
                ""
            }
        );
    }
    let p = i.params;
    let _ = writeln!(
        s,
        "\n## Training\n\n2^{} buckets, {} epochs, AdaGrad learning rate {}, L2 {}, seed {}. \
         Model file: {} bytes ({} outputs).",
        p.bits,
        p.epochs,
        p.learning_rate,
        p.l2,
        p.seed,
        i.model_bytes,
        INTENTS + 4
    );
    s
}
