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

use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

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

/// What the server said about the frames sent: the part of a summary every command shares
/// (flattened into it, so the JSON keys sit at the top level).
#[derive(Debug, Default, Serialize)]
pub(super) struct AckCounts {
    /// Events sent.
    pub sent: u64,
    /// Frames sent.
    pub frames: u64,
    /// Events the server accepted.
    pub acked: u64,
    /// Events the server had already seen (a second run with the same ids).
    pub duplicates: u64,
    /// Events the server refused.
    pub rejected: u64,
    /// Frames answered with an `error`.
    pub errors: u64,
    /// Frames that got no answer.
    pub unanswered_frames: u64,
    pub latency_ms: LatencySummary,
    /// The first [`SAMPLES`] rejections, with where the event came from.
    pub rejected_samples: Vec<String>,
    /// The first [`SAMPLES`] `error` answers, with the frame they answered.
    pub error_samples: Vec<String>,
}

impl AckCounts {
    /// The totals in `counters`; connections are booked with [`AckCounts::add_connection`].
    pub fn from_counters(counters: &Counters) -> AckCounts {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        AckCounts {
            sent: load(&counters.sent),
            frames: load(&counters.frames),
            acked: load(&counters.accepted),
            duplicates: load(&counters.duplicates),
            rejected: load(&counters.rejected),
            errors: load(&counters.errors),
            unanswered_frames: 0,
            latency_ms: counters.latency.summary(),
            rejected_samples: Vec::new(),
            error_samples: Vec::new(),
        }
    }

    /// Books how one connection ended: its unanswered frames and its samples.
    pub fn add_connection(&mut self, end: &ConnectionEnd) {
        self.unanswered_frames += end.frames.saturating_sub(end.answered);
        for (into, from) in [
            (&mut self.rejected_samples, &end.rejected_samples),
            (&mut self.error_samples, &end.error_samples),
        ] {
            let room = SAMPLES.saturating_sub(into.len());
            into.extend(from.iter().take(room).cloned());
        }
    }

    /// Every event sent was acknowledged (accepted or a duplicate) and no frame went wrong.
    pub fn all_acknowledged(&self) -> bool {
        self.acked + self.duplicates == self.sent
            && self.rejected == 0
            && self.errors == 0
            && self.unanswered_frames == 0
    }

    /// The `answers` and `ack latency` lines of a text summary.
    pub fn write_answers(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        writeln!(
            out,
            "answers     {} accepted, {} duplicates, {} rejected; {} error replies, {} frames unanswered",
            self.acked, self.duplicates, self.rejected, self.errors, self.unanswered_frames
        )?;
        let l = &self.latency_ms;
        writeln!(
            out,
            "ack latency p50 {}  p90 {}  p99 {}  max {}",
            format_ms(l.p50),
            format_ms(l.p90),
            format_ms(l.p99),
            format_ms(l.max)
        )
    }

    /// The `rejected` and `error` sample lines of a text summary.
    pub fn write_samples(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        for r in &self.rejected_samples {
            writeln!(out, "rejected    {r}")?;
        }
        for e in &self.error_samples {
            writeln!(out, "error       {e}")?;
        }
        Ok(())
    }
}

