//! `livecue replay`: feed a recorded stream (JSONL ingest events) into a running server.
//!
//! Reads FILE (or stdin for `-`) line by line in constant memory: one JSON ingest event per line;
//! blank lines and lines starting with `#` are skipped; a line that is not a valid event is
//! reported on stderr with its line number, counted and skipped. Every event gets `room` set to
//! `--room` and is sent over one ingest WebSocket, keeping the recorded pacing: an event goes out
//! at its `ts` (relative to the first one) divided by `--speed`; an event without `ts` goes with
//! the one before it; `--speed 0` sends as fast as the server answers. Events due within the
//! same [`BATCH_WINDOW`] travel in one array frame. Unless `--keep-ts` is given, `ts` is rewritten
//! to the moment the event is sent, so the server's live windows see a live stream.
//!
//! A progress line goes to stderr once a second and a summary to stdout at the end (`--json`: one
//! JSON object). Outstanding acks are awaited at most 5 s. The exit status is 0 when every line
//! was sent and acknowledged (accepted or a duplicate), 1 otherwise.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Serialize;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};
use tokio::time::Instant;

use super::ingest_client::{
    AckCounts, Connection, Counters, DEFAULT_URL, Progress, SendError, Summary, epoch_ms,
    ingest_url,
};
use crate::ingest::IngestEvent;

/// Events due within this span of each other share a frame.
pub const BATCH_WINDOW: Duration = Duration::from_millis(10);
/// Most events in one frame (the server accepts up to `ingest::MAX_EVENTS_PER_FRAME`).
const MAX_FRAME_EVENTS: usize = 200;
/// A frame is sent once it grows past this many bytes, well under any sane frame limit.
const MAX_FRAME_BYTES: usize = 256 * 1024;
/// Longest input line; a longer one is a bad line (events are far smaller).
const MAX_LINE_BYTES: usize = 64 * 1024;
/// A pause in the recording longer than this (after `--speed`) is shortened to it, so an
/// overnight gap does not hang the replay.
pub const MAX_GAP: Duration = Duration::from_secs(60);
/// How long to wait for the server to answer before giving up on it.
const STALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Bad lines reported one by one on stderr; the rest are only counted.
const BAD_LINES_SHOWN: u64 = 20;

/// Arguments of `livecue replay`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReplayArgs {
    /// JSONL file of ingest events, or `-` for stdin.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Room to send to; every event's `room` is set to it.
    #[arg(long, value_name = "ROOM")]
    pub room: String,
    /// The server's base WebSocket URL.
    #[arg(long, default_value = DEFAULT_URL)]
    pub url: String,
    /// Playback speed: 10 plays ten minutes of recording in one; 0 sends as fast as possible.
    #[arg(long, default_value_t = 10.0)]
    pub speed: f64,
    /// The room's ingest token, sent as `&token=`.
    #[arg(long)]
    pub token: Option<String>,
    /// Send events with their recorded `ts` instead of the time they are sent.
    #[arg(long)]
    pub keep_ts: bool,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// What a replay did; printed at the end.
#[derive(Debug, Serialize)]
pub struct ReplaySummary {
    pub file: String,
    pub room: String,
    /// Base URL (the token is never printed).
    pub url: String,
    /// Input lines read, including blank, comment and bad ones.
    pub lines: u64,
    /// Lines that were not a valid event (skipped).
    pub bad_lines: u64,
    #[serde(flatten)]
    pub acks: AckCounts,
    /// Pauses longer than [`MAX_GAP`] that were shortened.
    pub shortened_gaps: u64,
    /// Seconds from the first event sent to the last.
    pub elapsed_s: f64,
    /// Set when the server closed the connection: code and reason.
    pub closed_by_server: Option<String>,
    /// Set when the connection broke or the input could not be read.
    pub failure: Option<String>,
}

impl Summary for ReplaySummary {
    /// Every line was an event, sent and acknowledged, and the connection ended normally.
    fn ok(&self) -> bool {
        self.bad_lines == 0
            && self.acks.all_acknowledged()
            && self.closed_by_server.is_none()
            && self.failure.is_none()
    }

    fn write_text(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let a = &self.acks;
        writeln!(
            out,
            "replay: {} into room {} at {}",
            self.file, self.room, self.url
        )?;
        writeln!(
            out,
            "read        {} lines, {} bad (skipped)",
            self.lines, self.bad_lines
        )?;
        writeln!(
            out,
            "sent        {} events in {} frames over {:.1} s",
            a.sent, a.frames, self.elapsed_s
        )?;
        a.write_answers(out)?;
        if self.shortened_gaps > 0 {
            writeln!(
                out,
                "gaps        {} pauses longer than {MAX_GAP:?} were shortened",
                self.shortened_gaps
            )?;
        }
        if let Some(close) = &self.closed_by_server {
            writeln!(out, "closed      by the server: {close}")?;
        }
        if let Some(failure) = &self.failure {
            writeln!(out, "failed      {failure}")?;
        }
        a.write_samples(out)
    }
}

