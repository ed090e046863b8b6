//! A source's health: connected or not, when it last heard from the platform, how often it
//! reconnected, what it could not decode, and where messages may be missing.
//!
//! Each source owns one [`SourceStatus`] behind an `Arc`; the adapter task writes it, the
//! server reads it with [`SourceStatus::snapshot`] for stats, the console, the review and
//! `/metrics` ([`encode_metrics`]). The lock is a std `Mutex` held for a few field updates and
//! never across an `.await`. Everything in it is bounded: error kinds are a closed set,
//! ignored message names and gaps are capped.//!
//! The parts: this file the types (the snapshot, and the status with its lock); `status` making
//! one and reading it; `updates` what the adapter task tells it; `sequence` the numbering
//! tracker that finds skips; `metrics` the `/metrics` families.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::{PitchingHint, Shelf};

mod metrics;
mod sequence;
mod status;
#[cfg(test)]
mod tests;
mod updates;

pub use metrics::encode_metrics;
pub(crate) use sequence::SequenceTracker;

/// Gaps kept for the review (older ones are only counted).
pub const MAX_GAPS: usize = 32;
/// Distinct ignored message names counted one by one; the rest count as `(other)`.
pub const MAX_IGNORED_NAMES: usize = 64;
/// Longest `last_error` kept, in bytes.
const MAX_ERROR_LEN: usize = 300;

/// What the adapter is doing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceState {
    /// Opening the connection or waiting for the platform's auth reply.
    Connecting,
    /// Authenticated (or, without a handshake, open) and reading.
    Connected,
    /// Waiting before the next attempt (see `next_retry_at`).
    Backoff,
    /// A webhook: waiting for the platform to push.
    Listening,
    /// Stopped by shutdown.
    Stopped,
}

/// A stretch of time in which messages may be missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// From here (ms since the epoch): the last message before the gap, or the first attempt
    /// to connect.
    pub from: i64,
    /// To here: the connection was back, the next numbered message arrived, or the source
    /// stopped.
    pub to: i64,
    /// `disconnected` (a connection ended), `sequence` (the platform's numbering skipped) or
    /// `not_connected` (attempts failed before the first connection came up, or it never did).
    pub reason: &'static str,
    /// How many numbered messages were skipped, when the platform numbers them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<u64>,
}

/// A copy of a source's health, for stats, the console, the review and `/metrics`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceSnapshot {
    pub room: Arc<str>,
    /// The source's name in its room (`name` in the config, or its kind).
    pub name: String,
    pub kind: &'static str,
    /// Where it connects to (query string left out: it may hold signatures), or the webhook
    /// path it listens on.
    pub endpoint: String,
    pub state: SourceState,
    pub connected: bool,
    /// When the current connection was established (ms).
    pub connected_since: Option<i64>,
    /// When the platform last sent anything, heartbeat replies included (ms).
    pub last_message_at: Option<i64>,
    /// Frames or requests received.
    pub messages: u64,
    /// Events handed to the room (after dedupe).
    pub events: u64,
    /// Events dropped as duplicates by the room.
    pub duplicates: u64,
    /// Events that failed validation and were dropped.
    pub rejected: u64,
    /// Connections opened after the first.
    pub reconnects: u64,
    pub heartbeats_sent: u64,
    /// Undecodable input by kind (`bad_header`, `decompress`, `bad_json`, `bad_signature` …).
    pub decode_errors: BTreeMap<&'static str, u64>,
    /// Platform messages we do not map, by name.
    pub ignored: BTreeMap<String, u64>,
    /// Shares of the room (no ingest event type exists for them).
    pub shares: u64,
    /// Every gap seen since start (the list keeps the last [`MAX_GAPS`]).
    pub gaps_total: u64,
    pub gaps: Vec<Gap>,
    /// While not connected: messages may be missing since then (ms); the gap is recorded
    /// once the connection is back (or the source stops).
    pub gap_open_since: Option<i64>,
    /// Whether the stream is live, once the platform said so.
    pub live: Option<bool>,
    pub live_changed_at: Option<i64>,
    /// Viewers online now (or the platform's popularity figure), when it reports one.
    pub viewers: Option<u64>,
    /// Viewers so far (看过), when the platform reports it.
    pub watched: Option<u64>,
    pub last_error: Option<String>,
    /// In backoff: when the next attempt starts (ms).
    pub next_retry_at: Option<i64>,
    /// The product the platform says the streamer explains, when it says (Douyin shopping
    /// messages).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pitching_hint: Option<PitchingHint>,
    /// The platform's shelf, when it reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shelf: Option<Shelf>,
}

#[derive(Debug)]
struct Inner {
    state: SourceState,
    connected_since: Option<i64>,
    last_message_at: Option<i64>,
    messages: u64,
    events: u64,
    duplicates: u64,
    rejected: u64,
    reconnects: u64,
    heartbeats_sent: u64,
    decode_errors: BTreeMap<&'static str, u64>,
    /// Error kinds already logged: each is logged once, then only counted.
    logged: BTreeSet<&'static str>,
    ignored: BTreeMap<String, u64>,
    shares: u64,
    gaps_total: u64,
    gaps: VecDeque<Gap>,
    /// Set when an established connection ended: the start of the gap that the next
    /// connection closes.
    gap_from: Option<i64>,
    live: Option<bool>,
    live_changed_at: Option<i64>,
    viewers: Option<u64>,
    watched: Option<u64>,
    last_error: Option<String>,
    next_retry_at: Option<i64>,
    attempts: u64,
    /// When the first attempt started; cleared by the first connection.
    first_attempt_at: Option<i64>,
    ever_connected: bool,
    pitching_hint: Option<PitchingHint>,
    shelf: Option<Shelf>,
}

/// One source's health, shared between its task and the server.
#[derive(Debug)]
pub struct SourceStatus {
    room: Arc<str>,
    name: String,
    kind: &'static str,
    endpoint: String,
    inner: Mutex<Inner>,
    /// The stream's live state, for whoever starts and ends sessions on it.
    live: tokio::sync::watch::Sender<Option<bool>>,
    /// Where gaps are recorded for the review (the room), if anywhere.
    gaps_to: Option<Arc<dyn crate::sources::Room>>,
}

/// The handle [`crate::sources::spawn`] gives back.
pub type SourceStatusHandle = Arc<SourceStatus>;

fn clip(s: &str) -> String {
    clip_to(s, MAX_ERROR_LEN).to_owned()
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub(crate) fn clip_to(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Endpoints are shown without their query string: platform URLs carry signatures and tokens.
fn redact_endpoint(endpoint: &str) -> String {
    match endpoint.split_once('?') {
        Some((base, _)) => format!("{base}?…"),
        None => endpoint.to_owned(),
    }
}
