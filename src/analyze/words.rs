//! The lexicon's words, looked up for every token (and for the two parts of a fused one).
//!
//! A general-purpose map keyed by `Box<str>` hashes the token's bytes, probes, and compares
//! with a call to `memcmp`, about fifty instructions a token. Nearly every token is one or
//! two Han characters, at most seven bytes, so those words are keyed by their bytes and length
//! packed in one `u64`, read from the text in one load, and found in a
//! [`super::matcher::Groups`] table, whose bit filter turns most misses away before any slot is
//! read. Longer words stay in a hash map.

use rustc_hash::FxHashMap;

use super::matcher::Groups;
use crate::analyze::lexicon::WordInfo;

/// Words of at most this many bytes are in the packed table.
const SHORT: usize = 7;

/// The lexicon's words (see the module docs).
#[derive(Debug, Clone)]
pub struct Words {
    /// Packed key (see [`packed`]) → `(i, i + 1)`, the word's index in `infos`.
    short: Groups,
    infos: Vec<WordInfo>,
    /// Words longer than [`SHORT`] bytes.
    long: FxHashMap<Box<str>, WordInfo>,
}

/// A word of at most [`SHORT`] bytes as one number: its bytes, little-endian, in the low seven
/// bytes and its length in the top one, so no two words share a key (not even one that ends
/// in a zero byte and one that does not).
#[inline]
fn packed(window: u64, len: usize) -> u64 {
    let bytes = window & ((1u64 << (8 * (len & 7))) - 1);
    bytes | ((len as u64) << 56)
}

/// The first eight bytes of `bytes` as a little-endian number, zero-padded.
fn window(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .take(8)
        .rev()
        .fold(0, |w, &b| (w << 8) | u64::from(b))
}

impl Words {
    pub fn new(words: &FxHashMap<Box<str>, WordInfo>) -> Words {
        let mut groups = Vec::new();
        let mut infos = Vec::new();
        let mut long = FxHashMap::default();
        for (word, info) in words {
            if word.len() <= SHORT {
                let i = infos.len() as u32;
                groups.push((packed(window(word.as_bytes()), word.len()), i, i + 1));
                infos.push(*info);
            } else {
                long.insert(word.clone(), *info);
            }
        }
        Words {
            short: Groups::new(&groups),
            infos,
            long,
        }
    }

    /// How many words there are.
    pub fn len(&self) -> usize {
        self.infos.len() + self.long.len()
    }

    /// The word `text[start..end]`. `padded` is `text`'s bytes followed by at least eight
    /// zeros, so the key of a short word is read in one load.
    #[inline(always)]
    pub fn get(&self, text: &str, padded: &[u8], start: usize, end: usize) -> Option<WordInfo> {
        let len = end.wrapping_sub(start);
        if len > SHORT {
            return self.get_long(text, start, end);
        }
        let window = match padded.get(start..start + 8) {
            Some(&[a, b, c, d, e, f, g, h]) => u64::from_le_bytes([a, b, c, d, e, f, g, h]),
            // Not padded as promised: read what is there.
            _ => window(padded.get(start..end)?),
        };
        let (from, to) = self.short.get(packed(window, len));
        if from == to {
            return None;
        }
        self.infos.get(from as usize).copied()
    }

    /// [`Self::get`] of a word longer than [`SHORT`] bytes: rare, and kept out of line so the
    /// short path stays small where it is inlined.
    #[inline(never)]
    fn get_long(&self, text: &str, start: usize, end: usize) -> Option<WordInfo> {
        text.get(start..end).and_then(|w| self.long.get(w)).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_as_the_map() {
        let mut map = FxHashMap::default();
        let words = [
            "好",
            "好看",
            "不",
            "太",
            "超级好看",
            "a",
            "a\0",
            "ok",
            "yyds",
            "绝绝子",
        ];
        for (i, w) in words.iter().enumerate() {
            let info = WordInfo {
                sentiment: i as f32 + 1.0,
                ..WordInfo::default()
            };
            map.insert(Box::<str>::from(*w), info);
        }
        let table = Words::new(&map);
        assert_eq!(table.len(), map.len());
        let text = "好看不太超级好看a好ok绝绝子yydsx";
        let mut padded = text.as_bytes().to_vec();
        padded.extend_from_slice(&[0; 8]);
        let starts: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        for &s in &starts {
            for e in starts
                .iter()
                .copied()
                .chain([text.len()])
                .filter(|&e| e > s)
            {
                let expected = map.get(&text[s..e]).copied();
                assert_eq!(table.get(text, &padded, s, e), expected, "{}", &text[s..e]);
                // Without the padding the answer is the same.
                assert_eq!(
                    table.get(text, text.as_bytes(), s, e),
                    expected,
                    "{}",
                    &text[s..e]
                );
            }
        }
        assert_eq!(table.get("a\0", b"a\0", 0, 2), map.get("a\0").copied());
    }
}