/// Runs `livecue replay`, prints the summary, and maps it to the exit status (0 when every line
/// was sent and acknowledged, 1 otherwise).
pub fn run(args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    if !args.speed.is_finite() || args.speed < 0.0 {
        bail!("--speed must be 0 (as fast as possible) or a positive number");
    }
    super::ingest_client::run(args.json, replay(args))
}

/// Replays `args.file` and returns the summary. Errors only for what stops a replay before it
/// starts (bad URL, unreadable file, no connection).
async fn replay(args: &ReplayArgs) -> anyhow::Result<ReplaySummary> {
    let url = ingest_url(&args.url, &args.room, args.token.as_deref())?;
    let input: Box<dyn AsyncBufRead + Unpin + Send> = if args.file == Path::new("-") {
        Box::new(BufReader::with_capacity(64 * 1024, tokio::io::stdin()))
    } else {
        let file = tokio::fs::File::open(&args.file)
            .await
            .with_context(|| format!("opening {}", args.file.display()))?;
        Box::new(BufReader::with_capacity(64 * 1024, file))
    };
    let counters = Arc::new(Counters::default());
    let connection = Connection::open(&url, counters.clone())
        .await
        .with_context(|| format!("connecting to {}", args.url))?;
    let progress = Progress::spawn(counters.clone());
    let mut player = Player {
        args,
        conn: connection,
        counters: counters.clone(),
        frame: Frame::default(),
        anchor: None,
        last_due: Instant::now(),
        wall: (Instant::now(), epoch_ms()),
        first_sent: None,
        last_sent: None,
        shortened_gaps: 0,
        stopped: false,
    };
    let (lines, failure) = player.play(input).await;
    let Player {
        conn,
        shortened_gaps,
        first_sent,
        last_sent,
        ..
    } = player;
    let end = conn.finish("replay done").await;
    progress.stop().await;

    let mut acks = AckCounts::from_counters(&counters);
    acks.add_connection(&end);
    Ok(ReplaySummary {
        file: args.file.display().to_string(),
        room: args.room.clone(),
        url: args.url.clone(),
        lines,
        bad_lines: counters.bad_lines.load(Ordering::Relaxed),
        acks,
        shortened_gaps,
        elapsed_s: match (first_sent, last_sent) {
            (Some(a), Some(b)) => (b - a).as_secs_f64(),
            _ => 0.0,
        },
        closed_by_server: end.closed_by_server,
        failure: failure.or(end.failure),
    })
}

/// The frame being filled: a JSON array under construction and where its events came from.
#[derive(Default)]
struct Frame {
    json: Vec<u8>,
    lines: Vec<u64>,
    /// When the first event of the frame is due.
    due: Option<Instant>,
}

/// Reads, paces and sends; owns the connection while the replay runs.
struct Player<'a> {
    args: &'a ReplayArgs,
    conn: Connection,
    counters: Arc<Counters>,
    frame: Frame,
    /// The first `ts` seen and when it was due: the origin of the recorded timeline.
    anchor: Option<(i64, Instant)>,
    last_due: Instant,
    /// A moment in both clocks, to turn a due instant into a `ts`.
    wall: (Instant, i64),
    first_sent: Option<Instant>,
    last_sent: Option<Instant>,
    shortened_gaps: u64,
    /// The connection is gone; read no further.
    stopped: bool,
}

