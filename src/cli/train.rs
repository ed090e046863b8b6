//! `livecue train`: trains the analysis model on the labelled corpus and writes the model file
//! and its metrics (the logic is in [`crate::train`]).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;

use crate::train::{self, learn::Params};

#[derive(Debug, Clone, clap::Args)]
pub struct TrainArgs {
    /// The corpus directory (`raw/*.tsv`, `catalogs/*.toml`).
    #[arg(long, value_name = "DIR", default_value = "corpus")]
    pub corpus: PathBuf,
    /// Where the model goes (embedded in the next build from models/analysis.bin).
    #[arg(long, value_name = "FILE", default_value = "models/analysis.bin")]
    pub out: PathBuf,
    /// Seed of the example order (the split does not depend on it).
    #[arg(long, value_name = "N", default_value_t = Params::default().seed)]
    pub seed: u64,
    /// Operators' corrections in the corpus row format, trained on with extra weight.
    #[arg(long, value_name = "FILE")]
    pub corrections: Option<PathBuf>,
    /// Where the metrics go.
    #[arg(long, value_name = "FILE", default_value = "models/METRICS.md")]
    pub report: PathBuf,
    /// Training epochs.
    #[arg(long, value_name = "N", default_value_t = Params::default().epochs)]
    pub epochs: usize,
    /// Hashed feature buckets, as a power of two.
    #[arg(long, value_name = "N", default_value_t = Params::default().bits, value_parser = clap::value_parser!(u32).range(12..=20))]
    pub bits: u32,
    /// AdaGrad learning rate.
    #[arg(long, value_name = "RATE", default_value_t = Params::default().learning_rate)]
    pub learning_rate: f32,
    /// L2 regularization per update.
    #[arg(long, value_name = "L2", default_value_t = Params::default().l2)]
    pub l2: f32,
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

pub fn run(args: &TrainArgs) -> anyhow::Result<ExitCode> {
    let start = Instant::now();
    let options = train::Options {
        corpus: args.corpus.clone(),
        corrections: args.corrections.clone(),
        params: Params {
            seed: args.seed,
            epochs: args.epochs,
            bits: args.bits,
            learning_rate: args.learning_rate,
            l2: args.l2,
        },
    };
    let outcome = train::run(&options, |line| {
        eprintln!("[{:6.1}s] {line}", start.elapsed().as_secs_f64());
    })
    .context("training")?;
    write(&args.out, &outcome.bytes)?;
    write(&args.report, outcome.report.as_bytes())?;
    let (dr, dc) = &outcome.dev;
    eprintln!(
        "dev: macro-F1 {:.3} (rules {:.3}), sentiment {:.1}% (rules {:.1}%), question {:.1}% (rules {:.1}%)",
        dc.macro_f1(),
        dr.macro_f1(),
        100.0 * dc.sentiment_accuracy(),
        100.0 * dr.sentiment_accuracy(),
        100.0 * dc.question_accuracy(),
        100.0 * dr.question_accuracy(),
    );
    let (tr, tc) = &outcome.test;
    eprintln!(
        "[{:6.1}s] wrote {} ({} bytes) and {}; test macro-F1 {:.3} (rules {:.3}), sentiment {:.1}% \
         (rules {:.1}%), question {:.1}% (rules {:.1}%)",
        start.elapsed().as_secs_f64(),
        args.out.display(),
        outcome.bytes.len(),
        args.report.display(),
        tc.macro_f1(),
        tr.macro_f1(),
        100.0 * tc.sentiment_accuracy(),
        100.0 * tr.sentiment_accuracy(),
        100.0 * tc.question_accuracy(),
        100.0 * tr.question_accuracy(),
    );
    Ok(ExitCode::SUCCESS)
}
