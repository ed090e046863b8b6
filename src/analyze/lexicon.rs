//! The word lists the analyzer runs on, loaded once at start-up.
//!
//! Every list is a plain text file in `lexicons/` (formats and provenance in
//! `lexicons/README.md`). The files are embedded in the binary so `livecue` runs anywhere with
//! no data directory; [`Lexicons::from_dir`] loads an edited copy instead, for people tuning
//! them. Parsing reports the file and line of the first bad entry.

use std::path::Path;

use rustc_hash::{FxHashMap, FxHashSet};
use thiserror::Error;

use super::{Intent, Topic};

/// Why a lexicon could not be loaded.
#[derive(Debug, Error)]
pub enum LexiconError {
    #[error("{file}:{line}: {problem}")]
    BadLine {
        file: &'static str,
        line: usize,
        problem: String,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
}

/// The files of a lexicon set, by name.
const FILES: [&str; 12] = [
    "sentiment.tsv",
    "emoji.tsv",
    "negation.txt",
    "degree.tsv",
    "adversative.txt",
    "question.tsv",
    "intents.tsv",
    "userdict.txt",
    "emotes.txt",
    "traditional.tsv",
    "stopwords.txt",
    "complaint_topics.tsv",
];

const EMBEDDED: [&str; 12] = [
    include_str!("../../lexicons/sentiment.tsv"),
    include_str!("../../lexicons/emoji.tsv"),
    include_str!("../../lexicons/negation.txt"),
    include_str!("../../lexicons/degree.tsv"),
    include_str!("../../lexicons/adversative.txt"),
    include_str!("../../lexicons/question.tsv"),
    include_str!("../../lexicons/intents.tsv"),
    include_str!("../../lexicons/userdict.txt"),
    include_str!("../../lexicons/emotes.txt"),
    include_str!("../../lexicons/traditional.tsv"),
    include_str!("../../lexicons/stopwords.txt"),
    include_str!("../../lexicons/complaint_topics.tsv"),
];

/// How a question word acts (`question.tsv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QuestionRole {
    #[default]
    None,
    /// Makes a question at the end of a clause: 吗 呢 么 嘛 不 没.
    Particle,
    /// Makes a question anywhere: 多少 几 什么 怎么 哪 能不能.
    Interrogative,
}

/// Everything a token can mean to sentiment and question detection, looked up once.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WordInfo {
    /// Polarity weight; 0 when the word carries none.
    pub sentiment: f32,
    /// Intensity multiplier of a degree adverb; 0 when the word is none.
    pub degree: f32,
    pub negator: bool,
    /// A negator that forbids (别, 不要): it does not turn a bad word good.
    pub prohibitive: bool,
    /// A sentence particle (吧 了 啊 呀 …): ends the phrase a negator can reach.
    pub particle: bool,
    pub adversative: bool,
    pub question: QuestionRole,
    /// "Too much". On a degree adverb (`degree.tsv` flag `excess`): it says there is too much
    /// of something (太, 有点, 偏). On any other word (`sentiment.tsv` flag `excess`): a trait
    /// that is a fault when there is too much of it (大, 长, 厚, 冲), whatever its own weight.
    pub excess: bool,
}

/// A jieba user word: (word, frequency, part of speech). Frequency 0 keeps jieba from
/// treating the word as one token (a split hint: 太贵 → 太 / 贵).
pub type UserWord = (Box<str>, Option<usize>, Option<Box<str>>);

/// One intent trigger (`intents.tsv`).
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    pub pattern: Box<str>,
    pub intent: Intent,
    /// Counts only when the comment is a question (`q` flag).
    pub needs_question: bool,
}

/// All lists, parsed.
#[derive(Debug, Default, Clone)]
pub struct Lexicons {
    pub words: FxHashMap<Box<str>, WordInfo>,
    pub triggers: Vec<Trigger>,
    /// Strings that look interrogative but exclaim (`怎么这么`): they cancel a question.
    pub exclaims: Vec<Box<str>>,
    /// jieba user words: (word, frequency, part of speech).
    pub user_words: Vec<UserWord>,
    /// Platform emote codes with brackets (`[赞]`), kept as single tokens.
    pub emotes: FxHashSet<Box<str>>,
    pub traditional: FxHashMap<char, char>,
    pub stopwords: FxHashSet<Box<str>>,
    /// (substring, topic) pairs telling what a complaint is about, in priority order.
    pub complaint_topics: Vec<(Box<str>, Topic)>,
}

