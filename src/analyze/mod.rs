//! The analysis core: one live comment in, a small [`Analysis`] out.
//!
//! This is the hot path (a busy room sends ~1,000 comments/s), so it is pure and synchronous:
//! no I/O, no locks, no per-token `String`s. [`Analyzer`] is built once from [`Lexicons`] and
//! shared (`&self`); a room's catalog is compiled once into a [`RoomCatalog`]. The stages, in
//! order, each in its own file:
//!
//! 1. [`normalize`]: full-width → half-width, traditional → simplified, zero-width and control
//!    characters out, runs collapsed, length bounded; then [`crate::privacy::mask`].
//! 2. [`product`]: product references (`一号`, `#1`, `No.1`, `第一个`, `链接1`) rewritten to `1号`,
//!    emote codes and catalog names found, so each stays one token.
//! 3. [`segment`]: jieba-rs between those spans.
//! 4. [`question`]: clauses and which of them ask something.
//! 5. [`sentiment`]: lexicon weights with negation, degree, adversatives, question dampening.
//! 6. [`intent`]: trigger strings plus rules → intents, question key.
//! 7. [`model`]: when the analyzer has one, the learned model decides intents, question and
//!    sentiment from the text and the rules' findings; the rules keep product, masking and
//!    spam (see [`model::Model::apply`]).

mod intent;
mod labels;
pub mod lexicon;
mod matcher;
pub mod model;
mod normalize;
mod product;
mod question;
mod segment;
mod sentiment;
mod topic;
mod words;

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;

use aho_corasick::MatchKind;
use jieba_rs::Jieba;
use lexicon::{Lexicons, Trigger, WordInfo};
use matcher::{Matcher, PatternIndex};
use normalize::Seen;

pub use labels::{Analysis, Intent, IntentSet, Label, QuestionKey, Sentiment};
pub use normalize::{MAX_CHARS, MAX_SCAN_BYTES};
pub use product::{Listing, RoomCatalog};
pub use sentiment::{NEGATIVE_BELOW, POSITIVE_ABOVE};
pub use topic::Topic;

/// Built once per process; analyzes comments of every room (`&self`, `Send + Sync`).
pub struct Analyzer {
    jieba: Jieba,
    words: words::Words,
    triggers: Vec<Trigger>,
    trigger_matcher: PatternIndex,
    exclaim_matcher: Matcher,
    emotes: rustc_hash::FxHashSet<Box<str>>,
    traditional: normalize::Simplifier,
    stopwords: rustc_hash::FxHashSet<Box<str>>,
    complaint_topics: Vec<(Box<str>, Topic)>,
    /// Bit `c` set: a degree adverb or negator starts with Basic Multilingual Plane character
    /// `c`. Most tokens start with no such character, and then [`Analyzer::word_info`] need
    /// not look up their first one or two characters.
    split_heads: Box<[u64]>,
    /// The learned model; without one the rules decide everything.
    model: Option<model::Model>,
}

/// Why an [`Analyzer`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzerError {
    #[error("cannot compile {what} matcher: {source}")]
    Matcher {
        what: &'static str,
        source: aho_corasick::BuildError,
    },
    #[error("cannot index intent triggers: {source}")]
    Triggers { source: matcher::PatternError },
    #[error("cannot index the room's product names: {source}")]
    Names { source: matcher::PatternError },
}

