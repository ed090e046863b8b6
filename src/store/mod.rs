//! The durable store: what the post-stream review (复盘) needs, in one SQLite file per
//! deployment (`<data_dir>/livecue.db`).
//!
//! What it takes: [`Record`]s from the live loop (analyzed comments with pseudonymous viewers
//! and masked text, fan medals and super-chat prices, gifts/likes/enters/follows/orders, cues,
//! cue state changes, console actions, session ends) and from the platform sources (gaps
//! where messages may be missing). What it hands on: a [`Reader`] for [`crate::report`].
//!
//! How: one writer thread (rusqlite is blocking) owns the only write connection and is fed by
//! a bounded channel of [`QUEUE`] batches. It takes everything queued (up to [`GROUP_ROWS`]
//! rows), writes it in one transaction together with the per-minute and hot-word aggregates,
//! commits, then wakes every waiter (group commit). [`StoreHandle::append`] resolves only
//! after that commit, so the server acknowledges ingest only for events that are in the
//! database; when the queue is full, `append` waits, which slows ingest down (backpressure).
//! [`StoreHandle::try_append`] is for records nobody waits on (cues, actions): when the queue
//! is full they are dropped and counted ([`StoreHandle::dropped`], and per session in
//! `sessions.dropped`, which the review shows).
//!
//! Durability: WAL journal. With [`SyncMode::Normal`] (the default) a commit has been written
//! to the WAL file (the OS holds it) before `append` resolves, so every acknowledged event
//! survives the process being killed (`kill -9`, a panic, the OOM killer); an OS crash or power
//! loss may lose the last commits (never corrupting the file). [`SyncMode::Full`] also fsyncs
//! the WAL at every commit (power-loss safe) at the price of one fsync per group commit.
//!
//! Privacy: viewer ids become keyed hashes ([`Pseudonymizer`], secret in
//! `<data_dir>/secret.key`); comment text is masked again by [`crate::privacy::mask`] before it
//! is written, or not stored at all with `keep_text = false` (aggregates stay); whole sessions
//! older than `retention_days` are deleted (with `secure_delete`, so the bytes are overwritten).

mod read;
mod record;
mod schema;
mod secret;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};

use crate::catalog::Product;
use crate::clock::now_ms;

pub use secret::SECRET_FILE;

use crate::privacy::{Pseudonym, Pseudonymizer};
pub use read::{
    ActionRow, CommentView, CueRow, EventView, ExposureRow, GapRow, LiftRow, MinuteRow, ProfileRow,
    Reader, SessionRow, TableCounts,
};
pub use record::{
    ActionRecord, CommentRecord, CueRecord, EventKind, EventRecord, ExposureRecord, GapRecord,
    INTENTS, MAX_WORDS, Record, intent_bit, intent_labels,
};
pub use schema::VERSION as SCHEMA_VERSION;

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "livecue.db";
/// Batches the writer's channel holds; beyond, [`StoreHandle::append`] waits and
/// [`StoreHandle::try_append`] drops. With ingest frames of at most 1,000 events, at most
/// 256,000 rows wait in memory.
pub const QUEUE: usize = 256;
/// Rows written in one transaction at most (group commit).
pub const GROUP_ROWS: usize = 2_000;
/// A room that restarts within this long after an unclean stop continues its session.
pub const RESUME_WITHIN_S: u64 = 30 * 60;

/// How hard a commit insists that data reached the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    /// `synchronous = NORMAL`: commits survive the process being killed; an OS crash or power
    /// loss may lose the last ones. No fsync on the ack path.
    #[default]
    Normal,
    /// `synchronous = FULL`: the WAL is fsynced at every commit; survives power loss too.
    Full,
}

/// Store settings (the `[store]` table of the configuration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreOptions {
    /// Sessions that ended more than this many days ago are deleted (at start-up and on
    /// [`StoreHandle::prune`]); 0 keeps everything.
    pub retention_days: u32,
    /// Store comment text (masked). When false, comments are kept without text (and cue
    /// evidence without sample comments); every count, aggregate and hot word stays.
    pub keep_text: bool,
    pub sync: SyncMode,
    /// Seconds after an unclean stop within which a restarted room continues its session.
    pub resume_within_s: u64,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            retention_days: 90,
            keep_text: true,
            sync: SyncMode::Normal,
            resume_within_s: RESUME_WITHIN_S,
        }
    }
}

