//! The store's records, copied from the live loop's values.
//!
//! The store knows only plain records; this is where a [`RoomEvent`] (as ingest read it), a
//! cue, an applied command, the profiles and a settled exposure become them. A comment's record
//! is copied from its [`Reading`], field by field, so what the review counts is what the room
//! counted.

use std::sync::Arc;

use serde_json::json;

use crate::analyze::Label;
use crate::audience::Profile;
use crate::experiment::Settled;
use crate::ingest::{CommentEvent, IngestEvent};
use crate::privacy::Pseudonym;
use crate::room::{Reading, RoomEvent};
use crate::store::{
    ActionRecord, CommentRecord, CueRecord, EventKind, EventRecord, ExposureRecord, MAX_WORDS,
    Record, intent_bit,
};
use crate::suggest::Cue;
use crate::wire::Command;

/// The record of an accepted event (`None` for a comment ingest could not read).
pub fn event(session: &Arc<str>, e: &RoomEvent) -> Option<Record> {
    match (&e.event, &e.reading) {
        (IngestEvent::Comment(c), Some(reading)) => Some(Record::Comment(comment(
            session, e.at, c, e.viewer, reading,
        ))),
        (IngestEvent::Comment(_), None) => None,
        (other, _) => other_event(session, e.at, other, e.viewer).map(Record::Event),
    }
}

/// A comment's record: its reading copied.
pub fn comment(
    session: &Arc<str>,
    at: i64,
    event: &CommentEvent,
    viewer: Option<Pseudonym>,
    reading: &Reading,
) -> CommentRecord {
    let analysis = &reading.analysis;
    CommentRecord {
        session: session.clone(),
        at,
        ts: event.env.ts.unwrap_or(at),
        source_id: event.env.id.clone(),
        viewer,
        text: analysis.text.clone(),
        product: reading.product.clone(),
        named: analysis.product.is_some(),
        intents: analysis
            .intents
            .iter()
            .filter_map(|i| intent_bit(i.as_str()))
            .fold(0, |a, b| a | b),
        sentiment: analysis.sentiment.score,
        label: match analysis.sentiment.label {
            Label::Positive => 1,
            Label::Neutral => 0,
            Label::Negative => -1,
        },
        question: analysis.question,
        key: reading.key.clone(),
        complaint: reading.complaint.map(|t| t.as_str()),
        words: reading
            .hot_words()
            .take(MAX_WORDS)
            .map(str::to_owned)
            .collect(),
        medal: event.env.medal.clone(),
        super_chat: event.super_chat.as_ref().map(|p| p.price_cny),
    }
}

/// A gift, like, enter, follow or order as a record; `None` for a comment.
pub fn other_event(
    session: &Arc<str>,
    at: i64,
    event: &IngestEvent,
    viewer: Option<Pseudonym>,
) -> Option<EventRecord> {
    let env = event.envelope();
    let mut record = EventRecord {
        session: session.clone(),
        kind: EventKind::Enter,
        at,
        ts: env.ts.unwrap_or(at),
        source_id: env.id.clone(),
        viewer,
        product: None,
        item: None,
        count: 1,
        value: 0.0,
    };
    match event {
        IngestEvent::Comment(_) => return None,
        IngestEvent::Gift(g) => {
            record.kind = EventKind::Gift;
            record.item = Some(g.gift.clone());
            record.count = g.count;
            record.value = g.value;
        }
        IngestEvent::Like(l) => {
            record.kind = EventKind::Like;
            record.count = l.count;
        }
        IngestEvent::Enter(_) => record.kind = EventKind::Enter,
        IngestEvent::Follow(_) => record.kind = EventKind::Follow,
        IngestEvent::Order(o) => {
            record.kind = EventKind::Order;
            record.product = Some(o.product.clone());
            record.count = o.quantity;
            record.value = o.amount.unwrap_or(0.0);
        }
    }
    Some(record)
}

/// The record of a cue just made.
pub fn cue(session: &Arc<str>, cue: &Cue) -> Record {
    Record::Cue(CueRecord {
        session: session.clone(),
        id: cue.id.clone(),
        kind: cue.kind.as_str(),
        product: cue.product.clone(),
        priority: cue.priority,
        text: cue.text.clone(),
        reason: cue.reason.clone(),
        variant: cue.variant.clone(),
        evidence: serde_json::to_value(&cue.evidence).unwrap_or_default(),
        created_at: cue.created_at,
        expires_at: cue.expires_at,
        state: cue.state.as_str(),
    })
}

/// The record of a console command applied at `at`.
pub fn action(session: &Arc<str>, at: i64, command: &Command) -> Record {
    let (target, body) = match command {
        Command::SetPitching { product } => (
            product.clone(),
            json!({"type": "set_pitching", "product": product}),
        ),
        Command::Reorder { order } => (None, json!({"type": "reorder", "order": order})),
        Command::AckCue { id } => (Some(id.clone()), json!({"type": "ack_cue", "id": id})),
        Command::DismissCue { id } => (Some(id.clone()), json!({"type": "dismiss_cue", "id": id})),
        Command::PinCue { id } => (Some(id.clone()), json!({"type": "pin_cue", "id": id})),
        Command::MarkAnswered { key } => (
            Some(key.clone()),
            json!({"type": "mark_answered", "key": key}),
        ),
        Command::SetFaq {
            product,
            topic,
            text,
        } => (
            Some(product.clone()),
            json!({"type": "set_faq", "product": product, "topic": topic, "text": text}),
        ),
        Command::SetPoints { product, points } => (
            Some(product.clone()),
            json!({"type": "set_points", "product": product, "points": points}),
        ),
        // That someone was forgotten is kept; whom is not.
        Command::Forget { .. } => (None, json!({"type": "forget"})),
    };
    Record::Action(ActionRecord {
        session: session.clone(),
        at,
        kind: command.name().to_owned(),
        target,
        command: body,
    })
}

/// Profiles by pseudonym with their segments, as the review reads them back: the profile's
/// JSON plus a `segments` array.
pub fn profiles(session: &Arc<str>, profiles: &[(Pseudonym, Profile, Vec<String>)]) -> Record {
    Record::Profiles {
        session: session.clone(),
        rows: profiles
            .iter()
            .map(|(viewer, p, segments)| {
                let mut json = serde_json::to_value(p).unwrap_or_default();
                if let Some(map) = json.as_object_mut() {
                    map.insert("segments".into(), json!(segments));
                }
                (viewer.to_string(), p.last_seen, json.to_string())
            })
            .collect(),
    }
}

/// The record of a settled exposure.
pub fn exposure(session: &Arc<str>, settled: &Settled) -> Record {
    let e = &settled.exposure;
    Record::Exposure(ExposureRecord {
        session: session.clone(),
        cue: e.cue.clone(),
        slot: e.slot.clone(),
        context: e.context.clone(),
        variant: e.variant.clone(),
        by: e.by,
        at: e.at,
        mix: serde_json::to_string(&e.mix).unwrap_or_default(),
        reward: settled.reward,
        lift: serde_json::to_string(&settled.lift).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_keep_the_command() {
        let s: Arc<str> = "r1-x".into();
        let Record::Action(a) = action(
            &s,
            5,
            &Command::MarkAnswered {
                key: "size:2".into(),
            },
        ) else {
            panic!("an action record");
        };
        assert_eq!(a.kind, "mark_answered");
        assert_eq!(a.target.as_deref(), Some("size:2"));
        assert_eq!(a.command["key"], "size:2");
    }
}
