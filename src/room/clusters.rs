//! Question clusters: comments that ask the same thing about the same product, grouped by
//! their question key (`size:2`), with who asked, when, a few samples, and whether the
//! streamer has answered. Bounded: at most [`MAX_CLUSTERS`] clusters (the least recently
//! asked are dropped), each remembering at most [`MAX_ASKS`] asks and [`SAMPLES`] samples.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::analyze::Topic;
use rustc_hash::FxHashMap;
use serde::Serialize;

pub const MAX_CLUSTERS: usize = 300;
pub const MAX_ASKS: usize = 512;
pub const SAMPLES: usize = 3;
/// Asks older than this are forgotten (the longest window).
const ASK_MEMORY_MS: i64 = 300_000;

#[derive(Debug, Clone, Serialize)]
pub struct Cluster {
    pub key: String,
    pub topic: Topic,
    pub product: Option<Arc<str>>,
    /// Every ask since the room started.
    pub total: u32,
    #[serde(skip)]
    asks: VecDeque<(i64, u64)>,
    /// Latest masked sample comments, newest last.
    pub samples: VecDeque<String>,
    pub first_seen: i64,
    pub last_seen: i64,
    /// When the operator marked it answered (or a cue for it was acknowledged).
    pub answered_at: Option<i64>,
}

impl Cluster {
    /// Distinct viewers who asked in the last `window_ms`.
    pub fn askers(&self, now: i64, window_ms: i64) -> u32 {
        let mut viewers: Vec<u64> = self
            .asks
            .iter()
            .filter(|(t, _)| now - t < window_ms)
            .map(|(_, v)| *v)
            .collect();
        viewers.sort_unstable();
        viewers.dedup();
        viewers.len() as u32
    }

    /// Distinct viewers who asked since it was last answered (all, if never).
    pub fn unanswered_askers(&self, now: i64) -> u32 {
        let since = self.answered_at.unwrap_or(i64::MIN);
        let mut viewers: Vec<u64> = self
            .asks
            .iter()
            .filter(|(t, _)| *t > since && now - t < ASK_MEMORY_MS)
            .map(|(_, v)| *v)
            .collect();
        viewers.sort_unstable();
        viewers.dedup();
        viewers.len() as u32
    }

    pub fn answered(&self) -> bool {
        self.answered_at.is_some_and(|a| a >= self.last_seen)
    }
}

#[derive(Debug, Default)]
pub struct Clusters {
    by_key: FxHashMap<String, Cluster>,
}

impl Clusters {
    /// Records an ask of `topic` about `product`; `key` is their `topic:product` (the
    /// comment's [`Reading::key`](super::Reading::key)).
    pub fn ask(
        &mut self,
        topic: Topic,
        key: &str,
        product: Option<Arc<str>>,
        viewer: u64,
        sample: &str,
        now: i64,
    ) {
        if !self.by_key.contains_key(key) && self.by_key.len() >= MAX_CLUSTERS {
            self.evict_oldest();
        }
        if !self.by_key.contains_key(key) {
            self.by_key.insert(
                key.to_owned(),
                Cluster {
                    key: key.to_owned(),
                    topic,
                    product,
                    total: 0,
                    asks: VecDeque::new(),
                    samples: VecDeque::new(),
                    first_seen: now,
                    last_seen: now,
                    answered_at: None,
                },
            );
        }
        let Some(cluster) = self.by_key.get_mut(key) else {
            return;
        };
        cluster.total += 1;
        cluster.last_seen = now;
        while cluster
            .asks
            .front()
            .is_some_and(|(t, _)| now - t >= ASK_MEMORY_MS)
            || cluster.asks.len() >= MAX_ASKS
        {
            cluster.asks.pop_front();
        }
        cluster.asks.push_back((now, viewer));
        if cluster.samples.len() >= SAMPLES {
            cluster.samples.pop_front();
        }
        cluster.samples.push_back(sample.to_owned());
    }

    fn evict_oldest(&mut self) {
        if let Some(key) = self
            .by_key
            .values()
            .min_by_key(|c| c.last_seen)
            .map(|c| c.key.clone())
        {
            self.by_key.remove(&key);
        }
    }

    pub fn get(&self, key: &str) -> Option<&Cluster> {
        self.by_key.get(key)
    }

    /// Marks a cluster answered; false when there is no such cluster.
    pub fn mark_answered(&mut self, key: &str, now: i64) -> bool {
        match self.by_key.get_mut(key) {
            Some(c) => {
                c.answered_at = Some(now);
                true
            }
            None => false,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Cluster> {
        self.by_key.values()
    }

    /// The `n` clusters with the most recent askers, for the console.
    pub fn top(&self, now: i64, n: usize) -> Vec<ClusterView> {
        let mut views: Vec<ClusterView> = self
            .by_key
            .values()
            .map(|c| ClusterView {
                key: c.key.clone(),
                topic: c.topic,
                product: c.product.clone(),
                total: c.total,
                askers_60s: c.askers(now, 60_000),
                askers_5m: c.askers(now, ASK_MEMORY_MS),
                samples: c.samples.iter().cloned().collect(),
                last_seen: c.last_seen,
                answered: c.answered(),
                answered_at: c.answered_at,
            })
            .filter(|v| v.askers_5m > 0 || !v.answered)
            .collect();
        views.sort_by(|a, b| {
            (b.askers_60s, b.askers_5m, b.last_seen).cmp(&(a.askers_60s, a.askers_5m, a.last_seen))
        });
        views.truncate(n);
        views
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

/// A cluster as the console sees it.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterView {
    pub key: String,
    pub topic: Topic,
    pub product: Option<Arc<str>>,
    pub total: u32,
    pub askers_60s: u32,
    pub askers_5m: u32,
    pub samples: Vec<String>,
    pub last_seen: i64,
    pub answered: bool,
    pub answered_at: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_distinct_askers_in_a_window() {
        let mut c = Clusters::default();
        let p: Option<Arc<str>> = Some("2".into());
        for i in 0..10u64 {
            c.ask(
                Topic::Size,
                "size:2",
                p.clone(),
                i % 6,
                "2号什么码",
                1_000 + i as i64 * 1000,
            );
        }
        let cl = c.get("size:2").unwrap();
        assert_eq!(cl.total, 10);
        assert_eq!(cl.askers(11_000, 60_000), 6);
        assert_eq!(cl.askers(11_000, 3_000), 2);
        assert_eq!(cl.samples.len(), SAMPLES);
        assert!(c.mark_answered("size:2", 12_000));
        assert!(c.get("size:2").unwrap().answered());
        assert_eq!(c.get("size:2").unwrap().unanswered_askers(12_500), 0);
    }

    #[test]
    fn bounded_number_of_clusters() {
        let mut c = Clusters::default();
        for i in 0..(MAX_CLUSTERS + 50) {
            let key = format!("price:{i}");
            c.ask(
                Topic::Price,
                &key,
                Some(i.to_string().into()),
                1,
                "x",
                i as i64,
            );
        }
        assert_eq!(c.len(), MAX_CLUSTERS);
        assert!(c.get("price:0").is_none());
    }
}
