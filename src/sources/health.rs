//! A source's health: connected or not, when it last heard from the platform, how often it
//! reconnected, what it could not decode, and where messages may be missing.
//!
//! Each source owns one [`SourceStatus`] behind an `Arc`; the adapter task writes it, the
//! server reads it with [`SourceStatus::snapshot`] for stats, the console, the review and
//! `/metrics` ([`encode_metrics`]). The lock is a std `Mutex` held for a few field updates and
//! never across an `.await`. Everything in it is bounded: error kinds are a closed set,
//! ignored message names and gaps are capped.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::{PitchingHint, Shelf};

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
    gaps_to: Option<Arc<dyn super::Room>>,
}

/// The handle [`crate::sources::spawn`] gives back.
pub type SourceStatusHandle = Arc<SourceStatus>;

impl SourceStatus {
    pub fn new(room: Arc<str>, name: String, kind: &'static str, endpoint: &str) -> SourceStatus {
        SourceStatus {
            room,
            name,
            kind,
            endpoint: redact_endpoint(endpoint),
            inner: Mutex::new(Inner {
                state: SourceState::Connecting,
                connected_since: None,
                last_message_at: None,
                messages: 0,
                events: 0,
                duplicates: 0,
                rejected: 0,
                reconnects: 0,
                heartbeats_sent: 0,
                decode_errors: BTreeMap::new(),
                logged: BTreeSet::new(),
                ignored: BTreeMap::new(),
                shares: 0,
                gaps_total: 0,
                gaps: VecDeque::new(),
                gap_from: None,
                live: None,
                live_changed_at: None,
                viewers: None,
                watched: None,
                last_error: None,
                next_retry_at: None,
                attempts: 0,
                first_attempt_at: None,
                ever_connected: false,
                pitching_hint: None,
                shelf: None,
            }),
            live: tokio::sync::watch::Sender::new(None),
            gaps_to: None,
        }
    }

    /// Hands every gap to `room` too, which records it for the review.
    pub fn recording_to(mut self, room: Option<Arc<dyn super::Room>>) -> SourceStatus {
        self.gaps_to = room;
        self
    }

    /// Hands a gap to the room without waiting.
    fn record(&self, gap: Option<Gap>) {
        if let (Some(gap), Some(room)) = (gap, &self.gaps_to) {
            room.gap(&self.name, self.kind, &gap);
        }
    }

    /// Follows the stream's live state (`LIVE`/`PREPARING`, a control message…): `Some(true)`
    /// when the platform says the stream started, `Some(false)` when it ended.
    pub fn live_changes(&self) -> tokio::sync::watch::Receiver<Option<bool>> {
        self.live.subscribe()
    }

