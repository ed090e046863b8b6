//! `livecue train`: the learned analysis model from the labelled corpus.
//!
//! [`run`] loads the corpus ([`corpus`]: rows and catalogs, exact duplicates dropped, each row's
//! near-duplicate skeleton and the split its hash decides), analyzes every text with the rules
//! against its room kind's catalog, trains on the train split (plus operators' corrections,
//! weighted), chooses the decision thresholds and guard intents on dev ([`eval::choose`]),
//! and measures dev and test, rules alone and combined ([`report`]). The test split is
//! scored once, after every choice is made, and feeds nothing back (models/README.md).

pub mod corpus;
pub mod eval;
pub mod learn;
pub mod report;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::analyze::Analyzer;
use crate::analyze::model::Model;
use corpus::{CorpusError, Row, Split};
use eval::{Metrics, Scored};

/// Weight of an operator's correction against a corpus row.
pub const CORRECTION_WEIGHT: f32 = 3.0;

/// What to train on.
#[derive(Debug, Clone)]
pub struct Options {
    pub corpus: PathBuf,
    pub corrections: Option<PathBuf>,
    pub params: learn::Params,
}

/// What training made: the model file's bytes, METRICS.md, and the figures for a summary.
pub struct Outcome {
    pub model: Model,
    pub bytes: Vec<u8>,
    pub report: String,
    pub dev: (Metrics, Metrics),
    pub test: (Metrics, Metrics),
}

/// Trains and evaluates; `progress` gets one line at a time for stderr.
pub fn run(options: &Options, mut progress: impl FnMut(&str)) -> Result<Outcome, CorpusError> {
    let corpus = corpus::load(&options.corpus)?;
    progress(&format!(
        "corpus: {} rows kept of {} read ({} exact duplicates dropped; {} near-duplicates, {:.1}%)",
        corpus.rows.len(),
        corpus.files.iter().map(|(_, n)| n).sum::<usize>(),
        corpus.exact_duplicates,
        corpus.near_duplicates,
        100.0 * corpus.near_duplicates as f64 / corpus.rows.len().max(1) as f64
    ));
    let corrections = match &options.corrections {
        Some(path) => corpus::read_rows(path, &corpus.catalogs, CORRECTION_WEIGHT)?,
        None => Vec::new(),
    };
    // Evaluation leaves out the dev and test rows an operator corrected (their skeleton), so
    // a correction never inflates a measured figure.
    let corrected: HashSet<String> = corrections
        .iter()
        .map(|r| corpus::skeleton(&r.text))
        .collect();
    let analyzer = Analyzer::rules_only();
    let bits = options.params.bits;
    let mut examples = Vec::new();
    let (mut dev, mut test) = (Vec::new(), Vec::new());
    let rows_of = |split: Split| corpus.rows.iter().filter(move |(_, _, s)| *s == split);
    let analyze = |row: &Row| {
        let (catalog, _) = &corpus.catalogs[&row.kind];
        analyzer.analyze_rules(&row.text, catalog)
    };
    for row in rows_of(Split::Train).map(|(r, _, _)| r).chain(&corrections) {
        let rules = analyze(row);
        examples.push(learn::Example::new(
            &rules,
            bits,
            row.intents,
            row.question,
            row.sentiment,
            row.weight,
        ));
    }
    for (split, out) in [(Split::Dev, &mut dev), (Split::Test, &mut test)] {
        out.extend(
            rows_of(split)
                .filter(|(_, skeleton, _)| !corrected.contains(skeleton))
                .map(|(row, _, _)| (row, analyze(row))),
        );
    }
    progress(&format!(
        "split: {} train (+{} corrections), {} dev, {} test; training {} epochs on 2^{bits} buckets",
        examples.len() - corrections.len(),
        corrections.len(),
        dev.len(),
        test.len(),
        options.params.epochs
    ));
    let weights = learn::train(&examples, options.params, |epoch, loss| {
        progress(&format!("epoch {epoch}: mean loss {loss:.4}"));
    });
    let mut model = learn::quantize(&weights, bits);
    let dev = score(dev, &model);
    let (thresholds, guards) = eval::choose(&dev);
    model.set_decision(thresholds, guards);
    progress("thresholds and guards chosen on dev; scoring test once");
    let test = score(test, &model);
    let measure = |scored: &[Scored<'_>]| {
        let combined = eval::combined(&model, scored);
        (
            Metrics::of(scored.iter().map(|s| (s.row, &s.rules))),
            Metrics::of(scored.iter().map(|s| s.row).zip(&combined)),
        )
    };
    let dev_m = measure(&dev);
    let test_m = measure(&test);
    let bytes = model.to_bytes();
    let report = report::markdown(&report::Inputs {
        corpus: &corpus,
        corrections: corrections.len(),
        params: options.params,
        model: &model,
        model_bytes: bytes.len(),
        dev: &dev_m,
        test: &test_m,
    });
    Ok(Outcome {
        model,
        bytes,
        report,
        dev: dev_m,
        test: test_m,
    })
}

fn score<'a>(rows: Vec<(&'a Row, crate::analyze::Analysis)>, model: &Model) -> Vec<Scored<'a>> {
    rows.into_iter()
        .map(|(row, rules)| Scored {
            probs: model.probs(&rules),
            row,
            rules,
        })
        .collect()
}

/// The metrics of `analyzer` (rules, or combined with its model) on the corpus's test split:
/// what tests/model.rs holds to its floors.
pub fn test_split_metrics(dir: &Path, analyzer: &Analyzer) -> Result<Metrics, CorpusError> {
    let corpus = corpus::load(dir)?;
    let analyses: Vec<(&Row, crate::analyze::Analysis)> = corpus
        .rows
        .iter()
        .filter(|(_, _, s)| *s == Split::Test)
        .map(|(row, _, _)| {
            (
                row,
                analyzer.analyze(&row.text, &corpus.catalogs[&row.kind].0),
            )
        })
        .collect();
    Ok(Metrics::of(analyses.iter().map(|(r, a)| (*r, a))))
}
