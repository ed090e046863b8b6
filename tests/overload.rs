//! Overload (issue 10): half-open connections, the handshake timeout, a room over its rate,
//! and a console that stops reading. The real server on 127.0.0.1:0; loops bounded in count
//! and time; no duration is asserted (waits are upper bounds).

mod common;

use std::time::Duration;

use common::{Server, next_json, rss_kib, send, until};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const ROOM: &str = r#"
[[rooms]]
id = "r1"
name = "过载"
[[rooms.products]]
id = "1"
name = "白鸭绒羽绒服"
aliases = ["羽绒服"]
price = 399.0
[[rooms.products]]
id = "2"
name = "羊毛开衫"
"#;

/// Raises this process's open-file limit to its hard limit; returns the soft limit now.
fn raise_open_files() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain getrlimit/setrlimit on a struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit.rlim_cur = limit.rlim_max;
            }
        }
    }
    limit.rlim_cur
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_half_open_connections_do_not_stop_a_new_overlay() {
    // Each half-open connection costs two descriptors here (client and server side).
    let files = raise_open_files();
    let half_open: usize = if files >= 5_000 {
        2_000
    } else {
        ((files as usize).saturating_sub(200)) / 2
    };
    eprintln!("open-file limit {files}: {half_open} half-open connections");
    // A cap below the crowd, and a handshake timeout too long to help: only eviction can
    // let the overlay in.
    let config = format!("[limits]\nmax_connections = 1000\nhandshake_timeout_s = 120\n{ROOM}");
    let server = Server::start(&config, false).await;
    let rss_before = rss_kib();
    let mut crowd = Vec::with_capacity(half_open);
    let opened = tokio::time::timeout(Duration::from_secs(60), async {
        for i in 0..half_open {
            let Ok(mut s) = TcpStream::connect(server.addr).await else {
                break;
            };
            // Half a request: the headers never end (slowloris); some send nothing at all.
            if i % 2 == 0 {
                let _ = s
                    .write_all(b"GET /ws/room/r1?role=overlay HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                    .await;
            }
            crowd.push(s);
        }
    })
    .await;
    assert!(opened.is_ok(), "opening the crowd timed out");
    eprintln!("{} half-open connections open", crowd.len());
    // A new overlay connects and gets its snapshot.
    let mut overlay = server.ws("/ws/room/r1?role=overlay").await;
    assert_eq!(next_json(&mut overlay, 10).await["type"], "snapshot");
    // And ingest still works, with the crowd still there.
    let mut ingest = server.ws("/ws/ingest?room=r1").await;
    let ack = send(
        &mut ingest,
        json!({"type":"comment","text":"还能连上吗"}).to_string(),
    )
    .await;
    assert_eq!(ack["accepted"], 1);
    let metrics = server.metrics().await;
    let evicted = metric(
        &metrics,
        "livecue_connections_dropped_total{reason=\"evicted\"}",
    );
    let open = metric(&metrics, "livecue_connections ");
    eprintln!(
        "evicted {evicted}, open {open}, RSS {} -> {} KiB",
        rss_before,
        rss_kib()
    );
    assert!(evicted >= (crowd.len() as f64 - 1000.0), "{metrics}");
    assert!(open <= 1000.0, "the cap holds: {open}");
    // The evicted half of the crowd finds its socket closed.
    let mut closed = 0;
    for s in crowd.iter_mut().take(200) {
        let mut b = [0u8; 1];
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(20), s.read(&mut b)).await
        {
            closed += 1;
        }
    }
    assert!(closed > 0, "the oldest half-open connections were closed");
    drop(crowd);
    server.stop().await;
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_sends_no_request_is_closed_after_the_handshake_timeout() {
    let config = format!("[limits]\nhandshake_timeout_s = 1\n{ROOM}");
    let server = Server::start(&config, false).await;
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHo").await.unwrap();
    for s in [&mut silent, &mut slow] {
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(15), s.read(&mut buf)).await;
        assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "closed: {read:?}");
    }
    assert!(
        metric(
            &server.metrics().await,
            "livecue_connections_dropped_total{reason=\"handshake_timeout\"}"
        ) >= 2.0
    );
    // A request in time is served as usual.
    assert_eq!(server.http("GET", "/healthz", &[], "").await.status, 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_over_its_rate_refuses_frames_with_retry_after_and_keeps_the_connection() {
    let config = format!("[limits]\nroom_events_per_s = 50\nroom_events_burst = 100\n{ROOM}");
    let server = Server::start(&config, false).await;
    let frame = |prefix: &str, n: usize| {
        Value::Array(
            (0..n)
                .map(|i| json!({"type":"comment","id":format!("{prefix}-{i}"),"text":"羽绒服好看"}))
                .collect(),
        )
        .to_string()
    };
    // Two sources together: the room's budget is shared.
    let mut a = server.ws("/ws/ingest?room=r1").await;
    let mut b = server.ws("/ws/ingest?room=r1").await;
    assert_eq!(send(&mut a, frame("a1", 40)).await["accepted"], 40);
    assert_eq!(send(&mut b, frame("b1", 40)).await["accepted"], 40);
    let refused = send(&mut a, frame("a2", 40)).await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["code"], "rate_limited");
    let retry = refused["retry_after_ms"].as_u64().expect("retry_after_ms");
    assert!(retry >= 1, "{refused}");
    // Over HTTP: 429 with Retry-After.
    let resp = server
        .http("POST", "/api/rooms/r1/events", &[], &frame("h1", 40))
        .await;
    assert_eq!(resp.status, 429, "{}", resp.head);
    assert!(resp.header("retry-after").is_some());
    assert!(resp.body.contains("rate_limited"));
    // The refused frame was not half-taken: resent after the wait, all of it is accepted.
    tokio::time::sleep(Duration::from_millis(retry + 50)).await;
    let ack = send(&mut a, frame("a2", 40)).await;
    assert_eq!(ack["type"], "ack", "{ack}");
    assert_eq!(
        (ack["accepted"].as_u64(), ack["duplicates"].as_u64()),
        (Some(40), Some(0))
    );
    assert!(
        server
            .metrics()
            .await
            .contains("livecue_frames_refused_total{room=\"r1\",kind=\"rate_limited\"}")
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_that_stops_reading_is_cut_off_without_memory_growth() {
    let config = format!("[limits]\nsend_timeout_s = 1\nframes_per_s = 100000\n{ROOM}");
    let server = Server::start(&config, false).await;
    // Connected, reads its snapshot, then never reads again.
    let mut stalled = server.ws("/ws/room/r1?role=console").await;
    assert_eq!(next_json(&mut stalled, 10).await["type"], "snapshot");
    let mut watcher = server.ws("/ws/room/r1?role=overlay").await;
    let _ = next_json(&mut watcher, 10).await;
    let mut operator = server.ws("/ws/room/r1?role=console").await;
    let _ = next_json(&mut operator, 10).await;
    // Big script messages: each command republishes the product with 50 long points.
    let points: Vec<Value> = (0..50)
        .map(|i| json!({"topic":"general","text":format!("{i} {}", "x".repeat(480))}))
        .collect();
    let rss_before = rss_kib();
    let rounds = 4_000usize;
    let (done, mut done_rx) = tokio::sync::oneshot::channel::<()>();
    let (mut sink, mut stream) = operator.split();
    let writer = tokio::spawn(async move {
        for i in 0..rounds {
            let cmd = json!({"type":"set_points","product":"1","points":points,"req":i});
            if sink
                .send(Message::Text(cmd.to_string().into()))
                .await
                .is_err()
            {
                return i;
            }
        }
        rounds
    });
    // The operator's replies are read (it is not the slow one).
    let replies = tokio::spawn(async move {
        let mut n = 0;
        while n < rounds {
            match tokio::time::timeout(Duration::from_secs(30), stream.next()).await {
                Ok(Some(Ok(Message::Text(t)))) if t.contains("\"reply\"") => n += 1,
                Ok(Some(Ok(_))) => continue,
                _ => break,
            }
        }
        n
    });
    // The watching overlay keeps up: it reads everything.
    let watching = tokio::spawn(async move {
        let mut bytes = 0usize;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
        loop {
            tokio::select! {
                _ = &mut done_rx => break,
                m = tokio::time::timeout_at(deadline, watcher.next()) => match m {
                    Ok(Some(Ok(Message::Text(t)))) => bytes += t.len(),
                    Ok(Some(Ok(_))) => continue,
                    _ => break,
                },
            }
        }
        (bytes, watcher)
    });
    let sent = tokio::time::timeout(Duration::from_secs(60), writer)
        .await
        .unwrap()
        .unwrap();
    let replied = tokio::time::timeout(Duration::from_secs(60), replies)
        .await
        .unwrap()
        .unwrap();
    let published_mb = sent as f64 * 25_000.0 / 1e6;
    let rss_after = rss_kib();
    eprintln!(
        "slow console: {sent} commands sent, {replied} replies, ~{published_mb:.0} MB published; RSS {rss_before} -> {rss_after} KiB"
    );
    assert_eq!(replied, rounds, "the operator was never held up");
    let _ = done.send(());
    let (seen, mut watcher) = tokio::time::timeout(Duration::from_secs(60), watching)
        .await
        .unwrap()
        .unwrap();
    eprintln!("the reading overlay took {} MB", seen / 1_000_000);
    // The stalled console reads again. It was either cut off (its socket buffers, then the
    // server's close) or, when the buffers took what the server wrote in time, resynced: a
    // fresh snapshot instead of the backlog, then live messages again.
    let (mut got, mut snapshots, mut caught_up) = (0usize, 0usize, false);
    let end = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(m) = stalled.next().await {
            match m {
                Ok(Message::Text(t)) => {
                    got += t.len();
                    let v: Value = serde_json::from_str(&t).unwrap_or_default();
                    if v["type"] == "snapshot" {
                        snapshots += 1;
                    }
                    // Live again: a stats message after a resync.
                    if snapshots > 0 && v["type"] == "stats" {
                        caught_up = true;
                        return None;
                    }
                }
                Ok(Message::Close(frame)) => return Some(frame),
                Ok(_) => continue,
                Err(_) => return Some(None),
            }
        }
        Some(None)
    })
    .await
    .expect("the stalled console is cut off or resynced");
    eprintln!(
        "the stalled console received {:.1} MB: {snapshots} snapshot(s), caught up {caught_up}, end {end:?}",
        got as f64 / 1e6
    );
    match &end {
        Some(Some(frame)) => {
            assert_eq!(frame.code, CloseCode::Policy);
            assert!(frame.reason.contains("too slow"), "{}", frame.reason);
        }
        Some(None) => {} // cut off without a close frame (its buffers were full)
        None => assert!(caught_up && snapshots >= 1),
    }
    assert!(
        (got as f64) < published_mb * 1e6 * 0.9,
        "it did not get the backlog"
    );
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("kind=\"slow\"")
            || metrics.contains("livecue_client_lagged_total{room=\"r1\"}"),
        "{metrics}"
    );
    // Memory: the room keeps at most its ring (1,024 messages) whatever a client does.
    let growth_mb = rss_after.saturating_sub(rss_before) as f64 / 1024.0;
    assert!(
        growth_mb < published_mb * 0.75,
        "RSS grew {growth_mb:.0} MB for {published_mb:.0} MB published"
    );
    // The room carries on for those who read.
    let mut fresh = server.ws("/ws/room/r1?role=overlay").await;
    assert_eq!(next_json(&mut fresh, 10).await["type"], "snapshot");
    let _ = until(&mut watcher, 10, |m| m["type"] == "stats").await;
    server.stop().await;
}
