//! Issue 9, platform sources, end to end: each adapter against a fake platform on 127.0.0.1
//! (built from the documented layouts: real zlib/brotli/gzip bodies, nested packets, protobuf
//! frames encoded with our .proto), feeding a real room. Exactly the expected events must reach
//! the room, duplicates dropped, the adapter must come back after the platform drops it, send
//! heartbeats on schedule (paused time), and count garbage without stopping. No test touches a
//! real platform. Every wait is bounded.

mod common;

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use livecue::analyze::Analyzer;
use livecue::config::Config;
use livecue::live::{RoomHandle, RoomStore, Rooms};
use livecue::metrics::Metrics;
use livecue::sources::bilibili::{self, OP_AUTH, OP_AUTH_REPLY, OP_COMMAND, OP_HEARTBEAT};
use livecue::sources::douyin::{self, PushFrame};
use livecue::sources::{SourceSnapshot, Sources, douyin_open};
use prost::Message as _;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The analyzer loads its dictionary once for all tests of this file.
static ANALYZER: LazyLock<Arc<Analyzer>> = LazyLock::new(|| Arc::new(Analyzer::embedded()));

const T0: i64 = 1_763_900_000_000;

/// A room with sources, as `serve` would run it.
struct Fixture {
    room: Arc<RoomHandle>,
    sources: Sources,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

impl Fixture {
    fn start(toml: &str) -> Fixture {
        Fixture::start_with_store(toml, None)
    }

    /// As `serve` runs a room with a store: its records (and its sources' gaps) go to `store`.
    fn start_with_store(toml: &str, store: Option<RoomStore>) -> Fixture {
        let config = Config::from_toml(toml).unwrap_or_else(|e| panic!("{e}"));
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        let rooms = Rooms::new(
            ANALYZER.clone(),
            Arc::new(Metrics::new()),
            config.limits.clone(),
            cancel.clone(),
            tracker.clone(),
        );
        let room = rooms
            .open(&config.rooms[0], store, Default::default())
            .expect("room opens");
        let feeds = livecue::server::feeds(&rooms, &config).expect("rooms open");
        let sources =
            Sources::start(rooms.metrics(), feeds, &cancel, &tracker).expect("sources start");
        Fixture {
            room,
            sources,
            cancel,
            tracker,
        }
    }

    /// The room's `totals` now.
    async fn totals(&self) -> Value {
        let snapshot = self.room.snapshot().await.expect("room answers");
        let v: Value = serde_json::from_str(snapshot.json.as_str()).unwrap();
        v["stats"]["totals"].clone()
    }

    /// The recent comments' texts, oldest first.
    async fn texts(&self) -> Vec<String> {
        let snapshot = self.room.snapshot().await.expect("room answers");
        let v: Value = serde_json::from_str(snapshot.json.as_str()).unwrap();
        v["comments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["text"].as_str().unwrap().to_owned())
            .collect()
    }

    fn status(&self) -> SourceSnapshot {
        self.sources.snapshot().remove(0)
    }

    /// Waits (at most 10 s) until `done` holds for the totals and the source's status.
    async fn wait_for(&self, what: &str, done: impl Fn(&Value, &SourceSnapshot) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let totals = self.totals().await;
            let status = self.status();
            if done(&totals, &status) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "waiting for {what}: totals {totals}, status {status:#?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn stop(self) {
        self.cancel.cancel();
        self.tracker.close();
        tokio::time::timeout(Duration::from_secs(5), self.tracker.wait())
            .await
            .expect("sources and room stop on cancel");
        assert_eq!(
            self.sources.snapshot()[0].state,
            livecue::sources::SourceState::Stopped
        );
    }
}

/// Asserts the totals that matter to these tests.
fn assert_totals(
    t: &Value,
    comments: u64,
    gifts: u64,
    value: f64,
    likes: u64,
    enters: u64,
    follows: u64,
) {
    assert_eq!(t["comments"], comments, "comments in {t}");
    assert_eq!(t["gifts"], gifts, "gifts in {t}");
    assert!(
        (t["gift_value"].as_f64().unwrap() - value).abs() < 1e-6,
        "gift_value in {t}"
    );
    assert_eq!(t["likes"], likes, "likes in {t}");
    assert_eq!(t["enters"], enters, "enters in {t}");
    assert_eq!(t["follows"], follows, "follows in {t}");
}

type ServerWs = WebSocketStream<TcpStream>;

/// A fake platform's socket on 127.0.0.1:0, and its address.
async fn listen() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// Accepts one WebSocket connection, keeping its request headers.
// The handshake callback's error type is tungstenite's own.
#[allow(clippy::result_large_err)]
async fn accept(listener: &TcpListener) -> (ServerWs, Vec<(String, String)>) {
    let (tcp, _) = tokio::time::timeout(Duration::from_secs(120), listener.accept())
        .await
        .expect("the adapter connects")
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let keep = seen.clone();
    let ws = tokio_tungstenite::accept_hdr_async(tcp, move |req: &Request, res: Response| {
        let mut headers = keep.lock().unwrap();
        // The request's target, under a name no header can have.
        headers.push((":uri".to_owned(), req.uri().to_string()));
        for (k, v) in req.headers() {
            headers.push((k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()));
        }
        Ok(res)
    })
    .await
    .unwrap();
    let headers = seen.lock().unwrap().clone();
    (ws, headers)
}

/// The next binary message from the adapter (pings and pongs skipped).
async fn next_binary(ws: &mut ServerWs) -> Vec<u8> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(60), ws.next())
            .await
            .expect("the adapter sends")
            .expect("open")
            .expect("no error");
        if let Message::Binary(bytes) = message {
            return bytes.to_vec();
        }
    }
}

/// Closes gracefully: the adapter answers the close, nothing unread is left behind.
async fn close_gracefully(mut ws: ServerWs) {
    let _ = ws.close(None).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(data).unwrap();
    z.finish().unwrap()
}

fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        w.write_all(data).unwrap();
    }
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(data).unwrap();
    z.finish().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Bilibili (web)
// ---------------------------------------------------------------------------------------------

fn command(v: Value) -> Vec<u8> {
    bilibili::encode(0, OP_COMMAND, 0, v.to_string().as_bytes())
}

fn danmu(text: &str, uid: u64, ts: i64) -> Vec<u8> {
    command(json!({"cmd": "DANMU_MSG:4:0:2:2:2:0", "info": [
        [0, 1, 25, 16777215, ts, 0, 0, "", 0, 0, 0, "", 0, "{}", "{}", {}],
        text, [uid, format!("观众{uid}"), 0, 0, 0, 10000, 1, ""], [21, "粉丝牌", "主播", 1, 0],
        [10, 0, 9868950, ">50000"], ["", ""], 0, 0, null, {"ts": ts / 1000, "ct": "AB"}, 0, 0
    ]}))
}

fn interact(uid: u64, kind: u64, at: u64) -> Vec<u8> {
    command(
        json!({"cmd": "INTERACT_WORD", "data": {"uid": uid, "uname": "路人",
        "msg_type": kind, "timestamp": at / 1_000_000_000, "trigger_time": at}}),
    )
}

