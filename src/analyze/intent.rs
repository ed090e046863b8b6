//! Intents and the question key.
//!
//! Trigger strings (`intents.tsv`) are found anywhere in the normalized text with one
//! pass of [`super::matcher::PatternIndex`]; a trigger flagged `q` counts only inside a clause that asks (`钱` alone
//! is not a price question; `2号多少钱` is). Rules add what strings cannot: a height/weight
//! pair (`160 100斤`) asks for a size; a comment of only `1`s answers "想要的扣1"; contact
//! details or a flood make spam, which then stands alone. Praise needs a positive score and
//! complaint a non-positive one, so `不好看` is no praise and `不是假货` no complaint.
//! A purchase trigger right after a negation (`不要了`, `不想买`, `别拍`) is no purchase: a
//! refusal makes the comment mildly negative and a warning to others (`别买`) a complaint; a
//! request for the link or a try-on is dropped the same way unless the clause asks (`不用上链接了`
//! is none, `没有链接吗` still is). `斤` after 一, 半 or 每 is a unit price (`多少钱一斤`), not a
//! weight asking for a size.
//! `chatter` is what is left when nothing else applies. The key's topic is the asking intent
//! mentioned first.

use super::matcher::Found as Occurrence;
use super::normalize::Seen;
use super::sentiment::{NEGATIVE_BELOW, POSITIVE_ABOVE};
use super::{Clause, Intent, IntentSet};
use crate::analyze::lexicon::Trigger;

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

/// The score of a comment that declines to buy (不要了, 不想买了) and says nothing warmer.
const DECLINED_SCORE: f32 = -0.25;
/// Negators that, right before a purchase trigger, decline it (不买了, 没想要, 别拍).
const NEGATORS: &[char] = &['不', '没', '别', '甭', '勿', '莫'];
/// Two-character negations right before a trigger: 不想买, 不用上链接, 没有想要的.
const NEGATIONS: &[&str] = &[
    "没有", "不想", "不用", "不会", "不再", "别再", "不要", "不太", "不敢", "不能", "不必", "无需",
    "没法", "不需", "不打", "懒得",
];
/// Double negations ending in a negator, which affirm: 不得不买, 不能不要.
const AFFIRMING: &[&str] = &["不得不", "不能不", "不会不", "没有不", "不可能不"];

/// How a trigger was negated (ordered: a warning outweighs a refusal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Negation {
    /// The viewer will not (不要了, 不想买).
    Declines,
    /// The viewer tells others not to (别买, 别拍, 千万别入).
    Dissuades,
}

/// Whether the trigger at byte `at` of `text` is negated by what comes right before it.
fn negated(text: &str, at: usize) -> Option<Negation> {
    let before = &text[..at];
    let mut rev = before.chars().rev();
    let last = rev.next()?;
    if NEGATORS.contains(&last) {
        if AFFIRMING.iter().any(|a| before.ends_with(a)) {
            return None;
        }
        return Some(if matches!(last, '别' | '甭' | '勿' | '莫') {
            Negation::Dissuades
        } else {
            Negation::Declines
        });
    }
    // Every two-character negation starts with one of these: most triggers stop here.
    if !rev
        .next()
        .is_some_and(|c| matches!(c, '不' | '没' | '别' | '无' | '懒'))
    {
        return None;
    }
    let negation = NEGATIONS.iter().find(|n| before.ends_with(*n))?;
    Some(if negation.starts_with('别') {
        Negation::Dissuades
    } else {
        Negation::Declines
    })
}

/// Whether 斤 at byte `at` is a unit of a price (多少钱一斤, 半斤多少, 每斤几块) rather than a
/// weight (120斤, 一百斤): one, half or each jin, not a number of them.
fn unit_price(text: &str, at: usize) -> bool {
    let mut before = text[..at].chars().rev();
    let (Some(unit), prior) = (before.next(), before.next()) else {
        return false;
    };
    let numeral = |c: char| c.is_ascii_digit() || "零一二两三四五六七八九十百".contains(c);
    matches!(unit, '一' | '半' | '每') && !prior.is_some_and(numeral)
}

/// The same character this many times in a row is a flood.
const FLOOD_RUN: usize = 20;

pub struct Input<'a> {
    pub text: &'a str,
    pub clauses: &'a [Clause],
    pub score: f32,
    /// The longest run of one non-digit character in the comment as received.
    pub raw_run: usize,
    pub contact: bool,
    /// The comment names a product (by number or name).
    pub has_product: bool,
    pub triggers: &'a [Trigger],
    /// Where triggers occur in `text`, by position; at one position, shortest first.
    pub found: &'a [Occurrence],
    /// What normalization saw in the text before product references were rewritten.
    pub seen: Seen,
    /// A product reference was rewritten (to digits and 号).
    pub numbered: bool,
}

