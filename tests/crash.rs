//! Crashes, shutdown and a full disk (issue 10), against the real `livecue serve` binary with
//! a data directory: SIGKILL at random points during ingest (20 times), SIGTERM during
//! ingest, and a file-size limit that makes every write fail until it is lifted. After each,
//! the database is opened directly: every acknowledged event is there exactly once and
//! `PRAGMA integrity_check` is ok. Loops are bounded in count and time; loopback only.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

use common::temp_dir;

const CONFIG: &str = r#"
[limits]
store_retry_s = 2

[[rooms]]
id = "r1"
name = "崩溃测试"
view_token = "v"
[[rooms.products]]
id = "1"
name = "白鸭绒羽绒服"
aliases = ["羽绒服"]
price = 399.0
"#;

/// Starts the binary on port 0; returns it and its address (read from stderr).
fn serve(dir: &Path, ignore_sigxfsz: bool) -> (Child, String) {
    let config = dir.join("livecue.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_livecue"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .stderr(Stdio::piped())
        .stdout(Stdio::null());
    if ignore_sigxfsz {
        // A write past RLIMIT_FSIZE then fails with EFBIG instead of killing the process.
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(|| {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                Ok(())
            });
        }
    }
    let mut child = command.spawn().expect("livecue starts");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("serving on http://").nth(1) {
                let addr = rest.split('/').next().unwrap_or_default().to_owned();
                let _ = tx.send(addr);
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the server says where it listens");
    (child, addr)
}

/// The database after the server is gone: integrity, and every comment's source id with its
/// count.
/// A kill before the store was created leaves no database: nothing was acknowledged then.
fn inspect(dir: &Path) -> (String, Vec<(String, i64)>) {
    let path = dir.join("data").join("livecue.db");
    if !path.exists() {
        return ("ok".into(), Vec::new());
    }
    let conn = rusqlite::Connection::open(path).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    let Ok(mut stmt) =
        conn.prepare("SELECT source_id, COUNT(*) FROM comments GROUP BY session, source_id")
    else {
        return (integrity, Vec::new());
    };
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    (integrity, rows)
}

/// Checks the promise: everything acknowledged is stored exactly once, the file is sound.
fn check(dir: &Path, acked: &BTreeSet<String>, round: usize) -> usize {
    let (integrity, rows) = inspect(dir);
    assert_eq!(integrity, "ok", "round {round}: integrity");
    let twice: Vec<_> = rows.iter().filter(|(_, n)| *n != 1).collect();
    assert!(
        twice.is_empty(),
        "round {round}: stored more than once: {twice:?}"
    );
    let stored: BTreeSet<&str> = rows.iter().map(|(id, _)| id.as_str()).collect();
    let missing: Vec<_> = acked
        .iter()
        .filter(|id| !stored.contains(id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "round {round}: acknowledged but lost: {missing:?}"
    );
    rows.len()
}

fn comment(id: &str) -> Value {
    json!({"type":"comment","id":id,"user":format!("u-{}", id.len()),"text":"羽绒服多少钱"})
}

/// Sends frames of `per` events until the connection breaks or `frames` were sent: first
/// `pending` (resent), then new ids from `next`. Acknowledged ids go to `acked`; ids sent
/// without an ack stay in `pending`.
async fn ingest_until_broken(
    addr: String,
    pending: Arc<Mutex<Vec<String>>>,
    acked: Arc<Mutex<BTreeSet<String>>>,
    next: Arc<Mutex<usize>>,
    per: usize,
    frames: usize,
) {
    let Ok((mut ws, _)) = connect_async(format!("ws://{addr}/ws/ingest?room=r1")).await else {
        return;
    };
    for _ in 0..frames {
        let ids: Vec<String> = {
            let mut pending = pending.lock().unwrap();
            let take = pending.len().min(per);
            let mut ids: Vec<String> = pending.drain(..take).collect();
            let mut next = next.lock().unwrap();
            while ids.len() < per {
                ids.push(format!("k-{}", *next));
                *next += 1;
            }
            // Until acked, they are pending (a kill now leaves them unknown).
            pending.extend(ids.iter().cloned());
            ids
        };
        let frame = Value::Array(ids.iter().map(|id| comment(id)).collect());
        if ws
            .send(Message::Text(frame.to_string().into()))
            .await
            .is_err()
        {
            return;
        }
        let ack = loop {
            match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => break serde_json::from_str::<Value>(&t).ok(),
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) | Err(_) => {
                    break None;
                }
                Ok(Some(Ok(_))) => continue,
            }
        };
        let Some(ack) = ack else { return };
        if ack["type"] == "ack" && ack["rejected"].as_array().is_some_and(Vec::is_empty) {
            let mut pending = pending.lock().unwrap();
            pending.retain(|id| !ids.contains(id));
            acked.lock().unwrap().extend(ids);
        }
    }
}

