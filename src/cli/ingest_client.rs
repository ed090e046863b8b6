//! The client side of the ingest WebSocket, shared by `simulate` and `replay`.
//!
//! A [`Connection`] sends text frames of ingest events to `{url}/ws/ingest?room=ROOM`; the server
//! answers every frame, in order, with an `ack` (or an `error`, PROTOCOL.md). Each frame is queued
//! as [`InFlight`] before it is sent, and a reader task matches each answer to the oldest
//! unanswered frame: that gives the ack latency, booked in a fixed-size [`Histogram`], and the
//! counts in [`Counters`], which a [`Progress`] line shows once a second. At the end the counts
//! become an [`AckCounts`], the part every command summary shares, and [`run`] prints the summary
//! and maps it to the exit status.
//!
//! Bounded everywhere: at most [`MAX_IN_FLIGHT`] unanswered frames per connection (the caller
//! decides whether to skip or to wait when that is reached), every send and the handshake have a
//! deadline, outstanding answers are awaited at most [`ACK_WAIT`] once sending is over, and only
//! [`SAMPLES`] rejection and error messages are kept.
//!
//! The parts: this file the limits, the summary trait and [`run`], URLs, the shared
//! [`Counters`]; `connection` a connection and its reader; `summary` the [`AckCounts`];
//! `histogram` the latency [`Histogram`]; `progress` the [`Progress`] line.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use serde::Serialize;

mod connection;
mod histogram;
mod progress;
mod summary;
#[cfg(test)]
mod tests;

pub(super) use connection::{Connection, ConnectionEnd, SendError};
pub(super) use histogram::Histogram;
pub(super) use progress::Progress;
pub(super) use summary::AckCounts;

/// Where `simulate` and `replay` connect unless told otherwise: the default `serve` address.
pub(super) const DEFAULT_URL: &str = "ws://127.0.0.1:8686";
/// Unanswered frames one connection may have; beyond that `simulate` skips sending for a slice
/// and `replay` waits, so a slow server is measured rather than buried.
pub(super) const MAX_IN_FLIGHT: usize = 1024;
/// How long to wait for outstanding answers once sending is over.
pub(super) const ACK_WAIT: Duration = Duration::from_secs(5);
/// How long to wait for the WebSocket handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for the server's close reply, and for our close frame to go out.
const CLOSE_WAIT: Duration = Duration::from_secs(1);
/// How many rejection and error messages a summary quotes.
pub(super) const SAMPLES: usize = 5;

/// What a command prints at the end: as JSON with `--json`, as text otherwise.
pub(super) trait Summary: Serialize {
    /// Everything went as it should: the exit status is 0.
    fn ok(&self) -> bool;
    /// The summary for people, without the final `result` line.
    fn write_text(&self, out: &mut dyn std::io::Write) -> std::io::Result<()>;
}

/// Runs `task` on a runtime of its own, prints its summary on stdout (one JSON object when `json`)
/// and maps it to the exit status: 0 when [`Summary::ok`], 1 otherwise.
pub(super) fn run<S: Summary>(
    json: bool,
    task: impl Future<Output = anyhow::Result<S>>,
) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let summary = runtime.block_on(task)?;
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer(&mut out, &summary).context("writing the summary")?;
        writeln!(out)?;
    } else {
        summary.write_text(&mut out)?;
        let result = if summary.ok() {
            "ok"
        } else {
            "NOT all acknowledged"
        };
        writeln!(out, "result      {result}")?;
    }
    Ok(if summary.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `{base}/ws/ingest?room=ROOM[&token=T]`, checked to be a WebSocket URL.
pub(super) fn ingest_url(base: &str, room: &str, token: Option<&str>) -> anyhow::Result<String> {
    let base = base.trim_end_matches('/');
    if !(base.starts_with("ws://") || base.starts_with("wss://")) {
        bail!("--url must be a ws:// or wss:// URL, got {base:?}");
    }
    if base.contains('?') || base.contains('#') {
        bail!("--url must be the server's base URL, without a query: {base:?}");
    }
    if room.is_empty() {
        bail!("--room must not be empty");
    }
    let mut url = format!("{base}/ws/ingest?room=");
    percent_encode(&mut url, room);
    if let Some(token) = token {
        url.push_str("&token=");
        percent_encode(&mut url, token);
    }
    Ok(url)
}

fn percent_encode(out: &mut String, text: &str) {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// Milliseconds since the epoch (0 if the clock is before it).
pub(super) fn epoch_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Counts shared by every connection and the progress line.
#[derive(Default)]
pub(super) struct Counters {
    pub sent: AtomicU64,
    pub frames: AtomicU64,
    pub accepted: AtomicU64,
    pub duplicates: AtomicU64,
    pub rejected: AtomicU64,
    pub errors: AtomicU64,
    /// Input lines that could not be sent (`replay`); shown in the progress line when any.
    pub bad_lines: AtomicU64,
    pub latency: Histogram,
}
