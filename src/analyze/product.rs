//! Product references and other text that must stay one token.
//!
//! Viewers name products by number in many ways (`2号` `二号` `#2` `No.2` `第二个` `链接2`
//! `2号链接`) or by name (`羽绒服`). [`canonicalize`] rewrites every numbered form to `N号`
//! (so `#2多少钱` and `二号多少钱` group together) and records where it is; [`find_atoms`] adds
//! emote codes (`[赞]`), masking placeholders and the room's product names. Segmentation keeps
//! each of these spans whole. [`link`] picks the comment's product: an explicit number first,
//! then a name from the room's catalog, else none (the room layer may fall back to the product
//! being pitched; that is not this module's business).

use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use super::AnalyzerError;
use super::matcher::{self, PatternIndex};

/// Highest product number read from text; larger numbers are quantities, prices or dates.
const MAX_PRODUCT_NUMBER: u32 = 99;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    /// `N号`, canonical form of a numbered product reference.
    Number(u32),
    /// An emote code or a masking placeholder.
    Atom,
    /// A product name or alias: index into the catalog.
    Name(u16),
    /// One of the room's extra words.
    Word,
}

/// A piece of the normalized text that segmentation must keep whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: u32,
    pub end: u32,
    pub kind: SpanKind,
}

/// A room's catalog compiled for analysis: product ids and an index of their names.
#[derive(Debug, Default, Clone)]
pub struct RoomCatalog {
    ids: Vec<Arc<str>>,
    by_id: FxHashMap<Arc<str>, usize>,
    /// Names and words, searched in the same pass as the intent triggers (see
    /// [`PatternIndex::find_overlapping_with`]); `None` when there are none.
    names: Option<PatternIndex>,
    /// For each name pattern: the product it names, or `None` for a plain room word.
    targets: Vec<Option<u16>>,
}

/// Names shorter than this are too generic to link a product (`裙`, `M`).
const MIN_NAME_CHARS: usize = 2;

/// A product as the analysis sees it: the id viewers type (`2号`) and the names they use.
/// The room's catalog type implements it; the analysis knows no other product type.
pub trait Listing {
    fn id(&self) -> &str;
    /// The product's name, then its aliases.
    fn names(&self) -> impl Iterator<Item = &str>;
}

impl RoomCatalog {
    /// No catalog: numbered references link to the number itself.
    pub fn empty() -> &'static RoomCatalog {
        static EMPTY: std::sync::OnceLock<RoomCatalog> = std::sync::OnceLock::new();
        EMPTY.get_or_init(RoomCatalog::default)
    }

    /// Compiles a room's products (names and aliases) and extra words.
    pub fn new<P: Listing>(products: &[P], words: &[String]) -> Result<RoomCatalog, AnalyzerError> {
        let mut catalog = RoomCatalog::default();
        let mut patterns: Vec<String> = Vec::new();
        let mut seen = FxHashSet::default();
        let empty = super::normalize::Simplifier::default();
        let mut buf = String::new();
        for (index, product) in products.iter().enumerate() {
            let id: Arc<str> = product.id().into();
            catalog.by_id.insert(id.clone(), index);
            catalog.ids.push(id);
            let index = u16::try_from(index).unwrap_or(u16::MAX);
            for name in product.names() {
                super::normalize::normalize(name, &empty, &mut buf);
                if buf.chars().count() >= MIN_NAME_CHARS && seen.insert(buf.clone()) {
                    patterns.push(buf.clone());
                    catalog.targets.push(Some(index));
                }
            }
        }
        for word in words {
            super::normalize::normalize(word, &empty, &mut buf);
            if buf.chars().count() >= MIN_NAME_CHARS && seen.insert(buf.clone()) {
                patterns.push(buf.clone());
                catalog.targets.push(None);
            }
        }
        if !patterns.is_empty() {
            let names =
                PatternIndex::new(&patterns).map_err(|source| AnalyzerError::Names { source })?;
            catalog.names = Some(names);
        }
        Ok(catalog)
    }

    /// Whether the room has a catalog at all.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Product ids in catalog order.
    pub fn ids(&self) -> &[Arc<str>] {
        &self.ids
    }

    /// The index of the room's names and words, if it has any.
    pub(super) fn names(&self) -> Option<&PatternIndex> {
        self.names.as_ref()
    }

    /// The shared id for a product id, if it is in the catalog.
    pub fn id(&self, id: &str) -> Option<&Arc<str>> {
        self.by_id.get(id).map(|&i| &self.ids[i])
    }
}