/// Emoji Sentiment Ranking scores lean positive (its mean is about +0.25 because most emoji
/// are used in friendly tweets); we centre them so a neutral emoji adds nothing.
const EMOJI_BIAS: f32 = 0.25;
/// Centred emoji scores smaller than this are treated as no sentiment at all.
const EMOJI_MIN: f32 = 0.1;

impl Lexicons {
    /// The lists compiled into the binary.
    pub fn embedded() -> Lexicons {
        // The embedded files are checked by a unit test, so this cannot fail in a release.
        Self::parse(EMBEDDED).unwrap_or_else(|e| panic!("embedded lexicon is broken: {e}"))
    }

    /// Loads the lists from a directory with the same file names as `lexicons/`. A file missing
    /// from the directory is taken from the embedded set.
    pub fn from_dir(dir: &Path) -> Result<Lexicons, LexiconError> {
        let mut texts: Vec<String> = Vec::with_capacity(FILES.len());
        for (name, embedded) in FILES.iter().zip(EMBEDDED) {
            let path = dir.join(name);
            match std::fs::read_to_string(&path) {
                Ok(text) => texts.push(text),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => texts.push(embedded.into()),
                Err(source) => {
                    return Err(LexiconError::Read {
                        path: path.display().to_string(),
                        source,
                    });
                }
            }
        }
        let refs: [&str; 12] = std::array::from_fn(|i| texts[i].as_str());
        Self::parse(refs)
    }

    fn parse(texts: [&str; 12]) -> Result<Lexicons, LexiconError> {
        let [
            sentiment,
            emoji,
            negation,
            degree,
            adversative,
            question,
            intents,
            userdict,
            emotes,
            traditional,
            stopwords,
            complaint_topics,
        ] = texts;
        let mut lex = Lexicons::default();
        for (line, cols) in rows("emoji.tsv", emoji, 2)? {
            let score: f32 = number("emoji.tsv", line, cols[1])?;
            let centred = score - EMOJI_BIAS;
            if centred.abs() >= EMOJI_MIN {
                lex.word(cols[0]).sentiment = centred;
            }
        }
        // Hand-written weights override the emoji table where both name a symbol.
        for (line, cols) in rows("sentiment.tsv", sentiment, 2)? {
            let weight: f32 = number("sentiment.tsv", line, cols[1])?;
            if !(-3.0..=3.0).contains(&weight) {
                return Err(bad("sentiment.tsv", line, "weight outside [-3, 3]"));
            }
            let info = lex.word(cols[0]);
            info.sentiment = weight;
            info.excess |= excess_flag("sentiment.tsv", line, &cols)?;
        }
        for (line, cols) in rows("negation.txt", negation, 1)? {
            let info = lex.word(cols[0]);
            info.negator = true;
            match cols.get(1).copied().unwrap_or("") {
                "" => {}
                "prohibitive" => info.prohibitive = true,
                other => {
                    return Err(bad(
                        "negation.txt",
                        line,
                        &format!("unknown flag {other:?}"),
                    ));
                }
            }
        }
        for (line, cols) in rows("degree.tsv", degree, 2)? {
            let degree = number("degree.tsv", line, cols[1])?;
            let info = lex.word(cols[0]);
            info.degree = degree;
            info.excess |= excess_flag("degree.tsv", line, &cols)?;
        }
        for (_, cols) in rows("adversative.txt", adversative, 1)? {
            lex.word(cols[0]).adversative = true;
        }
        for (line, cols) in rows("question.tsv", question, 2)? {
            match cols[1] {
                "particle" => lex.word(cols[0]).question = QuestionRole::Particle,
                "interrogative" => lex.word(cols[0]).question = QuestionRole::Interrogative,
                "exclaim" => lex.exclaims.push(cols[0].into()),
                "phrase_end" => lex.word(cols[0]).particle = true,
                other => {
                    return Err(bad(
                        "question.tsv",
                        line,
                        &format!(
                            "kind {other:?} (expected particle, interrogative, exclaim or phrase_end)"
                        ),
                    ));
                }
            }
        }
        for (line, cols) in rows("intents.tsv", intents, 2)? {
            let intent = Intent::parse(cols[1]).ok_or_else(|| {
                bad(
                    "intents.tsv",
                    line,
                    &format!("unknown intent {:?}", cols[1]),
                )
            })?;
            let needs_question = match cols.get(2).copied().unwrap_or("") {
                "" => false,
                "q" => true,
                other => return Err(bad("intents.tsv", line, &format!("unknown flag {other:?}"))),
            };
            lex.triggers.push(Trigger {
                pattern: cols[0].into(),
                intent,
                needs_question,
            });
        }
        for (line, text) in userdict.lines().enumerate() {
            let text = text.trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            let mut parts = text.split_whitespace();
            let word = parts.next().unwrap_or_default();
            let freq = match parts.next() {
                Some(f) => Some(
                    f.parse()
                        .map_err(|_| bad("userdict.txt", line + 1, "bad frequency"))?,
                ),
                None => None,
            };
            lex.user_words
                .push((word.into(), freq, parts.next().map(Into::into)));
        }
        for (_, cols) in rows("emotes.txt", emotes, 1)? {
            lex.emotes.insert(cols[0].into());
        }
        for (line, cols) in rows("traditional.tsv", traditional, 2)? {
            let (mut t, mut s) = (cols[0].chars(), cols[1].chars());
            match (t.next(), t.next(), s.next(), s.next()) {
                (Some(t), None, Some(s), None) => {
                    lex.traditional.insert(t, s);
                }
                _ => {
                    return Err(bad(
                        "traditional.tsv",
                        line,
                        "expected one character each side",
                    ));
                }
            }
        }
        for (_, cols) in rows("stopwords.txt", stopwords, 1)? {
            lex.stopwords.insert(cols[0].into());
        }
        for (line, cols) in rows("complaint_topics.tsv", complaint_topics, 2)? {
            let topic = Topic::COMPLAINTS
                .into_iter()
                .find(|t| t.as_str() == cols[1])
                .ok_or_else(|| {
                    bad(
                        "complaint_topics.tsv",
                        line,
                        &format!("unknown topic {:?}", cols[1]),
                    )
                })?;
            lex.complaint_topics.push((cols[0].into(), topic));
        }
        Ok(lex)
    }

