//! Sliding windows over a room's traffic: one bucket per second, the last five minutes kept.
//!
//! Each bucket counts what arrived in its second (comments, sentiment, intents, per-product
//! demand, gifts, orders). A window of 10 s, 60 s or 5 min is the sum of its buckets, computed
//! when asked (a few times a second), so adding an event is O(1) and memory is fixed whatever
//! the stream's length. Buckets are stamped with their second and reset when reused.

use serde::Serialize;

use crate::analyze::{Intent, Label, Topic};

/// Seconds of history kept; the longest window.
pub const HISTORY_S: usize = 300;

/// Per-product demand in a bucket or window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Demand {
    /// Comments about the product (explicitly or, for product intents, the pitched one).
    pub mentions: u32,
    /// Questions about it, by topic (indexed like [`Topic::QUESTIONS`]).
    #[serde(skip)]
    pub questions: [u32; Topic::QUESTIONS.len()],
    pub purchase: u32,
    pub complaints: u32,
    pub orders: u32,
    pub order_amount: f64,
    #[serde(skip)]
    pub sentiment_sum: f32,
}

impl Demand {
    pub fn question_total(&self) -> u32 {
        self.questions.iter().sum()
    }

    fn add(&mut self, o: &Demand) {
        self.mentions += o.mentions;
        for (a, b) in self.questions.iter_mut().zip(o.questions) {
            *a += b;
        }
        self.purchase += o.purchase;
        self.complaints += o.complaints;
        self.orders += o.orders;
        self.order_amount += o.order_amount;
        self.sentiment_sum += o.sentiment_sum;
    }
}

/// Counts for one second, or summed over a window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    pub comments: u32,
    pub sentiment_sum: f32,
    pub positive: u32,
    pub neutral: u32,
    pub negative: u32,
    pub questions: u32,
    pub intents: [u32; Intent::ALL.len()],
    pub gifts: u32,
    pub gift_value: f64,
    pub likes: u64,
    pub enters: u32,
    pub follows: u32,
    pub orders: u32,
    pub order_amount: f64,
    /// Indexed like the room's catalog.
    pub products: Vec<Demand>,
}

impl Counts {
    fn reset(&mut self, products: usize) {
        let mut kept = std::mem::take(&mut self.products);
        kept.clear();
        kept.resize(products, Demand::default());
        *self = Counts {
            products: kept,
            ..Counts::default()
        };
    }

    fn add(&mut self, o: &Counts) {
        self.comments += o.comments;
        self.sentiment_sum += o.sentiment_sum;
        self.positive += o.positive;
        self.neutral += o.neutral;
        self.negative += o.negative;
        self.questions += o.questions;
        for (a, b) in self.intents.iter_mut().zip(o.intents) {
            *a += b;
        }
        self.gifts += o.gifts;
        self.gift_value += o.gift_value;
        self.likes += o.likes;
        self.enters += o.enters;
        self.follows += o.follows;
        self.orders += o.orders;
        self.order_amount += o.order_amount;
        if self.products.len() < o.products.len() {
            self.products.resize(o.products.len(), Demand::default());
        }
        for (a, b) in self.products.iter_mut().zip(&o.products) {
            a.add(b);
        }
    }

    /// Records one analyzed comment.
    pub fn comment(&mut self, score: f32, label: Label, question: bool, intents: &[Intent]) {
        self.comments += 1;
        self.sentiment_sum += score;
        match label {
            Label::Positive => self.positive += 1,
            Label::Neutral => self.neutral += 1,
            Label::Negative => self.negative += 1,
        }
        self.questions += u32::from(question);
        for i in intents {
            self.intents[*i as usize] += 1;
        }
    }

    /// Mean sentiment score of the comments, 0 when there are none.
    pub fn sentiment_mean(&self) -> f32 {
        if self.comments == 0 {
            0.0
        } else {
            self.sentiment_sum / self.comments as f32
        }
    }

    /// Share of comments that are negative, 0 when there are none.
    pub fn negative_share(&self) -> f32 {
        if self.comments == 0 {
            0.0
        } else {
            self.negative as f32 / self.comments as f32
        }
    }
}

/// The last [`HISTORY_S`] seconds of a room, one bucket a second.
#[derive(Debug)]
pub struct Windows {
    buckets: Vec<(i64, Counts)>,
    products: usize,
}

impl Windows {
    pub fn new(products: usize) -> Windows {
        Windows {
            buckets: vec![(i64::MIN, Counts::default()); HISTORY_S],
            products,
        }
    }

