//! One viewer's in-room profile: what they did in this session, from room events only.

use serde::{Deserialize, Serialize};

use crate::analyze::Topic;

/// Products a profile remembers mentions of; the least mentioned gives way.
const PRODUCTS: usize = 6;

/// What LiveCue knows about one viewer (by pseudonym), built from this room's events only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Profile {
    /// Milliseconds since the epoch.
    pub first_seen: i64,
    pub last_seen: i64,
    /// Seen in an earlier session of this room.
    pub returning: bool,
    pub comments: u32,
    pub questions: u32,
    /// Questions by topic (indexed like [`Topic::QUESTIONS`]).
    pub asked: [u16; Topic::QUESTIONS.len()],
    /// When each topic was last asked (0: never).
    #[serde(skip)]
    pub asked_at: [i64; Topic::QUESTIONS.len()],
    /// Products mentioned, as (product id, mentions), most mentioned first.
    pub products: Vec<(String, u16)>,
    pub sentiment_sum: f32,
    pub complaints: u32,
    /// Complaints about price (太贵, 割韭菜).
    pub price_complaints: u32,
    pub purchase_signals: u32,
    pub gifts: u32,
    /// Yuan.
    pub gift_value: f64,
    pub likes: u32,
    pub orders: u32,
    /// Yuan.
    pub order_amount: f64,
    /// Fan club / medal level where the platform gives one.
    pub fan_level: Option<u8>,
    pub followed: bool,
}

/// What a comment contributes to its author's profile.
#[derive(Debug, Clone, Copy, Default)]
pub struct CommentFacts<'a> {
    pub topic: Option<Topic>,
    pub product: Option<&'a str>,
    pub sentiment: f32,
    pub question: bool,
    pub purchase: bool,
    pub complaint: bool,
    /// The complaint is about price.
    pub price_complaint: bool,
}

impl Profile {
    pub fn new(now: i64, returning: bool) -> Profile {
        Profile {
            first_seen: now,
            last_seen: now,
            returning,
            ..Profile::default()
        }
    }

    pub fn comment(&mut self, facts: &CommentFacts<'_>, now: i64) {
        self.seen(now);
        self.comments = self.comments.saturating_add(1);
        self.questions = self.questions.saturating_add(u32::from(facts.question));
        if let Some(i) = facts.topic.and_then(Topic::question_index) {
            self.asked[i] = self.asked[i].saturating_add(1);
            self.asked_at[i] = now;
        }
        if let Some(product) = facts.product {
            self.mention(product);
        }
        self.sentiment_sum += facts.sentiment;
        self.purchase_signals = self
            .purchase_signals
            .saturating_add(u32::from(facts.purchase));
        self.complaints = self.complaints.saturating_add(u32::from(facts.complaint));
        self.price_complaints = self
            .price_complaints
            .saturating_add(u32::from(facts.price_complaint));
    }

    fn mention(&mut self, product: &str) {
        if let Some(entry) = self.products.iter_mut().find(|(p, _)| p == product) {
            entry.1 = entry.1.saturating_add(1);
        } else if self.products.len() < PRODUCTS {
            self.products.push((product.to_string(), 1));
        } else if let Some(last) = self.products.last_mut() {
            *last = (product.to_string(), 1);
        }
        self.products.sort_by_key(|p| std::cmp::Reverse(p.1));
    }

    pub fn seen(&mut self, now: i64) {
        self.last_seen = self.last_seen.max(now);
    }

    pub fn gift(&mut self, count: u32, value: f64, now: i64) {
        self.seen(now);
        self.gifts = self.gifts.saturating_add(count);
        self.gift_value += value.max(0.0);
    }

    pub fn like(&mut self, count: u32, now: i64) {
        self.seen(now);
        self.likes = self.likes.saturating_add(count);
    }

    pub fn order(&mut self, quantity: u32, amount: f64, now: i64) {
        self.seen(now);
        self.orders = self.orders.saturating_add(quantity);
        self.order_amount += amount.max(0.0);
    }

    /// Mean sentiment of the viewer's comments (0 without comments).
    pub fn sentiment_mean(&self) -> f32 {
        if self.comments == 0 {
            0.0
        } else {
            self.sentiment_sum / self.comments as f32
        }
    }

    /// Whether the viewer asked about `topic` at or after `since`.
    pub fn asked_since(&self, topic: Topic, since: i64) -> bool {
        topic
            .question_index()
            .is_some_and(|i| self.asked[i] > 0 && self.asked_at[i] >= since)
    }

    /// Comments a minute over the time the viewer has been in the room (at least a minute).
    pub fn comment_rate(&self) -> f64 {
        let minutes = ((self.last_seen - self.first_seen) as f64 / 60_000.0).max(1.0);
        f64::from(self.comments) / minutes
    }