/// Copies `input` into `out`, rewriting numbered product references to `N号` and recording a
/// [`SpanKind::Number`] span for each.
pub fn canonicalize(input: &str, out: &mut String, spans: &mut Vec<Span>) {
    // Start of the bytes not yet copied: text between references is copied in one piece.
    let mut copied = 0;
    let mut prev: Option<char> = None;
    for (i, c) in input.char_indices() {
        let before = prev.replace(c);
        if i < copied || !can_start_reference(c) {
            continue;
        }
        if let Some((n, consumed, link)) = reference_at(&input[i..], before) {
            out.push_str(&input[copied..i]);
            let start = out.len() as u32;
            push_number(out, n);
            out.push('号');
            spans.push(Span {
                start,
                end: out.len() as u32,
                kind: SpanKind::Number(n),
            });
            if link {
                out.push_str("链接");
            }
            copied = i + consumed;
        }
    }
    out.push_str(&input[copied..]);
}

/// Whether [`reference_at`] can match at a character: only these begin a reference. Most
/// characters are not, and this keeps the per-character cost of the scan to one `match`.
fn can_start_reference(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '#' | 'n' | '第' | '链') || is_cn_digit(c)
}

fn push_number(out: &mut String, n: u32) {
    let mut buf = itoa_buf();
    out.push_str(format_number(&mut buf, n));
}

/// A numbered reference starting at the beginning of `s`: (number, bytes consumed, whether it
/// named the product's link).
fn reference_at(s: &str, prev: Option<char>) -> Option<(u32, usize, bool)> {
    let glued = prev.is_some_and(|p| p.is_ascii_alphanumeric() || p == '.' || is_cn_digit(p));
    let first = s.chars().next()?;
    // `#2`, `#2号`
    if first == '#' {
        let (n, len) = ascii_number(&s[1..])?;
        return Some(finish(s, n, 1 + len));
    }
    // `no.2`, `no 2`, `no2`
    if let Some(after) = s.strip_prefix("no")
        && !prev.is_some_and(|p| p.is_ascii_alphabetic())
    {
        let sep = usize::from(after.starts_with('.') || after.starts_with(' '));
        let (n, len) = ascii_number(&after[sep..])?;
        return Some(finish(s, n, 2 + sep + len));
    }
    // `第二个`, `第2款`, `第3件`, `第1号`
    if let Some(after) = s.strip_prefix('第') {
        let (n, len) = any_number(after)?;
        let tail = &after[len..];
        let unit = ["个", "款", "件", "号", "套", "支", "瓶"]
            .iter()
            .find(|u| tail.starts_with(**u))?;
        let consumed = '第'.len_utf8() + len + unit.len();
        let link = s[consumed..].starts_with("链接");
        return Some((n, consumed + if link { "链接".len() } else { 0 }, link));
    }
    // `链接2`, `链接二`
    if let Some(after) = s.strip_prefix("链接") {
        let (n, len) = any_number(after)?;
        let mut consumed = "链接".len() + len;
        if after[len..].starts_with('号') {
            consumed += '号'.len_utf8();
        }
        return Some((n, consumed, true));
    }
    if glued {
        return None;
    }
    // `2号`, `2 号`, `二号`, `2链接`, `2号链接`
    let (n, len) = any_number(s)?;
    let tail = &s[len..];
    let space = usize::from(tail.starts_with(' ') && first.is_ascii_digit());
    let tail = &tail[space..];
    if tail.starts_with('号') {
        return Some(finish(s, n, len + space));
    }
    if first.is_ascii_digit() && tail.starts_with("链接") {
        return Some((n, len + space + "链接".len(), true));
    }
    None
}

/// After the number: an optional `号`, then an optional `链接`.
fn finish(s: &str, n: u32, mut consumed: usize) -> (u32, usize, bool) {
    if s[consumed..].starts_with('号') {
        consumed += '号'.len_utf8();
    }
    let link = s[consumed..].starts_with("链接");
    if link {
        consumed += "链接".len();
    }
    (n, consumed, link)
}

