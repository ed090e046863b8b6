//! Who is in the room: a pseudonymous profile per viewer built from this room's events only,
//! segments over those profiles (defined as data), and the audience mix of the last minutes.
//!
//! Memory is bounded: at most [`AudienceConfig::cap`] profiles; past it, the least recently
//! seen tenth is dropped at once (amortized constant time per new viewer).

pub mod cluster;
pub mod profile;
pub mod segment;

use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

use crate::analyze::Topic;

pub use profile::{CommentFacts, FEATURE_NAMES, FEATURES, Profile};
pub use segment::{Criteria, Mix, SegmentDef, Share, default_segments};

/// `[rooms.audience]`: profiles and segments of a room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AudienceConfig {
    /// Profiles kept in memory; the least recently seen go first.
    pub cap: usize,
    /// The audience mix counts viewers seen in the last this many seconds.
    pub active_s: u32,
    /// Segment definitions; the defaults are in `src/audience/segments.toml`.
    pub segments: Vec<SegmentDef>,
}

impl Default for AudienceConfig {
    fn default() -> AudienceConfig {
        AudienceConfig {
            cap: 20_000,
            active_s: 300,
            segments: default_segments(),
        }
    }
}

impl AudienceConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !(100..=1_000_000).contains(&self.cap) {
            return Err(format!("audience.cap = {}: 100 to 1000000", self.cap));
        }
        if !(10..=3600).contains(&self.active_s) {
            return Err(format!(
                "audience.active_s = {}: 10 to 3600 seconds",
                self.active_s
            ));
        }
        segment::validate(&self.segments)
    }
}

/// A viewer's tags, in three kinds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Tags {
    /// From who they are: fan level, returning viewer.
    #[serde(rename = "static")]
    pub fixed: Vec<String>,
    /// From what they did lately: topics asked in the active window.
    pub dynamic: Vec<String>,
    /// The segments they are in now.
    pub derived: Vec<String>,
}

/// The profiles of one room's viewers.
#[derive(Debug)]
pub struct Audience {
    config: AudienceConfig,
    profiles: FxHashMap<u64, Profile>,
    /// Viewers seen in earlier sessions of this room.
    known: FxHashSet<u64>,
    evicted: u64,
}

impl Audience {
    /// `known`: pseudonyms of viewers seen in earlier sessions (they count as returning).
    pub fn new(config: AudienceConfig, known: FxHashSet<u64>) -> Audience {
        Audience {
            config,
            profiles: FxHashMap::default(),
            known,
            evicted: 0,
        }
    }

    pub fn config(&self) -> &AudienceConfig {
        &self.config
    }

    pub fn segments(&self) -> &[SegmentDef] {
        &self.config.segments
    }

    pub fn len(&self) -> usize {
        self.profiles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }

