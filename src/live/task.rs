//! Live rooms: the registry of rooms and each room's task.
//!
//! [`Rooms`] is a cheap-`Clone` handle over a `DashMap` of [`RoomHandle`]s. Each room has one
//! task that owns its [`RoomState`] and [`Suggester`] outright (no locks on the hot path): it
//! receives accepted events on a bounded channel, analyzes them in small chunks (yielding to
//! the runtime between chunks, so a burst never blocks other rooms), evaluates the suggestion
//! rules every [`TICK`] and after notable events, publishes numbered messages through
//! [`Push`], and applies console commands one at a time. Ingest connections only parse,
//! dedupe and enqueue; when a room's queue is full they wait (backpressure) rather than drop.

use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use rustc_hash::FxHashSet;
use thiserror::Error;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::analyze::{Analysis, Analyzer, RoomCatalog};
use crate::config::{Limits, RoomConfig, TOPICS};
use crate::ingest::IngestEvent;
use crate::metrics::{self, Metrics};
use crate::push::{Outgoing, Push};
use crate::room::RoomState;
use crate::room::trials::{self, ActedBy};
use crate::store::{CommentRecord, Record, StoreError, StoreHandle};
use crate::suggest::{CueKind, CueState, Suggester};
use crate::wire::{Command, RoomInfo, RoomMessage, Variants, ViewerReply};

/// How often the suggestion rules run.
pub const TICK: Duration = Duration::from_millis(250);
/// How often `stats` is published.
pub const STATS_EVERY: Duration = Duration::from_secs(1);
/// Batches of events a room queues before ingest waits.
pub const ROOM_QUEUE: usize = 256;
/// Comments analyzed between two yields to the runtime.
const CHUNK: usize = 64;
/// A notable event (a question, a complaint) makes the rules run at once, or, when a notable
/// event made them run less than this long ago, this long after that run: a cue waits at most
/// this for its rule, never for the next [`TICK`].
const EVAL_AFTER_EVENT: Duration = Duration::from_millis(50);
/// Comments carried by one `stats` message.
const STATS_COMMENTS: usize = 20;
/// How often the profiles seen since the last write go to the store (and once more when the
/// room stops).
const PROFILES_EVERY: Duration = Duration::from_secs(60);

/// Why a console command was refused.
#[derive(Debug, Error, PartialEq)]
pub enum CommandError {
    #[error("no product {0:?} in this room")]
    UnknownProduct(String),
    #[error("no cue {0:?} in this room")]
    UnknownCue(String),
    #[error("no question {0:?} in this room")]
    UnknownQuestion(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the room is shutting down")]
    Closed,
    #[error("not stored: {0}")]
    Store(StoreError),
}

impl CommandError {
    pub fn code(&self) -> &'static str {
        match self {
            CommandError::UnknownProduct(_) => "unknown_product",
            CommandError::UnknownCue(_) => "unknown_cue",
            CommandError::UnknownQuestion(_) => "unknown_question",
            CommandError::Invalid(_) => "invalid_command",
            CommandError::Closed => "shutting_down",
            CommandError::Store(_) => "store_failed",
        }
    }
}

/// An accepted event, when it arrived (server clock, ms), and what ingest already worked out:
/// the analysis of a comment and the viewer's pseudonym.
#[derive(Debug, Clone)]
pub struct Arrived {
    pub event: IngestEvent,
    pub at: i64,
    pub analysis: Option<Analysis>,
    pub viewer: Option<u64>,
}

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

enum RoomInput {
    Events(Vec<Arrived>),
    Command(Command, oneshot::Sender<Result<(), CommandError>>),
    Snapshot(oneshot::Sender<Outgoing>),
    /// One viewer's profile and tags as JSON (`None`: no profile).
    Viewer(u64, oneshot::Sender<Option<String>>),
}

/// Source message ids seen recently in a room, to drop duplicates. Bounded: the oldest ids
/// are forgotten first. Ids are kept as 64-bit keyed hashes (SipHash with a per-process random
/// key): no allocation per id, a tenth of the memory of owned strings, and with 100,000 ids
/// the chance that two different ids collide is about 3 in 10^10.
#[derive(Debug)]
struct Dedupe {
    seen: FxHashSet<u64>,
    order: VecDeque<u64>,
    capacity: usize,
    key: std::collections::hash_map::RandomState,
}

