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
pub const VERSION: i64 = 3;

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
    // 1 → 2: fan medals and super chats on comments; where a platform source may have lost
    // messages. Adding nullable columns rewrites nothing: old rows read as NULL.
    r#"
ALTER TABLE comments ADD COLUMN medal TEXT;           -- fan medal name (masked), NULL without one
ALTER TABLE comments ADD COLUMN medal_level INTEGER;  -- its level
ALTER TABLE comments ADD COLUMN super_chat REAL;      -- paid comment: its price in yuan; NULL otherwise

CREATE TABLE source_gaps (
    session    INTEGER NOT NULL,
    source     TEXT NOT NULL,               -- the source's name in its room
    kind       TEXT NOT NULL,               -- bilibili | bilibili_open | douyin | json ...
    from_at    INTEGER NOT NULL,            -- the last message before the gap (ms)
    to_at      INTEGER NOT NULL,            -- back, or the next numbered message, or the stop
    reason     TEXT NOT NULL,               -- disconnected | sequence | never_connected
    missing    INTEGER                      -- sequence: numbered messages skipped
);
CREATE INDEX source_gaps_by_time ON source_gaps(session, from_at);
"#,
    // 2 → 3: viewer profiles and the closed loop's exposures (issue 8).
    r#"
CREATE TABLE profiles (
    session    INTEGER NOT NULL,
    viewer     TEXT NOT NULL,               -- pseudonym, as in comments.viewer
    last_seen  INTEGER NOT NULL,
    profile    TEXT NOT NULL,               -- the in-room profile (JSON, see PROTOCOL.md)
    PRIMARY KEY (session, viewer)
) WITHOUT ROWID;
CREATE INDEX profiles_by_viewer ON profiles(viewer);

CREATE TABLE exposures (
    session    INTEGER NOT NULL,
    cue        TEXT NOT NULL,               -- cues.id
    slot       TEXT NOT NULL,               -- the script: '2号 卖点1'
    context    TEXT NOT NULL,               -- the leading segment when chosen, or 全体
    variant    TEXT NOT NULL,               -- the variant's tone; '' for the default text
    by_kind    TEXT NOT NULL,               -- ack | shown
    at         INTEGER NOT NULL,            -- when the streamer acted on it (ms)
    mix        TEXT NOT NULL,               -- the audience mix then: [[segment, share], ...]
    reward     REAL NOT NULL,               -- 0-1, 0.5 = no change
    lift       TEXT NOT NULL                -- {purchase, orders, link, rate, sentiment}
);
CREATE INDEX exposures_by_time ON exposures(session, at);
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
        assert_eq!(tables, 10);
        conn.pragma_update(None, "user_version", VERSION + 1)
            .unwrap();
        assert!(matches!(migrate(&mut conn), Err(StoreError::TooNew { .. })));
        assert_eq!(MIGRATIONS.len() as i64, VERSION);
    }

    #[test]
    fn a_version_1_database_keeps_its_rows_through_version_2() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute_batch(
            "INSERT INTO sessions (id, room, started_at, last_at) VALUES ('r1-x', 'r1', 1, 2);
             INSERT INTO comments (session, at, ts, text, named, intents, sentiment, label, question)
             VALUES (1, 5, 5, '好看', 0, 0, 0.5, 1, 0);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn).unwrap(), VERSION);
        let (text, medal, paid): (String, Option<String>, Option<f64>) = conn
            .query_row("SELECT text, medal, super_chat FROM comments", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!((text.as_str(), medal, paid), ("好看", None, None));
        let gaps: i64 = conn
            .query_row("SELECT count(*) FROM source_gaps", [], |r| r.get(0))
            .unwrap();
        assert_eq!(gaps, 0);
    }
}
