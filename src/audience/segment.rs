//! Audience segments as data: rules over a viewer's profile, and the mix of segments among the
//! viewers active right now.

use serde::{Deserialize, Serialize};

use super::profile::Profile;
use crate::analyze::Topic;

/// A named group of viewers (高意向, 价格敏感, …) and the script tones that suit it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentDef {
    pub name: String,
    /// Tones of script variants written for this segment (`优惠先行`, `材质细节`, …).
    #[serde(default)]
    pub tones: Vec<String>,
    /// The viewer is in the segment when any one of these holds.
    pub when: Vec<Criteria>,
}

/// Conditions on a profile; every one that is set must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Criteria {
    /// Asked about any of these question topics...
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub asked: Vec<String>,
    /// ...within this many seconds (without it: at any time this session).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub within_s: Option<u32>,
    /// Purchase signals plus orders, at least.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_purchase: Option<u32>,
    /// Complaints about price, at least.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_price_complaints: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_comments: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_comments: Option<u32>,
    /// Seen in an earlier session of the room (true) or not (false).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub returning: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_fan_level: Option<u8>,
    /// In-room monetary score (1-5, see [`Profile::rfm`]), at least.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_monetary: Option<u8>,
}

impl Criteria {
    /// Whether nothing is set (such a block would hold for everyone).
    pub fn is_empty(&self) -> bool {
        *self == Criteria::default()
    }

    pub fn holds(&self, p: &Profile, now: i64) -> bool {
        let since = self
            .within_s
            .map_or(i64::MIN, |s| now - i64::from(s) * 1000);
        (self.asked.is_empty()
            || self
                .asked
                .iter()
                .any(|t| Topic::parse(t).is_some_and(|t| p.asked_since(t, since))))
            && self
                .min_purchase
                .is_none_or(|n| p.purchase_signals.saturating_add(p.orders) >= n)
            && self
                .min_price_complaints
                .is_none_or(|n| p.price_complaints >= n)
            && self.min_comments.is_none_or(|n| p.comments >= n)
            && self.max_comments.is_none_or(|n| p.comments <= n)
            && self.returning.is_none_or(|r| p.returning == r)
            && self
                .min_fan_level
                .is_none_or(|n| p.fan_level.is_some_and(|l| l >= n))
            && self.min_monetary.is_none_or(|n| p.rfm(now)[2] >= n)
    }
}

impl SegmentDef {
    pub fn holds(&self, p: &Profile, now: i64) -> bool {
        self.when.iter().any(|c| c.holds(p, now))
    }
}

#[derive(Deserialize)]
struct SegmentsFile {
    segments: Vec<SegmentDef>,
}

/// The default segments (`src/audience/segments.toml`).
pub fn default_segments() -> Vec<SegmentDef> {
    // Embedded and checked by a unit test: it always parses.
    toml::from_str::<SegmentsFile>(include_str!("segments.toml"))
        .map(|f| f.segments)
        .unwrap_or_default()
}

/// Why a room's segment definitions were refused.
pub fn validate(segments: &[SegmentDef]) -> Result<(), String> {
    let mut names = std::collections::HashSet::new();
    for s in segments {
        if s.name.trim().is_empty() || s.name.chars().count() > 32 {
            return Err(format!("segment name {:?}: 1-32 characters", s.name));
        }
        if !names.insert(s.name.as_str()) {
            return Err(format!("segment {:?} is defined twice", s.name));
        }
        if s.when.is_empty() || s.when.iter().any(Criteria::is_empty) {
            return Err(format!(
                "segment {:?}: every `when` block must set at least one condition",
                s.name
            ));
        }
        for c in &s.when {
            if let Some(t) = c.asked.iter().find(|t| Topic::question(t).is_none()) {
                return Err(format!(
                    "segment {:?}: unknown question topic {t:?} (known: {})",
                    s.name,
                    Topic::list(&Topic::QUESTIONS)
                ));
            }
        }
    }
    if segments.len() > 32 {
        return Err("at most 32 segments".into());
    }
    Ok(())
}