pub struct Found {
    pub intents: IntentSet,
    pub topic: Option<super::Topic>,
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
        raw_run,
        contact,
        has_product,
        triggers,
        found,
        seen,
        numbered,
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
    // A purchase trigger was negated: the viewer will not buy, or tells others not to.
    let mut declined: Option<Negation> = None;
    // The end of the last negated trigger.
    let mut negated_until = 0;
    let note_ask = |at: usize, intent: Intent, first: &mut Option<(usize, Intent)>| {
        if intent.topic().is_some() && first.is_none_or(|(pos, _)| at < pos) {
            *first = Some((at, intent));
        }
    };
    // `first_ask` keeps the first asking trigger in the order of `found`.
    for occurrence in found {
        let at = occurrence.start;
        let trigger = &triggers[occurrence.pattern];
        let asks = clause_asks(at);
        if &*trigger.pattern == "链接" {
            // A bare 链接 (`2号链接`, `链接链接`) asks for the link unless the comment asks
            // something else about the product (`4号链接多少钱`), or does not want it
            // (`不要链接了`): decided below.
            if asks || (at >= negated_until && negated(text, at).is_none()) {
                weak_link.get_or_insert(at);
            }
            continue;
        }
        if trigger.needs_question && !asks {
            continue;
        }
        // 不要了, 别买, 不用上链接了: the trigger is said to be not wanted. A negated question
        // still asks (没有链接吗), except about buying (不买吗 is no purchase).
        let voidable = match trigger.intent {
            Intent::Purchase => true,
            Intent::AskLink | Intent::RequestDemo => !asks,
            _ => false,
        };
        // Inside a negated trigger (the 链接 of 不用上链接) counts as negated too. Only the
        // voidable triggers are looked at: the rest cannot be negated away.
        let negation = || {
            if at < negated_until {
                Some(Negation::Declines)
            } else {
                negated(text, at)
            }
        };
        if voidable && let Some(how) = negation() {
            if trigger.intent == Intent::Purchase {
                declined = declined.max(Some(how));
            }
            negated_until = negated_until.max(occurrence.end);
            continue;
        }
        // 多少钱一斤 asks a unit price, not which size fits 100斤.
        if &*trigger.pattern == "斤" && unit_price(text, at) {
            continue;
        }
        // Searched only for a complaint word in a question: the one case it decides, and
        // nine substring searches per trigger hit were the single largest cost of analysis.
        let rhetorical = || {
            clause_at(at).is_some_and(|c| {
                let clause = &text[c.start_byte as usize..c.end_byte as usize];
                RHETORICAL.iter().any(|r| clause.contains(r))
            })
        };
        match trigger.intent {
            Intent::Praise => praise_word |= !asks,
            Intent::Complaint if asks && rhetorical() => complaint_statement = true,
            Intent::Complaint if asks => complaint_question = true,
            Intent::Complaint => complaint_statement = true,
            Intent::Chatter => {}
            other => {
                intents.insert(other);
                note_ask(at, other, &mut first_ask);
            }
        }
    }
    let mut question = false;
    let keys = RuleChars::of(seen, numbered);
    if keys.digit
        && let Some(at) = height_weight(text)
    {
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
    if (keys.bu || keys.compare)
        && let Some(at) = comparison(text, keys.bu, keys.compare)
    {
        intents.insert(Intent::Compare);
        note_ask(at, Intent::Compare, &mut first_ask);
    }
    if keys.order && quantity_order(text) {
        intents.insert(Intent::Purchase);
    }
    if keys.one {
        let trimmed = text.trim();
        if !trimmed.is_empty() && trimmed.len() <= 3 && trimmed.bytes().all(|b| b == b'1') {
            intents.insert(Intent::Purchase);
        }
    }
    if contact || flood(raw_run, text) {
        return Found {
            intents: IntentSet::from_iter([Intent::Spam]),
            topic: None,
            question: false,
            score,
        };
    }
    if !intents.contains(Intent::Purchase) {
        match declined {
            // 别买 warns the room off the product: a complaint.
            Some(Negation::Dissuades) => complaint_statement = true,
            // 不要了, 不想买了: a sale lost, mildly negative.
            Some(Negation::Declines) => score = score.min(DECLINED_SCORE),
            None => {}
        }
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

/// Which rules below can apply: each rule needs one of a few characters and most comments
/// hold none of them. Normalization noted them as it wrote the text; masking only removes
/// such characters, and rewriting a product reference only adds digits.
#[derive(Debug, Default)]
struct RuleChars {
    /// An ASCII digit: [`height_weight`].
    digit: bool,
    /// `1`: the "扣1" answer.
    one: bool,
    /// 不: [`comparison`] by 不如.
    bu: bool,
    /// 比 和 跟 与: [`comparison`] otherwise.
    compare: bool,
    /// 要 来: [`quantity_order`].
    order: bool,
}

impl RuleChars {
    fn of(seen: Seen, numbered: bool) -> RuleChars {
        RuleChars {
            digit: numbered || seen.has(Seen::DIGIT),
            one: numbered || seen.has(Seen::ONE),
            bu: seen.has(Seen::BU),
            compare: seen.has(Seen::COMPARE),
            order: seen.has(Seen::ORDER),
        }
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
/// `bu` and `others` say whether `text` may hold 不, and 比 和 跟 or 与.
fn comparison(text: &str, bu: bool, others: bool) -> Option<usize> {
    // 不如 anywhere wins over an earlier 比 or 和, so the first pass only looks for it.
    if bu && let Some(at) = find_pair(text, '不', '如') {
        return Some(at);
    }
    if !others {
        return None;
    }
    let mut prev: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c == '比' {
            let next = chars.peek().map(|x| x.1);
            let word = next.is_some_and(|n| NOT_COMPARING_AFTER.contains(&n))
                || prev.is_some_and(|p| matches!(p, '对' | '好' | '无' | '类' | '[' | '相' | '价'));
            if !word && next.is_some() {
                return Some(at);
            }
        }
        if matches!(c, '和' | '跟' | '与') && prev.is_some() {
            // The next 12 characters, borrowed rather than collected.
            let from = at + c.len_utf8();
            let to = text[from..]
                .char_indices()
                .nth(12)
                .map_or(text.len(), |(i, _)| from + i);
            let rest = &text[from..to];
            if COMPARISON_ENDS.iter().any(|e| rest.contains(e)) {
                return Some(at);
            }
        }
        prev = Some(c);
    }
    None
}

/// Where `a` immediately followed by `b` first occurs: `str::find` with a two-character
/// pattern, without building a substring searcher for a 30-byte comment.
fn find_pair(text: &str, a: char, b: char) -> Option<usize> {
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c == a && chars.peek().is_some_and(|&(_, n)| n == b) {
            return Some(at);
        }
    }
    None
}

/// An order stated with a quantity: `要3件`, `5号要一条`, `来两个`.
fn quantity_order(text: &str) -> bool {
    let mut chars = text.chars();
    let (Some(mut a), Some(mut b)) = (chars.next(), chars.next()) else {
        return false;
    };
    for c in chars {
        if matches!(a, '要' | '来')
            && (b.is_ascii_digit() || "一两二三四五六七八九十".contains(b))
            && MEASURES.contains(&c)
        {
            return true;
        }
        (a, b) = (b, c);
    }
    false
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
/// `raw_run` is the input's [`longest_run`].
fn flood(raw_run: usize, text: &str) -> bool {
    if raw_run >= FLOOD_RUN {
        return true;
    }
    // Thirty characters need at least thirty bytes: most comments stop here.
    if text.len() < 30 {
        return false;
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

/// The longest run of one character other than a digit (cheering 66666 is no flood) among the
/// first [`super::MAX_SCAN_BYTES`] characters of `raw`. Normalization counts this as it reads;
/// this is for when it stopped early.
pub fn longest_run(raw: &str) -> usize {
    let mut prev = None;
    let mut run = 0;
    let mut longest = 0;
    for c in raw.chars().take(super::MAX_SCAN_BYTES) {
        if Some(c) == prev {
            run += 1;
        } else {
            prev = Some(c);
            run = 1;
        }
        if !c.is_ascii_digit() {
            longest = longest.max(run);
        }
    }
    longest
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
    fn negations_before_a_trigger() {
        let at = |text: &str, trigger: &str| negated(text, text.find(trigger).unwrap());
        assert_eq!(at("不要了", "要了"), Some(Negation::Declines));
        assert_eq!(at("不想买了", "想买"), Some(Negation::Declines));
        assert_eq!(at("没有想要的", "想要"), Some(Negation::Declines));
        assert_eq!(at("别买了", "买了"), Some(Negation::Dissuades));
        assert_eq!(at("大家别再拍了", "拍了"), Some(Negation::Dissuades));
        assert_eq!(at("不得不买了", "买了"), None);
        assert_eq!(at("已经拍了", "拍了"), None);
        assert_eq!(at("买了", "买了"), None);
    }

    #[test]
    fn unit_prices_are_not_weights() {
        let at = |text: &str| unit_price(text, text.find('斤').unwrap());
        assert!(at("多少钱一斤"));
        assert!(at("半斤多少"));
        assert!(at("每斤几块"));
        assert!(!at("我一百一斤穿什么码"));
        assert!(!at("120斤穿多大"));
        assert!(!at("一百斤能穿吗"));
        assert!(!at("斤"));
    }

    #[test]
    fn floods() {
        assert!(flood(longest_run(&"啊".repeat(30)), "啊啊"));
        assert!(!flood(longest_run("好看好看"), "好看好看"));
        assert!(flood(0, &"哈哈嘿".repeat(12)));
        assert_eq!(longest_run(&"6".repeat(30)), 0);
        assert_eq!(longest_run("aaab66666"), 3);
    }
}
