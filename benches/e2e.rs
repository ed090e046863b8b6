//! End-to-end benchmarks: the real `livecue` binary serving on 127.0.0.1, loaded by
//! `livecue simulate` processes and probed by this program's own WebSocket clients.
//!
//! ```text
//! cargo bench --bench e2e -- [--smoke] [--json FILE] [SCENARIO...]
//! ```
//!
//! Scenarios (all when none is named): `startup`, `rooms`, `max-rate`, `cue-latency`, `fanout`,
//! `memory`, `flood`. Each prints a block of results; `--json FILE` also appends one JSON object per
//! scenario to FILE (what `bench/run-all` collects). `--smoke` runs every scenario for a second
//! or two at low rates, so CI checks that they still work without measuring anything.
//! `--hours H` sets the simulated length of `memory` (default 4), `--flood-hours H` that of
//! `flood` (default 1).
//!
//! Everything stays on loopback and every wait is bounded. Server, load generator and this
//! program share the machine's cores; each block says how much CPU the server used.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Result<T, E = Box<dyn std::error::Error + Send + Sync>> = std::result::Result<T, E>;

/// A scenario: runs, prints its block, returns its numbers.
type Scenario = fn(&Options) -> Result<Value>;

/// This checkout's binary: the load generator, and the server unless `LIVECUE_BIN` names
/// another build of the server (to compare two builds under the same load).
const BIN: &str = env!("CARGO_BIN_EXE_livecue");

fn server_bin() -> String {
    std::env::var("LIVECUE_BIN").unwrap_or_else(|_| BIN.to_string())
}
/// Rooms of the multi-room scenarios.
const ROOMS: usize = 10;
/// How long the server gets to say where it listens and to answer `/healthz`.
const START_TIMEOUT: Duration = Duration::from_secs(30);

struct Options {
    smoke: bool,
    json: Option<PathBuf>,
    hours: f64,
    flood_hours: f64,
    only: Vec<String>,
}

