//! The read side: typed queries over the store for [`crate::report`].
//!
//! A [`Reader`] is its own connection (read-write flags so it can use the WAL's shared memory,
//! but `query_only`), so a report never blocks the writer and sees one consistent snapshot
//! per query. Comments are streamed row by row with borrowed text, so a session of a million
//! comments costs no more memory than one of ten.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::Serialize;

use super::{DB_FILE, StoreError, schema};

/// A viewer's profile as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileRow {
    pub viewer: String,
    /// The profile as written (`crate::audience::Profile`'s JSON, without `segments`).
    pub profile: serde_json::Value,
    /// The segments the viewer was in when last seen.
    pub segments: Vec<String>,
}

/// An exposure of a script variant as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExposureRow {
    pub cue: String,
    pub slot: String,
    pub context: String,
    /// The variant's tone; `""` for the default text.
    pub variant: String,
    /// `ack` or `shown`.
    pub by: String,
    pub at: i64,
    pub mix: Vec<(String, f32)>,
    pub reward: f64,
    pub lift: LiftRow,
}

/// The change an exposure was credited with, per minute, as stored (the fields of
/// `crate::experiment::Lift`; a missing field reads as 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct LiftRow {
    pub purchase: f64,
    pub orders: f64,
    pub link: f64,
    pub rate: f64,
    pub sentiment: f64,
}

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionRow {
    #[serde(skip)]
    pub key: i64,
    pub id: String,
    pub room: String,
    pub room_name: String,
    pub started_at: i64,
    pub last_at: i64,
    pub ended_at: Option<i64>,
    /// Ended by a SessionEnd record (false: the process stopped without one).
    pub clean_end: bool,
    pub resumed: u32,
    /// The room's products at start, as JSON.
    #[serde(skip)]
    pub catalog: String,
    pub dropped: u64,
    pub keep_text: bool,
}

impl SessionRow {
    /// When the session ended, or when it was last heard of.
    pub fn end(&self) -> i64 {
        self.ended_at.unwrap_or(self.last_at)
    }
}

/// One minute of a session (the `minutes` table).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MinuteRow {
    /// Start of the minute, ms since the epoch.
    pub at: i64,
    pub comments: u64,
    pub questions: u64,
    pub sentiment_sum: f64,
    pub positive: u64,
    pub negative: u64,
    pub purchase: u64,
    pub complaints: u64,
    pub gifts: u64,
    pub gift_value: f64,
    pub likes: u64,
    pub enters: u64,
    pub follows: u64,
    pub orders: u64,
    pub order_amount: f64,
}

/// A comment, borrowed from the row being read.
#[derive(Debug, Clone, Copy)]
pub struct CommentView<'a> {
    pub at: i64,
    pub ts: i64,
    pub viewer: Option<&'a str>,
    /// `None` when the session kept no text.
    pub text: Option<&'a str>,
    pub product: Option<&'a str>,
    pub named: bool,
    pub intents: u32,
    pub sentiment: f32,
    pub label: i8,
    pub question: bool,
    pub key: Option<&'a str>,
    pub complaint: Option<&'a str>,
    /// The fan medal's (masked) name and level, when the viewer wore one.
    pub medal: Option<&'a str>,
    pub medal_level: Option<u32>,
    /// A paid comment's price in yuan.
    pub super_chat: Option<f64>,
}

/// A stretch in which a platform source may have lost messages.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GapRow {
    pub source: String,
    pub kind: String,
    pub from: i64,
    pub to: i64,
    /// `disconnected`, `sequence` or `never_connected`.
    pub reason: String,
    /// For `sequence`: numbered messages skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<u64>,
}

/// A gift, like, enter, follow or order, borrowed from the row being read.
#[derive(Debug, Clone, Copy)]
pub struct EventView<'a> {
    pub kind: &'a str,
    pub at: i64,
    pub viewer: Option<&'a str>,
    pub product: Option<&'a str>,
    pub item: Option<&'a str>,
    pub count: u32,
    pub value: f64,
}

