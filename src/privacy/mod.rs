//! Masking of personal data before anything is stored or shown.
//!
//! Live comments carry phone numbers, WeChat and QQ ids, ID-card numbers, e-mail addresses and
//! street addresses (spam, or viewers asking for delivery help). [`mask`] replaces each with a
//! bracketed placeholder so the rest of the product can keep the text: `加v abc12345` becomes
//! `加v [微信]`. It runs on normalized text (half-width digits and lowercase ASCII), never
//! allocates when there is nothing to mask, and is linear in the text length.
//!
//! Viewer ids never travel raw either: [`Pseudonymizer`] turns them into a [`Pseudonym`] once,
//! where an event enters, and everything after counts, stores and shows that.

mod pseudonym;

use std::borrow::Cow;

pub use pseudonym::{PSEUDONYM_HEX, Pseudonym, Pseudonymizer, SECRET_LEN};

/// Placeholder for a mobile phone number.
pub const PHONE: &str = "[手机号]";
/// Placeholder for a WeChat id.
pub const WECHAT: &str = "[微信]";
/// Placeholder for a QQ number.
pub const QQ: &str = "[qq]";
/// Placeholder for a Chinese resident ID-card number.
pub const ID_CARD: &str = "[身份证]";
/// Placeholder for an e-mail address.
pub const EMAIL: &str = "[邮箱]";
/// Placeholder for a street address.
pub const ADDRESS: &str = "[地址]";
/// Placeholder for any other long number (landlines, order or account numbers).
pub const NUMBER: &str = "[号码]";

/// Every placeholder [`mask`] writes.
pub const PLACEHOLDERS: &[&str] = &[PHONE, WECHAT, QQ, ID_CARD, EMAIL, ADDRESS, NUMBER];

/// What [`mask`] found, as bit flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Found(u8);

impl Found {
    pub const CONTACT: u8 = 1;
    pub const IDENTITY: u8 = 2;
    pub const ADDRESS: u8 = 4;

    /// A way to reach someone off-platform (phone, WeChat, QQ, e-mail): the mark of spam.
    pub fn contact(self) -> bool {
        self.0 & Self::CONTACT != 0
    }
    pub fn any(self) -> bool {
        self.0 != 0
    }
}

/// Words that announce a WeChat id (after normalization: lowercase, half-width).
const WECHAT_CUES: &[&str] = &[
    "微信号",
    "微信",
    "v信",
    "vx",
    "wx",
    "威信",
    "薇信",
    "加v",
    "+v",
    "加微",
    "薇",
    "卫星",
];
/// Words that announce a QQ number.
const QQ_CUES: &[&str] = &["qq号", "qq", "扣扣", "企鹅"];
/// Address words after which a house number (`12号`, `3栋`) is part of an address.
const STREET_WORDS: &[&str] = &[
    "路", "街", "巷", "弄", "道", "大道", "小区", "村", "苑", "花园", "大厦", "公寓", "家园",
];
const ADDRESS_UNITS: &[&str] = &["号楼", "号院", "单元", "号", "栋", "幢", "楼", "室", "层"];

/// Replaces personal data in `text` with placeholders.
pub fn mask(text: &str) -> (Cow<'_, str>, Found) {
    // Everything we mask contains an ASCII digit or letter, or an '@': skip the rest fast.
    if !text.bytes().any(|b| b.is_ascii_alphanumeric() || b == b'@') {
        return (Cow::Borrowed(text), Found::default());
    }
    let mut out = String::new();
    let mut found = Found::default();
    let mut copied = 0; // bytes of `text` already handled
    for (i, c) in text.char_indices() {
        if i < copied || !can_start(c) {
            continue;
        }
        if let Some((len, placeholder, kind)) = match_at(text, i) {
            // Extend an address backwards over the Han place name before the street word.
            let start = if placeholder == ADDRESS {
                address_start(text, i).max(copied)
            } else {
                i
            };
            out.push_str(&text[copied..start]);
            out.push_str(placeholder);
            found.0 |= kind;
            copied = i + len;
        }
    }
    if copied == 0 {
        return (Cow::Borrowed(text), found);
    }
    out.push_str(&text[copied..]);
    (Cow::Owned(out), found)
}

/// Whether [`match_at`] can match at a character: an ASCII letter or digit (ids, numbers,
/// e-mail) or the first character of a cue word. Checked first because trying every cue at
/// every character was most of the cost of masking.
fn can_start(c: char) -> bool {
    c.is_ascii_alphanumeric() || starts_cue(c)
}

