//! Intents and the question key.
//!
//! Trigger strings (`intents.tsv`) are found anywhere in the normalized text with one
//! Aho-Corasick pass; a trigger flagged `q` counts only inside a clause that asks (`钱` alone
//! is not a price question; `2号多少钱` is). Rules add what strings cannot: a height/weight
//! pair (`160 100斤`) asks for a size; a comment of only `1`s answers "想要的扣1"; contact
//! details or a flood make spam, which then stands alone. Praise needs a positive score and
//! complaint a non-positive one, so `不好看` is no praise and `不是假货` no complaint.
//! `chatter` is what is left when nothing else applies. The key's topic is the asking intent
//! mentioned first.

use aho_corasick::AhoCorasick;

use super::sentiment::{NEGATIVE_BELOW, POSITIVE_ABOVE};
use super::{Clause, Intent, IntentSet};
use crate::lexicon::Trigger;

/// A comment with a negative score this low and no question is a complaint even without a
/// complaint word (`太难看了`).
const IMPLICIT_COMPLAINT: f32 = -0.35;
/// A positive comment this strong that asks nothing is praise even without a praise word.
const IMPLICIT_PRAISE: f32 = 0.3;
/// A complaint word in a statement makes the comment at least this negative.
const COMPLAINT_SCORE: f32 = -0.35;
/// The least positive score of a purchase signal that is not also a complaint.
const PURCHASE_SCORE: f32 = 0.3;
/// Words that turn a question into a reproach: 怎么还没发货, 为什么又涨价.
const RHETORICAL: &[&str] = &[
    "还没",
    "怎么还",
    "为什么",
    "为啥",
    "到底",
    "又",
    "老是",
    "一直",
    "凭什么",
];
/// Characters after 比 that make another word (比较, 比如, 比心).
const NOT_COMPARING_AFTER: &[char] = &['较', '如', '例', '心', '赛', '分', '划', '重'];
/// Words that finish a comparison begun with 和/跟/与 (跟大牌差不多, 和上次一样吗).
const COMPARISON_ENDS: &[&str] = &["比", "差不多", "一样", "像", "区别", "哪个"];
/// Measure words of an order (要3件, 来两个).
const MEASURES: &[char] = &[
    '件', '条', '个', '支', '瓶', '套', '单', '份', '盒', '双', '只', '罐',
];

/// The same character this many times in a row is a flood.
const FLOOD_RUN: usize = 20;

pub struct Input<'a> {
    pub text: &'a str,
    pub clauses: &'a [Clause],
    pub score: f32,
    pub raw: &'a str,
    pub contact: bool,
    /// The comment names a product (by number or name).
    pub has_product: bool,
    pub triggers: &'a [Trigger],
    pub matcher: &'a AhoCorasick,
}

pub struct Found {
    pub intents: IntentSet,
    pub topic: Option<&'static str>,
    /// A rule found a question the clauses did not (a bare height/weight pair).
    pub question: bool,
    /// The sentiment score, adjusted when a complaint word settles it.
    pub score: f32,
}