/// A cue with its last state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CueRow {
    pub id: String,
    pub kind: String,
    pub product: Option<String>,
    pub priority: u8,
    pub text: String,
    pub reason: String,
    pub variant: Option<String>,
    pub evidence: serde_json::Value,
    pub created_at: i64,
    pub expires_at: i64,
    pub state: String,
    pub state_at: Option<i64>,
}

/// A console action (or a session start/resume).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionRow {
    pub at: i64,
    pub kind: String,
    pub target: Option<String>,
    pub command: serde_json::Value,
}

/// Rows a session has per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TableCounts {
    pub comments: u64,
    pub events: u64,
    pub cues: u64,
    pub actions: u64,
}

/// A read-only view of the store.
#[derive(Debug)]
pub struct Reader {
    conn: Connection,
}

impl Reader {
    /// Opens `<data_dir>/livecue.db` for reading; it must exist and be at this build's schema.
    pub fn open(data_dir: &Path) -> Result<Reader, StoreError> {
        let path = data_dir.join(DB_FILE);
        if !path.is_file() {
            return Err(StoreError::Missing(path.display().to_string()));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(&path, flags)
            .map_err(|e| StoreError::Sql(format!("{}: {e}", path.display())))?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "query_only", "ON")?;
        let found = schema::version(&conn)?;
        let known = schema::VERSION;
        if found == 0 {
            return Err(StoreError::Missing(path.display().to_string()));
        }
        if found > known {
            return Err(StoreError::TooNew { found, known });
        }
        if found < known {
            return Err(StoreError::TooOld { found, known });
        }
        Ok(Reader { conn })
    }

