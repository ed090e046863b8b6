//! The conformance echo mode (issue 10, `serve --conformance-echo`, a test aid for the
//! Autobahn|Testsuite): both WebSocket routes echo text and binary messages, over the real
//! routes' tokens and limits; with the mode off (the default) they do not echo.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use livecue::config::Config;
use livecue::server::{self, Options};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Ws = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

const CONFIG: &str = r#"
[[rooms]]
id = "r1"
name = "echo"
ingest_token = "in"
view_token = "v"
"#;

struct Running {
    addr: std::net::SocketAddr,
    stop: oneshot::Sender<()>,
    done: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn start(echo: bool) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let options = Options {
        conformance_echo: echo,
        ..Options::default()
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let config = Config::from_toml(CONFIG).unwrap();
    let done = tokio::spawn(server::run(listener, config, options, async move {
        let _ = stopped.await;
    }));
    // Ready when a WebSocket can be opened (the analyzer loads first).
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Running { addr, stop, done }
}

async fn ws(addr: std::net::SocketAddr, path: &str) -> Result<Ws, String> {
    let url = format!("ws://{addr}{path}");
    tokio::time::timeout(Duration::from_secs(20), connect_async(url))
        .await
        .map_err(|_| "timed out".to_string())?
        .map(|(ws, _)| ws)
        .map_err(|e| e.to_string())
}

async fn next(ws: &mut Ws) -> Message {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message in time")
            .expect("open")
            .expect("no error");
        if !matches!(message, Message::Ping(_) | Message::Pong(_)) {
            return message;
        }
    }
}

#[tokio::test]
async fn echo_mode_echoes_on_both_routes_with_their_tokens_and_limits() {
    let server = start(true).await;
    for path in ["/ws/ingest?room=r1&token=in", "/ws/room/r1?token=v"] {
        let mut socket = ws(server.addr, path).await.unwrap();
        let text = "{\"type\":\"comment\",\"text\":\"尺码 🙂\"}";
        socket.send(Message::Text(text.into())).await.unwrap();
        assert_eq!(
            next(&mut socket).await,
            Message::Text(text.into()),
            "{path}"
        );
        let bytes: Vec<u8> = (0..=255u8).cycle().take(60_000).collect();
        socket
            .send(Message::Binary(bytes.clone().into()))
            .await
            .unwrap();
        assert_eq!(
            next(&mut socket).await,
            Message::Binary(bytes.into()),
            "{path}"
        );
        // Over max_frame_bytes (64 KiB): closed with 1009 as on the real route.
        let big = "x".repeat(70 * 1024);
        socket.send(Message::Text(big.into())).await.unwrap();
        match next(&mut socket).await {
            Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Size, "{path}"),
            other => panic!("{path}: expected a 1009 close, got {other:?}"),
        }
    }
    // The rooms' tokens still guard the doors.
    for path in [
        "/ws/ingest?room=r1&token=no",
        "/ws/room/r1",
        "/ws/room/nope?token=v",
    ] {
        let refused = ws(server.addr, path).await;
        assert!(refused.is_err(), "{path} should be refused");
    }
    server.stop.send(()).unwrap();
    server.done.await.unwrap().unwrap();
}

#[tokio::test]
async fn without_echo_mode_the_routes_do_their_real_work() {
    let server = start(false).await;
    let mut ingest = ws(server.addr, "/ws/ingest?room=r1&token=in")
        .await
        .unwrap();
    let text = r#"{"type":"comment","id":"e1","user":"u","text":"有优惠吗"}"#;
    ingest.send(Message::Text(text.into())).await.unwrap();
    let Message::Text(reply) = next(&mut ingest).await else {
        panic!("expected an ack");
    };
    let reply: serde_json::Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(reply["type"], "ack", "{reply}");
    assert_eq!(reply["accepted"], 1, "{reply}");
    server.stop.send(()).unwrap();
    server.done.await.unwrap().unwrap();
}