impl Dedupe {
    fn new(capacity: usize) -> Dedupe {
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

/// A token bucket: `rate` per second, at most `burst` saved up.
#[derive(Debug)]
pub struct Bucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Instant,
}

impl Bucket {
    pub fn new(rate: u32, burst: u32) -> Bucket {
        Bucket {
            tokens: f64::from(burst),
            rate: f64::from(rate.max(1)),
            burst: f64::from(burst.max(1)),
            last: Instant::now(),
        }
    }

    fn refill(&mut self) {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.burst);
        self.last = now;
    }

    /// Takes `n` whatever the balance (it may go negative: the debt is paid back by waiting);
    /// true while the balance is not negative.
    pub fn take(&mut self, n: f64) -> bool {
        self.refill();
        self.tokens -= n;
        self.tokens >= 0.0
    }

    /// Takes `n` only if there are that many (a request larger than the burst: when the
    /// bucket is full, going into debt); otherwise how many milliseconds until there are.
    pub fn try_take(&mut self, n: f64) -> Result<(), u64> {
        self.refill();
        let need = n.min(self.burst);
        if self.tokens >= need {
            self.tokens -= n;
            Ok(())
        } else {
            let missing = need - self.tokens;
            Err(((missing / self.rate) * 1000.0).ceil().max(1.0) as u64)
        }
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
    tx: mpsc::Sender<RoomInput>,
    dedupe: Mutex<Dedupe>,
    /// The room's ingest rate budget (all connections together).
    rate: Mutex<Bucket>,
    /// How long ingest retries a store that cannot write.
    store_retry: Duration,
    pitching: watch::Receiver<Option<Arc<str>>>,
    analyzer: Arc<Analyzer>,
    catalog: Arc<RoomCatalog>,
    metrics: Arc<Metrics>,
    /// Keyed hash for viewer pseudonyms when there is no store (random per process).
    pseudonym: std::collections::hash_map::RandomState,
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
        let mut arrived: Vec<Arrived> = fresh
            .into_iter()
            .map(|event| {
                let viewer = event.envelope().user.as_deref().map(|u| self.viewer(u));
                let analysis = match &event {
                    IngestEvent::Comment(c) => {
                        let started = Instant::now();
                        let a = self.analyzer.analyze(&c.text, &self.catalog);
                        self.metrics
                            .analysis_seconds
                            .observe(started.elapsed().as_secs_f64());
                        Some(a)
                    }
                    _ => None,
                };
                Arrived {
                    event,
                    at: now,
                    analysis,
                    viewer,
                }
            })
            .collect();
        if let Some(store) = &self.store {
            let pitching = self.pitching();
            let records: Vec<Record> = arrived
                .iter()
                .filter_map(|a| {
                    let viewer = a
                        .event
                        .envelope()
                        .user
                        .as_deref()
                        .map(|u| store.handle.viewer(u));
                    match (&a.event, &a.analysis) {
                        (IngestEvent::Comment(c), Some(analysis)) => {
                            Some(Record::Comment(CommentRecord::new(
                                &store.session,
                                now,
                                c,
                                viewer,
                                &self.analyzer,
                                analysis,
                                pitching.as_ref(),
                            )))
                        }
                        (event, _) => Record::event(&store.session, now, event, viewer),
                    }
                })
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

    /// Takes `n` events from the room's rate budget; `Err(ms)` (how long until there is room
    /// again) when the room is over its rate, and then nothing is taken.
    pub fn take_rate(&self, n: usize) -> Result<(), u64> {
        let mut bucket = self.rate.lock().unwrap_or_else(|p| p.into_inner());
        bucket.try_take(n as f64)
    }

    /// Gives back what [`RoomHandle::take_rate`] took (the frame was refused after all).
    pub fn refund_rate(&self, n: usize) {
        let mut bucket = self.rate.lock().unwrap_or_else(|p| p.into_inner());
        bucket.tokens = (bucket.tokens + n as f64).min(bucket.burst);
    }

    /// The viewer pseudonym the room counts by: the store's keyed hash (stable across
    /// restarts) or a per-process one.
    fn viewer(&self, user: &str) -> u64 {
        match &self.store {
            Some(store) => store.handle.pseudonyms().pseudonym_u64(user),
            None => self.pseudonym.hash_one(user),
        }
    }

    /// Queues accepted events for the room; waits while the room is busy (backpressure).
    async fn submit(&self, events: Vec<Arrived>) -> Result<(), CommandError> {
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
            Command::Forget { viewer } => trials::parse_pseudonym(viewer).map(trials::pseudonym),
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
                viewer,
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
    pub async fn profile(&self, viewer: u64) -> Option<Option<String>> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(RoomInput::Viewer(viewer, tx)).await.ok()?;
        rx.await.ok()
    }

    /// The product being pitched now.
    pub fn pitching(&self) -> Option<Arc<str>> {
        self.pitching.borrow().clone()
    }
}

struct Shared {
    rooms: DashMap<Arc<str>, Arc<RoomHandle>>,
    analyzer: Arc<Analyzer>,
    metrics: Arc<Metrics>,
    limits: Limits,
    cancel: CancellationToken,
    tracker: TaskTracker,
    /// Keyed hash for viewer pseudonyms: random per process, never stored.
    pseudonym: std::collections::hash_map::RandomState,
}

/// All rooms of the server.
#[derive(Clone)]
pub struct Rooms {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Rooms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rooms")
            .field("rooms", &self.shared.rooms.len())
            .finish()
    }
}

impl Rooms {
    pub fn new(
        analyzer: Arc<Analyzer>,
        metrics: Arc<Metrics>,
        limits: Limits,
        cancel: CancellationToken,
        tracker: TaskTracker,
    ) -> Rooms {
        Rooms {
            shared: Arc::new(Shared {
                rooms: DashMap::new(),
                analyzer,
                metrics,
                limits,
                cancel,
                tracker,
                pseudonym: std::collections::hash_map::RandomState::new(),
            }),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.shared.limits
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.shared.metrics
    }

    pub fn get(&self, id: &str) -> Option<Arc<RoomHandle>> {
        self.shared.rooms.get(id).map(|r| r.value().clone())
    }

    /// Room ids and names, sorted by id.
    pub fn list(&self) -> Vec<(Arc<str>, String)> {
        let mut rooms: Vec<(Arc<str>, String)> = self
            .shared
            .rooms
            .iter()
            .map(|r| (r.key().clone(), r.value().name.clone()))
            .collect();
        rooms.sort();
        rooms
    }

    /// Opens a room and starts its task. A room id already open is an error. `returning`:
    /// pseudonyms of viewers seen in the room's earlier sessions.
    pub fn open(
        &self,
        config: &RoomConfig,
        store: Option<RoomStore>,
        returning: FxHashSet<u64>,
    ) -> anyhow::Result<Arc<RoomHandle>> {
        use anyhow::Context;
        let catalog = Arc::new(
            RoomCatalog::new(&config.products, &config.words)
                .with_context(|| format!("room {}: compiling its catalog", config.id))?,
        );
        let now = now_ms();
        let mut state = RoomState::new(config, catalog, now);
        state.audience = crate::audience::Audience::new(config.audience.clone(), returning);
        let (tx, rx) = mpsc::channel(ROOM_QUEUE);
        let (pitching_tx, pitching_rx) = watch::channel(state.pitching.clone());
        let push = Arc::new(Push::new());
        let handle = Arc::new(RoomHandle {
            id: state.id.clone(),
            name: config.name.clone(),
            ingest_token: config.ingest_token.clone().filter(|t| !t.is_empty()),
            view_token: config.view_token.clone().filter(|t| !t.is_empty()),
            console_token: config.console_token.clone().filter(|t| !t.is_empty()),
            push: push.clone(),
            store: store.clone(),
            tx,
            analyzer: self.shared.analyzer.clone(),
            catalog: state.catalog.clone(),
            metrics: self.shared.metrics.clone(),
            pseudonym: self.shared.pseudonym.clone(),
            dedupe: Mutex::new(Dedupe::new(self.shared.limits.dedupe_ids)),
            rate: Mutex::new(Bucket::new(
                self.shared.limits.room_events_per_s,
                self.shared.limits.room_events_burst,
            )),
            store_retry: Duration::from_secs(self.shared.limits.store_retry_s),
            pitching: pitching_rx,
        });
        match self.shared.rooms.entry(handle.id.clone()) {
            dashmap::Entry::Occupied(_) => anyhow::bail!("room {} is defined twice", config.id),
            dashmap::Entry::Vacant(v) => {
                v.insert(handle.clone());
            }
        }
        let task = RoomTask {
            state,
            suggester: Suggester::default(),
            analyzer: self.shared.analyzer.clone(),
            metrics: self.shared.metrics.clone(),
            push,
            seq: 0,
            pitching: pitching_tx,
            stats_comments_at: 0,
            store,
        };
        let cancel = self.shared.cancel.clone();
        self.shared.tracker.spawn(task.run(rx, cancel));
        Ok(handle)
    }
}

/// Milliseconds since the epoch, by the server's clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Waits until `due`, or forever when nothing is due.
async fn sleep_until_due(due: Option<Instant>) {
    match due {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

struct RoomTask {
    state: RoomState,
    suggester: Suggester,
    analyzer: Arc<Analyzer>,
    metrics: Arc<Metrics>,
    push: Arc<Push>,
    seq: u64,
    pitching: watch::Sender<Option<Arc<str>>>,
    /// `totals.comments` when the last `stats` went out.
    stats_comments_at: u64,
    store: Option<RoomStore>,
}

impl RoomTask {
    async fn run(mut self, mut rx: mpsc::Receiver<RoomInput>, cancel: CancellationToken) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_stats = Instant::now();
        // Rule runs caused by notable events, spaced at least EVAL_AFTER_EVENT apart; a notable
        // event that comes sooner gets its run when the spacing allows (`eval_due`). Ticks run
        // the rules besides and do not delay these runs.
        let mut last_event_eval: Option<Instant> = None;
        let mut eval_due: Option<Instant> = None;
        let mut profiles_at = (Instant::now(), 0i64);
        loop {
            tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                () = sleep_until_due(eval_due) => {
                    self.evaluate();
                    last_event_eval = Some(Instant::now());
                    eval_due = None;
                }
                // Before input: under a flood the rules and `stats` still run on time.
                _ = tick.tick() => {
                    self.evaluate();
                    // This run saw every event so far: a pending one would find nothing new.
                    eval_due = None;
                    if last_stats.elapsed() >= STATS_EVERY {
                        self.stats();
                        last_stats = Instant::now();
                    }
                    if profiles_at.0.elapsed() >= PROFILES_EVERY {
                        let since = profiles_at.1;
                        profiles_at = (Instant::now(), now_ms());
                        if let Some(records) = self.profile_records(since) {
                            self.record(records);
                        }
                    }
                }
                input = rx.recv() => match input {
                    None => break,
                    Some(RoomInput::Events(events)) => {
                        let notable = self.apply(events).await;
                        match last_event_eval {
                            _ if !notable || eval_due.is_some() => {}
                            Some(at) if at.elapsed() < EVAL_AFTER_EVENT => {
                                eval_due = Some(at + EVAL_AFTER_EVENT);
                            }
                            _ => {
                                self.evaluate();
                                last_event_eval = Some(Instant::now());
                            }
                        }
                    }
                    Some(RoomInput::Command(command, reply)) => {
                        let result = self.command(command);
                        let _ = reply.send(result);
                    }
                    Some(RoomInput::Snapshot(reply)) => {
                        let _ = reply.send(self.snapshot());
                    }
                    Some(RoomInput::Viewer(viewer, reply)) => {
                        let _ = reply.send(self.viewer(viewer));
                    }
                },
            }
        }
        // The last profiles are written before the store closes (it closes after the rooms).
        if let (Some(records), Some(store)) = (self.profile_records(profiles_at.1), &self.store)
            && let Err(e) = store.handle.append(records).await
        {
            tracing::warn!(room = %self.state.id, error = %e, "could not write the profiles");
        }
        tracing::debug!(room = %self.state.id, "room task stopped");
    }

    /// The profiles seen since `since` (ms) as a store record; `None` without a store or
    /// profiles.
    fn profile_records(&self, since: i64) -> Option<Vec<Record>> {
        let session = self.session()?;
        let profiles = self.state.profiles_since(since);
        (!profiles.is_empty()).then(|| vec![Record::profiles(&session, &profiles)])
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn publish(&mut self, message: impl FnOnce(u64) -> String) {
        let seq = self.next_seq();
        let json = message(seq);
        self.push.publish(seq, json);
    }

    /// Analyzes and records events; true when one of them may trigger a cue.
    async fn apply(&mut self, events: Vec<Arrived>) -> bool {
        let mut notable = false;
        for (i, arrived) in events.into_iter().enumerate() {
            if i > 0 && i % CHUNK == 0 {
                tokio::task::yield_now().await;
            }
            let now = arrived.at;
            match &arrived.event {
                IngestEvent::Comment(c) => {
                    // Ingest analyzed it already; analyze here only what came another way.
                    let analysis = match arrived.analysis {
                        Some(a) => a,
                        None => self.analyzer.analyze(&c.text, &self.state.catalog),
                    };
                    notable |= analysis.question
                        || analysis.intents.contains(crate::analyze::Intent::Complaint);
                    self.state
                        .comment_event(&self.analyzer, &analysis, c, arrived.viewer, now);
                }
                other => self.state.event(other, arrived.viewer, now),
            }
        }
        notable
    }

    /// Records what the room did (cues, operator actions) without waiting: a full store queue
    /// drops them and counts the drop (`livecue_store_dropped_total`, and in the review).
    fn record(&self, records: Vec<Record>) {
        if let Some(store) = &self.store
            && !records.is_empty()
        {
            store.handle.try_append(records);
        }
    }

    fn session(&self) -> Option<Arc<str>> {
        self.store.as_ref().map(|s| s.session.clone())
    }

    fn evaluate(&mut self) {
        let now = now_ms();
        let expiring: Vec<String> = self
            .state
            .cues
            .iter()
            .filter(|c| c.state == CueState::Active && now >= c.expires_at)
            .map(|c| c.id.clone())
            .collect();
        let cues = self.suggester.evaluate(&mut self.state, now);
        if let Some(session) = self.session() {
            let mut records: Vec<Record> = cues.iter().map(|c| Record::cue(&session, c)).collect();
            records.extend(expiring.iter().map(|id| Record::CueState {
                session: session.clone(),
                id: id.clone(),
                state: CueState::Expired,
                at: now,
            }));
            self.record(records);
        }
        for id in expiring {
            self.publish(|seq| {
                json(&RoomMessage::CueUpdate {
                    seq,
                    id: &id,
                    state: CueState::Expired,
                })
            });
        }
        for cue in cues {
            self.metrics
                .cues
                .get_or_create(&metrics::event(&self.state.id, cue.kind.as_str()))
                .inc();
            self.publish(|seq| json(&RoomMessage::Cue { seq, cue: &cue }));
        }
        self.state.expose_shown(now);
        let settled = self.state.settle(now);
        if !settled.is_empty() {
            if let Some(session) = self.session() {
                self.record(
                    settled
                        .iter()
                        .map(|s| Record::exposure(&session, s))
                        .collect(),
                );
            }
            let rows = self.state.variant_rows();
            let variants = self.variants(&rows);
            self.publish(|seq| json(&RoomMessage::Variants { seq, variants }));
        }
    }

    fn variants<'a>(&self, rows: &'a [crate::experiment::VariantRow]) -> Variants<'a> {
        Variants {
            variants: rows,
            verdicts: crate::experiment::verdicts(rows),
            pending: self.state.experiments.pending(),
        }
    }

