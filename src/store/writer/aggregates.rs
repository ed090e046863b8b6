//! What a transaction adds to the aggregate tables: per-minute counts, hot-word counts and each
//! session's last activity, upserted at commit.

use std::collections::HashMap;

use rusqlite::{Transaction, params};

/// One minute's counts, added to `minutes` at commit.
#[derive(Debug, Default)]
pub(super) struct Minute {
    pub(super) comments: i64,
    pub(super) questions: i64,
    pub(super) sentiment_sum: f64,
    pub(super) positive: i64,
    pub(super) negative: i64,
    pub(super) purchase: i64,
    pub(super) complaints: i64,
    pub(super) gifts: i64,
    pub(super) gift_value: f64,
    pub(super) likes: i64,
    pub(super) enters: i64,
    pub(super) follows: i64,
    pub(super) orders: i64,
    pub(super) order_amount: f64,
}

/// What a transaction adds to the aggregate tables.
#[derive(Debug, Default)]
pub(super) struct Aggregates {
    minutes: HashMap<(i64, i64), Minute>,
    pub(super) words: HashMap<(i64, String), i64>,
    last_at: HashMap<i64, i64>,
}

impl Aggregates {
    pub(super) fn minute(&mut self, session: i64, at: i64) -> &mut Minute {
        self.minutes
            .entry((session, at.div_euclid(60_000)))
            .or_default()
    }

    pub(super) fn touch(&mut self, session: i64, at: i64) {
        let last = self.last_at.entry(session).or_insert(at);
        *last = (*last).max(at);
    }

    pub(super) fn write(&self, tx: &Transaction<'_>) -> rusqlite::Result<()> {
        if !self.minutes.is_empty() {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO minutes (session, minute, comments, questions, sentiment_sum,
                 positive, negative, purchase, complaints, gifts, gift_value, likes, enters,
                 follows, orders, order_amount)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
                 ON CONFLICT (session, minute) DO UPDATE SET
                 comments = comments + excluded.comments,
                 questions = questions + excluded.questions,
                 sentiment_sum = sentiment_sum + excluded.sentiment_sum,
                 positive = positive + excluded.positive,
                 negative = negative + excluded.negative,
                 purchase = purchase + excluded.purchase,
                 complaints = complaints + excluded.complaints,
                 gifts = gifts + excluded.gifts,
                 gift_value = gift_value + excluded.gift_value,
                 likes = likes + excluded.likes,
                 enters = enters + excluded.enters,
                 follows = follows + excluded.follows,
                 orders = orders + excluded.orders,
                 order_amount = order_amount + excluded.order_amount",
            )?;
            for ((session, minute), m) in &self.minutes {
                stmt.execute(params![
                    session,
                    minute,
                    m.comments,
                    m.questions,
                    m.sentiment_sum,
                    m.positive,
                    m.negative,
                    m.purchase,
                    m.complaints,
                    m.gifts,
                    m.gift_value,
                    m.likes,
                    m.enters,
                    m.follows,
                    m.orders,
                    m.order_amount,
                ])?;
            }
        }
        if !self.words.is_empty() {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO words (session, word, count) VALUES (?1, ?2, ?3)
                 ON CONFLICT (session, word) DO UPDATE SET count = count + excluded.count",
            )?;
            for ((session, word), n) in &self.words {
                stmt.execute(params![session, word, n])?;
            }
        }
        let mut stmt =
            tx.prepare_cached("UPDATE sessions SET last_at = max(last_at, ?2) WHERE key = ?1")?;
        for (session, at) in &self.last_at {
            stmt.execute(params![session, at])?;
        }
        Ok(())
    }
}
