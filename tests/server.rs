//! The live loop end to end: the real server on 127.0.0.1:0, real WebSocket and HTTP clients.
//! Every wait is bounded.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use livecue::config::Config;
use livecue::server::{self, Options};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const CONFIG: &str = r#"
[[rooms]]
id = "r1"
name = "测试直播间"
ingest_token = "in-secret"
view_token = "view-secret"
[[rooms.products]]
id = "1"
name = "白鸭绒羽绒服"
aliases = ["羽绒服"]
price = 399.0
[rooms.products.faq]
price = "今天直播间到手{price}元"
[[rooms.products]]
id = "2"
name = "羊毛开衫"
aliases = ["开衫"]
price = 199.0
[rooms.products.faq]
price = "开衫到手{price}元, 拍二件再减20"
size = "160/100斤选M"

[[rooms]]
id = "open"
name = "no tokens"
[[rooms.products]]
id = "1"
name = "保温杯"
"#;

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Server {
    async fn start() -> Server {
        Server::with_config(CONFIG).await
    }

    async fn with_config(toml: &str) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let config = Config::from_toml(toml).unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(server::run(
            listener,
            config,
            Options::default(),
            async move {
                let _ = stopped.await;
            },
        ));
        // Ready when /healthz answers (the analyzer loads first).
        for _ in 0..100 {
            if let Ok(mut s) = TcpStream::connect(addr).await {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let _ = s.write_all(b"GET /healthz HTTP/1.0\r\n\r\n").await;
                let mut buf = Vec::new();
                let _ = s.read_to_end(&mut buf).await;
                if buf.starts_with(b"HTTP/1.0 200") || buf.starts_with(b"HTTP/1.1 200") {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Server {
            addr,
            stop: Some(stop),
            done,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    async fn ingest(&self, room: &str) -> Ws {
        let url = self.url(&format!("/ws/ingest?room={room}&token=in-secret"));
        connect_async(url).await.expect("ingest connects").0
    }

    async fn watch(&self, room: &str, role: &str, since: Option<u64>) -> Ws {
        let mut url = self.url(&format!("/ws/room/{room}?role={role}&token=view-secret"));
        if let Some(s) = since {
            url.push_str(&format!("&since={s}"));
        }
        connect_async(url).await.expect("room stream connects").0
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = tokio::time::timeout(Duration::from_secs(10), self.done).await;
        assert!(
            matches!(result, Ok(Ok(Ok(())))),
            "server stops cleanly: {result:?}"
        );
    }
}

/// The next text message as JSON, within `secs`.
async fn next_json(ws: &mut Ws, secs: u64) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("a message in time")
            .expect("stream open")
            .expect("no error");
        if let Message::Text(t) = msg {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

/// Reads until a message matches, within `secs`.
async fn until(ws: &mut Ws, secs: u64, want: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        assert!(!remaining.is_zero(), "timed out waiting for a message");
        let v = next_json(ws, remaining.as_secs().max(1)).await;
        if want(&v) {
            return v;
        }
    }
}

async fn send(ws: &mut Ws, v: Value) -> Value {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
    next_json(ws, 5).await
}

fn questions(product: &str, text: &str, n: usize, prefix: &str) -> Value {
    Value::Array(
        (0..n)
            .map(|i| {
                json!({"type":"comment","id":format!("{prefix}-{i}"),"user":format!("{prefix}-u{i}"),
                       "text":text.replace("{p}", product)})
            })
            .collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_on_connect_then_acks_and_duplicates() {
    let server = Server::start().await;
    let mut overlay = server.watch("r1", "overlay", None).await;
    let snapshot = next_json(&mut overlay, 5).await;
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["room"]["id"], "r1");
    assert_eq!(snapshot["catalog"].as_array().unwrap().len(), 2);
    assert!(snapshot["stats"]["60s"].is_object());

    let mut ingest = server.ingest("r1").await;
    let ack = send(
        &mut ingest,
        json!({"type":"comment","id":"m-1","user":"u1","text":"2号多少钱"}),
    )
    .await;
    assert_eq!(
        ack,
        json!({"type":"ack","accepted":1,"duplicates":0,"rejected":[]})
    );
    let ack = send(
        &mut ingest,
        json!([{"type":"comment","id":"m-1","user":"u1","text":"2号多少钱"},
               {"type":"like","user":"u2","count":5},
               {"type":"comment","text":""}]),
    )
    .await;
    assert_eq!(ack["accepted"], 1);
    assert_eq!(ack["duplicates"], 1);
    assert_eq!(ack["rejected"][0]["index"], 2);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_are_answered_and_the_connection_carries_on() {
    let server = Server::start().await;
    let mut ingest = server.ingest("r1").await;
    let reply = send(&mut ingest, Value::String("not json".into())).await;
    // A JSON string is valid JSON but not an event.
    assert_eq!(reply["type"], "error");
    ingest
        .send(Message::Text("{\"type\":\"comment\",".into()))
        .await
        .unwrap();
    let reply = next_json(&mut ingest, 5).await;
    assert_eq!(reply["code"], "bad_json");
    ingest
        .send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    let reply = next_json(&mut ingest, 5).await;
    assert_eq!(reply["code"], "binary_not_supported");
    let reply = send(&mut ingest, json!({"type":"shout","text":"x"})).await;
    assert!(
        reply["rejected"][0]["error"]
            .as_str()
            .unwrap()
            .contains("unknown type")
    );
    let reply = send(
        &mut ingest,
        json!({"type":"comment","room":"nope","text":"x"}),
    )
    .await;
    assert!(
        reply["rejected"][0]["error"]
            .as_str()
            .unwrap()
            .contains("room")
    );
    // Still works.
    let ack = send(
        &mut ingest,
        json!({"type":"comment","id":"ok-1","text":"好看"}),
    )
    .await;
    assert_eq!(ack["accepted"], 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_frame_is_closed_with_a_reason() {
    let server = Server::start().await;
    let mut ingest = server.ingest("r1").await;
    let big = format!(
        "{{\"type\":\"comment\",\"text\":\"{}\"}}",
        "好".repeat(40_000)
    );
    let _ = ingest.send(Message::Text(big.into())).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let close = loop {
        match tokio::time::timeout_at(deadline, ingest.next())
            .await
            .expect("closed in time")
        {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => panic!("expected a close frame with a reason"),
        }
    };
    let frame = close.expect("a close frame");
    assert_eq!(frame.code, CloseCode::Size);
    assert!(frame.reason.contains("too big"), "{}", frame.reason);
    // The server carries on.
    let mut again = server.ingest("r1").await;
    let ack = send(&mut again, json!({"type":"comment","text":"还在吗"})).await;
    assert_eq!(ack["accepted"], 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_or_missing_tokens_are_refused_before_any_data() {
    let server = Server::start().await;
    for url in [
        server.url("/ws/room/r1?role=overlay"),
        server.url("/ws/room/r1?role=overlay&token=wrong"),
        server.url("/ws/ingest?room=r1&token=view-secret"),
        server.url("/ws/ingest?room=r1"),
    ] {
        let err = connect_async(url.clone()).await.expect_err(&url);
        assert!(err.to_string().contains("401"), "{url}: {err}");
    }
    let err = connect_async(server.url("/ws/room/nope?role=overlay"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
    // A room without tokens is open.
    let mut open = connect_async(server.url("/ws/room/open?role=overlay"))
        .await
        .unwrap()
        .0;
    assert_eq!(next_json(&mut open, 5).await["type"], "snapshot");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_price_questions_make_an_answer_cue_with_evidence() {
    let server = Server::start().await;
    let mut overlay = server.watch("r1", "overlay", None).await;
    let _ = next_json(&mut overlay, 5).await;
    let mut ingest = server.ingest("r1").await;
    let ack = send(&mut ingest, questions("2", "{p}号多少钱", 60, "q")).await;
    assert_eq!(ack["accepted"], 60);
    let cue = until(&mut overlay, 5, |m| {
        m["type"] == "cue" && m["cue"]["kind"] == "answer_question"
    })
    .await;
    let cue = &cue["cue"];
    assert_eq!(cue["product"], "2");
    assert_eq!(cue["evidence"]["key"], "price:2");
    assert!(cue["evidence"]["count"].as_u64().unwrap() >= 5);
    let samples = cue["evidence"]["samples"].as_array().unwrap();
    assert!(!samples.is_empty() && samples.len() <= 3);
    assert!(cue["text"].as_str().unwrap().contains("199"), "{cue}");
    for field in ["id", "reason", "priority", "created_at", "expires_at"] {
        assert!(!cue[field].is_null(), "cue has {field}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demand_shift_makes_a_product_order_cue_and_set_pitching_reaches_everyone() {
    let server = Server::start().await;
    let mut console = server.watch("r1", "console", None).await;
    let snapshot = next_json(&mut console, 5).await;
    assert_eq!(snapshot["pitching"], "1");
    let mut other = server.watch("r1", "overlay", None).await;
    let _ = next_json(&mut other, 5).await;

    let mut ingest = server.ingest("r1").await;
    let _ = send(&mut ingest, questions("2", "{p}号链接呢", 15, "l")).await;
    let _ = send(&mut ingest, questions("2", "开衫多少钱", 15, "p")).await;
    let cue = until(&mut other, 5, |m| {
        m["type"] == "cue" && m["cue"]["kind"] == "product_order"
    })
    .await;
    assert_eq!(cue["cue"]["product"], "2");
    assert_eq!(cue["cue"]["evidence"]["ranking"][0]["product"], "2");

    let reply = send(
        &mut console,
        json!({"type":"set_pitching","product":"2","req":"a1"}),
    )
    .await;
    // The reply or the broadcast may come first; collect both.
    let mut seen = vec![reply];
    while !seen.iter().any(|m| m["type"] == "reply") {
        seen.push(next_json(&mut console, 5).await);
    }
    let reply = seen.iter().find(|m| m["type"] == "reply").unwrap();
    assert_eq!(reply["req"], "a1");
    assert_eq!(reply["ok"], true);
    let pitching = until(&mut other, 5, |m| m["type"] == "pitching").await;
    assert_eq!(pitching["product"], "2");

    let err = send(&mut console, json!({"type":"set_pitching","product":"9"})).await;
    let err = if err["type"] == "error" {
        err
    } else {
        until(&mut console, 5, |m| m["type"] == "error").await
    };
    assert_eq!(err["code"], "unknown_product");
    let mut overlay = server.watch("r1", "overlay", None).await;
    let _ = next_json(&mut overlay, 5).await;
    let refused = send(&mut overlay, json!({"type":"set_pitching","product":"1"})).await;
    let refused = if refused["type"] == "error" {
        refused
    } else {
        until(&mut overlay, 5, |m| m["type"] == "error").await
    };
    assert_eq!(refused["code"], "read_only");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_client_does_not_stop_another_from_getting_cues() {
    let server = Server::start().await;
    // Connected, never read.
    let _stalled = server.watch("r1", "overlay", None).await;
    let mut live = server.watch("r1", "overlay", None).await;
    let _ = next_json(&mut live, 5).await;
    let mut ingest = server.ingest("r1").await;
    for round in 0..5 {
        let _ = send(
            &mut ingest,
            questions("1", "羽绒服多少钱", 20, &format!("s{round}")),
        )
        .await;
    }
    let cue = until(&mut live, 5, |m| {
        m["type"] == "cue" && m["cue"]["kind"] == "answer_question"
    })
    .await;
    assert_eq!(cue["cue"]["product"], "1");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_with_since_gets_what_was_missed() {
    let server = Server::start().await;
    let mut first = server.watch("r1", "overlay", None).await;
    let snapshot = next_json(&mut first, 5).await;
    let seq = snapshot["seq"].as_u64().unwrap();
    drop(first);
    let mut ingest = server.ingest("r1").await;
    let _ = send(&mut ingest, questions("2", "{p}号多少钱", 30, "r")).await;
    // Let a cue and a stats message go by while nobody watches.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut again = server.watch("r1", "overlay", Some(seq)).await;
    let missed = next_json(&mut again, 5).await;
    assert_ne!(
        missed["type"], "snapshot",
        "missed messages come from the ring"
    );
    assert_eq!(missed["seq"].as_u64().unwrap(), seq + 1);
    let cue = until(&mut again, 5, |m| m["type"] == "cue").await;
    assert!(cue["seq"].as_u64().unwrap() > seq);
    // A seq the server never issued gets a fresh snapshot.
    let mut stale = server.watch("r1", "overlay", Some(10_000_000)).await;
    assert_eq!(next_json(&mut stale, 5).await["type"], "snapshot");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_events_metrics_and_health() {
    let server = Server::start().await;
    let http = |method: &str, path: &str, body: &str, token: Option<&str>| {
        let addr = server.addr;
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n{}\r\n{body}",
            body.len(),
            token
                .map(|t| format!("Authorization: Bearer {t}\r\n"))
                .unwrap_or_default()
        );
        async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(req.as_bytes()).await.unwrap();
            let mut buf = Vec::new();
            tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf))
                .await
                .unwrap()
                .unwrap();
            String::from_utf8_lossy(&buf).into_owned()
        }
    };
    let ndjson = "{\"type\":\"comment\",\"id\":\"h1\",\"text\":\"好看\"}\n{\"type\":\"gift\",\"gift\":\"小心心\",\"count\":2}\n";
    let resp = http("POST", "/api/rooms/r1/events", ndjson, Some("in-secret")).await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains("\"accepted\":2"), "{resp}");
    // Issue 22: one event pretty-printed over several lines is one event, not a rejection a line.
    let pretty = "{\n  \"type\": \"comment\",\n  \"id\": \"h2\",\n  \"text\": \"2号多少钱\"\n}\n";
    let resp = http("POST", "/api/rooms/r1/events", pretty, Some("in-secret")).await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(
        resp.contains("\"accepted\":1") && resp.contains("\"rejected\":[]"),
        "{resp}"
    );
    let resp = http("POST", "/api/rooms/r1/events", ndjson, None).await;
    assert!(resp.starts_with("HTTP/1.1 401"), "{resp}");
    let resp = http("POST", "/api/rooms/zz/events", "[]", None).await;
    assert!(resp.starts_with("HTTP/1.1 404"), "{resp}");
    let resp = http("POST", "/api/rooms/r1/events", "{oops", Some("in-secret")).await;
    assert!(
        resp.starts_with("HTTP/1.1 400") && resp.contains("bad_json"),
        "{resp}"
    );
    let resp = http("GET", "/healthz", "", None).await;
    assert!(
        resp.starts_with("HTTP/1.1 200") && resp.ends_with("ok\n"),
        "{resp}"
    );
    let resp = http("GET", "/metrics", "", None).await;
    assert!(
        resp.contains("livecue_events_ingested_total{room=\"r1\",kind=\"comment\"} 2"),
        "{resp}"
    );
    let resp = http("GET", "/", "", None).await;
    assert!(
        resp.contains("/overlay?room=r1") && resp.contains("测试直播间"),
        "{resp}"
    );
    // The pages of a room with a view token say so without it, and load with it.
    let resp = http("GET", "/overlay?room=r1", "", None).await;
    assert!(resp.starts_with("HTTP/1.1 401"), "{resp}");
    for page in [
        "/overlay?room=r1&token=view-secret",
        "/console?room=r1&token=view-secret",
        "/overlay?room=open",
    ] {
        let resp = http("GET", page, "", None).await;
        assert!(resp.starts_with("HTTP/1.1 200"), "{page}: {resp}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_clients_with_going_away() {
    let server = Server::start().await;
    let mut overlay = server.watch("r1", "overlay", None).await;
    let _ = next_json(&mut overlay, 5).await;
    let stopping = tokio::spawn(server.stop());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let code = loop {
        match tokio::time::timeout_at(deadline, overlay.next())
            .await
            .expect("closed in time")
        {
            Some(Ok(Message::Close(frame))) => break frame.map(|f| f.code),
            Some(Ok(_)) => continue,
            _ => break None,
        }
    };
    assert_eq!(code, Some(CloseCode::Away));
    stopping.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_is_acked_then_closed_with_a_reason() {
    let config = format!("[limits]\nevents_per_s = 10\nevents_burst = 20\n{CONFIG}");
    let server = Server::with_config(&config).await;
    let mut ingest = server.ingest("r1").await;
    let ack = send(&mut ingest, questions("1", "羽绒服好看", 15, "f1")).await;
    assert_eq!(ack["accepted"], 15);
    // Over the burst: this frame is still acknowledged, then the connection is closed.
    let ack = send(&mut ingest, questions("1", "羽绒服好看", 15, "f2")).await;
    assert_eq!(ack["accepted"], 15);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let frame = loop {
        match tokio::time::timeout_at(deadline, ingest.next())
            .await
            .expect("closed in time")
        {
            Some(Ok(Message::Close(frame))) => break frame.expect("a close frame"),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(frame.code, CloseCode::Policy);
    assert!(frame.reason.contains("rate limit"), "{}", frame.reason);
    server.stop().await;
}