fn main() -> Result<()> {
    let mut options = Options {
        smoke: false,
        json: None,
        hours: 4.0,
        flood_hours: 1.0,
        only: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--smoke" => options.smoke = true,
            "--json" => options.json = args.next().map(PathBuf::from),
            "--hours" => {
                options.hours = args
                    .next()
                    .and_then(|h| h.parse().ok())
                    .ok_or("--hours needs a number")?
            }
            "--flood-hours" => {
                options.flood_hours = args
                    .next()
                    .and_then(|h| h.parse().ok())
                    .ok_or("--flood-hours needs a number")?
            }
            // `cargo bench` passes `--bench`; criterion-style filters are not used here.
            "--bench" => {}
            other if other.starts_with("--") => return Err(format!("unknown flag {other}").into()),
            name => options.only.push(name.to_string()),
        }
    }
    let scenarios: [(&str, Scenario); 7] = [
        ("startup", startup),
        ("rooms", rooms),
        ("max-rate", max_rate),
        ("cue-latency", cue_latency),
        ("fanout", fanout),
        ("memory", memory),
        ("flood", flood),
    ];
    for name in &options.only {
        if !scenarios.iter().any(|(n, _)| n == name) {
            return Err(format!("unknown scenario {name}").into());
        }
    }
    println!(
        "e2e benchmarks on {} cores{}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if options.smoke { " (smoke run)" } else { "" }
    );
    for (name, run) in scenarios {
        if !options.only.is_empty() && !options.only.iter().any(|n| n == name) {
            continue;
        }
        println!("\n== {name}");
        let started = Instant::now();
        let mut result = run(&options).map_err(|e| format!("{name}: {e}"))?;
        result["scenario"] = json!(name);
        result["seconds"] = json!(round(started.elapsed().as_secs_f64(), 1));
        result["smoke"] = json!(options.smoke);
        if let Some(path) = &options.json {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            writeln!(file, "{result}")?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Scenarios

/// Time from starting `livecue serve --demo` to its port being bound and to `/healthz`
/// answering (the dictionary is loaded by then), median of several starts.
fn startup(o: &Options) -> Result<Value> {
    let runs = if o.smoke { 1 } else { 7 };
    let (mut bound, mut ready, mut rss) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let server = Server::start(None)?;
        bound.push(server.bound.as_secs_f64() * 1e3);
        ready.push(server.ready.as_secs_f64() * 1e3);
        rss.push(server.rss_kib().unwrap_or(0) as f64 / 1024.0);
    }
    let result = json!({
        "runs": runs,
        "bound_ms_median": round(median(&mut bound), 1),
        "ready_ms_median": round(median(&mut ready), 1),
        "ready_ms_max": round(ready.iter().copied().fold(0.0, f64::max), 1),
        "rss_mib_at_ready": round(median(&mut rss), 1),
    });
    println!(
        "serve --demo: port bound after {} ms, /healthz ready after {} ms (median of {runs}, max {} ms); RSS {} MiB",
        result["bound_ms_median"],
        result["ready_ms_median"],
        result["ready_ms_max"],
        result["rss_mib_at_ready"]
    );
    Ok(result)
}

/// 10 rooms at 500 comments/s each, sustained.
fn rooms(o: &Options) -> Result<Value> {
    let (per_room, secs) = if o.smoke { (50, 2) } else { (500, 30) };
    let server = Server::start(Some(&rooms_config(ROOMS, false)))?;
    let (sim, cores) = load_rooms(&server, per_room, secs)?;
    let result = json!({
        "rooms": ROOMS,
        "target_rate": per_room * ROOMS as u32,
        "duration_s": secs,
        "rate": round(sim["rate"].as_f64().unwrap_or(0.0), 0),
        "all_acked": sim_ok(&sim),
        "ack_p50_ms": sim["latency_ms"]["p50"],
        "ack_p99_ms": sim["latency_ms"]["p99"],
        "server_cores": round(cores, 2),
        "sim_cores": sim["sim_cores"],
        "server_rss_mib": round(server.rss_kib().unwrap_or(0) as f64 / 1024.0, 1),
    });
    println!(
        "{ROOMS} rooms x {per_room}/s for {secs} s: {} events/s sustained, all acknowledged: {}, ack p50 {} ms p99 {} ms; server used {} cores, load generator {}, RSS {} MiB",
        result["rate"],
        result["all_acked"],
        result["ack_p50_ms"],
        result["ack_p99_ms"],
        result["server_cores"],
        result["sim_cores"],
        result["server_rss_mib"]
    );
    Ok(result)
}

/// Total rate across 10 rooms raised step by step (a fresh server each step) until two steps in
/// a row miss (p99 ack latency ≥ 100 ms, or the rate not kept); the highest step that held is
/// the result.
fn max_rate(o: &Options) -> Result<Value> {
    let (steps, secs): (&[u32], u64) = if o.smoke {
        (&[1_000], 1)
    } else {
        (
            &[
                5_000, 10_000, 15_000, 20_000, 25_000, 30_000, 40_000, 50_000,
            ],
            10,
        )
    };
    let mut rows = Vec::new();
    let mut best = 0.0;
    let mut misses = 0;
    for &target in steps {
        let server = Server::start(Some(&rooms_config(ROOMS, false)))?;
        let cpu = server.cpu_seconds();
        let wall = Instant::now();
        let connections = (target / 1_000).clamp(ROOMS as u32, 40);
        let sim = simulate(&server, &room_ids(ROOMS), target, secs, connections, 20)?;
        let cores = (server.cpu_seconds() - cpu) / wall.elapsed().as_secs_f64();
        let rate = sim["rate"].as_f64().unwrap_or(0.0);
        let p99 = sim["latency_ms"]["p99"].as_f64().unwrap_or(f64::INFINITY);
        let held = sim_ok(&sim) && p99 < 100.0 && rate >= 0.95 * f64::from(target);
        println!(
            "target {target:>6}/s: {rate:>8.0}/s, ack p50 {} ms p99 {} ms, server {cores:.2} cores, load generator {}: {}",
            sim["latency_ms"]["p50"],
            sim["latency_ms"]["p99"],
            sim["sim_cores"],
            if held { "held" } else { "not held" }
        );
        rows.push(json!({
            "target": target, "rate": round(rate, 0), "all_acked": sim_ok(&sim),
            "ack_p50_ms": sim["latency_ms"]["p50"], "ack_p99_ms": sim["latency_ms"]["p99"],
            "server_cores": round(cores, 2), "sim_cores": sim["sim_cores"], "held": held,
        }));
        if held {
            best = rate;
            misses = 0;
        } else {
            // One step can miss on a noisy machine; two in a row end the ladder.
            misses += 1;
            if misses == 2 {
                break;
            }
        }
    }
    println!("highest rate held with p99 ack < 100 ms: {best:.0} events/s");
    Ok(json!({ "steps": rows, "best_rate": round(best, 0), "duration_s": secs }))
}

/// Time from sending a burst of five questions (five viewers, one key) into a quiet probe room
/// to the `answer_question` cue arriving at an overlay connected to it, while 10 other rooms
/// take 500 comments/s each.
fn cue_latency(o: &Options) -> Result<Value> {
    let (probes, per_room) = if o.smoke { (3, 50) } else { (60, 500) };
    let server = Server::start(Some(&rooms_config(ROOMS, true)))?;
    let secs = probes as u64 + 5;
    let background = SimProcess::spawn(
        &server,
        &room_ids(ROOMS),
        per_room * ROOMS as u32,
        secs,
        10,
        10,
    )?;
    let runtime = runtime()?;
    let addr = server.addr.clone();
    let latencies = runtime.block_on(async move { probe_cues(&addr, probes).await })?;
    let sim = background.finish()?;
    let (mut cue_ms, mut ack_ms): (Vec<f64>, Vec<f64>) = latencies.into_iter().unzip();
    let missed = probes - cue_ms.len();
    let result = json!({
        "probes": probes,
        "missed": missed,
        "background_rate": round(sim["rate"].as_f64().unwrap_or(0.0), 0),
        "background_ack_p99_ms": sim["latency_ms"]["p99"],
        "cue_p50_ms": round(quantile(&mut cue_ms, 0.5), 2),
        "cue_p99_ms": round(quantile(&mut cue_ms, 0.99), 2),
        "cue_max_ms": round(quantile(&mut cue_ms, 1.0), 2),
        "probe_ack_p50_ms": round(quantile(&mut ack_ms, 0.5), 2),
    });
    println!(
        "{probes} probes ({missed} missed) with {} events/s in {ROOMS} other rooms: comment -> cue on the overlay p50 {} ms, p99 {} ms, max {} ms (probe ack p50 {} ms)",
        result["background_rate"],
        result["cue_p50_ms"],
        result["cue_p99_ms"],
        result["cue_max_ms"],
        result["probe_ack_p50_ms"]
    );
    Ok(result)
}

/// 1,000 overlay and console clients across 10 rooms (idle memory per client), then the rooms
/// under load: does every client get every message, and how late?
fn fanout(o: &Options) -> Result<Value> {
    let (clients, per_room, secs) = if o.smoke {
        (20, 50, 2)
    } else {
        (1_000, 200, 30)
    };
    let server = Server::start(Some(&rooms_config(ROOMS, false)))?;
    let runtime = runtime()?;
    let base_rss = server.rss_kib().unwrap_or(0);
    let addr = server.addr.clone();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let handles = runtime.block_on(async {
        let mut handles = Vec::with_capacity(clients);
        for i in 0..clients {
            let room = format!("r{}", i % ROOMS);
            let role = if i % 2 == 0 { "overlay" } else { "console" };
            let url = format!("ws://{addr}/ws/room/{room}?role={role}");
            let (ws, _) = tokio_tungstenite::connect_async(&url).await?;
            handles.push(tokio::spawn(watch_room(ws, rx.clone())));
        }
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(handles)
    })?;
    std::thread::sleep(Duration::from_secs(2));
    let idle_rss = server.rss_kib().unwrap_or(0);
    let per_client_kib = idle_rss.saturating_sub(base_rss) as f64 / clients as f64;
    println!(
        "{clients} idle clients: server RSS {:.1} -> {:.1} MiB, {per_client_kib:.1} KiB per client",
        base_rss as f64 / 1024.0,
        idle_rss as f64 / 1024.0
    );
    let (sim, cores) = load_rooms(&server, per_room, secs)?;
    // Let the last messages arrive, then stop the clients.
    std::thread::sleep(Duration::from_secs(1));
    let _ = tx.send(true);
    let reports: Vec<Watched> = runtime.block_on(async {
        let mut reports = Vec::new();
        for handle in handles {
            reports.push(handle.await.unwrap_or_default());
        }
        reports
    });
    let lagged = reports
        .iter()
        .filter(|r| r.gaps > 0 || r.resyncs > 0)
        .count();
    let closed = reports.iter().filter(|r| r.closed).count();
    let mut delays: Vec<f64> = reports.iter().flat_map(|r| r.cue_delays.clone()).collect();
    let messages: u64 = reports.iter().map(|r| r.messages).sum();
    let result = json!({
        "clients": clients,
        "idle_rss_per_client_kib": round(per_client_kib, 1),
        "rate": round(sim["rate"].as_f64().unwrap_or(0.0), 0),
        "duration_s": secs,
        "messages_delivered": messages,
        "clients_lagged": lagged,
        "clients_closed": closed,
        "cue_deliveries": delays.len(),
        "cue_delivery_p50_ms": round(quantile(&mut delays, 0.5), 1),
        "cue_delivery_p99_ms": round(quantile(&mut delays, 0.99), 1),
        "server_cores": round(cores, 2),
    });
    println!(
        "{secs} s at {} events/s: {messages} messages to {clients} clients; {lagged} lagged (a gap or a resync), {closed} closed; cue created -> received p50 {} ms p99 {} ms over {} deliveries; server {} cores",
        result["rate"],
        result["cue_delivery_p50_ms"],
        result["cue_delivery_p99_ms"],
        result["cue_deliveries"],
        result["server_cores"]
    );
    Ok(result)
}

/// Hours of a 1,000 comments/s room replayed as fast as the server takes them, with the server's
/// RSS sampled at every simulated 10 minutes (600,000 comments) and the store's size at the end.
fn memory(o: &Options) -> Result<Value> {
    replay(o, o.hours, 12_000, 8)
}

/// The issue 10 flood: one simulated hour (3.6 M comments) into one room, offered at the room's
/// own rate limit (`room_events_per_s`, 20,000/s by default) over 12 connections, i.e. as fast
/// as the room takes them; RSS before the load, its peak, and after.
fn flood(o: &Options) -> Result<Value> {
    replay(o, o.flood_hours, 20_000, 12)
}

/// `hours` of a 1,000/s room, sent at `rate` over `connections`: RSS before the load, at every
/// simulated 10 minutes, at its peak (sampled every 200 ms), at the end of the load and after
/// 10 s idle; the store's size.
fn replay(o: &Options, hours: f64, rate: u32, connections: u32) -> Result<Value> {
    let hours = if o.smoke { 0.002 } else { hours };
    // One room takes the whole stream; several connections because each is rate-limited.
    let rate = if o.smoke { 2_000 } else { rate };
    let total = (hours * 3600.0 * 1000.0) as u64;
    // Sends until `total` comments are in; the load generator gets twice the time it needs.
    let secs = (total / u64::from(rate)).max(1) * 2;
    let step = if o.smoke { 1_000 } else { 600_000 };
    let server = Server::start(Some(&rooms_config(1, false)))?;
    let mib = |kib: Option<u64>| kib.unwrap_or(0) as f64 / 1024.0;
    let before = mib(server.rss_kib());
    let mut peak = before;
    let sim = SimProcess::spawn(&server, &room_ids(1), rate, secs, connections, 50)?;
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut next = step;
    let mut ingested = 0;
    while ingested < total && !sim.done() {
        std::thread::sleep(Duration::from_millis(200));
        ingested = server.ingested().unwrap_or(ingested);
        let rss = server.rss_kib().unwrap_or(0);
        peak = peak.max(rss as f64 / 1024.0);
        if ingested >= next {
            samples.push((ingested, rss));
            println!(
                "simulated {:>5.0} min: {ingested:>9} comments, RSS {:.1} MiB",
                ingested as f64 / 1000.0 / 60.0,
                rss as f64 / 1024.0
            );
            while next <= ingested {
                next += step;
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let end = mib(server.rss_kib());
    // Dropping it stops it: the summary is not needed.
    drop(sim);
    // The database is measured once the writer has caught up.
    std::thread::sleep(Duration::from_secs(2));
    let ingested = server.ingested().unwrap_or(ingested);
    let bytes = server.data_bytes();
    // Idle: the windows expire and the allocator may give pages back.
    std::thread::sleep(Duration::from_secs(if o.smoke { 1 } else { 10 }));
    let idle = mib(server.rss_kib());
    let rss: Vec<f64> = samples.iter().map(|s| s.1 as f64 / 1024.0).collect();
    // Warm-up: the first simulated 30 minutes (three samples).
    let warm = rss.get(2.min(rss.len().saturating_sub(1))).copied();
    let last = rss.last().copied();
    let growth = match (warm, last) {
        (Some(w), Some(l)) if w > 0.0 => (l - w) / w * 100.0,
        _ => 0.0,
    };
    let per_million = if ingested > 0 {
        bytes as f64 / ingested as f64 * 1e6 / (1024.0 * 1024.0)
    } else {
        0.0
    };
    let result = json!({
        "simulated_hours": round(ingested as f64 / 3.6e6, 2),
        "target_rate": rate,
        "rate": round(ingested as f64 / elapsed, 0),
        "comments": ingested,
        "rss_mib_before": round(before, 1),
        "rss_mib_samples": rss.iter().map(|r| round(*r, 1)).collect::<Vec<_>>(),
        "rss_mib_peak": round(peak, 1),
        "rss_mib_end": round(end, 1),
        "rss_mib_idle_10s": round(idle, 1),
        "rss_growth_after_warmup_pct": round(growth, 1),
        "store_mib": round(bytes as f64 / (1024.0 * 1024.0), 1),
        "store_mib_per_million": round(per_million, 1),
    });
    println!(
        "{ingested} comments ({} simulated hours at 1,000/s, sent at {}/s); RSS before {} MiB, peak {}, end {}, 10 s idle {}; after warm-up -> end: {:+.1}%; store {} MiB, {} MiB per million comments",
        result["simulated_hours"],
        result["rate"],
        result["rss_mib_before"],
        result["rss_mib_peak"],
        result["rss_mib_end"],
        result["rss_mib_idle_10s"],
        growth,
        result["store_mib"],
        result["store_mib_per_million"]
    );
    Ok(result)
}

// ---------------------------------------------------------------------------------------------
// Probes and watchers

/// Sends `probes` bursts into room `probe`, one a second, and returns for each answered one the
/// milliseconds until its cue reached the overlay and until the burst was acknowledged.
async fn probe_cues(addr: &str, probes: usize) -> Result<Vec<(f64, f64)>> {
    let (mut overlay, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/ws/room/probe?role=overlay")).await?;
    let (mut ingest, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/ws/ingest?room=probe")).await?;
    let topics = [
        ("price", "多少钱"),
        ("size", "什么尺码"),
        ("stock", "还有货吗"),
        ("shipping", "什么时候发货"),
        ("quality", "质量怎么样"),
        ("usage", "怎么用"),
        ("discount", "有优惠吗"),
        ("aftersale", "能退吗"),
        ("demo", "能试一下吗"),
    ];
    let run = epoch_ms();
    let mut out = Vec::new();
    for n in 0..probes {
        let (topic, ask) = topics[n % topics.len()];
        let product = n / topics.len() % 7 + 1;
        let key = format!("{topic}:{product}");
        let now = epoch_ms();
        let events: Vec<Value> = (0..5)
            .map(|v| {
                json!({"type": "comment", "id": format!("p{run}-{n}-{v}"), "ts": now,
                       "user": format!("probe-{run}-{n}-{v}"), "text": format!("{product}号{ask}")})
            })
            .collect();
        let sent = Instant::now();
        ingest
            .send(Message::text(Value::Array(events).to_string()))
            .await?;
        let mut ack_ms = None;
        let mut cue_ms = None;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        while cue_ms.is_none() || ack_ms.is_none() {
            tokio::select! {
                m = overlay.next() => match m {
                    Some(Ok(Message::Text(t))) => {
                        let v: Value = serde_json::from_str(&t)?;
                        if v["type"] == "cue" && v["cue"]["evidence"]["key"] == key.as_str() {
                            cue_ms = Some(sent.elapsed().as_secs_f64() * 1e3);
                        }
                    }
                    Some(Ok(_)) => {}
                    _ => return Err("the overlay connection ended".into()),
                },
                m = ingest.next() => match m {
                    Some(Ok(Message::Text(_))) => ack_ms = Some(sent.elapsed().as_secs_f64() * 1e3),
                    Some(Ok(_)) => {}
                    _ => return Err("the ingest connection ended".into()),
                },
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        if let (Some(c), Some(a)) = (cue_ms, ack_ms) {
            out.push((c, a));
        } else {
            println!("probe {n} ({key}): no cue within 3 s");
        }
        tokio::time::sleep_until(tokio::time::Instant::from_std(
            sent + Duration::from_secs(1),
        ))
        .await;
    }
    Ok(out)
}

#[derive(Default)]
struct Watched {
    messages: u64,
    last_seq: u64,
    /// Messages skipped (a `seq` jumped).
    gaps: u64,
    /// Snapshots after the first (the server resynced a lagging client).
    resyncs: u64,
    closed: bool,
    /// Milliseconds from a cue's `created_at` to its arrival here.
    cue_delays: Vec<f64>,
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Reads a room stream until `stop`, counting what arrives.
async fn watch_room(mut ws: Socket, mut stop: tokio::sync::watch::Receiver<bool>) -> Watched {
    let mut w = Watched::default();
    let mut snapshots = 0;
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            m = ws.next() => match m {
                Some(Ok(Message::Text(t))) => {
                    let Ok(v) = serde_json::from_str::<Value>(&t) else { continue };
                    w.messages += 1;
                    let seq = v["seq"].as_u64().unwrap_or(0);
                    if v["type"] == "snapshot" {
                        snapshots += 1;
                        if snapshots > 1 {
                            w.resyncs += 1;
                        }
                    } else if w.last_seq > 0 && seq > w.last_seq + 1 {
                        w.gaps += seq - w.last_seq - 1;
                    }
                    w.last_seq = w.last_seq.max(seq);
                    if v["type"] == "cue"
                        && let Some(created) = v["cue"]["created_at"].as_i64()
                    {
                        w.cue_delays.push((epoch_ms() - created) as f64);
                    }
                }
                Some(Ok(_)) => {}
                _ => {
                    w.closed = true;
                    break;
                }
            }
        }
    }
    let _ = ws.close(None).await;
    w
}

// ---------------------------------------------------------------------------------------------
// The server and the load generator as processes

struct Server {
    child: Child,
    addr: String,
    dir: PathBuf,
    /// From spawning to the "serving on" line.
    bound: Duration,
    /// From spawning to `/healthz` answering 200.
    ready: Duration,
}

impl Server {
    /// Starts `livecue serve` on 127.0.0.1:0 with `config` (or `--demo`) and a fresh data
    /// directory, and waits until it answers.
    fn start(config: Option<&str>) -> Result<Server> {
        let dir =
            std::env::temp_dir().join(format!("livecue-e2e-{}-{}", std::process::id(), epoch_ms()));
        std::fs::create_dir_all(&dir)?;
        let mut command = Command::new(server_bin());
        command.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"]);
        command.arg(dir.join("data"));
        match config {
            Some(text) => {
                let path = dir.join("livecue.toml");
                std::fs::write(&path, text)?;
                command.arg("--config").arg(path);
            }
            None => {
                command.arg("--demo");
            }
        }
        let started = Instant::now();
        let mut child = command
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let (tx, rx) = mpsc::channel();
        // Reads the address, then keeps draining so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr)
                .lines()
                .map_while(std::result::Result::ok)
            {
                if let Some(rest) = line.split("serving on http://").nth(1) {
                    let _ = tx.send(rest.split('/').next().unwrap_or_default().to_string());
                }
            }
        });
        let mut server = Server {
            child,
            addr: String::new(),
            dir,
            bound: Duration::ZERO,
            ready: Duration::ZERO,
        };
        server.addr = rx
            .recv_timeout(START_TIMEOUT)
            .map_err(|_| "the server did not say where it listens")?;
        server.bound = started.elapsed();
        while http_get(&server.addr, "/healthz").map(|(status, _)| status) != Some(200) {
            if started.elapsed() > START_TIMEOUT {
                return Err("the server did not answer /healthz".into());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        server.ready = started.elapsed();
        Ok(server)
    }

    fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// User + system CPU seconds the server has used so far.
    fn cpu_seconds(&self) -> f64 {
        cpu_seconds(self.child.id()).unwrap_or(0.0)
    }

    /// Comments the server has accepted (from `/metrics`).
    fn ingested(&self) -> Option<u64> {
        let (_, body) = http_get(&self.addr, "/metrics")?;
        Some(
            body.lines()
                .filter(|l| l.starts_with("livecue_events_ingested_total"))
                .filter(|l| l.contains("comment"))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum::<f64>() as u64,
        )
    }

    /// Bytes in the data directory (database, WAL, secret).
    fn data_bytes(&self) -> u64 {
        dir_bytes(&self.dir.join("data"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// `livecue simulate` running in the background.
struct SimProcess {
    child: Child,
    started: Instant,
}

impl SimProcess {
    fn spawn(
        server: &Server,
        rooms: &[String],
        rate: u32,
        secs: u64,
        connections: u32,
        batch: u32,
    ) -> Result<SimProcess> {
        let child = Command::new(BIN)
            .args(["simulate", "--json", "--seed", "7", "--room"])
            .arg(rooms.join(","))
            .args(["--rate", &rate.to_string()])
            .args(["--duration", &format!("{secs}s")])
            .args(["--connections", &connections.to_string()])
            .args(["--batch", &batch.to_string()])
            .args(["--url", &format!("ws://{}", server.addr)])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        Ok(SimProcess {
            child,
            started: Instant::now(),
        })
    }

    /// Exited (gone, or a zombie waiting to be reaped).
    fn done(&self) -> bool {
        std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .map_or(true, |s| s.contains(") Z "))
    }

    /// Waits for the summary (`simulate` bounds its own run).
    fn finish(mut self) -> Result<Value> {
        let mut out = String::new();
        if let Some(mut stdout) = self.child.stdout.take() {
            stdout.read_to_string(&mut out)?;
        }
        // Read before reaping: the exited process still shows its CPU time.
        let cpu = cpu_seconds(self.child.id()).unwrap_or(0.0);
        self.child.wait()?;
        let mut summary: Value =
            serde_json::from_str(out.trim()).map_err(|e| format!("simulate said {out:?}: {e}"))?;
        summary["sim_cores"] = json!(round(cpu / self.started.elapsed().as_secs_f64(), 2));
        Ok(summary)
    }
}

/// Never left running: a scenario that fails stops its load too.
impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn simulate(
    server: &Server,
    rooms: &[String],
    rate: u32,
    secs: u64,
    connections: u32,
    batch: u32,
) -> Result<Value> {
    SimProcess::spawn(server, rooms, rate, secs, connections, batch)?.finish()
}

/// `per_room` comments a second into each of the [`ROOMS`] rooms for `secs`: the load
/// generator's summary and the cores the server used meanwhile.
fn load_rooms(server: &Server, per_room: u32, secs: u64) -> Result<(Value, f64)> {
    let cpu = server.cpu_seconds();
    let wall = Instant::now();
    let rate = per_room * ROOMS as u32;
    let sim = simulate(server, &room_ids(ROOMS), rate, secs, 10, 10)?;
    let cores = (server.cpu_seconds() - cpu) / wall.elapsed().as_secs_f64();
    Ok((sim, cores))
}

fn sim_ok(sim: &Value) -> bool {
    let n = |k: &str| sim[k].as_u64().unwrap_or(0);
    n("sent") > 0
        && n("acked") + n("duplicates") == n("sent")
        && n("rejected") + n("errors") + n("unanswered_frames") == 0
}

/// `n` copies of the demo room (`r0`, `r1`, …), plus a quiet `probe` room that answers every
/// question burst at once.
fn rooms_config(n: usize, probe: bool) -> String {
    let demo = include_str!("../demo/demo.toml");
    let room = &demo[demo.find("[[rooms]]").unwrap_or(0)..];
    let mut config = String::from("[limits]\nevents_per_s = 50000\nevents_burst = 100000\n\n");
    for i in 0..n {
        config.push_str(&room.replacen("id = \"demo\"", &format!("id = \"r{i}\""), 1));
        config.push('\n');
    }
    if probe {
        config.push_str(&room.replacen("id = \"demo\"", "id = \"probe\"", 1));
        config.push_str("\n[rooms.rules]\nanswer_gap_s = 0\n");
    }
    config
}

fn room_ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("r{i}")).collect()
}

// ---------------------------------------------------------------------------------------------
// Small helpers

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?)
}

/// A plain HTTP/1.0 GET on loopback: status and body.
fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n")?.1.to_string();
    Some((status, body))
}

fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
    let rest = stat.rsplit_once(") ")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on Linux.
    Some(ticks / 100.0)
}

fn epoch_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn median(values: &mut [f64]) -> f64 {
    quantile(values, 0.5)
}

/// Nearest-rank quantile; 0 for no values.
fn quantile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}