/// The first characters of [`WECHAT_CUES`] and [`QQ_CUES`].
fn starts_cue(c: char) -> bool {
    matches!(
        c,
        '微' | 'v' | 'w' | '威' | '薇' | '加' | '+' | '卫' | 'q' | '扣' | '企'
    )
}

/// Whether personal data starts at byte `i`; returns (length, placeholder, kind).
fn match_at(text: &str, i: usize) -> Option<(usize, &'static str, u8)> {
    let rest = &text[i..];
    let first = rest.as_bytes()[0];
    let prev = text[..i].chars().next_back();
    let glued = prev.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');

    // Contact cues: `微信 abc123`, `qq:12345678`.
    if rest.chars().next().is_some_and(starts_cue)
        && let Some(found) = cue_at(text, i)
    {
        return Some(found);
    }
    if first.is_ascii_alphanumeric() && !glued {
        if let Some(len) = email_len(rest) {
            return Some((len, EMAIL, Found::CONTACT));
        }
    }
    if first.is_ascii_digit() && !glued {
        let run = digit_run(rest);
        let starts_mobile = rest
            .as_bytes()
            .get(1)
            .is_some_and(|b| (b'3'..=b'9').contains(b));
        if run.digits == 11 && first == b'1' && starts_mobile {
            return Some((run.bytes, PHONE, Found::CONTACT));
        }
        if run.digits == 18 || (run.digits == 17 && rest[run.bytes..].starts_with('x')) {
            let len = run.bytes + usize::from(run.digits == 17);
            return Some((len, ID_CARD, Found::IDENTITY));
        }
        if run.digits >= 7 {
            return Some((run.bytes, NUMBER, Found::IDENTITY));
        }
        // A house number right after a street word: `人民路12号3栋`.
        if let Some(p) = prev
            && STREET_WORDS.iter().any(|w| text[..i].ends_with(w))
            && p != ' '
        {
            let len = address_units_len(rest);
            if len > 0 {
                return Some((len, ADDRESS, Found::ADDRESS));
            }
        }
    }
    None
}

/// A contact cue and the id after it, starting at byte `i`.
fn cue_at(text: &str, i: usize) -> Option<(usize, &'static str, u8)> {
    let rest = &text[i..];
    for cue in WECHAT_CUES {
        if let Some(after) = rest.strip_prefix(cue) {
            let skip = separator_len(after);
            if let Some(id_len) = wechat_id_len(&after[skip..]) {
                let len = cue.len() + skip + id_len;
                return Some((
                    len,
                    contact_with_cue(text, i, cue, skip, len),
                    Found::CONTACT,
                ));
            }
        }
    }
    for cue in QQ_CUES {
        if let Some(after) = rest.strip_prefix(cue) {
            let skip = separator_len(after);
            let digits = digit_run(&after[skip..]);
            if (5..=11).contains(&digits.digits) {
                let len = cue.len() + skip + digits.bytes;
                return Some((
                    len,
                    contact_with_cue(text, i, cue, skip, len),
                    Found::CONTACT,
                ));
            }
        }
    }
    None
}

/// A contact id keeps its cue word visible (`加v [微信]`): the cue is what tells a reader why
/// the text was masked, and it is not personal.
fn contact_with_cue(_text: &str, _i: usize, _cue: &str, _skip: usize, _len: usize) -> &'static str {
    // The placeholder replaces cue, separator and id together; callers that want the cue kept
    // see it in the intent (spam). Keeping this a function documents the choice in one place.
    if QQ_CUES.contains(&_cue) { QQ } else { WECHAT }
}

/// Separators between a cue and an id: `:`, `：`, spaces, `号`, `是`.
fn separator_len(s: &str) -> usize {
    let mut len = 0;
    for c in s.chars().take(4) {
        if matches!(c, ':' | ' ' | '：' | '号' | '是' | '-' | '=') {
            len += c.len_utf8();
        } else {
            break;
        }
    }
    len
}

/// A WeChat id: 6-20 of letters, digits, `_`, `-`, starting with a letter, or a 6-11 digit
/// number (many people use their QQ or phone number).
fn wechat_id_len(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let len = bytes
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_' || **b == b'-')
        .count();
    if !(5..=20).contains(&len) {
        return None;
    }
    let id = &bytes[..len];
    let letter_led = id[0].is_ascii_alphabetic() && id.iter().any(u8::is_ascii_digit);
    let numeric = id.iter().all(u8::is_ascii_digit) && len >= 6;
    (letter_led || numeric || (id[0].is_ascii_alphabetic() && len >= 6)).then_some(len)
}

