//! Nothing acknowledged is lost: the real `livecue serve` binary with a data directory,
//! events over the wire, SIGKILL, restart, resend. Bounded waits, loopback only.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

use common::temp_dir;

const CONFIG: &str = r#"
[[rooms]]
id = "r1"
name = "耐久测试"
view_token = "v"
[[rooms.products]]
id = "1"
name = "白鸭绒羽绒服"
aliases = ["羽绒服"]
price = 399.0
"#;

/// Starts the binary on port 0 and returns it with its address (read from stderr).
fn serve(dir: &Path) -> (Child, String) {
    let (child, addr, _) = serve_logged(dir);
    (child, addr)
}

/// [`serve`] with tracing at debug, every stderr line kept.
fn serve_logged(dir: &Path) -> (Child, String, std::sync::Arc<std::sync::Mutex<String>>) {
    let config = dir.join("livecue.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_livecue"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env("RUST_LOG", "debug")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("livecue starts");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let keep = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(mut log) = keep.lock() {
                log.push_str(&line);
                log.push('\n');
            }
            if let Some(rest) = line.split("serving on http://").nth(1) {
                let addr = rest.split('/').next().unwrap_or_default().to_owned();
                let _ = tx.send(addr);
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the server says where it listens");
    (child, addr, log)
}

fn batch(from: usize, n: usize) -> Value {
    Value::Array(
        (from..from + n)
            .map(|i| json!({"type":"comment","id":format!("m-{i}"),"user":format!("u{}", i % 50),"text":"羽绒服多少钱"}))
            .collect(),
    )
}

async fn send_batches(addr: &str, from: usize, batches: usize, per: usize) -> Vec<Value> {
    let (mut ws, _) = connect_async(format!("ws://{addr}/ws/ingest?room=r1"))
        .await
        .unwrap();
    let mut acks = Vec::new();
    for b in 0..batches {
        ws.send(Message::Text(batch(from + b * per, per).to_string().into()))
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, ws.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => {
                    acks.push(serde_json::from_str(&t).unwrap());
                    break;
                }
                Ok(Some(Ok(_))) => continue,
                other => panic!("no ack: {other:?}"),
            }
        }
    }
    acks
}

/// A tiny HTTP/1.0 GET; no client crate needed. Returns the whole response.
fn get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\n\r\n").unwrap();
    let mut body = Vec::new();
    s.read_to_end(&mut body).unwrap();
    String::from_utf8_lossy(&body).into_owned()
}

