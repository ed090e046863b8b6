//! The writer thread: the only connection that writes, fed by the store's bounded channel.
//!
//! Group commit: it blocks for the first job, then takes whatever else is already queued (up
//! to [`GROUP_ROWS`] rows) and writes it all in one transaction, together with the per-minute
//! and hot-word aggregates of the comments and events that were new, then answers every
//! waiter. While one commit is on disk the next group builds up, so the number of commits
//! per second stays small however many connections are acked. A busy database (another
//! process holding a lock) is waited out and retried, never turned into lost events.//!
//! The parts: this file the thread (open, group commit, retries, finish); `sessions` starting
//! (or continuing) and pruning sessions; `records` one insert per record kind; `aggregates` the
//! per-minute and hot-word counts a transaction adds.
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, TransactionBehavior, params};
use tokio::sync::mpsc;

use super::record::Record;
use super::{Appended, GROUP_ROWS, Job, Reply, Shared, StoreError, StoreOptions, SyncMode, schema};

mod aggregates;
mod records;
mod sessions;

use aggregates::Aggregates;
pub(crate) use records::delete_viewer;
use records::write_record;
use sessions::session_key;

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
