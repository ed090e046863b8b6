//! What the server writes: one [`Record`] per comment, event, cue, cue change, console action
//! or session end, with constructors from the live loop's own types so the call sites stay
//! one line each.
//!
//! Records carry only what may be kept: pseudonyms (never raw viewer ids or display names)
//! and masked, normalized comment text. The writer masks text once more before it is written.

use std::sync::Arc;

use serde_json::json;

use super::Pseudonym;
use crate::analyze::{Analysis, Analyzer, Intent, Label};
use crate::audience::Profile;
use crate::experiment::Settled;
use crate::ingest::{CommentEvent, IngestEvent, Medal};
use crate::room::hot::HotWords;
use crate::suggest::{Cue, CueState};
use crate::wire::Command;

/// Intent labels in bit order: bit `i` of `comments.intents` is `INTENTS[i]` (the PROTOCOL.md
/// order). Stored data depends on this order: only ever append.
pub const INTENTS: [&str; 17] = [
    "ask_price",
    "ask_discount",
    "ask_size",
    "ask_spec",
    "ask_stock",
    "ask_shipping",
    "ask_link",
    "ask_quality",
    "ask_usage",
    "ask_aftersale",
    "request_demo",
    "compare",
    "purchase",
    "praise",
    "complaint",
    "chatter",
    "spam",
];

/// The bit of an intent label, if it is one.
pub fn intent_bit(label: &str) -> Option<u32> {
    INTENTS.iter().position(|l| *l == label).map(|i| 1 << i)
}

/// The labels of an intent bitset, in label order.
pub fn intent_labels(bits: u32) -> impl Iterator<Item = &'static str> {
    INTENTS
        .iter()
        .enumerate()
        .filter(move |(i, _)| bits & (1 << i) != 0)
        .map(|(_, l)| *l)
}

/// Hot-word candidates kept per comment at most.
const MAX_WORDS: usize = 16;

/// One thing to write.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Comment(CommentRecord),
    /// A gift, like, enter, follow or order.
    Event(EventRecord),
    /// A cue as it was made.
    Cue(CueRecord),
    /// A cue was acknowledged, dismissed, pinned or expired.
    CueState {
        session: Arc<str>,
        id: String,
        state: CueState,
        at: i64,
    },
    /// A console command that was applied.
    Action(ActionRecord),
    /// The room's session ended cleanly (shutdown).
    SessionEnd {
        session: Arc<str>,
        at: i64,
    },
    /// A platform source may have lost messages in this stretch.
    SourceGap(GapRecord),
    /// Viewer profiles as they are now (written over the session's earlier copy).
    Profiles {
        session: Arc<str>,
        /// (pseudonym, last seen, profile JSON).
        rows: Vec<(String, i64, String)>,
    },
    /// An exposure of a script variant with its measured outcome.
    Exposure {
        session: Arc<str>,
        settled: Settled,
    },
    /// Delete what is kept of a viewer (pseudonym) in every session of this session's room.
    Forget {
        session: Arc<str>,
        viewer: String,
    },
}

impl Record {
    pub fn session(&self) -> &Arc<str> {
        match self {
            Record::Comment(c) => &c.session,
            Record::Event(e) => &e.session,
            Record::Cue(c) => &c.session,
            Record::CueState { session, .. } => session,
            Record::Action(a) => &a.session,
            Record::SessionEnd { session, .. } => session,
            Record::SourceGap(g) => &g.session,
            Record::Profiles { session, .. }
            | Record::Exposure { session, .. }
            | Record::Forget { session, .. } => session,
        }
    }

    /// When it happened (server clock, ms).
    pub fn at(&self) -> i64 {
        match self {
            Record::Comment(c) => c.at,
            Record::Event(e) => e.at,
            Record::Cue(c) => c.created_at,
            Record::CueState { at, .. } => *at,
            Record::Action(a) => a.at,
            Record::SessionEnd { at, .. } => *at,
            Record::SourceGap(g) => g.to,
            Record::Profiles { rows, .. } => rows.iter().map(|r| r.1).max().unwrap_or(0),
            Record::Exposure { settled, .. } => settled.exposure.at,
            Record::Forget { .. } => 0,
        }
    }

    /// The record for an ingest event: a comment needs its analysis, so this is for the
    /// other kinds; `None` for a comment.
    pub fn event(
        session: &Arc<str>,
        at: i64,
        event: &IngestEvent,
        viewer: Option<Pseudonym>,
    ) -> Option<Record> {
        EventRecord::new(session, at, event, viewer).map(Record::Event)
    }