fn report(addr: &str) -> Value {
    let response = get(addr, "/api/rooms/r1/report?format=json&token=v");
    let json = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {response}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_events_survive_sigkill_and_resends_are_not_counted_twice() {
    let dir = temp_dir("durability");
    let (mut child, addr) = serve(&dir);
    let acks = send_batches(&addr, 0, 10, 20).await;
    let accepted: u64 = acks.iter().map(|a| a["accepted"].as_u64().unwrap()).sum();
    assert_eq!(accepted, 200);
    // Killed with no chance to flush anything.
    child.kill().unwrap();
    let _ = child.wait();

    let (mut child, addr) = serve(&dir);
    // The source did not see some acks and resends everything, plus new events.
    let acks = send_batches(&addr, 0, 12, 20).await;
    let accepted: u64 = acks.iter().map(|a| a["accepted"].as_u64().unwrap()).sum();
    let duplicates: u64 = acks.iter().map(|a| a["duplicates"].as_u64().unwrap()).sum();
    assert_eq!((accepted, duplicates), (40, 200));
    let review = report(&addr);
    assert_eq!(review["summary"]["comments"], 240, "{}", review["summary"]);
    // Unauthenticated report requests are refused.
    {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        write!(s, "GET /api/rooms/r1/report?format=json HTTP/1.0\r\n\r\n").unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).unwrap();
        assert!(
            body.starts_with("HTTP/1.0 401") || body.starts_with("HTTP/1.1 401"),
            "{body}"
        );
    }
    // A clean stop (SIGTERM) ends the session.
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = child.try_wait().unwrap().expect("stopped after SIGTERM");
    assert!(status.success(), "{status:?}");
    // No raw viewer id reaches the database.
    let mut raw = Vec::new();
    for entry in std::fs::read_dir(dir.join("data")).unwrap().flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with("livecue.db")
        {
            raw.extend(std::fs::read(entry.path()).unwrap());
        }
    }
    let haystack = String::from_utf8_lossy(&raw);
    assert!(
        !haystack.contains("\"u17\"") && !haystack.contains("u17\0"),
        "raw viewer id stored"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_never_reaches_the_database_logs_metrics_reports_or_pages() {
    let dir = temp_dir("masking");
    let (mut child, addr, log) = serve_logged(&dir);
    let (mut ws, _) = connect_async(format!("ws://{addr}/ws/ingest?room=r1"))
        .await
        .unwrap();
    // A raw viewer id and display name, a phone number and a WeChat id, in every field a
    // source can put them.
    let frame = json!([
        {"type":"comment","id":"p1","user":"viewer-raw-8842","name":"王小明13700001111","text":"加我微信 lily_2024 领券"},
        {"type":"comment","id":"p2","user":"viewer-raw-8842","text":"电话13912345678 羽绒服还有吗"},
        {"type":"comment","id":"p3","user":"u3","text":"寄到人民路12号3栋2单元"},
        {"type":"comment","id":"p4","user":"u4","text":"vx: lily_2024 手机 139-1234-5678"},
        {"type":"gift","id":"p5","user":"viewer-raw-8842","name":"王小明13700001111","gift":"小心心","count":1},
        {"type":"order","id":"p6","user":"viewer-raw-8842","product":"1","amount":399.0}
    ]);
    ws.send(Message::Text(frame.to_string().into()))
        .await
        .unwrap();
    let ack = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(ack.to_text().unwrap().contains("\"accepted\":6"), "{ack}");
    let secrets = [
        "viewer-raw-8842",
        "王小明",
        "13700001111",
        "lily_2024",
        "13912345678",
        "139-1234-5678",
        "人民路12号",
    ];
    // The room stream (what the pages show).
    let (mut room, _) = connect_async(format!("ws://{addr}/ws/room/r1?role=console&token=v"))
        .await
        .unwrap();
    let snapshot = tokio::time::timeout(Duration::from_secs(10), room.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let mut shown = snapshot.to_text().unwrap().to_owned();
    assert!(
        shown.contains("羽绒服还有吗"),
        "the comment is there: {shown}"
    );
    // And the live messages that follow (stats carry recent comments).
    let deadline = Instant::now() + Duration::from_secs(3);
    while let Ok(Some(Ok(m))) = tokio::time::timeout(
        deadline.saturating_duration_since(Instant::now()),
        room.next(),
    )
    .await
    {
        if let Message::Text(t) = m {
            shown.push_str(&t);
        }
    }
    let mut looked = vec![("room stream".to_owned(), shown)];
    for report_format in ["json", "html", "csv"] {
        looked.push((
            format!("{report_format} report"),
            get(
                &addr,
                &format!("/api/rooms/r1/report?format={report_format}&token=v"),
            ),
        ));
    }
    for table in ["minutes", "cues", "products", "questions"] {
        looked.push((
            format!("csv {table}"),
            get(
                &addr,
                &format!("/api/rooms/r1/report?format=csv&table={table}&token=v"),
            ),
        ));
    }
    for page in [
        "/",
        "/overlay?room=r1&token=v",
        "/console?room=r1&token=v",
        "/metrics",
    ] {
        looked.push((page.to_owned(), get(&addr, page)));
    }
    child.kill().unwrap();
    let _ = child.wait();
    let logged = log.lock().unwrap().clone();
    assert!(
        logged.contains("DEBUG") || logged.contains("serving"),
        "the log was captured"
    );
    looked.push(("the server's log (debug)".to_owned(), logged));
    for entry in std::fs::read_dir(dir.join("data")).unwrap().flatten() {
        let bytes = std::fs::read(entry.path()).unwrap();
        looked.push((
            format!("{:?}", entry.file_name()),
            String::from_utf8_lossy(&bytes).into_owned(),
        ));
    }
    for (what, text) in &looked {
        for secret in secrets {
            assert!(!text.contains(secret), "{secret} in {what}");
        }
    }
    eprintln!(
        "privacy: {} places searched ({} bytes) for {} secrets, none found",
        looked.len(),
        looked.iter().map(|(_, t)| t.len()).sum::<usize>(),
        secrets.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
