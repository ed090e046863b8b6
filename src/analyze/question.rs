//! Clauses and questions.
//!
//! A comment is split into clauses at punctuation and spaces. A clause asks something when it
//! ends in `?`, ends in a question particle (吗 呢 么 嘛 不 没, ignoring soft endings such as
//! 呀 啊 亲 主播 and emoji), holds an interrogative (多少 几 什么 怎么 哪 能不能 …) that is not
//! part of an exclamation (怎么这么好看), or has the A不A / A没A form (有没有, 卖不卖). Most
//! 弹幕 questions carry no question mark, so the words decide.

use super::matcher::Matcher;
use super::{Clause, Tok};
use crate::analyze::lexicon::QuestionRole;

/// Endings that do not change what a clause is: interjections, forms of address, thanks.
///
/// A `match` rather than a list: with the lengths known, each comparison compiles to a load
/// and a compare instead of a call to `memcmp`, and this runs for every clause.
fn soft_ending(word: &str) -> bool {
    matches!(
        word,
        "呀" | "啊"
            | "哈"
            | "啦"
            | "呐"
            | "捏"
            | "嘞"
            | "哦"
            | "噢"
            | "鸭"
            | "丫"
            | "亲"
            | "亲亲"
            | "宝"
            | "宝宝"
            | "宝宝们"
            | "主播"
            | "家人们"
            | "姐姐"
            | "姐"
            | "美女"
            | "老板"
            | "姐妹"
            | "姐妹们"
            | "谢谢"
            | "求求"
            | "了"
            | "~"
            | "哇"
    )
}

/// Tokens starting like an interrogative that are not one.
const NOT_INTERROGATIVE: &[&str] = &["几乎", "哪怕", "什么的", "哪里哪里", "多少有点", "多少都"];

/// Interrogative prefixes for words the lexicon does not list (什么样, 怎么穿, 哪款, 啥色).
const INTERROGATIVE_PREFIXES: &[&str] = &["什么", "怎么", "哪", "啥", "咋", "多少", "几", "为啥"];

/// Splits `tokens` into clauses (written to `out`) and marks the questions.
/// `negation` is false when `text` holds neither 不 nor 没 (so no A不A form);
/// `exclaimed` is scratch space for the exclamations' byte ranges.
pub fn clauses<'a>(
    text: &str,
    tokens: &[Tok],
    negation: bool,
    exclaims: &Matcher,
    exclaimed: &mut Vec<(u32, u32)>,
    out: &'a mut Vec<Clause>,
) -> &'a [Clause] {
    out.clear();
    let mut first = 0;
    for (i, tok) in tokens.iter().enumerate() {
        if tok.brk {
            if i > first {
                out.push(clause(tokens, first, i));
            }
            if text[tok.start as usize..tok.end as usize].contains('?')
                && let Some(last) = out.last_mut()
                && last.end == i
            {
                last.question = true;
            }
            first = i + 1;
        }
    }
    if tokens.len() > first {
        out.push(clause(tokens, first, tokens.len()));
    }
    let mut exclaimed = Exclaimed::new(text, exclaims, exclaimed);
    for c in out.iter_mut() {
        if !c.question {
            c.question = asks(text, &tokens[c.first..c.end], negation, &mut exclaimed);
        }
    }
    out
}

/// Where the exclamations are, searched for only when a clause holds an interrogative: most
/// comments have none, and then where the exclamations are does not matter.
struct Exclaimed<'a> {
    text: &'a str,
    matcher: &'a Matcher,
    /// Byte ranges; filled on first use.
    ranges: &'a mut Vec<(u32, u32)>,
    searched: bool,
}

impl<'a> Exclaimed<'a> {
    fn new(text: &'a str, matcher: &'a Matcher, ranges: &'a mut Vec<(u32, u32)>) -> Self {
        Exclaimed {
            text,
            matcher,
            ranges,
            searched: false,
        }
    }

    /// Whether a token starting at byte `at` is part of an exclamation.
    fn covers(&mut self, at: u32) -> bool {
        if !self.searched {
            self.searched = true;
            self.ranges.clear();
            self.ranges.extend(
                self.matcher
                    .find_iter(self.text)
                    .map(|m| (m.start() as u32, m.end() as u32)),
            );
        }
        self.ranges.iter().any(|&(s, e)| at >= s && at < e)
    }
}