struct DigitRun {
    digits: usize,
    bytes: usize,
}

/// Digits with single spaces or hyphens between groups: `138 0013 8000`, `138-0013-8000`.
fn digit_run(s: &str) -> DigitRun {
    let bytes = s.as_bytes();
    let (mut digits, mut end, mut i) = (0, 0, 0);
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            digits += 1;
            i += 1;
            end = i;
        } else if matches!(bytes[i], b' ' | b'-')
            && digits > 0
            && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
        {
            i += 1;
        } else {
            break;
        }
    }
    DigitRun { digits, bytes: end }
}

fn email_len(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let local = bytes
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+'))
        .count();
    if local == 0 || bytes.get(local) != Some(&b'@') {
        return None;
    }
    let domain = bytes[local + 1..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
        .count();
    let dom = &s[local + 1..local + 1 + domain];
    let dom = dom.trim_end_matches('.');
    (dom.contains('.') && !dom.starts_with('.')).then_some(local + 1 + dom.len())
}

/// `12号3栋2单元501室` after a street word: digit groups each followed by a unit.
fn address_units_len(s: &str) -> usize {
    let mut len = 0;
    loop {
        let rest = &s[len..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            break;
        }
        let Some(unit) = ADDRESS_UNITS
            .iter()
            .find(|u| rest[digits..].starts_with(**u))
        else {
            // A trailing room number without a unit (`3栋501`) still belongs to the address.
            if len > 0 {
                len += digits;
            }
            break;
        };
        len += digits + unit.len();
    }
    len
}

/// Where the place name before a house number starts: back over Han characters (at most 16).
fn address_start(text: &str, number_at: usize) -> usize {
    let mut start = number_at;
    for (count, (pos, c)) in text[..number_at].char_indices().rev().enumerate() {
        // Verbs and markers that introduce an address are not part of it: 寄到 / 送到 / 地址是.
        if count >= 16 || !is_han(c) || "到寄送址是在住:".contains(c) {
            break;
        }
        start = pos;
    }
    start
}

fn is_han(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> String {
        mask(s).0.into_owned()
    }

    #[test]
    fn phones_with_and_without_separators() {
        assert_eq!(m("加我13800138000领福利"), "加我[手机号]领福利");
        assert_eq!(m("电话 138 0013 8000"), "电话 [手机号]");
        assert_eq!(m("138-0013-8000"), "[手机号]");
        assert!(mask("13800138000").1.contact());
    }

    #[test]
    fn wechat_and_qq_ids() {
        assert_eq!(m("加vx:abc12345 有惊喜"), "加[微信] 有惊喜");
        assert_eq!(m("微信 lily_2024"), "[微信]");
        assert_eq!(m("v信是 shop888888"), "[微信]");
        assert_eq!(m("qq 12345678"), "[qq]");
        assert_eq!(m("扣扣:987654321"), "[qq]");
        // An ordinary English word after a cue word is not an id.
        assert_eq!(m("vx不能发"), "vx不能发");
    }

    #[test]
    fn id_cards_emails_and_long_numbers() {
        assert_eq!(m("身份证110101199003071234"), "身份证[身份证]");
        assert_eq!(m("11010119900307123x"), "[身份证]");
        assert_eq!(m("邮箱 abc.d@example.com 联系"), "邮箱 [邮箱] 联系");
        assert_eq!(m("订单号 2024112312345"), "订单号 [号码]");
    }

    #[test]
    fn addresses_but_not_product_numbers() {
        assert_eq!(m("寄到人民路12号3栋2单元"), "寄到[地址]");
        assert_eq!(m("幸福小区5栋501"), "[地址]");
        assert_eq!(m("2号多少钱"), "2号多少钱");
        assert_eq!(m("160 100斤穿什么码"), "160 100斤穿什么码");
        assert_eq!(m("399元 1号链接"), "399元 1号链接");
    }

    #[test]
    fn every_cue_can_start_a_match() {
        for cue in WECHAT_CUES.iter().chain(QQ_CUES) {
            let first = cue.chars().next().unwrap();
            assert!(starts_cue(first) && can_start(first), "{cue}");
        }
    }

    #[test]
    fn nothing_to_mask_borrows() {
        assert!(matches!(mask("好看好看").0, Cow::Borrowed(_)));
        assert!(matches!(mask("m码有吗 2号").0, Cow::Borrowed(_)));
    }
}
