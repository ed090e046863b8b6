//! The ingest path of a room: [`RoomHandle`], what the rest of the server holds of it.
//!
//! [`RoomHandle::ingest`] takes a validated batch, drops duplicates (source ids), and
//! interprets each event once into a [`RoomEvent`]: the viewer pseudonymized, a comment
//! analyzed and read against the product pitched at that moment. The store records are copied
//! from those values and committed (an ack means durable); then the same values are queued for
//! the room's task, which applies them as they are.

use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustc_hash::FxHashSet;
use tokio::sync::{mpsc, oneshot};

use super::{CommandError, records};
use crate::analyze::{Analyzer, RoomCatalog};
use crate::ingest::IngestEvent;
use crate::metrics::{self, Metrics};
use crate::privacy::{Pseudonym, Pseudonymizer};
use crate::push::{Outgoing, Push};
use crate::room::{Pitch, Reading, RoomEvent};
use crate::sources::{Gap, Refused};
use crate::store::{GapRecord, Record, StoreError, StoreHandle};
use crate::wire::Command;

/// A room's session in the store: where its records go.
#[derive(Debug, Clone)]
pub struct RoomStore {
    pub handle: StoreHandle,
    pub session: Arc<str>,
}

/// What [`RoomHandle::ingest`] did with a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ingested {
    pub accepted: usize,
    pub duplicates: usize,
}

/// What a room's task receives.
pub(super) enum RoomInput {
    Events(Vec<RoomEvent>),
    Command(Command, oneshot::Sender<Result<(), CommandError>>),
    Snapshot(oneshot::Sender<Outgoing>),
    /// One viewer's profile and tags as JSON (`None`: no profile).
    Viewer(Pseudonym, oneshot::Sender<Option<String>>),
}

/// Source message ids seen recently in a room, to drop duplicates. Bounded: the oldest ids
/// are forgotten first. Ids are kept as 64-bit keyed hashes (SipHash with a per-process random
/// key): no allocation per id, a tenth of the memory of owned strings, and with 100,000 ids
/// the chance that two different ids collide is about 3 in 10^10.
#[derive(Debug)]
pub(super) struct Dedupe {
    seen: FxHashSet<u64>,
    order: VecDeque<u64>,
    capacity: usize,
    key: std::collections::hash_map::RandomState,
}

impl Dedupe {
    pub(super) fn new(capacity: usize) -> Dedupe {
        Dedupe {
            seen: FxHashSet::default(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
            key: std::collections::hash_map::RandomState::new(),
        }
    }

    fn contains(&self, id: &str) -> bool {
        self.seen.contains(&self.key.hash_one(id))
    }

    /// True when the id is new (and remembers it).
    fn insert(&mut self, id: &str) -> bool {
        let hash = self.key.hash_one(id);
        if !self.seen.insert(hash) {
            return false;
        }
        if self.order.len() >= self.capacity
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        self.order.push_back(hash);
        true
    }
}

/// What the rest of the server holds of a room.
#[derive(Debug)]
pub struct RoomHandle {
    pub id: Arc<str>,
    pub name: String,
    pub ingest_token: Option<String>,
    pub view_token: Option<String>,
    /// Opens the console role (commands); without it the view token does.
    pub console_token: Option<String>,
    pub push: Arc<Push>,
    /// The store session, when the server keeps one.
    pub store: Option<RoomStore>,
    pub(super) tx: mpsc::Sender<RoomInput>,
    pub(super) dedupe: Mutex<Dedupe>,
    /// How long ingest retries a store that cannot write.
    pub(super) store_retry: Duration,
    /// The pitched product, owned by the room (its task sets it); read here to interpret.
    pub(super) pitch: Pitch,
    pub(super) analyzer: Arc<Analyzer>,
    pub(super) catalog: Arc<RoomCatalog>,
    pub(super) metrics: Arc<Metrics>,
    /// The store's keyed hash for viewer ids (stable across restarts), or a per-process one.
    pub(super) pseudonyms: Pseudonymizer,
}

impl RoomHandle {
    /// Splits events into new ones and the number of duplicates (same source id seen before).
    ///
    /// With a store, ids are only *looked up* here and remembered after their commit
    /// ([`RoomHandle::remember`]): "duplicate" is an acknowledgment, so it must never be
    /// answered for a copy whose first arrival is still on its way to the disk (and may yet
    /// fail or die with the process). Two copies in flight at once both reach the store,
    /// whose unique index keeps one and reports the other as a duplicate after the commit.
    fn dedupe(&self, events: Vec<IngestEvent>) -> (Vec<IngestEvent>, usize) {
        let mut seen = self.dedupe.lock().unwrap_or_else(|p| p.into_inner());
        let before = events.len();
        let fresh: Vec<IngestEvent> = if self.store.is_some() {
            let mut batch: FxHashSet<&str> = FxHashSet::default();
            let mut keep = Vec::with_capacity(events.len());
            for e in &events {
                keep.push(
                    e.envelope()
                        .id
                        .as_deref()
                        .is_none_or(|id| !seen.contains(id) && batch.insert(id)),
                );
            }
            let mut keep = keep.into_iter();
            events
                .into_iter()
                .filter(|_| keep.next().unwrap_or(true))
                .collect()
        } else {
            events
                .into_iter()
                .filter(|e| e.envelope().id.as_deref().is_none_or(|id| seen.insert(id)))
                .collect()
        };
        let dups = before - fresh.len();
        (fresh, dups)
    }

