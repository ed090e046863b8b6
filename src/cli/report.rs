//! `livecue report`: the review (复盘) of a room's session from the store, as HTML, JSON or a
//! CSV table, to a file (written whole, then renamed into place) or to stdout. A progress line
//! on stderr (when it is a terminal) tells how far a long session's comments have been read.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;

use crate::report::{self, Format, Options, Table};
use crate::store::Reader;

/// Default data directory (as `serve`'s).
pub const DEFAULT_DATA_DIR: &str = "./livecue-data";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ReportFormat {
    /// One self-contained page with charts.
    #[default]
    Html,
    /// Everything the page shows, as data (schema `livecue.review/1`).
    Json,
    /// One table (see --table), UTF-8 with BOM.
    Csv,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// The room.
    #[arg(long)]
    pub room: String,
    /// A session id (`r1-20261123-142055`); the room's latest when left out.
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    #[arg(long, value_enum, default_value_t = ReportFormat::Html)]
    pub format: ReportFormat,
    /// The CSV table.
    #[arg(long, value_enum, default_value_t = Table::Comments)]
    pub table: Table,
    /// Write here instead of stdout.
    #[arg(long, short, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Where `serve` keeps its database.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// Offset from UTC for the local times shown (`+08:00`, `-05:00`, `UTC`).
    #[arg(long, value_name = "OFFSET", default_value = "+08:00", value_parser = parse_tz)]
    pub tz: i32,
    /// List the room's sessions instead of reporting one.
    #[arg(long)]
    pub list: bool,
}

fn parse_tz(text: &str) -> Result<i32, String> {
    report::parse_offset(text).ok_or_else(|| format!("{text:?} is not an offset like +08:00"))
}

pub fn run(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let reader = Reader::open(&args.data_dir)
        .with_context(|| format!("opening the store in {}", args.data_dir.display()))?;
    if args.list {
        let sessions = reader.sessions(&args.room)?;
        if sessions.is_empty() {
            anyhow::bail!("room {:?} has no sessions in the store", args.room);
        }
        let mut out = std::io::stdout().lock();
        for s in sessions {
            let counts = reader.counts(&s)?;
            writeln!(
                out,
                "{}\t{}\t{}\t{} comments\t{}",
                s.id,
                report::local_time(s.started_at, args.tz),
                report::local_time(s.end(), args.tz),
                counts.comments,
                match (s.ended_at, s.clean_end) {
                    (Some(_), true) => "ended",
                    (Some(_), false) => "ended (unclean)",
                    (None, _) => "open",
                }
            )?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let format = match args.format {
        ReportFormat::Html => Format::Html,
        ReportFormat::Json => Format::Json,
        ReportFormat::Csv => Format::Csv(args.table),
    };
    let options = Options {
        tz_offset_min: args.tz,
    };
    let show = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut progress = |p: report::Progress| {
        if show && p.total >= 100_000 {
            eprint!(
                "\rreading comments {}/{} ({:.0}%) {:.1}s ",
                p.done,
                p.total,
                p.done as f64 * 100.0 / p.total.max(1) as f64,
                started.elapsed().as_secs_f64()
            );
        }
    };
    match &args.out {
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            report::render_to(
                &reader,
                &args.room,
                args.session.as_deref(),
                format,
                &options,
                &mut progress,
                &mut out,
            )?;
            out.flush()?;
        }
        Some(path) => {
            let tmp = path.with_extension(format!(
                "{}.tmp",
                path.extension().and_then(|e| e.to_str()).unwrap_or("out")
            ));
            let file = std::fs::File::create(&tmp)
                .with_context(|| format!("creating {}", tmp.display()))?;
            let mut out = std::io::BufWriter::new(file);
            let result = report::render_to(
                &reader,
                &args.room,
                args.session.as_deref(),
                format,
                &options,
                &mut progress,
                &mut out,
            );
            if let Err(e) = result {
                let _ = std::fs::remove_file(&tmp);
                return Err(e.into());
            }
            out.flush()?;
            drop(out);
            std::fs::rename(&tmp, path)
                .with_context(|| format!("moving the report to {}", path.display()))?;
        }
    }
    if show {
        // `\x1b[2K` clears the progress line (stderr is a terminal here).
        eprintln!(
            "\r\x1b[2Klivecue: report ready in {:.1}s{}",
            started.elapsed().as_secs_f64(),
            args.out
                .as_ref()
                .map(|p| format!(": {}", p.display()))
                .unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}