impl fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Analyzer")
            .field("words", &self.words.len())
            .field("triggers", &self.triggers.len())
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl Analyzer {
    /// Builds the analyzer: jieba's default dictionary plus the lexicons' user words and every
    /// sentiment, degree, negation and adversative word, so lexicon words come out as tokens.
    /// Takes a few hundred milliseconds; do it once.
    pub fn new(lex: Lexicons) -> Result<Analyzer, AnalyzerError> {
        let mut jieba = Jieba::new();
        for (word, freq, tag) in &lex.user_words {
            jieba.add_word(word, *freq, tag.as_deref());
        }
        for (word, info) in &lex.words {
            // Single characters are already tokens; question words keep jieba's own cut so
            // interrogatives such as 几 stay apart from their noun.
            let multi_char = word.chars().nth(1).is_some();
            let lexical = info.sentiment != 0.0 || info.degree != 0.0 || info.negator;
            if multi_char && lexical && !jieba.has_word(word) {
                jieba.add_word(word, None, None);
            }
        }
        let trigger_matcher = PatternIndex::new(lex.triggers.iter().map(|t| &*t.pattern))
            .map_err(|source| AnalyzerError::Triggers { source })?;
        let exclaim_matcher = Matcher::new(
            MatchKind::Standard,
            lex.exclaims.iter().map(|e| e.as_bytes()),
        )
        .map_err(|source| AnalyzerError::Matcher {
            what: "exclamation",
            source,
        })?;
        let mut split_heads = vec![0u64; 0x10000 / 64].into_boxed_slice();
        for (word, info) in &lex.words {
            if let Some(c) = word.chars().next()
                && (info.degree != 0.0 || info.negator)
                && let Some(w) = split_heads.get_mut(c as usize / 64)
            {
                *w |= 1 << (c as usize % 64);
            }
        }
        Ok(Analyzer {
            split_heads,
            jieba,
            words: words::Words::new(&lex.words),
            triggers: lex.triggers,
            trigger_matcher,
            exclaim_matcher,
            emotes: lex.emotes,
            traditional: normalize::Simplifier::new(lex.traditional),
            stopwords: lex.stopwords,
            complaint_topics: lex.complaint_topics,
            model: None,
        })
    }

    /// The analyzer on the embedded lexicons, with the embedded model when the build has one.
    pub fn embedded() -> Analyzer {
        Analyzer::rules_only().with_model(model::Model::embedded().map(|m| {
            // Checked by the test suite (`embedded_model_loads`): a damaged file cannot ship.
            m.unwrap_or_else(|e| panic!("embedded model: {e}"))
        }))
    }

    /// The analyzer on the embedded lexicons, without a model: the rules decide everything.
    pub fn rules_only() -> Analyzer {
        // Trigger and exclamation lists are plain strings; compiling them only fails on
        // resource limits far above the embedded lists' size.
        Analyzer::new(Lexicons::embedded()).unwrap_or_else(|e| panic!("embedded lexicons: {e}"))
    }

    /// This analyzer deciding with `model` (or by the rules alone with `None`).
    pub fn with_model(mut self, model: Option<model::Model>) -> Analyzer {
        self.model = model;
        self
    }

    /// The learned model, if any.
    pub fn model(&self) -> Option<&model::Model> {
        self.model.as_ref()
    }

    /// The rules' analysis alone, whatever model the analyzer has: what the model's features
    /// are computed from (training, `--explain`).
    pub fn analyze_rules(&self, text: &str, room: &RoomCatalog) -> Analysis {
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            self.analyze_with::<{ Stage::Full as u8 }>(text, room, &mut scratch)
        })
    }

    /// What the rules found and, with a model, its probabilities and strongest features per
    /// label and the combined analysis. `None` without a model.
    pub fn explain(&self, text: &str, room: &RoomCatalog) -> Option<model::explain::Explanation> {
        let model = self.model.as_ref()?;
        Some(model.explain(&self.analyze_rules(text, room)))
    }

    /// Whether a token is a stopword (for hot-word lists).
    pub fn is_stopword(&self, token: &str) -> bool {
        self.stopwords.contains(token)
    }

    /// What a complaint is about ([`Topic::COMPLAINTS`], or [`Topic::General`]): its
    /// question topic when it asks one of those, else the first topic word in its text.
    pub fn complaint_topic(&self, analysis: &Analysis) -> Topic {
        if let Some(key) = &analysis.key
            && Topic::COMPLAINTS.contains(&key.topic)
        {
            return key.topic;
        }
        self.complaint_topics
            .iter()
            .find(|(word, _)| analysis.text.contains(&**word))
            .map_or(Topic::General, |(_, topic)| *topic)
    }

    /// What the token `text[start..end]` means to sentiment and questions. A token jieba
    /// fused from a degree adverb or negator and a sentiment word (太贵, 超好看, 不好), or from
    /// "too" and a trait (太长), that the lexicon lacks is read as its two parts. `padded` is
    /// `text` followed by eight zeros (see [`words::Words::get`]).
    fn word_info(&self, text: &str, padded: &[u8], start: usize, end: usize) -> WordInfo {
        let info = self.words.get(text, padded, start, end).unwrap_or_default();
        if info.sentiment != 0.0 || info.negator || info.degree != 0.0 {
            return info;
        }
        let word = text.get(start..end).unwrap_or_default();
        // Beyond the plane the bitmap has no say.
        let first = word.chars().next().map_or(0, |c| c as usize);
        if self
            .split_heads
            .get(first / 64)
            .is_some_and(|w| w & (1 << (first % 64)) == 0)
        {
            return info;
        }
        for (split, _) in word.char_indices().skip(1).take(2) {
            let split = start + split;
            // The head decides most splits (it must be a degree adverb or a negator), so the
            // tail is looked up only after it.
            let Some(h) = self.words.get(text, padded, start, split) else {
                continue;
            };
            if h.degree == 0.0 && !h.negator {
                continue;
            }
            let Some(t) = self.words.get(text, padded, split, end) else {
                continue;
            };
            // 太长, 太冲: "too" and a trait that is a fault in excess.
            if h.excess && h.degree != 0.0 && t.excess {
                let sentiment = sentiment::EXCESS.min(t.sentiment) * h.degree;
                return WordInfo { sentiment, ..info };
            }
            if t.sentiment == 0.0 {
                continue;
            }
            let sentiment = if h.degree != 0.0 {
                t.sentiment * h.degree
            } else if h.negator {
                -t.sentiment * 0.8
            } else {
                continue;
            };
            return WordInfo { sentiment, ..info };
        }
        info
    }

    /// Analyzes one comment. Pure and bounded: only the first [`MAX_SCAN_BYTES`] bytes of
    /// `text` are looked at and at most [`MAX_CHARS`] characters are kept.
    pub fn analyze(&self, text: &str, room: &RoomCatalog) -> Analysis {
        let mut analysis = self.analyze_rules(text, room);
        if let Some(model) = &self.model {
            model.apply(&mut analysis);
        }
        analysis
    }

    /// The analysis stopped after `stage`, for `benches/analyze.rs` to tell what each stage
    /// costs; the result holds the text and tokens so far and nothing else. Not for use.
    #[doc(hidden)]
    pub fn analyze_until(&self, text: &str, room: &RoomCatalog, stage: Stage) -> Analysis {
        SCRATCH.with(|scratch| {
            let sc = &mut *scratch.borrow_mut();
            match stage {
                Stage::Normalize => self.analyze_with::<{ Stage::Normalize as u8 }>(text, room, sc),
                Stage::Segment => self.analyze_with::<{ Stage::Segment as u8 }>(text, room, sc),
                Stage::Prepare => self.analyze_with::<{ Stage::Prepare as u8 }>(text, room, sc),
                Stage::Full => {
                    let mut analysis = self.analyze_with::<{ Stage::Full as u8 }>(text, room, sc);
                    if let Some(model) = &self.model {
                        model.apply(&mut analysis);
                    }
                    analysis
                }
            }
        })
    }

    /// The analysis, or its first stages (`UNTIL`, a [`Stage`]): the test of `UNTIL` is made
    /// at compile time, so [`Analyzer::analyze`] pays nothing for the others.
    fn analyze_with<const UNTIL: u8>(
        &self,
        input: &str,
        room: &RoomCatalog,
        sc: &mut Scratch,
    ) -> Analysis {
        let norm = normalize::normalize(input, &self.traditional, &mut sc.buf);
        if UNTIL == Stage::Normalize as u8 {
            return Analysis::unscored(sc.buf.clone(), &[], norm.truncated, false);
        }
        if UNTIL == Stage::Segment as u8 {
            segment::segment(&self.jieba, &sc.buf, &[], &mut sc.tokens);
            return Analysis::unscored(sc.buf.clone(), &sc.tokens, norm.truncated, false);
        }
        let seen = norm.seen;
        // Each stage below runs only when the text holds a character it needs (see `Seen`).
        let (masked_text, found) = if seen.has(Seen::MASKABLE) {
            crate::privacy::mask(&sc.buf)
        } else {
            (
                Cow::Borrowed(sc.buf.as_str()),
                crate::privacy::Found::default(),
            )
        };
        let masked = found.any();
        let mut text = String::with_capacity(masked_text.len() + 8);
        sc.spans.clear();
        if seen.has(Seen::REFERENCE) {
            product::canonicalize(&masked_text, &mut text, &mut sc.spans);
        } else {
            text.push_str(&masked_text);
        }
        drop(masked_text);
        // Triggers and the room's names in one pass over the text.
        self.trigger_matcher.find_overlapping_with(
            room.names(),
            &text,
            &mut sc.pad,
            &mut sc.triggers,
            &mut sc.names,
        );
        // Masking writes placeholders in brackets.
        let brackets = masked || seen.has(Seen::BRACKET);
        let numbered = !sc.spans.is_empty();
        product::find_atoms(
            &text,
            &self.emotes,
            room,
            &sc.names,
            brackets,
            &mut sc.spans,
        );

        segment::segment(&self.jieba, &text, &sc.spans, &mut sc.tokens);
        if UNTIL == Stage::Prepare as u8 {
            return Analysis::unscored(text, &sc.tokens, norm.truncated, masked);
        }
        // `sc.pad` still holds the text followed by zeros, from the trigger search.
        for tok in &mut sc.tokens {
            tok.info = self.word_info(&text, &sc.pad, tok.start as usize, tok.end as usize);
        }
        let clauses = question::clauses(
            &text,
            &sc.tokens,
            seen.has(Seen::NEGATION),
            &self.exclaim_matcher,
            &mut sc.exclaimed,
            &mut sc.clauses,
        );
        let is_question = clauses.iter().any(|c| c.question);
        let score = sentiment::score(&sc.tokens, clauses, norm.emphasis);
        let product = product::link(&text, &sc.spans, room);
        let found = intent::detect(intent::Input {
            text: &text,
            clauses,
            score,
            // Normalization counted runs as it read; it read everything unless it truncated.
            raw_run: if norm.truncated {
                intent::longest_run(input)
            } else {
                norm.longest_run
            },
            contact: found.contact(),
            has_product: product.is_some(),
            seen,
            numbered,
            triggers: &self.triggers,
            found: &sc.triggers,
        });
        let score = found.score;
        let key = found.topic.map(|topic| QuestionKey {
            topic,
            product: product.clone(),
        });
        Analysis {
            sentiment: Sentiment {
                score,
                label: sentiment::label(score),
            },
            intents: found.intents,
            question: is_question || found.question,
            product,
            key,
            ..Analysis::unscored(text, &sc.tokens, norm.truncated, masked)
        }
    }
}

