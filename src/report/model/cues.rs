//! Cues in the review: per-second sums and the windows they give before and after each cue,
//! each cue's outcome, and the cues grouped by kind and script variant.

use std::collections::BTreeMap;

use super::types::{CueReview, VariantReview, Window};
use super::{EFFECT_WINDOW_S, mean, round2};
use crate::store::CueRow;

/// Per-second sums, for windows around cues.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Second {
    pub(super) comments: u32,
    pub(super) sentiment: f32,
    pub(super) purchase: u32,
    pub(super) orders: u32,
}

pub(super) struct Prefix {
    /// Cumulative sums; `sums[i]` covers seconds `0..i`.
    sums: Vec<(u64, f64, u64, u64)>,
}

impl Prefix {
    pub(super) fn new(seconds: &[Second]) -> Prefix {
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
    pub(super) fn window(&self, from: i64, to: i64) -> Window {
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

pub(super) fn cue_review(c: &CueRow, seconds: &Prefix, start: i64, end: i64) -> CueReview {
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

pub(super) fn variants(cues: &[CueReview]) -> Vec<VariantReview> {
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
