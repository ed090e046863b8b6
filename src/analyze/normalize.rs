//! Normalization: the first thing every comment goes through.
//!
//! One pass maps characters (full-width → half-width, ASCII lowercase, traditional →
//! simplified, zero-width/bidi/control characters and emoji variation selectors out, whitespace
//! squeezed) and collapses runs (好好好好好看 → 好好看, 哈哈哈哈 → 哈哈, ？？？ → ?, 66666 → 666).
//! Work is bounded: at most [`MAX_SCAN_BYTES`] of input are read and [`MAX_CHARS`] kept, so a
//! 10 kB comment costs what a 2 kB one does.

use rustc_hash::FxHashMap;

/// Bytes of input looked at; the rest is ignored.
pub const MAX_SCAN_BYTES: usize = 2048;
/// Characters of normalized text kept.
pub const MAX_CHARS: usize = 200;
/// A run of one character longer than this many is collapsed (Han, emoji, letters of slang).
const RUN_KEEP: usize = 2;

/// What normalization noticed besides the text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Normalized {
    /// Runs collapsed or `!` repeated: the commenter is insisting (intensifies sentiment).
    pub emphasis: u8,
    /// The input was cut at [`MAX_SCAN_BYTES`] or [`MAX_CHARS`].
    pub truncated: bool,
    /// The longest run of one character other than an ASCII digit in the input, before any
    /// mapping, as far as it was read: all of it unless `truncated`. Flood detection needs
    /// it, and counting here saves it a pass over the input.
    pub longest_run: usize,
}

/// Traditional → simplified character table.
///
/// Every Han character of every comment is looked up, and almost none is traditional, so a
/// bit per Basic Multilingual Plane character (8 KiB) answers "no" before the hash map is
/// asked: hashing every character was a large part of normalization.
#[derive(Debug, Clone, Default)]
pub struct Simplifier {
    /// Bit `c` set: BMP character `c` has an entry in `map`. Empty when `map` is.
    bmp: Box<[u64]>,
    map: FxHashMap<char, char>,
}

impl Simplifier {
    pub fn new(map: FxHashMap<char, char>) -> Simplifier {
        let mut bmp = vec![0u64; 0x10000 / 64].into_boxed_slice();
        for &c in map.keys() {
            let c = c as usize;
            if c < 0x10000 {
                bmp[c / 64] |= 1 << (c % 64);
            }
        }
        Simplifier { bmp, map }
    }

    /// The simplified form of `c`, or `c` itself.
    #[inline]
    fn simplify(&self, c: char) -> char {
        let i = c as usize;
        if i < 0x10000
            && self
                .bmp
                .get(i / 64)
                .is_none_or(|w| w & (1 << (i % 64)) == 0)
        {
            return c;
        }
        self.map.get(&c).copied().unwrap_or(c)
    }
}

/// Normalizes `input` into `out` (cleared first).
pub fn normalize(input: &str, traditional: &Simplifier, out: &mut String) -> Normalized {
    out.clear();
    let mut result = Normalized::default();
    let mut scan = input;
    if scan.len() > MAX_SCAN_BYTES {
        let mut end = MAX_SCAN_BYTES;
        while !scan.is_char_boundary(end) {
            end -= 1;
        }
        scan = &scan[..end];
        result.truncated = true;
    }
    let mut kept = 0usize;
    let mut prev: Option<char> = None;
    let mut run = 0usize; // length of the current run of `prev` in the input
    let mut cheer = false; // a run of four or more of one digit was kept
    let mut raw_prev: Option<char> = None;
    let mut raw_run = 0usize;
    for raw in scan.chars() {
        if Some(raw) == raw_prev {
            raw_run += 1;
        } else {
            raw_prev = Some(raw);
            raw_run = 1;
        }
        if !raw.is_ascii_digit() {
            result.longest_run = result.longest_run.max(raw_run);
        }
        let Some(c) = map_char(raw, traditional) else {
            continue;
        };
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        if Some(c) == prev {
            run += 1;
        } else {
            prev = Some(c);
            run = 1;
        }
        let keep = if c.is_ascii_digit() {
            // Numbers carry meaning (prices, phone numbers, 160 100斤) except as cheering:
            // 6666 and 1111 are 666 and 111; handled after the run ends.
            true
        } else if is_punct(c) {
            if run > 1 && matches!(c, '!' | '?') && run == 2 {
                result.emphasis = result.emphasis.saturating_add(1);
            }
            run == 1
        } else if c.is_ascii_alphabetic() {
            // Letters spell ids and words (www, xxl); leave them.
            true
        } else {
            if run == RUN_KEEP + 1 {
                result.emphasis = result.emphasis.saturating_add(1);
            }
            run <= RUN_KEEP
        };
        if !keep {
            continue;
        }
        if kept == MAX_CHARS {
            result.truncated = true;
            break;
        }
        out.push(c);
        kept += 1;
        // Every digit is kept, so `run` is also the run in `out`: only then can there be
        // cheering to squeeze, and the rescan of `out` is skipped for nearly every comment.
        cheer |= run >= 4 && c.is_ascii_digit();
    }
    while out.ends_with(' ') {
        out.pop();
    }
    if cheer {
        squeeze_cheer_digits(out);
    }
    result
}

