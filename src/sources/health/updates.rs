//! What the adapter task tells its [`SourceStatus`]: connection attempts, connections and
//! disconnections (opening and closing gaps), backoff, messages, heartbeats, undecodable and
//! ignored input, numbering skips, delivered events, and what the platform says about the
//! stream.

use super::status::push_gap;
use super::{Gap, MAX_IGNORED_NAMES, PitchingHint, SourceState, SourceStatus, clip, clip_to};
use crate::sources::Effects;

impl SourceStatus {
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
    pub(crate) fn apply(&self, effects: &Effects, now: i64) {
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