    fn stats(&mut self) {
        let now = now_ms();
        let stats = self.state.stats(now);
        let new = (self.state.totals.comments - self.stats_comments_at) as usize;
        self.stats_comments_at = self.state.totals.comments;
        let take = new.min(STATS_COMMENTS).min(self.state.recent.len());
        let comments: Vec<_> = self
            .state
            .recent
            .iter()
            .skip(self.state.recent.len() - take)
            .collect();
        let seq = self.seq + 1;
        let body = json(&RoomMessage::Stats {
            seq,
            stats: &stats,
            comments,
        });
        self.seq = seq;
        self.push.publish(seq, body);
    }

    fn snapshot(&self) -> Outgoing {
        let now = now_ms();
        let stats = self.state.stats(now);
        let mut cues: Vec<_> = self.state.cues.iter().filter(|c| c.is_active()).collect();
        cues.sort_by(|a, b| {
            b.priority
                .cmp(&a.priority)
                .then(b.created_at.cmp(&a.created_at))
        });
        cues.extend(self.state.cues.iter().rev().filter(|c| !c.is_active()));
        let rows = self.state.variant_rows();
        let message = RoomMessage::Snapshot {
            seq: self.seq,
            room: RoomInfo {
                id: self.state.id.clone(),
                name: self.state.name.clone(),
                started_at: self.state.started_at,
            },
            catalog: &self.state.products,
            pitching: self.state.pitching.clone(),
            queue: &self.state.queue,
            cues,
            stats: &stats,
            comments: self.state.recent.iter().collect(),
            super_chats: self.state.pinned_super_chats(now),
            variants: self.variants(&rows),
        };
        Outgoing {
            seq: self.seq,
            json: json(&message).into(),
        }
    }

