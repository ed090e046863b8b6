//! Making a [`SourceStatus`] and reading it: the empty status, where its gaps are recorded, its
//! names, the lock, the snapshot, and closing and keeping gaps.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};

use super::{Gap, Inner, MAX_GAPS, SourceSnapshot, SourceState, SourceStatus, redact_endpoint};

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
    pub fn recording_to(mut self, room: Option<Arc<dyn crate::sources::Room>>) -> SourceStatus {
        self.gaps_to = room;
        self
    }

    /// Hands a gap to the room without waiting.
    pub(super) fn record(&self, gap: Option<Gap>) {
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

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
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
}

impl Inner {
    /// Ends the gap open at `now`, if any, and keeps it: the one a disconnection opened, or
    /// (with `count_first`, before any connection) the time since the first attempt.
    pub(super) fn close_gap(&mut self, now: i64, count_first: bool) -> Option<Gap> {
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

pub(super) fn push_gap(inner: &mut Inner, gap: Gap) {
    inner.gaps_total += 1;
    if inner.gaps.len() >= MAX_GAPS {
        inner.gaps.pop_front();
    }
    inner.gaps.push_back(gap);
}