    /// The raw connection (read-only), for tools and tests.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Rooms with at least one session, sorted.
    pub fn rooms(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT room FROM sessions ORDER BY room")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A room's sessions, newest first.
    pub fn sessions(&self, room: &str) -> Result<Vec<SessionRow>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "{SESSION_COLUMNS} WHERE room = ?1 ORDER BY started_at DESC, key DESC"
        ))?;
        let rows = stmt.query_map(params![room], session_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One session of a room: `id`, or the latest.
    pub fn session(&self, room: &str, id: Option<&str>) -> Result<Option<SessionRow>, StoreError> {
        let row = match id {
            Some(id) => self
                .conn
                .query_row(
                    &format!("{SESSION_COLUMNS} WHERE room = ?1 AND id = ?2"),
                    params![room, id],
                    session_row,
                )
                .optional()?,
            None => self
                .conn
                .query_row(
                    &format!(
                        "{SESSION_COLUMNS} WHERE room = ?1 ORDER BY started_at DESC, key DESC LIMIT 1"
                    ),
                    params![room],
                    session_row,
                )
                .optional()?,
        };
        Ok(row)
    }

    pub fn counts(&self, s: &SessionRow) -> Result<TableCounts, StoreError> {
        let count = |table: &str| -> Result<u64, StoreError> {
            let n: i64 = self.conn.query_row(
                &format!("SELECT count(*) FROM {table} WHERE session = ?1"),
                [s.key],
                |r| r.get(0),
            )?;
            Ok(n as u64)
        };
        Ok(TableCounts {
            comments: count("comments")?,
            events: count("events")?,
            cues: count("cues")?,
            actions: count("actions")?,
        })
    }

    /// The session's minutes that had anything, in order.
    pub fn minutes(&self, s: &SessionRow) -> Result<Vec<MinuteRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT minute, comments, questions, sentiment_sum, positive, negative, purchase,
             complaints, gifts, gift_value, likes, enters, follows, orders, order_amount
             FROM minutes WHERE session = ?1 ORDER BY minute",
        )?;
        let rows = stmt.query_map([s.key], |r| {
            let u = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)?.max(0) as u64) };
            Ok(MinuteRow {
                at: r.get::<_, i64>(0)? * 60_000,
                comments: u(1)?,
                questions: u(2)?,
                sentiment_sum: r.get(3)?,
                positive: u(4)?,
                negative: u(5)?,
                purchase: u(6)?,
                complaints: u(7)?,
                gifts: u(8)?,
                gift_value: r.get(9)?,
                likes: u(10)?,
                enters: u(11)?,
                follows: u(12)?,
                orders: u(13)?,
                order_amount: r.get(14)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The session's most frequent words.
    pub fn words(&self, s: &SessionRow, limit: usize) -> Result<Vec<(String, u64)>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT word, count FROM words WHERE session = ?1 ORDER BY count DESC, word LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![s.key, limit as i64], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The session's cues, oldest first.
    pub fn cues(&self, s: &SessionRow) -> Result<Vec<CueRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, kind, product, priority, text, reason, variant, evidence, created_at,
             expires_at, state, state_at FROM cues WHERE session = ?1 ORDER BY created_at, rowid",
        )?;
        let rows = stmt.query_map([s.key], |r| {
            let evidence: String = r.get(7)?;
            Ok(CueRow {
                id: r.get(0)?,
                kind: r.get(1)?,
                product: r.get(2)?,
                priority: r.get::<_, i64>(3)?.clamp(0, 255) as u8,
                text: r.get(4)?,
                reason: r.get(5)?,
                variant: r.get(6)?,
                evidence: serde_json::from_str(&evidence).unwrap_or_default(),
                created_at: r.get(8)?,
                expires_at: r.get(9)?,
                state: r.get(10)?,
                state_at: r.get(11)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The session's actions, oldest first.
    pub fn actions(&self, s: &SessionRow) -> Result<Vec<ActionRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT at, kind, target, command FROM actions WHERE session = ?1 ORDER BY at, rowid",
        )?;
        let rows = stmt.query_map([s.key], |r| {
            let command: String = r.get(3)?;
            Ok(ActionRow {
                at: r.get(0)?,
                kind: r.get(1)?,
                target: r.get(2)?,
                command: serde_json::from_str(&command).unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Where the session's platform sources may have lost messages, in time order.
    pub fn gaps(&self, s: &SessionRow) -> Result<Vec<GapRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT source, kind, from_at, to_at, reason, missing FROM source_gaps
             WHERE session = ?1 ORDER BY from_at, rowid",
        )?;
        let rows = stmt.query_map([s.key], |r| {
            Ok(GapRow {
                source: r.get(0)?,
                kind: r.get(1)?,
                from: r.get(2)?,
                to: r.get(3)?,
                reason: r.get(4)?,
                missing: r.get::<_, Option<i64>>(5)?.map(|n| n.max(0) as u64),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The session's viewer profiles (as last written) by pseudonym, with the segments each
    /// was in when last seen; rows that no longer parse are skipped.
    pub fn profiles(&self, s: &SessionRow) -> Result<Vec<ProfileRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT viewer, profile FROM profiles WHERE session = ?1 ORDER BY viewer")?;
        let mut rows = stmt.query([s.key])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let viewer: String = r.get(0)?;
            let json: String = r.get(1)?;
            let Ok(mut value) = serde_json::from_str::<serde_json::Value>(&json) else {
                continue;
            };
            let segments = value
                .get_mut("segments")
                .map(serde_json::Value::take)
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or_default();
            if value.is_object() {
                out.push(ProfileRow {
                    viewer,
                    profile: value,
                    segments,
                });
            }
        }
        Ok(out)
    }

    /// The session's exposures of script variants with their outcomes, in time order.
    pub fn exposures(&self, s: &SessionRow) -> Result<Vec<ExposureRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT cue, slot, context, variant, by_kind, at, mix, reward, lift FROM exposures
             WHERE session = ?1 ORDER BY at, rowid",
        )?;
        let rows = stmt.query_map([s.key], |r| {
            let mix: String = r.get(6)?;
            let lift: String = r.get(8)?;
            Ok(ExposureRow {
                cue: r.get(0)?,
                slot: r.get(1)?,
                context: r.get(2)?,
                variant: r.get(3)?,
                by: r.get(4)?,
                at: r.get(5)?,
                mix: serde_json::from_str(&mix).unwrap_or_default(),
                reward: r.get(7)?,
                lift: serde_json::from_str(&lift).unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Pseudonyms (as numbers) of the viewers profiled in the room's sessions other than
    /// `except`: who counts as a returning viewer. At most `limit`, the most recent first.
    pub fn returning_viewers(
        &self,
        room: &str,
        except: &str,
        limit: usize,
    ) -> Result<rustc_hash::FxHashSet<u64>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT p.viewer FROM profiles p JOIN sessions s ON s.key = p.session
             WHERE s.room = ?1 AND s.id != ?2 ORDER BY p.last_seen DESC LIMIT ?3",
        )?;
        let mut rows = stmt.query(params![room, except, limit as i64])?;
        let mut out = rustc_hash::FxHashSet::default();
        while let Some(r) = rows.next()? {
            let viewer: String = r.get(0)?;
            if let Some(v) = crate::privacy::Pseudonym::parse(&viewer) {
                out.insert(v.as_u64());
            }
        }
        Ok(out)
    }

    /// Calls `f` for every comment of the session in arrival order.
    pub fn for_each_comment(
        &self,
        s: &SessionRow,
        mut f: impl FnMut(&CommentView<'_>),
    ) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT at, ts, viewer, text, product, named, intents, sentiment, label, question,
             qkey, complaint, medal, medal_level, super_chat
             FROM comments WHERE session = ?1 ORDER BY at, rowid",
        )?;
        let mut rows = stmt.query([s.key])?;
        while let Some(r) = rows.next()? {
            let view = CommentView {
                at: r.get(0)?,
                ts: r.get(1)?,
                viewer: r.get_ref(2)?.as_str_or_null()?,
                text: r.get_ref(3)?.as_str_or_null()?,
                product: r.get_ref(4)?.as_str_or_null()?,
                named: r.get(5)?,
                intents: r.get::<_, i64>(6)? as u32,
                sentiment: r.get::<_, f64>(7)? as f32,
                label: r.get::<_, i64>(8)?.clamp(-1, 1) as i8,
                question: r.get(9)?,
                key: r.get_ref(10)?.as_str_or_null()?,
                complaint: r.get_ref(11)?.as_str_or_null()?,
                medal: r.get_ref(12)?.as_str_or_null()?,
                medal_level: r
                    .get::<_, Option<i64>>(13)?
                    .map(|l| l.clamp(0, i64::from(u32::MAX)) as u32),
                super_chat: r.get(14)?,
            };
            f(&view);
        }
        Ok(())
    }

    /// Calls `f` for every gift, like, enter, follow and order of the session, in order.
    pub fn for_each_event(
        &self,
        s: &SessionRow,
        mut f: impl FnMut(&EventView<'_>),
    ) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT kind, at, viewer, product, item, count, value FROM events
             WHERE session = ?1 ORDER BY at, rowid",
        )?;
        let mut rows = stmt.query([s.key])?;
        while let Some(r) = rows.next()? {
            let view = EventView {
                kind: r.get_ref(0)?.as_str()?,
                at: r.get(1)?,
                viewer: r.get_ref(2)?.as_str_or_null()?,
                product: r.get_ref(3)?.as_str_or_null()?,
                item: r.get_ref(4)?.as_str_or_null()?,
                count: r.get::<_, i64>(5)?.clamp(0, i64::from(u32::MAX)) as u32,
                value: r.get(6)?,
            };
            f(&view);
        }
        Ok(())
    }
}

const SESSION_COLUMNS: &str = "SELECT key, id, room, room_name, started_at, last_at, ended_at,
    clean_end, resumed, catalog, dropped, keep_text FROM sessions";

fn session_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        key: r.get(0)?,
        id: r.get(1)?,
        room: r.get(2)?,
        room_name: r.get(3)?,
        started_at: r.get(4)?,
        last_at: r.get(5)?,
        ended_at: r.get(6)?,
        clean_end: r.get(7)?,
        resumed: r.get::<_, i64>(8)?.max(0) as u32,
        catalog: r.get(9)?,
        dropped: r.get::<_, i64>(10)?.max(0) as u64,
        keep_text: r.get(11)?,
    })
}