/// Reads the auth packet and answers it; returns its JSON.
async fn bili_auth(ws: &mut ServerWs) -> Value {
    let bytes = next_binary(ws).await;
    let decoded = bilibili::decode(&bytes);
    assert_eq!(decoded.errors, []);
    let auth = &decoded.packets[0];
    assert_eq!((auth.protover, auth.op), (1, OP_AUTH));
    let body: Value = serde_json::from_slice(&auth.body).unwrap();
    ws.send(Message::Binary(
        bilibili::encode(1, OP_AUTH_REPLY, 1, br#"{"code":0}"#).into(),
    ))
    .await
    .unwrap();
    body
}

/// Answers heartbeats until the connection ends, reporting each one's arrival.
async fn bili_answer_heartbeats(mut ws: ServerWs, beats: mpsc::UnboundedSender<Instant>) {
    while let Some(Ok(message)) = ws.next().await {
        if let Message::Binary(bytes) = message {
            for p in bilibili::decode(&bytes).packets {
                if p.op == OP_HEARTBEAT {
                    let _ = beats.send(Instant::now());
                    let reply = bilibili::encode(1, 3, 1, &1u32.to_be_bytes());
                    if ws.send(Message::Binary(reply.into())).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

fn bili_config(addr: SocketAddr, extra: &str) -> String {
    format!(
        r#"
        [[rooms]]
        id = "r1"
        name = "测试直播间"
        [[rooms.products]]
        id = "2"
        name = "羊毛开衫"
        [[rooms.sources]]
        kind = "bilibili"
        name = "bili"
        url = "ws://{addr}/sub"
        room_id = 22824550
        key = "the-key"
        uid = 7
        user_agent = "LiveCueTest/1"
        backoff_min_ms = 20
        backoff_max_ms = 200
        {extra}
        "#
    )
}

#[tokio::test]
async fn issue9_bilibili_stream_reaches_the_room_exactly_once_and_survives_a_drop() {
    let (listener, addr) = listen().await;
    let fixture = Fixture::start(&bili_config(addr, ""));

    // Connection 1: the scripted stream, then the platform drops the adapter.
    let (mut ws, headers) = accept(&listener).await;
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "user-agent" && v == "LiveCueTest/1")
    );
    let auth = bili_auth(&mut ws).await;
    assert_eq!(
        auth,
        json!({"uid": 7, "roomid": 22824550, "protover": 3, "platform": "web", "type": 2, "key": "the-key"})
    );
    // Brotli (protover 3) body with nested packets.
    let nested = [
        danmu("2号多少钱", 1001, T0 + 1),
        danmu("有大码吗", 1002, T0 + 2),
        command(
            json!({"cmd": "SEND_GIFT", "data": {"giftName": "小花花", "num": 3, "uid": 1001,
            "uname": "观众1001", "coin_type": "gold", "total_coin": 300, "timestamp": T0 / 1000,
            "tid": "t-1"}}),
        ),
        interact(1003, 1, 1_763_900_000_000_000_001),
        interact(1003, 2, 1_763_900_000_000_000_002),
        interact(1003, 3, 1_763_900_000_000_000_003),
        command(json!({"cmd": "LIKE_INFO_V3_CLICK", "data": {"uid": 1003, "uname": "路人"}})),
        command(json!({"cmd": "WATCHED_CHANGE", "data": {"num": 4321}})),
        command(json!({"cmd": "LIVE", "roomid": 22824550})),
        command(json!({"cmd": "ONLINE_RANK_V2", "data": {}})),
    ]
    .concat();
    let message = bilibili::encode(3, OP_COMMAND, 0, &brotli(&nested));
    ws.send(Message::Binary(message.into())).await.unwrap();
    // Zlib (protover 2): a super chat, and the first comment again (a duplicate).
    let nested = [
        command(json!({"cmd": "SUPER_CHAT_MESSAGE", "data": {"id": 77, "uid": 1004, "price": 30,
            "message": "主播能试穿2号吗", "user_info": {"uname": "大户"}, "start_time": T0 / 1000}})),
        danmu("2号多少钱", 1001, T0 + 1),
    ]
    .concat();
    let message = bilibili::encode(2, OP_COMMAND, 0, &zlib(&nested));
    ws.send(Message::Binary(message.into())).await.unwrap();
    // Garbage: cut short, an impossible header, a bad zlib body, a text frame.
    let cut = &danmu("被截断", 9, T0)[..20];
    ws.send(Message::Binary(cut.to_vec().into())).await.unwrap();
    let bad_header = [0, 0, 0, 20, 0, 4, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 1, 2, 3, 4];
    ws.send(Message::Binary(bad_header.to_vec().into()))
        .await
        .unwrap();
    let bad_zlib = bilibili::encode(2, OP_COMMAND, 0, b"definitely not zlib");
    ws.send(Message::Binary(bad_zlib.into())).await.unwrap();
    ws.send(Message::Text("hello".into())).await.unwrap();
    // A plain JSON packet (protover 0) still gets through after all that.
    ws.send(Message::Binary(danmu("好看", 1005, T0 + 3).into()))
        .await
        .unwrap();

    fixture
        .wait_for("the first connection's events", |t, _| {
            t["comments"] == 4 && t["gifts"] == 4
        })
        .await;
    close_gracefully(ws).await;

    // Connection 2: the adapter comes back by itself.
    let (mut ws, _) = accept(&listener).await;
    bili_auth(&mut ws).await;
    ws.send(Message::Binary(danmu("回来了", 1006, T0 + 4).into()))
        .await
        .unwrap();
    let (beats, _beats_rx) = mpsc::unbounded_channel();
    let server = tokio::spawn(bili_answer_heartbeats(ws, beats));

    fixture
        .wait_for("the reconnection", |t, s| t["comments"] == 5 && s.connected)
        .await;
    // Nothing more arrives than expected.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let totals = fixture.totals().await;
    assert_totals(&totals, 5, 4, 30.3, 1, 1, 1);
    let texts = fixture.texts().await;
    assert_eq!(
        texts,
        ["2号多少钱", "有大码吗", "主播能试穿2号吗", "好看", "回来了"]
    );

    let s = fixture.status();
    assert_eq!(s.kind, "bilibili");
    assert_eq!(s.name, "bili");
    assert_eq!(s.reconnects, 1);
    assert_eq!(s.events, 10);
    assert_eq!(s.duplicates, 1);
    assert_eq!(s.shares, 1);
    assert_eq!(s.watched, Some(4321));
    assert_eq!(s.live, Some(true));
    assert_eq!(s.ignored.get("ONLINE_RANK_V2"), Some(&1));
    for kind in ["truncated", "bad_header", "decompress", "text_frame"] {
        assert_eq!(
            s.decode_errors.get(kind),
            Some(&1),
            "{kind}: {:?}",
            s.decode_errors
        );
    }
    assert_eq!(s.gaps_total, 1);
    assert_eq!(s.gaps[0].reason, "disconnected");
    assert!(s.gaps[0].from <= s.gaps[0].to);
    assert!(s.heartbeats_sent >= 2, "one right after each auth");
    let mut metrics = String::new();
    fixture.sources.encode_metrics(&mut metrics);
    assert!(metrics.contains(
        "livecue_source_reconnects_total{room=\"r1\",source=\"bili\",kind=\"bilibili\"} 1"
    ));

    fixture.stop().await;
    server.abort();
}

#[tokio::test(start_paused = true)]
async fn issue9_bilibili_heartbeats_every_30_seconds() {
    let (listener, addr) = listen().await;
    let fixture = Fixture::start(&bili_config(addr, ""));
    let (mut ws, _) = accept(&listener).await;
    bili_auth(&mut ws).await;
    let authed = Instant::now();
    let (tx, mut beats) = mpsc::unbounded_channel();
    let server = tokio::spawn(bili_answer_heartbeats(ws, tx));
    let mut at = Vec::new();
    while at.len() < 4 {
        let beat = tokio::time::timeout(Duration::from_secs(120), beats.recv())
            .await
            .expect("a heartbeat within 120 s")
            .expect("server running");
        at.push(beat);
    }
    assert!(
        at[0] - authed < Duration::from_secs(1),
        "the first right after auth"
    );
    for pair in at.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_secs(30) && gap < Duration::from_secs(31),
            "heartbeats {gap:?} apart"
        );
    }
    assert!(
        fixture.status().connected,
        "heartbeat replies keep it connected"
    );
    assert_eq!(fixture.status().reconnects, 0);
    fixture.stop().await;
    server.abort();
}

#[tokio::test(start_paused = true)]
async fn issue9_bilibili_silent_platform_is_left_and_rejoined() {
    let (listener, addr) = listen().await;
    let fixture = Fixture::start(&bili_config(addr, "idle_timeout_s = 45"));
    // Authenticates, then never answers again (heartbeats unanswered).
    let (mut ws, _) = accept(&listener).await;
    bili_auth(&mut ws).await;
    let silent = tokio::spawn(async move { while let Some(Ok(_)) = ws.next().await {} });
    let (mut ws, _) = accept(&listener).await;
    bili_auth(&mut ws).await;
    fixture
        .wait_for("the rejoin", |_, s| s.connected && s.reconnects == 1)
        .await;
    let s = fixture.status();
    assert!(s.gaps_total == 1, "{s:#?}");
    fixture.stop().await;
    silent.abort();
}

#[tokio::test]
async fn issue9_bilibili_refused_auth_backs_off_and_retries() {
    let (listener, addr) = listen().await;
    let fixture = Fixture::start(&bili_config(addr, ""));
    for _ in 0..2 {
        let (mut ws, _) = accept(&listener).await;
        let _ = next_binary(&mut ws).await;
        ws.send(Message::Binary(
            bilibili::encode(1, OP_AUTH_REPLY, 1, br#"{"code":-101}"#).into(),
        ))
        .await
        .unwrap();
        close_gracefully(ws).await;
    }
    let (mut ws, _) = accept(&listener).await;
    bili_auth(&mut ws).await;
    fixture
        .wait_for("the third attempt", |_, s| s.connected)
        .await;
    let s = fixture.status();
    assert_eq!(s.reconnects, 2);
    // Messages may be missing from the first attempt until the first connection came up.
    assert_eq!(s.gaps_total, 1, "{s:#?}");
    assert_eq!(s.gaps[0].reason, "not_connected");
    assert!(s.gaps[0].from <= s.gaps[0].to);
    fixture.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Bilibili open platform
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn issue9_bilibili_open_platform_stream() {
    let (listener, addr) = listen().await;
    let fixture = Fixture::start(&format!(
        r#"
        [[rooms]]
        id = "r1"
        [[rooms.sources]]
        kind = "bilibili_open"
        url = "ws://{addr}/sub"
        auth_body = '{{"key":"open-key","group":"open"}}'
        backoff_min_ms = 20
        "#
    ));
    let (mut ws, _) = accept(&listener).await;
    let auth = bili_auth(&mut ws).await;
    assert_eq!(
        auth,
        json!({"key": "open-key", "group": "open"}),
        "sent verbatim"
    );
    let dm = |id: &str, text: &str| {
        command(
            json!({"cmd": "LIVE_OPEN_PLATFORM_DM", "data": {"open_id": "o1", "uname": "猫",
            "msg": text, "msg_id": id, "timestamp": T0 / 1000, "room_id": 1}}),
        )
    };
    let nested = [
        dm("m1", "2号多少钱"),
        dm("m2", "好看"),
        dm("m1", "2号多少钱"),
        command(
            json!({"cmd": "LIVE_OPEN_PLATFORM_SEND_GIFT", "data": {"open_id": "o2",
            "uname": "阿青", "gift_name": "牛哇", "gift_num": 2, "price": 100, "paid": true,
            "msg_id": "g1", "timestamp": T0 / 1000}}),
        ),
        command(
            json!({"cmd": "LIVE_OPEN_PLATFORM_LIKE", "data": {"open_id": "o3",
            "uname": "路人", "like_count": 8, "msg_id": "l1", "timestamp": T0 / 1000}}),
        ),
    ]
    .concat();
    let message = bilibili::encode(2, OP_COMMAND, 0, &zlib(&nested));
    ws.send(Message::Binary(message.into())).await.unwrap();
    fixture
        .wait_for("the open-platform events", |t, _| {
            t["comments"] == 2 && t["likes"] == 8
        })
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_totals(&fixture.totals().await, 2, 2, 0.2, 8, 0, 0);
    assert_eq!(fixture.status().duplicates, 1);
    fixture.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Douyin (web)
// ---------------------------------------------------------------------------------------------

fn dy_user(id: u64) -> douyin::User {
    douyin::User {
        id,
        nick_name: format!("用户{id}"),
        fans_club: None,
    }
}

fn dy_shopping(msg_id: i64, msg_type: i32, promotion: i64) -> douyin::Message {
    dy_message(
        "WebcastLiveShoppingMessage",
        msg_id,
        douyin::LiveShoppingMessage {
            msg_type,
            promotion_id: promotion,
            ..douyin::LiveShoppingMessage::default()
        }
        .encode_to_vec(),
    )
}

fn dy_chat(msg_id: i64, text: &str, user: u64) -> douyin::Message {
    douyin::Message {
        method: "WebcastChatMessage".into(),
        msg_id,
        payload: douyin::ChatMessage {
            common: None,
            user: Some(dy_user(user)),
            content: text.into(),
            event_time: (T0 / 1000) as u64,
        }
        .encode_to_vec(),
    }
}

fn dy_message(method: &str, msg_id: i64, payload: Vec<u8>) -> douyin::Message {
    douyin::Message {
        method: method.into(),
        msg_id,
        payload,
    }
}

fn dy_frame(
    seq_id: u64,
    log_id: u64,
    messages: Vec<douyin::Message>,
    ack: Option<&str>,
) -> Vec<u8> {
    let response = douyin::Response {
        messages_list: messages,
        cursor: "c".into(),
        internal_ext: ack.unwrap_or("").into(),
        need_ack: ack.is_some(),
        ..douyin::Response::default()
    };
    PushFrame {
        seq_id,
        log_id,
        payload_encoding: "gzip".into(),
        payload_type: "msg".into(),
        payload: gzip(&response.encode_to_vec()),
        ..PushFrame::default()
    }
    .encode_to_vec()
}

/// The next frame the adapter sends of this type (others skipped), with its arrival time.
async fn dy_next(ws: &mut ServerWs, payload_type: &str) -> (PushFrame, Instant) {
    loop {
        let bytes = next_binary(ws).await;
        let frame = PushFrame::decode(bytes.as_slice()).expect("the adapter sends PushFrames");
        if frame.payload_type == payload_type {
            return (frame, Instant::now());
        }
    }
}

fn douyin_config(addr: SocketAddr) -> String {
    format!(
        r#"
        [[rooms]]
        id = "r1"
        [[rooms.sources]]
        kind = "douyin"
        url = "ws://{addr}/webcast/im/push/v2/?room_id=7300000000000000000&signature=abc"
        room_id = 7300000000000000000
        cookie = "ttwid=test-cookie"
        user_agent = "LiveCueTest/1"
        backoff_min_ms = 20
        backoff_max_ms = 200
        "#
    )
}

#[tokio::test]
async fn issue9_douyin_stream_acks_dedupes_and_survives_a_drop() {
    let (listener, addr) = listen().await;
    let fixture = Fixture::start(&douyin_config(addr));

    let (mut ws, headers) = accept(&listener).await;
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "cookie" && v == "ttwid=test-cookie")
    );
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "user-agent" && v == "LiveCueTest/1")
    );
    let gift = |end: u32, repeat: u64| {
        douyin::GiftMessage {
            gift_id: 463,
            group_count: 1,
            repeat_count: repeat,
            combo_count: repeat,
            user: Some(dy_user(3)),
            repeat_end: end,
            gift: Some(douyin::GiftStruct {
                id: 463,
                combo: true,
                diamond_count: 1,
                name: "小心心".into(),
            }),
            ..douyin::GiftMessage::default()
        }
        .encode_to_vec()
    };
    let social = |action: u64| {
        douyin::SocialMessage {
            user: Some(dy_user(4)),
            action,
            ..douyin::SocialMessage::default()
        }
        .encode_to_vec()
    };
    let first = dy_frame(
        1,
        111,
        vec![
            dy_chat(2001, "2号多少钱", 1),
            dy_message("WebcastGiftMessage", 2002, gift(0, 1)),
            dy_message("WebcastGiftMessage", 2003, gift(0, 3)),
            dy_message("WebcastGiftMessage", 2004, gift(1, 5)),
            dy_message(
                "WebcastLikeMessage",
                2005,
                douyin::LikeMessage {
                    count: 15,
                    user: Some(dy_user(2)),
                    ..douyin::LikeMessage::default()
                }
                .encode_to_vec(),
            ),
            dy_message(
                "WebcastMemberMessage",
                2006,
                douyin::MemberMessage {
                    user: Some(dy_user(5)),
                    ..douyin::MemberMessage::default()
                }
                .encode_to_vec(),
            ),
            dy_message("WebcastSocialMessage", 2007, social(1)),
            dy_message("WebcastSocialMessage", 2008, social(2)),
            dy_message(
                "WebcastRoomUserSeqMessage",
                2009,
                douyin::RoomUserSeqMessage {
                    total: 321,
                    total_user: 9876,
                    ..douyin::RoomUserSeqMessage::default()
                }
                .encode_to_vec(),
            ),
            dy_message(
                "WebcastProductChangeMessage",
                2010,
                douyin::ProductChangeMessage {
                    common: None,
                    update_toast: "2号已上架".into(),
                    total: 6,
                }
                .encode_to_vec(),
            ),
            dy_shopping(
                2014,
                douyin::SHOPPING_SET_CURRENT,
                3_560_000_000_000_000_001,
            ),
            dy_message("WebcastRanklistHourEntranceMessage", 2015, vec![8, 1]),
        ],
        Some("internal_src:dim|first"),
    );
    ws.send(Message::Binary(first.into())).await.unwrap();
    let (ack, _) = dy_next(&mut ws, "ack").await;
    assert_eq!(ack.log_id, 111, "the ack echoes the frame's logId");
    assert_eq!(ack.payload, b"internal_src:dim|first");
    // The first comment again (a duplicate), a new one, no ack asked.
    let second = dy_frame(
        2,
        112,
        vec![dy_chat(2001, "2号多少钱", 1), dy_chat(2011, "有大码吗", 6)],
        None,
    );
    ws.send(Message::Binary(second.into())).await.unwrap();
    // Garbage, then the stream ends.
    ws.send(Message::Binary(vec![0xff, 0x01, 0x02].into()))
        .await
        .unwrap();
    ws.send(Message::Text("{}".into())).await.unwrap();
    let ended = dy_frame(
        3,
        113,
        vec![dy_message(
            "WebcastControlMessage",
            2012,
            douyin::ControlMessage {
                common: None,
                status: 3,
            }
            .encode_to_vec(),
        )],
        None,
    );
    ws.send(Message::Binary(ended.into())).await.unwrap();
    fixture
        .wait_for("the first connection's events", |t, s| {
            t["comments"] == 2 && s.live == Some(false)
        })
        .await;
    close_gracefully(ws).await;

    let (mut ws, _) = accept(&listener).await;
    let back = dy_frame(1, 201, vec![dy_chat(2013, "回来了", 7)], Some("again"));
    ws.send(Message::Binary(back.into())).await.unwrap();
    let (ack, _) = dy_next(&mut ws, "ack").await;
    assert_eq!((ack.log_id, ack.payload.as_slice()), (201, &b"again"[..]));
    fixture
        .wait_for("the reconnection", |t, s| t["comments"] == 3 && s.connected)
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The combo gift counts once, on its last message: 5 × 1 抖币 = 0.5 yuan.
    assert_totals(&fixture.totals().await, 3, 5, 0.5, 15, 1, 1);
    assert_eq!(fixture.texts().await, ["2号多少钱", "有大码吗", "回来了"]);
    let s = fixture.status();
    assert_eq!(s.kind, "douyin");
    assert!(
        s.endpoint.ends_with("?…"),
        "the signed query is not shown: {}",
        s.endpoint
    );
    assert_eq!(s.reconnects, 1);
    assert_eq!(s.duplicates, 1);
    assert_eq!(s.shares, 1);
    assert_eq!(s.viewers, Some(321));
    assert_eq!(s.watched, Some(9876));
    assert_eq!(s.live, Some(false));
    assert_eq!(s.decode_errors.get("bad_frame"), Some(&1));
    assert_eq!(s.decode_errors.get("text_frame"), Some(&1));
    assert_eq!(
        s.ignored.get("WebcastRanklistHourEntranceMessage"),
        Some(&1)
    );
    let shelf = s.shelf.as_ref().unwrap();
    assert_eq!((shelf.total, shelf.note.as_str()), (Some(6), "2号已上架"));
    // Not mapped in this source's `products`: a hint with the platform's id only, and the
    // room's pitched product is left alone.
    let hint = s.pitching_hint.as_ref().unwrap();
    assert_eq!(hint.promotion.as_deref(), Some("3560000000000000001"));
    assert_eq!(hint.product, None);
    assert_eq!(
        s.ignored.get("WebcastGiftMessage(combo in progress)"),
        Some(&2)
    );
    assert_eq!(s.gaps_total, 1);
    fixture.stop().await;
}

#[tokio::test(start_paused = true)]
async fn issue9_douyin_heartbeats_every_10_seconds() {
    let (listener, addr) = listen().await;
    let fixture = Fixture::start(&douyin_config(addr));
    let (mut ws, _) = accept(&listener).await;
    let connected = Instant::now();
    let mut at = Vec::new();
    for _ in 0..3 {
        // Keep the connection alive with audience figures, as a live room does.
        let seq = dy_frame(
            0,
            0,
            vec![dy_message(
                "WebcastRoomUserSeqMessage",
                0,
                douyin::RoomUserSeqMessage {
                    total: 5,
                    ..douyin::RoomUserSeqMessage::default()
                }
                .encode_to_vec(),
            )],
            None,
        );
        ws.send(Message::Binary(seq.into())).await.unwrap();
        let (_, when) = dy_next(&mut ws, "hb").await;
        at.push(when);
    }
    let first = at[0] - connected;
    assert!(
        first >= Duration::from_secs(10) && first < Duration::from_secs(11),
        "first heartbeat after {first:?}"
    );
    for pair in at.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_secs(10) && gap < Duration::from_secs(11),
            "heartbeats {gap:?} apart"
        );
    }
    assert_eq!(fixture.status().heartbeats_sent, 3);
    assert_eq!(fixture.status().reconnects, 0);
    fixture.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Webhooks: Douyin open platform and generic JSON
