//! The `simulate` and `replay` clients against a fake ingest server.
//!
//! Each test starts a tiny WebSocket server on `127.0.0.1:0` that answers every text frame the
//! way the real one does (`{"type":"ack","accepted":N,...}`), runs the real `livecue` binary
//! against it with `--json`, and checks the summary against what the server saw. Runs are short
//! (at most 1 s of sending each) and loopback only; no timing is asserted.

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// How the fake server answers.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Accept every event.
    AckAll,
    /// Reject the first event of every frame.
    RejectFirst,
    /// Close the connection with 1008 after this many frames.
    CloseAfter(usize),
    /// Read frames, answer none.
    Silent,
}

/// What the fake server saw.
#[derive(Debug, Default)]
struct Seen {
    /// Request URIs (path and query) of the connections.
    uris: Vec<String>,
    frames: usize,
    events: Vec<Value>,
    /// Close frames received from the client, as `code reason`.
    closes: Vec<String>,
}

/// The fake server: where it listens and what it saw.
struct Server {
    url: String,
    seen: Arc<Mutex<Seen>>,
}

/// Starts the fake server; it runs until the test's runtime ends.
async fn fake_server(mode: Mode) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Seen::default()));
    let shared = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            // As a real server should: acks are small and must not wait for TCP acks.
            let _ = tcp.set_nodelay(true);
            tokio::spawn(serve_connection(tcp, mode, shared.clone()));
        }
    });
    Server { url, seen }
}

/// One connection of the fake server: record the handshake, answer frames as `mode` says.
async fn serve_connection(tcp: TcpStream, mode: Mode, seen: Arc<Mutex<Seen>>) {
    // The callback's signature (and its large error type) is tungstenite's.
    #[allow(clippy::result_large_err)]
    let record = |req: &Request, resp: Response| {
        seen.lock().unwrap().uris.push(req.uri().to_string());
        Ok(resp)
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, record).await else {
        return;
    };
    let mut frames = 0;
    while let Some(Ok(msg)) = ws.next().await {
        let text = match msg {
            Message::Text(text) => text,
            Message::Close(frame) => {
                let close = frame.map_or("none".into(), |f| {
                    format!("{} {}", u16::from(f.code), f.reason)
                });
                seen.lock().unwrap().closes.push(close);
                break;
            }
            _ => continue,
        };
        frames += 1;
        if let Mode::CloseAfter(n) = mode
            && frames > n
        {
            let close = CloseFrame {
                code: CloseCode::Policy,
                reason: "too many frames".into(),
            };
            let _ = ws.close(Some(close)).await;
            break;
        }
        let events = match serde_json::from_str::<Value>(&text).unwrap() {
            Value::Array(items) => items,
            one => vec![one],
        };
        let n = events.len();
        {
            let mut seen = seen.lock().unwrap();
            seen.frames += 1;
            seen.events.extend(events);
        }
        let ack = match mode {
            Mode::Silent => continue,
            Mode::RejectFirst => serde_json::json!({"type": "ack",
                "accepted": n - 1, "duplicates": 0,
                "rejected": [{"index": 0, "error": "text: is empty"}]}),
            _ => serde_json::json!({"type": "ack",
                "accepted": n, "duplicates": 0, "rejected": []}),
        };
        if ws.send(Message::text(ack.to_string())).await.is_err() {
            break;
        }
    }
}

/// Runs `livecue COMMAND ARGS --url URL --json` off the runtime and parses the summary; kills it
/// and fails after [`RUN_LIMIT`].
async fn livecue(command: &[&str], args: &str, url: &str) -> (Output, Value) {
    let mut argv: Vec<String> = command.iter().map(|s| s.to_string()).collect();
    argv.extend(args.split_whitespace().map(String::from));
    argv.extend(["--url".into(), url.into(), "--json".into()]);
    let output = tokio::task::spawn_blocking(move || run_bounded(&argv))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "summary is not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output, summary)
}

/// How long one run of the binary may take (the longest sends for 1 s, then waits at most 5 s).
const RUN_LIMIT: Duration = Duration::from_secs(30);