/// Ack latency percentiles in milliseconds (null when nothing was answered).
#[derive(Debug, Default, Serialize)]
pub(super) struct LatencySummary {
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

/// Formats an optional millisecond value for people.
fn format_ms(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:.2} ms"))
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

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A frame sent and not yet answered, queued for the reader in send order (the server answers
/// frames in order).
struct InFlight {
    sent_at: Instant,
    /// Frame number on its connection, from 0.
    frame: u64,
    /// Input line of each event (`replay`); empty for `simulate`.
    lines: Vec<u64>,
}

/// How a connection ended.
#[derive(Debug, Default)]
pub(super) struct ConnectionEnd {
    /// Frames sent.
    pub frames: u64,
    /// Frames answered (ack or error).
    pub answered: u64,
    /// The server's close frame, as `code reason`.
    pub closed_by_server: Option<String>,
    /// The connection broke.
    pub failure: Option<String>,
    pub rejected_samples: Vec<String>,
    pub error_samples: Vec<String>,
}

/// Why a frame was not sent.
#[derive(Debug, thiserror::Error)]
pub(super) enum SendError {
    /// The reader has ended (the server closed or the connection broke); its end says why.
    #[error("the connection is closed")]
    Closed,
    /// [`MAX_IN_FLIGHT`] frames stayed unanswered until the deadline.
    #[error("the server answered nothing for too long")]
    Stalled,
    /// The socket refused the frame or did not take it before the deadline.
    #[error("sending: {0}")]
    Failed(String),
}

/// One open ingest connection: the sending half, the queue of unanswered frames, and the task
/// that reads the answers.
pub(super) struct Connection {
    sink: SplitSink<Ws, Message>,
    /// Holds an [`InFlight`] per unanswered frame; capacity [`MAX_IN_FLIGHT`]. Dropped to tell
    /// the reader no more frames come.
    queue: mpsc::Sender<InFlight>,
    /// Sent (or dropped) when sending is over: the reader then waits at most [`ACK_WAIT`].
    done: oneshot::Sender<()>,
    /// Changes (to closed) when the reader has ended.
    reader_alive: watch::Receiver<()>,
    reader: JoinHandle<(ConnectionEnd, Option<SplitStream<Ws>>)>,
    counters: Arc<Counters>,
    /// Frames sent so far.
    frames: u64,
}

impl Connection {
    /// Connects (within [`CONNECT_TIMEOUT`]) and starts reading answers.
    pub async fn open(url: &str, counters: Arc<Counters>) -> anyhow::Result<Connection> {
        // Nagle's algorithm would hold small frames back while earlier ones await their TCP
        // ack, adding tens of milliseconds to the very latency we measure.
        let connect = tokio_tungstenite::connect_async_with_config(url, None, true);
        let (ws, _) = tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| anyhow::anyhow!("connecting: no answer within {CONNECT_TIMEOUT:?}"))?
            .map_err(|e| anyhow::anyhow!("connecting: {e}"))?;
        let (sink, stream) = ws.split();
        let (queue, rx) = mpsc::channel(MAX_IN_FLIGHT);
        let (done, done_rx) = oneshot::channel();
        let (alive_tx, reader_alive) = watch::channel(());
        let reader_counters = counters.clone();
        // Ends on its own: when the server closes, the connection breaks, or at most ACK_WAIT
        // after `done` is sent or dropped.
        let reader = tokio::spawn(async move {
            let result = read_answers(stream, rx, done_rx, reader_counters).await;
            drop(alive_tx);
            result
        });
        Ok(Connection {
            sink,
            queue,
            done,
            reader_alive,
            reader,
            counters,
            frames: 0,
        })
    }

    /// Frames sent on this connection so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// A frame can be sent without waiting: fewer than [`MAX_IN_FLIGHT`] are unanswered.
    pub fn has_room(&self) -> bool {
        self.queue.capacity() > 0
    }

    /// The reader has ended: the server closed the connection or it broke.
    pub fn reader_finished(&self) -> bool {
        self.reader.is_finished()
    }

    /// Sleeps until `at`; false when the reader ended first (no point sending more).
    pub async fn sleep_until(&mut self, at: Instant) -> bool {
        tokio::select! {
            _ = tokio::time::sleep_until(at) => !self.reader_finished(),
            _ = self.reader_alive.changed() => false,
        }
    }

    /// Queues `text`, a frame of `events` events (from input `lines`, or none), on the socket
    /// without flushing it; waits for room among the unanswered frames and for the socket at most
    /// until `deadline`. Counts the frame once the socket took it.
    pub async fn feed(
        &mut self,
        text: String,
        events: u64,
        lines: Vec<u64>,
        deadline: Instant,
    ) -> Result<(), SendError> {
        let permit = match tokio::time::timeout_at(deadline, self.queue.reserve()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(SendError::Closed),
            Err(_) => return Err(SendError::Stalled),
        };
        // Queued before the frame goes out, so its answer always finds it.
        permit.send(InFlight {
            sent_at: Instant::now(),
            frame: self.frames,
            lines,
        });
        match tokio::time::timeout_at(deadline, self.sink.feed(Message::text(text))).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(SendError::Failed(e.to_string())),
            Err(_) => return Err(SendError::Failed("timed out".into())),
        }
        self.frames += 1;
        self.counters.frames.fetch_add(1, Ordering::Relaxed);
        self.counters.sent.fetch_add(events, Ordering::Relaxed);
        Ok(())
    }