// ---------------------------------------------------------------------------------------------

/// Serves the sources' webhook routes on 127.0.0.1:0.
async fn serve(fixture: &Fixture) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    serve_router(fixture.sources.router()).await
}

/// Serves `router` on 127.0.0.1:0 (a fake platform's HTTP API, the webhook routes).
async fn serve_router(router: axum::Router) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let (listener, addr) = listen().await;
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (addr, server)
}

/// A raw HTTP/1.1 POST; returns the status code and the body.
async fn post(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> (u16, Value) {
    http(addr, "POST", path, headers, body).await
}

/// A raw HTTP/1.1 request; returns the status code and the body as JSON (null when not).
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> (u16, Value) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    tcp.write_all(body).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut response))
        .await
        .expect("an answer in time")
        .unwrap();
    let text = String::from_utf8(response).unwrap();
    let status: u16 = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn signed(
    msg_type: &str,
    room: &str,
    body: &[u8],
    secret: &str,
    nonce: &str,
) -> Vec<(&'static str, String)> {
    let ts = "1763900000000";
    vec![
        ("x-nonce-str", nonce.into()),
        ("x-timestamp", ts.into()),
        ("x-roomid", room.into()),
        ("x-msg-type", msg_type.into()),
        (
            "x-signature",
            douyin_open::signature(msg_type, nonce, room, ts, body, secret),
        ),
    ]
}

