//! `livecue analyze`: comments in (one per line), analyses out (one per line).
//!
//! Streaming and bounded: lines are read one at a time into a reused buffer, and a line longer
//! than [`MAX_LINE_BYTES`] is cut there (the analysis looks at far less anyway), so a 1 GB file
//! runs in constant memory. Every input line yields exactly one output line, in order; a line
//! that cannot be analyzed yields `{"line":N,"error":"..."}` and a message on stderr.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use serde::Serialize;

use super::{Format, LexiconArgs};
use crate::analyze::{Analysis, Analyzer, RoomCatalog};
use crate::config::Config;
use crate::ingest::IngestEvent;

/// Longest input line read; the rest of a longer line is skipped.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, clap::Args)]
pub struct AnalyzeArgs {
    /// Input file, or `-` for stdin (the default).
    #[arg(value_name = "FILE|-")]
    pub input: Option<PathBuf>,
    /// Configuration file with the room's catalog (product names and numbers).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Room whose catalog links products (needed when the config has several rooms).
    #[arg(long, value_name = "ROOM", requires = "config")]
    pub room: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,
    #[command(flatten)]
    pub lexicons: LexiconArgs,
    #[command(flatten)]
    pub model: super::ModelArgs,
    /// Per comment: which rules fired, and per label the model's probability and its
    /// strongest features (JSON: one object per line with `rules`, `model`, `analysis`).
    #[arg(long)]
    pub explain: bool,
}

/// One output line of the JSON format.
#[derive(Serialize)]
#[serde(untagged)]
enum Output<'a> {
    Analysis {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a str>,
        #[serde(flatten)]
        analysis: &'a Analysis,
    },
    Error {
        line: u64,
        error: &'a str,
    },
}

pub fn run(args: &AnalyzeArgs) -> anyhow::Result<ExitCode> {
    let catalog = match &args.config {
        Some(path) => load_catalog(path, args.room.as_deref())?,
        None => RoomCatalog::default(),
    };
    let model = args.model.choice()?.load().context("loading the model")?;
    let analyzer = Analyzer::new(args.lexicons.load()?)
        .context("building the analyzer")?
        .with_model(model);
    let input: Box<dyn Read> = match args.input.as_deref() {
        None => Box::new(io::stdin().lock()),
        Some(p) if p == Path::new("-") => Box::new(io::stdin().lock()),
        Some(p) => Box::new(File::open(p).with_context(|| format!("opening {}", p.display()))?),
    };
    let reader = BufReader::with_capacity(64 * 1024, input);
    let stdout = io::stdout().lock();
    let mode = Mode {
        format: args.format,
        explain: args.explain,
    };
    let result = analyze_stream(&analyzer, &catalog, reader, stdout, mode);
    match result {
        Ok(stats) if stats.errors > 0 => {
            eprintln!(
                "livecue: {} of {} lines could not be analyzed",
                stats.errors, stats.lines
            );
            Ok(ExitCode::from(1))
        }
        Ok(_) => Ok(ExitCode::SUCCESS),
        // A closed pipe (`| head`) is the reader saying it has seen enough.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e).context("analyzing"),
    }
}

fn load_catalog(path: &Path, room: Option<&str>) -> anyhow::Result<RoomCatalog> {
    let config = Config::from_file(path)?;
    let room = match room {
        Some(id) => config.room(id).with_context(|| {
            let known: Vec<&str> = config.rooms.iter().map(|r| r.id.as_str()).collect();
            format!(
                "room {id:?} is not in {} (rooms: {})",
                path.display(),
                known.join(", ")
            )
        })?,
        None => match config.rooms.as_slice() {
            [only] => only,
            [] => bail!("{} defines no rooms", path.display()),
            _ => bail!(
                "{} defines several rooms; choose one with --room",
                path.display()
            ),
        },
    };
    RoomCatalog::new(&room.products, &room.words).context("compiling the room's catalog")
}

/// Counts of a run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub lines: u64,
    pub errors: u64,
}

/// How `analyze` writes its output.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mode {
    pub format: Format,
    /// `--explain`: rules, model probabilities and features per comment.
    pub explain: bool,
}

