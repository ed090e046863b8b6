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
    /// Which kinds of characters the normalized text holds (see [`Seen`]).
    pub seen: Seen,
}

/// Kinds of characters in the normalized text, noted as each is written.
///
/// Every later stage looks for something that needs one of a few characters: masking an
/// ASCII letter, digit or `@`, a product reference a digit or a numeral, an emote code a `[`.
/// Most comments hold none of them, and a flag set here lets a stage skip its pass over the
/// text, where each pass decoding every character again was most of the cost of analysis.
/// A flag may be set when the stage then finds nothing, never the other way round.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seen(u16);

impl Seen {
    /// An ASCII letter or digit, or `@`: [`crate::privacy::mask`] can find something.
    pub const MASKABLE: u16 = 1;
    /// A character that can begin a numbered product reference: an ASCII digit, `#`, `n`,
    /// 第, 链 or a Chinese numeral.
    pub const REFERENCE: u16 = 1 << 1;
    /// `[`: an emote code.
    pub const BRACKET: u16 = 1 << 2;
    /// An ASCII digit.
    pub const DIGIT: u16 = 1 << 3;
    /// `1`.
    pub const ONE: u16 = 1 << 4;
    /// 比 和 跟 与: a comparison.
    pub const COMPARE: u16 = 1 << 5;
    /// 要 来: an order with a quantity.
    pub const ORDER: u16 = 1 << 6;
    /// 不 没: the A不A question form.
    pub const NEGATION: u16 = 1 << 7;
    /// 不: a comparison by 不如.
    pub const BU: u16 = 1 << 8;

    pub fn has(self, flags: u16) -> bool {
        self.0 & flags != 0
    }

    /// The flags of one character of normalized text.
    #[inline]
    fn of(c: char) -> u16 {
        if c.is_ascii() {
            return ASCII_SEEN[c as usize];
        }
        if !('\u{4e00}'..='\u{9fff}').contains(&c) {
            return 0;
        }
        Seen::of_han(c)
    }

    /// [`Seen::of`] a character of the main CJK block.
    #[inline]
    fn of_han(c: char) -> u16 {
        let i = (c as usize).wrapping_sub(0x4e00);
        if HAN_SEEN
            .get(i / 64)
            .is_none_or(|w| w & (1 << (i % 64)) == 0)
        {
            return 0;
        }
        han_seen(c)
    }
}

/// Characters in U+4E00..=U+9FFF (rounded up to whole words of bits).
const HAN_BLOCK: usize = 0x5200;

/// The Han characters [`han_seen`] gives flags to.
const HAN_NOTED: [char; 21] = [
    '第', '链', '一', '二', '三', '四', '五', '六', '七', '八', '九', '十', '两', '比', '不', '和',
    '跟', '与', '要', '来', '没',
];

fn han_seen(c: char) -> u16 {
    match c {
        '第' | '链' | '一' | '二' | '三' | '四' | '五' | '六' | '七' | '八' | '九' | '十'
        | '两' => Seen::REFERENCE,
        '不' => Seen::BU | Seen::NEGATION,
        '比' | '和' | '跟' | '与' => Seen::COMPARE,
        '要' | '来' => Seen::ORDER,
        '没' => Seen::NEGATION,
        _ => 0,
    }
}

/// A bit per character of the main CJK block: set for [`HAN_NOTED`]. Most Han characters
/// have no flag, and a bit test says so before the `match`.
const HAN_SEEN: [u64; HAN_BLOCK / 64] = {
    let mut bits = [0u64; HAN_BLOCK / 64];
    let mut k = 0;
    while k < HAN_NOTED.len() {
        let i = HAN_NOTED[k] as usize - 0x4e00;
        bits[i / 64] |= 1 << (i % 64);
        k += 1;
    }
    bits
};

/// [`Seen`] flags of each ASCII character.
const ASCII_SEEN: [u16; 128] = {
    let mut t = [0u16; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        let mut f = 0;
        if c.is_ascii_alphanumeric() || c == b'@' {
            f |= Seen::MASKABLE;
        }
        if c.is_ascii_digit() {
            f |= Seen::DIGIT | Seen::REFERENCE;
        }
        if c == b'1' {
            f |= Seen::ONE;
        }
        if c == b'#' || c == b'n' {
            f |= Seen::REFERENCE;
        }
        if c == b'[' {
            f |= Seen::BRACKET;
        }
        t[b] = f;
        b += 1;
    }
    t
};

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
    /// Bit `c - U+4E00` set: a character of the main CJK block that normalization keeps as it
    /// is and that sets no [`Seen`] flag (not in `map`, not in [`HAN_NOTED`]): most characters
    /// of most comments, and [`normalize`] copies runs of them without asking anything else.
    /// Empty (no character is plain) in the default value. (Letting the flagged characters
    /// into runs, their flags noted there, cost more per character of every run than the
    /// general path costs for the few flagged ones.)
    plain_han: Box<[u64]>,
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
        let mut plain_han = vec![0u64; HAN_BLOCK / 64].into_boxed_slice();
        for (i, w) in plain_han.iter_mut().enumerate() {
            for bit in 0..64 {
                let plain = char::from_u32((0x4e00 + i * 64 + bit) as u32)
                    .is_some_and(|c| !map.contains_key(&c) && Seen::of_han(c) == 0);
                if plain {
                    *w |= 1 << bit;
                }
            }
        }
        Simplifier {
            bmp,
            map,
            plain_han,
        }
    }

    /// Whether `c`, a character of U+4E00..=U+9FFF, is kept as it is and sets no flag.
    #[inline]
    fn plain_han(&self, c: u32) -> bool {
        let i = c.wrapping_sub(0x4e00) as usize;
        self.plain_han
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
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

/// How a character of normalized text is treated by run collapsing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// ASCII digits and letters are always kept (numbers, ids, `xxl`).
    Kept,
    /// Punctuation: one is as good as many.
    Punct,
    /// Everything else: runs longer than [`RUN_KEEP`] are collapsed.
    Other,
}

