//! Push: a room's messages to every overlay and console of the room.
//!
//! The room's task is the only writer. Each message is numbered (`seq`), serialized once, kept
//! in a ring bounded in count and in bytes (for `?since=S` reconnects) and sent on a bounded
//! broadcast channel.
//! Nothing here waits on a client: a client that falls more than [`CHANNEL_CAPACITY`]
//! messages behind gets `Lagged` from the channel and is resent a snapshot instead of a
//! backlog, so one slow client never slows the room or grows its memory.

use std::collections::VecDeque;
use std::sync::Mutex;

use axum::extract::ws::Utf8Bytes;
use tokio::sync::broadcast;

/// Messages a client may fall behind before it is resynced with a snapshot.
pub const CHANNEL_CAPACITY: usize = 256;
/// Messages kept for clients that reconnect with `?since=S`...
pub const RING_CAPACITY: usize = 1024;
/// ...and at most this many bytes of them. A busy room publishes a `stats` message of about
/// 13 kB every second, so a count alone would let the ring grow for 17 minutes to ~13 MB a
/// room; 2 MiB still covers a reconnect after about two minutes away (older gaps get a
/// snapshot).
pub const RING_BYTES: usize = 2 * 1024 * 1024;

/// A serialized room message and its number.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub seq: u64,
    pub json: Utf8Bytes,
}

/// One room's numbered message stream.
#[derive(Debug)]
pub struct Push {
    tx: broadcast::Sender<Outgoing>,
    /// Last messages, oldest first. A std mutex: held for a push or a copy, never across
    /// an await.
    ring: Mutex<Ring>,
}

/// The ring and the bytes of JSON it holds.
#[derive(Debug, Default)]
struct Ring {
    messages: VecDeque<Outgoing>,
    bytes: usize,
}

impl Default for Push {
    fn default() -> Self {
        Push::new()
    }
}

impl Push {
    pub fn new() -> Push {
        let (tx, _) = broadcast::channel(CHANNEL_CAPACITY);
        Push {
            tx,
            ring: Mutex::new(Ring::default()),
        }
    }

    /// Publishes a message already numbered `seq` (the room task numbers them in order).
    pub fn publish(&self, seq: u64, json: String) {
        let out = Outgoing {
            seq,
            json: Utf8Bytes::from(json),
        };
        {
            let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
            let size = out.json.len();
            // The newest message stays even when it alone is over the budget.
            while !ring.messages.is_empty()
                && (ring.messages.len() == RING_CAPACITY || ring.bytes + size > RING_BYTES)
            {
                if let Some(old) = ring.messages.pop_front() {
                    ring.bytes -= old.json.len();
                }
            }
            ring.bytes += size;
            ring.messages.push_back(out.clone());
        }
        // No receivers is fine: nobody is watching the room right now.
        let _ = self.tx.send(out);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Outgoing> {
        self.tx.subscribe()
    }

    /// Clients connected to the room.
    pub fn clients(&self) -> usize {
        self.tx.receiver_count()
    }

    /// The messages after `since`, if the ring still holds all of them (`None`: too old, send
    /// a snapshot). `since` at or beyond the newest message gives an empty list.
    pub fn after(&self, since: u64) -> Option<Vec<Outgoing>> {
        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        let ring = &ring.messages;
        let Some(oldest) = ring.front() else {
            return if since == 0 { Some(Vec::new()) } else { None };
        };
        if since + 1 < oldest.seq {
            return None;
        }
        let newest = ring.back().map_or(0, |o| o.seq);
        if since > newest {
            // A seq from another life of the room (server restarted): resync.
            return None;
        }
        Some(ring.iter().filter(|o| o.seq > since).cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_from_the_ring_or_says_too_old() {
        let push = Push::new();
        for seq in 1..=(RING_CAPACITY as u64 + 10) {
            push.publish(seq, format!("{{\"seq\":{seq}}}"));
        }
        let newest = RING_CAPACITY as u64 + 10;
        assert_eq!(push.after(newest - 3).unwrap().len(), 3);
        assert_eq!(push.after(newest).unwrap().len(), 0);
        assert!(push.after(5).is_none(), "evicted from the ring");
        assert!(
            push.after(newest + 50).is_none(),
            "from a previous server life"
        );
    }

    #[test]
    fn the_ring_keeps_to_its_byte_budget() {
        let push = Push::new();
        let big = "x".repeat(100_000);
        for seq in 1..=100 {
            push.publish(seq, big.clone());
        }
        let kept = RING_BYTES / 100_000;
        let newest = push
            .after(100 - kept as u64)
            .expect("the newest messages are kept");
        assert_eq!(newest.len(), kept);
        assert!(
            push.after(100 - kept as u64 - 1).is_none(),
            "older ones are gone"
        );
        // One message over the whole budget is still kept, alone.
        push.publish(101, "y".repeat(RING_BYTES + 1));
        assert_eq!(push.after(100).map(|m| m.len()), Some(1));
        assert!(push.after(99).is_none());
    }

    #[tokio::test]
    async fn a_lagging_receiver_is_told_so() {
        let push = Push::new();
        let mut rx = push.subscribe();
        for seq in 1..=(CHANNEL_CAPACITY as u64 + 5) {
            push.publish(seq, "{}".into());
        }
        assert!(matches!(
            rx.recv().await,
            Err(broadcast::error::RecvError::Lagged(_))
        ));
    }
}
