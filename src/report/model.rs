//! The review as data: [`Review`] is what the JSON report is, and what the HTML and the small
//! CSV tables are drawn from. [`build()`] reads a session from the store in one pass over its
//! comments and one over its events (rows streamed, text borrowed), plus the small tables
//! (minutes, words, cues, actions), so a four-hour session of a million comments builds in
//! about a second or two.
//!
//! The parts: `types` the review's types (what the JSON is), `build` the
//! assembly, `pass` the one pass over comments and events, `timeline` the per-minute
//! timeline, pitching spans and peak minutes, `cues` the windows around cues and the script
//! variants.

use std::collections::HashMap;

mod build;
mod cues;
mod pass;
#[cfg(test)]
mod tests;
mod timeline;
mod types;

pub use build::build;
pub use types::{
    Count, CueReview, GapReview, MedalReview, MinutePoint, Peak, PitchSpan, ProductReview,
    QuestionReview, Review, RoomRef, Sentiment, SessionInfo, Summary, SuperChatReview,
    VariantReview, Window,
};

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