/// Maps one input character; `None` drops it.
fn map_char(c: char, traditional: &Simplifier) -> Option<char> {
    let c = match c {
        // Most characters of a comment: no arm below applies to them but the last.
        '\u{4e00}'..='\u{9fff}' => return Some(traditional.simplify(c)),
        'A'..='Z' => return Some(c.to_ascii_lowercase()),
        '\u{0}'..='\u{7f}' => {
            return if c.is_ascii_control() {
                if matches!(c, '\t' | '\n' | '\r') {
                    Some(' ')
                } else {
                    None
                }
            } else {
                Some(c)
            };
        }
        // Full-width ASCII forms.
        '\u{ff01}'..='\u{ff5e}' => {
            let half = char::from_u32(c as u32 - 0xfee0).unwrap_or(c);
            return Some(half.to_ascii_lowercase());
        }
        '\u{3000}' | '\u{a0}' | '\u{2000}'..='\u{200a}' | '\u{2028}' | '\u{2029}' => ' ',
        // Zero-width, joiners, bidi controls, BOM, variation selectors, skin tones, tags.
        '\u{200b}'..='\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{206f}'
        | '\u{feff}'
        | '\u{fe00}'..='\u{fe0f}'
        | '\u{1f3fb}'..='\u{1f3ff}'
        | '\u{e0000}'..='\u{e007f}' => return None,
        '。' => '.',
        '、' => ',',
        '〜' => '~',
        '“' | '”' | '「' | '」' | '『' | '』' => '"',
        '‘' | '’' => '\'',
        '【' | '〔' => '[',
        '】' | '〕' => ']',
        '…' => '.',
        '\u{80}'..='\u{9f}' => return None,
        _ => c,
    };
    if c.is_control() {
        return None;
    }
    if (c as u32) >= 0x3400 {
        return Some(traditional.simplify(c));
    }
    Some(c)
}

/// ASCII and CJK punctuation: one is as good as many.
#[inline]
pub fn is_punct(c: char) -> bool {
    c.is_ascii_punctuation() && !matches!(c, '#' | '[' | ']' | '@' | '_' | '-' | '+' | '%' | '/')
        || matches!(c, '·' | '《' | '》' | '¥' | '￥')
}

/// `6666666` → `666`, `11111` → `111`: runs of one cheering digit, four or longer, standing
/// alone (not inside a longer number).
fn squeeze_cheer_digits(text: &mut String) {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut edits: Vec<(usize, usize)> = Vec::new();
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let digits = &bytes[start..i];
            if digits.len() >= 4
                && matches!(digits[0], b'1' | b'6' | b'8')
                && digits.iter().all(|d| *d == digits[0])
            {
                edits.push((start + 3, i));
            }
        } else {
            i += 1;
        }
    }
    for (from, to) in edits.into_iter().rev() {
        text.replace_range(from..to, "");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        let mut trad = FxHashMap::default();
        trad.insert('錢', '钱');
        trad.insert('還', '还');
        trad.insert('貨', '货');
        trad.insert('嗎', '吗');
        trad.insert('𠀀', '丘');
        let mut out = String::new();
        normalize(s, &Simplifier::new(trad), &mut out);
        out
    }

    #[test]
    fn full_width_and_case() {
        assert_eq!(n("２号多少钱？"), "2号多少钱?");
        assert_eq!(n("ＹＹＤＳ！"), "yyds!");
        assert_eq!(n("M码有吗"), "m码有吗");
        assert_eq!(n("有\u{3000}XL吗"), "有 xl吗");
    }

    #[test]
    fn traditional_variants() {
        assert_eq!(n("多少錢"), "多少钱");
        assert_eq!(n("還有貨嗎"), "还有货吗");
        // Beyond the BMP the bitmap has no say; the map still does.
        assert_eq!(n("𠀀"), "丘");
        assert_eq!(n("𠀁"), "𠀁");
    }

    #[test]
    fn no_table_changes_no_character() {
        let mut out = String::new();
        normalize("還有貨嗎", &Simplifier::default(), &mut out);
        assert_eq!(out, "還有貨嗎");
    }

    #[test]
    fn runs_collapse() {
        assert_eq!(n("好好好好好看"), "好好看");
        assert_eq!(n("哈哈哈哈"), "哈哈");
        assert_eq!(n("？？？"), "?");
        assert_eq!(n("!!!!"), "!");
        assert_eq!(n("6666666"), "666");
        assert_eq!(n("111111"), "111");
        assert_eq!(n("10000"), "10000");
        assert_eq!(n("13811111111"), "13811111111");
        assert_eq!(n("xxl"), "xxl");
        assert_eq!(n("👍👍👍👍"), "👍👍");
    }

    #[test]
    fn invisible_and_control_characters_go() {
        assert_eq!(n("好\u{200b}看\u{202e}"), "好看");
        assert_eq!(n("❤\u{fe0f}"), "❤");
        assert_eq!(n("a\u{0}b\u{7}c"), "abc");
        assert_eq!(n("  上  链接 \n "), "上 链接");
        assert_eq!(n("\u{feff}"), "");
    }

    #[test]
    fn length_is_bounded() {
        let mut trad = FxHashMap::default();
        trad.insert('x', 'x');
        let trad = Simplifier::new(trad);
        let mut out = String::new();
        let long = "好看吗".repeat(5000);
        let r = normalize(&long, &trad, &mut out);
        assert!(r.truncated);
        assert!(out.chars().count() <= MAX_CHARS);
        let r = normalize("好看", &trad, &mut out);
        assert!(!r.truncated);
    }

    #[test]
    fn emphasis_counts_insisting() {
        let trad = Simplifier::default();
        let mut out = String::new();
        assert_eq!(normalize("好看", &trad, &mut out).emphasis, 0);
        assert_eq!(normalize("好好好好看!!!", &trad, &mut out).emphasis, 2);
    }
}
