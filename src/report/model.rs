//! The review as data: [`Review`] is what the JSON report is, and what the HTML and the small
//! CSV tables are drawn from. [`build`] reads a session from the store in one pass over its
//! comments and one over its events (rows streamed, text borrowed), plus the small tables
//! (minutes, words, cues, actions), so a four-hour session of a million comments builds in
//! about a second or two.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault};

use rustc_hash::FxHasher;
use serde::Serialize;

use super::audience::{AudienceReview, ExperimentReview};
use super::{Progress, ReportError};
use crate::config::Product;
use crate::store::{ActionRow, CueRow, INTENTS, MinuteRow, Reader, SessionRow, intent_bit};

/// The JSON schema's name and version; bumped only for incompatible changes.
pub const SCHEMA: &str = "livecue.review/1";
/// Seconds before and after a cue compared in the cue log.
pub const EFFECT_WINDOW_S: i64 = 120;
/// Question clusters listed (most asked first).
pub const TOP_QUESTIONS: usize = 50;
/// Hot words listed.
pub const TOP_WORDS: usize = 40;
/// Peak minutes listed.
pub const PEAKS: usize = 5;
/// Sample comments per question cluster and per peak minute.
const SAMPLES: usize = 3;
const PEAK_SAMPLES: usize = 5;
/// Longest session (in seconds) analyzed at one-second resolution; beyond, times are clamped.
const MAX_SECONDS: i64 = 31 * 86_400;
/// Longest gap-filled timeline, in minutes.
const MAX_TIMELINE: i64 = 14 * 1440;
/// Super chats listed (the first of the session, in time order); all are counted.
pub const MAX_SUPER_CHATS: usize = 500;
/// Fan medals listed.
pub const TOP_MEDALS: usize = 20;

/// The whole review of one session.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    /// [`SCHEMA`].
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
    /// Paid comments (醒目留言), in time order (at most [`MAX_SUPER_CHATS`]).
    pub super_chats: Vec<SuperChatReview>,
    /// Fan medals worn by commenters, most comments first (at most [`TOP_MEDALS`]).
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
    /// The [`EFFECT_WINDOW_S`] seconds before the cue and after it.
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

