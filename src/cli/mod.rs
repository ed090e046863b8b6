//! The `livecue` command line: argument definitions and what each subcommand does.
//!
//! `main.rs` parses a [`Cli`] and hands it to [`run`]; everything else lives here so it can be
//! tested and so the binary stays thin. Errors carry context (`anyhow`) and end the process
//! with a non-zero status and one readable line on stderr.

mod analyze;
mod explain;
mod forget;
mod ingest_client;
mod replay;
mod report;
mod serve;
mod simulate;
mod table;
mod train;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

pub use analyze::AnalyzeArgs;

/// LiveCue: a real-time assistant for Chinese live-commerce streams (直播带货).
#[derive(Debug, Parser)]
#[command(name = "livecue", version, about, long_about = None)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyze comments, one per line (plain text, or a JSON ingest event), from FILE or stdin.
    Analyze(AnalyzeArgs),
    /// Run the server: ingest endpoints, room streams, overlay and console pages.
    Serve(serve::ServeArgs),
    /// Replay a recorded stream (JSONL ingest events) into a running server.
    Replay(replay::ReplayArgs),
    /// Load generator: send realistic comments to a running server and measure ack latency.
    Simulate(simulate::SimulateArgs),
    /// The review (复盘) of a room's session from the store: HTML, JSON or CSV.
    Report(report::ReportArgs),
    /// Delete what the store keeps of one viewer (profile, comments, events) in a room.
    Forget(forget::ForgetArgs),
    /// Train the analysis model on the labelled corpus; write the model and its metrics.
    Train(train::TrainArgs),
}

/// Output formats of `analyze`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// One JSON object per input line (the contract in PROTOCOL.md).
    #[default]
    Jsonl,
    /// An aligned table for people.
    Table,
}

/// Where lexicons come from: the embedded set, or a directory of edited copies.
#[derive(Debug, Clone, clap::Args, Default)]
pub struct LexiconArgs {
    /// Directory with lexicon files to use instead of the embedded ones (same file names as
    /// `lexicons/`; missing files fall back to the embedded copy).
    #[arg(long, value_name = "DIR")]
    pub lexicons: Option<PathBuf>,
}

impl LexiconArgs {
    pub fn load(&self) -> anyhow::Result<crate::analyze::lexicon::Lexicons> {
        use anyhow::Context;
        match &self.lexicons {
            Some(dir) => crate::analyze::lexicon::Lexicons::from_dir(dir)
                .with_context(|| format!("loading lexicons from {}", dir.display())),
            None => Ok(crate::analyze::lexicon::Lexicons::embedded()),
        }
    }
}

/// Which learned model the analysis decides with.
#[derive(Debug, Clone, clap::Args, Default)]
pub struct ModelArgs {
    /// Model file to use instead of the embedded one (`livecue train --out FILE`).
    #[arg(long, value_name = "FILE", conflicts_with = "rules_only")]
    pub model: Option<PathBuf>,
    /// Decide by the rules alone, without the learned model.
    #[arg(long)]
    pub rules_only: bool,
}

impl ModelArgs {
    pub fn choice(&self) -> anyhow::Result<crate::analyze::model::ModelChoice> {
        use crate::analyze::model::{Model, ModelChoice};
        use anyhow::Context;
        Ok(match (&self.model, self.rules_only) {
            (_, true) => ModelChoice::RulesOnly,
            (Some(path), false) => ModelChoice::Given(
                Model::from_file(path).with_context(|| format!("loading {}", path.display()))?,
            ),
            (None, false) => ModelChoice::Embedded,
        })
    }
}

/// Sets up logging on stderr: quiet by default (warnings), `-v` info, `-vv` debug.
pub fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Analyze(args) => analyze::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Replay(args) => replay::run(&args),
        Command::Simulate(args) => simulate::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Forget(args) => forget::run(&args),
        Command::Train(args) => train::run(&args),
    }
}