#[tokio::test]
async fn issue9_douyin_open_webhook_verifies_dedupes_and_answers() {
    let fixture = Fixture::start(
        r#"
        [[rooms]]
        id = "r1"
        [[rooms.sources]]
        kind = "douyin_open"
        url = "/hooks/douyin"
        secret = "s3cret"
        room_id = 7300000000000000000
        [rooms.sources.gift_names]
        "n1" = "小心心"
        "#,
    );
    assert_eq!(
        fixture.sources.handles()[0].webhook_path(),
        Some("/hooks/douyin")
    );
    let (addr, server) = serve(&fixture).await;
    let room = "7300000000000000000";
    let comments = json!([
        {"msg_id": "m1", "sec_openid": "o1", "content": "2号多少钱", "avatar_url": "",
         "nickname": "小鱼", "timestamp": T0},
        {"msg_id": "m2", "sec_openid": "o2", "content": "有大码吗", "avatar_url": "",
         "nickname": "阿青", "timestamp": T0 + 1}
    ])
    .to_string();
    let body = comments.as_bytes();

    let (status, ack) = post(
        addr,
        "/hooks/douyin",
        &signed("live_comment", room, body, "s3cret", "n-1"),
        body,
    )
    .await;
    assert_eq!(status, 200, "{ack}");
    assert_eq!(
        ack,
        json!({"type": "ack", "accepted": 2, "duplicates": 0, "rejected": []})
    );

    // The platform may push the same items again: dropped on msg_id.
    let (status, ack) = post(
        addr,
        "/hooks/douyin",
        &signed("live_comment", room, body, "s3cret", "n-2"),
        body,
    )
    .await;
    assert_eq!((status, &ack["duplicates"]), (200, &json!(2)));

    // A forged push: 401, nothing stored.
    let forged = json!([{"msg_id": "m9", "sec_openid": "x", "content": "假的", "timestamp": T0}])
        .to_string();
    let headers = signed("live_comment", room, body, "s3cret", "n-3");
    let (status, error) = post(addr, "/hooks/douyin", &headers, forged.as_bytes()).await;
    assert_eq!((status, &error["code"]), (401, &json!("bad_signature")));
    let wrong_secret = signed("live_comment", room, forged.as_bytes(), "guess", "n-4");
    let (status, _) = post(addr, "/hooks/douyin", &wrong_secret, forged.as_bytes()).await;
    assert_eq!(status, 401);
    let (status, _) = post(addr, "/hooks/douyin", &[], forged.as_bytes()).await;
    assert_eq!(status, 401, "unsigned");
    // Another room: not ours.
    let (status, _) = post(
        addr,
        "/hooks/douyin",
        &signed("live_comment", "1", body, "s3cret", "n-5"),
        body,
    )
    .await;
    assert_eq!(status, 404);

    // Gifts (value in fen), likes, a test gift, and a type we do not map.
    let gifts = json!([
        {"msg_id": "g1", "sec_openid": "o3", "sec_gift_id": "n1", "gift_num": 3, "gift_value": 30,
         "nickname": "大户", "timestamp": T0},
        {"msg_id": "g2", "sec_openid": "o3", "sec_gift_id": "n1", "gift_num": 1, "gift_value": 10,
         "test": true, "timestamp": T0}
    ])
    .to_string();
    let (status, ack) = post(
        addr,
        "/hooks/douyin",
        &signed("live_gift", room, gifts.as_bytes(), "s3cret", "n-6"),
        gifts.as_bytes(),
    )
    .await;
    assert_eq!((status, &ack["accepted"]), (200, &json!(1)), "{ack}");
    let likes =
        json!([{"msg_id": "l1", "sec_openid": "o4", "like_num": 12, "timestamp": T0}]).to_string();
    let (status, _) = post(
        addr,
        "/hooks/douyin",
        &signed("live_like", room, likes.as_bytes(), "s3cret", "n-7"),
        likes.as_bytes(),
    )
    .await;
    assert_eq!(status, 200);
    let fans = json!([{"msg_id": "f1", "sec_openid": "o5", "fansclub_reason_type": 1}]).to_string();
    let (status, ack) = post(
        addr,
        "/hooks/douyin",
        &signed("live_fansclub", room, fans.as_bytes(), "s3cret", "n-8"),
        fans.as_bytes(),
    )
    .await;
    assert_eq!((status, &ack["accepted"]), (200, &json!(0)));

    fixture
        .wait_for("the pushed events", |t, _| t["likes"] == 12)
        .await;
    assert_totals(&fixture.totals().await, 2, 3, 0.3, 12, 0, 0);
    assert_eq!(fixture.texts().await, ["2号多少钱", "有大码吗"]);
    let s = fixture.status();
    assert_eq!(s.state, livecue::sources::SourceState::Listening);
    assert_eq!(s.decode_errors.get("bad_signature"), Some(&3));
    assert_eq!(s.duplicates, 2);
    assert_eq!(s.ignored.get("live_gift"), Some(&1), "the test gift");
    assert_eq!(s.ignored.get("live_fansclub"), Some(&1));
    server.abort();
    fixture.stop_webhook().await;
}

