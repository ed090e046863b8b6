//! Platform sources: adapters that turn a platform's live stream into ingest events.
//!
//! Streamers don't type comments into LiveCue: their platform sends them. Each adapter reads
//! one platform's stream, maps its messages to [`IngestEvent`]s and hands them to the room
//! exactly as `WS /ws/ingest` does (dedupe on the source's message id, then queue with
//! backpressure), while it keeps a [`SourceStatus`] up to date: connected, last message,
//! reconnects, decode errors by kind, gaps where messages may be missing.
//!
//! | kind | module | how |
//! |---|---|---|
//! | `bilibili` | [`bilibili`] | Bilibili live, web protocol: WebSocket, 16-byte header packets, zlib/brotli bodies; key from `getDanmuInfo` |
//! | `bilibili_open` | [`bilibili_open`] | Bilibili open platform (开放平台): same packets, `LIVE_OPEN_PLATFORM_*` commands; signed app start/heartbeat/end |
//! | `douyin` | [`douyin`] | Douyin live, web protocol: protobuf `PushFrame`s, gzip `Response`s, acks; URL from a signer |
//! | `douyin_open` | [`douyin_open`] | Douyin open platform push: a signed HTTP webhook we serve |
//! | `json` | [`json_map`] | any bridge's JSON, mapped field by field with JSON pointers (webhook or WebSocket) |
//!
//! Shared behaviour lives here, in `client` (connect, jittered exponential backoff, the
//! supervisor that reconnects), in `session` (the one read loop every WebSocket kind runs:
//! handshake, heartbeats, idle timeout, acks, sequence gaps, delivery; and the timing keys they
//! share), in [`http`] (the few HTTP calls: bounded, typed errors) and in [`health`] (status,
//! gaps recorded in the room's store session). Everything is bounded: WebSocket messages,
//! webhook bodies and HTTP answers at [`MAX_MESSAGE_BYTES`], decompressed bodies at
//! [`MAX_DECOMPRESSED`], nesting, packets per message, backoff between [`BackoffConfig`]
//! bounds.
//!
//! The web protocols are unofficial: they may change without notice, and using them must
//! respect each platform's terms. The open-platform kinds are the supported path.
//!
//! Integration: [`Sources::start`] (after the rooms are open) spawns every configured source
//! on the server's `TaskTracker`; [`Sources::router`] serves the webhook kinds;
//! [`Sources::snapshot`], [`Sources::room_snapshot`] (`GET /api/rooms/R/sources`) and
//! [`Sources::encode_metrics`] publish health.

pub mod bilibili;
pub mod bilibili_open;
mod client;
pub mod douyin;
pub mod douyin_open;
pub mod health;
pub mod http;
pub mod json_map;
mod session;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::post;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::now_ms;
use crate::ingest::{
    CommentEvent, Envelope, GiftEvent, IngestEvent, LikeEvent, MAX_MEDAL_LEN, MAX_SUPER_CHAT_CNY,
    MAX_SUPER_CHAT_S, MAX_TEXT_LEN, MAX_USER_LEN, Medal, SuperChat, UserEvent,
};
use crate::metrics::{self, Metrics};

pub use client::BackoffConfig;
pub use health::{Gap, SourceSnapshot, SourceState, SourceStatus, SourceStatusHandle};
pub use session::{Schedule, Timing, TimingDefaults};

/// Largest WebSocket message or webhook body read from a platform, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// Largest decompressed body of one packet or frame, in bytes; larger ones (zip bombs) are
/// refused and counted as `too_large`.
pub const MAX_DECOMPRESSED: usize = 1024 * 1024;
/// Webhook paths start with this, so they can never collide with the server's own routes.
pub const WEBHOOK_PREFIX: &str = "/hooks/";

/// One configured source of a room: `[[rooms.sources]]` with its `kind`.
///
/// Every endpoint is configuration (no platform address is built in), so tests and relays can
/// point a source anywhere. Secrets are [`Secret`]s: never printed, serialized as `***`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
// Read once at start, a few per room: boxing the big variant would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum SourceConfig {
    Bilibili(bilibili::BilibiliConfig),
    BilibiliOpen(bilibili_open::BilibiliOpenConfig),
    Douyin(douyin::DouyinConfig),
    DouyinOpen(douyin_open::DouyinOpenConfig),
    Json(json_map::JsonConfig),
}