    /// Profiles dropped to stay under the cap so far.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    pub fn get(&self, viewer: u64) -> Option<&Profile> {
        self.profiles.get(&viewer)
    }

    pub fn iter(&self) -> impl Iterator<Item = (u64, &Profile)> {
        self.profiles.iter().map(|(v, p)| (*v, p))
    }

    /// The viewer's profile, made on first sight.
    pub fn profile(&mut self, viewer: u64, now: i64) -> &mut Profile {
        if !self.profiles.contains_key(&viewer) && self.profiles.len() >= self.config.cap {
            self.evict();
        }
        let returning = self.known.contains(&viewer);
        let profile = self
            .profiles
            .entry(viewer)
            .or_insert_with(|| Profile::new(now, returning));
        profile.seen(now);
        profile
    }

    pub fn comment(&mut self, viewer: u64, facts: &CommentFacts<'_>, now: i64) {
        self.profile(viewer, now).comment(facts, now);
    }

    /// Removes a viewer's profile (the `forget` command); true when there was one.
    pub fn forget(&mut self, viewer: u64) -> bool {
        self.known.remove(&viewer);
        self.profiles.remove(&viewer).is_some()
    }

    /// Drops the least recently seen tenth of the cap.
    fn evict(&mut self) {
        let drop = (self.config.cap / 10).max(1).min(self.profiles.len());
        let mut seen: Vec<(i64, u64)> = self
            .profiles
            .iter()
            .map(|(v, p)| (p.last_seen, *v))
            .collect();
        seen.select_nth_unstable(drop - 1);
        for (_, viewer) in &seen[..drop] {
            self.profiles.remove(viewer);
        }
        self.evicted += drop as u64;
    }

    /// The segments `profile` is in now.
    pub fn segments_of<'a>(
        &'a self,
        profile: &'a Profile,
        now: i64,
    ) -> impl Iterator<Item = &'a SegmentDef> + 'a {
        self.config
            .segments
            .iter()
            .filter(move |s| s.holds(profile, now))
    }

    /// Share of each segment among the viewers seen in the last `active_s` seconds.
    pub fn mix(&self, now: i64) -> Mix {
        let since = now - i64::from(self.config.active_s) * 1000;
        let mut counts = vec![0u32; self.config.segments.len()];
        let mut active = 0u32;
        for p in self.profiles.values().filter(|p| p.last_seen >= since) {
            active += 1;
            for (count, s) in counts.iter_mut().zip(&self.config.segments) {
                *count += u32::from(s.holds(p, now));
            }
        }
        Mix {
            active,
            shares: self
                .config
                .segments
                .iter()
                .zip(counts)
                .map(|(s, viewers)| Share {
                    segment: s.name.clone(),
                    viewers,
                    share: if active == 0 {
                        0.0
                    } else {
                        viewers as f32 / active as f32
                    },
                })
                .collect(),
        }
    }

    /// A viewer's tags now.
    pub fn tags(&self, profile: &Profile, now: i64) -> Tags {
        let mut fixed = Vec::new();
        if profile.returning {
            fixed.push("回头客".to_string());
        }
        if let Some(level) = profile.fan_level.filter(|l| *l > 0) {
            fixed.push(format!("粉丝等级{level}"));
        }
        let since = now - i64::from(self.config.active_s) * 1000;
        let dynamic = Topic::QUESTIONS
            .iter()
            .filter(|t| profile.asked_since(**t, since))
            .map(|t| format!("{}分钟内问过{}", self.config.active_s / 60, t.name()))
            .collect();
        Tags {
            fixed,
            dynamic,
            derived: self
                .segments_of(profile, now)
                .map(|s| s.name.clone())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(cap: usize) -> AudienceConfig {
        AudienceConfig {
            cap,
            ..AudienceConfig::default()
        }
    }

    #[test]
    fn profiles_stay_under_the_cap_dropping_the_least_recent() {
        let mut audience = Audience::new(config(100), FxHashSet::default());
        for v in 0..1_000u64 {
            audience.comment(v, &CommentFacts::default(), v as i64);
        }
        assert!(audience.len() <= 100);
        assert!(audience.evicted() >= 900);
        // The most recent viewers are the ones kept.
        assert!(audience.get(999).is_some());
        assert!(audience.get(0).is_none());
    }

    #[test]
    fn the_mix_counts_active_viewers_only() {
        let mut audience = Audience::new(config(100), [7].into_iter().collect());
        let price = CommentFacts {
            topic: Some(Topic::Price),
            question: true,
            ..CommentFacts::default()
        };
        audience.comment(1, &price, 0);
        audience.comment(2, &price, 400_000);
        audience.comment(3, &CommentFacts::default(), 400_000);
        audience.profile(7, 400_000);
        let mix = audience.mix(400_000);
        // Viewer 1 was last seen more than five minutes ago.
        assert_eq!(mix.active, 3);
        assert!((mix.share_of("价格敏感") - 1.0 / 3.0).abs() < 1e-6);
        assert!((mix.share_of("老粉") - 1.0 / 3.0).abs() < 1e-6);
        assert!((mix.share_of("沉默观众") - 1.0 / 3.0).abs() < 1e-6);
        // Viewers 2 and 3 are new and have commented.
        assert!((mix.share_of("新客") - 2.0 / 3.0).abs() < 1e-6);
        let (leading, share) = mix.leading(audience.segments()).unwrap();
        assert_eq!((leading.name.as_str(), share), ("新客", 2.0 / 3.0));

        let tags = audience.tags(audience.get(2).unwrap(), 400_000);
        assert_eq!(tags.dynamic, ["5分钟内问过价格"]);
        assert!(tags.derived.contains(&"价格敏感".to_string()));
        let tags = audience.tags(audience.get(7).unwrap(), 400_000);
        assert_eq!(tags.fixed, ["回头客"]);
    }

    #[test]
    fn forgetting_removes_the_profile() {
        let mut audience = Audience::new(config(100), FxHashSet::default());
        audience.comment(5, &CommentFacts::default(), 0);
        assert!(audience.forget(5));
        assert!(audience.get(5).is_none());
        assert!(!audience.forget(5));
    }

    #[test]
    fn config_limits_are_checked() {
        assert!(config(10).validate().is_err());
        assert!(AudienceConfig::default().validate().is_ok());
    }
}
