//! `livecue simulate`: a load generator for a running server's ingest WebSocket.
//!
//! Opens `--connections` WebSocket connections to `{url}/ws/ingest?room=ROOM` (with several
//! `--room`s, connection `i` sends to room `i mod rooms`), sends realistic
//! comments from the demo audience ([`crate::demo::Audience`], plus the few gifts and orders it
//! makes) as JSON arrays of `--batch` events per text frame, paced to `--rate` events a second
//! across all connections, for `--duration`. The server answers every frame in order with an
//! `ack` (or an `error`); the time from sending a frame to its answer is the ack latency. A
//! progress line goes to stderr once a second, a summary to stdout at the end (`--json`: one JSON
//! object). The exit status is 0 when every event sent was acknowledged (accepted or a
//! duplicate), 1 otherwise.
//!
//! Bounded everywhere: when a connection has [`MAX_IN_FLIGHT`] unanswered frames, sending skips
//! a pacing slice instead of queueing; sending stops at `--duration`, and no send waits past
//! `--duration` + [`ACK_WAIT`]; the connection machinery ([`super::ingest_client`]) bounds the rest.

use std::collections::VecDeque;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use super::ingest_client::{
    ACK_WAIT, AckCounts, Connection, ConnectionEnd, Counters, DEFAULT_URL, MAX_IN_FLIGHT, Progress,
    SendError, Summary, epoch_ms, ingest_url,
};
use crate::demo::{self, Audience};
use crate::ingest::{CommentEvent, IngestEvent};

/// Pacing granularity.
const SLICE: Duration = Duration::from_millis(10);

/// Arguments of `livecue simulate`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// Room to send to (`/ws/ingest?room=ROOM`); repeat it or give a comma-separated list to
    /// spread the load over several rooms (connection `i` sends to room `i mod rooms`; there
    /// are at least as many connections as rooms).
    #[arg(long, value_name = "ROOM", required = true, value_delimiter = ',')]
    pub room: Vec<String>,
    /// Events per second across all connections (almost all comments).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub rate: u32,
    /// How long to send, e.g. `60s`, `5m`.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// The server's base WebSocket URL.
    #[arg(long, default_value = DEFAULT_URL)]
    pub url: String,
    /// Parallel WebSocket connections; the rate is split evenly between them.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub connections: u32,
    /// Events per frame (a JSON array).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub batch: u32,
    /// The room's ingest token, sent as `&token=`.
    #[arg(long)]
    pub token: Option<String>,
    /// Seed of the simulated audience (default: from the clock; the summary shows it).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// What a `simulate` run did; printed at the end.
#[derive(Debug, Serialize)]
pub struct SimulateSummary {
    /// The rooms, comma-separated.
    pub room: String,
    /// Base URL (the token is never printed).
    pub url: String,
    pub seed: u64,
    pub connections: u32,
    pub batch: u32,
    /// Requested events per second.
    pub target_rate: u32,
    /// Seconds spent sending.
    pub elapsed_s: f64,
    /// Events sent per second.
    pub rate: f64,
    #[serde(flatten)]
    pub acks: AckCounts,
    /// Pacing slices skipped because [`MAX_IN_FLIGHT`] frames were unanswered.
    pub skipped_slices: u64,
    /// Connections that could not be opened or broke, with the cause.
    pub connection_failures: Vec<String>,
    /// Connections the server closed, with code and reason.
    pub closed_by_server: Vec<String>,
}

impl Summary for SimulateSummary {
    /// Everything sent was acknowledged and no connection failed or was closed by the server.
    fn ok(&self) -> bool {
        self.acks.all_acknowledged()
            && self.connection_failures.is_empty()
            && self.closed_by_server.is_empty()
    }

    fn write_text(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let a = &self.acks;
        writeln!(
            out,
            "simulate: room {} at {} ({} connections, {} events/frame, seed {})",
            self.room, self.url, self.connections, self.batch, self.seed
        )?;
        writeln!(
            out,
            "sent        {} events in {} frames over {:.1} s: {:.0} events/s (target {})",
            a.sent, a.frames, self.elapsed_s, self.rate, self.target_rate
        )?;
        a.write_answers(out)?;
        if self.skipped_slices > 0 {
            writeln!(
                out,
                "backlog     {} pacing slices skipped: {MAX_IN_FLIGHT} frames were unanswered",
                self.skipped_slices
            )?;
        }
        for failure in &self.connection_failures {
            writeln!(out, "failed      {failure}")?;
        }
        for close in &self.closed_by_server {
            writeln!(out, "closed      {close}")?;
        }
        a.write_samples(out)
    }
}

/// Runs `livecue simulate`, prints the summary, and maps it to the exit status (0 when
/// everything sent was acknowledged, 1 otherwise).
pub fn run(args: &SimulateArgs) -> anyhow::Result<ExitCode> {
    super::ingest_client::run(args.json, simulate(args))
}

