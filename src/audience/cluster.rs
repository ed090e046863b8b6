//! For the review: k-means over viewers' feature vectors (linfa), k chosen by silhouette, and
//! how the clusters line up with the rule segments.
//!
//! Silhouette costs O(n²), so at most [`SAMPLE`] viewers are clustered (every n-th, in a
//! stable order); k runs from 2 to [`K_MAX`] and the best silhouette wins.

use linfa::prelude::*;
use linfa_clustering::KMeans;
use ndarray::Array2;
use serde::Serialize;

use super::profile::{FEATURE_NAMES, FEATURES};

/// Viewers clustered at most.
pub const SAMPLE: usize = 2_000;
/// Largest k tried.
pub const K_MAX: usize = 6;
/// Fewer viewers than this are not clustered.
pub const MIN_VIEWERS: usize = 20;

/// One viewer as the review clusters them.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub features: [f64; FEATURES],
    /// Indexes of the rule segments the viewer was in.
    pub segments: Vec<usize>,
}

/// The clustering and its comparison with the rule segments.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Clustering {
    pub viewers: usize,
    pub clustered: usize,
    pub k: usize,
    pub silhouette: f64,
    /// Silhouette for every k tried, from 2.
    pub silhouettes: Vec<(usize, f64)>,
    pub clusters: Vec<Cluster>,
    /// Share of clustered viewers whose cluster's leading segment is one of their own
    /// segments (1: the clusters reproduce the rules; low: they cut the audience differently).
    pub agreement: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cluster {
    pub size: usize,
    /// The features that set this cluster apart most (centroid minus overall mean), strongest
    /// first, as (name, difference).
    pub traits: Vec<(&'static str, f64)>,
    /// Share of the cluster's viewers in each rule segment, by segment index.
    pub segment_shares: Vec<f64>,
    /// The segment most of its viewers are in, if any.
    pub leading_segment: Option<usize>,
}

/// Why no clustering was made.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ClusterError {
    #[error("{0} viewers: too few to cluster (at least {MIN_VIEWERS})")]
    TooFew(usize),
    #[error("k-means failed: {0}")]
    KMeans(String),
}

/// Clusters `points` (see the module docs); `segments` is how many rule segments there are.
pub fn cluster(points: &[Point], segments: usize) -> Result<Clustering, ClusterError> {
    if points.len() < MIN_VIEWERS {
        return Err(ClusterError::TooFew(points.len()));
    }
    let step = points.len().div_ceil(SAMPLE);
    let sample: Vec<&Point> = points.iter().step_by(step).collect();
    let flat: Vec<f64> = sample.iter().flat_map(|p| p.features).collect();
    let records = Array2::from_shape_vec((sample.len(), FEATURES), flat)
        .map_err(|e| ClusterError::KMeans(e.to_string()))?;
    let dataset = DatasetBase::from(records.clone());

    let mut best: Option<(usize, f64, Vec<usize>, Array2<f64>)> = None;
    let mut silhouettes = Vec::new();
    for k in 2..=K_MAX.min(sample.len() - 1) {
        let model = KMeans::params(k)
            .max_n_iterations(100)
            .tolerance(1e-4)
            .fit(&dataset)
            .map_err(|e| ClusterError::KMeans(e.to_string()))?;
        let labelled = model.predict(DatasetBase::from(records.clone()));
        let labels = labelled.targets().to_vec();
        let score = labelled
            .silhouette_score()
            .map_err(|e| ClusterError::KMeans(e.to_string()))?;
        silhouettes.push((k, round3(score)));
        if best.as_ref().is_none_or(|b| score > b.1) {
            best = Some((k, score, labels, model.centroids().clone()));
        }
    }
    let (k, silhouette, labels, centroids) =
        best.ok_or_else(|| ClusterError::KMeans("no k could be tried".into()))?;

    let mean: Vec<f64> = (0..FEATURES)
        .map(|f| sample.iter().map(|p| p.features[f]).sum::<f64>() / sample.len() as f64)
        .collect();
    let mut agree = 0usize;
    let clusters: Vec<Cluster> = (0..k)
        .map(|c| {
            let members: Vec<&&Point> = sample
                .iter()
                .zip(&labels)
                .filter(|(_, l)| **l == c)
                .map(|(p, _)| p)
                .collect();
            let size = members.len();
            let segment_shares: Vec<f64> = (0..segments)
                .map(|s| {
                    let n = members.iter().filter(|p| p.segments.contains(&s)).count();
                    if size == 0 {
                        0.0
                    } else {
                        round3(n as f64 / size as f64)
                    }
                })
                .collect();
            let leading_segment = segment_shares
                .iter()
                .enumerate()
                .filter(|(_, s)| **s > 0.0)
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(i, _)| i);
            if let Some(s) = leading_segment {
                agree += members.iter().filter(|p| p.segments.contains(&s)).count();
            }
            let mut traits: Vec<(&'static str, f64)> = (0..FEATURES)
                .map(|f| (FEATURE_NAMES[f], round3(centroids[[c, f]] - mean[f])))
                .collect();
            traits.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
            traits.truncate(3);
            Cluster {
                size,
                traits,
                segment_shares,
                leading_segment,
            }
        })
        .collect();
    Ok(Clustering {
        viewers: points.len(),
        clustered: sample.len(),
        k,
        silhouette: round3(silhouette),
        silhouettes,
        clusters,
        agreement: round3(agree as f64 / sample.len() as f64),
    })
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three well-separated groups of viewers, each in its own segment.
    fn groups(per_group: usize) -> Vec<Point> {
        let mut points = Vec::new();
        for g in 0..3 {
            for i in 0..per_group {
                let mut features = [0.1; FEATURES];
                let jitter = (i % 7) as f64 * 0.01;
                features[g * 3] = 0.9 - jitter;
                features[g * 3 + 1] = 0.8 + jitter;
                points.push(Point {
                    features,
                    segments: vec![g],
                });
            }
        }
        points
    }

    #[test]
    fn finds_the_groups_and_matches_them_to_segments() {
        let c = cluster(&groups(40), 3).unwrap();
        assert_eq!(c.k, 3, "{:?}", c.silhouettes);
        assert!(c.silhouette > 0.8);
        assert!((c.agreement - 1.0).abs() < 1e-9);
        let mut leading: Vec<usize> = c
            .clusters
            .iter()
            .filter_map(|c| c.leading_segment)
            .collect();
        leading.sort();
        assert_eq!(leading, [0, 1, 2]);
        assert!(
            c.clusters
                .iter()
                .all(|c| c.size == 40 && c.traits.len() == 3)
        );
    }

    #[test]
    fn large_audiences_are_sampled() {
        let c = cluster(&groups(1_500), 3).unwrap();
        assert_eq!(c.viewers, 4_500);
        assert!(c.clustered <= SAMPLE);
    }

    #[test]
    fn too_few_viewers_is_said_so() {
        assert_eq!(cluster(&groups(3), 3), Err(ClusterError::TooFew(9)));
    }
}