impl Fixture {
    /// Webhook sources have no task: only the room stops.
    async fn stop_webhook(self) {
        self.cancel.cancel();
        self.tracker.close();
        tokio::time::timeout(Duration::from_secs(5), self.tracker.wait())
            .await
            .expect("the room stops on cancel");
    }
}

const TIKTOK_MAPPING: &str = r#"
items = "/events"
type = "/event"
id_prefix = "tt:"
value_scale = 0.1
[rooms.sources.types]
chat = "comment"
gift = "gift"
like = "like"
member = "enter"
social = "follow"
[rooms.sources.fields]
id = "/msgId"
user = "/user/userId"
name = "/user/nickname"
text = "/comment"
ts = "/createTime"
gift = "/giftName"
count = "/repeatCount"
value = "/diamondCount"
"#;

#[tokio::test]
async fn issue9_json_webhook_maps_a_bridges_json() {
    let fixture = Fixture::start(&format!(
        "[[rooms]]\nid = \"r1\"\n[[rooms.sources]]\nkind = \"json\"\nurl = \"/hooks/tiktok\"\ntoken = \"tok\"\n{TIKTOK_MAPPING}"
    ));
    let (addr, server) = serve(&fixture).await;
    let document = json!({"events": [
        {"event": "chat", "msgId": 1, "comment": "2号多少钱", "createTime": T0.to_string(),
         "user": {"userId": "6506646277295882242", "nickname": "Shîñ"}},
        {"event": "gift", "msgId": 2, "giftName": "Rose", "repeatCount": "5", "diamondCount": 5,
         "user": {"userId": 9}},
        {"event": "roomUser", "viewerCount": 10},
        {"event": "chat", "msgId": 3}
    ]})
    .to_string();
    let bearer = [("Authorization", "Bearer tok".to_owned())];
    let (status, ack) = post(addr, "/hooks/tiktok", &bearer, document.as_bytes()).await;
    assert_eq!(status, 200);
    assert_eq!(ack["accepted"], 2);
    assert_eq!(ack["rejected"][0]["index"], 3, "{ack}");
    // NDJSON, the token in the query, one duplicate id.
    let ndjson = format!(
        "{}\n{}\n",
        json!({"events": [{"event": "like", "msgId": 4, "user": {"userId": 9}}]}),
        json!({"events": [{"event": "chat", "msgId": 1, "comment": "2号多少钱"},
                          {"event": "social", "msgId": 5, "user": {"userId": 9}}]})
    );
    let (status, ack) = post(addr, "/hooks/tiktok?token=tok", &[], ndjson.as_bytes()).await;
    assert_eq!(status, 200, "{ack}");
    assert_eq!(
        (&ack["accepted"], &ack["duplicates"]),
        (&json!(2), &json!(1))
    );
    let (status, _) = post(addr, "/hooks/tiktok", &[], document.as_bytes()).await;
    assert_eq!(status, 401, "no token");
    let (status, _) = post(addr, "/hooks/tiktok?token=nope", &[], document.as_bytes()).await;
    assert_eq!(status, 401, "wrong token");
    let (status, error) = post(addr, "/hooks/tiktok", &bearer, b"{not json").await;
    assert_eq!((status, &error["code"]), (400, &json!("bad_json")));

    fixture
        .wait_for("the mapped events", |t, _| t["follows"] == 1)
        .await;
    assert_totals(&fixture.totals().await, 1, 5, 0.5, 1, 0, 1);
    let s = fixture.status();
    assert_eq!(s.ignored.get("roomUser"), Some(&1));
    assert_eq!(s.decode_errors.get("unauthorized"), Some(&2));
    server.abort();
    fixture.stop_webhook().await;
}

#[tokio::test]
async fn issue9_json_websocket_bridge_is_followed_and_rejoined() {
    let (listener, addr) = listen().await;
    let fixture = Fixture::start(&format!(
        "[[rooms]]\nid = \"r1\"\n[[rooms.sources]]\nkind = \"json\"\nurl = \"ws://{addr}/relay\"\n\
         token = \"relay-token\"\nbackoff_min_ms = 20\n{TIKTOK_MAPPING}"
    ));
    let (mut ws, headers) = accept(&listener).await;
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "authorization" && v == "Bearer relay-token")
    );
    let chat = |id: u64, text: &str| {
        json!({"events": [{"event": "chat", "msgId": id, "comment": text, "user": {"userId": id}}]})
            .to_string()
    };
    ws.send(Message::Text(chat(1, "2号多少钱").into()))
        .await
        .unwrap();
    ws.send(Message::Text("not json".into())).await.unwrap();
    ws.send(Message::Text(chat(1, "2号多少钱").into()))
        .await
        .unwrap();
    ws.send(Message::Binary(chat(2, "好看").into_bytes().into()))
        .await
        .unwrap();
    fixture
        .wait_for("the relayed comments", |t, _| t["comments"] == 2)
        .await;
    close_gracefully(ws).await;
    let (mut ws, _) = accept(&listener).await;
    ws.send(Message::Text(chat(3, "回来了").into()))
        .await
        .unwrap();
    fixture
        .wait_for("the rejoin", |t, s| t["comments"] == 3 && s.reconnects == 1)
        .await;
    let s = fixture.status();
    assert_eq!(s.duplicates, 1);
    assert_eq!(s.decode_errors.get("bad_json"), Some(&1));
    assert_eq!(fixture.texts().await, ["2号多少钱", "好看", "回来了"]);
    fixture.stop().await;
}