/// How far [`Analyzer::analyze_until`] goes, each stage including those before it.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Stage {
    /// Normalization alone.
    Normalize,
    /// Normalization, then jieba over the normalized text: the least an analysis built on
    /// jieba can cost.
    Segment,
    /// Everything up to and including segmentation: masking, product references, the trigger
    /// and name search, emote codes, jieba between them.
    Prepare,
    /// The whole analysis.
    Full,
}

impl Analysis {
    /// An analysis with its text and tokens and no findings yet.
    fn unscored(text: String, tokens: &[Tok], truncated: bool, masked: bool) -> Analysis {
        // Sized up front: collecting through a filter starts small and reallocates.
        let mut spans = Vec::with_capacity(tokens.len());
        spans.extend(tokens.iter().filter(|t| !t.space).map(|t| (t.start, t.end)));
        Analysis {
            text,
            spans,
            sentiment: Sentiment {
                score: 0.0,
                label: Label::Neutral,
            },
            intents: IntentSet::default(),
            question: false,
            product: None,
            key: None,
            truncated,
            masked,
        }
    }
}

/// A token of the normalized text during analysis.
#[derive(Debug, Clone, Copy, Default)]
struct Tok {
    start: u32,
    end: u32,
    info: WordInfo,
    /// Punctuation or whitespace: ends a clause.
    brk: bool,
    space: bool,
}

/// A clause: tokens between punctuation.
#[derive(Debug, Clone, Copy)]
struct Clause {
    /// Token range.
    first: usize,
    end: usize,
    /// Byte range in the text.
    start_byte: u32,
    end_byte: u32,
    question: bool,
}

/// Buffers reused across comments on the same thread, so the hot path allocates only what
/// it returns.
#[derive(Default)]
struct Scratch {
    buf: String,
    spans: Vec<product::Span>,
    tokens: Vec<Tok>,
    clauses: Vec<Clause>,
    exclaimed: Vec<(u32, u32)>,
    triggers: Vec<matcher::Found>,
    /// Occurrences of the room's names.
    names: Vec<matcher::Found>,
    /// The text padded with zeros, for [`PatternIndex::find_overlapping_with`] and then for
    /// the lexicon lookups of the tokens.
    pad: Vec<u8>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

#[cfg(test)]
mod tests;