impl SourceConfig {
    /// The `kind` tag.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceConfig::Bilibili(_) => "bilibili",
            SourceConfig::BilibiliOpen(_) => "bilibili_open",
            SourceConfig::Douyin(_) => "douyin",
            SourceConfig::DouyinOpen(_) => "douyin_open",
            SourceConfig::Json(_) => "json",
        }
    }

    /// The configured `name`, if any.
    pub fn name(&self) -> Option<&str> {
        match self {
            SourceConfig::Bilibili(c) => c.name.as_deref(),
            SourceConfig::BilibiliOpen(c) => c.name.as_deref(),
            SourceConfig::Douyin(c) => c.name.as_deref(),
            SourceConfig::DouyinOpen(c) => c.name.as_deref(),
            SourceConfig::Json(c) => c.name.as_deref(),
        }
    }

    fn set_name(&mut self, name: String) {
        let slot = match self {
            SourceConfig::Bilibili(c) => &mut c.name,
            SourceConfig::BilibiliOpen(c) => &mut c.name,
            SourceConfig::Douyin(c) => &mut c.name,
            SourceConfig::DouyinOpen(c) => &mut c.name,
            SourceConfig::Json(c) => &mut c.name,
        };
        *slot = Some(name);
    }

    /// `url`: the platform address we connect to, or the webhook path we listen on.
    pub fn url(&self) -> &str {
        match self {
            SourceConfig::Bilibili(c) => c.endpoint(),
            SourceConfig::BilibiliOpen(c) => c.endpoint(),
            SourceConfig::Douyin(c) => &c.url,
            SourceConfig::DouyinOpen(c) => &c.url,
            SourceConfig::Json(c) => &c.url,
        }
    }

    /// The path this source listens on, for the webhook kinds.
    pub fn webhook_path(&self) -> Option<&str> {
        match self {
            SourceConfig::DouyinOpen(c) => Some(&c.url),
            SourceConfig::Json(c) if c.is_webhook() => Some(&c.url),
            _ => None,
        }
    }

    /// Checks one source on its own (see [`validate`] for what spans sources).
    pub fn validate(&self) -> Result<(), String> {
        if let Some(name) = self.name()
            && !crate::ingest::valid_id(name)
        {
            return Err(format!(
                "name {name:?} must be 1-64 letters, digits, '-' or '_'"
            ));
        }
        match self {
            SourceConfig::Bilibili(c) => c.validate(),
            SourceConfig::BilibiliOpen(c) => c.validate(),
            SourceConfig::Douyin(c) => c.validate(),
            SourceConfig::DouyinOpen(c) => c.validate(),
            SourceConfig::Json(c) => c.validate(),
        }
    }
}

/// A secret from the configuration (key, token, signing secret, cookie): kept out of `Debug`
/// output and serialized as `***`.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "***" })
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.0.is_empty() { "" } else { "***" })
    }
}

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

/// Why sources could not start.
#[derive(Debug, Error, PartialEq)]
pub enum SourceError {
    #[error("room {room:?}, source {source_name:?}: {problem}")]
    Config {
        room: String,
        source_name: String,
        problem: String,
    },
    #[error("room {0:?} has sources but is not open")]
    RoomNotOpen(String),
}

/// A room's sources as [`validate`] checks them: the room's id, its catalog's product ids and
/// its `[[rooms.sources]]`.
#[derive(Debug, Clone)]
pub struct RoomSources<'a> {
    pub id: &'a str,
    pub products: Vec<&'a str>,
    pub sources: &'a [SourceConfig],
}