#[tokio::test]
async fn issue9_a_platform_that_is_down_is_retried_with_backoff() {
    // Nothing listens on this port.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let fixture = Fixture::start(&format!(
        "[[rooms]]\nid = \"r1\"\n[[rooms.sources]]\nkind = \"douyin\"\n\
         url = \"ws://127.0.0.1:{port}/push\"\nbackoff_min_ms = 20\nbackoff_max_ms = 100"
    ));
    fixture
        .wait_for("a few attempts", |_, s| s.reconnects >= 3)
        .await;
    let s = fixture.status();
    assert!(!s.connected);
    assert!(
        s.last_error.as_deref().unwrap_or("").contains("connect"),
        "{s:#?}"
    );
    // Still down: the gap is open, not yet closed and counted.
    assert_eq!(s.gaps_total, 0);
    assert!(s.gap_open_since.is_some(), "{s:#?}");
    fixture.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Health and gaps in the store; fan medals and super chats through the room
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn issue9_a_dropped_connection_is_a_gap_in_the_review_and_paid_comments_stay_on_top() {
    let dir = common::TempDir::new("gaps");
    let store = livecue::store::Store::open(dir.path()).unwrap();
    let handle = store.handle();
    let session = handle
        .start_session("r1", "测试直播间", &[], None, livecue::clock::now_ms())
        .await
        .unwrap()
        .id;
    let (listener, addr) = listen().await;
    let fixture = Fixture::start_with_store(
        &bili_config(addr, ""),
        Some(RoomStore {
            handle: handle.clone(),
            session: session.clone(),
        }),
    );
    let (mut ws, _) = accept(&listener).await;
    bili_auth(&mut ws).await;
    let now = livecue::clock::now_ms();
    let nested = [
        danmu("2号多少钱", 1001, now),
        command(
            json!({"cmd": "SUPER_CHAT_MESSAGE", "data": {"id": 78, "uid": 1004, "price": 50,
            "message": "主播<b>看我</b> 电话13812345678", "user_info": {"uname": "大户"},
            "start_time": now / 1000, "time": 120,
            "medal_info": {"medal_name": "粉丝牌", "medal_level": 12}}}),
        ),
    ]
    .concat();
    ws.send(Message::Binary(
        bilibili::encode(2, OP_COMMAND, 0, &zlib(&nested)).into(),
    ))
    .await
    .unwrap();
    fixture
        .wait_for("the first connection's comments", |t, _| t["comments"] == 2)
        .await;
    close_gracefully(ws).await;
    let (mut ws, _) = accept(&listener).await;
    bili_auth(&mut ws).await;
    fixture
        .wait_for("the reconnection", |_, s| s.connected && s.gaps_total == 1)
        .await;

    // The room keeps the super chat on top, with its medal; the plain comment has its medal.
    let snapshot = fixture.room.snapshot().await.expect("room answers");
    let v: Value = serde_json::from_str(snapshot.json.as_str()).unwrap();
    let pinned = v["super_chats"].as_array().unwrap();
    assert_eq!(pinned.len(), 1, "{v}");
    assert_eq!(pinned[0]["super_chat"]["price_cny"], 50.0);
    assert!(pinned[0]["super_chat"]["until"].as_i64().unwrap() > now + 100_000);
    assert_eq!(pinned[0]["medal"], json!({"name": "粉丝牌", "level": 12}));
    assert!(!pinned[0]["text"].as_str().unwrap().contains("13812345678"));
    assert_eq!(
        v["comments"][0]["medal"],
        json!({"name": "粉丝牌", "level": 21})
    );
    assert_eq!(v["stats"]["totals"]["super_chats"], 1);
    assert_eq!(v["stats"]["totals"]["super_chat_value"], 50.0);

    fixture.stop().await;
    handle.flush().await.unwrap();
    store.close().await.unwrap();

    // The review says where messages may be missing, and lists the paid comment.
    let reader = livecue::store::Reader::open(dir.path()).unwrap();
    let review = livecue::report::build(&reader, "r1", None, 480, &mut |_| {}).unwrap();
    assert_eq!(review.source_gaps.len(), 1, "{:?}", review.source_gaps);
    let gap = &review.source_gaps[0];
    assert_eq!(
        (gap.source.as_str(), gap.reason.as_str()),
        ("bili", "disconnected")
    );
    assert!(
        gap.note.starts_with("messages may be missing "),
        "{}",
        gap.note
    );
    assert!(gap.note.ends_with("(bili: disconnected)"), "{}", gap.note);
    assert_eq!(review.summary.super_chats, 1);
    assert_eq!(review.super_chats[0].price_cny, 50.0);
    assert_eq!(review.super_chats[0].medal_level, Some(12));
    assert_eq!(review.summary.medal_comments, 2);
}

/// A raw HTTP/1.1 GET.
async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let headers: Vec<(&str, String)> = headers.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    http(addr, "GET", path, &headers, b"").await
}

