//! A room's task: the one owner of its [`RoomState`] and [`Suggester`].
//!
//! One `select!` is the room's whole life: queued events are applied as ingest interpreted
//! them (in chunks, yielding between, so a burst never blocks other rooms); the rules run
//! every [`TICK`] and soon after a question or complaint; `stats` go out every second; the
//! profiles seen lately are written every minute; commands, snapshots and profile reads are
//! answered one at a time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::handle::{RoomInput, RoomStore};
use super::{STATS_EVERY, TICK, json, records};
use crate::analyze::Intent;
use crate::clock::now_ms;
use crate::ingest::IngestEvent;
use crate::metrics::{self, Metrics};
use crate::privacy::Pseudonym;
use crate::push::{Outgoing, Push};
use crate::room::{RoomEvent, RoomState};
use crate::store::Record;
use crate::suggest::{CueState, Suggester};
use crate::wire::{RoomInfo, RoomMessage, Variants, ViewerReply};

/// Events applied between two yields to the runtime.
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

/// Waits until `due`, or forever when nothing is due.
async fn sleep_until_due(due: Option<Instant>) {
    match due {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

pub(super) struct RoomTask {
    pub(super) state: RoomState,
    pub(super) suggester: Suggester,
    metrics: Arc<Metrics>,
    pub(super) push: Arc<Push>,
    seq: u64,
    /// `totals.comments` when the last `stats` went out.
    stats_comments_at: u64,
    pub(super) store: Option<RoomStore>,
}

impl RoomTask {
    pub(super) fn new(
        state: RoomState,
        suggester: Suggester,
        metrics: Arc<Metrics>,
        push: Arc<Push>,
        store: Option<RoomStore>,
    ) -> RoomTask {
        RoomTask {
            state,
            suggester,
            metrics,
            push,
            seq: 0,
            stats_comments_at: 0,
            store,
        }
    }

    pub(super) async fn run(
        mut self,
        mut rx: mpsc::Receiver<RoomInput>,
        cancel: CancellationToken,
    ) {
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
        (!profiles.is_empty()).then(|| vec![records::profiles(&session, &profiles)])
    }

    pub(super) fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub(super) fn publish(&mut self, message: impl FnOnce(u64) -> String) {
        let seq = self.next_seq();
        let json = message(seq);
        self.push.publish(seq, json);
    }

    /// Applies events as ingest read them; true when one of them may trigger a cue.
    async fn apply(&mut self, events: Vec<RoomEvent>) -> bool {
        let mut notable = false;
        for (i, arrived) in events.into_iter().enumerate() {
            if i > 0 && i % CHUNK == 0 {
                tokio::task::yield_now().await;
            }
            let now = arrived.at;
            match (&arrived.event, &arrived.reading) {
                (IngestEvent::Comment(c), Some(reading)) => {
                    let analysis = &reading.analysis;
                    notable |= analysis.question || analysis.intents.contains(Intent::Complaint);
                    self.state.comment_event(reading, c, arrived.viewer, now);
                }
                // Ingest reads every comment; one without a reading cannot be counted.
                (IngestEvent::Comment(_), None) => {}
                (other, _) => self.state.event(other, arrived.viewer, now),
            }
        }
        notable
    }

    /// Records what the room did (cues, operator actions) without waiting: a full store queue
    /// drops them and counts the drop (`livecue_store_dropped_total`, and in the review).
    pub(super) fn record(&self, records: Vec<Record>) {
        if let Some(store) = &self.store
            && !records.is_empty()
        {
            store.handle.try_append(records);
        }
    }

    pub(super) fn session(&self) -> Option<Arc<str>> {
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
            let mut records: Vec<Record> = cues.iter().map(|c| records::cue(&session, c)).collect();
            records.extend(expiring.iter().map(|id| Record::CueState {
                session: session.clone(),
                id: id.clone(),
                state: CueState::Expired.as_str(),
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
                        .map(|s| records::exposure(&session, s))
                        .collect(),
                );
            }
            let rows = self.state.variant_rows();
            let variants = self.variants(&rows);
            self.publish(|seq| json(&RoomMessage::Variants { seq, variants }));
        }
    }

    pub(super) fn variants<'a>(&self, rows: &'a [crate::experiment::VariantRow]) -> Variants<'a> {
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
            pitching: self.state.pitching(),
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

    fn viewer(&self, viewer: Pseudonym) -> Option<String> {
        let now = now_ms();
        let audience = &self.state.audience;
        let profile = audience.get(viewer.as_u64())?;
        Some(json(&ViewerReply {
            kind: "viewer",
            room: &self.state.id,
            viewer: viewer.to_string(),
            tags: audience.tags(profile, now),
            rfm: profile.rfm(now),
            profile,
        }))
    }
}