    /// Writes out the frames fed so far, by `deadline`.
    pub async fn flush(&mut self, deadline: Instant) -> Result<(), SendError> {
        match tokio::time::timeout_at(deadline, self.sink.flush()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(SendError::Failed(e.to_string())),
            Err(_) => Err(SendError::Failed("timed out".into())),
        }
    }

    /// Stops sending, waits up to [`ACK_WAIT`] for the outstanding answers, then closes with a
    /// normal close frame (unless the server already closed).
    pub async fn finish(self, reason: &str) -> ConnectionEnd {
        let Connection {
            mut sink,
            queue,
            done,
            reader,
            frames,
            ..
        } = self;
        // The queue is final before the reader hears we are done.
        drop(queue);
        let _ = done.send(());
        let (mut end, stream) = match reader.await {
            Ok(result) => result,
            Err(e) => (
                ConnectionEnd {
                    failure: Some(format!("reader task failed: {e}")),
                    ..ConnectionEnd::default()
                },
                None,
            ),
        };
        end.frames = frames;
        let Some(mut stream) = stream else {
            return end;
        };
        let close = Message::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: reason.into(),
        }));
        if let Ok(Ok(())) = tokio::time::timeout(CLOSE_WAIT, sink.send(close)).await {
            // The server's close reply ends the stream; don't wait for it long.
            let _ = tokio::time::timeout(CLOSE_WAIT, async {
                while let Some(Ok(msg)) = stream.next().await {
                    if msg.is_close() {
                        break;
                    }
                }
            })
            .await;
        }
        end
    }
}

/// A server message (PROTOCOL.md): the answer to one frame, in frame order.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Answer {
    Ack {
        #[serde(default)]
        accepted: u64,
        #[serde(default)]
        duplicates: u64,
        #[serde(default)]
        rejected: Vec<Rejection>,
    },
    Error {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    },
    /// Message types this client does not know are ignored, as the protocol asks.
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct Rejection {
    #[serde(default)]
    index: usize,
    #[serde(default)]
    error: String,
}

/// Reads answers and matches them to frames until the server closes, the connection breaks, or
/// the sender is done and every frame is answered (or [`ACK_WAIT`] has passed). Hands the stream
/// back when the connection is still open, for the close handshake.
async fn read_answers(
    mut stream: SplitStream<Ws>,
    mut queue: mpsc::Receiver<InFlight>,
    mut done: oneshot::Receiver<()>,
    counters: Arc<Counters>,
) -> (ConnectionEnd, Option<SplitStream<Ws>>) {
    let mut end = ConnectionEnd::default();
    let mut deadline: Option<Instant> = None;
    loop {
        if deadline.is_some() && queue.is_empty() {
            return (end, Some(stream));
        }
        tokio::select! {
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(text))) => answer(&text, &mut queue, &counters, &mut end),
                Some(Ok(Message::Close(frame))) => {
                    end.closed_by_server = Some(match frame {
                        Some(f) => format!("{} {}", u16::from(f.code), f.reason),
                        None => "closed without a reason".into(),
                    });
                    return (end, None);
                }
                // Pings are answered by tungstenite; binary frames are not ours.
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    end.failure = Some(format!("receiving: {e}"));
                    return (end, None);
                }
                None => {
                    end.failure = Some("the server dropped the connection".into());
                    return (end, None);
                }
            },
            // Sent or dropped: either way no more frames come. Polled once only.
            _ = &mut done, if deadline.is_none() => deadline = Some(Instant::now() + ACK_WAIT),
            _ = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                return (end, Some(stream));
            }
        }
    }
}

