//! One event as the room and the store take it, interpreted once where it entered.
//!
//! A comment is analyzed, attributed to a product, keyed, topic-tagged and reduced to its hot
//! words exactly once, into a [`Reading`]; the viewer id is pseudonymized once. The room task
//! applies that value as it is and the store record is copied from the same value, so the live
//! picture and the review cannot disagree about what a comment meant, even when the pitched
//! product changes between arrival and apply.

use std::sync::{Arc, Mutex};

use crate::analyze::{Analysis, Analyzer, Intent, Topic};
use crate::ingest::IngestEvent;
use crate::privacy::Pseudonym;

use super::hot::HotWords;

/// An accepted event with what ingest worked out once: when it arrived, whose it is, and for
/// a comment its [`Reading`].
#[derive(Debug, Clone)]
pub struct RoomEvent {
    pub event: IngestEvent,
    /// Arrival, server clock (ms).
    pub at: i64,
    pub viewer: Option<Pseudonym>,
    /// Set for comments.
    pub reading: Option<Reading>,
}

/// What one comment means in its room at the moment it arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub analysis: Analysis,
    /// The product the comment is about ([`attribute`]).
    pub product: Option<Arc<str>>,
    /// `topic:product` for a question, with the attributed product (the cluster it joins).
    pub key: Option<Arc<str>>,
    /// For a complaint: what about.
    pub complaint: Option<Topic>,
    /// Indices (into the analysis's tokens) of the tokens that count as hot words.
    hot: Vec<u16>,
}

impl Reading {
    /// Reads an analyzed comment while `pitching` is the pitched product.
    pub fn new(analyzer: &Analyzer, analysis: Analysis, pitching: Option<&Arc<str>>) -> Reading {
        let product = attribute(&analysis, pitching);
        let key = analysis
            .key
            .as_ref()
            .map(|k| Arc::from(format!("{}:{}", k.topic, product.as_deref().unwrap_or("_"))));
        let complaint = analysis
            .intents
            .contains(Intent::Complaint)
            .then(|| analyzer.complaint_topic(&analysis));
        let hot = if analysis.intents.contains(Intent::Spam) {
            Vec::new()
        } else {
            analysis
                .tokens()
                .enumerate()
                .filter(|(_, t)| HotWords::counts(analyzer, t))
                .map(|(i, _)| i.min(usize::from(u16::MAX)) as u16)
                .collect()
        };
        Reading {
            analysis,
            product,
            key,
            complaint,
            hot,
        }
    }

    /// The tokens that count as hot words, in order (spam has none).
    pub fn hot_words(&self) -> impl Iterator<Item = &str> + '_ {
        let mut wanted = self.hot.iter().copied().peekable();
        self.analysis
            .tokens()
            .enumerate()
            .filter_map(move |(i, t)| {
                (wanted.next_if_eq(&(i.min(usize::from(u16::MAX)) as u16))).map(|_| t)
            })
    }
}

/// The product a comment is about: the one it names, or, for a product intent (a question,
/// a purchase signal, a request to show it) without a name, the one being pitched.
pub fn attribute(analysis: &Analysis, pitching: Option<&Arc<str>>) -> Option<Arc<str>> {
    let about_product = analysis.intents.asks()
        || analysis.intents.contains(Intent::Purchase)
        || analysis.intents.contains(Intent::RequestDemo);
    match &analysis.product {
        Some(p) => Some(p.clone()),
        None if about_product => pitching.cloned(),
        None => None,
    }
}

/// The product being pitched and since when: owned here, once per room. The room's commands
/// set it; ingest reads it when it interprets a comment, and the room state reads it for its
/// rules and snapshots. Nobody keeps a copy.
#[derive(Debug, Clone, Default)]
pub struct Pitch(Arc<Mutex<Pitched>>);

#[derive(Debug, Clone, Default)]
struct Pitched {
    product: Option<Arc<str>>,
    since: i64,
}

impl Pitch {
    pub fn new(product: Option<Arc<str>>, since: i64) -> Pitch {
        Pitch(Arc::new(Mutex::new(Pitched { product, since })))
    }

    /// The product pitched now.
    pub fn product(&self) -> Option<Arc<str>> {
        self.lock().product.clone()
    }

    /// Since when (ms) it is pitched.
    pub fn since(&self) -> i64 {
        self.lock().since
    }

    /// Makes `product` the pitched one from `now`.
    pub fn set(&self, product: Option<Arc<str>>, now: i64) {
        let mut p = self.lock();
        p.product = product;
        p.since = now;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pitched> {
        // A panic while holding this lock cannot leave the two fields inconsistent in a way
        // that matters (each is written whole), so a poisoned lock is still read.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}