/// Checks every room's sources: each on its own, names unique in a room, webhook paths unique
/// (several `douyin_open` sources may share one path when each names its `room_id`: the
/// platform's `x-roomid` header picks the source).
pub fn validate<'a>(rooms: &[RoomSources<'a>]) -> Result<(), SourceError> {
    let mut paths: BTreeMap<&str, Vec<(&str, &SourceConfig)>> = BTreeMap::new();
    for room in rooms {
        let named = named(room.sources);
        let mut names = std::collections::HashSet::new();
        for config in &named {
            let name = config.name().unwrap_or_default().to_owned();
            let fail = |problem: String| SourceError::Config {
                room: room.id.to_owned(),
                source_name: name.clone(),
                problem,
            };
            config.validate().map_err(fail)?;
            if !names.insert(name.clone()) {
                return Err(fail("two sources of this room have this name".into()));
            }
            if let SourceConfig::Douyin(c) = config
                && let Some((promotion, product)) = c
                    .products
                    .iter()
                    .find(|(_, p)| !room.products.iter().any(|rp| rp == *p))
            {
                return Err(fail(format!(
                    "products: {promotion:?} maps to {product:?}, which is not in the room's catalog"
                )));
            }
        }
        for config in room.sources {
            if let Some(path) = config.webhook_path() {
                paths.entry(path).or_default().push((room.id, config));
            }
        }
    }
    for (path, users) in &paths {
        if users.len() < 2 {
            continue;
        }
        let conflict = |problem: &str| {
            let (room, config) = users[1];
            SourceError::Config {
                room: room.to_owned(),
                source_name: config.name().unwrap_or(config.kind()).to_owned(),
                problem: format!("webhook path {path:?}: {problem}"),
            }
        };
        let mut platform_rooms = std::collections::HashSet::new();
        for (_, config) in users {
            match config {
                SourceConfig::DouyinOpen(c) => match &c.room_id {
                    Some(id) if platform_rooms.insert(id.as_str()) => {}
                    Some(_) => {
                        return Err(conflict(
                            "two douyin_open sources on one path name the same room_id",
                        ));
                    }
                    None => {
                        return Err(conflict(
                            "douyin_open sources sharing a path must each set room_id",
                        ));
                    }
                },
                _ => return Err(conflict("another source already listens on it")),
            }
        }
    }
    Ok(())
}

/// The room's sources with a name each: the configured one, else the kind (`kind-2`, `kind-3`
/// … when a kind repeats).
fn named(sources: &[SourceConfig]) -> Vec<SourceConfig> {
    let taken: std::collections::HashSet<&str> =
        sources.iter().filter_map(SourceConfig::name).collect();
    let mut used = std::collections::HashSet::new();
    sources
        .iter()
        .map(|config| {
            let mut config = config.clone();
            if config.name().is_none() {
                let kind = config.kind();
                let mut name = kind.to_owned();
                let mut n = 1;
                while taken.contains(name.as_str()) || used.contains(&name) {
                    n += 1;
                    name = format!("{kind}-{n}");
                }
                used.insert(name.clone());
                config.set_name(name);
            }
            config
        })
        .collect()
}

/// A started source: its health, and for the webhook kinds what the router serves.
#[derive(Debug)]
pub struct SourceHandle {
    pub status: SourceStatusHandle,
    webhook: Option<Webhook>,
}

impl SourceHandle {
    /// The path a webhook source listens on.
    pub fn webhook_path(&self) -> Option<&str> {
        self.webhook.as_ref().map(Webhook::path)
    }
}

#[derive(Debug)]
enum Webhook {
    DouyinOpen(Arc<douyin_open::Target>),
    Json(Arc<json_map::WebhookTarget>),
}

impl Webhook {
    fn path(&self) -> &str {
        match self {
            Webhook::DouyinOpen(t) => t.path(),
            Webhook::Json(t) => t.path(),
        }
    }
}

