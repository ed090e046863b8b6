//! The writer thread: the only connection that writes, fed by the store's bounded channel.
//!
//! Group commit: it blocks for the first job, then takes whatever else is already queued (up
//! to [`GROUP_ROWS`] rows) and writes it all in one transaction, together with the per-minute
//! and hot-word aggregates of the comments and events that were new, then answers every
//! waiter. While one commit is on disk the next group builds up, so the number of commits
//! per second stays small however many connections are acked. A busy database (another
//! process holding a lock) is waited out and retried, never turned into lost events.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rusqlite::{
    Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior, params,
};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::record::{EventKind, Record, intent_bit};
use super::{
    Appended, Forgotten, GROUP_ROWS, Job, Pruned, Reply, Session, SessionRequest, Shared,
    StoreError, StoreOptions, SyncMode, schema, stamp,
};

/// Opens the write connection: WAL, the chosen `synchronous`, `secure_delete`, migrations.
pub fn open_write(path: &Path, options: &StoreOptions) -> Result<Connection, StoreError> {
    precreate_private(path);
    let mut conn =
        Connection::open(path).map_err(|e| StoreError::Sql(format!("{}: {e}", path.display())))?;
    conn.busy_timeout(Duration::from_secs(5))?;
    // Only takes effect on a new, empty database: pruned sessions give their pages back.
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Sql(format!(
            "{}: cannot switch to WAL (journal_mode is {mode})",
            path.display()
        )));
    }
    let sync = match options.sync {
        SyncMode::Normal => "NORMAL",
        SyncMode::Full => "FULL",
    };
    conn.pragma_update(None, "synchronous", sync)?;
    // Deleted rows (retention) are overwritten, not left readable in free pages.
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.set_prepared_statement_cache_capacity(32);
    schema::migrate(&mut conn)?;
    Ok(conn)
}

/// Creates the database file readable by its owner only, so SQLite (which gives the WAL and
/// shared-memory files the database's permissions) keeps all of it private.
fn precreate_private(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path);
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Errors inside the writer, before they are handed to waiters.
enum WriteError {
    Sql(rusqlite::Error),
    UnknownSession(String),
}

impl From<rusqlite::Error> for WriteError {
    fn from(e: rusqlite::Error) -> WriteError {
        WriteError::Sql(e)
    }
}

impl From<WriteError> for StoreError {
    fn from(e: WriteError) -> StoreError {
        match e {
            WriteError::Sql(e) => StoreError::Sql(e.to_string()),
            WriteError::UnknownSession(s) => StoreError::UnknownSession(s),
        }
    }
}

fn is_busy(e: &WriteError) -> bool {
    matches!(e, WriteError::Sql(rusqlite::Error::SqliteFailure(f, _))
        if matches!(f.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked))
}

pub struct Writer {
    conn: Connection,
    options: StoreOptions,
    shared: Arc<Shared>,
    /// Session text id → `sessions.key`.
    sessions: HashMap<Arc<str>, i64>,
}

type Batch = (Vec<Record>, Option<Reply<Appended>>);

impl Writer {
    pub fn new(conn: Connection, options: StoreOptions, shared: Arc<Shared>) -> Writer {
        Writer {
            conn,
            options,
            shared,
            sessions: HashMap::new(),
        }
    }