/// Why the store could not do something.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum StoreError {
    #[error("data directory {path}: {message}")]
    Dir { path: String, message: String },
    #[error("pseudonym secret {path}: {message}")]
    Secret { path: String, message: String },
    #[error("no LiveCue database at {0} (start `livecue serve --data-dir` there first)")]
    Missing(String),
    #[error(
        "the database is at schema version {found}, newer than this LiveCue knows ({known}): \
         upgrade LiveCue"
    )]
    TooNew { found: i64, known: i64 },
    #[error(
        "the database is at schema version {found}, older than this LiveCue ({known}): run `livecue serve` once to migrate it"
    )]
    TooOld { found: i64, known: i64 },
    #[error("database: {0}")]
    Sql(String),
    #[error("no session {0:?} in the store")]
    UnknownSession(String),
    #[error("the store is closed")]
    Closed,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError::Sql(e.to_string())
    }
}

impl From<rusqlite::types::FromSqlError> for StoreError {
    fn from(e: rusqlite::types::FromSqlError) -> StoreError {
        StoreError::Sql(e.to_string())
    }
}

/// A room's session as started (or continued) by [`StoreHandle::start_session`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// `room-YYYYMMDD-HHMMSS` (UTC), e.g. `r1-20261123-142055`.
    pub id: Arc<str>,
    pub started_at: i64,
    /// True when this continues a session the process left without ending (a crash).
    pub resumed: bool,
}

/// What one append did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Appended {
    /// Records written.
    pub inserted: usize,
    /// Indexes (into the batch) of comments and events whose source id the session already
    /// had: they were not written again (e.g. resent after a crash lost their ack).
    pub duplicates: Vec<usize>,
}

/// What forgetting a viewer deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Forgotten {
    pub comments: usize,
    pub events: usize,
    pub profiles: usize,
}

/// `livecue forget`: deletes what the store keeps of `viewer` (a pseudonym) in every session
/// of `room`, on a connection of its own. Safe beside a running server: SQLite takes one
/// writer at a time and each waits for the other. (A running room also keeps the viewer's
/// profile in memory until it stops; the console's forget action clears both.)
pub fn forget(data_dir: &Path, room: &str, viewer: &str) -> Result<Forgotten, StoreError> {
    let path = data_dir.join(DB_FILE);
    if !path.is_file() {
        return Err(StoreError::Missing(path.display().to_string()));
    }
    let mut conn = writer::open_write(&path, &StoreOptions::default())?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let gone = writer::delete_viewer(&tx, room, viewer)?;
    tx.commit()?;
    Ok(gone)
}

/// What a prune deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruned {
    pub sessions: usize,
    pub comments: usize,
    pub events: usize,
}

pub(crate) type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// Work for the writer thread.
pub(crate) enum Job {
    Append {
        records: Vec<Record>,
        done: Option<Reply<Appended>>,
    },
    Start {
        request: SessionRequest,
        done: Reply<Session>,
    },
    Prune {
        days: u32,
        now: i64,
        done: Reply<Pruned>,
    },
    /// Answered once everything queued before it is committed.
    Flush { done: Reply<()> },
    /// Commit what is queued before it, checkpoint, close the database, stop.
    Close { done: Reply<()> },
}

pub(crate) struct SessionRequest {
    pub room: String,
    pub name: String,
    pub catalog: String,
    pub pitching: Option<String>,
    pub now: i64,
}

/// Counters shared by every handle and the writer.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub dropped: AtomicU64,
    /// Drops per session not yet added to `sessions.dropped`.
    pub dropped_by_session: Mutex<Vec<(Arc<str>, u64)>>,
    pub committed: AtomicU64,
    pub closed: AtomicBool,
}

impl Shared {
    fn drop_records(&self, records: &[Record]) {
        self.dropped
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        let mut by = self
            .dropped_by_session
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for r in records {
            match by.iter_mut().find(|(s, _)| s == r.session()) {
                Some((_, n)) => *n += 1,
                None => by.push((r.session().clone(), 1)),
            }
        }
    }
}

/// The async face of the store for the server: cheap to clone, one per room task or
/// connection. Every method is answered by the writer thread.
#[derive(Debug, Clone)]
pub struct StoreHandle {
    tx: mpsc::Sender<Job>,
    shared: Arc<Shared>,
    pseudonyms: Pseudonymizer,
}

