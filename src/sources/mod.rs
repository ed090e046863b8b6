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
mod config;
pub mod douyin;
pub mod douyin_open;
pub mod health;
pub mod http;
pub mod json_map;
mod session;
mod sink;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::post;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::now_ms;
use crate::ingest::{
    CommentEvent, Envelope, GiftEvent, IngestEvent, LikeEvent, MAX_MEDAL_LEN, MAX_SUPER_CHAT_CNY,
    MAX_SUPER_CHAT_S, MAX_TEXT_LEN, MAX_USER_LEN, Medal, SuperChat, UserEvent,
};
use crate::metrics::{self, Metrics};

pub use client::BackoffConfig;
pub(crate) use config::named;
pub use config::{RoomSources, Secret, SourceConfig, SourceError, validate};
pub use health::{Gap, SourceSnapshot, SourceState, SourceStatus, SourceStatusHandle};
pub use session::{Schedule, Timing, TimingDefaults};
#[cfg(test)]
pub(crate) use sink::prepare;
pub use sink::{Effects, Feeds, PitchingHint, Refused, Room, Shelf};
pub(crate) use sink::{Sink, TS_RANGE};

/// Largest WebSocket message or webhook body read from a platform, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// Largest decompressed body of one packet or frame, in bytes; larger ones (zip bombs) are
/// refused and counted as `too_large`.
pub const MAX_DECOMPRESSED: usize = 1024 * 1024;
/// Webhook paths start with this, so they can never collide with the server's own routes.
pub const WEBHOOK_PREFIX: &str = "/hooks/";

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
        rooms: Feeds<'_>,
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
mod tests;