    fn viewer(&self, viewer: u64) -> Option<String> {
        let now = now_ms();
        let audience = &self.state.audience;
        let profile = audience.get(viewer)?;
        Some(json(&ViewerReply {
            kind: "viewer",
            room: &self.state.id,
            viewer: trials::pseudonym(viewer),
            tags: audience.tags(profile, now),
            rfm: profile.rfm(now),
            profile,
        }))
    }

    fn product_id(&self, id: &str) -> Result<Arc<str>, CommandError> {
        self.state
            .catalog
            .id(id)
            .cloned()
            .ok_or_else(|| CommandError::UnknownProduct(id.into()))
    }

    fn command(&mut self, command: Command) -> Result<(), CommandError> {
        let now = now_ms();
        let action = self.session().map(|s| Record::action(&s, now, &command));
        let result = self.apply_command(command, now);
        if result.is_ok()
            && let Some(action) = action
        {
            self.record(vec![action]);
        }
        result
    }

    fn apply_command(&mut self, command: Command, now: i64) -> Result<(), CommandError> {
        match command {
            Command::SetPitching { product } => {
                let product = product.map(|p| self.product_id(&p)).transpose()?;
                self.state.pitching = product.clone();
                self.state.pitching_since = now;
                self.pitching.send_replace(product.clone());
                self.publish(|seq| {
                    json(&RoomMessage::Pitching {
                        seq,
                        product,
                        since: now,
                    })
                });
            }
            Command::Reorder { order } => {
                let mut seen = FxHashSet::default();
                let mut queue = Vec::with_capacity(self.state.queue.len());
                for id in &order {
                    let id = self.product_id(id)?;
                    if !seen.insert(id.clone()) {
                        return Err(CommandError::Invalid(format!(
                            "product {id} is listed twice"
                        )));
                    }
                    queue.push(id);
                }
                // Products the operator left out keep their relative order, after the others.
                for id in &self.state.queue {
                    if !seen.contains(id) {
                        queue.push(id.clone());
                    }
                }
                self.state.queue = queue;
                let order = self.state.queue.clone();
                self.publish(|seq| json(&RoomMessage::Queue { seq, order: &order }));
            }
            Command::AckCue { id } => self.set_cue(&id, CueState::Acked, now)?,
            Command::DismissCue { id } => self.set_cue(&id, CueState::Dismissed, now)?,
            Command::PinCue { id } => self.set_cue(&id, CueState::Pinned, now)?,
            Command::MarkAnswered { key } => {
                if !self.state.clusters.mark_answered(&key, now) {
                    return Err(CommandError::UnknownQuestion(key));
                }
                self.publish(|seq| {
                    json(&RoomMessage::Question {
                        seq,
                        key: &key,
                        answered: true,
                    })
                });
            }
            Command::SetFaq {
                product,
                topic,
                text,
            } => {
                check_topic(&topic)?;
                check_text(&text)?;
                let index = self.index(&product)?;
                let faq = &mut self.state.products[index].faq;
                if text.trim().is_empty() {
                    faq.remove(&topic);
                } else {
                    faq.insert(topic, text.trim().to_owned());
                }
                self.publish_script(index);
            }
            Command::SetPoints { product, points } => {
                if points.len() > 50 {
                    return Err(CommandError::Invalid("at most 50 selling points".into()));
                }
                for p in &points {
                    if !p.topic.is_empty() {
                        check_topic(&p.topic)?;
                    }
                    check_text(&p.text)?;
                    for v in &p.variants {
                        check_text(&v.text)?;
                    }
                }
                let index = self.index(&product)?;
                self.state.products[index].points = points;
                self.publish_script(index);
            }
            Command::Forget { viewer } => {
                let id = trials::parse_pseudonym(&viewer).ok_or_else(|| {
                    CommandError::Invalid(format!(
                        "viewer {viewer:?} is not a pseudonym (16 hex digits, as in the console)"
                    ))
                })?;
                self.state.forget(id);
                let viewer = trials::pseudonym(id);
                self.publish(|seq| {
                    json(&RoomMessage::Forgotten {
                        seq,
                        viewer: &viewer,
                    })
                });
            }
        }
        Ok(())
    }

