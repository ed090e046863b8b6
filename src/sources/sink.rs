//! Where a source's events go: the [`Room`] it feeds (implemented by the live layer), the
//! [`Effects`] of a batch of platform messages, and the `Sink` that validates and delivers them
//! as ingest does.

use std::sync::Arc;

use serde::Serialize;
use thiserror::Error;

use super::*;

/// The room a source feeds, as the source sees it. The live layer implements it; a source
/// hands it ingest events, the platform's pitching hint and its gaps, nothing else.
pub trait Room: Send + Sync + std::fmt::Debug + 'static {
    fn id(&self) -> &Arc<str>;
    /// The product the room pitches now.
    fn pitching(&self) -> Option<Arc<str>>;
    /// Takes a validated batch as ingest does (dedupe, analysis, store, queue); returns once
    /// it is durable. Accepted and duplicate counts.
    fn ingest(
        &self,
        events: Vec<IngestEvent>,
        now: i64,
    ) -> futures_util::future::BoxFuture<'_, Result<(usize, usize), Refused>>;
    /// Makes `product` the pitched product, as the console's `set_pitching` does.
    fn follow_pitching(
        &self,
        product: &str,
    ) -> futures_util::future::BoxFuture<'_, Result<(), Refused>>;
    /// Records that source `source` (of `kind`) may have lost messages in `gap` (for the
    /// review); never waits.
    fn gap(&self, source: &str, kind: &'static str, gap: &Gap);
}

/// Each room a server runs with its configured sources: what [`super::Sources::start`] takes.
pub type Feeds<'a> = Vec<(Arc<dyn Room>, &'a [super::SourceConfig])>;

/// Why a room did not take what a source gave it.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum Refused {
    /// The room is shutting down.
    #[error("the room is shutting down")]
    Closed,
    /// Refused for a reason that concerns only this batch or hint (the store could not
    /// write it, an unknown product).
    #[error("{0}")]
    Other(String),
}

/// What a batch of platform messages amounts to: events for the room, and what they said
/// about the stream (for the source's health).
#[derive(Debug, Default, PartialEq)]
pub struct Effects {
    pub events: Vec<IngestEvent>,
    /// The stream went live (`true`) or ended (`false`).
    pub live: Option<bool>,
    pub viewers: Option<u64>,
    pub watched: Option<u64>,
    pub shares: u64,
    /// Names of messages we do not map.
    pub ignored: Vec<String>,
    /// Messages that could not be decoded: (kind, detail).
    pub errors: Vec<(&'static str, String)>,
    /// The platform says which product the streamer explains now (or that it stopped).
    pub pitching: Option<PitchingHint>,
    /// The platform's shelf (购物车) changed.
    pub shelf: Option<Shelf>,
}

/// The product a platform says the streamer explains (讲解中): a source-side hint for the
/// console (and, with `follow_pitching`, for the room's pitched product).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PitchingHint {
    /// The platform's product (promotion) id; `None`: the explanation ended.
    pub promotion: Option<String>,
    /// The catalog product it maps to (the source's `products` table), when it does.
    pub product: Option<String>,
    /// When the platform said so (ms), when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<i64>,
}

/// What the platform said about its shelf.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Shelf {
    /// Products on the shelf.
    pub total: Option<u64>,
    /// The note the platform shows with the change.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
}

impl Effects {
    pub fn merge(&mut self, other: Effects) {
        self.events.extend(other.events);
        self.live = other.live.or(self.live);
        self.viewers = other.viewers.or(self.viewers);
        self.watched = other.watched.or(self.watched);
        self.shares += other.shares;
        self.ignored.extend(other.ignored);
        self.errors.extend(other.errors);
        self.pitching = other.pitching.or(self.pitching.take());
        self.shelf = other.shelf.or(self.shelf.take());
    }

    pub(crate) fn event(event: IngestEvent) -> Effects {
        Effects {
            events: vec![event],
            ..Effects::default()
        }
    }

    pub(crate) fn ignored(name: impl Into<String>) -> Effects {
        Effects {
            ignored: vec![name.into()],
            ..Effects::default()
        }
    }

    pub(crate) fn error(kind: &'static str, detail: impl Into<String>) -> Effects {
        Effects {
            errors: vec![(kind, detail.into())],
            ..Effects::default()
        }
    }
}

/// Where a source's events go: its room, counted like ingest's.
#[derive(Debug, Clone)]
pub(crate) struct Sink {
    pub(super) room: Arc<dyn Room>,
    pub(super) metrics: Arc<Metrics>,
    pub(super) status: Arc<SourceStatus>,
    /// Set the room's pitched product to the one the platform says is explained.
    pub(super) follow_pitching: bool,
}