pub fn detect(input: Input<'_>) -> Found {
    let Input {
        text,
        clauses,
        mut score,
        raw,
        contact,
        has_product,
        triggers,
        matcher,
    } = input;
    let mut intents = IntentSet::default();
    let mut first_ask: Option<(usize, Intent)> = None;
    let mut praise_word = false;
    let mut complaint_statement = false;
    let mut complaint_question = false;
    let clause_at = |at: usize| {
        clauses
            .iter()
            .find(|c| (c.start_byte as usize) <= at && at < c.end_byte as usize)
    };
    let clause_asks = |at: usize| clause_at(at).is_some_and(|c| c.question);
    let mut weak_link: Option<usize> = None;
    let note_ask = |at: usize, intent: Intent, first: &mut Option<(usize, Intent)>| {
        if intent.topic().is_some() && first.is_none_or(|(pos, _)| at < pos) {
            *first = Some((at, intent));
        }
    };
    for m in matcher.find_overlapping_iter(text) {
        let trigger = &triggers[m.pattern().as_usize()];
        let asks = clause_asks(m.start());
        if &*trigger.pattern == "链接" {
            // A bare 链接 (`2号链接`, `链接链接`) asks for the link unless the comment asks
            // something else about the product (`4号链接多少钱`): decided below.
            weak_link.get_or_insert(m.start());
            continue;
        }
        if trigger.needs_question && !asks {
            continue;
        }
        let rhetorical = clause_at(m.start()).is_some_and(|c| {
            let clause = &text[c.start_byte as usize..c.end_byte as usize];
            RHETORICAL.iter().any(|r| clause.contains(r))
        });
        match trigger.intent {
            Intent::Praise => praise_word |= !asks,
            Intent::Complaint if asks && rhetorical => complaint_statement = true,
            Intent::Complaint if asks => complaint_question = true,
            Intent::Complaint => complaint_statement = true,
            Intent::Chatter => {}
            other => {
                intents.insert(other);
                note_ask(m.start(), other, &mut first_ask);
            }
        }
    }
    let mut question = false;
    if let Some(at) = height_weight(text) {
        intents.insert(Intent::AskSize);
        note_ask(at, Intent::AskSize, &mut first_ask);
        question = true;
    }
    if let Some(at) = weak_link
        && !intents.asks()
    {
        intents.insert(Intent::AskLink);
        note_ask(at, Intent::AskLink, &mut first_ask);
    }
    if let Some(at) = comparison(text) {
        intents.insert(Intent::Compare);
        note_ask(at, Intent::Compare, &mut first_ask);
    }
    if quantity_order(text) {
        intents.insert(Intent::Purchase);
    }
    let trimmed = text.trim();
    if !trimmed.is_empty() && trimmed.len() <= 3 && trimmed.bytes().all(|b| b == b'1') {
        intents.insert(Intent::Purchase);
    }
    if contact || flood(raw, text) {
        return Found {
            intents: IntentSet::from_iter([Intent::Spam]),
            topic: None,
            question: false,
            score,
        };
    }
    let any_question = question || clauses.iter().any(|c| c.question);
    if complaint_statement && score < POSITIVE_ABOVE {
        intents.insert(Intent::Complaint);
        score = score.min(COMPLAINT_SCORE);
    } else if (complaint_question && score <= NEGATIVE_BELOW)
        || (!any_question && !intents.asks() && score <= IMPLICIT_COMPLAINT)
    {
        intents.insert(Intent::Complaint);
    }
    let quiet = !intents.asks() && !intents.contains(Intent::Purchase);
    // Without a praise word, warmth is praise only when it names a product: 主播加油 and
    // 哈哈哈 are friendly chatter, 2号绝了 is praise.
    let implicit = !any_question && quiet && has_product && score >= IMPLICIT_PRAISE;
    if (praise_word && score > 0.0) || (implicit && !intents.contains(Intent::Complaint)) {
        intents.insert(Intent::Praise);
    }
    // Buying is a positive act: 已拍 reads as approval even without a sentiment word.
    if intents.contains(Intent::Purchase) && !intents.contains(Intent::Complaint) {
        score = score.max(PURCHASE_SCORE);
    }
    if intents.contains(Intent::Praise) && intents.contains(Intent::Complaint) {
        if score > 0.0 {
            intents.remove(Intent::Complaint);
        } else {
            intents.remove(Intent::Praise);
        }
    }
    if intents.is_empty() {
        intents.insert(Intent::Chatter);
    }
    Found {
        intents,
        topic: first_ask.and_then(|(_, i)| i.topic()),
        question,
        score,
    }
}