    /// The record for a cue just made.
    pub fn cue(session: &Arc<str>, cue: &Cue) -> Record {
        Record::Cue(CueRecord::new(session, cue))
    }

    /// The record for a console command that was applied at `at`.
    pub fn action(session: &Arc<str>, at: i64, command: &Command) -> Record {
        Record::Action(ActionRecord::new(session, at, command))
    }

    /// Profiles by pseudonym with their segments, as the review reads them back: the
    /// profile's JSON plus a `segments` array.
    pub fn profiles(session: &Arc<str>, profiles: &[(String, Profile, Vec<String>)]) -> Record {
        Record::Profiles {
            session: session.clone(),
            rows: profiles
                .iter()
                .map(|(viewer, p, segments)| {
                    let mut json = serde_json::to_value(p).unwrap_or_default();
                    if let Some(map) = json.as_object_mut() {
                        map.insert("segments".into(), json!(segments));
                    }
                    (viewer.clone(), p.last_seen, json.to_string())
                })
                .collect(),
        }
    }

    pub fn exposure(session: &Arc<str>, settled: &Settled) -> Record {
        Record::Exposure {
            session: session.clone(),
            settled: settled.clone(),
        }
    }
}

/// An analyzed comment.
#[derive(Debug, Clone, PartialEq)]
pub struct CommentRecord {
    pub session: Arc<str>,
    /// Arrival, server clock (ms).
    pub at: i64,
    /// The source's timestamp (ms).
    pub ts: i64,
    /// The source's message id; a second record with the same id in a session is ignored.
    pub source_id: Option<String>,
    /// The viewer's pseudonym ([`super::Pseudonymizer::pseudonym`]).
    pub viewer: Option<Pseudonym>,
    /// Normalized, masked text ([`Analysis::text`]).
    pub text: String,
    /// The product linked in the text, or for product intents the product being pitched.
    pub product: Option<Arc<str>>,
    /// True when the text named the product itself.
    pub named: bool,
    /// Intent bitset, see [`INTENTS`].
    pub intents: u32,
    pub sentiment: f32,
    /// 1 positive, 0 neutral, -1 negative.
    pub label: i8,
    pub question: bool,
    /// `topic:product` with the product attributed as for [`CommentRecord::product`].
    pub key: Option<String>,
    /// For complaints: what about (`shipping`, `quality`, … or `general`).
    pub complaint: Option<&'static str>,
    /// Words counted into the session's hot words (not stored per comment).
    pub words: Vec<String>,
    /// The fan medal the viewer wore (its name is masked again when written).
    pub medal: Option<Medal>,
    /// A paid comment's price in yuan.
    pub super_chat: Option<f64>,
}

impl CommentRecord {
    /// Builds the record the way the room reads the comment: a product intent without a
    /// product is about `pitching`; hot words skip spam, stop words, numbers and placeholders.
    pub fn new(
        session: &Arc<str>,
        at: i64,
        event: &CommentEvent,
        viewer: Option<Pseudonym>,
        analyzer: &Analyzer,
        analysis: &Analysis,
        pitching: Option<&Arc<str>>,
    ) -> CommentRecord {
        let product = crate::room::attribute(analysis, pitching);
        let named = analysis.product.is_some();
        let key = analysis
            .key
            .as_ref()
            .map(|k| format!("{}:{}", k.topic, product.as_deref().unwrap_or("_")));
        let intents = analysis
            .intents
            .iter()
            .filter_map(|i| intent_bit(i.as_str()))
            .fold(0, |a, b| a | b);
        let words = if analysis.intents.contains(Intent::Spam) {
            Vec::new()
        } else {
            analysis
                .tokens()
                .filter(|t| HotWords::counts(analyzer, t))
                .take(MAX_WORDS)
                .map(str::to_owned)
                .collect()
        };
        CommentRecord {
            session: session.clone(),
            at,
            ts: event.env.ts.unwrap_or(at),
            source_id: event.env.id.clone(),
            viewer,
            text: analysis.text.clone(),
            product,
            named,
            intents,
            sentiment: analysis.sentiment.score,
            label: match analysis.sentiment.label {
                Label::Positive => 1,
                Label::Neutral => 0,
                Label::Negative => -1,
            },
            question: analysis.question,
            key,
            complaint: analysis
                .intents
                .contains(Intent::Complaint)
                .then(|| analyzer.complaint_topic(analysis)),
            words,
            medal: event.env.medal.clone(),
            super_chat: event.super_chat.as_ref().map(|p| p.price_cny),
        }
    }
}