/// Runs the binary, collecting its output; kills it when it outlives [`RUN_LIMIT`].
fn run_bounded(argv: &[String]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_livecue"))
        .args(argv)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drained as it comes, so a chatty child never blocks on a full pipe.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("livecue {argv:?} did not finish within {RUN_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// `livecue simulate --room demo ARGS` against `url`.
async fn simulate(url: &str, args: &str) -> (Output, Value) {
    livecue(&["simulate", "--room", "demo"], args, url).await
}

/// `livecue replay FILE --room live1 ARGS` against `url`.
async fn replay(file: &str, url: &str, args: &str) -> (Output, Value) {
    livecue(&["replay", file, "--room", "live1"], args, url).await
}

fn n(summary: &Value, key: &str) -> u64 {
    summary[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} in {summary}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulate_counts_every_ack() {
    let server = fake_server(Mode::AckAll).await;
    let args = "--rate 400 --duration 1s --connections 2 --batch 5 --token a&b=c --seed 7";
    let (output, s) = simulate(&server.url, args).await;
    assert!(output.status.success(), "{s}");
    let sent = n(&s, "sent");
    assert!(sent > 0, "{s}");
    assert_eq!(n(&s, "acked"), sent, "{s}");
    assert_eq!(n(&s, "frames") * 5, sent, "{s}");
    assert_eq!(
        n(&s, "rejected") + n(&s, "errors") + n(&s, "unanswered_frames"),
        0
    );
    assert_eq!(n(&s, "seed"), 7);
    assert!(s["latency_ms"]["p50"].as_f64().is_some(), "{s}");
    assert!(s["connection_failures"].as_array().unwrap().is_empty());

    let seen = server.seen.lock().unwrap();
    assert_eq!(seen.events.len() as u64, sent);
    assert_eq!(seen.frames as u64, n(&s, "frames"));
    assert_eq!(seen.uris.len(), 2);
    for uri in &seen.uris {
        assert_eq!(uri, "/ws/ingest?room=demo&token=a%26b%3Dc");
    }
    // Both connections said goodbye properly.
    assert_eq!(seen.closes.len(), 2, "{:?}", seen.closes);
    assert!(seen.closes.iter().all(|c| c.starts_with("1000")));
    let mut ids = std::collections::HashSet::new();
    for event in &seen.events {
        assert!(ids.insert(event["id"].as_str().unwrap().to_string()));
        assert!(["comment", "gift", "order"].contains(&event["type"].as_str().unwrap()));
        assert!(event["ts"].as_i64().is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulate_spreads_connections_over_several_rooms() {
    let server = fake_server(Mode::AckAll).await;
    // Three rooms but one connection asked for: each room still gets its own connection.
    let (output, s) = livecue(
        &["simulate", "--room", "r0,r1", "--room", "r2"],
        "--rate 300 --duration 1s --connections 1 --seed 3",
        &server.url,
    )
    .await;
    assert!(output.status.success(), "{s}");
    assert_eq!(s["room"], "r0,r1,r2");
    assert_eq!(n(&s, "connections"), 3);
    assert_eq!(n(&s, "acked"), n(&s, "sent"), "{s}");
    let seen = server.seen.lock().unwrap();
    let mut uris = seen.uris.clone();
    uris.sort();
    assert_eq!(
        uris,
        [
            "/ws/ingest?room=r0",
            "/ws/ingest?room=r1",
            "/ws/ingest?room=r2"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulate_reports_a_server_close_and_a_refused_connection() {
    let server = fake_server(Mode::CloseAfter(3)).await;
    let args = "--rate 200 --duration 1s --connections 1 --batch 10";
    let (output, s) = simulate(&server.url, args).await;
    assert_eq!(output.status.code(), Some(1), "{s}");
    assert_eq!(n(&s, "acked"), 30, "{s}");
    let closes = s["closed_by_server"].as_array().unwrap();
    assert_eq!(closes.len(), 1, "{s}");
    assert!(
        closes[0].as_str().unwrap().contains("1008 too many frames"),
        "{s}"
    );

    // Nothing listens on a port just freed.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("ws://127.0.0.1:{port}");
    let (output, s) = simulate(&url, "--duration 1s --connections 2").await;
    assert_eq!(output.status.code(), Some(1), "{s}");
    assert_eq!(n(&s, "sent"), 0);
    assert_eq!(s["connection_failures"].as_array().unwrap().len(), 2, "{s}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulate_gives_up_on_a_silent_server() {
    let server = fake_server(Mode::Silent).await;
    let args = "--rate 100 --duration 500ms --connections 1";
    let (output, s) = simulate(&server.url, args).await;
    assert_eq!(output.status.code(), Some(1), "{s}");
    assert!(n(&s, "frames") > 0, "{s}");
    assert_eq!(n(&s, "unanswered_frames"), n(&s, "frames"), "{s}");
    assert_eq!(n(&s, "acked"), 0, "{s}");
    assert!(s["latency_ms"]["p50"].is_null(), "{s}");
    // After the ack wait (at most 5 s), the connection still closes normally.
    let seen = server.seen.lock().unwrap();
    assert_eq!(seen.closes.len(), 1, "{:?}", seen.closes);
    assert!(seen.closes[0].starts_with("1000"), "{:?}", seen.closes);
}

const RECORDING: &str = r#"# recorded 2025-11-23
{"type":"comment","id":"r-1","room":"other","user":"u1","text":"2号多少钱","ts":1763900000000}
{"type":"comment","id":"r-2","user":"u2","text":"链接呢","ts":1763900000000}

{"type":"like","id":"r-3","user":"u3","count":5}
not json
{"type":"comment","id":"r-4","text":"拍了","ts":1763900001000}
{"type":"comment","id":"r-5","text":"好看","ts":1763900002000}
{"type":"gift","id":"r-6","gift":"玫瑰","value":1.0,"ts":1763900003000}
{"type":"comment","id":"r-7","text":"  ","ts":1763900004000}
"#;

fn recording(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, RECORDING).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_paces_batches_and_sets_the_room() {
    let server = fake_server(Mode::AckAll).await;
    let file = recording("replay-acked.jsonl");
    let (output, s) = replay(&file, &server.url, "--speed 10").await;
    // Two bad lines: "not json" (line 6) and the blank comment (line 10).
    assert_eq!(output.status.code(), Some(1), "{s}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(":6: skipped"), "{stderr}");
    assert!(stderr.contains(":10: skipped"), "{stderr}");
    assert_eq!(n(&s, "lines"), 10, "{s}");
    assert_eq!(n(&s, "bad_lines"), 2, "{s}");
    assert_eq!(n(&s, "sent"), 6, "{s}");
    assert_eq!(n(&s, "acked"), 6, "{s}");
    // r-1, r-2 (same ts) and r-3 (no ts) share a frame; the rest are 100 ms apart.
    assert_eq!(n(&s, "frames"), 4, "{s}");

    let seen = server.seen.lock().unwrap();
    assert_eq!(seen.uris, ["/ws/ingest?room=live1"]);
    let ids: Vec<&str> = seen
        .events
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["r-1", "r-2", "r-3", "r-4", "r-5", "r-6"]);
    assert!(seen.events.iter().all(|e| e["room"] == "live1"));
    // ts is rewritten to the send time, in order.
    let ts: Vec<i64> = seen
        .events
        .iter()
        .map(|e| e["ts"].as_i64().unwrap())
        .collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "{ts:?}");
    assert!(ts[0] > 1_763_900_004_000, "{ts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_reports_rejections_by_line() {
    let server = fake_server(Mode::RejectFirst).await;
    let file = recording("replay-rejected.jsonl");
    let (output, s) = replay(&file, &server.url, "--speed 0 --keep-ts").await;
    assert_eq!(output.status.code(), Some(1), "{s}");
    let frames = n(&s, "frames");
    assert_eq!(n(&s, "sent"), 6, "{s}");
    assert_eq!(n(&s, "rejected"), frames, "{s}");
    assert_eq!(n(&s, "acked"), 6 - frames, "{s}");
    let samples = s["rejected_samples"].as_array().unwrap();
    assert_eq!(samples[0], "line 2: text: is empty", "{s}");

    let seen = server.seen.lock().unwrap();
    assert_eq!(seen.events[0]["ts"], 1_763_900_000_000i64);
    assert!(seen.events[2].get("ts").is_none());
}