#[tokio::test]
async fn issue9_the_console_reads_source_health_with_the_view_token() {
    let (platform, platform_addr) = listen().await;
    let config = Config::from_toml(&format!(
        r#"
        [[rooms]]
        id = "r1"
        view_token = "viewer-secret"
        [[rooms.sources]]
        kind = "bilibili"
        name = "bili"
        url = "ws://{platform_addr}/sub?key=hidden"
        room_id = 22824550
        key = "the-key"
        backoff_min_ms = 20
        [[rooms]]
        id = "r2"
        "#
    ))
    .unwrap();
    let (listener, addr) = listen().await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(livecue::server::run(
        listener,
        config,
        livecue::server::Options::default(),
        async move {
            let _ = stopped.await;
        },
    ));
    let (mut ws, _) = accept(&platform).await;
    bili_auth(&mut ws).await;
    ws.send(Message::Binary(danmu("好看", 7, T0).into()))
        .await
        .unwrap();

    // Refused before any data without the room's view token.
    let (status, body) = get(addr, "/api/rooms/r1/sources", &[]).await;
    assert_eq!((status, &body["code"]), (401, &json!("unauthorized")));
    let (status, _) = get(addr, "/api/rooms/r1/sources?token=nope", &[]).await;
    assert_eq!(status, 401);
    let (status, _) = get(addr, "/api/rooms/nope/sources", &[]).await;
    assert_eq!(status, 404);

    let deadline = Instant::now() + Duration::from_secs(10);
    let body = loop {
        let (status, body) = get(
            addr,
            "/api/rooms/r1/sources",
            &[("Authorization", "Bearer viewer-secret")],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        if body["sources"][0]["connected"] == true && body["sources"][0]["messages"] == 2 {
            break body;
        }
        assert!(Instant::now() < deadline, "the source connects: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(body["type"], "sources");
    assert_eq!(body["room"], "r1");
    assert!(body["now"].as_i64().unwrap() >= T0);
    let source = &body["sources"][0];
    assert_eq!(source["name"], "bili");
    assert_eq!(source["kind"], "bilibili");
    assert_eq!(source["state"], "connected");
    assert_eq!(source["reconnects"], 0);
    assert!(source["last_message_at"].as_i64().is_some());
    assert!(source["decode_errors"].as_object().unwrap().is_empty());
    assert_eq!(source["gaps"], json!([]));
    // The signed query never leaves the server.
    assert!(!body.to_string().contains("hidden"), "{body}");
    // Another room's list is its own (and empty).
    let (status, other) = get(addr, "/api/rooms/r2/sources", &[]).await;
    assert_eq!((status, other["sources"].clone()), (200, json!([])));

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Bilibili open platform: the app lifecycle over HTTP
// ---------------------------------------------------------------------------------------------

const OPEN_KEY_ID: &str = "ak-test";
const OPEN_SECRET: &str = "sk-test-secret";

/// One call the fake open platform received.
#[derive(Debug, Clone)]
struct OpenCall {
    path: String,
    body: Value,
    at: Instant,
    signed: Result<(), String>,
}

/// Checks the documented signature on its own terms (independently of the adapter's code):
/// the six x-bili-* headers, the body's MD5, and Authorization = hex HMAC-SHA256 of the sorted
/// `name:value` lines.
fn check_signature(headers: &axum::http::HeaderMap, body: &[u8]) -> Result<(), String> {
    use hmac::Mac as _;
    use md5::Digest as _;
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or(format!("missing {name}"))
    };
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    if get("x-bili-accesskeyid")? != OPEN_KEY_ID {
        return Err("wrong key id".into());
    }
    if get("x-bili-content-md5")? != hex(&md5::Md5::digest(body)) {
        return Err("wrong body md5".into());
    }
    if get("x-bili-signature-method")? != "HMAC-SHA256" || get("x-bili-signature-version")? != "1.0"
    {
        return Err("wrong method or version".into());
    }
    get("x-bili-signature-nonce")?;
    get("x-bili-timestamp")?
        .parse::<u64>()
        .map_err(|e| e.to_string())?;
    let mut lines: Vec<String> = headers
        .iter()
        .filter(|(k, _)| k.as_str().starts_with("x-bili-"))
        .map(|(k, v)| format!("{}:{}", k.as_str(), v.to_str().unwrap_or("")))
        .collect();
    lines.sort();
    if lines.len() != 6 {
        return Err(format!("{} x-bili-* headers", lines.len()));
    }
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(OPEN_SECRET.as_bytes()).unwrap();
    mac.update(lines.join("\n").as_bytes());
    if get("authorization")? != hex(&mac.finalize().into_bytes()) {
        return Err("wrong Authorization".into());
    }
    Ok(())
}

/// The open platform's HTTP API on 127.0.0.1:0; `start` answers with `ws` as the wss_link.
async fn fake_open_platform(ws: SocketAddr) -> (SocketAddr, Arc<Mutex<Vec<OpenCall>>>) {
    use axum::extract::{Path, State};
    let calls: Arc<Mutex<Vec<OpenCall>>> = Arc::default();
    let app = axum::Router::new()
        .route(
            "/v2/app/{action}",
            axum::routing::post(
                move |State(calls): State<Arc<Mutex<Vec<OpenCall>>>>,
                      Path(action): Path<String>,
                      headers: axum::http::HeaderMap,
                      body: axum::body::Bytes| async move {
                    let signed = check_signature(&headers, &body);
                    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let mut log = calls.lock().unwrap();
                    log.push(OpenCall {
                        path: action.clone(),
                        body: parsed,
                        at: Instant::now(),
                        signed: signed.clone(),
                    });
                    let starts = log.iter().filter(|c| c.path == "start").count();
                    drop(log);
                    let answer = match (signed, action.as_str()) {
                        (Err(e), _) => json!({"code": 4000, "message": e, "request_id": "r"}),
                        (Ok(()), "start") => json!({"code": 0, "message": "0", "request_id": "r",
                        "data": {
                            "game_info": {"game_id": format!("game-{starts}")},
                            "websocket_info": {
                                "auth_body": format!("{{\"key\":\"open-key-{starts}\"}}"),
                                "wss_link": [format!("ws://{ws}/sub")]
                            },
                            "anchor_info": {"room_id": 4639581, "uname": "主播", "uid": 1}
                        }}),
                        (Ok(()), _) => {
                            json!({"code": 0, "message": "0", "request_id": "r", "data": {}})
                        }
                    };
                    axum::Json(answer)
                },
            ),
        )
        .with_state(calls.clone());
    let (addr, _server) = serve_router(app).await;
    (addr, calls)
}

fn open_app_config(api: SocketAddr) -> String {
    format!(
        r#"
        [[rooms]]
        id = "r1"
        [[rooms.sources]]
        kind = "bilibili_open"
        name = "open"
        api_base = "http://{api}"
        app_id = 1650000000000
        code = "BV-CODE-123"
        access_key_id = "{OPEN_KEY_ID}"
        access_key_secret = "{OPEN_SECRET}"
        backoff_min_ms = 20
        backoff_max_ms = 200
        "#
    )
}

#[tokio::test(start_paused = true)]
async fn issue9_bilibili_open_app_starts_signed_heartbeats_every_20_seconds_and_ends() {
    let (ws_listener, ws) = listen().await;
    let (api, calls) = fake_open_platform(ws).await;
    let fixture = Fixture::start(&open_app_config(api));

    // The start call's auth_body is what the adapter authenticates with.
    let (mut ws, _) = accept(&ws_listener).await;
    let auth = bili_auth(&mut ws).await;
    assert_eq!(auth, json!({"key": "open-key-1"}));
    let dm = command(
        json!({"cmd": "LIVE_OPEN_PLATFORM_DM", "data": {"open_id": "o1",
        "uname": "猫", "msg": "2号多少钱", "msg_id": "m1", "timestamp": T0 / 1000,
        "fans_medal_name": "官方", "fans_medal_level": 9, "fans_medal_wearing_status": true}}),
    );
    ws.send(Message::Binary(dm.into())).await.unwrap();
    let (tx, _beats) = mpsc::unbounded_channel();
    let server = tokio::spawn(bili_answer_heartbeats(ws, tx));
    fixture
        .wait_for("the comment", |t, s| t["comments"] == 1 && s.connected)
        .await;

    // Let 70 s pass (paused time): three app heartbeats, 20 s apart.
    let deadline = Instant::now() + Duration::from_secs(200);
    loop {
        let beats = calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.path == "heartbeat")
            .count();
        if beats >= 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "heartbeats: {:?}",
            calls.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    fixture.stop().await;
    server.abort();

    let calls = calls.lock().unwrap().clone();
    for c in &calls {
        assert_eq!(c.signed, Ok(()), "{} is signed as documented", c.path);
    }
    let paths: Vec<&str> = calls.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths.first(), Some(&"start"));
    assert_eq!(
        paths.last(),
        Some(&"end"),
        "the app session ends at shutdown: {paths:?}"
    );
    assert_eq!(paths.iter().filter(|p| **p == "start").count(), 1);
    assert_eq!(
        calls[0].body,
        json!({"code": "BV-CODE-123", "app_id": 1650000000000u64})
    );
    let beats: Vec<&OpenCall> = calls.iter().filter(|c| c.path == "heartbeat").collect();
    assert_eq!(beats[0].body, json!({"game_id": "game-1"}));
    let first = beats[0].at - calls[0].at;
    assert!(
        first >= Duration::from_secs(20) && first < Duration::from_secs(21),
        "first app heartbeat {first:?} after the start"
    );
    for pair in beats.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap >= Duration::from_secs(20) && gap < Duration::from_secs(21),
            "app heartbeats {gap:?} apart"
        );
    }
    assert_eq!(
        calls.last().unwrap().body,
        json!({"app_id": 1650000000000u64, "game_id": "game-1"})
    );
}

