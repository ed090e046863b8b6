//! The closed loop inside a room: talking-point cues that are trials of a script variant
//! ([`crate::room::cue::Trial`]) become exposures when the streamer acts on them, and exposures
//! are settled against the room's per-second activity once their outcome window has passed.
//! Also here: forgetting a viewer, and the profiles the store keeps for the review.

use crate::audience::Profile;
use crate::experiment::{Exposure, Settled, VariantRow};
use crate::privacy::Pseudonym;
use crate::room::cue::CueState;

use super::RoomState;

/// How an exposure came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActedBy {
    /// The operator acknowledged the cue.
    Ack,
    /// The cue stayed on the overlay for `shown_s` without being dismissed.
    Shown,
}

impl ActedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            ActedBy::Ack => "ack",
            ActedBy::Shown => "shown",
        }
    }
}

impl RoomState {
    /// Records that the streamer acted on cue `id` at `at`; false when the cue is not a trial
    /// or was exposed already.
    pub fn expose(&mut self, id: &str, by: ActedBy, at: i64) -> bool {
        let Some(cue) = self.cues.iter_mut().find(|c| c.id == id) else {
            return false;
        };
        let Some(trial) = cue.trial.as_mut().filter(|t| !t.exposed) else {
            return false;
        };
        trial.exposed = true;
        let mix = self.audience.mix(at);
        self.experiments.expose(Exposure {
            cue: cue.id.clone(),
            slot: trial.slot.clone(),
            context: trial.context.clone(),
            variant: trial.variant.clone(),
            mix: mix
                .shares
                .into_iter()
                .map(|s| (s.segment, s.share))
                .collect(),
            at,
            by: by.as_str(),
        })
    }

    /// Exposes the trials the overlay has shown for `shown_s` seconds without a dismissal,
    /// dated when they appeared. Returns how many.
    pub fn expose_shown(&mut self, now: i64) -> usize {
        let shown_ms = i64::from(self.experiments.config().shown_s) * 1000;
        let due: Vec<(String, i64)> = self
            .cues
            .iter()
            .filter(|c| {
                matches!(c.state, CueState::Active | CueState::Pinned)
                    && c.trial.as_ref().is_some_and(|t| !t.exposed)
                    && now - c.created_at >= shown_ms
            })
            .map(|c| (c.id.clone(), c.created_at))
            .collect();
        due.into_iter()
            .filter(|(id, at)| self.expose(id, ActedBy::Shown, *at))
            .count()
    }

    /// Exposures whose outcome window has passed, measured and booked to their variants.
    pub fn settle(&mut self, now: i64) -> Vec<Settled> {
        let windows = &self.windows;
        self.experiments.settle(now, |at| windows.activity(at))
    }

    /// The variant table (console and review).
    pub fn variant_rows(&self) -> Vec<VariantRow> {
        self.experiments.table()
    }

    /// Forgets a viewer: their profile, and their comments in the live feed. True when the
    /// room knew them. (Question clusters keep who asked as a number for at most 5 minutes,
    /// to count distinct askers; their samples carry no viewer.)
    pub fn forget(&mut self, viewer: Pseudonym) -> bool {
        let id = viewer.to_string();
        let viewer = viewer.as_u64();
        let before = self.recent.len() + self.super_chats.len();
        self.recent.retain(|c| c.viewer_id != id);
        self.super_chats.retain(|c| c.viewer_id != id);
        let known = self.audience.forget(viewer);
        known || before != self.recent.len() + self.super_chats.len()
    }

    /// Profiles seen at or after `since` (ms), by pseudonym, with the segments each was in
    /// when last seen: what the store keeps for the review.
    pub fn profiles_since(&self, since: i64) -> Vec<(Pseudonym, Profile, Vec<String>)> {
        self.audience
            .iter()
            .filter(|(_, p)| p.last_seen >= since)
            .map(|(v, p)| {
                let segments = self
                    .audience
                    .segments_of(p, p.last_seen)
                    .map(|s| s.name.clone())
                    .collect();
                (Pseudonym::from_u64(v), p.clone(), segments)
            })
            .collect()
    }
}