    pub fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        let mut next: Option<Job> = None;
        loop {
            let job = match next.take() {
                Some(job) => job,
                None => match rx.blocking_recv() {
                    Some(job) => job,
                    None => break,
                },
            };
            match job {
                Job::Append { records, done } => {
                    let mut rows = records.len();
                    let mut group: Vec<Batch> = vec![(records, done)];
                    while rows < GROUP_ROWS {
                        match rx.try_recv() {
                            Ok(Job::Append { records, done }) => {
                                rows += records.len();
                                group.push((records, done));
                            }
                            Ok(other) => {
                                next = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    self.commit(group);
                }
                Job::Start { request, done } => {
                    let result = self.retrying(|w| w.start_session(&request));
                    let _ = done.send(result.map_err(StoreError::from));
                }
                Job::Prune { days, now, done } => {
                    let _ = done.send(self.prune(days, now));
                }
                Job::Flush { done } => {
                    let _ = done.send(Ok(()));
                }
                Job::Close { done } => {
                    rx.close();
                    // Appends queued before the close are still written.
                    let mut group = Vec::new();
                    while let Ok(job) = rx.try_recv() {
                        match job {
                            Job::Append { records, done } => group.push((records, done)),
                            Job::Flush { done } => {
                                let _ = done.send(Ok(()));
                            }
                            _ => {}
                        }
                    }
                    if !group.is_empty() {
                        self.commit(group);
                    }
                    let result = self.finish();
                    drop(self);
                    let _ = done.send(result);
                    return;
                }
            }
        }
        let _ = self.finish();
    }

    /// Writes a group in one transaction and answers its waiters. When the group fails,
    /// each batch is tried alone, so one bad batch (an unknown session) fails only itself.
    fn commit(&mut self, group: Vec<Batch>) {
        let started = Instant::now();
        let batches: Vec<&[Record]> = group.iter().map(|(r, _)| r.as_slice()).collect();
        let result = self.retrying(|w| w.write(&batches));
        match result {
            Ok(results) => {
                for ((_, done), appended) in group.into_iter().zip(results) {
                    if let Some(done) = done {
                        let _ = done.send(Ok(appended));
                    }
                }
            }
            Err(_) if group.len() > 1 => {
                for (records, done) in group {
                    let one = self.retrying(|w| w.write(&[records.as_slice()]));
                    self.answer(done, one, records.len());
                }
            }
            Err(e) => {
                if let Some((records, done)) = group.into_iter().next() {
                    let n = records.len();
                    self.answer(done, Err(e), n);
                }
            }
        }
        tracing::trace!(elapsed = ?started.elapsed(), "store group committed");
    }

    fn answer(
        &self,
        done: Option<Reply<Appended>>,
        result: Result<Vec<Appended>, WriteError>,
        n: usize,
    ) {
        match (done, result) {
            (Some(done), Ok(mut r)) => {
                let _ = done.send(Ok(r.pop().unwrap_or_default()));
            }
            (Some(done), Err(e)) => {
                let e = StoreError::from(e);
                tracing::error!(error = %e, records = n, "store: a batch could not be written");
                let _ = done.send(Err(e));
            }
            (None, Ok(_)) => {}
            (None, Err(e)) => {
                // Nobody waits: count it as dropped so the review and /metrics show it.
                let e = StoreError::from(e);
                tracing::warn!(error = %e, records = n, "store: fire-and-forget records lost");
                self.shared.dropped.fetch_add(n as u64, Ordering::Relaxed);
            }
        }
    }

    /// Runs `f`, waiting out a busy database (another process's lock) as long as it takes.
    fn retrying<T>(
        &mut self,
        mut f: impl FnMut(&mut Writer) -> Result<T, WriteError>,
    ) -> Result<T, WriteError> {
        let mut wait = Duration::from_millis(10);
        let since = Instant::now();
        let mut warned = Instant::now();
        loop {
            match f(self) {
                Err(e) if is_busy(&e) => {
                    if warned.elapsed() >= Duration::from_secs(5) {
                        tracing::warn!(waited = ?since.elapsed(), "store: the database is locked by another process; waiting");
                        warned = Instant::now();
                    }
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(Duration::from_secs(1));
                }
                other => return other,
            }
        }
    }

    fn write(&mut self, batches: &[&[Record]]) -> Result<Vec<Appended>, WriteError> {
        let Writer {
            conn,
            options,
            shared,
            sessions,
        } = self;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut aggregates = Aggregates::default();
        let mut results = Vec::with_capacity(batches.len());
        let mut rows = 0u64;
        for batch in batches {
            let mut appended = Appended::default();
            for (index, record) in batch.iter().enumerate() {
                let key = session_key(&tx, sessions, record.session())?;
                let new = write_record(&tx, key, record, options.keep_text, &mut aggregates)?;
                if new {
                    appended.inserted += 1;
                } else {
                    appended.duplicates.push(index);
                }
                aggregates.touch(key, record.at());
            }
            rows += appended.inserted as u64;
            results.push(appended);
        }
        aggregates.write(&tx)?;
        let drops = std::mem::take(
            &mut *shared
                .dropped_by_session
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        for (session, n) in &drops {
            if let Ok(key) = session_key(&tx, sessions, session) {
                tx.execute(
                    "UPDATE sessions SET dropped = dropped + ?2 WHERE key = ?1",
                    params![key, *n as i64],
                )?;
            }
        }
        match tx.commit() {
            Ok(()) => {
                shared.committed.fetch_add(rows, Ordering::Relaxed);
                Ok(results)
            }
            Err(e) => {
                // Not written: keep the tallies for the next commit.
                shared
                    .dropped_by_session
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend(drops);
                Err(e.into())
            }
        }
    }

    fn start_session(&mut self, r: &SessionRequest) -> Result<Session, WriteError> {
        let resume_ms = (self.options.resume_within_s as i64).saturating_mul(1000);
        let keep_text = self.options.keep_text;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let latest = tx
            .query_row(
                "SELECT key, id, started_at, ended_at, last_at FROM sessions
                 WHERE room = ?1 ORDER BY started_at DESC, key DESC LIMIT 1",
                params![r.room],
                |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, i64>(2)?,
                        row.get::<_, Option<i64>>(3)?,
                        row.get::<_, i64>(4)?,
                    ))
                },
            )
            .optional()?;
        let pitching = json!({"pitching": r.pitching});
        if let Some((key, id, started_at, None, last_at)) = latest
            && r.now >= last_at - 60_000
            && r.now - last_at <= resume_ms
        {
            tx.execute(
                "UPDATE sessions SET resumed = resumed + 1, catalog = ?2, room_name = ?3,
                 last_at = max(last_at, ?4), keep_text = min(keep_text, ?5) WHERE key = ?1",
                params![key, r.catalog, r.name, r.now, keep_text],
            )?;
            insert_action(
                &tx,
                key,
                r.now,
                "session_resume",
                r.pitching.as_deref(),
                &with_type(pitching, "session_resume"),
            )?;
            tx.commit()?;
            let id: Arc<str> = id.into();
            self.sessions.insert(id.clone(), key);
            tracing::info!(room = %r.room, session = %id, "continuing the session after an unclean stop");
            return Ok(Session {
                id,
                started_at,
                resumed: true,
            });
        }
        // Sessions the process left without an end: they ended when last heard of.
        tx.execute(
            "UPDATE sessions SET ended_at = last_at WHERE room = ?1 AND ended_at IS NULL",
            params![r.room],
        )?;
        let base = format!("{}-{}", r.room, stamp(r.now, 0));
        let mut id = base.clone();
        let mut n = 1;
        while tx
            .query_row("SELECT 1 FROM sessions WHERE id = ?1", params![id], |_| {
                Ok(())
            })
            .optional()?
            .is_some()
        {
            n += 1;
            id = format!("{base}-{n}");
        }
        tx.execute(
            "INSERT INTO sessions (id, room, room_name, started_at, last_at, catalog, keep_text)
             VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6)",
            params![id, r.room, r.name, r.now, r.catalog, keep_text],
        )?;
        let key = tx.last_insert_rowid();
        insert_action(
            &tx,
            key,
            r.now,
            "session_start",
            r.pitching.as_deref(),
            &with_type(pitching, "session_start"),
        )?;
        tx.commit()?;
        let id: Arc<str> = id.into();
        self.sessions.insert(id.clone(), key);
        Ok(Session {
            id,
            started_at: r.now,
            resumed: false,
        })
    }

    /// Deletes sessions whose end (or last activity) is more than `days` days before `now`,
    /// one transaction per session so the writer never stalls for long.
    pub fn prune(&mut self, days: u32, now: i64) -> Result<Pruned, StoreError> {
        let mut pruned = Pruned::default();
        if days == 0 {
            return Ok(pruned);
        }
        let cutoff = now - i64::from(days) * 86_400_000;
        let old: Vec<(i64, String)> = {
            let mut stmt = self
                .conn
                .prepare("SELECT key, id FROM sessions WHERE coalesce(ended_at, last_at) < ?1")?;
            let rows = stmt.query_map(params![cutoff], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        for (key, id) in old {
            let (comments, events) = self
                .retrying(|w| {
                    let tx = w
                        .conn
                        .transaction_with_behavior(TransactionBehavior::Immediate)?;
                    let comments = tx.execute("DELETE FROM comments WHERE session = ?1", [key])?;
                    let events = tx.execute("DELETE FROM events WHERE session = ?1", [key])?;
                    for table in [
                        "cues",
                        "actions",
                        "minutes",
                        "words",
                        "source_gaps",
                        "profiles",
                        "exposures",
                    ] {
                        tx.execute(&format!("DELETE FROM {table} WHERE session = ?1"), [key])?;
                    }
                    tx.execute("DELETE FROM sessions WHERE key = ?1", [key])?;
                    tx.commit()?;
                    Ok((comments, events))
                })
                .map_err(StoreError::from)?;
            self.sessions.retain(|_, k| *k != key);
            tracing::info!(session = %id, comments, events, "retention: session deleted");
            pruned.sessions += 1;
            pruned.comments += comments;
            pruned.events += events;
        }
        if pruned.sessions > 0 {
            self.conn.execute_batch("PRAGMA incremental_vacuum")?;
        }
        Ok(pruned)
    }

    /// Writes pending drop tallies, checkpoints the WAL into the database.
    fn finish(&mut self) -> Result<(), StoreError> {
        let pending = !self
            .shared
            .dropped_by_session
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty();
        if pending {
            self.retrying(|w| w.write(&[])).map_err(StoreError::from)?;
        }
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        let _ = self.conn.execute_batch("PRAGMA optimize");
        Ok(())
    }
}

fn with_type(mut v: Value, kind: &str) -> Value {
    if let Value::Object(map) = &mut v {
        map.insert("type".into(), Value::String(kind.into()));
    }
    v
}

fn session_key(
    tx: &Transaction<'_>,
    cache: &mut HashMap<Arc<str>, i64>,
    id: &Arc<str>,
) -> Result<i64, WriteError> {
    if let Some(key) = cache.get(id) {
        return Ok(*key);
    }
    let key: Option<i64> = tx
        .query_row(
            "SELECT key FROM sessions WHERE id = ?1",
            params![&**id],
            |r| r.get(0),
        )
        .optional()?;
    match key {
        Some(key) => {
            cache.insert(id.clone(), key);
            Ok(key)
        }
        None => Err(WriteError::UnknownSession(id.to_string())),
    }
}

fn insert_action(
    tx: &Transaction<'_>,
    session: i64,
    at: i64,
    kind: &str,
    target: Option<&str>,
    command: &Value,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO actions (session, at, kind, target, command) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![session, at, kind, target, command.to_string()])?;
    Ok(())
}