impl Player<'_> {
    /// Plays the whole input; returns the number of lines read and why it stopped early, if it
    /// did.
    async fn play(&mut self, mut input: impl AsyncBufRead + Unpin) -> (u64, Option<String>) {
        let mut buf = Vec::with_capacity(4096);
        let mut line_no = 0u64;
        let mut failure = None;
        while !self.stopped {
            let too_long = match read_line(&mut input, &mut buf, MAX_LINE_BYTES).await {
                Ok(Some(too_long)) => too_long,
                Ok(None) => break,
                Err(e) => {
                    failure = Some(format!("reading line {}: {e}", line_no + 1));
                    break;
                }
            };
            line_no += 1;
            if too_long {
                self.bad_line(line_no, &format!("longer than {MAX_LINE_BYTES} bytes"));
                continue;
            }
            let Ok(text) = std::str::from_utf8(&buf) else {
                self.bad_line(line_no, "not UTF-8");
                continue;
            };
            let text = text.trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            let event = serde_json::from_str::<serde_json::Value>(text)
                .map_err(|e| e.to_string())
                .and_then(|v| IngestEvent::from_value(v).map_err(|e| e.to_string()));
            match event {
                Ok(event) => {
                    if let Err(e) = self.push(event, line_no).await {
                        failure = Some(e);
                    }
                }
                Err(e) => self.bad_line(line_no, &e),
            }
        }
        if failure.is_none()
            && !self.stopped
            && let Err(e) = self.flush().await
        {
            failure = Some(e);
        }
        (line_no, failure)
    }

    fn bad_line(&self, line: u64, error: &str) {
        let n = self.counters.bad_lines.fetch_add(1, Ordering::Relaxed) + 1;
        if n <= BAD_LINES_SHOWN {
            eprintln!("{}:{line}: skipped: {error}", self.args.file.display());
        } else if n == BAD_LINES_SHOWN + 1 {
            eprintln!(
                "{}: further bad lines are only counted",
                self.args.file.display()
            );
        }
    }

    /// When an event is due: its `ts` on the recorded timeline, scaled by the speed.
    fn due(&mut self, ts: Option<i64>) -> Instant {
        let speed = self.args.speed;
        let due = match ts {
            _ if speed == 0.0 => Instant::now(),
            None => self.last_due,
            Some(ts) => match self.anchor {
                None => {
                    let at = Instant::now().max(self.last_due);
                    self.anchor = Some((ts, at));
                    at
                }
                Some((ts0, at0)) => {
                    let offset = ts.saturating_sub(ts0).max(0) as f64 / 1000.0 / speed;
                    let due = Duration::try_from_secs_f64(offset)
                        .ok()
                        .and_then(|offset| at0.checked_add(offset));
                    let latest = self.last_due + MAX_GAP;
                    match due {
                        Some(due) if due <= latest => due,
                        _ => {
                            // Restart the timeline here so what follows keeps its pacing.
                            self.anchor = Some((ts, latest));
                            self.shortened_gaps += 1;
                            latest
                        }
                    }
                }
            },
        };
        // Out-of-order timestamps go right away, never back in time.
        let due = due.max(self.last_due);
        self.last_due = due;
        due
    }

    /// Adds an event to the current frame, sending the frame first when the event is not due
    /// with it or the frame is full.
    async fn push(&mut self, mut event: IngestEvent, line: u64) -> Result<(), String> {
        let due = self.due(event.envelope().ts);
        if let Some(frame_due) = self.frame.due
            && (due > frame_due + BATCH_WINDOW
                || self.frame.lines.len() >= MAX_FRAME_EVENTS
                || self.frame.json.len() >= MAX_FRAME_BYTES)
        {
            self.flush().await?;
            if self.stopped {
                return Ok(());
            }
        }
        let env = event.envelope_mut();
        env.room = Some(self.args.room.clone());
        if !self.args.keep_ts {
            let (at, ms) = self.wall;
            let offset = due.saturating_duration_since(at).as_millis() as i64;
            env.ts = Some(ms + offset);
        }
        let frame = &mut self.frame;
        frame
            .json
            .push(if frame.due.is_none() { b'[' } else { b',' });
        serde_json::to_writer(&mut frame.json, &event).map_err(|e| e.to_string())?;
        frame.lines.push(line);
        frame.due.get_or_insert(due);
        Ok(())
    }

    /// Sends the current frame when it is due. Sets `stopped` when the connection is gone.
    async fn flush(&mut self) -> Result<(), String> {
        let Some(due) = self.frame.due.take() else {
            return Ok(());
        };
        let mut json = std::mem::take(&mut self.frame.json);
        let lines = std::mem::take(&mut self.frame.lines);
        json.push(b']');
        if !self.conn.sleep_until(due).await {
            self.stopped = true;
            return Ok(());
        }
        let text = String::from_utf8(json).map_err(|e| e.to_string())?;
        let events = lines.len() as u64;
        let deadline = Instant::now() + STALL_TIMEOUT;
        let sent = match self.conn.feed(text, events, lines, deadline).await {
            Ok(()) => self.conn.flush(deadline).await,
            Err(e) => Err(e),
        };
        match sent {
            Ok(()) => {}
            // The reader's end says why.
            Err(SendError::Closed) => {
                self.stopped = true;
                return Ok(());
            }
            Err(SendError::Stalled) => {
                self.stopped = true;
                return Err(format!("the server answered nothing for {STALL_TIMEOUT:?}"));
            }
            Err(e) => {
                self.stopped = true;
                return Err(e.to_string());
            }
        }
        let now = Instant::now();
        self.first_sent.get_or_insert(now);
        self.last_sent = Some(now);
        Ok(())
    }
}

/// Reads one line (without its newline) into `buf`, keeping at most `max` bytes and skipping the
/// rest. `None` at the end of input; otherwise whether the line was cut.
async fn read_line(
    input: &mut (impl AsyncBufRead + Unpin),
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<bool>> {
    buf.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        let chunk = input.fill_buf().await?;
        if chunk.is_empty() {
            return Ok(any.then_some(too_long));
        }
        any = true;
        let (take, newline) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (chunk.len(), false),
        };
        let room = max.saturating_sub(buf.len());
        too_long |= take > room;
        buf.extend_from_slice(&chunk[..take.min(room)]);
        input.consume(take + usize::from(newline));
        if newline {
            return Ok(Some(too_long));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_bounded_lines() {
        let data: &[u8] = b"one\r\n\ntoo long line\nlast";
        let mut input = BufReader::with_capacity(4, data);
        let mut buf = Vec::new();
        let mut lines = Vec::new();
        while let Some(cut) = read_line(&mut input, &mut buf, 8).await.unwrap() {
            lines.push((String::from_utf8(buf.clone()).unwrap(), cut));
        }
        assert_eq!(
            lines,
            [
                ("one\r".to_string(), false),
                (String::new(), false),
                ("too long".to_string(), true),
                ("last".to_string(), false),
            ]
        );
    }
}
