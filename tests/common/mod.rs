//! What several integration tests share: the real server in-process on 127.0.0.1:0, a raw
//! HTTP/1.1 client and WebSocket helpers (the hardening tests), a temporary directory and a
//! small runtime (the store, report and sources tests). Every wait is bounded.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use livecue::config::Config;
use livecue::server::{self, Options};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub struct Server {
    pub addr: SocketAddr,
    pub dir: Option<PathBuf>,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// A fresh directory under the system's temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("livecue-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Server {
    /// Starts the server with `toml`; with a store in a fresh directory when `store` is true.
    pub async fn start(toml: &str, store: bool) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let config = Config::from_toml(toml).unwrap_or_else(|e| panic!("{e}"));
        let dir = store.then(|| temp_dir("hard"));
        let options = Options {
            data_dir: dir.as_ref().map(|d| d.join("data")),
            ..Options::default()
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(server::run(listener, config, options, async move {
            let _ = stopped.await;
        }));
        let server = Server {
            addr,
            dir,
            stop: Some(stop),
            done,
        };
        for _ in 0..150 {
            if let Ok(resp) = tokio::time::timeout(
                Duration::from_secs(2),
                server.http("GET", "/healthz", &[], ""),
            )
            .await
                && resp.status == 200
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server did not come up");
    }

    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    pub async fn ws(&self, path: &str) -> Ws {
        tokio::time::timeout(Duration::from_secs(10), connect_async(self.url(path)))
            .await
            .expect("connects in time")
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .0
    }

    /// One HTTP/1.1 request on its own connection; the whole response.
    pub async fn http(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> HttpResponse {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("connection"))
        {
            req.push_str("Connection: close\r\n");
        }
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        let mut s = TcpStream::connect(self.addr).await.unwrap();
        s.write_all(req.as_bytes()).await.unwrap();
        // A server that refuses before reading the body may close first: that is fine.
        let _ = s.write_all(body.as_bytes()).await;
        let mut buf = Vec::new();
        let read = async {
            let mut chunk = [0u8; 16 * 1024];
            loop {
                let n = s.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                // A switch to WebSocket (or a kept-alive upgrade refusal) keeps the
                // connection open: stop once the head and its Content-Length are in.
                if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    if head.starts_with("http/1.1 101") {
                        break;
                    }
                    let length = head.lines().find_map(|l| {
                        l.strip_prefix("content-length:")
                            .and_then(|v| v.trim().parse::<usize>().ok())
                    });
                    if length.is_some_and(|n| buf.len() >= end + 4 + n) {
                        break;
                    }
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(30), read)
            .await
            .expect("a response in time");
        HttpResponse::parse(&buf)
    }

    /// A JSON report of room `room`.
    pub async fn report(&self, room: &str, token: &str) -> Value {
        let resp = self
            .http(
                "GET",
                &format!("/api/rooms/{room}/report?format=json&token={token}"),
                &[],
                "",
            )
            .await;
        assert_eq!(resp.status, 200, "{}", resp.body);
        serde_json::from_str(&resp.body).unwrap()
    }

    pub async fn metrics(&self) -> String {
        self.http("GET", "/metrics", &[], "").await.body
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = tokio::time::timeout(Duration::from_secs(20), self.done).await;
        assert!(
            matches!(result, Ok(Ok(Ok(())))),
            "server stops cleanly: {result:?}"
        );
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl HttpResponse {
    fn parse(raw: &[u8]) -> HttpResponse {
        let text = String::from_utf8_lossy(raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        // Chunked bodies: good enough to search in; JSON callers use non-chunked routes.
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)
        } else {
            body.to_owned()
        };
        HttpResponse {
            status,
            head: head.to_owned(),
            body,
        }
    }

    /// A header's value (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].strip_prefix("\r\n").unwrap_or(&rest[n..]);
    }
    out
}

/// The next text message as JSON, within `secs`.
pub async fn next_json(ws: &mut Ws, secs: u64) -> Value {
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
pub async fn until(ws: &mut Ws, secs: u64, want: impl Fn(&Value) -> bool) -> Value {
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

/// Sends a text frame and returns the next text reply.
pub async fn send(ws: &mut Ws, text: impl Into<String>) -> Value {
    ws.send(Message::Text(text.into().into())).await.unwrap();
    next_json(ws, 10).await
}

/// Reads (skipping everything else) until the server's close frame, within `secs`. `None`
/// when the connection ended without one. Takes a whole socket or its read half.
pub async fn close_frame<S>(ws: &mut S, secs: u64) -> Option<CloseFrame>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => return frame,
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(_)) | None) => return None,
            Err(_) => panic!("no close within {secs} s"),
        }
    }
}

/// The process's resident set size in KiB (Linux), 0 when unknown.
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// A fresh directory under the system's temp dir, removed when dropped (kept with
/// `LIVECUE_KEEP_TEST_DIRS=1`, e.g. to try `livecue report` on a test's store).
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "livecue-test-{name}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("LIVECUE_KEEP_TEST_DIRS").is_some() {
            eprintln!("kept {}", self.0.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A current-thread runtime for tests that drive the store from plain `#[test]`s.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