    /// Remembers committed source ids (with a store; see [`RoomHandle::dedupe`]).
    fn remember<'a>(&self, ids: impl Iterator<Item = &'a str>) {
        let mut seen = self.dedupe.lock().unwrap_or_else(|p| p.into_inner());
        for id in ids {
            seen.insert(id);
        }
    }

    /// Takes a batch of validated events for this room: drops duplicates, analyzes comments,
    /// commits everything to the store (when there is one), then queues it for the room.
    /// Returns only once the events are durable; waits while the store or the room is busy
    /// (backpressure). An error means none of the fresh events were accepted.
    pub async fn ingest(
        &self,
        events: Vec<IngestEvent>,
        now: i64,
    ) -> Result<Ingested, CommandError> {
        let (fresh, mut duplicates) = self.dedupe(events);
        if duplicates > 0 {
            self.metrics
                .duplicates
                .get_or_create(&metrics::room(&self.id))
                .inc_by(duplicates as u64);
        }
        if fresh.is_empty() {
            return Ok(Ingested {
                accepted: 0,
                duplicates,
            });
        }
        let pitching = self.pitch.product();
        let mut arrived: Vec<RoomEvent> = fresh
            .into_iter()
            .map(|event| self.interpret(event, now, pitching.as_ref()))
            .collect();
        if let Some(store) = &self.store {
            let records: Vec<Record> = arrived
                .iter()
                .filter_map(|e| records::event(&store.session, e))
                .collect();
            // Not stored: nothing was remembered, so the source's resend is taken, not
            // counted as a duplicate of something we never kept.
            let appended = self
                .append_retrying(store, records)
                .await
                .map_err(CommandError::Store)?;
            self.remember(
                arrived
                    .iter()
                    .filter_map(|a| a.event.envelope().id.as_deref()),
            );
            // Resent after a lost ack (e.g. across a crash): already stored, not counted twice.
            if !appended.duplicates.is_empty() {
                duplicates += appended.duplicates.len();
                let mut index = 0;
                arrived.retain(|_| {
                    let keep = !appended.duplicates.contains(&index);
                    index += 1;
                    keep
                });
            }
        }
        let accepted = arrived.len();
        for a in &arrived {
            self.metrics
                .ingested
                .get_or_create(&metrics::event(&self.id, a.event.kind()))
                .inc();
        }
        match self.submit(arrived).await {
            Ok(()) => {}
            // Committed already (an ack means durable): the room closing cannot undo that.
            Err(CommandError::Closed) if self.store.is_some() => {}
            Err(e) => return Err(e),
        }
        Ok(Ingested {
            accepted,
            duplicates,
        })
    }

    /// Interprets one accepted event, once: its viewer's pseudonym and, for a comment, the
    /// analysis read against the product pitched now.
    fn interpret(&self, event: IngestEvent, now: i64, pitching: Option<&Arc<str>>) -> RoomEvent {
        let viewer = event
            .envelope()
            .user
            .as_deref()
            .map(|u| self.pseudonyms.pseudonym(u));
        let reading = match &event {
            IngestEvent::Comment(c) => {
                let started = Instant::now();
                let analysis = self.analyzer.analyze(&c.text, &self.catalog);
                self.metrics
                    .analysis_seconds
                    .observe(started.elapsed().as_secs_f64());
                Some(Reading::new(&self.analyzer, analysis, pitching))
            }
            _ => None,
        };
        RoomEvent {
            event,
            at: now,
            viewer,
            reading,
        }
    }