/// The share of each segment among the viewers active in the last few minutes.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Mix {
    /// Viewers active in the window.
    pub active: u32,
    /// Segments in definition order, with their share of `active` (0-1; a viewer can be in
    /// several segments, so shares need not add up to 1).
    pub shares: Vec<Share>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Share {
    pub segment: String,
    pub viewers: u32,
    pub share: f32,
}

impl Mix {
    /// The segment with the largest share among those with script tones, if any viewer is in
    /// one.
    pub fn leading<'a>(&self, segments: &'a [SegmentDef]) -> Option<(&'a SegmentDef, f32)> {
        // The first defined wins a tie.
        let mut best: Option<(&SegmentDef, f32)> = None;
        for (share, def) in self.shares.iter().zip(segments) {
            if share.viewers > 0
                && !def.tones.is_empty()
                && best.is_none_or(|(_, b)| share.share > b)
            {
                best = Some((def, share.share));
            }
        }
        best
    }

    pub fn share_of(&self, segment: &str) -> f32 {
        self.shares
            .iter()
            .find(|s| s.segment == segment)
            .map_or(0.0, |s| s.share)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audience::profile::CommentFacts;

    fn asked(topic: &str, at: i64) -> Profile {
        let mut p = Profile::new(0, false);
        p.comment(
            &CommentFacts {
                topic: Topic::parse(topic),
                question: true,
                ..CommentFacts::default()
            },
            at,
        );
        p
    }

    fn segment<'a>(segments: &'a [SegmentDef], name: &str) -> &'a SegmentDef {
        segments.iter().find(|s| s.name == name).unwrap()
    }

    #[test]
    fn default_segments_parse_and_validate() {
        let segments = default_segments();
        assert_eq!(segments.len(), 6);
        validate(&segments).unwrap();
    }

    #[test]
    fn default_segments_follow_the_profile() {
        let s = default_segments();
        let now = 600_000;
        let link = asked("link", now - 10_000);
        assert!(segment(&s, "高意向").holds(&link, now));
        assert!(segment(&s, "新客").holds(&link, now));
        assert!(!segment(&s, "价格敏感").holds(&link, now));
        // The link question is dynamic: ten minutes later it no longer counts.
        assert!(!segment(&s, "高意向").holds(&link, now + 600_000));

        let price = asked("price", now);
        assert!(segment(&s, "价格敏感").holds(&price, now));
        let mut fan = Profile::new(0, true);
        assert!(segment(&s, "老粉").holds(&fan, now));
        assert!(segment(&s, "沉默观众").holds(&fan, now));
        fan.fan_level = Some(3);
        fan.returning = false;
        assert!(segment(&s, "老粉").holds(&fan, now));
    }

    #[test]
    fn validation_names_the_problem() {
        let mut s = default_segments();
        s[0].when.push(Criteria::default());
        assert!(validate(&s).unwrap_err().contains("at least one condition"));
        let mut s = default_segments();
        s[1].when[0].asked.push("colour".into());
        assert!(validate(&s).unwrap_err().contains("colour"));
        let mut s = default_segments();
        s[2].name = s[1].name.clone();
        assert!(validate(&s).unwrap_err().contains("twice"));
    }

    #[test]
    fn the_leading_segment_has_tones() {
        let s = default_segments();
        let mix = Mix {
            active: 10,
            shares: s
                .iter()
                .map(|d| Share {
                    segment: d.name.clone(),
                    viewers: match d.name.as_str() {
                        "沉默观众" => 9,
                        "价格敏感" => 4,
                        "品质关注" => 2,
                        _ => 0,
                    },
                    share: 0.0,
                })
                .map(|mut sh| {
                    sh.share = sh.viewers as f32 / 10.0;
                    sh
                })
                .collect(),
        };
        let (leading, share) = mix.leading(&s).unwrap();
        assert_eq!(leading.name, "价格敏感");
        assert!((share - 0.4).abs() < 1e-6);
        assert!((mix.share_of("品质关注") - 0.2).abs() < 1e-6);
    }
}
