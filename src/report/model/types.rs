//! The review's types: [`Review`] and its parts, serialized as they are for the JSON report
//! (schema [`SCHEMA`](super::SCHEMA)).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::report::audience::{AudienceReview, ExperimentReview};
use crate::store::ActionRow;

/// The whole review of one session.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    /// [`SCHEMA`](super::SCHEMA).
    pub schema: &'static str,
    pub generated_at: i64,
    /// Minutes east of UTC the HTML and CSV show local times in (JSON times are UTC ms).
    pub tz_offset_min: i32,
    pub room: RoomRef,
    pub session: SessionInfo,
    pub summary: Summary,
    /// One point per minute from the session's first to its last, gaps filled with zeros.
    pub timeline: Vec<MinutePoint>,
    /// Comments per intent, in label order (only intents that occurred).
    pub intents: Vec<Count>,
    /// Complaints per topic, most first.
    pub complaints: Vec<Count>,
    /// What was pitched when.
    pub pitching: Vec<PitchSpan>,
    pub products: Vec<ProductReview>,
    /// The most asked question clusters, most asked first.
    pub questions: Vec<QuestionReview>,
    pub hot_words: Vec<Count>,
    /// The busiest minutes, busiest first.
    pub peaks: Vec<Peak>,
    /// Every cue, oldest first, with what followed it.
    pub cues: Vec<CueReview>,
    /// Cues grouped by kind and script variant.
    pub variants: Vec<VariantReview>,
    /// Console actions, oldest first.
    pub actions: Vec<ActionRow>,
    /// Where a platform source may have lost messages, in time order.
    pub source_gaps: Vec<GapReview>,
    /// Paid comments (醒目留言), in time order (at most [`MAX_SUPER_CHATS`](super::MAX_SUPER_CHATS)).
    pub super_chats: Vec<SuperChatReview>,
    /// Fan medals worn by commenters, most comments first (at most [`TOP_MEDALS`](super::TOP_MEDALS)).
    pub fan_medals: Vec<MedalReview>,
    /// Who was in the room: segments and a clustering of the viewers' profiles.
    pub audience: AudienceReview,
    /// The closed loop: how each script variant did.
    pub experiments: ExperimentReview,
}

/// A stretch in which a platform source may have lost messages.
#[derive(Debug, Clone, Serialize)]
pub struct GapReview {
    /// The source's name in its room, and its kind.
    pub source: String,
    pub kind: String,
    pub from: i64,
    pub to: i64,
    pub duration_s: f64,
    /// `disconnected`, `sequence` (the platform's numbering skipped) or `not_connected`.
    pub reason: String,
    /// For `sequence`: numbered messages skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<u64>,
    /// The sentence the review shows, in the review's local time:
    /// `messages may be missing 20:14–20:16 (bilibili: disconnected)`.
    pub note: String,
}

/// A paid comment.
#[derive(Debug, Clone, Serialize)]
pub struct SuperChatReview {
    pub at: i64,
    pub price_cny: f64,
    /// Masked text; null when the session kept no text.
    pub text: Option<String>,
    pub viewer: Option<String>,
    pub product: Option<String>,
    pub key: Option<String>,
    pub medal: Option<String>,
    pub medal_level: Option<u32>,
}

