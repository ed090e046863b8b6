//! Time in the review: what was pitched when, the per-minute timeline (gaps filled with
//! zeros) and the busiest minutes.

use super::types::{MinutePoint, PitchSpan};
use super::{MAX_TIMELINE, PEAKS, mean, round2};
use crate::store::{ActionRow, MinuteRow};

/// What was pitched when, from session starts/resumes and `set_pitching` actions.
pub(super) fn pitch_spans(actions: &[ActionRow], start: i64, end: i64) -> Vec<PitchSpan> {
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

/// The [`PEAKS`] busiest minutes (ties: the earlier).
pub(super) fn top_minutes(minutes: &[MinuteRow]) -> Vec<i64> {
    let mut v: Vec<&MinuteRow> = minutes.iter().filter(|m| m.comments > 0).collect();
    v.sort_by(|a, b| b.comments.cmp(&a.comments).then(a.at.cmp(&b.at)));
    v.into_iter().take(PEAKS).map(|m| m.at).collect()
}

pub(super) fn timeline(minutes: &[MinuteRow], start: i64, end: i64) -> Vec<MinutePoint> {
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