/// Starts one source of `room`: a task on `tracker` for the WebSocket kinds (stopped by
/// `cancel`), or a webhook target for [`webhook_router`]. Events reach the room as through
/// ingest: `room` and `ts` set, validated, deduped on `id`, queued with backpressure.
pub fn spawn(
    metrics: &Arc<Metrics>,
    room: Arc<dyn Room>,
    config: SourceConfig,
    cancel: CancellationToken,
    tracker: &TaskTracker,
) -> Result<SourceHandle, SourceError> {
    let name = config.name().unwrap_or(config.kind()).to_owned();
    let fail = |problem: String| SourceError::Config {
        room: room.id().to_string(),
        source_name: name.clone(),
        problem,
    };
    config.validate().map_err(fail)?;
    let status = Arc::new(
        SourceStatus::new(room.id().clone(), name.clone(), config.kind(), config.url())
            .recording_to(Some(room.clone())),
    );
    let sink = Sink {
        room: room.clone(),
        metrics: metrics.clone(),
        status: status.clone(),
        follow_pitching: matches!(&config, SourceConfig::Douyin(c) if c.follow_pitching),
    };
    let webhook = match config {
        SourceConfig::Bilibili(c) => connect_source(
            bilibili::session(&c, sink).map_err(fail)?,
            c.backoff(),
            &status,
            cancel,
            tracker,
        ),
        SourceConfig::BilibiliOpen(c) => connect_source(
            bilibili_open::session(&c, sink).map_err(fail)?,
            c.backoff(),
            &status,
            cancel,
            tracker,
        ),
        SourceConfig::Douyin(c) => connect_source(
            douyin::session(&c, sink).map_err(fail)?,
            c.backoff(),
            &status,
            cancel,
            tracker,
        ),
        SourceConfig::DouyinOpen(c) => {
            status.listening();
            Some(Webhook::DouyinOpen(Arc::new(douyin_open::Target::new(
                c, sink,
            ))))
        }
        SourceConfig::Json(c) => {
            let mapping = json_map::JsonMapping::new(&c).map_err(fail)?;
            if c.is_webhook() {
                status.listening();
                Some(Webhook::Json(Arc::new(json_map::WebhookTarget::new(
                    c, mapping, sink,
                ))))
            } else {
                let backoff = c.backoff();
                connect_source(
                    json_map::session(&c, mapping, sink),
                    backoff,
                    &status,
                    cancel,
                    tracker,
                )
            }
        }
    };
    Ok(SourceHandle { status, webhook })
}

/// Runs a connecting source's sessions on `tracker` until `cancel` (it has no webhook).
fn connect_source<S: client::Session>(
    session: S,
    backoff: BackoffConfig,
    status: &Arc<SourceStatus>,
    cancel: CancellationToken,
    tracker: &TaskTracker,
) -> Option<Webhook> {
    tracker.spawn(client::supervise(session, status.clone(), backoff, cancel));
    None
}

/// Routes for every webhook source among `handles` (POST on each path), each body at most
/// [`MAX_MESSAGE_BYTES`]. Merge it into the server's router.
pub fn webhook_router(handles: &[SourceHandle]) -> Router {
    let mut douyin: BTreeMap<&str, Vec<Arc<douyin_open::Target>>> = BTreeMap::new();
    let mut json: BTreeMap<&str, Arc<json_map::WebhookTarget>> = BTreeMap::new();
    for webhook in handles.iter().filter_map(|h| h.webhook.as_ref()) {
        let path = webhook.path();
        match webhook {
            Webhook::DouyinOpen(t) if !json.contains_key(path) => {
                douyin.entry(path).or_default().push(t.clone());
            }
            Webhook::Json(t) if !json.contains_key(path) && !douyin.contains_key(path) => {
                json.insert(path, t.clone());
            }
            // `validate` refuses this; a hand-built set of handles could still have it.
            _ => tracing::warn!(
                path,
                "two webhook sources on one path; the later is not served"
            ),
        }
    }
    let mut router = Router::new();
    for (path, targets) in douyin {
        router = router.route(
            path,
            post(douyin_open::handle).with_state(Arc::new(targets)),
        );
    }
    for (path, target) in json {
        router = router.route(path, post(json_map::handle).with_state(target));
    }
    router.layer(DefaultBodyLimit::max(MAX_MESSAGE_BYTES))
}

/// Every source of every room.
#[derive(Debug, Default)]
pub struct Sources {
    handles: Vec<SourceHandle>,
}