/// A small deterministic generator for the kill points (seeded from the clock, printed).
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_twenty_times_loses_and_duplicates_nothing_acknowledged() {
    let dir = temp_dir("crash");
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64)
        | 1;
    eprintln!("kill points seed {seed}");
    let mut rng = XorShift(seed);
    let pending = Arc::new(Mutex::new(Vec::new()));
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let next = Arc::new(Mutex::new(0usize));
    let started = Instant::now();
    let mut stored = 0;
    for round in 0..20 {
        let (mut child, addr) = serve(&dir, false);
        let delay = Duration::from_millis(rng.next() % 400);
        let acked_before = acked.lock().unwrap().len();
        // Two sources at once, so the kill can land between any two commits.
        let sources: Vec<_> = (0..2)
            .map(|_| {
                tokio::spawn(ingest_until_broken(
                    addr.clone(),
                    pending.clone(),
                    acked.clone(),
                    next.clone(),
                    20,
                    10_000,
                ))
            })
            .collect();
        // Kill during ingest: once this life has acknowledged something, after a random delay.
        let waiting = Instant::now();
        while acked.lock().unwrap().len() == acked_before
            && waiting.elapsed() < Duration::from_secs(20)
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(delay).await;
        child.kill().unwrap(); // SIGKILL: no chance to flush anything
        let _ = child.wait();
        for s in sources {
            let _ = tokio::time::timeout(Duration::from_secs(15), s).await;
        }
        let acked_now = acked.lock().unwrap().clone();
        stored = check(&dir, &acked_now, round);
        eprintln!(
            "round {round}: killed {delay:?} after the first ack; {} acked, {} unacked pending, {stored} stored",
            acked_now.len(),
            pending.lock().unwrap().len()
        );
    }
    // A last life: everything pending is resent and taken once.
    let (mut child, addr) = serve(&dir, false);
    let left = pending.lock().unwrap().len();
    ingest_until_broken(
        addr,
        pending.clone(),
        acked.clone(),
        next.clone(),
        20,
        left.div_ceil(20),
    )
    .await;
    child.kill().unwrap();
    let _ = child.wait();
    let acked_now = acked.lock().unwrap().clone();
    let total = check(&dir, &acked_now, 20);
    eprintln!(
        "20 SIGKILLs in {:?}: {} acknowledged, {total} stored once each (last round {stored})",
        started.elapsed(),
        acked_now.len()
    );
    assert!(acked_now.len() >= 20, "some ingest happened");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_ingest_drains_in_flight_frames_and_ends_the_session() {
    let dir = temp_dir("drain");
    let (child, addr) = serve(&dir, false);
    let pending = Arc::new(Mutex::new(Vec::new()));
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let next = Arc::new(Mutex::new(0usize));
    let sources: Vec<_> = (0..4)
        .map(|_| {
            tokio::spawn(ingest_until_broken(
                addr.clone(),
                pending.clone(),
                acked.clone(),
                next.clone(),
                50,
                100_000,
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let before = acked.lock().unwrap().len();
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let mut child = child;
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let Some(status) = status else {
        let _ = child.kill();
        panic!("the server did not stop after SIGTERM");
    };
    assert!(status.success(), "{status:?}");
    for s in sources {
        let _ = tokio::time::timeout(Duration::from_secs(15), s).await;
    }
    let acked_now = acked.lock().unwrap().clone();
    eprintln!(
        "SIGTERM with 4 sources sending: {before} acked before it, {} in all; {} sent unacked",
        acked_now.len(),
        pending.lock().unwrap().len()
    );
    check(&dir, &acked_now, 0);
    let conn = rusqlite::Connection::open(dir.join("data").join("livecue.db")).unwrap();
    let ended: Option<i64> = conn
        .query_row(
            "SELECT ended_at FROM sessions ORDER BY key DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(ended.is_some(), "the session was ended cleanly");
    let _ = std::fs::remove_dir_all(&dir);
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Sends one frame of comments and returns the reply.
async fn send(ws: &mut Ws, ids: &[String]) -> Value {
    let frame = Value::Array(ids.iter().map(|id| comment(id)).collect());
    ws.send(Message::Text(frame.to_string().into()))
        .await
        .unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return serde_json::from_str::<Value>(&t).unwrap(),
            Ok(Some(Ok(_))) => continue,
            other => panic!("no reply: {other:?}"),
        }
    }
}

/// Sets the child's file-size limit (bytes; `None`: unlimited).
fn set_file_limit(pid: u32, bytes: Option<u64>) {
    let value = bytes.unwrap_or(libc::RLIM_INFINITY);
    let limit = libc::rlimit {
        rlim_cur: value,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: prlimit on a child we own, with a struct we own.
    let rc = unsafe {
        libc::prlimit(
            pid as libc::pid_t,
            libc::RLIMIT_FSIZE,
            &limit,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_slows_ingest_says_so_loses_nothing_and_recovers() {
    let dir = temp_dir("diskfull");
    let (mut child, addr) = serve(&dir, true);
    let (mut ws, _) = connect_async(format!("ws://{addr}/ws/ingest?room=r1"))
        .await
        .unwrap();
    let mut acked = BTreeSet::new();
    let batch = |from: usize| {
        (from..from + 50)
            .map(|i| format!("d-{i}"))
            .collect::<Vec<_>>()
    };
    // Healthy: acknowledged.
    for b in 0..4 {
        let ids = batch(b * 50);
        let ack = send(&mut ws, &ids).await;
        assert_eq!(ack["accepted"], 50, "{ack}");
        acked.extend(ids);
    }
    // The disk is "full": no file may grow past 4 KiB, so no WAL frame can be written.
    set_file_limit(child.id(), Some(4096));
    let full = batch(1000);
    let asked = Instant::now();
    let reply = send(&mut ws, &full).await;
    let waited = asked.elapsed();
    eprintln!("disk full: replied after {waited:?} (store_retry_s = 2): {reply}");
    assert_eq!(reply["type"], "error", "{reply}");
    assert_eq!(reply["code"], "store_unavailable");
    assert!(reply["retry_after_ms"].as_u64().is_some());
    // Over HTTP too, with 503 and Retry-After.
    let http = {
        use std::io::{Read, Write};
        let body = Value::Array(batch(2000).iter().map(|id| comment(id)).collect()).to_string();
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "POST /api/rooms/r1/events HTTP/1.0\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    };
    assert!(
        http.starts_with("HTTP/1.0 503") || http.starts_with("HTTP/1.1 503"),
        "{http}"
    );
    assert!(http.to_ascii_lowercase().contains("retry-after"), "{http}");
    // Space returns: the same frame is taken now, as new events (not "duplicates").
    set_file_limit(child.id(), None);
    let reply = send(&mut ws, &full).await;
    assert_eq!(reply["type"], "ack", "{reply}");
    assert_eq!(
        (reply["accepted"].as_u64(), reply["duplicates"].as_u64()),
        (Some(50), Some(0)),
        "{reply}"
    );
    acked.extend(full);
    let ids = batch(3000);
    let ack = send(&mut ws, &ids).await;
    assert_eq!(ack["accepted"], 50);
    acked.extend(ids);
    child.kill().unwrap();
    let _ = child.wait();
    let stored = check(&dir, &acked, 0);
    assert_eq!(stored, acked.len(), "nothing refused was stored");
    let _ = std::fs::remove_dir_all(&dir);
}