    pub fn room(&self) -> &str {
        &self.room
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn kind(&self) -> &'static str {
        self.kind
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves plain counters: still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A copy of everything, for stats and `/metrics`.
    pub fn snapshot(&self) -> SourceSnapshot {
        let inner = self.lock();
        SourceSnapshot {
            room: self.room.clone(),
            name: self.name.clone(),
            kind: self.kind,
            endpoint: self.endpoint.clone(),
            state: inner.state,
            connected: inner.state == SourceState::Connected,
            connected_since: inner.connected_since,
            last_message_at: inner.last_message_at,
            messages: inner.messages,
            events: inner.events,
            duplicates: inner.duplicates,
            rejected: inner.rejected,
            reconnects: inner.reconnects,
            heartbeats_sent: inner.heartbeats_sent,
            decode_errors: inner.decode_errors.clone(),
            ignored: inner.ignored.clone(),
            shares: inner.shares,
            gaps_total: inner.gaps_total,
            gaps: inner.gaps.iter().cloned().collect(),
            gap_open_since: match inner.state {
                SourceState::Connected | SourceState::Listening => None,
                _ => inner.gap_from.or(inner.first_attempt_at),
            },
            live: inner.live,
            live_changed_at: inner.live_changed_at,
            viewers: inner.viewers,
            watched: inner.watched,
            last_error: inner.last_error.clone(),
            next_retry_at: inner.next_retry_at,
            pitching_hint: inner.pitching_hint.clone(),
            shelf: inner.shelf.clone(),
        }
    }

    /// A new connection attempt starts at `now` (every attempt after the first is a
    /// reconnect).
    pub(crate) fn connecting(&self, now: i64) {
        let mut inner = self.lock();
        if inner.attempts > 0 {
            inner.reconnects += 1;
        }
        inner.attempts += 1;
        if !inner.ever_connected && inner.first_attempt_at.is_none() {
            inner.first_attempt_at = Some(now);
        }
        inner.state = SourceState::Connecting;
        inner.next_retry_at = None;
    }

    /// The connection is established; closes the gap the last disconnection opened (or, for
    /// a first connection that took failed attempts, the time they took).
    pub(crate) fn connected(&self, now: i64) {
        let gap = {
            let mut inner = self.lock();
            inner.state = SourceState::Connected;
            inner.connected_since = Some(now);
            inner.last_error = None;
            // A first connection on the first try missed nothing worth a gap.
            let late = inner.attempts > 1;
            let gap = inner.close_gap(now, late);
            inner.ever_connected = true;
            gap
        };
        self.record(gap);
        tracing::info!(room = %self.room, source = %self.name, kind = self.kind, "source connected");
    }

    /// An established connection ended: messages may be missing from its last message on.
    pub(crate) fn disconnected(&self, now: i64, reason: &str) {
        let mut inner = self.lock();
        if inner.state == SourceState::Connected && inner.gap_from.is_none() {
            let since = inner.connected_since.unwrap_or(now);
            let from = inner
                .last_message_at
                .filter(|&t| t >= since)
                .unwrap_or(since);
            inner.gap_from = Some(from);
        }
        inner.connected_since = None;
        inner.last_error = Some(clip(reason));
        tracing::info!(room = %self.room, source = %self.name, kind = self.kind, reason, "source disconnected");
    }

    /// Waiting `delay_ms` before the next attempt.
    pub(crate) fn backoff(&self, now: i64, delay_ms: u64, reason: &str) {
        let mut inner = self.lock();
        inner.state = SourceState::Backoff;
        inner.connected_since = None;
        inner.next_retry_at = Some(now.saturating_add(delay_ms as i64));
        if !reason.is_empty() {
            inner.last_error = Some(clip(reason));
        }
    }

    pub(crate) fn listening(&self) {
        self.lock().state = SourceState::Listening;
    }

    /// Stopped for good at `now`: a gap still open (disconnected, or never connected) ends
    /// here.
    pub(crate) fn stopped(&self, now: i64) {
        let gap = {
            let mut inner = self.lock();
            let gap = inner.close_gap(now, true);
            inner.state = SourceState::Stopped;
            inner.connected_since = None;
            inner.next_retry_at = None;
            gap
        };
        self.record(gap);
    }

    /// Anything arrived from the platform.
    pub(crate) fn message(&self, now: i64) {
        let mut inner = self.lock();
        inner.messages += 1;
        inner.last_message_at = Some(now);
    }

    pub(crate) fn heartbeat_sent(&self) {
        self.lock().heartbeats_sent += 1;
    }

    /// Input that could not be decoded: counted by kind, logged the first time per kind.
    pub(crate) fn decode_error(&self, kind: &'static str, detail: &str) {
        let mut inner = self.lock();
        *inner.decode_errors.entry(kind).or_insert(0) += 1;
        if inner.logged.insert(kind) {
            tracing::warn!(
                room = %self.room, source = %self.name, source_kind = self.kind, error = kind,
                detail = %clip(detail),
                "undecodable input from a platform (logged once per kind, then only counted)"
            );
        }
    }

    /// A platform message we do not map (by name; bounded).
    pub(crate) fn ignored(&self, name: &str) {
        let mut inner = self.lock();
        let len = inner.ignored.len();
        let key = if inner.ignored.contains_key(name) || len < MAX_IGNORED_NAMES {
            clip_to(name, 64).to_owned()
        } else {
            "(other)".to_owned()
        };
        *inner.ignored.entry(key).or_insert(0) += 1;
    }

    pub(crate) fn shares(&self, n: u64) {
        if n > 0 {
            self.lock().shares += n;
        }
    }

    /// The platform's numbering skipped `missing` messages between `from` and `to`.
    pub(crate) fn sequence_gap(&self, from: i64, to: i64, missing: u64) {
        let gap = Gap {
            from,
            to,
            reason: "sequence",
            missing: Some(missing),
        };
        push_gap(&mut self.lock(), gap.clone());
        self.record(Some(gap));
    }

    pub(crate) fn delivered(&self, events: usize, duplicates: usize, rejected: usize) {
        let mut inner = self.lock();
        inner.events += events as u64;
        inner.duplicates += duplicates as u64;
        inner.rejected += rejected as u64;
    }

    pub(crate) fn set_live(&self, live: bool, now: i64) {
        let mut inner = self.lock();
        if inner.live != Some(live) {
            inner.live = Some(live);
            inner.live_changed_at = Some(now);
            self.live.send_replace(Some(live));
            tracing::info!(room = %self.room, source = %self.name, live, "stream state changed");
        }
    }

    pub(crate) fn set_viewers(&self, viewers: u64) {
        self.lock().viewers = Some(viewers);
    }

    pub(crate) fn set_watched(&self, watched: u64) {
        self.lock().watched = Some(watched);
    }

    /// Applies what one batch of platform messages said about the stream (not the events).
    pub(crate) fn apply(&self, effects: &super::Effects, now: i64) {
        if let Some(live) = effects.live {
            self.set_live(live, now);
        }
        if let Some(v) = effects.viewers {
            self.set_viewers(v);
        }
        if let Some(w) = effects.watched {
            self.set_watched(w);
        }
        self.shares(effects.shares);
        for name in &effects.ignored {
            self.ignored(name);
        }
        for (kind, detail) in &effects.errors {
            self.decode_error(kind, detail);
        }
        if effects.pitching.is_some() || effects.shelf.is_some() {
            let mut inner = self.lock();
            if let Some(hint) = &effects.pitching {
                inner.pitching_hint = Some(PitchingHint {
                    at: hint.at.or(Some(now)),
                    ..hint.clone()
                });
            }
            if let Some(shelf) = &effects.shelf {
                inner.shelf = Some(shelf.clone());
            }
        }
    }
}

impl Inner {
    /// Ends the gap open at `now`, if any, and keeps it: the one a disconnection opened, or
    /// (with `count_first`, before any connection) the time since the first attempt.
    fn close_gap(&mut self, now: i64, count_first: bool) -> Option<Gap> {
        let first = self.first_attempt_at.take();
        let (from, reason) = match self.gap_from.take() {
            Some(from) => (from, "disconnected"),
            None if count_first && !self.ever_connected => (first?, "not_connected"),
            None => return None,
        };
        let gap = Gap {
            from,
            to: now,
            reason,
            missing: None,
        };
        push_gap(self, gap.clone());
        Some(gap)
    }
}

fn push_gap(inner: &mut Inner, gap: Gap) {
    inner.gaps_total += 1;
    if inner.gaps.len() >= MAX_GAPS {
        inner.gaps.pop_front();
    }
    inner.gaps.push_back(gap);
}

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

/// Tracks a platform's message numbering and reports skips.
///
/// Only platforms that number consecutively can reveal a skip, and not every platform does (or
/// always sends 0), so a skip counts only once the numbering has been seen going up by one at
/// least [`SequenceTracker::TRUST_AFTER`] times in a row on this connection. Zero is "not
/// numbered"; a number going down means the platform restarted its count.
#[derive(Debug, Default)]
pub(crate) struct SequenceTracker {
    last: Option<(u64, i64)>,
    consecutive: u32,
}

impl SequenceTracker {
    pub(crate) const TRUST_AFTER: u32 = 3;

