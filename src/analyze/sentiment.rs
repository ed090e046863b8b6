//! Sentiment: lexicon weights shaped by the words around them.
//!
//! For each token with a weight (`sentiment.tsv`, `emoji.tsv`), up to [`LOOKBACK`] tokens
//! before it in the same clause are read for degree adverbs (太 超 巨 ×, 有点 稍微 ÷) and
//! negators (不 没 别 不是 一点也不). An odd number of negators flips the sign and weakens it
//! (不贵 is mildly positive), except a prohibition of something bad (别骗人); a negator before a degree adverb weakens more (不是很好看 is
//! mildly negative); two negators cancel (没有不喜欢的 is positive). An adversative (但是 不过
//! 就是) discounts what came before and strengthens what follows (好看是好看就是太贵了 is
//! negative). A trait that is a fault in excess (大 长 厚, flagged `excess`) counts as negative
//! after an adverb saying "too" (太长了, 有点松, 偏厚) and as nothing otherwise (很大). Clauses
//! that ask are dampened (贵吗？ is a question, not a complaint). Repetition
//! (好好好看, !!!) intensifies. The sum goes through `tanh` into [-1, 1].

use super::{Clause, Label, Tok};

/// Scores at or above this are `positive`.
pub const POSITIVE_ABOVE: f32 = 0.2;
/// Scores at or below this are `negative`.
pub const NEGATIVE_BELOW: f32 = -0.2;
/// How many tokens before a sentiment word are searched for negators and degree adverbs.
pub const LOOKBACK: usize = 3;
/// Weight kept by a sentiment word in a clause that asks.
const QUESTION_DAMPING: f32 = 0.15;
/// A negated word keeps this much of its strength, with the sign flipped.
const NEGATED: f32 = 0.8;
/// "Not very": a negator before a degree adverb keeps less.
const NEGATED_DEGREE: f32 = 0.5;
/// What came before an adversative keeps this much; what follows is multiplied by `AFTER`.
const BEFORE_ADVERSATIVE: f32 = 0.4;
const AFTER_ADVERSATIVE: f32 = 1.5;
/// Each sign of insisting (collapsed runs, `!!`) adds this much intensity, up to three times.
const EMPHASIS_STEP: f32 = 0.2;
/// The weight of a trait said to be too much (太长, 有点松, 偏厚), before the adverb's degree:
/// at most this, whatever the trait's own weight (冲 alone is cheering, 太冲 a bad smell).
pub const EXCESS: f32 = -0.6;

/// The sentiment score of a comment, in [-1, 1].
pub fn score(tokens: &[Tok], clauses: &[Clause], emphasis: u8) -> f32 {
    let mut acc = 0.0f32;
    let mut after = 1.0f32;
    let mut seen_content = false;
    for clause in clauses {
        for i in clause.first..clause.end {
            let tok = &tokens[i];
            if tok.info.adversative && seen_content {
                acc *= BEFORE_ADVERSATIVE;
                after = AFTER_ADVERSATIVE;
                continue;
            }
            seen_content = true;
            let mut w = tok.info.sentiment;
            if tok.info.excess && tok.info.degree == 0.0 && too_much(&tokens[clause.first..i]) {
                w = w.min(EXCESS);
            }
            if w == 0.0 {
                continue;
            }
            // 好 is praise on its own (质量真的好) but a degree adverb before another word (好贵).
            let next = tokens[i + 1..clause.end].first();
            if tok.info.degree != 0.0 && next.is_some_and(|n| n.info.sentiment != 0.0) {
                continue;
            }
            let mut v = w * modifiers(&tokens[clause.first..i], w);
            if clause.question {
                v *= QUESTION_DAMPING;
            }
            acc += v * after;
        }
    }
    acc *= 1.0 + EMPHASIS_STEP * f32::from(emphasis.min(3));
    acc.tanh()
}

/// Whether the tokens just before a trait say there is too much of it: an excess adverb (太,
/// 有点, 偏) among the two tokens before it, with only adverbs or negators between.
fn too_much(before: &[Tok]) -> bool {
    for tok in before.iter().rev().take(2) {
        if tok.info.excess && tok.info.degree != 0.0 {
            return true;
        }
        if tok.info.degree == 0.0 && !tok.info.negator {
            return false;
        }
    }
    false
}

/// Combined effect of the negators and degree adverbs just before a sentiment word.
fn modifiers(before: &[Tok], word: f32) -> f32 {
    let mut degree = 1.0f32;
    let mut negators = 0;
    let mut prohibitive = false;
    let mut degree_at: Option<usize> = None;
    let mut negator_at: Option<usize> = None;
    for (distance, tok) in before.iter().rev().take(LOOKBACK).enumerate() {
        if tok.info.sentiment != 0.0 && tok.info.degree == 0.0 || tok.info.particle {
            break; // another sentiment word, or a particle ending a phrase (不会吧, 这么便宜)
        }
        if tok.info.negator {
            negators += 1;
            negator_at = Some(distance);
            prohibitive |= tok.info.prohibitive;
        }
        if tok.info.degree != 0.0 {
            degree *= tok.info.degree;
            degree_at.get_or_insert(distance);
        }
    }
    let mut m = degree;
    // 别骗人, 不要踩雷: a prohibition of something bad is still about something bad.
    if negators % 2 == 1 && prohibitive && word < 0.0 {
        return m * NEGATED;
    }
    if negators % 2 == 1 {
        // A negator further away than the degree adverb: 不是(很)好看 → "not very".
        let not_very = matches!((negator_at, degree_at), (Some(n), Some(d)) if n > d);
        m = -m * if not_very { NEGATED_DEGREE } else { NEGATED };
    }
    m
}

/// The label for a score.
pub fn label(score: f32) -> Label {
    if score >= POSITIVE_ABOVE {
        Label::Positive
    } else if score <= NEGATIVE_BELOW {
        Label::Negative
    } else {
        Label::Neutral
    }
}