/// 1-2 ASCII digits not followed by another digit.
fn ascii_number(s: &str) -> Option<(u32, usize)> {
    let len = s.bytes().take_while(u8::is_ascii_digit).count();
    if len == 0 || len > 2 {
        return None;
    }
    let n: u32 = s[..len].parse().ok()?;
    (1..=MAX_PRODUCT_NUMBER).contains(&n).then_some((n, len))
}

fn any_number(s: &str) -> Option<(u32, usize)> {
    ascii_number(s).or_else(|| cn_number(s))
}

fn is_cn_digit(c: char) -> bool {
    matches!(
        c,
        '一' | '二' | '三' | '四' | '五' | '六' | '七' | '八' | '九' | '十' | '两'
    )
}

/// Chinese numerals 1-99: 一 … 九, 十, 十二, 二十, 二十三, 两.
fn cn_number(s: &str) -> Option<(u32, usize)> {
    let digit = |c: char| -> Option<u32> {
        Some(match c {
            '一' => 1,
            '二' | '两' => 2,
            '三' => 3,
            '四' => 4,
            '五' => 5,
            '六' => 6,
            '七' => 7,
            '八' => 8,
            '九' => 9,
            _ => return None,
        })
    };
    // Up to three characters, in an array rather than a `Vec`: this runs at every digit.
    let mut chars = ['\0'; 3];
    let mut n = 0;
    for c in s.chars().take(3) {
        chars[n] = c;
        n += 1;
    }
    let (value, used) = match &chars[..n] {
        [a, '十', b, ..] if digit(*a).is_some() && digit(*b).is_some() => {
            (digit(*a)? * 10 + digit(*b)?, 3)
        }
        [a, '十', ..] if digit(*a).is_some() => (digit(*a)? * 10, 2),
        ['十', b, ..] if digit(*b).is_some() => (10 + digit(*b)?, 2),
        ['十', ..] => (10, 1),
        [a, ..] => (digit(*a)?, 1),
        [] => return None,
    };
    let len = chars[..used].iter().map(|c| c.len_utf8()).sum();
    Some((value, len))
}

/// Adds spans for emote codes, masking placeholders and the room's names; keeps spans sorted
/// and never overlapping. `names` are the occurrences of the room's names in `text` (from
/// [`RoomCatalog::names`]); `brackets` is false when `text` holds no `[`, so no emote code or
/// placeholder.
pub fn find_atoms(
    text: &str,
    emotes: &FxHashSet<Box<str>>,
    room: &RoomCatalog,
    names: &[matcher::Found],
    brackets: bool,
    spans: &mut Vec<Span>,
) {
    let bytes = text.as_bytes();
    let mut i = 0;
    // Spans are pushed as found; each is checked against those before it, numbers first.
    let numbers = spans.len();
    let push = |spans: &mut Vec<Span>, span: Span| {
        let overlaps = spans
            .iter()
            .any(|s| span.start < s.end && s.start < span.end);
        if !overlaps {
            spans.push(span);
        }
    };
    while brackets && i < bytes.len() {
        if bytes[i] == b'[' {
            let window = &bytes[i..bytes.len().min(i + 26)];
            if let Some(close) = window.iter().position(|b| *b == b']') {
                let code = &text[i..i + close + 1];
                if emotes.contains(code) || crate::privacy::PLACEHOLDERS.contains(&code) {
                    push(
                        spans,
                        Span {
                            start: i as u32,
                            end: (i + close + 1) as u32,
                            kind: SpanKind::Atom,
                        },
                    );
                    i += close + 1;
                    continue;
                }
            }
        }
        i += 1;
    }
    for m in matcher::leftmost_longest(names) {
        let kind = match room.targets.get(m.pattern).copied().flatten() {
            Some(index) => SpanKind::Name(index),
            None => SpanKind::Word,
        };
        push(
            spans,
            Span {
                start: m.start as u32,
                end: m.end as u32,
                kind,
            },
        );
    }
    if spans.len() > numbers {
        spans.sort_unstable_by_key(|s| s.start);
    }
}

