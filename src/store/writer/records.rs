//! One insert per record kind: comments and events (deduplicated by source id, counted into
//! the minute aggregates when new), cues and their states, actions, source gaps, profiles,
//! exposures, a viewer forgotten, a session's end.

use rusqlite::{Connection, Transaction, params};
use serde_json::Value;

use super::WriteError;
use super::aggregates::Aggregates;
use crate::store::Forgotten;
use crate::store::record::{
    CommentRecord, CueRecord, EventKind, EventRecord, ExposureRecord, GapRecord, Record, intent_bit,
};

/// Writes one record; false when it was a duplicate (same source id in the session).
pub(super) fn write_record(
    tx: &Transaction<'_>,
    session: i64,
    record: &Record,
    keep_text: bool,
    agg: &mut Aggregates,
) -> Result<bool, WriteError> {
    match record {
        Record::Comment(c) => insert_comment(tx, session, c, keep_text, agg),
        Record::Event(e) => insert_event(tx, session, e, agg),
        Record::Cue(c) => insert_cue(tx, session, c, keep_text),
        Record::CueState { id, state, at, .. } => update_cue_state(tx, session, id, state, *at),
        Record::Action(a) => {
            insert_action(tx, session, a.at, &a.kind, a.target.as_deref(), &a.command)?;
            Ok(true)
        }
        Record::SourceGap(g) => insert_gap(tx, session, g),
        Record::Profiles { rows, .. } => replace_profiles(tx, session, rows),
        Record::Exposure(e) => insert_exposure(tx, session, e),
        Record::Forget { viewer, .. } => forget_viewer(tx, session, viewer),
        Record::SessionEnd { at, .. } => end_session(tx, session, *at),
    }
}

/// A comment (text masked, and kept only with `keep_text`), and its minute's and words'
/// counts when it was new.
fn insert_comment(
    tx: &Transaction<'_>,
    session: i64,
    c: &CommentRecord,
    keep_text: bool,
    agg: &mut Aggregates,
) -> Result<bool, WriteError> {
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

/// A gift, like, enter, follow or order, and its minute's counts when it was new.
fn insert_event(
    tx: &Transaction<'_>,
    session: i64,
    e: &EventRecord,
    agg: &mut Aggregates,
) -> Result<bool, WriteError> {
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

/// A cue as it was made (its evidence cleaned as `keep_text` says).
fn insert_cue(
    tx: &Transaction<'_>,
    session: i64,
    c: &CueRecord,
    keep_text: bool,
) -> Result<bool, WriteError> {
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

/// A cue's new state, on the session's latest cue of that id.
fn update_cue_state(
    tx: &Transaction<'_>,
    session: i64,
    id: &str,
    state: &str,
    at: i64,
) -> Result<bool, WriteError> {
    tx.prepare_cached(
        "UPDATE cues SET state = ?3, state_at = ?4 WHERE rowid =
         (SELECT max(rowid) FROM cues WHERE session = ?1 AND id = ?2)",
    )?
    .execute(params![session, id, state, at])?;
    Ok(true)
}

pub(super) fn insert_action(
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

/// A stretch where a platform source may have lost messages.
fn insert_gap(tx: &Transaction<'_>, session: i64, g: &GapRecord) -> Result<bool, WriteError> {
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

/// Viewer profiles as they are now, over the session's earlier copy.
fn replace_profiles(
    tx: &Transaction<'_>,
    session: i64,
    rows: &[(String, i64, String)],
) -> Result<bool, WriteError> {
    let mut insert = tx.prepare_cached(
        "INSERT OR REPLACE INTO profiles (session, viewer, last_seen, profile)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (viewer, last_seen, profile) in rows {
        insert.execute(params![session, viewer, last_seen, profile])?;
    }
    Ok(true)
}

/// An exposure of a script variant with its measured outcome.
fn insert_exposure(
    tx: &Transaction<'_>,
    session: i64,
    e: &ExposureRecord,
) -> Result<bool, WriteError> {
    tx.prepare_cached(
        "INSERT INTO exposures (session, cue, slot, context, variant, by_kind, at, mix,
         reward, lift) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        session, e.cue, e.slot, e.context, e.variant, e.by, e.at, e.mix, e.reward, e.lift,
    ])?;
    Ok(true)
}

/// Forgets a viewer in every session of this session's room.
fn forget_viewer(tx: &Transaction<'_>, session: i64, viewer: &str) -> Result<bool, WriteError> {
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

/// The session's clean end.
fn end_session(tx: &Transaction<'_>, session: i64, at: i64) -> Result<bool, WriteError> {
    tx.prepare_cached(
        "UPDATE sessions SET ended_at = ?2, clean_end = 1, last_at = max(last_at, ?2)
         WHERE key = ?1",
    )?
    .execute(params![session, at])?;
    Ok(true)
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