    fn index(&self, product: &str) -> Result<usize, CommandError> {
        self.state
            .product_index(product)
            .ok_or_else(|| CommandError::UnknownProduct(product.into()))
    }

    fn publish_script(&mut self, index: usize) {
        let seq = self.next_seq();
        let body = json(&RoomMessage::Script {
            seq,
            product: &self.state.products[index],
        });
        self.push.publish(seq, body);
    }

    fn set_cue(&mut self, id: &str, state: CueState, now: i64) -> Result<(), CommandError> {
        let cue = self
            .state
            .cue_mut(id)
            .ok_or_else(|| CommandError::UnknownCue(id.into()))?;
        cue.state = state;
        if let Some(session) = self.store.as_ref().map(|s| s.session.clone()) {
            self.record(vec![Record::CueState {
                session,
                id: id.into(),
                state,
                at: now,
            }]);
        }
        if state == CueState::Acked {
            self.state.expose(id, ActedBy::Ack, now);
        }
        let Some(cue) = self.state.cue_mut(id) else {
            return Err(CommandError::UnknownCue(id.into()));
        };
        let answered = (state == CueState::Acked && cue.kind == CueKind::AnswerQuestion)
            .then(|| cue.evidence.key.clone())
            .flatten();
        self.publish(|seq| json(&RoomMessage::CueUpdate { seq, id, state }));
        if let Some(key) = answered
            && self.state.clusters.mark_answered(&key, now)
        {
            self.publish(|seq| {
                json(&RoomMessage::Question {
                    seq,
                    key: &key,
                    answered: true,
                })
            });
        }
        Ok(())
    }
}

fn check_topic(topic: &str) -> Result<(), CommandError> {
    if TOPICS.contains(&topic) {
        Ok(())
    } else {
        Err(CommandError::Invalid(format!(
            "unknown topic {topic:?} (known: {})",
            TOPICS.join(", ")
        )))
    }
}

fn check_text(text: &str) -> Result<(), CommandError> {
    if text.chars().count() > 500 {
        Err(CommandError::Invalid(
            "a script text is at most 500 characters".into(),
        ))
    } else {
        Ok(())
    }
}

/// Serializes a message; our message types contain only strings, numbers and maps with
/// string keys, which always serialize.
fn json<T: serde::Serialize>(message: &T) -> String {
    serde_json::to_string(message).unwrap_or_else(|e| {
        tracing::error!(error = %e, "a room message failed to serialize");
        String::from("{\"type\":\"error\",\"code\":\"internal\"}")
    })
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