    /// Observes a message's number at `now`; returns `(from, missing)` when messages were
    /// skipped.
    pub(crate) fn observe(&mut self, seq: u64, now: i64) -> Option<(i64, u64)> {
        if seq == 0 {
            return None;
        }
        let mut gap = None;
        if let Some((last, at)) = self.last {
            if seq == last.wrapping_add(1) {
                self.consecutive = self.consecutive.saturating_add(1);
            } else if seq > last {
                if self.consecutive >= Self::TRUST_AFTER {
                    gap = Some((at, seq - last - 1));
                }
                self.consecutive = 0;
            } else {
                self.consecutive = 0;
            }
        }
        self.last = Some((seq, now));
        gap
    }
}

/// Writes the sources' health in the OpenMetrics text format, to be placed before the
/// `# EOF` line of `/metrics`. Families: `livecue_source_connected` (gauge),
/// `livecue_source_messages`, `livecue_source_events`, `livecue_source_reconnects`,
/// `livecue_source_gaps`, `livecue_source_decode_errors` (counters, with `error`),
/// `livecue_source_last_message_timestamp_seconds` (gauge), labelled `room`, `source`, `kind`.
pub fn encode_metrics(snapshots: &[SourceSnapshot], out: &mut String) {
    if snapshots.is_empty() {
        return;
    }
    let labels = |s: &SourceSnapshot| {
        format!(
            "room=\"{}\",source=\"{}\",kind=\"{}\"",
            escape(&s.room),
            escape(&s.name),
            s.kind
        )
    };
    let family = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP livecue_source_{name} {help}.");
        let _ = writeln!(out, "# TYPE livecue_source_{name} {kind}");
    };
    family(out, "connected", "gauge", "1 while the source is connected");
    for s in snapshots {
        let _ = writeln!(
            out,
            "livecue_source_connected{{{}}} {}",
            labels(s),
            u8::from(s.connected)
        );
    }
    let counters: [Counter; 4] = [
        (
            "messages",
            "Frames or requests received from the platform",
            |s| s.messages,
        ),
        ("events", "Events handed to the room", |s| s.events),
        ("reconnects", "Connections opened after the first", |s| {
            s.reconnects
        }),
        ("gaps", "Stretches where messages may be missing", |s| {
            s.gaps_total
        }),
    ];
    for (name, help, value) in counters {
        family(out, name, "counter", help);
        for s in snapshots {
            let _ = writeln!(
                out,
                "livecue_source_{name}_total{{{}}} {}",
                labels(s),
                value(s)
            );
        }
    }
    family(
        out,
        "decode_errors",
        "counter",
        "Undecodable input from the platform, by error kind",
    );
    for s in snapshots {
        for (error, n) in &s.decode_errors {
            let _ = writeln!(
                out,
                "livecue_source_decode_errors_total{{{},error=\"{error}\"}} {n}",
                labels(s)
            );
        }
    }
    family(
        out,
        "last_message_timestamp_seconds",
        "gauge",
        "When the platform last sent anything",
    );
    for s in snapshots {
        if let Some(at) = s.last_message_at {
            let _ = writeln!(
                out,
                "livecue_source_last_message_timestamp_seconds{{{}}} {}",
                labels(s),
                at as f64 / 1000.0
            );
        }
    }
}