/// What the room made of a delivery.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Delivered {
    pub accepted: usize,
    pub duplicates: usize,
    /// Index in the delivered batch and why the event was refused.
    pub rejected: Vec<(usize, String)>,
}

impl Sink {
    pub(crate) fn status(&self) -> &Arc<SourceStatus> {
        &self.status
    }

    /// Records what `effects` say about the stream and delivers their events.
    pub(crate) async fn apply(&self, effects: Effects, now: i64) -> Result<Delivered, Refused> {
        self.status.apply(&effects, now);
        if let Some(product) = effects.pitching.as_ref().and_then(|h| h.product.as_ref()) {
            self.follow(product).await?;
        }
        self.deliver(effects.events).await
    }

    /// With `follow_pitching`, makes `product` the room's pitched product (as the console's
    /// `set_pitching` does, recorded the same way), unless it already is.
    async fn follow(&self, product: &str) -> Result<(), Refused> {
        if !self.follow_pitching || self.room.pitching().as_deref() == Some(product) {
            return Ok(());
        }
        match self.room.follow_pitching(product).await {
            Ok(()) => Ok(()),
            Err(Refused::Closed) => Err(Refused::Closed),
            Err(Refused::Other(e)) => {
                self.status.decode_error("follow_pitching", &e);
                Ok(())
            }
        }
    }

    /// Sets room and time, validates, then hands the batch to [`Room::ingest`] (dedupe,
    /// analysis, store, queue; it waits while the room is busy). A batch the store refused is
    /// reported as rejected; the only error is the room having shut down.
    pub(crate) async fn deliver(&self, events: Vec<IngestEvent>) -> Result<Delivered, Refused> {
        if events.is_empty() {
            return Ok(Delivered::default());
        }
        let now = now_ms();
        let room = self.room.id();
        let mut valid = Vec::with_capacity(events.len());
        let mut positions = Vec::with_capacity(events.len());
        let mut rejected = Vec::new();
        for (index, event) in events.into_iter().enumerate() {
            match prepare(event, room, now) {
                Ok(event) => {
                    valid.push(event);
                    positions.push(index);
                }
                Err(error) => {
                    self.status.decode_error("invalid_event", &error);
                    self.metrics
                        .rejected
                        .get_or_create(&metrics::event(room, "invalid"))
                        .inc();
                    rejected.push((index, error));
                }
            }
        }
        // Dedupe, analysis, the store, metrics and the room's queue: exactly as ingest does.
        match self.room.ingest(valid, now).await {
            Ok((accepted, duplicates)) => {
                self.status.delivered(accepted, duplicates, rejected.len());
                Ok(Delivered {
                    accepted,
                    duplicates,
                    rejected,
                })
            }
            Err(Refused::Closed) => Err(Refused::Closed),
            Err(Refused::Other(e)) => {
                // The store refused the batch: none of it was accepted, and a platform stream
                // will not send it again. Say so and carry on with the next batch.
                let error = format!("not accepted: {e}");
                self.status.decode_error("not_stored", &error);
                rejected.extend(positions.into_iter().map(|i| (i, error.clone())));
                rejected.sort_by_key(|r| r.0);
                self.status.delivered(0, 0, rejected.len());
                Ok(Delivered {
                    accepted: 0,
                    duplicates: 0,
                    rejected,
                })
            }
        }
    }
}

/// Smallest and largest `ts` ingest accepts (milliseconds; see `ingest`).
pub(crate) const TS_RANGE: std::ops::RangeInclusive<i64> = 1_000_000_000_000..=9_999_999_999_999;

/// Makes a platform event a valid ingest event: the room set, a missing or implausible time
/// replaced by the arrival time, display fields clipped to ingest's limits (ids are never
/// clipped: two ids must not become one), then checked by ingest's own validation.
pub(crate) fn prepare(mut event: IngestEvent, room: &str, now: i64) -> Result<IngestEvent, String> {
    let env = event.envelope_mut();
    env.room = Some(room.to_owned());
    env.ts = env.ts.filter(|ts| TS_RANGE.contains(ts)).or(Some(now));
    if let Some(name) = &mut env.name {
        clip_in_place(name, MAX_USER_LEN);
    }
    match &mut event {
        IngestEvent::Comment(c) => {
            let trimmed = c.text.trim();
            if trimmed.len() != c.text.len() {
                c.text = trimmed.to_owned();
            }
            clip_in_place(&mut c.text, MAX_TEXT_LEN);
        }
        IngestEvent::Gift(g) => clip_in_place(&mut g.gift, MAX_USER_LEN),
        _ => {}
    }
    event.validate().map_err(|e| e.to_string())?;
    Ok(event)
}

fn clip_in_place(s: &mut String, max: usize) {
    let keep = health::clip_to(s, max).len();
    s.truncate(keep);
}