/// A stretch in which a platform source may have lost messages (see
/// [`crate::sources::Gap`]).
#[derive(Debug, Clone, PartialEq)]
pub struct GapRecord {
    pub session: Arc<str>,
    /// The source's name in its room.
    pub source: String,
    /// Its kind (`bilibili`, `douyin` …).
    pub kind: &'static str,
    pub from: i64,
    pub to: i64,
    /// `disconnected`, `sequence` or `never_connected`.
    pub reason: &'static str,
    /// For `sequence`: how many numbered messages were skipped.
    pub missing: Option<u64>,
}

/// Kinds of [`EventRecord`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Gift,
    Like,
    Enter,
    Follow,
    Order,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Gift => "gift",
            EventKind::Like => "like",
            EventKind::Enter => "enter",
            EventKind::Follow => "follow",
            EventKind::Order => "order",
        }
    }
}

/// A gift, like, enter, follow or order.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub session: Arc<str>,
    pub kind: EventKind,
    pub at: i64,
    pub ts: i64,
    pub source_id: Option<String>,
    pub viewer: Option<Pseudonym>,
    /// Order: the product id.
    pub product: Option<String>,
    /// Gift: its name.
    pub item: Option<String>,
    /// Gift count, like count, order quantity; 1 for enter and follow.
    pub count: u32,
    /// Gift value or order amount in yuan; 0 otherwise.
    pub value: f64,
}

impl EventRecord {
    /// `None` for a comment (see [`CommentRecord::new`]).
    pub fn new(
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
}

/// A cue as it was made.
#[derive(Debug, Clone, PartialEq)]
pub struct CueRecord {
    pub session: Arc<str>,
    pub id: String,
    pub kind: &'static str,
    pub product: Option<Arc<str>>,
    pub priority: u8,
    pub text: String,
    pub reason: String,
    pub variant: Option<String>,
    /// The evidence as JSON (`count`, `window_s`, `samples`, `key`, …).
    pub evidence: serde_json::Value,
    pub created_at: i64,
    pub expires_at: i64,
    pub state: CueState,
}

impl CueRecord {
    pub fn new(session: &Arc<str>, cue: &Cue) -> CueRecord {
        CueRecord {
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
            state: cue.state,
        }
    }
}

/// The wire name of a cue state.
pub fn cue_state_str(state: CueState) -> &'static str {
    match state {
        CueState::Active => "active",
        CueState::Pinned => "pinned",
        CueState::Acked => "acked",
        CueState::Dismissed => "dismissed",
        CueState::Expired => "expired",
    }
}

/// A console command that was applied.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionRecord {
    pub session: Arc<str>,
    pub at: i64,
    /// The command's `type` (`set_pitching`, `ack_cue` …).
    pub kind: String,
    /// The product, cue id or question key it acted on.
    pub target: Option<String>,
    /// The whole command as JSON (as the console sent it, minus `req`).
    pub command: serde_json::Value,
}

impl ActionRecord {
    pub fn new(session: &Arc<str>, at: i64, command: &Command) -> ActionRecord {
        let (target, body) = match command {
            Command::SetPitching { product } => (
                product.clone(),
                json!({"type": "set_pitching", "product": product}),
            ),
            Command::Reorder { order } => (None, json!({"type": "reorder", "order": order})),
            Command::AckCue { id } => (Some(id.clone()), json!({"type": "ack_cue", "id": id})),
            Command::DismissCue { id } => {
                (Some(id.clone()), json!({"type": "dismiss_cue", "id": id}))
            }
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
        ActionRecord {
            session: session.clone(),
            at,
            kind: command.name().to_owned(),
            target,
            command: body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intent_bits_follow_the_protocol_order() {
        for (i, intent) in Intent::ALL.iter().enumerate() {
            assert_eq!(INTENTS[i], intent.as_str());
        }
        let bits = intent_bit("ask_size").unwrap() | intent_bit("purchase").unwrap();
        assert_eq!(
            intent_labels(bits).collect::<Vec<_>>(),
            ["ask_size", "purchase"]
        );
        assert_eq!(intent_bit("nope"), None);
    }

    #[test]
    fn actions_keep_the_command() {
        let s: Arc<str> = "r1-x".into();
        let a = ActionRecord::new(
            &s,
            5,
            &Command::MarkAnswered {
                key: "size:2".into(),
            },
        );
        assert_eq!(a.kind, "mark_answered");
        assert_eq!(a.target.as_deref(), Some("size:2"));
        assert_eq!(a.command["key"], "size:2");
    }
}