#[inline]
fn class(c: char) -> Class {
    if c.is_ascii_alphanumeric() {
        Class::Kept
    } else if is_punct(c) {
        Class::Punct
    } else {
        Class::Other
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
    // The previous mapped character and the length of its run in the input; `\0` is never
    // mapped to (it is a control character), so it stands for "none yet".
    let mut prev = '\0';
    let mut run = 0usize;
    let mut cheer = false; // a run of four or more of one digit was kept
    let mut raw_prev = '\0';
    let mut raw_run = 0usize;
    let mut longest = 0usize;
    let mut seen = 0u16;
    let bytes = scan.as_bytes();
    let mut at = 0;
    loop {
        // Most characters are plain Han, each unlike the one before: a run of them is kept
        // as it is, in one copy, with none of the tests below (which all pass for them).
        let (end, n) = plain_run(
            bytes,
            at,
            raw_prev,
            prev,
            MAX_CHARS.saturating_sub(kept),
            traditional,
        );
        if n > 0 {
            out.push_str(scan.get(at..end).unwrap_or_default());
            kept += n;
            let last = scan.get(..end).and_then(|s| s.chars().next_back());
            let last = last.unwrap_or(prev);
            (raw_prev, prev) = (last, last);
            (raw_run, run) = (1, 1);
            longest = longest.max(1);
            at = end;
        }
        let Some(raw) = scan.get(at..).and_then(|rest| rest.chars().next()) else {
            break;
        };
        at += raw.len_utf8();
        if raw == raw_prev {
            raw_run += 1;
        } else {
            raw_prev = raw;
            raw_run = 1;
        }
        // `\0` is counted as a run too: the comparison above starts it at one either way.
        if raw_run > longest && !raw.is_ascii_digit() {
            longest = raw_run;
        }
        // Most characters of a comment are Han, which are neither punctuation nor kept.
        let (c, class) = match raw {
            '\u{4e00}'..='\u{9fff}' => {
                let c = traditional.simplify(raw);
                if c == raw {
                    (c, Class::Other)
                } else {
                    if c == ' ' && ends_in_space(out) {
                        continue;
                    }
                    (c, class(c))
                }
            }
            _ => {
                let Some(c) = map_char(raw, traditional) else {
                    continue;
                };
                if c == ' ' && ends_in_space(out) {
                    continue;
                }
                (c, class(c))
            }
        };
        if c == prev {
            run += 1;
        } else {
            prev = c;
            run = 1;
        }
        match class {
            Class::Kept => {}
            Class::Punct => {
                if run > 1 {
                    if run == 2 && matches!(c, '!' | '?') {
                        result.emphasis = result.emphasis.saturating_add(1);
                    }
                    continue;
                }
            }
            Class::Other => {
                if run > RUN_KEEP {
                    if run == RUN_KEEP + 1 {
                        result.emphasis = result.emphasis.saturating_add(1);
                    }
                    continue;
                }
            }
        }
        if kept == MAX_CHARS {
            result.truncated = true;
            break;
        }
        out.push(c);
        kept += 1;
        seen |= Seen::of(c);
        // Every digit is kept, so `run` is also the run in `out`: only then can there be
        // cheering to squeeze, and the rescan of `out` is skipped for nearly every comment.
        if run >= 4 && c.is_ascii_digit() {
            cheer = true;
        }
    }
    while out.ends_with(' ') {
        out.pop();
    }
    if cheer {
        squeeze_cheer_digits(out);
    }
    result.longest_run = longest;
    result.seen = Seen(seen);
    result
}

/// The run of plain Han characters (see [`Simplifier::plain_han`]) that starts at
/// `bytes[at]`, each unlike the one before it (the first unlike both the last character read,
/// `raw_prev`, and the last kept, `prev`), at most `room` of them: its end and length.
/// Normalization would keep each as it is, and none sets a [`Seen`] flag, so the run is copied
/// in one piece.
#[inline]
fn plain_run(
    bytes: &[u8],
    mut at: usize,
    raw_prev: char,
    prev: char,
    room: usize,
    traditional: &Simplifier,
) -> (usize, usize) {
    let (mut before, mut last) = (raw_prev as u32, prev as u32);
    let mut n = 0;
    while n < room {
        // U+4E00..=U+9FFF is E4 B8 80 ..= E9 BF BF; `bytes` is valid UTF-8, so a lead byte in
        // E4..=E9 is followed by two continuation bytes.
        let Some(&[b0 @ 0xe4..=0xe9, b1, b2]) = bytes.get(at..at + 3) else {
            break;
        };
        let c = (u32::from(b0 & 0x0f) << 12) | (u32::from(b1 & 0x3f) << 6) | u32::from(b2 & 0x3f);
        if c < 0x4e00 || c == before || c == last || !traditional.plain_han(c) {
            break;
        }
        (before, last) = (c, c);
        n += 1;
        at += 3;
    }
    (at, n)
}

/// Whether the text written so far is empty or ends in a space: a space is not written there.
#[inline]
fn ends_in_space(out: &str) -> bool {
    out.as_bytes().last().is_none_or(|&b| b == b' ')
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