fn clause(tokens: &[Tok], first: usize, end: usize) -> Clause {
    Clause {
        first,
        end,
        start_byte: tokens[first].start,
        end_byte: tokens[end - 1].end,
        question: false,
    }
}

fn asks(text: &str, tokens: &[Tok], negation: bool, exclaimed: &mut Exclaimed<'_>) -> bool {
    let word = |t: &Tok| &text[t.start as usize..t.end as usize];
    for t in tokens {
        // Whether the token is interrogative is cheap; whether it sits in an exclamation needs
        // a search of the text, so it is asked second.
        if interrogative(t, word(t)) && !exclaimed.covers(t.start) {
            return true;
        }
    }
    // The last meaningful token: a particle, or a word ending in 吗/嘛 (是吗, 好吗).
    let last = tokens.iter().rev().find(|t| {
        let w = word(t);
        !soft_ending(w) && w.chars().any(|c| is_han(c) || c.is_alphanumeric())
    });
    if let Some(t) = last {
        let w = word(t);
        if w.ends_with('吗') || w.ends_with('嘛') {
            return true;
        }
        // 一点效果都没有, 一个也不剩: after 都/也 a final 没有 or 不 insists, it does not ask.
        let at = t.start;
        let insisting = tokens
            .iter()
            .rev()
            .find(|p| p.start < at)
            .is_some_and(|p| matches!(word(p), "都" | "也"));
        if t.info.question == QuestionRole::Particle && !insisting {
            return true;
        }
    }
    negation && a_not_a(&text[tokens[0].start as usize..tokens[tokens.len() - 1].end as usize])
}

/// An interrogative by the lexicon, or a short word that starts like one (什么样, 哪款).
fn interrogative(t: &Tok, w: &str) -> bool {
    if t.info.question == QuestionRole::Interrogative {
        return true;
    }
    // Every prefix starts with one of these characters; most tokens stop here.
    let first = w.chars().next();
    if !matches!(
        first,
        Some('什' | '怎' | '哪' | '啥' | '咋' | '多' | '几' | '为')
    ) {
        return false;
    }
    INTERROGATIVE_PREFIXES.iter().any(|p| w.starts_with(p))
        && !NOT_INTERROGATIVE.contains(&w)
        && w.chars().count() <= 4
}

/// `有没有`, `是不是`, `卖不卖`, `喜不喜欢`: a character, 不 or 没, the same character.
fn a_not_a(clause: &str) -> bool {
    let mut chars = clause.chars();
    let (mut a, mut b) = match (chars.next(), chars.next()) {
        (Some(a), Some(b)) => (a, b),
        _ => return false,
    };
    let mut before: Option<char> = None;
    for c in chars {
        // 不错不错 repeats a word; it does not ask.
        let repeated = before.is_some_and(|p| matches!(p, '不' | '没'));
        if matches!(b, '不' | '没') && a == c && !matches!(a, '不' | '没') && is_han(a) && !repeated
        {
            return true;
        }
        before = Some(a);
        a = b;
        b = c;
    }
    false
}

/// The main CJK block. Its characters are all alphanumeric (a test checks), and asking
/// `char::is_alphanumeric` about one costs a table search.
fn is_han(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_prefix_passes_the_first_character_gate() {
        let tok = Tok::default();
        for p in INTERROGATIVE_PREFIXES {
            assert!(interrogative(&tok, p), "{p}");
        }
    }

    #[test]
    fn han_is_alphanumeric() {
        assert!(('\u{4e00}'..='\u{9fff}').all(char::is_alphanumeric));
    }

    #[test]
    fn a_not_a_forms() {
        assert!(a_not_a("有没有黑色"));
        assert!(a_not_a("是不是正品"));
        assert!(a_not_a("喜不喜欢"));
        assert!(!a_not_a("不不不"));
        assert!(!a_not_a("好看"));
        assert!(!a_not_a("不错不错"));
    }
}