/// Builds the review of a room's session (`session` id, or the room's latest).
pub fn build(
    reader: &Reader,
    room: &str,
    session: Option<&str>,
    tz_offset_min: i32,
    progress: &mut dyn FnMut(Progress),
) -> Result<Review, ReportError> {
    let s = reader
        .session(room, session)?
        .ok_or_else(|| ReportError::NoSession {
            room: room.to_owned(),
            session: session.map(str::to_owned),
        })?;
    let counts = reader.counts(&s)?;
    let catalog: Vec<Product> = serde_json::from_str(&s.catalog).unwrap_or_default();
    let start = s.started_at;
    let end = s.end().max(start);
    let minutes = reader.minutes(&s)?;
    let actions = reader.actions(&s)?;
    let cue_rows = reader.cues(&s)?;
    let pitching = pitch_spans(&actions, start, end);
    let answers = answer_times(&actions, &cue_rows);
    let mut cue_at: HashMap<String, i64> = HashMap::new();
    for c in &cue_rows {
        if c.kind == "answer_question"
            && let Some(key) = c.evidence.get("key").and_then(|k| k.as_str())
        {
            cue_at
                .entry(key.to_owned())
                .and_modify(|t| *t = (*t).min(c.created_at))
                .or_insert(c.created_at);
        }
    }
    let peak_minutes = top_minutes(&minutes);
    let mut pass = Pass::new(&s, &catalog, &answers, &peak_minutes);
    progress(Progress {
        done: 0,
        total: counts.comments,
    });
    let mut seen = 0u64;
    reader.for_each_comment(&s, |c| {
        pass.comment(c);
        seen += 1;
        if seen % 100_000 == 0 {
            progress(Progress {
                done: seen,
                total: counts.comments,
            });
        }
    })?;
    progress(Progress {
        done: seen,
        total: counts.comments,
    });
    reader.for_each_event(&s, |e| pass.event(e))?;
    let words = reader.words(&s, TOP_WORDS)?;
    let audience = super::audience::audience(&reader.profiles(&s)?, end);
    let experiments = super::audience::experiments(reader.exposures(&s)?);
    let source_gaps: Vec<GapReview> = reader
        .gaps(&s)?
        .into_iter()
        .map(|g| gap_review(g, tz_offset_min))
        .collect();

    let timeline = timeline(&minutes, start, end);
    let seconds = Prefix::new(&pass.seconds);
    let cues: Vec<CueReview> = cue_rows
        .iter()
        .map(|c| cue_review(c, &seconds, start, end))
        .collect();
    let variants = variants(&cues);

    let mut summary = pass.summary.clone();
    summary.order_amount = round2(summary.order_amount);
    summary.gift_value = round2(summary.gift_value);
    summary.unique_viewers = pass.viewers.len() as u64;
    let peak = minutes
        .iter()
        .max_by(|a, b| a.comments.cmp(&b.comments).then(b.at.cmp(&a.at)));
    summary.peak_rate_per_min = peak.map_or(0, |m| m.comments);
    summary.peak_minute = peak.filter(|m| m.comments > 0).map(|m| m.at);
    let duration_min = ((end - start) as f64 / 60_000.0).max(1.0);
    summary.mean_rate_per_min = round2(summary.comments as f64 / duration_min);
    summary.sentiment.mean = mean(pass.sentiment_sum, summary.comments);
    summary.cues = cues.len() as u64;
    summary.cues_acted = cues
        .iter()
        .filter(|c| matches!(c.outcome, "acted" | "pinned"))
        .count() as u64;
    summary.cues_dismissed = cues.iter().filter(|c| c.outcome == "dismissed").count() as u64;
    summary.cues_expired = cues.iter().filter(|c| c.outcome == "expired").count() as u64;
    summary.super_chat_value = round2(summary.super_chat_value);
    summary.source_gaps = source_gaps.len() as u64;
    summary.source_gap_s = round2(source_gaps.iter().map(|g| g.duration_s).sum());
    let fan_medals = pass.medals();

    let intents = INTENTS
        .iter()
        .zip(pass.intents.iter())
        .filter(|(_, n)| **n > 0)
        .map(|(l, n)| Count {
            name: (*l).to_owned(),
            count: *n,
        })
        .collect();
    let complaints = sorted_counts(pass.complaint_topics.clone());

    let mut products = pass.products_in_order(&catalog);
    for p in &mut products {
        p.pitched_s = pitching
            .iter()
            .filter(|span| span.product.as_deref() == Some(p.id.as_str()))
            .map(|span| (span.to - span.from) as f64 / 1000.0)
            .sum();
        p.pitched_s = round2(p.pitched_s);
    }

    let mut questions: Vec<QuestionReview> = pass
        .clusters
        .into_iter()
        .map(|(key, c)| {
            let answered_at = answers.get(&key).copied();
            QuestionReview {
                topic: key.split(':').next().unwrap_or("").to_owned(),
                product: key
                    .split_once(':')
                    .map(|(_, p)| p)
                    .filter(|p| *p != "_")
                    .map(str::to_owned),
                asks: c.asks,
                askers: c.askers.len() as u64 + c.anonymous,
                first_at: c.first_at,
                last_at: c.last_at,
                cue_at: cue_at.get(&key).copied(),
                answered_at,
                answer_s: answered_at.map(|a| round2((a - c.first_at).max(0) as f64 / 1000.0)),
                asks_after_answer: c.after_answer,
                samples: c.samples,
                key,
            }
        })
        .collect();
    questions.sort_by(|a, b| b.asks.cmp(&a.asks).then_with(|| a.key.cmp(&b.key)));
    questions.truncate(TOP_QUESTIONS);

    let peaks = peak_minutes
        .iter()
        .filter_map(|at| minutes.iter().find(|m| m.at == *at))
        .map(|m| Peak {
            at: m.at,
            comments: m.comments,
            questions: m.questions,
            purchase: m.purchase,
            sentiment: mean(m.sentiment_sum, m.comments),
            pitching: pitching
                .iter()
                .find(|span| span.from <= m.at && m.at < span.to)
                .or_else(|| pitching.iter().rev().find(|span| span.from <= m.at))
                .and_then(|span| span.product.clone()),
            samples: pass
                .peak_samples
                .remove(&m.at)
                .map(PeakSamples::take)
                .unwrap_or_default(),
        })
        .collect();

    Ok(Review {
        schema: SCHEMA,
        generated_at: crate::store::now_ms(),
        tz_offset_min,
        room: RoomRef {
            id: s.room.clone(),
            name: s.room_name.clone(),
        },
        session: SessionInfo {
            id: s.id.clone(),
            started_at: start,
            ended_at: end,
            duration_s: round2((end - start) as f64 / 1000.0),
            status: match (s.ended_at, s.clean_end) {
                (Some(_), true) => "ended",
                (Some(_), false) => "ended_unclean",
                (None, _) => "open",
            },
            resumed: s.resumed,
            keep_text: s.keep_text,
            dropped: s.dropped,
        },
        summary,
        timeline,
        intents,
        complaints,
        pitching,
        products,
        questions,
        hot_words: words
            .into_iter()
            .map(|(name, count)| Count { name, count })
            .collect(),
        peaks,
        cues,
        variants,
        actions,
        source_gaps,
        super_chats: pass.super_chats,
        fan_medals,
        audience,
        experiments,
    })
}