/// Analyzes every line of `reader` onto `out`. Errors in lines are reported in the output;
/// only I/O errors end the run.
pub fn analyze_stream<R: BufRead, W: Write>(
    analyzer: &Analyzer,
    catalog: &RoomCatalog,
    mut reader: R,
    out: W,
    mode: Mode,
) -> io::Result<Stats> {
    let format = mode.format;
    let mut out = BufWriter::new(out);
    let mut line = Vec::with_capacity(1024);
    let mut stats = Stats::default();
    let mut table = super::table::Table::new();
    if format == Format::Table && !mode.explain {
        table.header(&mut out)?;
    }
    loop {
        line.clear();
        let cut = match read_bounded_line(&mut reader, &mut line)? {
            None => break,
            Some(cut) => cut,
        };
        stats.lines += 1;
        let n = stats.lines;
        let result = comment_text(&line);
        match result {
            Ok((id, text)) if mode.explain => {
                super::explain::write(
                    &mut out,
                    format,
                    n,
                    id.as_deref(),
                    analyzer,
                    &text,
                    catalog,
                    cut,
                )?;
            }
            Ok((id, text)) => {
                let analysis = analyzer.analyze(&text, catalog);
                let mut analysis = analysis;
                analysis.truncated |= cut;
                match format {
                    Format::Jsonl => {
                        let output = Output::Analysis {
                            id: id.as_deref(),
                            analysis: &analysis,
                        };
                        serde_json::to_writer(&mut out, &output)?;
                        out.write_all(b"\n")?;
                    }
                    Format::Table => table.row(&mut out, n, &analysis)?,
                }
            }
            Err(message) => {
                stats.errors += 1;
                eprintln!("line {n}: {message}");
                match format {
                    Format::Jsonl => {
                        serde_json::to_writer(
                            &mut out,
                            &Output::Error {
                                line: n,
                                error: &message,
                            },
                        )?;
                        out.write_all(b"\n")?;
                    }
                    Format::Table => table.error(&mut out, n, &message)?,
                }
            }
        }
        // Flush whenever the input has nothing more buffered, so a live pipe
        // (`tail -f comments | livecue analyze`) sees each result at once.
        if reader.fill_buf()?.is_empty() {
            out.flush()?;
        }
    }
    out.flush()?;
    Ok(stats)
}

/// Reads one line (without its `\n`/`\r\n`) into `buf`, keeping at most [`MAX_LINE_BYTES`].
/// Returns `None` at end of input, else whether the line was cut.
fn read_bounded_line<R: BufRead>(reader: &mut R, buf: &mut Vec<u8>) -> io::Result<Option<bool>> {
    let mut cut = false;
    let mut any = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            break;
        }
        any = true;
        let (chunk, done) = match memchr_newline(available) {
            Some(i) => (&available[..i], Some(i + 1)),
            None => (available, None),
        };
        let room = MAX_LINE_BYTES.saturating_sub(buf.len());
        if chunk.len() > room {
            cut = true;
        }
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = done.unwrap_or(available.len());
        reader.consume(used);
        if done.is_some() {
            break;
        }
    }
    if !any {
        return Ok(None);
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(Some(cut))
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|b| *b == b'\n')
}

/// The comment in a line: the line itself, or the `text` of a JSON comment event.
fn comment_text(line: &[u8]) -> Result<(Option<String>, String), String> {
    let text = match std::str::from_utf8(line) {
        Ok(t) => t,
        Err(e) => {
            // A line cut at MAX_LINE_BYTES may end inside a character: keep what is whole.
            if e.error_len().is_none() && line.len() >= MAX_LINE_BYTES - 3 {
                std::str::from_utf8(&line[..e.valid_up_to()]).unwrap_or_default()
            } else {
                return Err(format!("not valid UTF-8 (byte {})", e.valid_up_to()));
            }
        }
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("empty line".into());
    }
    if trimmed.starts_with('{') {
        let value: serde_json::Value =
            serde_json::from_str(trimmed).map_err(|e| format!("bad JSON event: {e}"))?;
        return match IngestEvent::from_value(value) {
            Ok(IngestEvent::Comment(c)) => Ok((c.env.id, c.text)),
            Ok(other) => Err(format!(
                "a {} event has no comment to analyze",
                other.kind()
            )),
            Err(e) => Err(format!("bad event: {e}")),
        };
    }
    Ok((None, trimmed.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_and_counted_once() {
        let mut input = "好".repeat(MAX_LINE_BYTES).into_bytes();
        input.extend_from_slice(b"\nsecond\r\n");
        let mut reader = io::Cursor::new(input);
        let mut buf = Vec::new();
        assert_eq!(
            read_bounded_line(&mut reader, &mut buf).unwrap(),
            Some(true)
        );
        assert!(buf.len() <= MAX_LINE_BYTES);
        buf.clear();
        assert_eq!(
            read_bounded_line(&mut reader, &mut buf).unwrap(),
            Some(false)
        );
        assert_eq!(buf, b"second");
        buf.clear();
        assert_eq!(read_bounded_line(&mut reader, &mut buf).unwrap(), None);
    }

    #[test]
    fn lines_and_events() {
        assert_eq!(
            comment_text("  2号多少钱 ".as_bytes()).unwrap().1,
            "2号多少钱"
        );
        let (id, text) =
            comment_text(r#"{"type":"comment","id":"m1","text":"好看"}"#.as_bytes()).unwrap();
        assert_eq!((id.as_deref(), text.as_str()), (Some("m1"), "好看"));
        assert!(
            comment_text(b"{\"type\":\"like\"}")
                .unwrap_err()
                .contains("like")
        );
        assert!(comment_text(b"\xff\xfe").unwrap_err().contains("UTF-8"));
        assert!(comment_text(b"   ").is_err());
        assert!(comment_text(b"{oops").unwrap_err().contains("JSON"));
    }
}
