//! Multi-string matching tuned for comments: a few dozen bytes, searched once each.
//!
//! Two matchers, because the pattern sets differ a thousandfold in size:
//!
//! - [`Matcher`], Aho-Corasick, for the few dozen exclamations.
//!   [`aho_corasick::AhoCorasick`] picks its automaton at run time and calls it through a trait
//!   object, one dynamic call per byte, and by default runs a vectorised prefilter whose setup
//!   costs more than it skips on a 25-byte comment. [`Matcher`] holds the DFA itself, so the
//!   search loop is monomorphized and inlined, with the prefilter off.
//! - [`PatternIndex`] for the ~1,160 intent triggers and a room's product names (searched in
//!   one pass, [`PatternIndex::find_overlapping_with`]). The triggers' DFA is 2.7 MB, and
//!   walking it touched a new cache line at nearly every byte: the largest cost in time,
//!   though not in instructions (the contiguous NFA is smaller but slower still). Comments
//!   are short, nine characters on average, so the index looks patterns up by their first two
//!   characters, behind a 2 KB bit filter that turns most positions away, and compares the
//!   rest of the few candidates.
//!
//! Each gives what the `aho_corasick` search it replaces gave; the tests check that against
//! `aho_corasick` itself, on every string of up to five characters over an alphabet that makes
//! the patterns overlap in every way.

use aho_corasick::automaton::Automaton;
use aho_corasick::dfa::DFA;
use aho_corasick::{BuildError, Input, Match, MatchKind, StartKind};

/// A small set of patterns as an Aho-Corasick DFA (see the module docs).
#[derive(Debug, Clone)]
pub struct Matcher {
    dfa: DFA,
}

impl Matcher {
    /// Compiles `patterns` with the given match semantics.
    pub fn new<I, P>(kind: MatchKind, patterns: I) -> Result<Matcher, BuildError>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<[u8]>,
    {
        let dfa = DFA::builder()
            .match_kind(kind)
            .start_kind(StartKind::Unanchored)
            .prefilter(false)
            .build(patterns)?;
        Ok(Matcher { dfa })
    }

    /// Non-overlapping matches, as `AhoCorasick::find_iter`.
    pub fn find_iter<'h>(&self, text: &'h str) -> impl Iterator<Item = Match> + use<'_, 'h> {
        // Only an anchored search can fail, and the DFA is built for unanchored ones.
        self.dfa
            .try_find_iter(Input::new(text))
            .expect("unanchored search on an unanchored DFA")
    }
}

/// Many short patterns indexed by their first two characters (see the module docs).
///
/// The text is walked by bytes, not decoded: keys are the UTF-8 of one or two characters.
#[derive(Debug, Clone, Default)]
pub struct PatternIndex {
    /// One-character patterns: that character → range of `entries`.
    singles: Groups,
    /// Longer patterns: their first two characters → range of `entries`. Keyed on two
    /// characters, a comment of the bench corpus leaves about five candidates to compare;
    /// keyed on one, thirty.
    pairs: Groups,
    /// Grouped by key; within a group by length, then pattern order.
    entries: Vec<Entry>,
    /// The patterns after their key, back to back.
    tails: String,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// The tail's first four bytes (fewer if it is shorter), little-endian: most candidates
    /// fail on these, without a call to `memcmp`.
    head: u32,
    tail_start: u32,
    tail_len: u16,
    pattern: u16,
}

/// A pattern found: its index in the list the index was built from, and its byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Found {
    pub pattern: usize,
    pub start: usize,
    pub end: usize,
}

/// Why a [`PatternIndex`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("pattern {index} is empty")]
    Empty { index: usize },
    #[error("more than 65,536 patterns, one longer than 64 KiB, or 4 GiB in all")]
    TooMany,
}

/// The first four bytes of `bytes` as a little-endian word, zero-padded.
#[inline]
fn word(bytes: &[u8]) -> u32 {
    match *bytes {
        [a, b, c, d, ..] => u32::from_le_bytes([a, b, c, d]),
        // A copy of variable length would be a call to `memcpy`.
        _ => bytes.iter().rev().fold(0, |w, &b| (w << 8) | u32::from(b)),
    }
}

/// The bits of a [`word`] that a tail of `len` bytes fills.
#[inline]
fn head_mask(len: usize) -> u32 {
    if len >= 4 {
        u32::MAX
    } else {
        (1 << (8 * len)) - 1
    }
}

/// The first eight bytes of `bytes` as a little-endian word, zero-padded.
#[inline]
fn word64(bytes: &[u8]) -> u64 {
    match *bytes {
        [a, b, c, d, e, f, g, h, ..] => u64::from_le_bytes([a, b, c, d, e, f, g, h]),
        _ => bytes.iter().rev().fold(0, |w, &b| (w << 8) | u64::from(b)),
    }
}