/// What the review says about one gap.
fn gap_review(g: crate::store::GapRow, tz: i32) -> GapReview {
    let (from, to) = (g.from, g.to.max(g.from));
    let why = match (g.reason.as_str(), g.missing) {
        ("sequence", Some(n)) => format!("{n} numbered messages skipped"),
        ("sequence", None) => "numbered messages skipped".to_owned(),
        ("not_connected", _) => "not connected".to_owned(),
        (other, _) => other.to_owned(),
    };
    GapReview {
        note: format!(
            "messages may be missing {}–{} ({}: {why})",
            super::clock(from, tz),
            super::clock(to, tz),
            g.source
        ),
        duration_s: round2((to - from) as f64 / 1000.0),
        source: g.source,
        kind: g.kind,
        from,
        to,
        reason: g.reason,
        missing: g.missing,
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn mean(sum: f64, n: u64) -> Option<f64> {
    (n > 0).then(|| (sum / n as f64 * 1000.0).round() / 1000.0)
}

fn sorted_counts(map: HashMap<String, u64>) -> Vec<Count> {
    let mut v: Vec<Count> = map
        .into_iter()
        .map(|(name, count)| Count { name, count })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    v
}

/// What was pitched when, from session starts/resumes and `set_pitching` actions.
fn pitch_spans(actions: &[ActionRow], start: i64, end: i64) -> Vec<PitchSpan> {
    let mut spans: Vec<PitchSpan> = Vec::new();
    for a in actions {
        let product = match a.kind.as_str() {
            "set_pitching" | "session_start" | "session_resume" => a.target.clone(),
            _ => continue,
        };
        let at = a.at.clamp(start, end);
        if let Some(last) = spans.last_mut() {
            last.to = at;
            if last.product == product {
                continue;
            }
        }
        spans.push(PitchSpan {
            product,
            from: at,
            to: end,
        });
    }
    spans.retain(|s| s.to > s.from || s.to == end);
    spans
}

/// When each question key was answered: `mark_answered`, or an `answer_question` cue acked.
fn answer_times(actions: &[ActionRow], cues: &[CueRow]) -> HashMap<String, i64> {
    let cue_key = |id: &str| -> Option<String> {
        cues.iter()
            .rev()
            .find(|c| c.id == id && c.kind == "answer_question")
            .and_then(|c| c.evidence.get("key")?.as_str().map(str::to_owned))
    };
    let mut answered: HashMap<String, i64> = HashMap::new();
    let mut note = |key: String, at: i64| {
        answered
            .entry(key)
            .and_modify(|t| *t = (*t).min(at))
            .or_insert(at);
    };
    for a in actions {
        match (a.kind.as_str(), &a.target) {
            ("mark_answered", Some(key)) => note(key.clone(), a.at),
            ("ack_cue", Some(id)) => {
                if let Some(key) = cue_key(id) {
                    note(key, a.at);
                }
            }
            _ => {}
        }
    }
    // An ack whose action record was lost still shows in the cue's state.
    for c in cues {
        if c.kind == "answer_question"
            && c.state == "acked"
            && let (Some(at), Some(key)) =
                (c.state_at, c.evidence.get("key").and_then(|k| k.as_str()))
        {
            note(key.to_owned(), at);
        }
    }
    answered
}

/// The [`PEAKS`] busiest minutes (ties: the earlier).
fn top_minutes(minutes: &[MinuteRow]) -> Vec<i64> {
    let mut v: Vec<&MinuteRow> = minutes.iter().filter(|m| m.comments > 0).collect();
    v.sort_by(|a, b| b.comments.cmp(&a.comments).then(a.at.cmp(&b.at)));
    v.into_iter().take(PEAKS).map(|m| m.at).collect()
}

fn timeline(minutes: &[MinuteRow], start: i64, end: i64) -> Vec<MinutePoint> {
    let point = |m: &MinuteRow| MinutePoint {
        at: m.at,
        comments: m.comments,
        questions: m.questions,
        sentiment: mean(m.sentiment_sum, m.comments),
        positive: m.positive,
        negative: m.negative,
        purchase: m.purchase,
        complaints: m.complaints,
        gifts: m.gifts,
        gift_value: round2(m.gift_value),
        likes: m.likes,
        enters: m.enters,
        follows: m.follows,
        orders: m.orders,
        order_amount: round2(m.order_amount),
    };
    let first = start
        .div_euclid(60_000)
        .min(minutes.first().map_or(i64::MAX, |m| m.at / 60_000));
    let last = end
        .div_euclid(60_000)
        .max(minutes.last().map_or(i64::MIN, |m| m.at / 60_000));
    if last - first > MAX_TIMELINE {
        return minutes.iter().map(point).collect();
    }
    let mut out = Vec::with_capacity((last - first + 1) as usize);
    let mut it = minutes.iter().peekable();
    for minute in first..=last {
        match it.peek() {
            Some(m) if m.at / 60_000 == minute => {
                out.push(point(m));
                it.next();
            }
            _ => out.push(MinutePoint {
                at: minute * 60_000,
                ..MinutePoint::default()
            }),
        }
    }
    out
}

/// Per-second sums, for windows around cues.
#[derive(Debug, Default, Clone, Copy)]
struct Second {
    comments: u32,
    sentiment: f32,
    purchase: u32,
    orders: u32,
}

struct Prefix {
    /// Cumulative sums; `sums[i]` covers seconds `0..i`.
    sums: Vec<(u64, f64, u64, u64)>,
}

impl Prefix {
    fn new(seconds: &[Second]) -> Prefix {
        let mut sums = Vec::with_capacity(seconds.len() + 1);
        let mut acc = (0u64, 0f64, 0u64, 0u64);
        sums.push(acc);
        for s in seconds {
            acc.0 += u64::from(s.comments);
            acc.1 += f64::from(s.sentiment);
            acc.2 += u64::from(s.purchase);
            acc.3 += u64::from(s.orders);
            sums.push(acc);
        }
        Prefix { sums }
    }

    /// Seconds `from..to` (indexes, clamped).
    fn window(&self, from: i64, to: i64) -> Window {
        let n = (self.sums.len() - 1) as i64;
        let (a, b) = (from.clamp(0, n) as usize, to.clamp(0, n) as usize);
        if b <= a {
            return Window::default();
        }
        let (lo, hi) = (self.sums[a], self.sums[b]);
        let comments = hi.0 - lo.0;
        let seconds = (b - a) as f64;
        Window {
            seconds,
            comments,
            rate_per_min: round2(comments as f64 * 60.0 / seconds),
            sentiment: mean(hi.1 - lo.1, comments),
            purchase_signals: (hi.2 - lo.2) + (hi.3 - lo.3),
            orders: hi.3 - lo.3,
        }
    }
}

fn cue_review(c: &CueRow, seconds: &Prefix, start: i64, end: i64) -> CueReview {
    let at = (c.created_at - start).div_euclid(1000);
    let last = (end - start).div_euclid(1000) + 1;
    let outcome = match c.state.as_str() {
        "acked" => "acted",
        "pinned" => "pinned",
        "dismissed" => "dismissed",
        "expired" => "expired",
        _ => "shown",
    };
    let acted_at = matches!(outcome, "acted" | "pinned" | "dismissed")
        .then_some(c.state_at)
        .flatten();
    CueReview {
        id: c.id.clone(),
        kind: c.kind.clone(),
        product: c.product.clone(),
        text: c.text.clone(),
        reason: c.reason.clone(),
        priority: c.priority,
        variant: c.variant.clone(),
        created_at: c.created_at,
        state: c.state.clone(),
        outcome,
        acted_at,
        response_s: acted_at.map(|a| round2((a - c.created_at).max(0) as f64 / 1000.0)),
        evidence: c.evidence.clone(),
        before: seconds.window(at - EFFECT_WINDOW_S, at),
        after: seconds.window(at, (at + EFFECT_WINDOW_S).min(last)),
    }
}

fn variants(cues: &[CueReview]) -> Vec<VariantReview> {
    #[derive(Default)]
    struct Acc {
        review: VariantReview,
        rate: (f64, u32),
        sentiment: (f64, u32),
        purchase: (f64, u32),
    }
    let mut groups: BTreeMap<(String, String), Acc> = BTreeMap::new();
    for c in cues {
        let variant = c.variant.clone().unwrap_or_else(|| "default".into());
        let acc = groups.entry((c.kind.clone(), variant)).or_default();
        acc.review.shown += 1;
        acc.review.acted += u64::from(matches!(c.outcome, "acted" | "pinned"));
        acc.review.dismissed += u64::from(c.outcome == "dismissed");
        if c.before.seconds > 0.0 && c.after.seconds > 0.0 {
            acc.rate.0 += c.after.rate_per_min - c.before.rate_per_min;
            acc.rate.1 += 1;
            acc.purchase.0 += c.after.purchase_signals as f64 - c.before.purchase_signals as f64;
            acc.purchase.1 += 1;
            if let (Some(a), Some(b)) = (c.after.sentiment, c.before.sentiment) {
                acc.sentiment.0 += a - b;
                acc.sentiment.1 += 1;
            }
        }
    }
    let avg =
        |(sum, n): (f64, u32)| (n > 0).then(|| (sum / f64::from(n) * 1000.0).round() / 1000.0);
    groups
        .into_iter()
        .map(|((kind, variant), acc)| VariantReview {
            kind,
            variant,
            rate_change: avg(acc.rate),
            sentiment_change: avg(acc.sentiment),
            purchase_change: avg(acc.purchase),
            ..acc.review
        })
        .collect()
}

type Fx = BuildHasherDefault<FxHasher>;

fn hash(s: &str) -> u64 {
    Fx::default().hash_one(s)
}

struct Cluster {
    asks: u64,
    askers: HashSet<u64, Fx>,
    anonymous: u64,
    first_at: i64,
    last_at: i64,
    after_answer: u64,
    samples: Vec<String>,
}

#[derive(Default)]
struct PeakSamples {
    primary: Vec<String>,
    chatter: Vec<String>,
}

impl PeakSamples {
    fn take(mut self) -> Vec<String> {
        self.primary.extend(self.chatter);
        self.primary.truncate(PEAK_SAMPLES);
        self.primary
    }
}

#[derive(Default)]
struct ProductAcc {
    review: ProductReview,
    sentiment_sum: f64,
}

/// The one pass over comments and events.
struct Pass<'a> {
    start: i64,
    answers: &'a HashMap<String, i64>,
    summary: Summary,
    sentiment_sum: f64,
    viewers: HashSet<u64, Fx>,
    intents: [u64; 17],
    complaint_topics: HashMap<String, u64>,
    products: HashMap<String, ProductAcc>,
    clusters: HashMap<String, Cluster>,
    peak_samples: HashMap<i64, PeakSamples>,
    seconds: Vec<Second>,
    bits: Bits,
    super_chats: Vec<SuperChatReview>,
    medals: HashMap<String, MedalAcc>,
}

#[derive(Default)]
struct MedalAcc {
    comments: u64,
    viewers: HashSet<u64, Fx>,
    max_level: u32,
    level_sum: u64,
}

struct Bits {
    purchase: u32,
    complaint: u32,
    chatter: u32,
    spam: u32,
}

impl<'a> Pass<'a> {
    fn new(
        s: &SessionRow,
        catalog: &[Product],
        answers: &'a HashMap<String, i64>,
        peaks: &[i64],
    ) -> Pass<'a> {
        let len = ((s.end() - s.started_at).div_euclid(1000) + 1).clamp(1, MAX_SECONDS) as usize;
        let bit = |l| intent_bit(l).unwrap_or(0);
        let mut products = HashMap::new();
        for p in catalog {
            products.insert(
                p.id.clone(),
                ProductAcc {
                    review: ProductReview {
                        id: p.id.clone(),
                        name: p.name.clone(),
                        price: p.price,
                        ..ProductReview::default()
                    },
                    sentiment_sum: 0.0,
                },
            );
        }
        Pass {
            start: s.started_at,
            answers,
            summary: Summary::default(),
            sentiment_sum: 0.0,
            viewers: HashSet::default(),
            intents: [0; 17],
            complaint_topics: HashMap::new(),
            products,
            clusters: HashMap::new(),
            peak_samples: peaks
                .iter()
                .map(|at| (*at, PeakSamples::default()))
                .collect(),
            seconds: vec![Second::default(); len],
            bits: Bits {
                purchase: bit("purchase"),
                complaint: bit("complaint"),
                chatter: bit("chatter"),
                spam: bit("spam"),
            },
            super_chats: Vec::new(),
            medals: HashMap::new(),
        }
    }

    /// The fan medals, most comments first.
    fn medals(&mut self) -> Vec<MedalReview> {
        let mut v: Vec<MedalReview> = self
            .medals
            .drain()
            .map(|(name, acc)| MedalReview {
                name,
                comments: acc.comments,
                viewers: acc.viewers.len() as u64,
                max_level: acc.max_level,
                mean_level: round2(acc.level_sum as f64 / acc.comments.max(1) as f64),
            })
            .collect();
        v.sort_by(|a, b| {
            b.comments
                .cmp(&a.comments)
                .then_with(|| a.name.cmp(&b.name))
        });
        v.truncate(TOP_MEDALS);
        v
    }

    fn second(&mut self, at: i64) -> &mut Second {
        let i = (at - self.start)
            .div_euclid(1000)
            .clamp(0, self.seconds.len() as i64 - 1);
        &mut self.seconds[i as usize]
    }

    fn product(&mut self, id: &str) -> &mut ProductAcc {
        self.products
            .entry(id.to_owned())
            .or_insert_with(|| ProductAcc {
                review: ProductReview {
                    id: id.to_owned(),
                    ..ProductReview::default()
                },
                sentiment_sum: 0.0,
            })
    }

    fn comment(&mut self, c: &crate::store::CommentView<'_>) {
        let purchase = c.intents & self.bits.purchase != 0;
        let complaint = c.intents & self.bits.complaint != 0;
        let s = &mut self.summary;
        s.comments += 1;
        s.questions += u64::from(c.question);
        s.purchase_signals += u64::from(purchase);
        s.complaints += u64::from(complaint);
        match c.label {
            1 => s.sentiment.positive += 1,
            -1 => s.sentiment.negative += 1,
            _ => s.sentiment.neutral += 1,
        }
        self.sentiment_sum += f64::from(c.sentiment);
        if let Some(v) = c.viewer {
            self.viewers.insert(hash(v));
        }
        for (i, n) in self.intents.iter_mut().enumerate() {
            *n += u64::from(c.intents & (1 << i) != 0);
        }
        if complaint {
            *self
                .complaint_topics
                .entry(c.complaint.unwrap_or("general").to_owned())
                .or_default() += 1;
        }
        if let Some(price) = c.super_chat {
            s.super_chats += 1;
            s.super_chat_value += price;
            if self.super_chats.len() < MAX_SUPER_CHATS {
                self.super_chats.push(SuperChatReview {
                    at: c.at,
                    price_cny: round2(price),
                    text: c.text.map(str::to_owned),
                    viewer: c.viewer.map(str::to_owned),
                    product: c.product.map(str::to_owned),
                    key: c.key.map(str::to_owned),
                    medal: c.medal.map(str::to_owned),
                    medal_level: c.medal_level,
                });
            }
        }
        if let Some(name) = c.medal {
            self.summary.medal_comments += 1;
            let level = c.medal_level.unwrap_or(0);
            // Bounded: at most this many distinct medal names are tallied.
            if self.medals.len() < 1_000 || self.medals.contains_key(name) {
                let acc = self.medals.entry(name.to_owned()).or_default();
                acc.comments += 1;
                acc.max_level = acc.max_level.max(level);
                acc.level_sum += u64::from(level);
                if let Some(v) = c.viewer {
                    acc.viewers.insert(hash(v));
                }
            }
        }
        let second = self.second(c.at);
        second.comments += 1;
        second.sentiment += c.sentiment;
        second.purchase += u32::from(purchase);

        if let Some(id) = c.product {
            let p = self.product(id);
            p.review.mentions += 1;
            p.review.named += u64::from(c.named);
            p.review.purchase_signals += u64::from(purchase);
            p.review.complaints += u64::from(complaint);
            p.review.negative += u64::from(c.label < 0);
            p.sentiment_sum += f64::from(c.sentiment);
            if let Some(topic) = c.key.and_then(|k| k.split(':').next()) {
                *p.review.questions.entry(topic.to_owned()).or_default() += 1;
                p.review.questions_total += 1;
            }
        }

        if let Some(key) = c.key {
            let answered = self.answers.get(key).copied();
            let cluster = self
                .clusters
                .entry(key.to_owned())
                .or_insert_with(|| Cluster {
                    asks: 0,
                    askers: HashSet::default(),
                    anonymous: 0,
                    first_at: c.at,
                    last_at: c.at,
                    after_answer: 0,
                    samples: Vec::new(),
                });
            cluster.asks += 1;
            cluster.last_at = cluster.last_at.max(c.at);
            cluster.first_at = cluster.first_at.min(c.at);
            match c.viewer {
                Some(v) => {
                    cluster.askers.insert(hash(v));
                }
                None => cluster.anonymous += 1,
            }
            cluster.after_answer += u64::from(answered.is_some_and(|a| c.at > a));
            if let Some(text) = c.text
                && cluster.samples.len() < SAMPLES
                && !cluster.samples.iter().any(|t| t == text)
            {
                cluster.samples.push(text.to_owned());
            }
        }

        if !self.peak_samples.is_empty()
            && let Some(text) = c.text
            && c.intents & self.bits.spam == 0
            && let Some(p) = self
                .peak_samples
                .get_mut(&(c.at.div_euclid(60_000) * 60_000))
        {
            let list = if c.intents & !self.bits.chatter != 0 {
                &mut p.primary
            } else {
                &mut p.chatter
            };
            if list.len() < PEAK_SAMPLES && !list.iter().any(|t| t == text) {
                list.push(text.to_owned());
            }
        }
    }

    fn event(&mut self, e: &crate::store::EventView<'_>) {
        if let Some(v) = e.viewer {
            self.viewers.insert(hash(v));
        }
        let count = u64::from(e.count);
        let s = &mut self.summary;
        match e.kind {
            "gift" => {
                s.gifts += count;
                s.gift_value += e.value;
            }
            "like" => s.likes += count,
            "enter" => s.enters += 1,
            "follow" => s.follows += 1,
            "order" => {
                s.orders += 1;
                s.order_quantity += count;
                s.order_amount += e.value;
                self.second(e.at).orders += e.count;
                if let Some(id) = e.product {
                    let p = self.product(id);
                    p.review.orders += 1;
                    p.review.order_quantity += count;
                    p.review.order_amount += e.value;
                }
            }
            _ => {}
        }
    }

    /// Catalog products in catalog order, then the others by id.
    fn products_in_order(&mut self, catalog: &[Product]) -> Vec<ProductReview> {
        let finish = |mut acc: ProductAcc| {
            acc.review.sentiment = mean(acc.sentiment_sum, acc.review.mentions);
            acc.review.order_amount = round2(acc.review.order_amount);
            acc.review
        };
        let mut out = Vec::with_capacity(self.products.len());
        for p in catalog {
            if let Some(acc) = self.products.remove(&p.id) {
                out.push(finish(acc));
            }
        }
        let mut rest: Vec<ProductAcc> = self.products.drain().map(|(_, a)| a).collect();
        rest.sort_by(|a, b| a.review.id.cmp(&b.review.id));
        out.extend(rest.into_iter().map(finish));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(at: i64, kind: &str, target: Option<&str>) -> ActionRow {
        ActionRow {
            at,
            kind: kind.into(),
            target: target.map(Into::into),
            command: serde_json::Value::Null,
        }
    }

    #[test]
    fn pitching_spans_cover_the_session() {
        let actions = [
            action(1_000, "session_start", Some("1")),
            action(5_000, "ack_cue", Some("c1")),
            action(61_000, "set_pitching", Some("2")),
            action(61_500, "set_pitching", Some("2")),
            action(121_000, "set_pitching", None),
        ];
        let spans = pitch_spans(&actions, 1_000, 181_000);
        let got: Vec<_> = spans
            .iter()
            .map(|s| (s.product.as_deref(), s.from, s.to))
            .collect();
        assert_eq!(
            got,
            [
                (Some("1"), 1_000, 61_000),
                (Some("2"), 61_000, 121_000),
                (None, 121_000, 181_000)
            ]
        );
    }

    #[test]
    fn windows_use_prefix_sums_and_clamp() {
        let mut seconds = vec![Second::default(); 300];
        for s in seconds.iter_mut().take(120) {
            s.comments = 1;
            s.sentiment = -0.5;
        }
        for s in seconds.iter_mut().skip(120).take(120) {
            s.comments = 2;
            s.sentiment = 1.0;
            s.purchase = 1;
        }
        let p = Prefix::new(&seconds);
        let before = p.window(0, 120);
        assert_eq!(before.comments, 120);
        assert_eq!(before.rate_per_min, 60.0);
        assert_eq!(before.sentiment, Some(-0.5));
        let after = p.window(120, 240);
        assert_eq!(after.comments, 240);
        assert_eq!(after.purchase_signals, 120);
        assert_eq!(after.sentiment, Some(0.5));
        // Before the start: only what is inside.
        assert_eq!(p.window(-100, 20).seconds, 20.0);
        assert_eq!(p.window(290, 400).seconds, 10.0);
        assert_eq!(p.window(400, 500), Window::default());
    }
}