/// Books one server message against the oldest unanswered frame.
fn answer(
    text: &str,
    queue: &mut mpsc::Receiver<InFlight>,
    counters: &Counters,
    end: &mut ConnectionEnd,
) {
    let Ok(answer) = serde_json::from_str::<Answer>(text) else {
        return;
    };
    if matches!(answer, Answer::Other) {
        return;
    }
    // Frames are queued before they are sent, so this fails only when the server answers a
    // frame twice or answers one we never sent; such an answer is not ours to count.
    let Ok(frame) = queue.try_recv() else {
        return;
    };
    end.answered += 1;
    counters.latency.record(frame.sent_at.elapsed());
    match answer {
        Answer::Ack {
            accepted,
            duplicates,
            rejected,
        } => {
            counters.accepted.fetch_add(accepted, Ordering::Relaxed);
            counters.duplicates.fetch_add(duplicates, Ordering::Relaxed);
            counters
                .rejected
                .fetch_add(rejected.len() as u64, Ordering::Relaxed);
            let room = SAMPLES.saturating_sub(end.rejected_samples.len());
            for r in rejected.into_iter().take(room) {
                let place = match frame.lines.get(r.index) {
                    Some(line) => format!("line {line}"),
                    None => format!("frame {} event {}", frame.frame, r.index),
                };
                end.rejected_samples.push(format!("{place}: {}", r.error));
            }
        }
        Answer::Error { code, message } => {
            counters.errors.fetch_add(1, Ordering::Relaxed);
            if end.error_samples.len() < SAMPLES {
                let place = match frame.lines.first() {
                    Some(line) => format!("frame from line {line}"),
                    None => format!("frame {}", frame.frame),
                };
                end.error_samples
                    .push(format!("{place}: {code}: {message}"));
            }
        }
        Answer::Other => {}
    }
}

/// Buckets: exact below 64 µs, then 32 per power of two (at most about 3 % off).
const BUCKETS: usize = 60 * 32;

