//! The database schema and its migrations, versioned in code.
//!
//! `PRAGMA user_version` holds the schema version. [`MIGRATIONS`]`[i]` takes a database from
//! version `i` to `i + 1`; [`migrate`] runs the missing ones in order, each in its own
//! transaction, so a database is always at exactly one known version. A database newer than
//! this build is refused rather than guessed at. Never edit a migration that has shipped: add
//! the next one.
//!
//! Times are milliseconds since the Unix epoch (UTC). Child tables refer to `sessions.key`
//! (an integer, so a million comments do not repeat a session's text id).

use rusqlite::Connection;

use super::StoreError;

/// The schema version this build writes.
pub const VERSION: i64 = 1;

/// `MIGRATIONS[i]` upgrades version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 0 → 1: the first schema.
    r#"
CREATE TABLE sessions (
    key        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,        -- room-YYYYMMDD-HHMMSS (UTC), e.g. r1-20261123-142055
    room       TEXT NOT NULL,
    room_name  TEXT NOT NULL DEFAULT '',
    started_at INTEGER NOT NULL,
    last_at    INTEGER NOT NULL,            -- latest activity written
    ended_at   INTEGER,                     -- NULL while running (or after an unclean stop)
    clean_end  INTEGER NOT NULL DEFAULT 0,  -- 1: ended by a SessionEnd record
    resumed    INTEGER NOT NULL DEFAULT 0,  -- times reopened after an unclean stop
    catalog    TEXT NOT NULL DEFAULT '[]',  -- the room's products (JSON) at start
    dropped    INTEGER NOT NULL DEFAULT 0,  -- fire-and-forget records lost to a full queue
    keep_text  INTEGER NOT NULL DEFAULT 1   -- 0: comment text was not stored
);
CREATE INDEX sessions_by_room ON sessions(room, started_at);

CREATE TABLE comments (
    session    INTEGER NOT NULL,            -- sessions.key
    at         INTEGER NOT NULL,            -- arrival (server clock); windows and reports use it
    ts         INTEGER NOT NULL,            -- the source's timestamp
    source_id  TEXT,                        -- the source's message id (duplicates are ignored)
    viewer     TEXT,                        -- pseudonym (keyed hash), never the raw id or name
    text       TEXT,                        -- normalized, masked; NULL when keep_text is off
    product    TEXT,                        -- linked product, or the pitched one for product intents
    named      INTEGER NOT NULL,            -- 1: the product was named in the comment
    intents    INTEGER NOT NULL,            -- bit i set = store::INTENTS[i]
    sentiment  REAL NOT NULL,               -- score in [-1, 1]
    label      INTEGER NOT NULL,            -- 1 positive, 0 neutral, -1 negative
    question   INTEGER NOT NULL,            -- 1: asks something
    qkey       TEXT,                        -- question key topic:product (product attributed)
    complaint  TEXT                         -- complaint topic, for complaints
);
CREATE INDEX comments_by_time ON comments(session, at);
CREATE UNIQUE INDEX comments_by_source ON comments(session, source_id) WHERE source_id IS NOT NULL;

CREATE TABLE events (
    session    INTEGER NOT NULL,
    kind       TEXT NOT NULL,               -- gift | like | enter | follow | order
    at         INTEGER NOT NULL,
    ts         INTEGER NOT NULL,
    source_id  TEXT,
    viewer     TEXT,
    product    TEXT,                        -- order: the product id
    item       TEXT,                        -- gift: the gift's name
    count      INTEGER NOT NULL,            -- gift count, like count, order quantity; 1 otherwise
    value      REAL NOT NULL                -- gift value, order amount (yuan); 0 otherwise
);
CREATE INDEX events_by_time ON events(session, at);
CREATE UNIQUE INDEX events_by_source ON events(session, source_id) WHERE source_id IS NOT NULL;

CREATE TABLE cues (
    session    INTEGER NOT NULL,
    id         TEXT NOT NULL,               -- the cue id of the room stream (not unique after a restart)
    kind       TEXT NOT NULL,
    product    TEXT,
    priority   INTEGER NOT NULL,
    text       TEXT NOT NULL,
    reason     TEXT NOT NULL,
    variant    TEXT,                        -- the script variant (tone) shown
    evidence   TEXT NOT NULL,               -- JSON, samples masked (or removed when keep_text is off)
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    state      TEXT NOT NULL,               -- active | pinned | acked | dismissed | expired
    state_at   INTEGER                      -- when the state last changed
);
CREATE INDEX cues_by_id ON cues(session, id);

CREATE TABLE actions (
    session    INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL,               -- the console command's type, or session_start / session_resume
    target     TEXT,                        -- product, cue id or question key it acted on
    command    TEXT NOT NULL                -- the command as JSON
);
CREATE INDEX actions_by_time ON actions(session, at);

CREATE TABLE minutes (
    session       INTEGER NOT NULL,
    minute        INTEGER NOT NULL,         -- floor(at / 60000)
    comments      INTEGER NOT NULL DEFAULT 0,
    questions     INTEGER NOT NULL DEFAULT 0,
    sentiment_sum REAL NOT NULL DEFAULT 0,
    positive      INTEGER NOT NULL DEFAULT 0,
    negative      INTEGER NOT NULL DEFAULT 0,
    purchase      INTEGER NOT NULL DEFAULT 0,  -- comments with the purchase intent
    complaints    INTEGER NOT NULL DEFAULT 0,
    gifts         INTEGER NOT NULL DEFAULT 0,
    gift_value    REAL NOT NULL DEFAULT 0,
    likes         INTEGER NOT NULL DEFAULT 0,
    enters        INTEGER NOT NULL DEFAULT 0,
    follows       INTEGER NOT NULL DEFAULT 0,
    orders        INTEGER NOT NULL DEFAULT 0,  -- quantity
    order_amount  REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (session, minute)
) WITHOUT ROWID;

CREATE TABLE words (
    session    INTEGER NOT NULL,
    word       TEXT NOT NULL,
    count      INTEGER NOT NULL,
    PRIMARY KEY (session, word)
) WITHOUT ROWID;
"#,
];

/// The database's schema version.
pub fn version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Brings the database to [`VERSION`]; refuses one from a newer build.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let known = MIGRATIONS.len() as i64;
    loop {
        // Each step re-reads the version inside its own write transaction, so two processes
        // opening the same new database never run a migration twice.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let found = version(&tx)?;
        if found > known {
            return Err(StoreError::TooNew { found, known });
        }
        if found == known {
            return Ok(());
        }
        tx.execute_batch(MIGRATIONS[found as usize])?;
        tx.pragma_update(None, "user_version", found + 1)?;
        tx.commit()?;
        tracing::info!(version = found + 1, "database schema migrated");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_an_empty_database_and_refuses_a_newer_one() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn).unwrap(), VERSION);
        // Idempotent.
        migrate(&mut conn).unwrap();
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 7);
        conn.pragma_update(None, "user_version", VERSION + 1)
            .unwrap();
        assert!(matches!(migrate(&mut conn), Err(StoreError::TooNew { .. })));
        assert_eq!(MIGRATIONS.len() as i64, VERSION);
    }
}