/// The lookup key of the first `len` bytes of a [`word64`]: the UTF-8 of a pattern's first
/// character, or of its first two. Taken from bytes, so the text is never decoded; UTF-8
/// being prefix-free, no two keys of one table collide. `len` is 1 to 8 (two characters of at
/// most four bytes), and the mask is a shift rather than a branch.
#[inline]
fn key(window: u64, len: usize) -> u64 {
    // 64 - 8 × len is 0 to 56 for every `len` this is called with; wrapping only keeps an
    // impossible `len` from being a panic.
    window & u64::MAX.wrapping_shr(64u32.wrapping_sub(8 * len as u32))
}

/// The length of the UTF-8 sequence a lead byte starts, by its high four bits (a table, not
/// a chain of compares: this runs twice per character of every comment).
#[inline]
fn utf8_len(lead: u8) -> usize {
    const LEN: [u8; 16] = [1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 4];
    usize::from(LEN[usize::from(lead >> 4)])
}

impl PatternIndex {
    pub fn new<I, P>(patterns: I) -> Result<PatternIndex, PatternError>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<str>,
    {
        let patterns: Vec<P> = patterns.into_iter().collect();
        // (is a pair, key, length, pattern index, tail); sorting groups keys and orders each
        // group.
        let mut sorted: Vec<(bool, u64, usize, usize, &str)> = Vec::with_capacity(patterns.len());
        for (index, pattern) in patterns.iter().enumerate() {
            let pattern = pattern.as_ref();
            let mut chars = pattern.chars();
            let first = chars.next().ok_or(PatternError::Empty { index })?;
            let key_len = first.len_utf8() + chars.next().map_or(0, char::len_utf8);
            let pair = key_len > first.len_utf8();
            let key = key(word64(pattern.as_bytes()), key_len);
            sorted.push((pair, key, pattern.len(), index, &pattern[key_len..]));
        }
        sorted.sort_unstable();
        let mut index = PatternIndex::default();
        let (mut singles, mut pairs) = (Vec::new(), Vec::new());
        for (pair, key, _, pattern, tail) in sorted {
            let at = index.entries.len() as u32;
            let groups: &mut Vec<(u64, u32, u32)> = if pair { &mut pairs } else { &mut singles };
            match groups.last_mut() {
                Some(group) if group.0 == key => group.2 = at + 1,
                _ => groups.push((key, at, at + 1)),
            }
            let too_many = |_| PatternError::TooMany;
            index.entries.push(Entry {
                head: word(tail.as_bytes()),
                tail_start: u32::try_from(index.tails.len()).map_err(too_many)?,
                tail_len: u16::try_from(tail.len()).map_err(too_many)?,
                pattern: u16::try_from(pattern).map_err(too_many)?,
            });
            index.tails.push_str(tail);
        }
        index.singles = Groups::new(&singles);
        index.pairs = Groups::new(&pairs);
        Ok(index)
    }

    /// Every occurrence in `text`, overlapping ones included, into `out` (cleared first): by
    /// start, then shortest first, then in pattern order. For one start that is the order of
    /// `AhoCorasick::find_overlapping_iter` (which reports by end, and at one end in pattern
    /// order for equal strings); only the order across starts differs.
    #[cfg(test)]
    pub fn find_overlapping(&self, text: &str, out: &mut Vec<Found>) {
        let mut pad = Vec::new();
        self.find_overlapping_with(None, text, &mut pad, out, &mut Vec::new());
    }