/// What each connection is told to do.
#[derive(Debug, Clone)]
struct Plan {
    /// One ingest URL per room; connection `i` uses `urls[i % urls.len()]`.
    urls: Arc<[String]>,
    /// Events per second for this connection.
    rate: f64,
    batch: usize,
    start: Instant,
    duration: Duration,
    seed: u64,
    /// Makes event ids unique across runs, so a second run is not all duplicates.
    run_id: String,
}

/// How one connection ended.
#[derive(Debug, Default)]
struct ConnReport {
    skipped_slices: u64,
    sending: Duration,
    end: ConnectionEnd,
    /// Why the connection could not start or stopped sending early.
    failure: Option<String>,
}

/// Runs the load test described by `args` and returns its summary.
async fn simulate(args: &SimulateArgs) -> anyhow::Result<SimulateSummary> {
    let urls = args
        .room
        .iter()
        .map(|room| ingest_url(&args.url, room, args.token.as_deref()))
        .collect::<anyhow::Result<Arc<[String]>>>()?;
    // Every room gets at least one connection.
    let connections = args.connections.max(urls.len() as u32);
    let seed = args.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
    });
    // Fail before connecting if the embedded demo data were broken.
    Audience::new(&demo_products()?, seed)?;
    let counters = Arc::new(Counters::default());
    let plan = Plan {
        urls,
        rate: f64::from(args.rate) / f64::from(connections),
        batch: args.batch as usize,
        start: Instant::now(),
        duration: args.duration,
        seed,
        run_id: format!("sim{:x}", epoch_ms()),
    };
    let progress = Progress::spawn(counters.clone());
    // Each task ends by itself: sending stops at the duration and every wait after it is bounded.
    let handles: Vec<JoinHandle<ConnReport>> = (0..connections)
        .map(|conn| tokio::spawn(connection(conn, plan.clone(), counters.clone())))
        .collect();
    let mut reports = Vec::with_capacity(handles.len());
    for (conn, handle) in handles.into_iter().enumerate() {
        reports.push(handle.await.unwrap_or_else(|e| ConnReport {
            failure: Some(format!("connection {conn}: task failed: {e}")),
            ..ConnReport::default()
        }));
    }
    progress.stop().await;

    let sending = reports.iter().map(|r| r.sending).max().unwrap_or_default();
    let mut summary = SimulateSummary {
        room: args.room.join(","),
        url: args.url.clone(),
        seed,
        connections,
        batch: args.batch,
        target_rate: args.rate,
        elapsed_s: sending.as_secs_f64(),
        rate: 0.0,
        acks: AckCounts::from_counters(&counters),
        skipped_slices: 0,
        connection_failures: Vec::new(),
        closed_by_server: Vec::new(),
    };
    if !sending.is_zero() {
        summary.rate = summary.acks.sent as f64 / sending.as_secs_f64();
    }
    for (conn, report) in reports.into_iter().enumerate() {
        summary.acks.add_connection(&report.end);
        summary.skipped_slices += report.skipped_slices;
        if let Some(failure) = report.failure.or(report.end.failure) {
            summary
                .connection_failures
                .push(format!("connection {conn}: {failure}"));
        }
        if let Some(close) = report.end.closed_by_server {
            summary
                .closed_by_server
                .push(format!("connection {conn}: {close}"));
        }
    }
    Ok(summary)
}

/// The demo catalog: the products the simulated audience talks about.
fn demo_products() -> anyhow::Result<Vec<crate::config::Product>> {
    let config = demo::demo_config()?;
    Ok(config
        .room(demo::DEMO_ROOM)
        .map(|r| r.products.clone())
        .unwrap_or_default())
}