impl Sources {
    /// Validates and starts the sources of `rooms` (each room must already be open in
    /// `open`). WebSocket sources run on `tracker` until `cancel`.
    pub fn start(
        metrics: &Arc<Metrics>,
        rooms: Vec<(Arc<dyn Room>, &[SourceConfig])>,
        cancel: &CancellationToken,
        tracker: &TaskTracker,
    ) -> Result<Sources, SourceError> {
        let mut handles = Vec::new();
        for (room, sources) in rooms {
            for config in named(sources) {
                handles.push(spawn(
                    metrics,
                    room.clone(),
                    config,
                    cancel.clone(),
                    tracker,
                )?);
            }
        }
        Ok(Sources { handles })
    }

    pub fn handles(&self) -> &[SourceHandle] {
        &self.handles
    }

    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// The webhook routes (see [`webhook_router`]).
    pub fn router(&self) -> Router {
        webhook_router(&self.handles)
    }

    /// Every source's health.
    pub fn snapshot(&self) -> Vec<SourceSnapshot> {
        self.handles.iter().map(|h| h.status.snapshot()).collect()
    }

    /// One room's sources' health.
    pub fn room_snapshot(&self, room: &str) -> Vec<SourceSnapshot> {
        self.handles
            .iter()
            .filter(|h| h.status.room() == room)
            .map(|h| h.status.snapshot())
            .collect()
    }

    /// OpenMetrics lines for `/metrics`, to be written before its `# EOF` line.
    pub fn encode_metrics(&self, out: &mut String) {
        health::encode_metrics(&self.snapshot(), out);
    }
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
    room: Arc<dyn Room>,
    metrics: Arc<Metrics>,
    status: Arc<SourceStatus>,
    /// Set the room's pitched product to the one the platform says is explained.
    follow_pitching: bool,
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

/// A platform time in seconds or milliseconds, as milliseconds when plausible.
pub(crate) fn to_ms(ts: i64) -> Option<i64> {
    // Below 10^11 a value is seconds (10^11 ms would be 1973; 10^11 s is the year 5138).
    let ms = if ts < 100_000_000_000 {
        ts.checked_mul(1000)?
    } else {
        ts
    };
    TS_RANGE.contains(&ms).then_some(ms)
}

/// An envelope for a platform event (the room and missing times are set on delivery).
pub(crate) fn envelope(
    id: Option<String>,
    user: Option<String>,
    name: Option<String>,
    ts: Option<i64>,
) -> Envelope {
    Envelope {
        id,
        room: None,
        ts,
        user,
        name: name.filter(|n| !n.is_empty()),
        medal: None,
    }
}

pub(crate) fn comment(env: Envelope, text: String) -> IngestEvent {
    IngestEvent::Comment(CommentEvent::new(env, text))
}

/// A paid comment (醒目留言): `price` in yuan, pinned for `duration_s` when the platform says.
pub(crate) fn super_chat(
    env: Envelope,
    text: String,
    price: f64,
    duration_s: Option<u64>,
) -> IngestEvent {
    IngestEvent::Comment(CommentEvent {
        env,
        text,
        super_chat: Some(SuperChat {
            price_cny: if price.is_finite() {
                price.clamp(0.0, MAX_SUPER_CHAT_CNY)
            } else {
                0.0
            },
            duration_s: duration_s
                .filter(|d| *d > 0)
                .map(|d| d.min(u64::from(MAX_SUPER_CHAT_S)) as u32),
        }),
    })
}

/// A fan medal from a platform's fields; `None` without a name.
pub(crate) fn medal(name: Option<&str>, level: Option<u64>) -> Option<Medal> {
    let name = name.map(str::trim).filter(|n| !n.is_empty())?;
    Some(Medal {
        name: health::clip_to(name, MAX_MEDAL_LEN).to_owned(),
        level: level.unwrap_or(0).min(u64::from(u32::MAX)) as u32,
    })
}

pub(crate) fn gift(env: Envelope, gift: String, count: u32, value: f64) -> IngestEvent {
    IngestEvent::Gift(GiftEvent {
        env,
        gift,
        count: count.max(1),
        value: if value.is_finite() && value > 0.0 {
            value
        } else {
            0.0
        },
    })
}

pub(crate) fn like(env: Envelope, count: u32) -> IngestEvent {
    IngestEvent::Like(LikeEvent {
        env,
        count: count.max(1),
    })
}

pub(crate) fn enter(env: Envelope) -> IngestEvent {
    IngestEvent::Enter(UserEvent { env })
}

pub(crate) fn follow(env: Envelope) -> IngestEvent {
    IngestEvent::Follow(UserEvent { env })
}

/// Lenient JSON readers for platform payloads, where ids come as numbers or strings.
pub(crate) mod json {
    use serde_json::Value;

