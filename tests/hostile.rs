//! Hostile and broken input (issue 10): the real server with a store on 127.0.0.1:0, a real
//! WebSocket client writing what a broken or malicious source would. Each case gets a clear
//! error reply or a close code with a reason, and afterwards the server and the room carry
//! on: a fresh client ingests and is acked, and what was stored before is still there.

mod common;

use std::time::Duration;

use common::{Server, Ws, close_frame, next_json, send};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};

const CONFIG: &str = r#"
[limits]
idle_timeout_s = 2

[[rooms]]
id = "r1"
name = "恶意输入"
view_token = "v"
[[rooms.products]]
id = "1"
name = "白鸭绒羽绒服"
aliases = ["羽绒服"]
price = 399.0
"#;

async fn ingest(server: &Server) -> Ws {
    server.ws("/ws/ingest?room=r1").await
}

/// Comments in the room's session, from the store (the review).
async fn stored(server: &Server) -> u64 {
    server.report("r1", "v").await["summary"]["comments"]
        .as_u64()
        .unwrap_or(0)
}

/// Seeds `n` comments; returns how many the store holds afterwards.
async fn seed(server: &Server, prefix: &str, n: usize) -> u64 {
    let mut ws = ingest(server).await;
    let frame: Vec<Value> = (0..n)
        .map(|i| json!({"type":"comment","id":format!("{prefix}-{i}"),"user":format!("u{i}"),"text":"羽绒服多少钱"}))
        .collect();
    let ack = send(&mut ws, Value::Array(frame).to_string()).await;
    assert_eq!(ack["accepted"], n, "{ack}");
    stored(server).await
}

/// The server and the room carry on: a fresh client is acked and the store kept everything.
async fn carries_on(server: &Server, before: u64, tag: &str) {
    let mut ws = ingest(server).await;
    let ack = send(
        &mut ws,
        json!({"type":"comment","id":format!("after-{tag}"),"text":"还在吗"}).to_string(),
    )
    .await;
    assert_eq!(ack["accepted"], 1, "after {tag}: {ack}");
    let now = stored(server).await;
    assert_eq!(now, before + 1, "after {tag}: stored comments");
    let mut overlay = server.ws("/ws/room/r1?role=overlay&token=v").await;
    assert_eq!(next_json(&mut overlay, 10).await["type"], "snapshot");
}