/// A fixed-size, lock-free latency histogram in microseconds: constant memory however long the
/// run, shared by every connection.
pub(super) struct Histogram {
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
    max_us: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            max_us: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    /// Counts one answer's latency.
    pub fn record(&self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        if let Some(bucket) = self.buckets.get(bucket_of(us)) {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
    }

    /// The latency below which a share `q` (0-1) of the answers fell, in microseconds.
    pub fn quantile_us(&self, q: f64) -> Option<u64> {
        let count = self.count.load(Ordering::Relaxed);
        if count == 0 {
            return None;
        }
        let rank = ((q * count as f64).ceil() as u64).clamp(1, count);
        let max = self.max_us.load(Ordering::Relaxed);
        let mut seen = 0;
        for (i, bucket) in self.buckets.iter().enumerate() {
            seen += bucket.load(Ordering::Relaxed);
            if seen >= rank {
                return Some(bucket_value(i).min(max));
            }
        }
        Some(max)
    }

    /// p50, p90, p99 and max in milliseconds (two decimals).
    pub fn summary(&self) -> LatencySummary {
        let ms = |us: Option<u64>| us.map(|us| (us as f64 / 10.0).round() / 100.0);
        let any = self.count.load(Ordering::Relaxed) > 0;
        LatencySummary {
            p50: ms(self.quantile_us(0.5)),
            p90: ms(self.quantile_us(0.9)),
            p99: ms(self.quantile_us(0.99)),
            max: ms(any.then(|| self.max_us.load(Ordering::Relaxed))),
        }
    }
}

fn bucket_of(us: u64) -> usize {
    if us < 64 {
        return us as usize;
    }
    let e = 63 - us.leading_zeros() as usize;
    let sub = ((us >> (e - 5)) - 32) as usize;
    (e - 4) * 32 + sub
}

/// The middle of a bucket.
fn bucket_value(i: usize) -> u64 {
    if i < 64 {
        return i as u64;
    }
    let (e, sub) = (i / 32 + 4, (i % 32) as u64);
    let width = 1u64 << (e - 5);
    ((32 + sub) << (e - 5)) + width / 2
}

/// The once-a-second progress line on stderr: overwritten in place on a terminal, one line per
/// second otherwise (logs, CI).
pub(super) struct Progress {
    /// Sent by [`Progress::stop`]; dropping it stops the task too.
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Progress {
    /// Starts printing `counters` once a second.
    pub fn spawn(counters: Arc<Counters>) -> Progress {
        let (stop, mut stop_rx) = oneshot::channel();
        let task = tokio::spawn(async move {
            let tty = std::io::stderr().is_terminal();
            let start = Instant::now();
            let mut interval = tokio::time::interval(Duration::from_secs(1));
            interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
            interval.tick().await;
            let mut last_sent = 0;
            let mut printed = false;
            loop {
                tokio::select! {
                    _ = interval.tick() => {}
                    _ = &mut stop_rx => break,
                }
                let sent = counters.sent.load(Ordering::Relaxed);
                let line =
                    progress_line(&counters, start.elapsed(), sent.saturating_sub(last_sent));
                last_sent = sent;
                let mut err = std::io::stderr().lock();
                let _ = if tty {
                    write!(err, "\r{line}\x1b[K")
                } else {
                    writeln!(err, "{line}")
                };
                printed = true;
            }
            if tty && printed {
                let _ = writeln!(std::io::stderr());
            }
        });
        Progress { stop, task }
    }

    /// Stops printing (ending an overwritten line with a newline).
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

fn progress_line(c: &Counters, elapsed: Duration, rate: u64) -> String {
    let quantile = |q| {
        c.latency.quantile_us(q).map_or_else(
            || "-".to_string(),
            |us| format!("{:.1}ms", us as f64 / 1000.0),
        )
    };
    let mut line = format!(
        "{:>6.1}s  sent {}  acked {}  rejected {}  rate {rate}/s  p50 {}  p99 {}",
        elapsed.as_secs_f64(),
        c.sent.load(Ordering::Relaxed),
        c.accepted.load(Ordering::Relaxed) + c.duplicates.load(Ordering::Relaxed),
        c.rejected.load(Ordering::Relaxed),
        quantile(0.5),
        quantile(0.99),
    );
    let bad = c.bad_lines.load(Ordering::Relaxed);
    if bad > 0 {
        let _ = write!(line, "  bad lines {bad}");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_ingest_urls() {
        assert_eq!(
            ingest_url("ws://127.0.0.1:8686/", "demo", None).unwrap(),
            "ws://127.0.0.1:8686/ws/ingest?room=demo"
        );
        assert_eq!(
            ingest_url("ws://h:1", "r-1", Some("a b&c")).unwrap(),
            "ws://h:1/ws/ingest?room=r-1&token=a%20b%26c"
        );
        assert!(ingest_url("http://h", "r", None).is_err());
        assert!(ingest_url("ws://h/?x=1", "r", None).is_err());
        assert!(ingest_url("ws://h", "", None).is_err());
    }

    #[test]
    fn histogram_quantiles_are_close() {
        let h = Histogram::default();
        for us in 1..=10_000u64 {
            h.record(Duration::from_micros(us));
        }
        for (q, want) in [(0.5, 5_000.0), (0.9, 9_000.0), (0.99, 9_900.0)] {
            let got = h.quantile_us(q).unwrap() as f64;
            assert!((got - want).abs() / want < 0.04, "q{q}: {got} vs {want}");
        }
        assert_eq!(h.quantile_us(1.0), Some(10_000));
        assert_eq!(Histogram::default().quantile_us(0.5), None);
        for us in [0, 1, 63, 64, 65, 1000, 123_456_789, u64::MAX] {
            let b = bucket_of(us);
            assert!(b < BUCKETS, "{us}");
            let v = bucket_value(b) as f64;
            assert!(us < 64 && v == us as f64 || (v - us as f64).abs() / (us as f64) < 0.04);
        }
    }

    #[test]
    fn answers_match_frames_in_order() {
        let (tx, mut queue) = mpsc::channel(4);
        for frame in 0..3 {
            let lines = if frame == 1 { vec![7, 8] } else { Vec::new() };
            let sent_at = Instant::now();
            tx.try_send(InFlight {
                sent_at,
                frame,
                lines,
            })
            .unwrap();
        }
        let counters = Counters::default();
        let mut end = ConnectionEnd::default();
        for text in [
            r#"{"type":"ack","accepted":3,"duplicates":1}"#,
            r#"{"type":"hello"}"#,
            "not json",
            r#"{"type":"ack","accepted":1,"rejected":[{"index":1,"error":"text: is empty"}]}"#,
            r#"{"type":"error","code":"bad_frame","message":"not JSON"}"#,
            // One answer too many: nothing left to match.
            r#"{"type":"ack","accepted":9}"#,
        ] {
            answer(text, &mut queue, &counters, &mut end);
        }
        assert_eq!(end.answered, 3);
        assert_eq!(end.rejected_samples, ["line 8: text: is empty"]);
        assert_eq!(end.error_samples, ["frame 2: bad_frame: not JSON"]);
        end.frames = 4;
        let mut acks = AckCounts::from_counters(&counters);
        acks.add_connection(&end);
        assert_eq!((acks.acked, acks.duplicates), (4, 1));
        assert_eq!(
            (acks.rejected, acks.errors, acks.unanswered_frames),
            (1, 1, 1)
        );
        assert!(acks.latency_ms.p50.is_some());
        assert!(!acks.all_acknowledged());
    }
}