    /// A string, or a number written out.
    pub fn string(v: Option<&Value>) -> Option<String> {
        match v? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// A non-negative integer, or a string holding one.
    pub fn u64(v: Option<&Value>) -> Option<u64> {
        match v? {
            Value::Number(n) => n.as_u64().or_else(|| {
                n.as_f64()
                    .filter(|f| *f >= 0.0 && f.fract() == 0.0)
                    .map(|f| f as u64)
            }),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// An integer (possibly negative), or a string holding one.
    pub fn i64(v: Option<&Value>) -> Option<i64> {
        match v? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A number, or a string holding one.
    pub fn f64(v: Option<&Value>) -> Option<f64> {
        match v? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .filter(|f: &f64| f.is_finite())
    }

    /// A count that fits ingest's `u32`.
    pub fn count(v: Option<&Value>) -> Option<u32> {
        u64(v).map(|n| n.min(u64::from(u32::MAX)) as u32)
    }
}

/// Checks a platform address: `ws://` or `wss://`, of sane length.
pub(crate) fn check_ws_url(url: &str) -> Result<(), String> {
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("ws://") || lower.starts_with("wss://")) {
        return Err(format!("url {url:?}: must start with ws:// or wss://"));
    }
    if url.len() > 8192 || url.chars().any(char::is_whitespace) {
        return Err("url: longer than 8192 bytes or contains whitespace".into());
    }
    Ok(())
}

/// Checks a webhook path: under [`WEBHOOK_PREFIX`], plain characters only (no `{}` or `*`,
/// which the router would read as parameters), no `..` or `//`.
pub(crate) fn check_webhook_path(path: &str) -> Result<(), String> {
    let plain = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b));
    if !path.starts_with(WEBHOOK_PREFIX)
        || path.len() <= WEBHOOK_PREFIX.len()
        || path.len() > 200
        || !plain
        || path.contains("..")
        || path.contains("//")
    {
        return Err(format!(
            "url {path:?}: a webhook path must start with {WEBHOOK_PREFIX} and use only letters, \
             digits, '-', '_', '.' and '/' (at most 200 bytes)"
        ));
    }
    Ok(())
}

/// A viewer id with its platform's prefix, so ids of two platforms never meet; `None` for the
/// platforms' "no id" values.
pub(crate) fn viewer(prefix: &str, id: &str) -> Option<String> {
    let id = id.trim();
    (!id.is_empty() && id != "0").then(|| format!("{prefix}:{id}"))
}

/// A stable short hash for ids built from message contents (FxHash: same value in every
/// process, so two instances build the same id).
pub(crate) fn content_hash(parts: &[&str]) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    for part in parts {
        h.write(part.as_bytes());
        h.write_u8(0xff);
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `validate` takes, from configured rooms.
    fn check(rooms: &[crate::config::RoomConfig]) -> Result<(), SourceError> {
        let rooms: Vec<RoomSources<'_>> = rooms
            .iter()
            .map(|r| RoomSources {
                id: &r.id,
                products: r.products.iter().map(|p| p.id.as_str()).collect(),
                sources: &r.sources,
            })
            .collect();
        validate(&rooms)
    }

    /// Parses without validating (`Config::from_toml` validates sources too; these tests
    /// call `validate` themselves).
    fn room(toml: &str) -> Vec<crate::config::RoomConfig> {
        toml::from_str::<crate::config::Config>(toml)
            .unwrap_or_else(|e| panic!("{e}"))
            .rooms
    }

    #[test]
    fn every_kind_parses_from_toml() {
        let rooms = room(
            r#"
            [[rooms]]
            id = "r1"
            [[rooms.sources]]
            kind = "bilibili"
            url = "ws://127.0.0.1:9/sub"
            room_id = 123456
            key = "k"
            uid = 0
            [[rooms.sources]]
            kind = "bilibili_open"
            url = "ws://127.0.0.1:9/sub"
            auth_body = "{}"
            [[rooms.sources]]
            kind = "douyin"
            url = "ws://127.0.0.1:9/push?room_id=1"
            [[rooms.sources]]
            kind = "douyin_open"
            url = "/hooks/douyin"
            secret = "s"
            [[rooms.sources]]
            kind = "json"
            url = "/hooks/relay"
            default_type = "comment"
            [rooms.sources.fields]
            text = "/msg"
            "#,
        );
        let kinds: Vec<_> = rooms[0].sources.iter().map(SourceConfig::kind).collect();
        assert_eq!(
            kinds,
            ["bilibili", "bilibili_open", "douyin", "douyin_open", "json"]
        );
        check(&rooms).unwrap();
        // Secrets never show.
        let debug = format!("{:?}", rooms[0].sources[0]);
        assert!(!debug.contains("\"k\""), "{debug}");
        let json = serde_json::to_string(&rooms[0].sources[3]).unwrap();
        assert!(json.contains("\"secret\":\"***\""), "{json}");
    }

    #[test]
    fn unknown_keys_and_kinds_are_refused() {
        let err = crate::config::Config::from_toml(
            "[[rooms]]\nid='a'\n[[rooms.sources]]\nkind='bilibili'\nurl='ws://x'\nroom_id=1\nroomid=2",
        )
        .unwrap_err();
        assert!(err.to_string().contains("roomid"), "{err}");
        assert!(
            crate::config::Config::from_toml(
                "[[rooms]]\nid='a'\n[[rooms.sources]]\nkind='kuaishou'\nurl='ws://x'"
            )
            .is_err()
        );
    }

    #[test]
    fn timing_keys_keep_their_names_on_every_connecting_kind() {
        let timing =
            "heartbeat_s = 7\nidle_timeout_s = 21\nbackoff_min_ms = 50\nbackoff_max_ms = 500";
        for (kind, extra) in [
            ("bilibili", "url = 'ws://h/sub'\nroom_id = 1"),
            ("bilibili_open", "url = 'ws://h/sub'\nauth_body = '{}'"),
            ("douyin", "url = 'ws://h/push'"),
            ("json", "url = 'ws://h/relay'\ndefault_type = 'comment'"),
        ] {
            let rooms = room(&format!(
                "[[rooms]]\nid='a'\n[[rooms.sources]]\nkind='{kind}'\n{extra}\n{timing}"
            ));
            check(&rooms).unwrap_or_else(|e| panic!("{kind}: {e}"));
            let timing = match &rooms[0].sources[0] {
                SourceConfig::Bilibili(c) => c.timing,
                SourceConfig::BilibiliOpen(c) => c.timing,
                SourceConfig::Douyin(c) => c.timing,
                SourceConfig::Json(c) => c.timing,
                SourceConfig::DouyinOpen(_) => unreachable!(),
            };
            let schedule = timing.schedule(TimingDefaults {
                heartbeat_s: 1,
                idle_timeout_s: 2,
            });
            assert_eq!(
                schedule.heartbeat,
                std::time::Duration::from_secs(7),
                "{kind}"
            );
            assert_eq!(schedule.idle, std::time::Duration::from_secs(21), "{kind}");
            assert_eq!(schedule.backoff, BackoffConfig::from_ms(50, 500), "{kind}");
            // A typo next to the flattened keys is still refused, by name.
            let err = crate::config::Config::from_toml(&format!(
                "[[rooms]]\nid='a'\n[[rooms.sources]]\nkind='{kind}'\n{extra}\nheartbeat = 7"
            ))
            .unwrap_err();
            assert!(err.to_string().contains("heartbeat"), "{kind}: {err}");
        }
    }

    #[test]
    fn names_are_unique_and_paths_do_not_collide() {
        let rooms = room(
            r#"
            [[rooms]]
            id = "a"
            [[rooms.sources]]
            kind = "bilibili"
            url = "ws://h/sub"
            room_id = 1
            [[rooms.sources]]
            kind = "bilibili"
            url = "ws://h/sub"
            room_id = 2
            "#,
        );
        check(&rooms).unwrap();
        let names: Vec<_> = named(&rooms[0].sources)
            .iter()
            .map(|s| s.name().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["bilibili", "bilibili-2"]);

        let shared = |a: &str, b: &str| {
            format!(
                "[[rooms]]\nid='a'\n[[rooms.sources]]\nkind='douyin_open'\nurl='/hooks/dy'\nsecret='s'\n{a}\n\
                 [[rooms]]\nid='b'\n[[rooms.sources]]\nkind='douyin_open'\nurl='/hooks/dy'\nsecret='s'\n{b}\n"
            )
        };
        check(&room(&shared("room_id='1'", "room_id=2"))).unwrap();
        assert!(check(&room(&shared("room_id='1'", "room_id='1'"))).is_err());
        assert!(check(&room(&shared("", "room_id='1'"))).is_err());
        let clash = room(
            "[[rooms]]\nid='a'\n[[rooms.sources]]\nkind='json'\nurl='/hooks/x'\ndefault_type='comment'\n\
             [rooms.sources.fields]\ntext='/t'\n[[rooms.sources]]\nkind='douyin_open'\nurl='/hooks/x'\nsecret='s'",
        );
        let err = check(&clash).unwrap_err();
        assert!(err.to_string().contains("/hooks/x"), "{err}");
    }

    #[test]
    fn bad_urls_are_refused() {
        for (kind, url) in [
            ("bilibili", "http://h/sub"),
            ("douyin", "/hooks/x"),
            ("douyin_open", "/ws/ingest"),
            ("douyin_open", "/hooks/../x"),
            ("douyin_open", "/hooks/{room}"),
        ] {
            let extra = match kind {
                "bilibili" => "room_id=1",
                "douyin_open" => "secret='s'",
                _ => "",
            };
            let rooms = room(&format!(
                "[[rooms]]\nid='a'\n[[rooms.sources]]\nkind='{kind}'\nurl='{url}'\n{extra}"
            ));
            assert!(check(&rooms).is_err(), "{kind} {url}");
        }
    }

    #[test]
    fn prepare_fixes_times_and_clips_display_fields() {
        let long_name = "名".repeat(100);
        let event = comment(
            envelope(Some("m1".into()), None, Some(long_name), Some(12)),
            "  2号多少钱  ".into(),
        );
        let ready = prepare(event, "r1", 1_763_900_000_000).unwrap();
        let env = ready.envelope();
        assert_eq!(env.room.as_deref(), Some("r1"));
        assert_eq!(env.ts, Some(1_763_900_000_000));
        assert!(env.name.as_ref().unwrap().len() <= MAX_USER_LEN);
        match ready {
            IngestEvent::Comment(c) => assert_eq!(c.text, "2号多少钱"),
            other => panic!("{other:?}"),
        }
        let empty = comment(envelope(None, None, None, None), "   ".into());
        assert!(prepare(empty, "r1", 1_763_900_000_000).is_err());
        let long_id = comment(
            envelope(Some("x".repeat(200)), None, None, None),
            "hi".into(),
        );
        assert!(prepare(long_id, "r1", 1_763_900_000_000).is_err());
    }

    #[test]
    fn times_in_seconds_or_milliseconds() {
        assert_eq!(to_ms(1_763_900_000), Some(1_763_900_000_000));
        assert_eq!(to_ms(1_763_900_000_123), Some(1_763_900_000_123));
        assert_eq!(to_ms(0), None);
        assert_eq!(to_ms(-5), None);
        assert_eq!(to_ms(i64::MAX), None);
    }
}