/// Writes one record; false when it was a duplicate (same source id in the session).
fn write_record(
    tx: &Transaction<'_>,
    session: i64,
    record: &Record,
    keep_text: bool,
    agg: &mut Aggregates,
) -> Result<bool, WriteError> {
    match record {
        Record::Comment(c) => {
            let masked = crate::privacy::mask(&c.text).0;
            let text: Option<&str> = keep_text.then_some(&*masked);
            let medal = c
                .medal
                .as_ref()
                .map(|m| crate::privacy::mask(&m.name).0.into_owned());
            let n = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO comments (session, at, ts, source_id, viewer, text,
                     product, named, intents, sentiment, label, question, qkey, complaint,
                     medal, medal_level, super_chat)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,
                     ?15, ?16, ?17)",
                )?
                .execute(params![
                    session,
                    c.at,
                    c.ts,
                    c.source_id,
                    c.viewer.map(|v| v.to_string()),
                    text,
                    c.product.as_deref(),
                    c.named,
                    i64::from(c.intents),
                    f64::from(c.sentiment),
                    i64::from(c.label),
                    c.question,
                    c.key,
                    c.complaint,
                    medal,
                    c.medal.as_ref().map(|m| i64::from(m.level)),
                    c.super_chat,
                ])?;
            if n == 0 {
                return Ok(false);
            }
            let m = agg.minute(session, c.at);
            m.comments += 1;
            m.questions += i64::from(c.question);
            m.sentiment_sum += f64::from(c.sentiment);
            m.positive += i64::from(c.label > 0);
            m.negative += i64::from(c.label < 0);
            let has = |label| intent_bit(label).is_some_and(|b| c.intents & b != 0);
            m.purchase += i64::from(has("purchase"));
            m.complaints += i64::from(has("complaint"));
            for word in &c.words {
                *agg.words.entry((session, word.clone())).or_default() += 1;
            }
            Ok(true)
        }
        Record::Event(e) => {
            let n = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO events (session, kind, at, ts, source_id, viewer,
                     product, item, count, value)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )?
                .execute(params![
                    session,
                    e.kind.as_str(),
                    e.at,
                    e.ts,
                    e.source_id,
                    e.viewer.map(|v| v.to_string()),
                    e.product,
                    e.item,
                    i64::from(e.count),
                    e.value,
                ])?;
            if n == 0 {
                return Ok(false);
            }
            let m = agg.minute(session, e.at);
            let count = i64::from(e.count);
            match e.kind {
                EventKind::Gift => {
                    m.gifts += count;
                    m.gift_value += e.value;
                }
                EventKind::Like => m.likes += count,
                EventKind::Enter => m.enters += 1,
                EventKind::Follow => m.follows += 1,
                EventKind::Order => {
                    m.orders += count;
                    m.order_amount += e.value;
                }
            }
            Ok(true)
        }
        Record::Cue(c) => {
            let evidence = clean_evidence(&c.evidence, keep_text);
            tx.prepare_cached(
                "INSERT INTO cues (session, id, kind, product, priority, text, reason, variant,
                 evidence, created_at, expires_at, state, state_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?10)",
            )?
            .execute(params![
                session,
                c.id,
                c.kind,
                c.product.as_deref(),
                i64::from(c.priority),
                c.text,
                c.reason,
                c.variant,
                evidence,
                c.created_at,
                c.expires_at,
                c.state,
            ])?;
            Ok(true)
        }
        Record::CueState { id, state, at, .. } => {
            tx.prepare_cached(
                "UPDATE cues SET state = ?3, state_at = ?4 WHERE rowid =
                 (SELECT max(rowid) FROM cues WHERE session = ?1 AND id = ?2)",
            )?
            .execute(params![session, id, state, at])?;
            Ok(true)
        }
        Record::Action(a) => {
            insert_action(tx, session, a.at, &a.kind, a.target.as_deref(), &a.command)?;
            Ok(true)
        }
        Record::SourceGap(g) => {
            tx.prepare_cached(
                "INSERT INTO source_gaps (session, source, kind, from_at, to_at, reason, missing)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                session,
                g.source,
                g.kind,
                g.from,
                g.to,
                g.reason,
                g.missing.map(|n| n.min(i64::MAX as u64) as i64),
            ])?;
            Ok(true)
        }
        Record::Profiles { rows, .. } => {
            let mut insert = tx.prepare_cached(
                "INSERT OR REPLACE INTO profiles (session, viewer, last_seen, profile)
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (viewer, last_seen, profile) in rows {
                insert.execute(params![session, viewer, last_seen, profile])?;
            }
            Ok(true)
        }
        Record::Exposure(e) => {
            tx.prepare_cached(
                "INSERT INTO exposures (session, cue, slot, context, variant, by_kind, at, mix,
                 reward, lift) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                session, e.cue, e.slot, e.context, e.variant, e.by, e.at, e.mix, e.reward, e.lift,
            ])?;
            Ok(true)
        }
        Record::Forget { viewer, .. } => {
            let room: String = tx.query_row(
                "SELECT room FROM sessions WHERE key = ?1",
                params![session],
                |r| r.get(0),
            )?;
            let gone = delete_viewer(tx, &room, viewer)?;
            tracing::info!(
                room,
                comments = gone.comments,
                events = gone.events,
                profiles = gone.profiles,
                "a viewer was forgotten"
            );
            Ok(true)
        }
        Record::SessionEnd { at, .. } => {
            tx.prepare_cached(
                "UPDATE sessions SET ended_at = ?2, clean_end = 1, last_at = max(last_at, ?2)
                 WHERE key = ?1",
            )?
            .execute(params![session, at])?;
            Ok(true)
        }
    }
}

