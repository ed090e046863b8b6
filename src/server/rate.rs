//! Rate budgets: a token bucket, per connection (frames, events) and per room (events from
//! every connection and HTTP post together).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use dashmap::DashMap;

/// A token bucket: `rate` per second, at most `burst` saved up.
#[derive(Debug)]
pub struct Bucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Instant,
}

impl Bucket {
    pub fn new(rate: u32, burst: u32) -> Bucket {
        Bucket {
            tokens: f64::from(burst),
            rate: f64::from(rate.max(1)),
            burst: f64::from(burst.max(1)),
            last: Instant::now(),
        }
    }

    fn refill(&mut self) {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.burst);
        self.last = now;
    }

    /// Takes `n` whatever the balance (it may go negative: the debt is paid back by waiting);
    /// true while the balance is not negative.
    pub fn take(&mut self, n: f64) -> bool {
        self.refill();
        self.tokens -= n;
        self.tokens >= 0.0
    }

    /// Takes `n` only if there are that many (a request larger than the burst: when the
    /// bucket is full, going into debt); otherwise how many milliseconds until there are.
    pub fn try_take(&mut self, n: f64) -> Result<(), u64> {
        self.refill();
        let need = n.min(self.burst);
        if self.tokens >= need {
            self.tokens -= n;
            Ok(())
        } else {
            let missing = need - self.tokens;
            Err(((missing / self.rate) * 1000.0).ceil().max(1.0) as u64)
        }
    }
}

/// Each room's ingest rate budget, shared by all its connections: `rate` events per second
/// with bursts up to `burst`. A room's bucket is made on its first frame.
#[derive(Debug)]
pub struct RoomRates {
    buckets: DashMap<Arc<str>, Mutex<Bucket>>,
    rate: u32,
    burst: u32,
}

impl RoomRates {
    pub fn new(rate: u32, burst: u32) -> RoomRates {
        RoomRates {
            buckets: DashMap::new(),
            rate,
            burst,
        }
    }

    /// Takes `n` events from `room`'s budget; `Err(ms)` (how long until there is room again)
    /// when the room is over its rate, and then nothing is taken.
    pub fn take(&self, room: &Arc<str>, n: usize) -> Result<(), u64> {
        let bucket = self
            .buckets
            .entry(room.clone())
            .or_insert_with(|| Mutex::new(Bucket::new(self.rate, self.burst)));
        let mut bucket = bucket.lock().unwrap_or_else(|p| p.into_inner());
        bucket.try_take(n as f64)
    }

    /// Gives back what [`RoomRates::take`] took (the frame was refused after all).
    pub fn refund(&self, room: &str, n: usize) {
        if let Some(bucket) = self.buckets.get(room) {
            let mut bucket = bucket.lock().unwrap_or_else(|p| p.into_inner());
            bucket.tokens = (bucket.tokens + n as f64).min(bucket.burst);
        }
    }
}