    fn word(&mut self, word: &str) -> &mut WordInfo {
        self.words.entry(word.into()).or_default()
    }

    /// Adds a room's own words (product names, aliases, community slang) for segmentation.
    pub fn add_user_words<'a>(&mut self, words: impl IntoIterator<Item = &'a str>) {
        for w in words {
            if !w.trim().is_empty() {
                self.user_words.push((w.trim().into(), None, None));
            }
        }
    }
}

/// Data lines of a file as (line number, columns), checking the minimum column count.
fn rows<'a>(
    file: &'static str,
    text: &'a str,
    min_cols: usize,
) -> Result<Vec<(usize, Vec<&'a str>)>, LexiconError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').map(str::trim).collect();
        if cols.len() < min_cols || cols[0].is_empty() {
            return Err(bad(
                file,
                line_no,
                &format!("expected {min_cols} TAB-separated columns"),
            ));
        }
        out.push((line_no, cols));
    }
    Ok(out)
}

/// The optional third column of `sentiment.tsv` and `degree.tsv`: empty or `excess`.
fn excess_flag(file: &'static str, line: usize, cols: &[&str]) -> Result<bool, LexiconError> {
    match cols.get(2).copied().unwrap_or("") {
        "" => Ok(false),
        "excess" => Ok(true),
        other => Err(bad(file, line, &format!("unknown flag {other:?}"))),
    }
}

fn number(file: &'static str, line: usize, text: &str) -> Result<f32, LexiconError> {
    match text.parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(bad(file, line, &format!("{text:?} is not a number"))),
    }
}

fn bad(file: &'static str, line: usize, problem: &str) -> LexiconError {
    LexiconError::BadLine {
        file,
        line,
        problem: problem.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_lexicons_parse_and_hold_the_basics() {
        let lex = Lexicons::parse(EMBEDDED).unwrap();
        assert!(lex.words["好看"].sentiment > 0.0);
        assert!(lex.words["贵"].sentiment < 0.0);
        assert!(lex.words["不"].negator);
        assert!(lex.words["太"].degree > 1.0);
        assert!(lex.words["但是"].adversative);
        assert_eq!(lex.words["吗"].question, QuestionRole::Particle);
        assert_eq!(lex.words["多少"].question, QuestionRole::Interrogative);
        assert!(lex.triggers.iter().any(|t| &*t.pattern == "上链接"));
        assert!(lex.emotes.contains("[赞]"));
        assert_eq!(lex.traditional.get(&'錢'), Some(&'钱'));
        assert!(lex.stopwords.contains("的"));
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let mut texts = EMBEDDED;
        texts[0] = "# header\n好看\tvery\n";
        let err = Lexicons::parse(texts).unwrap_err().to_string();
        assert!(err.starts_with("sentiment.tsv:2:"), "{err}");
        texts[0] = "";
        texts[6] = "多少钱\task_pricey\t\n";
        let err = Lexicons::parse(texts).unwrap_err().to_string();
        assert!(
            err.contains("intents.tsv:1") && err.contains("ask_pricey"),
            "{err}"
        );
    }
}
