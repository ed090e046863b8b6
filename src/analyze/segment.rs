//! Segmentation: jieba-rs between the spans that must stay whole.
//!
//! Product references, emote codes, placeholders and catalog names are emitted as one token
//! each; the text between them goes through jieba (HMM on, for new slang). Tokens are byte
//! ranges into the normalized text, never copies.

use jieba_rs::Jieba;

use super::Tok;
use super::normalize::is_punct;
use super::product::Span;

/// Fills `tokens` (cleared first) with the tokens of `text`.
pub fn segment(jieba: &Jieba, text: &str, spans: &[Span], tokens: &mut Vec<Tok>) {
    tokens.clear();
    let mut at = 0usize;
    for span in spans {
        let (start, end) = (span.start as usize, span.end as usize);
        if start > at {
            cut(jieba, text, at, start, tokens);
        }
        tokens.push(Tok {
            start: span.start,
            end: span.end,
            ..Tok::default()
        });
        at = end;
    }
    if at < text.len() {
        cut(jieba, text, at, text.len(), tokens);
    }
}

fn cut(jieba: &Jieba, text: &str, from: usize, to: usize, tokens: &mut Vec<Tok>) {
    let piece = &text[from..to];
    for token in jieba.cut(piece, true) {
        let start = from + token.byte_start;
        let end = from + token.byte_end;
        let word = token.word;
        // Most tokens start with a Han character, which is neither space nor punctuation:
        // U+4E00..U+9FFF is E4 B8 80 ..= E9 BF BF in UTF-8, told from the first two bytes.
        let han = match word.as_bytes() {
            [0xe5..=0xe9, ..] => true,
            [0xe4, b, ..] => *b >= 0xb8,
            _ => false,
        };
        let space = !han && word.chars().all(char::is_whitespace);
        let brk = space || !han && word.chars().all(is_punct);
        tokens.push(Tok {
            start: start as u32,
            end: end as u32,
            brk,
            space,
            ..Tok::default()
        });
    }
}
