//! The post-stream review (复盘): one session of a room, read from the store, as one
//! self-contained HTML page (inline CSS and SVG charts, no script, no network), as JSON (the
//! same data, schema [`model::SCHEMA`]), or as CSV tables (UTF-8 with a BOM so spreadsheet
//! tools read Chinese correctly).
//!
//! [`model::build`] turns the stored session into a [`Review`]; [`html`] and [`csv`] draw
//! it. The comment table streams straight from the database (it can be a million rows); the
//! others come from the review. Used by `livecue report` and `GET /api/rooms/R/report`.

pub mod audience;
pub mod csv;
pub mod html;
pub mod model;

use std::io::Write;

use thiserror::Error;

use crate::store::{Reader, Store, StoreError};

pub use model::{Review, build};

/// China Standard Time: the default for local times in the HTML and CSV.
pub const DEFAULT_TZ_OFFSET_MIN: i32 = 8 * 60;

/// Why a report could not be made.
#[derive(Debug, Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{}", match session {
        Some(s) => format!("room {room:?} has no session {s:?}"),
        None => format!("room {room:?} has no sessions in the store"),
    })]
    NoSession {
        room: String,
        session: Option<String>,
    },
    #[error("{0}")]
    BadFormat(String),
    #[error("writing the report: {0}")]
    Io(#[from] std::io::Error),
}

/// The CSV tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Table {
    /// One row per comment (streamed from the database).
    #[default]
    Comments,
    /// One row per minute of the session.
    Minutes,
    /// One row per cue, with the two minutes before and after.
    Cues,
    /// One row per product.
    Products,
    /// One row per question cluster.
    Questions,
    /// One row per stretch where a platform source may have lost messages.
    Gaps,
}

impl Table {
    pub fn as_str(self) -> &'static str {
        match self {
            Table::Comments => "comments",
            Table::Minutes => "minutes",
            Table::Cues => "cues",
            Table::Products => "products",
            Table::Questions => "questions",
            Table::Gaps => "gaps",
        }
    }

    pub fn parse(name: &str) -> Option<Table> {
        [
            Table::Comments,
            Table::Minutes,
            Table::Cues,
            Table::Products,
            Table::Questions,
            Table::Gaps,
        ]
        .into_iter()
        .find(|t| t.as_str() == name)
    }
}

/// What to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Json,
    Csv(Table),
}

impl Format {
    /// From the query of `GET /api/rooms/R/report?format=html|json|csv[&table=...]`
    /// (`html` when absent).
    pub fn parse(format: Option<&str>, table: Option<&str>) -> Result<Format, ReportError> {
        let table = match table {
            None => Table::default(),
            Some(t) => Table::parse(t).ok_or_else(|| {
                ReportError::BadFormat(format!(
                    "unknown table {t:?} (comments, minutes, cues, products, questions, gaps)"
                ))
            })?,
        };
        match format.unwrap_or("html") {
            "html" => Ok(Format::Html),
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv(table)),
            other => Err(ReportError::BadFormat(format!(
                "unknown format {other:?} (html, json, csv)"
            ))),
        }
    }

    /// The HTTP `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Html => "text/html; charset=utf-8",
            Format::Json => "application/json",
            Format::Csv(_) => "text/csv; charset=utf-8",
        }
    }

    /// A file name for a download (`Content-Disposition`) or `--out` default.
    pub fn file_name(self, session: &str) -> String {
        match self {
            Format::Html => format!("livecue-{session}.html"),
            Format::Json => format!("livecue-{session}.json"),
            Format::Csv(t) => format!("livecue-{session}-{}.csv", t.as_str()),
        }
    }
}

/// How far a long report has got (comments read of the total).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
}

/// Options of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Minutes east of UTC for the local times shown (default +08:00).
    pub tz_offset_min: i32,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            tz_offset_min: DEFAULT_TZ_OFFSET_MIN,
        }
    }
}

