//! What the server writes: one [`Record`] per comment, event, cue, cue change, console action
//! or session end. Plain data of core types only: the live layer copies them from its own
//! values (`crate::live::records`), so the store knows nothing of rooms, cues or commands.
//!
//! Records carry only what may be kept: pseudonyms (never raw viewer ids or display names)
//! and masked, normalized comment text. The writer masks text once more before it is written.

use std::sync::Arc;

use crate::ingest::Medal;
use crate::privacy::Pseudonym;

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
pub const MAX_WORDS: usize = 16;

/// One thing to write.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Comment(CommentRecord),
    /// A gift, like, enter, follow or order.
    Event(EventRecord),
    /// A cue as it was made.
    Cue(CueRecord),
    /// A cue was acknowledged, dismissed, pinned or expired (`state` is its wire name).
    CueState {
        session: Arc<str>,
        id: String,
        state: &'static str,
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
    Exposure(ExposureRecord),
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
            Record::Exposure(e) => &e.session,
            Record::Profiles { session, .. } | Record::Forget { session, .. } => session,
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
            Record::Exposure(e) => e.at,
            Record::Forget { .. } => 0,
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
    /// The viewer's pseudonym.
    pub viewer: Option<Pseudonym>,
    /// Normalized, masked text.
    pub text: String,
    /// The product the comment is about (as the room read it).
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
    pub key: Option<Arc<str>>,
    /// For complaints: what about (`shipping`, `quality`, … or `general`).
    pub complaint: Option<&'static str>,
    /// Words counted into the session's hot words (not stored per comment).
    pub words: Vec<String>,
    /// The fan medal the viewer wore (its name is masked again when written).
    pub medal: Option<Medal>,
    /// A paid comment's price in yuan.
    pub super_chat: Option<f64>,
}

/// A stretch in which a platform source may have lost messages.
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
    /// The cue state's wire name.
    pub state: &'static str,
}

/// An exposure of a script variant with its measured outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct ExposureRecord {
    pub session: Arc<str>,
    pub cue: String,
    pub slot: String,
    pub context: String,
    pub variant: String,
    /// `ack` (operator) or `shown` (stayed on the overlay).
    pub by: &'static str,
    pub at: i64,
    /// The audience mix as JSON.
    pub mix: String,
    pub reward: f64,
    /// The measured lift as JSON.
    pub lift: String,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intent_bits_follow_the_protocol_order() {
        use crate::analyze::Intent;
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
}
