//! The durable store from the outside: schema from empty, appends visible after reopen,
//! duplicates ignored, sessions continued after a crash, every acknowledged row kept when the
//! process is killed with SIGKILL, retention, `keep_text = false`, pseudonyms, masking, and a
//! full queue (backpressure for `append`, counted drops for `try_append`).

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{TempDir, runtime};
use std::time::Duration;

use livecue::clock::now_ms;
use livecue::ingest::Medal;
use livecue::store::{
    CommentRecord, CueRecord, EventKind, EventRecord, GROUP_ROWS, GapRecord, QUEUE, Reader, Record,
    SCHEMA_VERSION, Store, StoreError, StoreHandle, StoreOptions, intent_bit,
};
use livecue::suggest::CueState;
use livecue::wire::Command;

fn comment(h: &StoreHandle, session: &Arc<str>, n: usize, at: i64, text: &str) -> Record {
    Record::Comment(CommentRecord {
        session: session.clone(),
        at,
        ts: at - 5,
        source_id: Some(format!("m-{n}")),
        viewer: Some(h.viewer(&format!("u{}", n % 7))),
        text: text.to_owned(),
        product: Some("2".into()),
        named: true,
        intents: intent_bit("ask_size").unwrap(),
        sentiment: 0.5,
        label: 1,
        question: true,
        key: Some("size:2".into()),
        complaint: None,
        words: vec!["尺码".into(), "2号".into()],
        medal: None,
        super_chat: None,
    })
}

fn order(h: &StoreHandle, session: &Arc<str>, n: usize, at: i64) -> Record {
    Record::Event(EventRecord {
        session: session.clone(),
        kind: EventKind::Order,
        at,
        ts: at,
        source_id: Some(format!("o-{n}")),
        viewer: Some(h.viewer("buyer")),
        product: Some("2".into()),
        item: None,
        count: 2,
        value: 258.0,
    })
}

fn cue(session: &Arc<str>, id: &str, at: i64) -> Record {
    Record::Cue(CueRecord {
        session: session.clone(),
        id: id.into(),
        kind: "answer_question",
        product: Some("2".into()),
        priority: 70,
        text: "12人问2号尺码 → 160/100斤选M".into(),
        reason: "12 人在问 2号尺码".into(),
        variant: None,
        evidence: serde_json::json!({"count": 12, "window_s": 60, "samples": ["2号什么尺码 电话13812345678"], "key": "size:2"}),
        created_at: at,
        expires_at: at + 45_000,
        state: CueState::Active.as_str(),
    })
}