/// Deletes what is kept of `viewer` (a pseudonym) in every session of `room`: comments,
/// events and profiles. Minute counts and cue evidence samples (text without a viewer) stay.
pub(crate) fn delete_viewer(
    conn: &Connection,
    room: &str,
    viewer: &str,
) -> rusqlite::Result<Forgotten> {
    let delete = |table: &str| {
        conn.execute(
            &format!(
                "DELETE FROM {table} WHERE viewer = ?2
                 AND session IN (SELECT key FROM sessions WHERE room = ?1)"
            ),
            params![room, viewer],
        )
    };
    Ok(Forgotten {
        comments: delete("comments")?,
        events: delete("events")?,
        profiles: delete("profiles")?,
    })
}

/// Evidence JSON as stored: sample comments masked again, or removed without `keep_text`.
fn clean_evidence(evidence: &Value, keep_text: bool) -> String {
    let mut v = evidence.clone();
    if let Some(Value::Array(samples)) = v.get_mut("samples") {
        if keep_text {
            for s in samples.iter_mut() {
                if let Value::String(text) = s {
                    *text = crate::privacy::mask(text).0.into_owned();
                }
            }
        } else {
            samples.clear();
        }
    }
    v.to_string()
}

/// One minute's counts, added to `minutes` at commit.
#[derive(Debug, Default)]
struct Minute {
    comments: i64,
    questions: i64,
    sentiment_sum: f64,
    positive: i64,
    negative: i64,
    purchase: i64,
    complaints: i64,
    gifts: i64,
    gift_value: f64,
    likes: i64,
    enters: i64,
    follows: i64,
    orders: i64,
    order_amount: f64,
}

