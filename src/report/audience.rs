//! The review's audience and closed-loop sections: who was in the room (segments from the
//! stored profiles, and a k-means clustering compared with them) and how each script variant
//! did (exposures, mean reward with its interval, and a verdict only where the data supports
//! one).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::audience::cluster::{self, Clustering, Point};
use crate::audience::{Profile, default_segments};
use crate::experiment::{ArmStats, VariantRow, verdicts};
use crate::store::{ExposureRow, ProfileRow};

/// The audience of a session.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AudienceReview {
    /// Viewers with a profile (commented, gifted, ordered, or entered with an id).
    pub viewers: u64,
    /// Seen in an earlier session of the room.
    pub returning: u64,
    /// Viewers per segment (when last seen), most first; a viewer can be in several.
    pub segments: Vec<SegmentCount>,
    /// The k-means clustering of the viewers' features, when there were enough viewers.
    pub clustering: Option<ClusteringReview>,
    /// Why there is no clustering, when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clustering_note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SegmentCount {
    pub name: String,
    pub viewers: u64,
    pub share: f64,
}

/// [`Clustering`] with segment names in place of indexes.
#[derive(Debug, Clone, Serialize)]
pub struct ClusteringReview {
    #[serde(flatten)]
    pub clustering: Clustering,
    /// The rule segments, in the order of each cluster's `segment_shares`.
    pub segment_names: Vec<String>,
    /// Plain-language reading of the agreement.
    pub reading: String,
}

/// How the closed loop did in a session.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExperimentReview {
    pub exposures: u64,
    /// Per script (slot), audience context and variant: exposures, mean reward and its 95%
    /// interval.
    pub variants: Vec<VariantRow>,
    /// Only where one variant's interval lies wholly above the others'.
    pub verdicts: Vec<String>,
    /// The exposures, oldest first (at most [`MAX_EXPOSURES`]).
    pub log: Vec<ExposureRow>,
}

/// Exposures listed one by one at most (all are counted).
pub const MAX_EXPOSURES: usize = 500;

/// The audience section from the session's stored profiles; `end` is the session's end (ms),
/// what recency is measured against.
pub fn audience(rows: &[ProfileRow], end: i64) -> AudienceReview {
    // A stored profile that no longer reads as one (hand-edited, a future field type) is left
    // out, as if it had not been stored.
    let parsed: Vec<Stored<'_>> = rows
        .iter()
        .filter_map(|row| {
            let profile = serde_json::from_value::<Profile>(row.profile.clone()).ok()?;
            Some(Stored {
                segments: &row.segments,
                profile,
            })
        })
        .collect();
    let profiles = parsed.as_slice();
    let names = segment_names(profiles);
    let viewers = profiles.len() as u64;
    let mut counts = vec![0u64; names.len()];
    let points: Vec<Point> = profiles
        .iter()
        .map(|row| {
            let segments: Vec<usize> = row
                .segments
                .iter()
                .filter_map(|s| names.iter().position(|n| n == s))
                .collect();
            for i in &segments {
                counts[*i] += 1;
            }
            Point {
                features: row.profile.features(end),
                segments,
            }
        })
        .collect();
    let mut segments: Vec<SegmentCount> = names
        .iter()
        .zip(&counts)
        .map(|(name, n)| SegmentCount {
            name: name.clone(),
            viewers: *n,
            share: if viewers == 0 {
                0.0
            } else {
                (*n as f64 / viewers as f64 * 1000.0).round() / 1000.0
            },
        })
        .collect();
    segments.sort_by_key(|s| std::cmp::Reverse(s.viewers));
    let (clustering, clustering_note) = match cluster::cluster(&points, names.len()) {
        Ok(c) => (
            Some(ClusteringReview {
                reading: reading(&c),
                clustering: c,
                segment_names: names,
            }),
            None,
        ),
        Err(e) => (None, Some(e.to_string())),
    };
    AudienceReview {
        viewers,
        returning: profiles.iter().filter(|r| r.profile.returning).count() as u64,
        segments,
        clustering,
        clustering_note,
    }
}

/// The default segments that occur, in their defined order, then any others by name.
/// A stored profile, read.
struct Stored<'a> {
    segments: &'a [String],
    profile: Profile,
}

fn segment_names(profiles: &[Stored<'_>]) -> Vec<String> {
    let mut seen: Vec<&str> = profiles
        .iter()
        .flat_map(|r| r.segments.iter().map(String::as_str))
        .collect();
    seen.sort_unstable();
    seen.dedup();
    let defaults = default_segments();
    let mut names: Vec<String> = defaults
        .iter()
        .filter(|d| seen.binary_search(&d.name.as_str()).is_ok())
        .map(|d| d.name.clone())
        .collect();
    for s in seen {
        if !names.iter().any(|n| n == s) {
            names.push(s.to_owned());
        }
    }
    names
}

fn reading(c: &Clustering) -> String {
    let pct = (c.agreement * 100.0).round();
    if c.agreement >= 0.7 {
        format!("{} 个聚类与规则分群大体一致 ({pct}% 吻合)", c.k)
    } else if c.agreement >= 0.4 {
        format!("{} 个聚类与规则分群部分一致 ({pct}% 吻合)", c.k)
    } else {
        format!(
            "{} 个聚类与规则分群划分方式不同 ({pct}% 吻合), 可以参考聚类特征调整分群规则",
            c.k
        )
    }
}

/// The closed-loop section from the session's stored exposures.
pub fn experiments(rows: Vec<ExposureRow>) -> ExperimentReview {
    let mut arms: BTreeMap<(&str, &str, &str), ArmStats> = BTreeMap::new();
    for r in &rows {
        arms.entry((&r.slot, &r.context, &r.variant))
            .or_default()
            .record(r.reward);
    }
    let variants: Vec<VariantRow> = arms
        .into_iter()
        .map(|((slot, context, variant), stats)| VariantRow::new(slot, context, variant, &stats))
        .collect();
    let verdicts = verdicts(&variants);
    let exposures = rows.len() as u64;
    let mut log = rows;
    log.truncate(MAX_EXPOSURES);
    ExperimentReview {
        exposures,
        variants,
        verdicts,
        log,
    }
}