    /// [`Self::find_overlapping`] of this index into `out` and of `other` into `other_out`, in
    /// one pass over `text`: both look up the same keys at each character. `pad` is scratch
    /// space for a copy of the text followed by zeros, so every eight-byte read of the scan
    /// is one load (reads past the end of a `str` took a byte at a time).
    pub fn find_overlapping_with(
        &self,
        other: Option<&PatternIndex>,
        text: &str,
        pad: &mut Vec<u8>,
        out: &mut Vec<Found>,
        other_out: &mut Vec<Found>,
    ) {
        out.clear();
        other_out.clear();
        let n = text.len();
        pad.clear();
        pad.extend_from_slice(text.as_bytes());
        pad.extend_from_slice(&[0; 8]);
        let bytes = pad.as_slice();
        // A room's names are two characters or longer: most rooms have no single to look up.
        let other_singles = other.filter(|o| !o.singles.is_empty());
        let mut start = 0;
        while start < n {
            // The padding makes this one bounds check per character (and it never fails); the
            // lead bytes of both characters are then taken from the window, unchecked.
            let Some(&[b0, b1, b2, b3, b4, b5, b6, b7]) = bytes.get(start..start + 8) else {
                break;
            };
            let window = u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7]);
            let first = utf8_len(b0);
            let after = start + first;
            // One-character patterns are the shortest, so they come first.
            let single = key(window, first);
            self.lookup(&self.singles, bytes, n, single, start, after, out);
            if let Some(other) = other_singles {
                other.lookup(&other.singles, bytes, n, single, start, after, other_out);
            }
            if after < n {
                // `first` is at most 4: the second character's lead byte is in the window.
                let len = first + utf8_len((window >> (8 * first)) as u8);
                let pair = key(window, len);
                self.lookup(&self.pairs, bytes, n, pair, start, start + len, out);
                if let Some(other) = other {
                    other.lookup(&other.pairs, bytes, n, pair, start, start + len, other_out);
                }
            }
            start = after;
        }
    }

    /// Pushes the entries of `key` in `groups` (this index's singles or pairs) whose tail
    /// follows at `after`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn lookup(
        &self,
        groups: &Groups,
        bytes: &[u8],
        n: usize,
        key: u64,
        start: usize,
        after: usize,
        out: &mut Vec<Found>,
    ) {
        let (from, to) = groups.get(key);
        if from != to {
            self.compare(bytes, n, start, after, from, to, out);
        }
    }

    /// Pushes the entries `from..to` whose tail follows at `after`. `bytes` is the text
    /// (`n` bytes) followed by at least eight zeros.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn compare(
        &self,
        bytes: &[u8],
        n: usize,
        start: usize,
        after: usize,
        from: u32,
        to: u32,
        out: &mut Vec<Found>,
    ) {
        let rest = &bytes[after..];
        let left = n - after;
        let head = word(rest);
        let tails = self.tails.as_bytes();
        for e in &self.entries[from as usize..to as usize] {
            let len = usize::from(e.tail_len);
            if head & head_mask(len) != e.head || left < len {
                continue;
            }
            let tail_start = e.tail_start as usize;
            if len <= 4 || rest[4..len] == tails[tail_start + 4..tail_start + len] {
                out.push(Found {
                    pattern: usize::from(e.pattern),
                    start,
                    end: after + len,
                });
            }
        }
    }
}

/// The non-overlapping leftmost-longest matches among `found` (as [`PatternIndex`] reports
/// them: by start, then shortest first, then in pattern order): what
/// `AhoCorasick::find_iter` with `MatchKind::LeftmostLongest` gives on the same text.
pub fn leftmost_longest(found: &[Found]) -> impl Iterator<Item = Found> + '_ {
    let mut i = 0;
    let mut end = 0;
    std::iter::from_fn(move || {
        while i < found.len() {
            let start = found[i].start;
            // The first of the longest at this start: lengths only grow along one start.
            let mut best = found[i];
            i += 1;
            while i < found.len() && found[i].start == start {
                if found[i].end > best.end {
                    best = found[i];
                }
                i += 1;
            }
            if start >= end {
                end = best.end;
                return Some(best);
            }
        }
        None
    })
}

/// Key → range of entries, looked up at every character of every comment (and, in
/// [`super::words`], for every token).
///
/// Open addressing, at most half full, so a hit is a multiplication and nearly always one
/// probe, where a general-purpose hash map costs several times that. Most lookups miss, and
/// the trigger table is 32 KB, so a bit filter answers those first from a few cache lines.
/// The filter has the same size in every table, [`FILTER_BITS`] (2 KiB: 18 bits per key for
/// the ~900 trigger pairs), so its index, the top bits of the hash, is within it by
/// construction and the probe needs no bounds check.
#[derive(Debug, Clone)]
pub(super) struct Groups {
    /// (key, start, end); `end == 0` marks an empty slot (a group has entries).
    slots: Vec<(u64, u32, u32)>,
    /// How many groups there are.
    len: usize,
    shift: u32,
    /// Bit `hash >> (64 - FILTER_LOG2)` is set for every key.
    filter: Box<[u64; FILTER_BITS / 64]>,
}

/// log2 of the bits of a [`Groups`] filter.
const FILTER_LOG2: u32 = 14;
const FILTER_BITS: usize = 1 << FILTER_LOG2;

impl Default for Groups {
    fn default() -> Self {
        Groups::new(&[])
    }
}