/// A fan medal seen on comments.
#[derive(Debug, Clone, Serialize)]
pub struct MedalReview {
    /// The medal's (masked) name.
    pub name: String,
    pub comments: u64,
    /// Distinct viewers wearing it.
    pub viewers: u64,
    pub max_level: u32,
    pub mean_level: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoomRef {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SessionInfo {
    pub id: String,
    pub started_at: i64,
    /// When it ended; for an open session, when it was last heard of.
    pub ended_at: i64,
    pub duration_s: f64,
    /// `ended` (clean shutdown), `ended_unclean` (the process stopped without ending it), or
    /// `open` (still running, or stopped and not restarted yet).
    pub status: &'static str,
    /// Times the session continued after an unclean stop.
    pub resumed: u32,
    /// False when comment text was not stored (samples are then empty).
    pub keep_text: bool,
    /// Records lost to a full store queue (cues, cue states, actions; never acked events).
    pub dropped: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Sentiment {
    /// Mean score in [-1, 1]; null without comments.
    pub mean: Option<f64>,
    pub positive: u64,
    pub neutral: u64,
    pub negative: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub comments: u64,
    /// Distinct viewer pseudonyms among comments and events (comments without a viewer id
    /// are not counted).
    pub unique_viewers: u64,
    pub questions: u64,
    /// The busiest minute's comments.
    pub peak_rate_per_min: u64,
    /// Start of that minute (null without comments).
    pub peak_minute: Option<i64>,
    pub mean_rate_per_min: f64,
    pub sentiment: Sentiment,
    /// Comments with the `purchase` intent (已拍 / 下单了).
    pub purchase_signals: u64,
    pub complaints: u64,
    /// Order events, their total quantity and amount (yuan).
    pub orders: u64,
    pub order_quantity: u64,
    pub order_amount: f64,
    pub gifts: u64,
    pub gift_value: f64,
    pub likes: u64,
    pub enters: u64,
    pub follows: u64,
    pub cues: u64,
    /// Cues acknowledged or pinned by the operator.
    pub cues_acted: u64,
    pub cues_dismissed: u64,
    pub cues_expired: u64,
    /// Paid comments and what they cost (yuan; a source that also sends them as gifts counts
    /// the same money in `gift_value`).
    pub super_chats: u64,
    pub super_chat_value: f64,
    /// Comments from viewers wearing a fan medal.
    pub medal_comments: u64,
    /// Stretches where a platform source may have lost messages, and their total length.
    pub source_gaps: u64,
    pub source_gap_s: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct MinutePoint {
    /// Start of the minute, ms since the epoch.
    pub at: i64,
    pub comments: u64,
    pub questions: u64,
    /// Mean sentiment of the minute's comments; null without comments.
    pub sentiment: Option<f64>,
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

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Count {
    pub name: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PitchSpan {
    /// Product id, or null when nothing was pitched.
    pub product: Option<String>,
    pub from: i64,
    pub to: i64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ProductReview {
    pub id: String,
    /// Catalog name (empty for products not in the catalog).
    pub name: String,
    pub price: Option<f64>,
    /// Seconds it was the product being pitched.
    pub pitched_s: f64,
    /// Comments about it: named in the text, or product questions while it was pitched.
    pub mentions: u64,
    /// Of those, comments that named it.
    pub named: u64,
    /// Questions by topic (`size`, `price` …).
    pub questions: BTreeMap<String, u64>,
    pub questions_total: u64,
    /// Comments with the `purchase` intent about it.
    pub purchase_signals: u64,
    pub complaints: u64,
    /// Mean sentiment of the comments about it.
    pub sentiment: Option<f64>,
    pub negative: u64,
    /// Order events, quantity and amount for it.
    pub orders: u64,
    pub order_quantity: u64,
    pub order_amount: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct QuestionReview {
    /// `topic:product` (`size:2`; `_` when no product).
    pub key: String,
    pub topic: String,
    pub product: Option<String>,
    pub asks: u64,
    /// Distinct viewers who asked.
    pub askers: u64,
    pub first_at: i64,
    pub last_at: i64,
    /// When LiveCue first suggested answering it (an `answer_question` cue).
    pub cue_at: Option<i64>,
    /// When it was answered: marked answered, or its `answer_question` cue acknowledged.
    pub answered_at: Option<i64>,
    /// Seconds from the first ask to the answer.
    pub answer_s: Option<f64>,
    /// Asks after it was answered (the answer did not land, or new viewers came).
    pub asks_after_answer: u64,
    pub samples: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Peak {
    /// Start of the minute.
    pub at: i64,
    pub comments: u64,
    pub questions: u64,
    pub purchase: u64,
    pub sentiment: Option<f64>,
    /// The product being pitched at the start of the minute.
    pub pitching: Option<String>,
    pub samples: Vec<String>,
}

/// What happened in a window of time around a cue.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Window {
    /// Seconds of the window inside the session.
    pub seconds: f64,
    pub comments: u64,
    pub rate_per_min: f64,
    pub sentiment: Option<f64>,
    /// Comments with the `purchase` intent plus ordered quantity.
    pub purchase_signals: u64,
    pub orders: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CueReview {
    pub id: String,
    pub kind: String,
    pub product: Option<String>,
    pub text: String,
    pub reason: String,
    pub priority: u8,
    pub variant: Option<String>,
    pub created_at: i64,
    /// The cue's last state: `active`, `pinned`, `acked`, `dismissed`, `expired`.
    pub state: String,
    /// `acted` (acked), `pinned`, `dismissed`, `expired`, or `shown` (no outcome recorded).
    pub outcome: &'static str,
    /// When the operator acted on it (ack, pin, dismiss).
    pub acted_at: Option<i64>,
    /// Seconds from the cue to that action.
    pub response_s: Option<f64>,
    pub evidence: serde_json::Value,
    /// The [`EFFECT_WINDOW_S`](super::EFFECT_WINDOW_S) seconds before the cue and after it.
    pub before: Window,
    pub after: Window,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct VariantReview {
    pub kind: String,
    /// The script variant (tone); `default` for cues without one.
    pub variant: String,
    pub shown: u64,
    pub acted: u64,
    pub dismissed: u64,
    /// Mean change after vs before, over this group's cues.
    pub rate_change: Option<f64>,
    pub sentiment_change: Option<f64>,
    pub purchase_change: Option<f64>,
}