impl StoreHandle {
    /// Writes a batch; resolves once it is committed (see the module docs for what survives
    /// what). Waits while the writer's queue is full: that is ingest's backpressure.
    pub async fn append(&self, records: Vec<Record>) -> Result<Appended, StoreError> {
        if records.is_empty() {
            return Ok(Appended::default());
        }
        let (done, rx) = oneshot::channel();
        self.tx
            .send(Job::Append {
                records,
                done: Some(done),
            })
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// [`StoreHandle::append`] for threads outside the async runtime (tests, tools). Panics if
    /// called from async code, like every tokio `blocking_*` call.
    pub fn append_blocking(&self, records: Vec<Record>) -> Result<Appended, StoreError> {
        if records.is_empty() {
            return Ok(Appended::default());
        }
        let (done, rx) = oneshot::channel();
        self.tx
            .blocking_send(Job::Append {
                records,
                done: Some(done),
            })
            .map_err(|_| StoreError::Closed)?;
        rx.blocking_recv().map_err(|_| StoreError::Closed)?
    }

    /// Queues records nobody waits for (cues, cue states, actions) without ever waiting;
    /// when the queue is full (or the store closed) they are dropped and counted. True when
    /// queued.
    pub fn try_append(&self, records: Vec<Record>) -> bool {
        if records.is_empty() {
            return true;
        }
        match self.tx.try_send(Job::Append {
            records,
            done: None,
        }) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(Job::Append { records, .. }))
            | Err(mpsc::error::TrySendError::Closed(Job::Append { records, .. })) => {
                self.shared.drop_records(&records);
                false
            }
            Err(_) => false,
        }
    }

    /// Records dropped by [`StoreHandle::try_append`] since start (for `/metrics`).
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Records committed since start.
    pub fn committed(&self) -> u64 {
        self.shared.committed.load(Ordering::Relaxed)
    }

    /// Batches waiting for the writer now (for `/metrics`).
    pub fn queued(&self) -> usize {
        QUEUE - self.tx.capacity()
    }

    /// Starts a room's session, or continues it when the room's latest session was left
    /// without an end less than `resume_within_s` ago (the process crashed and restarted).
    /// Records the product being pitched at start as a `session_start` action.
    pub async fn start_session(
        &self,
        room: &str,
        name: &str,
        catalog: &[Product],
        pitching: Option<&str>,
        now: i64,
    ) -> Result<Session, StoreError> {
        let (done, rx) = oneshot::channel();
        let request = SessionRequest {
            room: room.to_owned(),
            name: name.to_owned(),
            catalog: serde_json::to_string(catalog).unwrap_or_else(|_| "[]".into()),
            pitching: pitching.map(str::to_owned),
            now,
        };
        self.tx
            .send(Job::Start { request, done })
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Deletes sessions that ended more than `days` days before `now`.
    pub async fn prune(&self, days: u32, now: i64) -> Result<Pruned, StoreError> {
        let (done, rx) = oneshot::channel();
        self.tx
            .send(Job::Prune { days, now, done })
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Resolves once everything queued before the call is committed.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let (done, rx) = oneshot::channel();
        self.tx
            .send(Job::Flush { done })
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// The deployment's pseudonymizer.
    pub fn pseudonyms(&self) -> &Pseudonymizer {
        &self.pseudonyms
    }

    /// A viewer's pseudonym as records take it.
    pub fn viewer(&self, raw_user_id: &str) -> Pseudonym {
        self.pseudonyms.pseudonym(raw_user_id)
    }

    /// A viewer's pseudonym: 16 hex characters of HMAC-SHA256 with the deployment's secret.
    pub fn pseudonym(&self, raw_user_id: &str) -> String {
        self.pseudonyms.pseudonym(raw_user_id).to_string()
    }
}

/// The store of one deployment: owns the writer thread. Cheap to clone; [`Store::close`]
/// (or dropping the last clone) flushes and stops the writer.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    options: StoreOptions,
    handle: StoreHandle,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Store {
    /// Opens (creating when missing) `<data_dir>/livecue.db` with default options.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        Store::open_with(data_dir, StoreOptions::default())
    }

    /// Opens the store: creates the directory, the secret and the database as needed,
    /// migrates the schema, deletes sessions past retention, starts the writer thread.
    pub fn open_with(data_dir: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::Dir {
            path: data_dir.display().to_string(),
            message: e.to_string(),
        })?;
        let pseudonyms = secret::load_or_create(data_dir)?;
        let path = data_dir.join(DB_FILE);
        let conn = writer::open_write(&path, &options)?;
        let shared = Arc::new(Shared::default());
        let (tx, rx) = mpsc::channel(QUEUE);
        let mut writer = writer::Writer::new(conn, options.clone(), shared.clone());
        if options.retention_days > 0 {
            let pruned = writer.prune(options.retention_days, now_ms())?;
            if pruned.sessions > 0 {
                tracing::info!(
                    sessions = pruned.sessions,
                    comments = pruned.comments,
                    "retention: deleted old sessions"
                );
            }
        }
        let thread = std::thread::Builder::new()
            .name("livecue-store".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| StoreError::Sql(format!("cannot start the writer thread: {e}")))?;
        Ok(Store {
            inner: Arc::new(Inner {
                dir: data_dir.to_owned(),
                options,
                handle: StoreHandle {
                    tx,
                    shared,
                    pseudonyms,
                },
                thread: Mutex::new(Some(thread)),
            }),
        })
    }

    /// A handle for the server's tasks.
    pub fn handle(&self) -> StoreHandle {
        self.inner.handle.clone()
    }

    pub fn data_dir(&self) -> &Path {
        &self.inner.dir
    }

    pub fn options(&self) -> &StoreOptions {
        &self.inner.options
    }

    /// The database file.
    pub fn path(&self) -> PathBuf {
        self.inner.dir.join(DB_FILE)
    }

    /// A viewer's pseudonym (see [`StoreHandle::pseudonym`]).
    pub fn pseudonym(&self, raw_user_id: &str) -> String {
        self.inner.handle.pseudonym(raw_user_id)
    }

    /// A new read-only connection (WAL: reads never block the writer). Blocking: call it
    /// from `spawn_blocking` in async code.
    pub fn reader(&self) -> Result<Reader, StoreError> {
        Reader::open(&self.inner.dir)
    }

    /// Deletes sessions older than `days` (blocking; see [`StoreHandle::prune`]).
    pub fn prune(&self, days: u32) -> Result<Pruned, StoreError> {
        let (done, rx) = oneshot::channel();
        self.inner
            .handle
            .tx
            .blocking_send(Job::Prune {
                days,
                now: now_ms(),
                done,
            })
            .map_err(|_| StoreError::Closed)?;
        rx.blocking_recv().map_err(|_| StoreError::Closed)?
    }

    /// Flushes what is queued, checkpoints, closes the database and stops the writer. Later
    /// appends fail with [`StoreError::Closed`]. Idempotent. The server calls it last, after
    /// the rooms have stopped.
    pub async fn close(&self) -> Result<(), StoreError> {
        if self.inner.handle.shared.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let (done, rx) = oneshot::channel();
        if self
            .inner
            .handle
            .tx
            .send(Job::Close { done })
            .await
            .is_err()
        {
            return Ok(());
        }
        let result = rx.await.unwrap_or(Ok(()));
        // The writer answers after closing the database; the thread ends right after.
        let thread = self.take_thread();
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        result
    }

    /// [`Store::close`] for code outside the async runtime.
    pub fn close_blocking(&self) -> Result<(), StoreError> {
        if self.inner.handle.shared.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let (done, rx) = oneshot::channel();
        if self
            .inner
            .handle
            .tx
            .blocking_send(Job::Close { done })
            .is_err()
        {
            return Ok(());
        }
        let result = rx.blocking_recv().unwrap_or(Ok(()));
        if let Some(thread) = self.take_thread() {
            let _ = thread.join();
        }
        result
    }

    fn take_thread(&self) -> Option<std::thread::JoinHandle<()>> {
        self.inner
            .thread
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.handle.shared.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        // Last clone gone without close(): ask the writer to finish. Outside a runtime we
        // can wait for it; inside one we must not block, and the writer finishes on its own.
        let (done, rx) = oneshot::channel();
        let in_runtime = tokio::runtime::Handle::try_current().is_ok();
        if in_runtime {
            let _ = self.handle.tx.try_send(Job::Close { done });
        } else if self.handle.tx.blocking_send(Job::Close { done }).is_ok() {
            let _ = rx.blocking_recv();
            if let Some(thread) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
                let _ = thread.join();
            }
        }
    }
}

/// `YYYYMMDD-HHMMSS` of a time in ms, shifted by `offset_min` minutes from UTC.
pub fn stamp(ms: i64, offset_min: i32) -> String {
    let (y, mo, d, h, mi, s) = civil(ms, offset_min);
    format!("{y:04}{mo:02}{d:02}-{h:02}{mi:02}{s:02}")
}

/// Calendar date and time (year, month, day, hour, minute, second) of a time in ms, shifted by
/// `offset_min` minutes from UTC (Howard Hinnant's `civil_from_days`).
pub fn civil(ms: i64, offset_min: i32) -> (i64, u32, u32, u32, u32, u32) {
    let secs = ms.div_euclid(1000) + i64::from(offset_min) * 60;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_calendar_times() {
        // 2025-11-23T12:13:20Z
        assert_eq!(stamp(1_763_900_000_123, 0), "20251123-121320");
        assert_eq!(stamp(1_763_900_000_123, 480), "20251123-201320");
        assert_eq!(stamp(0, 0), "19700101-000000");
        assert_eq!(stamp(951_782_400_000, 0), "20000229-000000");
        assert_eq!(stamp(-1000, 0), "19691231-235959");
    }
}