    /// Recency, frequency and monetary scores, each 1 (low) to 5 (high), in-room only:
    /// recency by minutes since last seen (≤1, ≤3, ≤10, ≤30, more), frequency by comments a
    /// minute (≥2, ≥1, ≥0.3, >0, none), monetary by yuan of gifts and orders (≥500, ≥100, ≥20,
    /// >0, none).
    pub fn rfm(&self, now: i64) -> [u8; 3] {
        let minutes = (now - self.last_seen).max(0) as f64 / 60_000.0;
        let r = match minutes {
            m if m <= 1.0 => 5,
            m if m <= 3.0 => 4,
            m if m <= 10.0 => 3,
            m if m <= 30.0 => 2,
            _ => 1,
        };
        let rate = self.comment_rate();
        let f = match rate {
            x if self.comments == 0 || x <= 0.0 => 1,
            x if x >= 2.0 => 5,
            x if x >= 1.0 => 4,
            x if x >= 0.3 => 3,
            _ => 2,
        };
        let money = self.gift_value + self.order_amount;
        let m = match money {
            x if x >= 500.0 => 5,
            x if x >= 100.0 => 4,
            x if x >= 20.0 => 3,
            x if x > 0.0 => 2,
            _ => 1,
        };
        [r, f, m]
    }

    /// The numeric features the review clusters viewers on, each scaled to about 0-1.
    pub fn features(&self, now: i64) -> [f64; FEATURES] {
        let share = |n: u16| {
            if self.questions == 0 {
                0.0
            } else {
                f64::from(n) / f64::from(self.questions)
            }
        };
        let topic = |t: Topic| t.question_index().map_or(0.0, |i| share(self.asked[i]));
        let [r, f, m] = self.rfm(now);
        [
            f64::from(r) / 5.0,
            f64::from(f) / 5.0,
            f64::from(m) / 5.0,
            (f64::from(self.comments) / 20.0).min(1.0),
            topic(Topic::Price) + topic(Topic::Discount),
            topic(Topic::Quality) + topic(Topic::Spec) + topic(Topic::Usage),
            topic(Topic::Link) + topic(Topic::Stock) + topic(Topic::Size),
            (f64::from(self.sentiment_mean()) + 1.0) / 2.0,
            f64::from(u8::from(self.purchase_signals > 0 || self.orders > 0)),
            f64::from(u8::from(
                self.returning || self.fan_level.is_some_and(|l| l > 0),
            )),
        ]
    }
}

/// Length of [`Profile::features`].
pub const FEATURES: usize = 10;

/// Names of [`Profile::features`], for the review.
pub const FEATURE_NAMES: [&str; FEATURES] = [
    "recency",
    "frequency",
    "monetary",
    "comments",
    "price_questions",
    "quality_questions",
    "buying_questions",
    "sentiment",
    "purchase",
    "loyal",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_topics_products_and_money() {
        let mut p = Profile::new(0, false);
        let facts = CommentFacts {
            topic: Some(Topic::Price),
            product: Some("2"),
            sentiment: 0.5,
            question: true,
            ..CommentFacts::default()
        };
        p.comment(&facts, 1_000);
        p.comment(
            &CommentFacts {
                product: Some("3"),
                purchase: true,
                ..facts
            },
            2_000,
        );
        p.gift(2, 30.0, 3_000);
        p.order(1, 99.0, 4_000);
        assert_eq!(p.comments, 2);
        assert_eq!(p.asked[0], 2);
        assert!(p.asked_since(Topic::Price, 2_000));
        assert!(!p.asked_since(Topic::Price, 2_001));
        assert!(!p.asked_since(Topic::Size, 0));
        assert_eq!(p.products[0], ("2".to_string(), 1));
        assert_eq!(p.purchase_signals, 1);
        assert_eq!(p.last_seen, 4_000);
        // Two comments in the first minute: 2 a minute.
        assert_eq!(p.rfm(4_000), [5, 5, 4]);
        assert_eq!(p.rfm(4_000 + 20 * 60_000), [2, 5, 4]);
        assert!((p.sentiment_mean() - 0.5).abs() < 1e-6);
        assert!(p.features(4_000).iter().all(|f| (0.0..=1.0).contains(f)));
    }

    #[test]
    fn remembers_a_bounded_number_of_products() {
        let mut p = Profile::new(0, false);
        for i in 0..50 {
            p.comment(
                &CommentFacts {
                    product: Some(&i.to_string()),
                    ..CommentFacts::default()
                },
                i,
            );
        }
        assert_eq!(p.products.len(), PRODUCTS);
    }
}
