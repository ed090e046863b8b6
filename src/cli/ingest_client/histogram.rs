//! The ack latency histogram: fixed size, lock-free, shared by every connection.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::summary::LatencySummary;

/// Buckets: exact below 64 µs, then 32 per power of two (at most about 3 % off).
pub(super) const BUCKETS: usize = 60 * 32;

/// A fixed-size, lock-free latency histogram in microseconds: constant memory however long the
/// run, shared by every connection.
pub(in crate::cli) struct Histogram {
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
    max_us: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            max_us: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    /// Counts one answer's latency.
    pub fn record(&self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        if let Some(bucket) = self.buckets.get(bucket_of(us)) {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
    }

    /// The latency below which a share `q` (0-1) of the answers fell, in microseconds.
    pub fn quantile_us(&self, q: f64) -> Option<u64> {
        let count = self.count.load(Ordering::Relaxed);
        if count == 0 {
            return None;
        }
        let rank = ((q * count as f64).ceil() as u64).clamp(1, count);
        let max = self.max_us.load(Ordering::Relaxed);
        let mut seen = 0;
        for (i, bucket) in self.buckets.iter().enumerate() {
            seen += bucket.load(Ordering::Relaxed);
            if seen >= rank {
                return Some(bucket_value(i).min(max));
            }
        }
        Some(max)
    }

    /// p50, p90, p99 and max in milliseconds (two decimals).
    pub fn summary(&self) -> LatencySummary {
        let ms = |us: Option<u64>| us.map(|us| (us as f64 / 10.0).round() / 100.0);
        let any = self.count.load(Ordering::Relaxed) > 0;
        LatencySummary {
            p50: ms(self.quantile_us(0.5)),
            p90: ms(self.quantile_us(0.9)),
            p99: ms(self.quantile_us(0.99)),
            max: ms(any.then(|| self.max_us.load(Ordering::Relaxed))),
        }
    }
}

pub(super) fn bucket_of(us: u64) -> usize {
    if us < 64 {
        return us as usize;
    }
    let e = 63 - us.leading_zeros() as usize;
    let sub = ((us >> (e - 5)) - 32) as usize;
    (e - 4) * 32 + sub
}

/// The middle of a bucket.
pub(super) fn bucket_value(i: usize) -> u64 {
    if i < 64 {
        return i as u64;
    }
    let (e, sub) = (i / 32 + 4, (i % 32) as u64);
    let width = 1u64 << (e - 5);
    ((32 + sub) << (e - 5)) + width / 2
}
