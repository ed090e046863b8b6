//! The analysis's vocabulary: intents and their set, sentiment labels, the question key and
//! the whole [`Analysis`] of one comment. Plain values, shared by every stage and by everything
//! that consumes an analysis (the room, the store, the wire).

use std::fmt;
use std::sync::Arc;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use super::topic::Topic;

/// What a comment wants (PROTOCOL.md, "Intent labels"). A comment can carry several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Intent {
    AskPrice,
    AskDiscount,
    AskSize,
    AskSpec,
    AskStock,
    AskShipping,
    AskLink,
    AskQuality,
    AskUsage,
    AskAftersale,
    RequestDemo,
    Compare,
    Purchase,
    Praise,
    Complaint,
    Chatter,
    Spam,
}

impl Intent {
    /// Every intent, in label order.
    pub const ALL: [Intent; 17] = [
        Intent::AskPrice,
        Intent::AskDiscount,
        Intent::AskSize,
        Intent::AskSpec,
        Intent::AskStock,
        Intent::AskShipping,
        Intent::AskLink,
        Intent::AskQuality,
        Intent::AskUsage,
        Intent::AskAftersale,
        Intent::RequestDemo,
        Intent::Compare,
        Intent::Purchase,
        Intent::Praise,
        Intent::Complaint,
        Intent::Chatter,
        Intent::Spam,
    ];

    /// The wire label.
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::AskPrice => "ask_price",
            Intent::AskDiscount => "ask_discount",
            Intent::AskSize => "ask_size",
            Intent::AskSpec => "ask_spec",
            Intent::AskStock => "ask_stock",
            Intent::AskShipping => "ask_shipping",
            Intent::AskLink => "ask_link",
            Intent::AskQuality => "ask_quality",
            Intent::AskUsage => "ask_usage",
            Intent::AskAftersale => "ask_aftersale",
            Intent::RequestDemo => "request_demo",
            Intent::Compare => "compare",
            Intent::Purchase => "purchase",
            Intent::Praise => "praise",
            Intent::Complaint => "complaint",
            Intent::Chatter => "chatter",
            Intent::Spam => "spam",
        }
    }

    pub fn parse(label: &str) -> Option<Intent> {
        Intent::ALL.into_iter().find(|i| i.as_str() == label)
    }

    /// The question topic for intents that ask something answerable (the first half of a
    /// question key, and the FAQ key in a script library).
    pub const fn topic(self) -> Option<Topic> {
        Some(match self {
            Intent::AskPrice => Topic::Price,
            Intent::AskDiscount => Topic::Discount,
            Intent::AskSize => Topic::Size,
            Intent::AskSpec => Topic::Spec,
            Intent::AskStock => Topic::Stock,
            Intent::AskShipping => Topic::Shipping,
            Intent::AskLink => Topic::Link,
            Intent::AskQuality => Topic::Quality,
            Intent::AskUsage => Topic::Usage,
            Intent::AskAftersale => Topic::Aftersale,
            Intent::RequestDemo => Topic::Demo,
            Intent::Compare => Topic::Compare,
            _ => return None,
        })
    }

    fn bit(self) -> u32 {
        1 << self as u8
    }
}

impl fmt::Display for Intent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Intent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A set of intents in one machine word; iterates in label order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct IntentSet(u32);

impl IntentSet {
    pub fn insert(&mut self, intent: Intent) {
        self.0 |= intent.bit();
    }
    pub fn remove(&mut self, intent: Intent) {
        self.0 &= !intent.bit();
    }
    pub fn contains(self, intent: Intent) -> bool {
        self.0 & intent.bit() != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }
    pub fn iter(self) -> impl Iterator<Item = Intent> {
        Intent::ALL.into_iter().filter(move |i| self.contains(*i))
    }
    /// The set as bits: bit `i` is intent `i` in label order (the model file's form).
    pub fn bits(self) -> u32 {
        self.0
    }
    /// The set of these bits (bits past the last intent are dropped).
    pub fn from_bits(bits: u32) -> IntentSet {
        IntentSet(bits & ((1 << Intent::ALL.len()) - 1))
    }
    /// Whether any intent asks something of the streamer (a question topic).
    pub fn asks(self) -> bool {
        self.0 & ASKING.0 != 0
    }
}

/// The intents with a question topic, as a set: [`IntentSet::asks`] is called several times
/// per comment.
const ASKING: IntentSet = {
    let mut set = 0;
    let mut i = 0;
    while i < Intent::ALL.len() {
        if Intent::ALL[i].topic().is_some() {
            set |= 1 << Intent::ALL[i] as u8;
        }
        i += 1;
    }
    IntentSet(set)
};

impl FromIterator<Intent> for IntentSet {
    fn from_iter<T: IntoIterator<Item = Intent>>(iter: T) -> Self {
        let mut set = IntentSet::default();
        for i in iter {
            set.insert(i);
        }
        set
    }
}

impl Serialize for IntentSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for i in self.iter() {
            seq.serialize_element(i.as_str())?;
        }
        seq.end()
    }
}

/// Sentiment label; thresholds are [`POSITIVE_ABOVE`] and [`NEGATIVE_BELOW`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    Positive,
    Negative,
    Neutral,
}

impl Label {
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Positive => "positive",
            Label::Negative => "negative",
            Label::Neutral => "neutral",
        }
    }
}

/// A score in [-1, 1] and its label.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sentiment {
    pub score: f32,
    pub label: Label,
}

/// Groups comments that ask the same thing about the same product: `price:2`, `size:_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QuestionKey {
    pub topic: Topic,
    pub product: Option<Arc<str>>,
}

impl fmt::Display for QuestionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}",
            self.topic,
            self.product.as_deref().unwrap_or("_")
        )
    }
}

impl Serialize for QuestionKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What the analysis found in one comment.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// Normalized text with personal data masked; safe to store and show.
    pub text: String,
    /// Byte ranges of the tokens in `text`.
    pub(super) spans: Vec<(u32, u32)>,
    pub sentiment: Sentiment,
    pub intents: IntentSet,
    pub question: bool,
    /// Product id from the room's catalog (or the number itself when there is no catalog).
    pub product: Option<Arc<str>>,
    /// Set when the comment asks something (an `ask_*`, `request_demo` or `compare` intent).
    pub key: Option<QuestionKey>,
    /// The input was longer than the analysis looks at.
    pub truncated: bool,
    /// Personal data was masked out of `text`.
    pub masked: bool,
}

impl Analysis {
    /// The tokens, in order (whitespace is not a token).
    pub fn tokens(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.spans
            .iter()
            .map(|&(s, e)| &self.text[s as usize..e as usize])
    }
}

/// The JSON shape of PROTOCOL.md (`livecue analyze` output), plus `truncated`/`masked` when set.
impl Serialize for Analysis {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Tokens<'a>(&'a Analysis);
        impl Serialize for Tokens<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.0.tokens())
            }
        }
        let extra = usize::from(self.truncated) + usize::from(self.masked);
        let mut map = s.serialize_map(Some(7 + extra))?;
        map.serialize_entry("text", &self.text)?;
        map.serialize_entry("tokens", &Tokens(self))?;
        map.serialize_entry("sentiment", &self.sentiment)?;
        map.serialize_entry("intents", &self.intents)?;
        map.serialize_entry("question", &self.question)?;
        map.serialize_entry("product", &self.product.as_deref())?;
        map.serialize_entry("key", &self.key)?;
        if self.truncated {
            map.serialize_entry("truncated", &true)?;
        }
        if self.masked {
            map.serialize_entry("masked", &true)?;
        }
        map.end()
    }
}