    /// Appends to the store, retrying a store that cannot write (disk full, I/O errors) for
    /// up to `store_retry_s`: meanwhile this ingest waits, and so does its connection
    /// (backpressure). Errors that retrying cannot fix (closed, unknown session) return at once.
    async fn append_retrying(
        &self,
        store: &RoomStore,
        records: Vec<Record>,
    ) -> Result<crate::store::Appended, StoreError> {
        let deadline = Instant::now() + self.store_retry;
        let mut wait = Duration::from_millis(50);
        let mut warned = false;
        loop {
            match store.handle.append(records.clone()).await {
                Ok(appended) => {
                    if warned {
                        tracing::info!(room = %self.id, "the store writes again");
                    }
                    return Ok(appended);
                }
                Err(e @ StoreError::Sql(_)) if Instant::now() + wait < deadline => {
                    if !warned {
                        tracing::warn!(room = %self.id, error = %e, "the store cannot write; ingest waits and retries");
                        warned = true;
                    }
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_millis(500));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Queues accepted events for the room; waits while the room is busy (backpressure).
    async fn submit(&self, events: Vec<RoomEvent>) -> Result<(), CommandError> {
        if events.is_empty() {
            return Ok(());
        }
        self.tx
            .send(RoomInput::Events(events))
            .await
            .map_err(|_| CommandError::Closed)
    }

    /// Applies a console command. `forget` replies once the store has deleted what it kept
    /// of the viewer (in every session of the room).
    pub async fn command(&self, command: Command) -> Result<(), CommandError> {
        let forget = match &command {
            Command::Forget { viewer } => Pseudonym::parse(viewer),
            _ => None,
        };
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(RoomInput::Command(command, tx))
            .await
            .map_err(|_| CommandError::Closed)?;
        rx.await.map_err(|_| CommandError::Closed)??;
        if let (Some(viewer), Some(store)) = (forget, &self.store) {
            let forget = Record::Forget {
                session: store.session.clone(),
                viewer: viewer.to_string(),
            };
            store
                .handle
                .append(vec![forget])
                .await
                .map_err(CommandError::Store)?;
        }
        Ok(())
    }

    /// The whole current picture, numbered with the room's latest `seq`.
    pub async fn snapshot(&self) -> Option<Outgoing> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(RoomInput::Snapshot(tx)).await.ok()?;
        rx.await.ok()
    }

    /// A viewer's profile with tags and RFM scores, as JSON; `Some(None)` when the room has no
    /// profile for them, `None` when the room is gone.
    pub async fn profile(&self, viewer: Pseudonym) -> Option<Option<String>> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(RoomInput::Viewer(viewer, tx)).await.ok()?;
        rx.await.ok()
    }

    /// The product being pitched now.
    pub fn pitching(&self) -> Option<Arc<str>> {
        self.pitch.product()
    }
}

/// A platform source feeds its room through the same path as ingest.
impl crate::sources::Room for RoomHandle {
    fn id(&self) -> &Arc<str> {
        &self.id
    }

    fn pitching(&self) -> Option<Arc<str>> {
        self.pitch.product()
    }

    fn ingest(
        &self,
        events: Vec<IngestEvent>,
        now: i64,
    ) -> futures_util::future::BoxFuture<'_, Result<(usize, usize), Refused>> {
        Box::pin(async move {
            match RoomHandle::ingest(self, events, now).await {
                Ok(i) => Ok((i.accepted, i.duplicates)),
                Err(CommandError::Closed) => Err(Refused::Closed),
                Err(e) => Err(Refused::Other(e.to_string())),
            }
        })
    }

    fn follow_pitching(
        &self,
        product: &str,
    ) -> futures_util::future::BoxFuture<'_, Result<(), Refused>> {
        let command = Command::SetPitching {
            product: Some(product.to_owned()),
        };
        Box::pin(async move {
            match self.command(command).await {
                Ok(()) => Ok(()),
                Err(CommandError::Closed) => Err(Refused::Closed),
                Err(e) => Err(Refused::Other(e.to_string())),
            }
        })
    }

    fn gap(&self, source: &str, kind: &'static str, gap: &Gap) {
        let Some(store) = &self.store else {
            return;
        };
        // Without waiting: a full queue drops it and counts the drop.
        store.handle.try_append(vec![Record::SourceGap(GapRecord {
            session: store.session.clone(),
            source: source.to_owned(),
            kind,
            from: gap.from,
            to: gap.to,
            reason: gap.reason,
            missing: gap.missing,
        })]);
    }
}

#[cfg(test)]
mod tests {
    use super::Dedupe;

    #[test]
    fn dedupe_remembers_the_latest_ids_only() {
        let mut d = Dedupe::new(3);
        assert!(d.insert("a") && d.insert("b") && d.insert("c"));
        assert!(!d.insert("a"));
        // A fourth id pushes out the oldest.
        assert!(d.insert("d"));
        assert!(d.insert("a"));
        assert!(!d.insert("d"));
        assert_eq!(d.order.len(), 3);
        assert_eq!(d.seen.len(), 3);
    }
}