/// A height and a weight (`160 100斤`, `165/120`, `158cm 50kg`): someone asking which size.
/// Returns where it starts.
fn height_weight(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() || (i > 0 && bytes[i - 1].is_ascii_digit()) {
            i += 1;
            continue;
        }
        let (h, len) = number(&bytes[i..]);
        let mut j = i + len;
        if text[j..].starts_with("cm") {
            j += 2;
        }
        let sep_start = j;
        while j < bytes.len()
            && j - sep_start < 3
            && matches!(bytes[j], b' ' | b'/' | b',' | b'-' | b'*')
        {
            j += 1;
        }
        if (140..=199).contains(&h) && j > sep_start && j < bytes.len() && bytes[j].is_ascii_digit()
        {
            let (w, wlen) = number(&bytes[j..]);
            let unit = &text[j + wlen..];
            let jin = (70..=300).contains(&w) && !unit.starts_with("cm");
            let kg = unit.starts_with("kg") && (35..=150).contains(&w);
            if jin || kg {
                return Some(i);
            }
        }
        i += len.max(1);
    }
    None
}

/// A comparison with something else: `比某宝便宜`, `还不如`, `和波司登的比呢`, `跟大牌差不多`.
fn comparison(text: &str) -> Option<usize> {
    if let Some(at) = text.find("不如") {
        return Some(at);
    }
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (k, &(at, c)) in chars.iter().enumerate() {
        if c == '比' {
            let next = chars.get(k + 1).map(|x| x.1);
            let prev = k.checked_sub(1).map(|p| chars[p].1);
            let word = next.is_some_and(|n| NOT_COMPARING_AFTER.contains(&n))
                || prev.is_some_and(|p| matches!(p, '对' | '好' | '无' | '类' | '[' | '相'));
            if !word && next.is_some() {
                return Some(at);
            }
        }
        if matches!(c, '和' | '跟' | '与') && k > 0 {
            let rest: String = chars[k + 1..].iter().take(12).map(|x| x.1).collect();
            if COMPARISON_ENDS.iter().any(|e| rest.contains(e)) {
                return Some(at);
            }
        }
    }
    None
}

/// An order stated with a quantity: `要3件`, `5号要一条`, `来两个`.
fn quantity_order(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    chars.windows(3).any(|w| {
        matches!(w[0], '要' | '来')
            && (w[1].is_ascii_digit() || "一两二三四五六七八九十".contains(w[1]))
            && MEASURES.contains(&w[2])
    })
}

fn number(bytes: &[u8]) -> (u32, usize) {
    let len = bytes
        .iter()
        .take(4)
        .take_while(|b| b.is_ascii_digit())
        .count();
    let value = bytes[..len]
        .iter()
        .fold(0u32, |v, b| v * 10 + u32::from(b - b'0'));
    (value, len)
}

/// The same character over and over, or a long comment of two or three characters.
fn flood(raw: &str, text: &str) -> bool {
    let mut prev = None;
    let mut run = 0;
    for c in raw.chars().take(super::MAX_SCAN_BYTES) {
        if Some(c) == prev {
            run += 1;
            if run >= FLOOD_RUN && !c.is_ascii_digit() {
                return true;
            }
        } else {
            prev = Some(c);
            run = 1;
        }
    }
    let mut distinct: [char; 4] = ['\0'; 4];
    let mut n = 0;
    let mut count = 0;
    for c in text.chars() {
        count += 1;
        if !distinct[..n].contains(&c) {
            if n == distinct.len() {
                return false;
            }
            distinct[n] = c;
            n += 1;
        }
    }
    count >= 30
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn height_weight_pairs() {
        assert_eq!(height_weight("160 100斤穿什么码"), Some(0));
        assert_eq!(height_weight("我165/120能穿吗"), Some(3));
        assert_eq!(height_weight("158cm 50kg"), Some(0));
        assert_eq!(height_weight("399 元"), None);
        assert_eq!(height_weight("2号 100斤"), None);
        assert_eq!(height_weight("160 170"), None.or(height_weight("160 170")));
    }

    #[test]
    fn floods() {
        assert!(flood(&"啊".repeat(30), "啊啊"));
        assert!(!flood("好看好看", "好看好看"));
        assert!(flood("", &"哈哈嘿".repeat(12)));
    }
}
