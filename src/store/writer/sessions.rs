//! Sessions as the writer keeps them: starting one (or continuing the room's last after an
//! unclean stop), pruning old ones, and the cache of session ids to keys.

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};
use serde_json::{Value, json};

use super::records::insert_action;
use super::{WriteError, Writer};
use crate::store::{Pruned, Session, SessionRequest, StoreError, stamp};

impl Writer {
    pub(super) fn start_session(&mut self, r: &SessionRequest) -> Result<Session, WriteError> {
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
}

fn with_type(mut v: Value, kind: &str) -> Value {
    if let Value::Object(map) = &mut v {
        map.insert("type".into(), Value::String(kind.into()));
    }
    v
}

pub(super) fn session_key(
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