#[tokio::test]
async fn issue9_bilibili_open_app_reuses_its_session_across_a_reconnect() {
    let (ws_listener, ws) = listen().await;
    let (api, calls) = fake_open_platform(ws).await;
    let fixture = Fixture::start(&open_app_config(api));
    let (mut ws, _) = accept(&ws_listener).await;
    bili_auth(&mut ws).await;
    close_gracefully(ws).await;
    // The platform drops the WebSocket: the same app session is checked with a heartbeat
    // right away, and the auth body it gave is used again.
    let (mut ws, _) = accept(&ws_listener).await;
    assert_eq!(bili_auth(&mut ws).await, json!({"key": "open-key-1"}));
    fixture
        .wait_for("the reconnection", |_, s| s.connected && s.reconnects == 1)
        .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !calls.lock().unwrap().iter().any(|c| c.path == "heartbeat") {
        assert!(
            Instant::now() < deadline,
            "a heartbeat checks the reused session"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    fixture.stop().await;
    let paths: Vec<String> = calls
        .lock()
        .unwrap()
        .iter()
        .map(|c| c.path.clone())
        .collect();
    assert_eq!(
        paths.iter().filter(|p| *p == "start").count(),
        1,
        "{paths:?}"
    );
    assert_eq!(paths.last().map(String::as_str), Some("end"));
}

// ---------------------------------------------------------------------------------------------
// Bilibili web: the key (and host) from getDanmuInfo
// ---------------------------------------------------------------------------------------------

/// What a fake HTTP API received: (query or body, a header's value) per request.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A request header's value, or "".
fn header(headers: &axum::http::HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// The live API's `getDanmuInfo` on 127.0.0.1:0: the first answer is the platform's -352
/// (risk control), then fresh tokens naming `ws` as the only host. Records each query and
/// cookie.
async fn fake_danmu_info(ws: SocketAddr) -> (SocketAddr, Seen) {
    use axum::extract::{RawQuery, State};
    let seen: Seen = Arc::default();
    let app = axum::Router::new()
        .route(
            "/xlive/web-room/v1/index/getDanmuInfo",
            axum::routing::get(
                move |State(seen): State<Seen>,
                      RawQuery(query): RawQuery,
                      headers: axum::http::HeaderMap| async move {
                    let mut seen = seen.lock().unwrap();
                    seen.push((query.unwrap_or_default(), header(&headers, "cookie")));
                    let n = seen.len();
                    axum::Json(if n == 1 {
                        json!({"code": -352, "message": "-352", "data": null})
                    } else {
                        json!({"code": 0, "message": "0", "data": {
                            "token": format!("fetched-token-{n}"),
                            "host_list": [{"host": "127.0.0.1", "port": ws.port(),
                                           "wss_port": 1, "ws_port": ws.port()}]}})
                    })
                },
            ),
        )
        .with_state(seen.clone());
    let (addr, _server) = serve_router(app).await;
    (addr, seen)
}

#[tokio::test]
async fn issue9_bilibili_fetches_a_fresh_key_and_host_before_each_connection() {
    let (ws_listener, ws) = listen().await;
    let (api, seen) = fake_danmu_info(ws).await;
    let fixture = Fixture::start(&format!(
        r#"
        [[rooms]]
        id = "r1"
        [[rooms.sources]]
        kind = "bilibili"
        name = "bili"
        room_id = 22824550
        api_base = "http://{api}"
        wss = false
        cookie = "SESSDATA=test"
        backoff_min_ms = 20
        backoff_max_ms = 200
        "#
    ));
    // The first fetch is refused (-352): counted, retried after a backoff.
    let (mut ws, _) = accept(&ws_listener).await;
    let auth = bili_auth(&mut ws).await;
    assert_eq!(auth["key"], "fetched-token-2", "{auth}");
    assert_eq!(auth["roomid"], 22824550);
    ws.send(Message::Binary(danmu("好看", 7, T0).into()))
        .await
        .unwrap();
    fixture
        .wait_for("the comment", |t, s| t["comments"] == 1 && s.connected)
        .await;
    close_gracefully(ws).await;
    // Every connection asks for a fresh key.
    let (mut ws, _) = accept(&ws_listener).await;
    assert_eq!(bili_auth(&mut ws).await["key"], "fetched-token-3");
    fixture
        .wait_for("the reconnection", |_, s| s.connected && s.reconnects == 2)
        .await;
    let s = fixture.status();
    assert_eq!(s.decode_errors.get("key_fetch"), Some(&1), "{s:#?}");
    assert_eq!(s.endpoint, format!("http://{api}"));
    fixture.stop().await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    for (query, cookie) in &seen {
        assert_eq!(query, "id=22824550&type=0");
        assert_eq!(cookie, "SESSDATA=test");
    }
}

// ---------------------------------------------------------------------------------------------
// Douyin web: the URL signer
// ---------------------------------------------------------------------------------------------

/// The request target the adapter connected to.
fn uri(headers: &[(String, String)]) -> &str {
    headers
        .iter()
        .find(|(k, _)| k == ":uri")
        .map_or("", |(_, v)| v.as_str())
}

/// A signer on 127.0.0.1:0: it answers the first request with a whole signed URL, the second
/// with only a signature, and fails (500) after that. Records each request's body and token.
async fn fake_signer(ws: SocketAddr) -> (SocketAddr, Seen) {
    use axum::extract::State;
    use axum::response::IntoResponse as _;
    let seen: Seen = Arc::default();
    let app = axum::Router::new()
        .route(
            "/sign",
            axum::routing::post(
                move |State(seen): State<Seen>,
                      headers: axum::http::HeaderMap,
                      body: axum::body::Bytes| async move {
                    let mut seen = seen.lock().unwrap();
                    seen.push((
                        String::from_utf8_lossy(&body).into_owned(),
                        header(&headers, "authorization"),
                    ));
                    match seen.len() {
                        1 => axum::Json(json!({"url": format!(
                            "ws://{ws}/webcast/im/push/v2/?room_id=7300000000000000000&signature=signed-1")}))
                        .into_response(),
                        2 => axum::Json(json!({"signature": "signed+2"})).into_response(),
                        _ => axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                    }
                },
            ),
        )
        .with_state(seen.clone());
    let (addr, _server) = serve_router(app).await;
    (addr, seen)
}

#[tokio::test]
async fn issue9_douyin_asks_its_signer_before_each_connection_and_falls_back_to_the_url() {
    let (ws_listener, ws) = listen().await;
    let (signer, seen) = fake_signer(ws).await;
    let fixture = Fixture::start(&format!(
        r#"
        [[rooms]]
        id = "r1"
        [[rooms.sources]]
        kind = "douyin"
        url = "ws://{ws}/webcast/im/push/v2/?room_id=7300000000000000000&signature=configured"
        room_id = 7300000000000000000
        user_agent = "LiveCueTest/1"
        signer_url = "http://{signer}/sign"
        signer_token = "signer-secret"
        backoff_min_ms = 20
        backoff_max_ms = 200
        "#
    ));
    let mut targets = Vec::new();
    for n in 0..3 {
        let (mut ws, headers) = accept(&ws_listener).await;
        targets.push(uri(&headers).to_owned());
        ws.send(Message::Binary(
            dy_frame(1, 1, vec![dy_chat(3000 + n, "好看", 1)], None).into(),
        ))
        .await
        .unwrap();
        fixture
            .wait_for("the comment", |t, _| t["comments"] == n + 1)
            .await;
        close_gracefully(ws).await;
    }
    assert_eq!(
        targets,
        [
            // A whole URL from the signer,
            "/webcast/im/push/v2/?room_id=7300000000000000000&signature=signed-1",
            // a signature added to the unsigned URL,
            "/webcast/im/push/v2/?room_id=7300000000000000000&signature=signed%2B2",
            // and the configured URL when the signer fails.
            "/webcast/im/push/v2/?room_id=7300000000000000000&signature=configured",
        ]
    );
    let s = fixture.status();
    assert_eq!(s.decode_errors.get("signer"), Some(&1), "{s:#?}");
    fixture.stop().await;
    let seen = seen.lock().unwrap().clone();
    assert!(seen.len() >= 3);
    let request: Value = serde_json::from_str(&seen[0].0).unwrap();
    assert_eq!(
        request,
        json!({"url": format!("ws://{ws}/webcast/im/push/v2/?room_id=7300000000000000000"),
               "room_id": "7300000000000000000", "user_agent": "LiveCueTest/1"})
    );
    assert_eq!(seen[0].1, "Bearer signer-secret");
}

#[tokio::test]
async fn issue9_douyin_explaining_a_product_follows_into_the_room_when_asked() {
    let (listener, addr) = listen().await;
    let fixture = Fixture::start(&format!(
        r#"
        [[rooms]]
        id = "r1"
        [[rooms.products]]
        id = "1"
        name = "羽绒服"
        [[rooms.products]]
        id = "2"
        name = "羊毛开衫"
        [[rooms.sources]]
        kind = "douyin"
        url = "ws://{addr}/push?signature=s"
        follow_pitching = true
        backoff_min_ms = 20
        [rooms.sources.products]
        "3560000000000000001" = "2"
        "#
    ));
    assert_eq!(fixture.room.pitching().as_deref(), Some("1"));
    let (mut ws, _) = accept(&listener).await;
    let explaining = dy_frame(
        1,
        1,
        vec![dy_shopping(
            1,
            douyin::SHOPPING_SET_CURRENT,
            3_560_000_000_000_000_001,
        )],
        None,
    );
    ws.send(Message::Binary(explaining.into())).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while fixture.room.pitching().as_deref() != Some("2") {
        assert!(
            Instant::now() < deadline,
            "the room follows: {:#?}",
            fixture.status()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let hint = fixture.status().pitching_hint.unwrap();
    assert_eq!(hint.product.as_deref(), Some("2"));
    // The explanation ends: the hint says so, the room keeps what it pitches.
    let ended = dy_frame(
        2,
        2,
        vec![dy_shopping(2, douyin::SHOPPING_CANCEL_CURRENT, 0)],
        None,
    );
    ws.send(Message::Binary(ended.into())).await.unwrap();
    fixture
        .wait_for("the end of the explanation", |_, s| {
            s.pitching_hint
                .as_ref()
                .is_some_and(|h| h.promotion.is_none())
        })
        .await;
    assert_eq!(fixture.room.pitching().as_deref(), Some("2"));
    fixture.stop().await;
    // A mapping to a product the room does not sell is refused at start.
    let bad = Config::from_toml(&format!(
        "[[rooms]]\nid='r1'\n[[rooms.sources]]\nkind='douyin'\nurl='ws://{addr}/p'\n\
         [rooms.sources.products]\n'35' = '9'"
    ));
    assert!(bad.unwrap_err().to_string().contains("catalog"));
}