/// A counter family: name, help, and how to read it from a snapshot.
type Counter = (&'static str, &'static str, fn(&SourceSnapshot) -> u64);

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status() -> SourceStatus {
        SourceStatus::new("r1".into(), "bili".into(), "bilibili", "wss://x/sub?key=s")
    }

    #[test]
    fn endpoint_hides_the_query() {
        assert_eq!(status().snapshot().endpoint, "wss://x/sub?…");
    }

    #[test]
    fn a_disconnection_becomes_a_gap_when_the_next_connection_is_up() {
        let s = status();
        s.connecting(1_000);
        s.connected(1_000);
        s.message(1_500);
        s.disconnected(2_000, "closed by peer");
        s.backoff(2_000, 500, "closed by peer");
        assert_eq!(s.snapshot().gaps_total, 0);
        assert_eq!(s.snapshot().gap_open_since, Some(1_500));
        s.connecting(2_500);
        s.connected(3_000);
        let snap = s.snapshot();
        assert_eq!(snap.reconnects, 1);
        assert_eq!(
            snap.gaps,
            vec![Gap {
                from: 1_500,
                to: 3_000,
                reason: "disconnected",
                missing: None
            }]
        );
        assert!(snap.connected);
    }

    #[test]
    fn failed_attempts_do_not_open_more_gaps() {
        let s = status();
        s.connecting(1_000);
        s.connected(1_000);
        s.disconnected(2_000, "x");
        s.connecting(2_100);
        s.disconnected(2_500, "refused");
        s.connecting(3_000);
        s.connected(4_000);
        let snap = s.snapshot();
        assert_eq!(snap.gaps_total, 1);
        assert_eq!(snap.gaps[0].from, 1_000);
        assert_eq!(snap.reconnects, 2);
    }

    #[test]
    fn a_late_first_connection_and_a_stop_while_down_are_gaps() {
        let s = status();
        s.connecting(1_000);
        s.backoff(1_100, 500, "refused");
        assert_eq!(s.snapshot().gap_open_since, Some(1_000));
        s.connecting(1_600);
        s.connected(1_700);
        s.message(2_000);
        s.disconnected(2_500, "closed");
        s.stopped(9_000);
        let snap = s.snapshot();
        let gaps: Vec<_> = snap.gaps.iter().map(|g| (g.from, g.to, g.reason)).collect();
        assert_eq!(
            gaps,
            [
                (1_000, 1_700, "not_connected"),
                (2_000, 9_000, "disconnected")
            ]
        );
        assert_eq!(snap.state, SourceState::Stopped);
        // A source that never came up: one gap from its first attempt to the stop.
        let s = status();
        s.connecting(1_000);
        s.backoff(1_100, 500, "refused");
        s.connecting(1_600);
        s.stopped(5_000);
        assert_eq!(s.snapshot().gaps[0].reason, "not_connected");
        assert_eq!(
            (s.snapshot().gaps[0].from, s.snapshot().gaps[0].to),
            (1_000, 5_000)
        );
        // Connected on the first try: no gap at all.
        let s = status();
        s.connecting(1_000);
        s.connected(1_010);
        s.stopped(2_000);
        assert_eq!(s.snapshot().gaps_total, 0);
    }

    #[test]
    fn ignored_names_and_gaps_are_bounded() {
        let s = status();
        for i in 0..200 {
            s.ignored(&format!("CMD_{i}"));
            s.sequence_gap(i, i + 1, 1);
        }
        let snap = s.snapshot();
        assert_eq!(snap.ignored.len(), MAX_IGNORED_NAMES + 1);
        assert_eq!(snap.ignored["(other)"], 200 - MAX_IGNORED_NAMES as u64);
        assert_eq!(snap.gaps.len(), MAX_GAPS);
        assert_eq!(snap.gaps_total, 200);
    }

    #[test]
    fn sequence_skips_count_only_after_consecutive_numbering() {
        let mut t = SequenceTracker::default();
        // Not trusted yet: a jump is not a gap.
        assert_eq!(t.observe(1, 10), None);
        assert_eq!(t.observe(5, 20), None);
        for (i, seq) in (6..=9).enumerate() {
            assert_eq!(t.observe(seq, 30 + i as i64), None);
        }
        assert_eq!(t.observe(12, 50), Some((33, 2)));
        // Zero is "not numbered"; going down is a restart.
        assert_eq!(t.observe(0, 60), None);
        assert_eq!(t.observe(1, 70), None);
    }

    #[test]
    fn live_changes_are_announced_once() {
        let s = status();
        let mut changes = s.live_changes();
        s.set_live(true, 1);
        assert!(changes.has_changed().unwrap());
        assert_eq!(*changes.borrow_and_update(), Some(true));
        s.set_live(true, 2);
        assert!(!changes.has_changed().unwrap());
        assert_eq!(s.snapshot().live_changed_at, Some(1));
    }

    #[test]
    fn metrics_text_has_every_family() {
        let s = status();
        s.connecting(1_000);
        s.connected(1_000);
        s.message(1_234);
        s.decode_error("bad_header", "x");
        let mut out = String::new();
        encode_metrics(&[s.snapshot()], &mut out);
        assert!(
            out.contains(
                "livecue_source_connected{room=\"r1\",source=\"bili\",kind=\"bilibili\"} 1"
            )
        );
        assert!(out.contains(
            "livecue_source_messages_total{room=\"r1\",source=\"bili\",kind=\"bilibili\"} 1"
        ));
        assert!(out.contains("error=\"bad_header\"} 1"));
        assert!(out.contains("livecue_source_last_message_timestamp_seconds{room=\"r1\",source=\"bili\",kind=\"bilibili\"} 1.234"));
    }
}