/// One connection: connect, send paced frames until the duration is over, collect the answers,
/// close.
async fn connection(conn: u32, plan: Plan, counters: Arc<Counters>) -> ConnReport {
    let mut report = ConnReport::default();
    let seed = plan.seed.wrapping_add(u64::from(conn));
    let mut generator = match demo_products().and_then(|p| Ok((Audience::new(&p, seed)?, p))) {
        Ok((audience, products)) => {
            let ids = products.into_iter().map(|p| p.id).collect();
            Generator::new(audience, ids, format!("{}-c{conn}", plan.run_id))
        }
        Err(e) => {
            report.failure = Some(format!("{e:#}"));
            return report;
        }
    };
    let url = &plan.urls[conn as usize % plan.urls.len()];
    let mut ws = match Connection::open(url, counters).await {
        Ok(ws) => ws,
        Err(e) => {
            report.failure = Some(format!("{e:#}"));
            return report;
        }
    };
    let hard_deadline = plan.start + plan.duration + ACK_WAIT;
    // At most 100 ms worth of frames at once after a stall, so catching up is not a flood.
    let max_per_slice = ((plan.rate * 0.1 / plan.batch as f64).ceil() as u64).max(1);
    let mut interval = tokio::time::interval(SLICE);
    interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
    // Ends at the duration (checked every slice), or sooner when the connection goes.
    'send: loop {
        interval.tick().await;
        let elapsed = plan.start.elapsed();
        if elapsed >= plan.duration || ws.reader_finished() {
            break;
        }
        let due = (plan.rate * elapsed.as_secs_f64() / plan.batch as f64).floor() as u64 + 1;
        let mut fed = false;
        for _ in 0..due.saturating_sub(ws.frames()).min(max_per_slice) {
            if !ws.has_room() {
                report.skipped_slices += 1;
                break;
            }
            let frame = match generator.frame(plan.batch, epoch_ms()) {
                Ok(frame) => frame,
                Err(e) => {
                    report.failure = Some(format!("building a frame: {e}"));
                    break 'send;
                }
            };
            match ws
                .feed(frame, plan.batch as u64, Vec::new(), hard_deadline)
                .await
            {
                Ok(()) => fed = true,
                // The reader's end says why.
                Err(SendError::Closed) => break 'send,
                Err(e) => {
                    report.failure = Some(e.to_string());
                    break 'send;
                }
            }
        }
        if fed && let Err(e) = ws.flush(hard_deadline).await {
            report.failure = Some(e.to_string());
            break;
        }
    }
    report.sending = plan.start.elapsed().min(plan.duration);
    report.end = ws.finish("simulate done").await;
    report
}

/// Turns the demo audience into frames of comments (and the odd gift or order), with ids unique
/// to this run and the current time as `ts`.
struct Generator {
    audience: Audience,
    /// The audience's own clock, running as fast as frames are needed.
    sim_ms: i64,
    /// Events of the last tick not yet sent: one tick's worth at most.
    pending: VecDeque<IngestEvent>,
    scratch: Vec<IngestEvent>,
    products: Vec<String>,
    id_prefix: String,
    next_id: u64,
}

/// Simulated time between changes of the pitched product.
const PITCH_MS: i64 = 120_000;

impl Generator {
    /// `products` are the ids the pitched product cycles through; event ids start with
    /// `id_prefix`.
    fn new(audience: Audience, products: Vec<String>, id_prefix: String) -> Generator {
        Generator {
            audience,
            sim_ms: 1_700_000_000_000,
            pending: VecDeque::new(),
            scratch: Vec::new(),
            products,
            id_prefix,
            next_id: 0,
        }
    }

    /// One frame: a JSON array of `n` events.
    fn frame(&mut self, n: usize, now_ms: i64) -> anyhow::Result<String> {
        // The frame becomes the message, so its buffer cannot be reused.
        let mut buf = Vec::with_capacity(n * 160);
        buf.push(b'[');
        for i in 0..n {
            let mut event = self.next_event();
            self.next_id += 1;
            let env = event.envelope_mut();
            env.id = Some(format!("{}-{}", self.id_prefix, self.next_id));
            env.ts = Some(now_ms);
            if i > 0 {
                buf.push(b',');
            }
            serde_json::to_writer(&mut buf, &event)?;
        }
        buf.push(b']');
        Ok(String::from_utf8(buf)?)
    }

    fn next_event(&mut self) -> IngestEvent {
        // Bounded: the audience talks every few ticks; this only guards against edited data.
        for _ in 0..10_000 {
            if let Some(event) = self.pending.pop_front() {
                return event;
            }
            self.sim_ms += demo::TICK_MS;
            let pitch = (self.sim_ms / PITCH_MS) as usize % self.products.len().max(1);
            let pitching = self.products.get(pitch).map(String::as_str);
            self.audience.tick(self.sim_ms, pitching, &mut self.scratch);
            self.pending.extend(self.scratch.drain(..).filter(|e| {
                matches!(
                    e,
                    IngestEvent::Comment(_) | IngestEvent::Gift(_) | IngestEvent::Order(_)
                )
            }));
        }
        IngestEvent::Comment(CommentEvent::new(Default::default(), "来了来了"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_frames_are_valid_ingest() {
        let products = demo_products().unwrap();
        let audience = Audience::new(&products, 9).unwrap();
        let ids = products.into_iter().map(|p| p.id).collect();
        let mut generator = Generator::new(audience, ids, "simtest-c0".into());
        let mut ids = std::collections::HashSet::new();
        let mut comments = 0;
        for _ in 0..50 {
            let frame = generator.frame(10, 1_763_900_000_000).unwrap();
            let events = crate::ingest::parse_frame(&frame).unwrap();
            assert_eq!(events.len(), 10);
            for event in events {
                let event = event.unwrap();
                assert!(ids.insert(event.envelope().id.clone().unwrap()));
                assert!(matches!(event.kind(), "comment" | "gift" | "order"));
                comments += usize::from(event.kind() == "comment");
            }
        }
        assert!(comments > 400, "{comments}");
    }
}