/// The review of a room's session (`session` id, or the room's latest) in `format`.
/// Blocking (reads the database): call it from `spawn_blocking` in the server.
pub fn render(
    store: &Store,
    room: &str,
    session: Option<&str>,
    format: Format,
) -> Result<Vec<u8>, ReportError> {
    let reader = store.reader()?;
    let mut out = Vec::new();
    render_to(
        &reader,
        room,
        session,
        format,
        &Options::default(),
        &mut |_| {},
        &mut out,
    )?;
    Ok(out)
}

/// [`render`] from a [`Reader`] into any writer, with options and a progress callback.
pub fn render_to(
    reader: &Reader,
    room: &str,
    session: Option<&str>,
    format: Format,
    options: &Options,
    progress: &mut dyn FnMut(Progress),
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    if let Format::Csv(Table::Comments) = format {
        // No need to build the review: stream the table.
        let s = reader
            .session(room, session)?
            .ok_or_else(|| ReportError::NoSession {
                room: room.to_owned(),
                session: session.map(str::to_owned),
            })?;
        return csv::comments(reader, &s, options.tz_offset_min, progress, out);
    }
    let review = build(reader, room, session, options.tz_offset_min, progress)?;
    match format {
        Format::Html => out.write_all(html::render(&review).as_bytes())?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &review)
                .map_err(|e| ReportError::Io(std::io::Error::other(e)))?;
            out.write_all(b"\n")?;
        }
        Format::Csv(table) => csv::table(&review, table, out)?,
    }
    Ok(())
}

/// `YYYY-MM-DD HH:MM:SS` local time.
pub fn local_time(ms: i64, offset_min: i32) -> String {
    let (y, mo, d, h, mi, s) = crate::store::civil(ms, offset_min);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
}

/// `HH:MM` local time.
pub fn clock(ms: i64, offset_min: i32) -> String {
    let (_, _, _, h, mi, _) = crate::store::civil(ms, offset_min);
    format!("{h:02}:{mi:02}")
}

/// `+08:00`.
pub fn offset_label(offset_min: i32) -> String {
    let sign = if offset_min < 0 { '-' } else { '+' };
    let m = offset_min.unsigned_abs();
    format!("{sign}{:02}:{:02}", m / 60, m % 60)
}

/// Parses `+08:00`, `-05:30`, `+8`, `0` or `UTC` into minutes east of UTC.
pub fn parse_offset(text: &str) -> Option<i32> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("utc") || t.eq_ignore_ascii_case("z") {
        return Some(0);
    }
    let (sign, rest) = match t.as_bytes().first()? {
        b'+' => (1, &t[1..]),
        b'-' => (-1, &t[1..]),
        _ => (1, t),
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h.parse::<i32>().ok()?, m.parse::<i32>().ok()?),
        None => (rest.parse::<i32>().ok()?, 0),
    };
    ((0..=14).contains(&h) && (0..60).contains(&m)).then_some(sign * (h * 60 + m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_from_queries() {
        assert_eq!(Format::parse(None, None).unwrap(), Format::Html);
        assert_eq!(Format::parse(Some("json"), None).unwrap(), Format::Json);
        assert_eq!(
            Format::parse(Some("csv"), Some("minutes")).unwrap(),
            Format::Csv(Table::Minutes)
        );
        assert_eq!(
            Format::parse(Some("csv"), None).unwrap(),
            Format::Csv(Table::Comments)
        );
        assert!(Format::parse(Some("pdf"), None).is_err());
        assert!(Format::parse(Some("csv"), Some("x")).is_err());
    }

    #[test]
    fn offsets_and_local_times() {
        assert_eq!(parse_offset("+08:00"), Some(480));
        assert_eq!(parse_offset("-05:30"), Some(-330));
        assert_eq!(parse_offset("8"), Some(480));
        assert_eq!(parse_offset("UTC"), Some(0));
        assert_eq!(parse_offset("+25"), None);
        assert_eq!(offset_label(-330), "-05:30");
        assert_eq!(local_time(1_763_900_000_123, 480), "2025-11-23 20:13:20");
        assert_eq!(clock(1_763_900_000_123, 0), "12:13");
    }
}