fn raw(opcode: OpCode, payload: Vec<u8>, fin: bool) -> Message {
    Message::Frame(Frame::message(payload, opcode, fin))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_truncated_nested_huge_and_wrong_json_get_clear_replies() {
    let server = Server::start(CONFIG, true).await;
    let before = seed(&server, "seed", 5).await;
    let mut ws = ingest(&server).await;

    let valid = json!({"type":"comment","id":"t-1","user":"u1","text":"2号多少钱"}).to_string();
    // Truncated at every offset: each is bad_json, never a crash or a hang.
    for cut in 1..valid.len() {
        if !valid.is_char_boundary(cut) {
            continue;
        }
        let reply = send(&mut ws, &valid[..cut]).await;
        assert_eq!(reply["type"], "error", "cut at {cut}: {reply}");
        assert_eq!(reply["code"], "bad_json", "cut at {cut}: {reply}");
    }
    let frame_errors: &[(&str, String)] = &[
        ("bad_json", String::new()),
        ("bad_json", "{\"type\":\"comment\",".into()),
        ("bad_json", "{'type':'comment'}".into()),
        ("bad_json", "[".repeat(20_000)),
        (
            "bad_json",
            format!("{}1{}", "[".repeat(5_000), "]".repeat(5_000)),
        ),
        (
            "bad_json",
            format!("{}{{}}{}", "{\"a\":".repeat(3_000), "}".repeat(3_000)),
        ),
        ("bad_frame", "\"just a string\"".into()),
        ("bad_frame", "12345".into()),
        ("bad_frame", "null".into()),
        (
            "too_many_events",
            Value::Array(vec![json!({"type":"like"}); 1001]).to_string(),
        ),
    ];
    for (code, frame) in frame_errors {
        let reply = send(&mut ws, frame.clone()).await;
        assert_eq!(reply["type"], "error", "{reply}");
        assert_eq!(reply["code"], *code, "{reply}");
        assert!(reply["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // Per-event problems: rejected with their index, the rest of the frame accepted.
    // Numbers JSON cannot hold make the whole frame unreadable.
    for number in ["1e400".to_owned(), "-1e400".to_owned(), "9".repeat(30_000)] {
        let reply = send(&mut ws, format!("{{\"type\":\"like\",\"count\":{number}}}")).await;
        assert_eq!(reply["code"], "bad_json", "{reply}");
        assert!(
            reply["message"].as_str().unwrap().contains("number"),
            "{reply}"
        );
    }
    let events =         r#"[{{"type":"comment","id":"ok-1","text":"好看"}},
            {{"type":"like","count":1e300}},
            {{"type":"like","count":-1}},
            {{"type":"like","count":18446744073709551616}},
            {{"type":"comment","text":"x","ts":99999999999999999999999}},
            {{"type":"comment","text":"x","ts":1.5}},
            {{"type":"comment","text":42}},
            {{"type":"comment","text":null}},
            {{"type":7}},
            {{"type":"order","product":["2"]}},
            {{"type":"gift","gift":"火箭","value":-5}},
            {{"type":"comment","id":"ok-2","text":"羽绒服有黑色吗","colour":"red","nested":{{"deep":[1,2,{{"x":null}}]}}}},
            {{"type":"gift","id":"ok-3","gift":"火箭","count":4294967295,"value":1e308}}
        ]"#
    .replace("{{", "{")
    .replace("}}", "}");
    let ack = send(&mut ws, events).await;
    assert_eq!(ack["type"], "ack", "{ack}");
    assert_eq!(ack["accepted"], 3, "{ack}");
    let rejected: Vec<u64> = ack["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["index"].as_u64().unwrap())
        .collect();
    assert_eq!(rejected, (1..=10).collect::<Vec<u64>>(), "{ack}");
    for r in ack["rejected"].as_array().unwrap() {
        assert!(r["error"].as_str().is_some_and(|e| !e.is_empty()), "{r}");
    }
    // A huge but finite gift value must not break the stats or the review.
    let mut overlay = server.ws("/ws/room/r1?role=overlay&token=v").await;
    let snapshot = next_json(&mut overlay, 10).await;
    assert_eq!(snapshot["type"], "snapshot");
    let stats = common::until(&mut overlay, 10, |m| m["type"] == "stats").await;
    assert!(
        stats["stats"].is_object() || stats["60s"].is_object(),
        "{stats}"
    );
    for format in ["html", "csv"] {
        let resp = server
            .http(
                "GET",
                &format!("/api/rooms/r1/report?format={format}&token=v"),
                &[],
                "",
            )
            .await;
        assert_eq!(resp.status, 200, "{format}");
    }
    // The same connection is still usable.
    let ack = send(&mut ws, json!({"type":"like","count":3}).to_string()).await;
    assert_eq!(ack["accepted"], 1);
    carries_on(&server, before + 2, "malformed").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_in_a_text_frame_closes_with_1007() {
    let server = Server::start(CONFIG, true).await;
    let before = seed(&server, "seed", 3).await;
    let mut ws = ingest(&server).await;
    let mut payload = b"{\"type\":\"comment\",\"text\":\"".to_vec();
    payload.extend_from_slice(&[0xff, 0xfe, 0xc3, 0x28]);
    payload.extend_from_slice(b"\"}");
    ws.send(raw(OpCode::Data(Data::Text), payload, true))
        .await
        .unwrap();
    let frame = close_frame(&mut ws, 10).await.expect("a close frame");
    assert_eq!(frame.code, CloseCode::Invalid, "{frame:?}");
    assert!(frame.reason.contains("UTF-8"), "{}", frame.reason);
    carries_on(&server, before, "utf8").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_frames_are_answered_and_the_connection_carries_on() {
    let server = Server::start(CONFIG, true).await;
    let before = seed(&server, "seed", 3).await;
    let mut ws = ingest(&server).await;
    for payload in [
        vec![],
        vec![0u8; 1],
        vec![0xde, 0xad, 0xbe, 0xef],
        vec![7u8; 60_000],
    ] {
        ws.send(Message::Binary(payload.into())).await.unwrap();
        let reply = next_json(&mut ws, 10).await;
        assert_eq!(reply["code"], "binary_not_supported", "{reply}");
    }
    // The room stream answers binary the same way.
    let mut console = server.ws("/ws/room/r1?role=console&token=v").await;
    let _ = next_json(&mut console, 10).await;
    console
        .send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    let reply = common::until(&mut console, 10, |m| m["type"] == "error").await;
    assert_eq!(reply["code"], "binary_not_supported");
    let ack = send(&mut ws, json!({"type":"like"}).to_string()).await;
    assert_eq!(ack["accepted"], 1);
    carries_on(&server, before, "binary").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_16_mib_frame_and_a_1_mb_comment_close_with_1009() {
    let server = Server::start(CONFIG, true).await;
    let before = seed(&server, "seed", 3).await;
    // One 16 MiB frame: refused from its header, long before it has arrived.
    let ws = ingest(&server).await;
    let huge = vec![b'a'; 16 * 1024 * 1024];
    let (mut sink, mut stream) = ws.split();
    let writer = tokio::spawn(async move {
        let _ = sink.send(raw(OpCode::Data(Data::Text), huge, true)).await;
    });
    let frame = close_frame(&mut stream, 20)
        .await
        .expect("a close frame before the connection ends");
    assert_eq!(frame.code, CloseCode::Size, "{frame:?}");
    assert!(frame.reason.contains("too big"), "{}", frame.reason);
    writer.abort();

    // A 1 MB comment in fragments of 16 KiB: the message limit counts the whole message.
    let ws = ingest(&server).await;
    let text = format!(
        "{{\"type\":\"comment\",\"text\":\"{}\"}}",
        "好".repeat(1_000_000 / 3)
    );
    let bytes = text.into_bytes();
    let chunks: Vec<&[u8]> = bytes.chunks(16 * 1024).collect();
    let (mut sink, mut stream) = ws.split();
    let last = chunks.len() - 1;
    let frames: Vec<Message> = chunks
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let op = if i == 0 {
                OpCode::Data(Data::Text)
            } else {
                OpCode::Data(Data::Continue)
            };
            raw(op, c.to_vec(), i == last)
        })
        .collect();
    let writer = tokio::spawn(async move {
        for f in frames {
            if sink.send(f).await.is_err() {
                return;
            }
        }
    });
    let frame = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(m) = stream.next().await {
            if let Ok(Message::Close(frame)) = m {
                return frame;
            }
            if m.is_err() {
                return None;
            }
        }
        None
    })
    .await
    .expect("answered in time")
    .expect("a close frame");
    assert_eq!(frame.code, CloseCode::Size);
    writer.abort();

    // Over HTTP the same comment fits the body limit and is refused by the event's own limit.
    let body = json!([{"type":"comment","id":"big","text":"好".repeat(1_000_000 / 3)}]).to_string();
    let resp = server
        .http("POST", "/api/rooms/r1/events", &[], &body)
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let ack: Value = serde_json::from_str(&resp.body).unwrap();
    assert_eq!(ack["accepted"], 0);
    assert!(
        ack["rejected"][0]["error"]
            .as_str()
            .unwrap()
            .contains("longer than"),
        "{ack}"
    );
    // Over the body limit: 413 before anything is parsed.
    let body = "x".repeat(2 * 1024 * 1024);
    let resp = server
        .http("POST", "/api/rooms/r1/events", &[], &body)
        .await;
    assert_eq!(resp.status, 413, "{}", resp.head);
    carries_on(&server, before, "16mib").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fragmented_message_that_never_finishes_is_closed_by_the_idle_timeout() {
    let server = Server::start(CONFIG, true).await;
    let before = seed(&server, "seed", 3).await;
    let mut ws = ingest(&server).await;
    ws.send(raw(
        OpCode::Data(Data::Text),
        b"{\"type\":\"comment\",\"text\":\"".to_vec(),
        false,
    ))
    .await
    .unwrap();
    ws.send(raw(
        OpCode::Data(Data::Continue),
        "未完".as_bytes().to_vec(),
        false,
    ))
    .await
    .unwrap();
    // Neither finished nor read from (so the server's ping goes unanswered).
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    let frame = close_frame(&mut ws, 10).await.expect("a close frame");
    assert_eq!(frame.code, CloseCode::Away, "{frame:?}");
    assert!(frame.reason.contains("idle"), "{}", frame.reason);
    // A reading client answers pings and is kept.
    let mut patient = ingest(&server).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let reader = tokio::time::timeout(Duration::from_millis(3_500), patient.next()).await;
    assert!(
        reader.is_err() || matches!(reader, Ok(Some(Ok(Message::Ping(_))))),
        "{reader:?}"
    );
    let ack = send(&mut patient, json!({"type":"like"}).to_string()).await;
    assert_eq!(ack["accepted"], 1, "{ack}");
    assert!(server.metrics().await.contains("reason=\"idle_timeout\""));
    carries_on(&server, before, "fragment").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_flood_is_closed_with_a_reason() {
    let server = Server::start(CONFIG, true).await;
    let before = seed(&server, "seed", 3).await;
    let ws = ingest(&server).await;
    let (mut sink, mut stream) = ws.split();
    let writer = tokio::spawn(async move {
        for i in 0..20_000u32 {
            if sink
                .send(Message::Ping(i.to_be_bytes().to_vec().into()))
                .await
                .is_err()
            {
                return i;
            }
        }
        20_000
    });
    let frame = close_frame(&mut stream, 20).await.expect("a close frame");
    assert_eq!(frame.code, CloseCode::Policy);
    assert!(frame.reason.contains("rate limit"), "{}", frame.reason);
    let sent = tokio::time::timeout(Duration::from_secs(10), writer).await;
    eprintln!("ping flood: {sent:?} pings sent before the close");
    carries_on(&server, before, "pings").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_tiny_frames_in_a_second_are_cut_at_the_frame_rate() {
    let server = Server::start(CONFIG, true).await;
    let before = seed(&server, "seed", 3).await;
    let ws = ingest(&server).await;
    let (mut sink, mut stream) = ws.split();
    let started = std::time::Instant::now();
    let writer = tokio::spawn(async move {
        let mut sent = 0u32;
        for i in 0..10_000u32 {
            let frame = format!("{{\"type\":\"like\",\"id\":\"f{i}\"}}");
            if sink.send(Message::Text(frame.into())).await.is_err() {
                break;
            }
            sent += 1;
        }
        sent
    });
    let (mut acks, mut accepted) = (0u64, 0u64);
    let frame = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(m) = stream.next().await {
            match m {
                Ok(Message::Text(t)) => {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    acks += 1;
                    accepted += v["accepted"].as_u64().unwrap_or(0);
                }
                Ok(Message::Close(frame)) => return frame,
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
        None
    })
    .await
    .expect("closed in time")
    .expect("a close frame");
    let sent = writer.await.unwrap_or(0);
    eprintln!(
        "tiny frames: {sent} sent in {:?}, {acks} acked ({accepted} events) before close {:?}",
        started.elapsed(),
        frame
    );
    assert_eq!(frame.code, CloseCode::Policy);
    assert!(frame.reason.contains("frames/s"), "{}", frame.reason);
    // Everything acknowledged was taken; the rest was not half-taken.
    assert_eq!(acks, accepted);
    assert!((1_000..10_000).contains(&acks), "{acks}");
    carries_on(&server, before, "tiny").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_width_and_right_to_left_text_is_taken_and_shown_safely() {
    let server = Server::start(CONFIG, true).await;
    let before = seed(&server, "seed", 3).await;
    let mut ws = ingest(&server).await;
    let texts = [
        "\u{200b}\u{200b}\u{200b}",
        "\u{feff}",
        "\u{202e}看好很\u{202c} 羽绒服",
        "\u{200f}2号多少钱\u{200e}",
        "羽\u{200d}绒\u{200c}服 多少钱\u{2066}?\u{2069}",
        "مرحبا 羽绒服 שלום",
        "<script>alert(1)</script>\u{202e}gnp.exe",
        "\u{0000}\u{0001}控制字符\u{007f}",
    ];
    let frame: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"type":"comment","id":format!("zw-{i}"),"user":format!("z{i}"),"text":t}))
        .collect();
    let ack = send(&mut ws, Value::Array(frame).to_string()).await;
    assert_eq!(ack["type"], "ack", "{ack}");
    assert_eq!(
        ack["accepted"].as_u64().unwrap() + ack["rejected"].as_array().unwrap().len() as u64,
        texts.len() as u64,
        "{ack}"
    );
    let accepted = ack["accepted"].as_u64().unwrap();
    assert!(accepted >= 6, "{ack}");
    let mut console = server.ws("/ws/room/r1?role=console&token=v").await;
    let snapshot = next_json(&mut console, 10).await;
    assert_eq!(snapshot["type"], "snapshot");
    for format in ["html", "csv", "json"] {
        let resp = server
            .http(
                "GET",
                &format!("/api/rooms/r1/report?format={format}&token=v"),
                &[],
                "",
            )
            .await;
        assert_eq!(resp.status, 200, "{format}");
        assert_eq!(
            resp.header("x-content-type-options").as_deref(),
            Some("nosniff")
        );
        if format == "html" {
            assert!(
                !resp.body.contains("<script>alert"),
                "the html is not escaped"
            );
        }
    }
    assert_eq!(stored(&server).await, before + accepted);
    carries_on(&server, before + accepted, "zero-width").await;
    server.stop().await;
}