fn count(conn: &rusqlite::Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn the_schema_is_made_from_empty() {
    let dir = TempDir::new("schema");
    let store = Store::open(dir.path()).unwrap();
    store.close_blocking().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("livecue.db")).unwrap();
    assert_eq!(count(&conn, "PRAGMA user_version"), SCHEMA_VERSION);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(count(&conn, "PRAGMA auto_vacuum"), 2, "incremental");
    for table in [
        "sessions",
        "comments",
        "events",
        "cues",
        "actions",
        "minutes",
        "words",
        "source_gaps",
    ] {
        assert_eq!(count(&conn, &format!("SELECT count(*) FROM {table}")), 0);
    }
    let secret = dir.path().join("secret.key");
    assert_eq!(std::fs::read(&secret).unwrap().len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secret).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let mode = std::fs::metadata(dir.path().join("livecue.db"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the database is private too");
    }
    // Reopening an up-to-date database changes nothing.
    let store = Store::open(dir.path()).unwrap();
    store.close_blocking().unwrap();
    assert!(Reader::open(dir.path()).is_ok());
}

#[test]
fn appends_are_committed_and_visible_after_reopen() {
    let dir = TempDir::new("append");
    let rt = runtime();
    // Recent: the default retention (90 days) would delete an older session at reopen.
    let t0 = now_ms() - 3_600_000;
    let first_id = rt.block_on(async {
        let store = Store::open(dir.path()).unwrap();
        let h = store.handle();
        let session = h
            .start_session("r1", "冬季女装专场", &[], Some("2"), t0)
            .await
            .unwrap();
        assert!(!session.resumed);
        assert_eq!(*session.id, format!("r1-{}", livecue::store::stamp(t0, 0)));
        let s = session.id.clone();
        let batch = vec![
            comment(&h, &s, 1, t0 + 1_000, "2号什么尺码"),
            comment(&h, &s, 2, t0 + 2_000, "2号尺码偏大吗"),
            order(&h, &s, 1, t0 + 3_000),
            comment(&h, &s, 3, t0 + 61_000, "2号尺码"),
        ];
        let appended = h.append(batch).await.unwrap();
        assert_eq!(appended.inserted, 4);
        assert!(appended.duplicates.is_empty());
        // A resend (its ack was lost) is not written twice.
        let again = vec![
            comment(&h, &s, 2, t0 + 2_000, "2号尺码偏大吗"),
            comment(&h, &s, 4, t0 + 62_000, "2号尺码表"),
            order(&h, &s, 1, t0 + 3_000),
        ];
        let appended = h.append(again).await.unwrap();
        assert_eq!(appended.inserted, 1);
        assert_eq!(appended.duplicates, [0, 2]);
        // Fire-and-forget: a cue, its ack, the action.
        assert!(h.try_append(vec![
            cue(&s, "r1-1", t0 + 63_000),
            Record::CueState {
                session: s.clone(),
                id: "r1-1".into(),
                state: CueState::Acked.as_str(),
                at: t0 + 70_000,
            },
            livecue::live::records::action(&s, t0 + 70_000, &Command::AckCue { id: "r1-1".into() }),
        ]));
        h.flush().await.unwrap();
        assert_eq!(h.dropped(), 0);
        store.close().await.unwrap();
        // Closed: appends are refused, not lost silently.
        assert!(h.append(vec![comment(&h, &s, 9, t0, "x")]).await.is_err());
        s
    });

    let reader = Reader::open(dir.path()).unwrap();
    let s = reader.session("r1", None).unwrap().unwrap();
    assert_eq!(*s.id, *first_id);
    assert_eq!(s.room_name, "冬季女装专场");
    let counts = reader.counts(&s).unwrap();
    assert_eq!((counts.comments, counts.events, counts.cues), (4, 1, 1));
    assert_eq!(counts.actions, 2, "session start and the ack");
    let minutes = reader.minutes(&s).unwrap();
    let comments: u64 = minutes.iter().map(|m| m.comments).sum();
    assert_eq!(comments, 4, "aggregates count each comment once");
    assert_eq!(minutes.iter().map(|m| m.orders).sum::<u64>(), 2);
    assert_eq!(minutes.len(), 2);
    let words = reader.words(&s, 10).unwrap();
    assert!(words.contains(&("尺码".to_owned(), 4)), "{words:?}");
    let cues = reader.cues(&s).unwrap();
    assert_eq!(cues[0].state, "acked");
    assert_eq!(cues[0].state_at, Some(t0 + 70_000));
    assert_eq!(s.last_at, t0 + 70_000);
    drop(reader);

    // The process stopped without ending the session: a restart soon after continues it.
    rt.block_on(async {
        let store = Store::open(dir.path()).unwrap();
        let h = store.handle();
        let again = h
            .start_session("r1", "冬季女装专场", &[], Some("3"), t0 + 120_000)
            .await
            .unwrap();
        assert!(again.resumed);
        assert_eq!(again.id, first_id);
        h.append(vec![Record::SessionEnd {
            session: again.id.clone(),
            at: t0 + 180_000,
        }])
        .await
        .unwrap();
        // Ended cleanly: the next start is a new session.
        let next = h
            .start_session("r1", "冬季女装专场", &[], None, t0 + 200_000)
            .await
            .unwrap();
        assert!(!next.resumed);
        assert_ne!(next.id, first_id);
        store.close().await.unwrap();
    });
    let reader = Reader::open(dir.path()).unwrap();
    let sessions = reader.sessions("r1").unwrap();
    assert_eq!(sessions.len(), 2);
    let old = &sessions[1];
    assert_eq!(old.resumed, 1);
    assert_eq!(old.ended_at, Some(t0 + 180_000));
    assert!(old.clean_end);
}

/// In the child: append numbered batches forever, printing `acked k` after each commit.
fn sigkill_child(dir: &str) {
    let rt = runtime();
    rt.block_on(async {
        let store = Store::open(Path::new(dir)).unwrap();
        let h = store.handle();
        let s = h
            .start_session("r1", "", &[], None, now_ms())
            .await
            .unwrap()
            .id;
        println!("session {s}");
        for k in 0..5_000usize {
            let at = now_ms();
            let batch: Vec<Record> = (0..50)
                .map(|i| comment(&h, &s, k * 50 + i, at, "2号尺码"))
                .collect();
            h.append(batch).await.unwrap();
            println!("acked {k}");
        }
        // Never reached in the test: the parent kills us long before.
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
}

#[test]
fn sigkill_keeps_every_acknowledged_row() {
    if let Ok(dir) = std::env::var("LIVECUE_STORE_CHILD") {
        sigkill_child(&dir);
        return;
    }
    use rand::Rng;
    use std::io::{BufRead, BufReader};
    use std::process::{Command as Process, Stdio};
    let mut rng = rand::rng();
    for round in 0..3 {
        let dir = TempDir::new(&format!("sigkill{round}"));
        let kill_after: usize = rng.random_range(2..60);
        let mut child = Process::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "sigkill_keeps_every_acknowledged_row",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("LIVECUE_STORE_CHILD", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut acked: Option<usize> = None;
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(k) = line.strip_prefix("acked ") {
                let k: usize = k.trim().parse().unwrap();
                acked = Some(k);
                if k >= kill_after {
                    // SIGKILL, right after an acknowledgement.
                    child.kill().unwrap();
                    break;
                }
            }
        }
        child.wait().unwrap();
        let acked = acked.expect("the child acknowledged something");
        let reader = Reader::open(dir.path()).unwrap();
        let s = reader.session("r1", None).unwrap().unwrap();
        let conn = reader.connection();
        let mut missing = Vec::new();
        for n in 0..(acked + 1) * 50 {
            let found: i64 = conn
                .query_row(
                    "SELECT count(*) FROM comments WHERE source_id = ?1",
                    [format!("m-{n}")],
                    |r| r.get(0),
                )
                .unwrap();
            if found != 1 {
                missing.push(n);
            }
        }
        assert!(
            missing.is_empty(),
            "round {round}: rows of acked batches lost: {missing:?}"
        );
        let rows = reader.counts(&s).unwrap().comments;
        assert!(rows >= ((acked + 1) * 50) as u64);
        assert_eq!(rows % 50, 0, "batches are all or nothing");
        let in_minutes: u64 = reader.minutes(&s).unwrap().iter().map(|m| m.comments).sum();
        assert_eq!(in_minutes, rows, "aggregates commit with their rows");
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        assert_eq!(s.ended_at, None, "killed: no clean end");
    }
}

#[test]
fn retention_deletes_old_sessions_only() {
    let dir = TempDir::new("retention");
    let rt = runtime();
    let now = now_ms();
    let day = 86_400_000i64;
    rt.block_on(async {
        let store = Store::open(dir.path()).unwrap();
        let h = store.handle();
        let old = h
            .start_session("r1", "", &[], None, now - 100 * day)
            .await
            .unwrap()
            .id;
        h.append(vec![
            comment(&h, &old, 1, now - 100 * day + 1_000, "老场次"),
            order(&h, &old, 1, now - 100 * day + 2_000),
            Record::SessionEnd {
                session: old.clone(),
                at: now - 100 * day + 3_600_000,
            },
        ])
        .await
        .unwrap();
        let recent = h
            .start_session("r1", "", &[], None, now - 2 * day)
            .await
            .unwrap()
            .id;
        h.append(vec![comment(
            &h,
            &recent,
            2,
            now - 2 * day + 1_000,
            "新场次",
        )])
        .await
        .unwrap();
        let pruned = h.prune(30, now).await.unwrap();
        assert_eq!((pruned.sessions, pruned.comments, pruned.events), (1, 1, 1));
        let pruned = h.prune(30, now).await.unwrap();
        assert_eq!(pruned.sessions, 0);
        store.close().await.unwrap();
    });
    let reader = Reader::open(dir.path()).unwrap();
    let sessions = reader.sessions("r1").unwrap();
    assert_eq!(sessions.len(), 1);
    let conn = reader.connection();
    for table in ["comments", "events", "actions", "minutes", "words"] {
        let orphans = count(
            conn,
            &format!(
                "SELECT count(*) FROM {table} WHERE session NOT IN (SELECT key FROM sessions)"
            ),
        );
        assert_eq!(orphans, 0, "{table}");
    }
    drop(reader);
    // Retention also runs at start-up.
    let options = StoreOptions {
        retention_days: 1,
        ..StoreOptions::default()
    };
    let store = Store::open_with(dir.path(), options).unwrap();
    store.close_blocking().unwrap();
    let reader = Reader::open(dir.path()).unwrap();
    assert!(reader.sessions("r1").unwrap().is_empty());
}

#[test]
fn without_keep_text_no_comment_text_is_stored_but_aggregates_are() {
    let dir = TempDir::new("keep-text");
    let rt = runtime();
    let t0 = now_ms();
    let options = StoreOptions {
        keep_text: false,
        ..StoreOptions::default()
    };
    rt.block_on(async {
        let store = Store::open_with(dir.path(), options).unwrap();
        let h = store.handle();
        let s = h.start_session("r1", "", &[], None, t0).await.unwrap().id;
        h.append(vec![
            comment(&h, &s, 1, t0 + 1, "2号什么尺码 秘密文字"),
            comment(&h, &s, 2, t0 + 2, "2号尺码 秘密文字"),
            cue(&s, "r1-1", t0 + 3),
        ])
        .await
        .unwrap();
        store.close().await.unwrap();
    });
    let reader = Reader::open(dir.path()).unwrap();
    let s = reader.session("r1", None).unwrap().unwrap();
    assert!(!s.keep_text);
    let conn = reader.connection();
    assert_eq!(
        count(conn, "SELECT count(*) FROM comments WHERE text IS NOT NULL"),
        0
    );
    assert_eq!(count(conn, "SELECT count(*) FROM comments"), 2);
    let cues = reader.cues(&s).unwrap();
    assert_eq!(cues[0].evidence["samples"], serde_json::json!([]));
    assert_eq!(cues[0].evidence["count"], 12);
    assert_eq!(reader.minutes(&s).unwrap()[0].comments, 2);
    assert!(!reader.words(&s, 10).unwrap().is_empty());
    drop(reader);
    let bytes = db_bytes(dir.path());
    assert!(!contains(&bytes, "秘密文字".as_bytes()));
}

fn db_bytes(dir: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for name in ["livecue.db", "livecue.db-wal"] {
        if let Ok(b) = std::fs::read(dir.join(name)) {
            bytes.extend(b);
        }
    }
    bytes
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn pseudonyms_are_stable_per_deployment_and_raw_data_never_stored() {
    let a = TempDir::new("pseudo-a");
    let b = TempDir::new("pseudo-b");
    let store = Store::open(a.path()).unwrap();
    let p1 = store.pseudonym("u-raw-viewer-4242");
    assert_eq!(p1.len(), 16);
    assert!(!p1.contains("4242"));
    store.close_blocking().unwrap();
    let store = Store::open(a.path()).unwrap();
    assert_eq!(
        store.pseudonym("u-raw-viewer-4242"),
        p1,
        "stable across restarts"
    );
    let other = Store::open(b.path()).unwrap();
    assert_ne!(
        other.pseudonym("u-raw-viewer-4242"),
        p1,
        "keyed per deployment"
    );
    other.close_blocking().unwrap();

    // Masking at the store boundary: even unmasked text handed to it is masked.
    let rt = runtime();
    rt.block_on(async {
        let h = store.handle();
        let s = h
            .start_session("r1", "", &[], None, now_ms())
            .await
            .unwrap()
            .id;
        let mut record = comment(&h, &s, 1, now_ms(), "加我微信 abc12345 或打 13812345678");
        if let Record::Comment(c) = &mut record {
            c.viewer = Some(h.viewer("u-raw-viewer-4242"));
        }
        h.append(vec![record, cue(&s, "r1-1", now_ms())])
            .await
            .unwrap();
        store.close().await.unwrap();
    });
    let bytes = db_bytes(a.path());
    assert!(!contains(&bytes, b"13812345678"), "phone number stored");
    assert!(!contains(&bytes, b"abc12345"), "WeChat id stored");
    assert!(
        !contains(&bytes, b"u-raw-viewer-4242"),
        "raw viewer id stored"
    );
    assert!(contains(&bytes, p1.as_bytes()), "the pseudonym is stored");
}

#[test]
fn a_full_queue_slows_append_and_counts_fire_and_forget_drops() {
    let dir = TempDir::new("backpressure");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = Store::open(dir.path()).unwrap();
        let h = store.handle();
        let s = h
            .start_session("r1", "", &[], None, now_ms())
            .await
            .unwrap()
            .id;
        // Another process holds the write lock: the writer waits, the queue fills.
        let blocker = rusqlite::Connection::open(dir.path().join("livecue.db")).unwrap();
        blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
        let action = |i: i64| {
            livecue::live::records::action(
                &s,
                i,
                &Command::MarkAnswered {
                    key: "size:2".into(),
                },
            )
        };
        let batches = 600usize;
        let mut queued = 0usize;
        for i in 0..batches {
            if h.try_append((0..10).map(|j| action((i * 10 + j) as i64)).collect()) {
                queued += 1;
            }
        }
        // At most one group in the writer's hands and QUEUE batches in the channel.
        let most = GROUP_ROWS / 10 + QUEUE + 1;
        assert!(queued <= most, "queued {queued}");
        let dropped = h.dropped();
        assert_eq!(dropped as usize, (batches - queued) * 10);
        assert!(dropped > 0);
        // `append` waits while the queue is full: it cannot finish before the lock goes.
        let waiting = tokio::time::timeout(
            Duration::from_millis(300),
            h.append(vec![comment(&h, &s, 1, now_ms(), "2号尺码")]),
        )
        .await;
        assert!(
            waiting.is_err(),
            "append finished while the database was locked"
        );
        let pending = tokio::spawn({
            let h = h.clone();
            let s = s.clone();
            async move {
                h.append(vec![comment(&h, &s, 2, now_ms(), "2号尺码")])
                    .await
            }
        });
        blocker.execute_batch("ROLLBACK").unwrap();
        let appended = pending.await.unwrap().unwrap();
        assert_eq!(appended.inserted, 1);
        h.flush().await.unwrap();
        store.close().await.unwrap();
        let reader = Reader::open(dir.path()).unwrap();
        let session = reader.session("r1", None).unwrap().unwrap();
        assert_eq!(session.dropped, dropped, "the review sees the drops");
        let actions = reader.counts(&session).unwrap().actions;
        assert_eq!(
            actions as usize,
            queued * 10 + 1,
            "every queued record was written"
        );
    });
}

/// Issue 9: a database written by the previous schema (no medal or super-chat columns, no
/// `source_gaps`) is migrated in place when the store opens it, every row kept; gaps, medals
/// and super chats written afterwards read back.
#[test]
fn issue9_a_version_1_database_migrates_and_keeps_its_rows() {
    let dir = TempDir::new("migrate");
    let now = now_ms();
    let session: Arc<str> = {
        let rt = runtime();
        let store = Store::open(dir.path()).unwrap();
        let h = store.handle();
        let s = rt
            .block_on(h.start_session("r1", "老场次", &[], None, now - 60_000))
            .unwrap()
            .id;
        h.append_blocking(vec![comment(&h, &s, 1, now - 50_000, "2号有M码吗")])
            .unwrap();
        store.close_blocking().unwrap();
        s
    };
    // Make it what version 1 wrote: versions 2 and 3 only added these.
    {
        let conn = rusqlite::Connection::open(dir.path().join("livecue.db")).unwrap();
        conn.execute_batch(
            "DROP TABLE profiles;
             DROP TABLE exposures;
             ALTER TABLE comments DROP COLUMN medal;
             ALTER TABLE comments DROP COLUMN medal_level;
             ALTER TABLE comments DROP COLUMN super_chat;
             DROP TABLE source_gaps;
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    assert!(matches!(
        Reader::open(dir.path()),
        Err(StoreError::TooOld { found: 1, .. })
    ));
    let store = Store::open(dir.path()).unwrap();
    let h = store.handle();
    let mut paid = comment(&h, &session, 2, now - 40_000, "主播看看我 13812345678");
    if let Record::Comment(c) = &mut paid {
        c.medal = Some(Medal {
            name: "粉丝牌".into(),
            level: 12,
        });
        c.super_chat = Some(30.0);
    }
    h.append_blocking(vec![
        paid,
        Record::SourceGap(GapRecord {
            session: session.clone(),
            source: "bili".into(),
            kind: "bilibili",
            from: now - 45_000,
            to: now - 42_000,
            reason: "disconnected",
            missing: None,
        }),
    ])
    .unwrap();
    store.close_blocking().unwrap();

    let reader = Reader::open(dir.path()).unwrap();
    let conn = reader.connection();
    assert_eq!(count(conn, "PRAGMA user_version"), SCHEMA_VERSION);
    let row = reader.session("r1", None).unwrap().unwrap();
    let mut seen = Vec::new();
    reader
        .for_each_comment(&row, |c| {
            seen.push((
                c.text.unwrap_or("").to_owned(),
                c.medal.map(str::to_owned),
                c.medal_level,
                c.super_chat,
            ))
        })
        .unwrap();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0], ("2号有M码吗".into(), None, None, None));
    assert_eq!(seen[1].1.as_deref(), Some("粉丝牌"));
    assert_eq!((seen[1].2, seen[1].3), (Some(12), Some(30.0)));
    assert!(!seen[1].0.contains("13812345678"), "masked: {}", seen[1].0);
    let gaps = reader.gaps(&row).unwrap();
    assert_eq!(gaps.len(), 1);
    assert_eq!(
        (
            gaps[0].source.as_str(),
            gaps[0].reason.as_str(),
            gaps[0].to - gaps[0].from
        ),
        ("bili", "disconnected", 3_000)
    );
}