impl Groups {
    pub(super) fn new(groups: &[(u64, u32, u32)]) -> Groups {
        let len = (groups.len() * 2).next_power_of_two().max(2);
        let mut table = Groups {
            slots: vec![(0, 0, 0); len],
            len: groups.len(),
            shift: 64 - len.trailing_zeros(),
            filter: Box::new([0; FILTER_BITS / 64]),
        };
        for &group in groups {
            let hash = Self::hash(group.0);
            let bit = Self::filter_bit(hash);
            table.filter[bit / 64] |= 1 << (bit % 64);
            let mut i = (hash >> table.shift) as usize;
            while table.slots[i].2 != 0 {
                i = (i + 1) & (len - 1);
            }
            table.slots[i] = group;
        }
        table
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    fn hash(key: u64) -> u64 {
        key.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }

    /// The filter bit of a hash: below [`FILTER_BITS`], since it is the hash's top
    /// [`FILTER_LOG2`] bits.
    #[inline]
    fn filter_bit(hash: u64) -> usize {
        (hash >> (64 - FILTER_LOG2)) as usize
    }

    /// The range of `key`'s entries; empty when there are none.
    #[inline]
    pub(super) fn get(&self, key: u64) -> (u32, u32) {
        let hash = Self::hash(key);
        let bit = Self::filter_bit(hash);
        if self.filter[bit / 64] & (1 << (bit % 64)) == 0 {
            return (0, 0);
        }
        let mask = self.slots.len() - 1;
        let mut i = (hash >> self.shift) as usize;
        loop {
            let (k, from, to) = self.slots[i];
            if to == 0 || k == key {
                return (from, to);
            }
            i = (i + 1) & mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use aho_corasick::AhoCorasick;

    use super::*;

    const PATTERNS: &[&str] = &[
        "多少钱",
        "多少",
        "钱",
        "少",
        "多少钱",
        "链接",
        "接",
        "a",
        "ab",
        "b",
        "bab",
        "钱钱",
        "少钱",
        "接a",
        "abcde",
        "abcdx",
    ];

    /// Every string of up to five characters over an alphabet that makes the patterns overlap
    /// in every way.
    fn texts() -> Vec<String> {
        let alphabet = ["多", "少", "钱", "链", "接", "a", "b", "c", "d", "e"];
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..5 {
            let mut next = Vec::new();
            for t in &last {
                for c in alphabet {
                    next.push(format!("{t}{c}"));
                }
            }
            all.extend(next.iter().cloned());
            last = next;
        }
        all
    }

    #[test]
    fn overlapping_same_as_aho_corasick_per_start() {
        let index = PatternIndex::new(PATTERNS).unwrap();
        let ac = AhoCorasick::new(PATTERNS).unwrap();
        let mut ours = Vec::new();
        for text in texts() {
            index.find_overlapping(&text, &mut ours);
            let ours: Vec<_> = ours.iter().map(|f| (f.pattern, f.start, f.end)).collect();
            let mut theirs: Vec<_> = ac
                .find_overlapping_iter(&text)
                .map(|m| (m.pattern().as_usize(), m.start(), m.end()))
                .collect();
            // Aho-Corasick reports by end; a stable sort by start keeps its order per start.
            theirs.sort_by_key(|m| m.1);
            assert_eq!(ours, theirs, "{text}");
        }
    }

    #[test]
    fn matcher_same_as_aho_corasick() {
        for kind in [MatchKind::Standard, MatchKind::LeftmostLongest] {
            let ours = Matcher::new(kind, PATTERNS).unwrap();
            let theirs = AhoCorasick::builder()
                .match_kind(kind)
                .build(PATTERNS)
                .unwrap();
            for text in texts() {
                assert!(ours.find_iter(&text).eq(theirs.find_iter(&text)), "{text}");
            }
        }
    }

    #[test]
    fn leftmost_longest_same_as_aho_corasick() {
        let index = PatternIndex::new(PATTERNS).unwrap();
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(PATTERNS)
            .unwrap();
        let mut found = Vec::new();
        for text in texts() {
            index.find_overlapping(&text, &mut found);
            let ours: Vec<_> = leftmost_longest(&found)
                .map(|f| (f.pattern, f.start, f.end))
                .collect();
            let theirs: Vec<_> = ac
                .find_iter(&text)
                .map(|m| (m.pattern().as_usize(), m.start(), m.end()))
                .collect();
            assert_eq!(ours, theirs, "{text}");
        }
    }

    #[test]
    fn one_pass_over_two_indexes_is_two_passes() {
        let a = PatternIndex::new(&PATTERNS[..8]).unwrap();
        let b = PatternIndex::new(&PATTERNS[6..]).unwrap();
        let (mut pad, mut both_a, mut both_b, mut one) = (vec![], vec![], vec![], vec![]);
        for text in texts() {
            a.find_overlapping_with(Some(&b), &text, &mut pad, &mut both_a, &mut both_b);
            a.find_overlapping(&text, &mut one);
            assert_eq!(both_a, one, "{text}");
            b.find_overlapping(&text, &mut one);
            assert_eq!(both_b, one, "{text}");
        }
    }

    #[test]
    fn empty_patterns_are_refused() {
        assert_eq!(
            PatternIndex::new(["a", ""]).unwrap_err(),
            PatternError::Empty { index: 1 }
        );
    }
}