/// What a transaction adds to the aggregate tables.
#[derive(Debug, Default)]
struct Aggregates {
    minutes: HashMap<(i64, i64), Minute>,
    words: HashMap<(i64, String), i64>,
    last_at: HashMap<i64, i64>,
}

impl Aggregates {
    fn minute(&mut self, session: i64, at: i64) -> &mut Minute {
        self.minutes
            .entry((session, at.div_euclid(60_000)))
            .or_default()
    }

    fn touch(&mut self, session: i64, at: i64) {
        let last = self.last_at.entry(session).or_insert(at);
        *last = (*last).max(at);
    }

    fn write(&self, tx: &Transaction<'_>) -> rusqlite::Result<()> {
        if !self.minutes.is_empty() {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO minutes (session, minute, comments, questions, sentiment_sum,
                 positive, negative, purchase, complaints, gifts, gift_value, likes, enters,
                 follows, orders, order_amount)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
                 ON CONFLICT (session, minute) DO UPDATE SET
                 comments = comments + excluded.comments,
                 questions = questions + excluded.questions,
                 sentiment_sum = sentiment_sum + excluded.sentiment_sum,
                 positive = positive + excluded.positive,
                 negative = negative + excluded.negative,
                 purchase = purchase + excluded.purchase,
                 complaints = complaints + excluded.complaints,
                 gifts = gifts + excluded.gifts,
                 gift_value = gift_value + excluded.gift_value,
                 likes = likes + excluded.likes,
                 enters = enters + excluded.enters,
                 follows = follows + excluded.follows,
                 orders = orders + excluded.orders,
                 order_amount = order_amount + excluded.order_amount",
            )?;
            for ((session, minute), m) in &self.minutes {
                stmt.execute(params![
                    session,
                    minute,
                    m.comments,
                    m.questions,
                    m.sentiment_sum,
                    m.positive,
                    m.negative,
                    m.purchase,
                    m.complaints,
                    m.gifts,
                    m.gift_value,
                    m.likes,
                    m.enters,
                    m.follows,
                    m.orders,
                    m.order_amount,
                ])?;
            }
        }
        if !self.words.is_empty() {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO words (session, word, count) VALUES (?1, ?2, ?3)
                 ON CONFLICT (session, word) DO UPDATE SET count = count + excluded.count",
            )?;
            for ((session, word), n) in &self.words {
                stmt.execute(params![session, word, n])?;
            }
        }
        let mut stmt =
            tx.prepare_cached("UPDATE sessions SET last_at = max(last_at, ?2) WHERE key = ?1")?;
        for (session, at) in &self.last_at {
            stmt.execute(params![session, at])?;
        }
        Ok(())
    }
}