    /// The bucket for the second containing `now_ms`, reset if it held an older second.
    pub fn at(&mut self, now_ms: i64) -> &mut Counts {
        let second = now_ms.div_euclid(1000);
        let slot = second.rem_euclid(HISTORY_S as i64) as usize;
        let (stamp, counts) = &mut self.buckets[slot];
        if *stamp != second {
            *stamp = second;
            counts.reset(self.products);
        }
        counts
    }

    /// What the room did in the second containing `at_ms` (nothing when that second is no
    /// longer, or not yet, kept): the closed loop's outcome measure.
    pub fn activity(&self, at_ms: i64) -> crate::experiment::Activity {
        let second = at_ms.div_euclid(1000);
        let slot = second.rem_euclid(HISTORY_S as i64) as usize;
        match &self.buckets[slot] {
            (stamp, c) if *stamp == second => crate::experiment::Activity {
                comments: c.comments,
                purchase: c.intents[Intent::Purchase as usize],
                orders: c.orders,
                link: c.intents[Intent::AskLink as usize],
                sentiment_sum: c.sentiment_sum,
            },
            _ => crate::experiment::Activity::default(),
        }
    }

    /// Sum of the last `seconds` seconds up to and including the second of `now_ms`.
    pub fn sum(&self, now_ms: i64, seconds: usize) -> Counts {
        self.sum_range(now_ms, 0, seconds)
    }

    /// Sum of seconds `[now - skip - seconds, now - skip)`: a window that ended `skip` seconds ago.
    pub fn sum_range(&self, now_ms: i64, skip: usize, seconds: usize) -> Counts {
        let now = now_ms.div_euclid(1000);
        let mut total = Counts::default();
        total.products.resize(self.products, Demand::default());
        let seconds = seconds.min(HISTORY_S.saturating_sub(skip));
        for back in skip..skip + seconds {
            let second = now - back as i64;
            let slot = second.rem_euclid(HISTORY_S as i64) as usize;
            let (stamp, counts) = &self.buckets[slot];
            if *stamp == second {
                total.add(counts);
            }
        }
        total
    }

    /// Comments per second over each of the last `seconds` seconds, oldest first (for charts).
    pub fn rate_series(&self, now_ms: i64, seconds: usize) -> Vec<u32> {
        let now = now_ms.div_euclid(1000);
        (0..seconds.min(HISTORY_S))
            .rev()
            .map(|back| {
                let second = now - back as i64;
                let (stamp, counts) = &self.buckets[second.rem_euclid(HISTORY_S as i64) as usize];
                if *stamp == second { counts.comments } else { 0 }
            })
            .collect()
    }

    /// Number of products each bucket tracks.
    pub fn products(&self) -> usize {
        self.products
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_sum_their_seconds_and_forget_old_ones() {
        let mut w = Windows::new(2);
        let t0 = 1_763_900_000_000;
        for s in 0..400 {
            let c = w.at(t0 + s * 1000);
            c.comment(0.5, Label::Positive, false, &[Intent::Praise]);
            c.products[1].mentions += 1;
        }
        let now = t0 + 399 * 1000;
        assert_eq!(w.sum(now, 10).comments, 10);
        assert_eq!(w.sum(now, 60).comments, 60);
        assert_eq!(w.sum(now, 300).comments, 300);
        assert_eq!(w.sum(now, 10).products[1].mentions, 10);
        assert_eq!(w.sum_range(now, 10, 10).comments, 10);
        // Ten quiet seconds later the 10 s window is empty.
        assert_eq!(w.sum(now + 10_000, 10).comments, 0);
        assert_eq!(w.rate_series(now, 5), vec![1, 1, 1, 1, 1]);
    }

    #[test]
    fn activity_reads_one_kept_second() {
        let mut w = Windows::new(1);
        let t0 = 1_763_900_000_000;
        let c = w.at(t0 + 500);
        c.comment(0.5, Label::Positive, false, &[Intent::Purchase]);
        c.comment(-0.5, Label::Negative, true, &[Intent::AskLink]);
        c.orders += 3;
        let a = w.activity(t0 + 999);
        assert_eq!((a.comments, a.purchase, a.link, a.orders), (2, 1, 1, 3));
        assert_eq!(a.sentiment_sum, 0.0);
        // The second after, and the same slot a ring later, are empty.
        assert_eq!(w.activity(t0 + 1_000).comments, 0);
        assert_eq!(w.activity(t0 + HISTORY_S as i64 * 1000).comments, 0);
    }
}
