//! The model's features, hashed as they are found: character 1-3-grams of the normalized
//! text, its jieba tokens, and the rule and lexicon signals of the rules' own analysis.
//!
//! [`for_each`] calls its visitor once per feature occurrence with the weight row and the
//! feature's value; nothing is collected, so inference sums weight rows as features are hashed
//! and training, explanation and inference read the same features by construction. Grams and
//! tokens hash into `2^bits` buckets; the signals have rows of their own after the buckets
//! (no collisions), the first of which is the bias.

use super::super::{Analysis, Intent, Label};

/// Signal rows, after the hashed buckets.
pub const SIGNALS: usize = 1 + 17 + 1 + SCORE_BUCKETS + 3;
/// The sentiment score in [-1, 1] falls into one of this many equal buckets.
const SCORE_BUCKETS: usize = 9;
const RULE_INTENT: usize = 1;
const RULE_QUESTION: usize = RULE_INTENT + 17;
const SCORE: usize = RULE_QUESTION + 1;
const PRODUCT: usize = SCORE + SCORE_BUCKETS;
const ASKS: usize = PRODUCT + 1;
const MASKED: usize = ASKS + 1;

/// What kind of feature a row is, for weighting and for explanations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// A character 1-, 2- or 3-gram; valued `1/√(number of grams)`.
    Gram,
    /// A jieba token; valued `1/√(number of tokens)`.
    Token,
    /// A rule or lexicon signal (or the bias); valued 1.
    Signal,
}

/// A feature as [`for_each`] found it: its row and what it was (for explanations).
#[derive(Debug, Clone, Copy)]
pub enum Feature<'a> {
    /// One, two or three characters of the text.
    Gram {
        text: &'a str,
    },
    Token {
        text: &'a str,
    },
    Signal(usize),
}

const K: u64 = 0x9E37_79B9_7F4A_7C15;

#[inline]
fn finish(h: u64, bits: u32) -> usize {
    let h = (h ^ (h >> 31)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    (h >> (64 - bits)) as usize
}

#[inline]
fn step(h: u64, c: u64) -> u64 {
    (h ^ c).wrapping_mul(K).rotate_left(23)
}

/// Number of character grams and tokens of an analysis: the two normalizers.
pub fn counts(analysis: &Analysis) -> (usize, usize) {
    let chars = analysis.text.chars().count();
    let grams = chars + chars.saturating_sub(1) + chars.saturating_sub(2);
    (grams, analysis.spans.len())
}

/// The value of one feature of each group, given [`counts`].
pub fn values((grams, tokens): (usize, usize)) -> [f32; 3] {
    let inv = |n: usize| if n == 0 { 0.0 } else { 1.0 / (n as f32).sqrt() };
    [inv(grams), inv(tokens), 1.0]
}

/// Whether the text holds a question mark or a question particle.
fn asks(text: &str) -> bool {
    text.contains(['?', '？', '吗', '呢'])
}

/// Calls `visit(row, group, feature)` for every feature of `analysis`, which must be the
/// rules' analysis (its intents, question and score are the rules'). `bits` is the model's
/// bucket count's log2.
#[inline]
pub fn for_each<'a>(
    analysis: &'a Analysis,
    bits: u32,
    mut visit: impl FnMut(usize, Group, Feature<'a>),
) {
    let text = analysis.text.as_str();
    // Grams: each character, and the one and two before it.
    let (mut p1, mut p2) = (0u64, 0u64);
    let (mut b1, mut b2) = (0usize, 0usize);
    for (i, (at, ch)) in text.char_indices().enumerate() {
        let c = ch as u64 + 1;
        let end = at + ch.len_utf8();
        let h1 = step(1, c);
        visit(
            finish(h1, bits),
            Group::Gram,
            Feature::Gram {
                text: &text[at..end],
            },
        );
        if i >= 1 {
            let h2 = step(step(2, p1), c);
            visit(
                finish(h2, bits),
                Group::Gram,
                Feature::Gram {
                    text: &text[b1..end],
                },
            );
        }
        if i >= 2 {
            let h3 = step(step(step(3, p2), p1), c);
            visit(
                finish(h3, bits),
                Group::Gram,
                Feature::Gram {
                    text: &text[b2..end],
                },
            );
        }
        p2 = p1;
        p1 = c;
        b2 = b1;
        b1 = at;
    }
    for &(s, e) in &analysis.spans {
        let token = &text[s as usize..e as usize];
        let mut h = 4u64;
        for chunk in token.as_bytes().chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            h = step(h, u64::from_le_bytes(word));
        }
        visit(
            finish(h, bits),
            Group::Token,
            Feature::Token { text: token },
        );
    }
    let base = 1usize << bits;
    let mut signal = |n: usize| visit(base + n, Group::Signal, Feature::Signal(n));
    signal(0);
    for intent in analysis.intents.iter() {
        signal(RULE_INTENT + intent as usize);
    }
    if analysis.question {
        signal(RULE_QUESTION);
    }
    let bucket =
        ((analysis.sentiment.score.clamp(-1.0, 1.0) + 1.0) / 2.0 * SCORE_BUCKETS as f32) as usize;
    signal(SCORE + bucket.min(SCORE_BUCKETS - 1));
    if analysis.product.is_some() {
        signal(PRODUCT);
    }
    if asks(text) {
        signal(ASKS);
    }
    if analysis.masked {
        signal(MASKED);
    }
}

/// A signal row's name, for explanations.
pub fn signal_name(n: usize) -> String {
    match n {
        0 => "bias".into(),
        n if (RULE_INTENT..RULE_QUESTION).contains(&n) => {
            format!("rule:{}", Intent::ALL[n - RULE_INTENT])
        }
        RULE_QUESTION => "rule:question".into(),
        n if (SCORE..PRODUCT).contains(&n) => {
            let width = 2.0 / SCORE_BUCKETS as f32;
            let low = -1.0 + (n - SCORE) as f32 * width;
            format!("rule:score[{low:.2},{:.2})", low + width)
        }
        PRODUCT => "rule:product".into(),
        ASKS => "text:?/吗/呢".into(),
        MASKED => "rule:masked".into(),
        _ => format!("signal:{n}"),
    }
}

/// The sentiment classes in output order.
pub const SENTIMENTS: [Label; 3] = [Label::Positive, Label::Neutral, Label::Negative];