/// The comment's product: the first numbered reference the catalog knows (any number when the
/// room has no catalog), else the first product name.
pub fn link(_text: &str, spans: &[Span], room: &RoomCatalog) -> Option<Arc<str>> {
    let mut buf = itoa_buf();
    for span in spans {
        if let SpanKind::Number(n) = span.kind {
            let id = format_number(&mut buf, n);
            if room.is_empty() {
                return Some(id.into());
            }
            if let Some(id) = room.id(id) {
                return Some(id.clone());
            }
        }
    }
    spans.iter().find_map(|span| match span.kind {
        SpanKind::Name(index) => room.ids.get(usize::from(index)).cloned(),
        _ => None,
    })
}

fn itoa_buf() -> [u8; 10] {
    [0; 10]
}

/// Writes `n` in decimal into `buf` without allocating.
fn format_number(buf: &mut [u8; 10], n: u32) -> &str {
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).unwrap_or("0")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Product;

    fn canon(s: &str) -> (String, Vec<u32>) {
        let mut out = String::new();
        let mut spans = Vec::new();
        canonicalize(s, &mut out, &mut spans);
        let numbers = spans
            .iter()
            .filter_map(|s| match s.kind {
                SpanKind::Number(n) => Some(n),
                _ => None,
            })
            .collect();
        (out, numbers)
    }

    #[test]
    fn every_number_form_becomes_n_hao() {
        assert_eq!(canon("2号多少钱"), ("2号多少钱".into(), vec![2]));
        assert_eq!(canon("二号多少钱"), ("2号多少钱".into(), vec![2]));
        assert_eq!(canon("#3价格"), ("3号价格".into(), vec![3]));
        assert_eq!(canon("no.1有货吗"), ("1号有货吗".into(), vec![1]));
        assert_eq!(canon("no 4"), ("4号".into(), vec![4]));
        assert_eq!(canon("第一个好看"), ("1号好看".into(), vec![1]));
        assert_eq!(canon("第3款"), ("3号".into(), vec![3]));
        assert_eq!(canon("1号链接"), ("1号链接".into(), vec![1]));
        assert_eq!(canon("链接5"), ("5号链接".into(), vec![5]));
        assert_eq!(canon("求5链接"), ("求5号链接".into(), vec![5]));
        assert_eq!(canon("十二号"), ("12号".into(), vec![12]));
        assert_eq!(canon("2 号"), ("2号".into(), vec![2]));
    }

    #[test]
    fn quantities_prices_and_sizes_are_not_products() {
        assert_eq!(canon("要3件").1, Vec::<u32>::new());
        assert_eq!(canon("160 100斤穿什么码").1, Vec::<u32>::new());
        assert_eq!(canon("399元").1, Vec::<u32>::new());
        assert_eq!(canon("几号发货").1, Vec::<u32>::new());
        assert_eq!(canon("第一次买").1, Vec::<u32>::new());
        assert_eq!(canon("2023号").1, Vec::<u32>::new());
        assert_eq!(canon("a1号").1, Vec::<u32>::new());
    }

    #[test]
    fn links_numbers_then_names() {
        let products = vec![
            Product {
                id: "1".into(),
                name: "白鸭绒羽绒服".into(),
                aliases: vec!["羽绒服".into(), "白色外套".into()],
                ..Product::default()
            },
            Product {
                id: "2".into(),
                name: "羊毛开衫".into(),
                aliases: vec!["开衫".into(), "毛衣".into()],
                ..Product::default()
            },
        ];
        let room = RoomCatalog::new(&products, &[]).unwrap();
        let emotes = FxHashSet::default();
        let run = |s: &str| {
            let mut out = String::new();
            let mut spans = Vec::new();
            canonicalize(s, &mut out, &mut spans);
            let mut names = Vec::new();
            if let Some(index) = room.names() {
                index.find_overlapping(&out, &mut names);
            }
            find_atoms(&out, &emotes, &room, &names, true, &mut spans);
            link(&out, &spans, &room).map(|id| id.to_string())
        };
        assert_eq!(run("羽绒服多少钱").as_deref(), Some("1"));
        assert_eq!(run("毛衣和2号一样吗").as_deref(), Some("2"));
        assert_eq!(run("羽绒服和二号比").as_deref(), Some("2"));
        assert_eq!(run("9号多少钱"), None);
        assert_eq!(run("这个多少钱"), None);
        let none = RoomCatalog::empty();
        let mut out = String::new();
        let mut spans = Vec::new();
        canonicalize("9号", &mut out, &mut spans);
        assert_eq!(link(&out, &spans, none).as_deref(), Some("9"));
    }
}
