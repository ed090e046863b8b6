//! Hot words: what the room is talking about now. Each token's count decays with a half-life
//! of [`HALF_LIFE_MS`], so a word said 100 times ten minutes ago ranks below one said 10 times
//! just now. Stopwords, punctuation, numbers, single characters and placeholders are left out.
//! Bounded: when more than [`MAX_WORDS`] words are tracked, the weakest half is dropped.

use rustc_hash::FxHashMap;
use serde::Serialize;

pub const HALF_LIFE_MS: f64 = 60_000.0;
pub const MAX_WORDS: usize = 2000;

#[derive(Debug, Default)]
pub struct HotWords {
    words: FxHashMap<Box<str>, (f64, i64)>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HotWord {
    pub word: String,
    pub score: f64,
}

fn decayed(score: f64, at: i64, now: i64) -> f64 {
    let dt = (now - at).max(0) as f64;
    score * (0.5f64).powf(dt / HALF_LIFE_MS)
}

impl HotWords {
    /// Whether a token is worth counting at all (the caller also drops stopwords).
    pub fn worth_counting(token: &str) -> bool {
        let mut chars = token.chars();
        let (Some(first), Some(_)) = (chars.next(), chars.next()) else {
            // Single characters say little, except emoji.
            return token.chars().next().is_some_and(|c| (c as u32) >= 0x1f000);
        };
        let number_or_punct = token
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_punctuation());
        !crate::privacy::PLACEHOLDERS.contains(&token) && !number_or_punct && !first.is_whitespace()
    }

    /// Whether a token of a (non-spam) comment counts as a hot word: worth counting and not a
    /// stopword. The room and the store both ask this.
    pub fn counts(analyzer: &crate::analyze::Analyzer, token: &str) -> bool {
        HotWords::worth_counting(token) && !analyzer.is_stopword(token)
    }

    pub fn add(&mut self, word: &str, now: i64) {
        if let Some((score, at)) = self.words.get_mut(word) {
            *score = decayed(*score, *at, now) + 1.0;
            *at = now;
            return;
        }
        if self.words.len() >= MAX_WORDS {
            self.prune(now);
        }
        self.words.insert(word.into(), (1.0, now));
    }

    fn prune(&mut self, now: i64) {
        let mut scores: Vec<f64> = self
            .words
            .values()
            .map(|(s, at)| decayed(*s, *at, now))
            .collect();
        scores.sort_by(|a, b| b.total_cmp(a));
        let cut = scores[MAX_WORDS / 2];
        self.words.retain(|_, (s, at)| decayed(*s, *at, now) > cut);
    }

    /// The `n` hottest words now.
    pub fn top(&self, now: i64, n: usize) -> Vec<HotWord> {
        let mut all: Vec<HotWord> = self
            .words
            .iter()
            .map(|(w, (s, at))| HotWord {
                word: w.to_string(),
                score: (decayed(*s, *at, now) * 10.0).round() / 10.0,
            })
            .filter(|h| h.score >= 0.5)
            .collect();
        all.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.word.cmp(&b.word))
        });
        all.truncate(n);
        all
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_words_outrank_old_ones_and_memory_is_bounded() {
        let mut h = HotWords::default();
        for _ in 0..100 {
            h.add("羽绒服", 0);
        }
        for _ in 0..10 {
            h.add("口红", 600_000);
        }
        let top = h.top(600_000, 2);
        assert_eq!(top[0].word, "口红");
        for i in 0..(MAX_WORDS * 2) {
            h.add(&format!("词{i}"), 600_000 + i as i64);
        }
        assert!(h.len() <= MAX_WORDS);
    }

    #[test]
    fn filters_noise() {
        assert!(HotWords::worth_counting("好看"));
        assert!(HotWords::worth_counting("👍"));
        assert!(!HotWords::worth_counting("的"));
        assert!(!HotWords::worth_counting("123"));
        assert!(!HotWords::worth_counting("[手机号]"));
    }
}
