//! The one read loop every WebSocket source runs, and the timing keys they share.
//!
//! A platform protocol is a [`Protocol`]: what the heartbeat frame is, and what one received
//! frame amounts to ([`Incoming`]: events and stream facts, frames to send back, the answer to
//! a handshake, sequence numbers). [`run`] does the rest the same way for every kind: connect
//! (given up at shutdown), send the hello frame (an auth packet) and wait for the platform's
//! answer when there is one, heartbeat on schedule, leave a platform that went silent for
//! `idle_timeout_s`, count what arrives in the source's status, report sequence gaps, send
//! replies before delivering (a platform waits for its ack; the room can wait for us), and
//! deliver through the source's [`Sink`].
//!
//! [`Timing`] is the four keys (`heartbeat_s`, `idle_timeout_s`, `backoff_min_ms`,
//! `backoff_max_ms`) every connecting kind takes, flattened into its config so users' TOML
//! keeps its shape; each kind gives its own defaults as [`TimingDefaults`].

use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use super::client::{self, BackoffConfig, Session, SessionEnd};
use super::health::SequenceTracker;
use super::{Effects, Sink};
use crate::clock::now_ms;

/// Longest wait for the platform's answer to the hello frame.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Default smallest wait before reconnecting, in milliseconds.
pub const DEFAULT_BACKOFF_MIN_MS: u64 = 1_000;
/// Default largest wait before reconnecting, in milliseconds.
pub const DEFAULT_BACKOFF_MAX_MS: u64 = 60_000;

/// A kind's default heartbeat period and idle timeout, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimingDefaults {
    pub heartbeat_s: u64,
    pub idle_timeout_s: u64,
}

/// `heartbeat_s`, `idle_timeout_s`, `backoff_min_ms`, `backoff_max_ms`: the keys every
/// connecting kind takes (flattened into its table; each absent key takes the kind's default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timing {
    /// Seconds between heartbeats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_s: Option<u64>,
    /// Seconds without anything from the platform before reconnecting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout_s: Option<u64>,
    /// Smallest wait before reconnecting, in milliseconds (default 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_min_ms: Option<u64>,
    /// Largest wait before reconnecting, in milliseconds (default 60000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_max_ms: Option<u64>,
}

/// [`Timing`] with every default filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub heartbeat: Duration,
    pub idle: Duration,
    pub backoff: BackoffConfig,
}

impl Timing {
    fn values(&self, d: TimingDefaults) -> (u64, u64, u64, u64) {
        (
            self.heartbeat_s.unwrap_or(d.heartbeat_s),
            self.idle_timeout_s.unwrap_or(d.idle_timeout_s),
            self.backoff_min_ms.unwrap_or(DEFAULT_BACKOFF_MIN_MS),
            self.backoff_max_ms.unwrap_or(DEFAULT_BACKOFF_MAX_MS),
        )
    }

    /// Checks the values (with the kind's defaults for what is absent).
    pub fn validate(&self, d: TimingDefaults) -> Result<(), String> {
        let (heartbeat_s, idle_timeout_s, min_ms, max_ms) = self.values(d);
        if !(1..=300).contains(&heartbeat_s) {
            return Err(format!("heartbeat_s = {heartbeat_s}: must be 1 to 300"));
        }
        if idle_timeout_s <= heartbeat_s || idle_timeout_s > 3_600 {
            return Err(format!(
                "idle_timeout_s = {idle_timeout_s}: must be longer than heartbeat_s and at most 3600"
            ));
        }
        BackoffConfig::validate(min_ms, max_ms)
    }

    pub fn schedule(&self, d: TimingDefaults) -> Schedule {
        let (heartbeat_s, idle_timeout_s, min_ms, max_ms) = self.values(d);
        Schedule {
            heartbeat: Duration::from_secs(heartbeat_s.max(1)),
            idle: Duration::from_secs(idle_timeout_s.max(1)),
            backoff: BackoffConfig::from_ms(min_ms, max_ms),
        }
    }
}

/// One received data frame.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Frame<'a> {
    Text(&'a str),
    Binary(&'a [u8]),
}

/// What one frame amounts to.
#[derive(Debug, Default)]
pub(crate) struct Incoming {
    pub effects: Effects,
    /// Frames to send back before the effects are delivered (acks).
    pub replies: Vec<Message>,
    /// The answer to the hello frame: `Err` says why the platform refused.
    pub handshake: Option<Result<(), String>>,
    /// The platform's sequence numbers in this frame, in order (0: not numbered).
    pub seqs: Vec<u64>,
}

impl Incoming {
    pub(crate) fn effects(effects: Effects) -> Incoming {
        Incoming {
            effects,
            ..Incoming::default()
        }
    }
}

/// What one platform protocol adds to the shared loop.
pub(crate) trait Protocol: Send {
    /// The heartbeat frame.
    fn heartbeat(&self) -> Message;
    /// Reads one data frame. Never fails: what cannot be decoded is in the effects' errors.
    fn on_frame(&mut self, frame: Frame<'_>, now: i64) -> Incoming;
}

/// Where to connect, with what, and when to heartbeat.
#[derive(Debug, Clone)]
pub(crate) struct Connect {
    pub url: String,
    /// Extra request headers; empty values are left out.
    pub headers: Vec<(&'static str, String)>,
    /// Sent first; when set, the connection counts as established only once the protocol
    /// reports the platform's answer ([`Incoming::handshake`]).
    pub hello: Option<Message>,
    /// Heartbeat right when established (else one period later).
    pub beat_at_start: bool,
    pub heartbeat: Duration,
    pub idle: Duration,
}

/// A source that connects the same way every time.
pub(crate) struct Fixed<P> {
    pub connect: Connect,
    pub protocol: P,
    pub sink: Sink,
}

impl<P: Protocol + 'static> Session for Fixed<P> {
    async fn run(&mut self, cancel: &CancellationToken) -> SessionEnd {
        run(&self.connect, &mut self.protocol, &self.sink, cancel).await
    }
}

/// One connection's life: connect, hello, read until it ends, `cancel` fires, or the room
/// shuts down (then [`SessionEnd::Cancelled`]).
pub(crate) async fn run<P: Protocol>(
    connect: &Connect,
    protocol: &mut P,
    sink: &Sink,
    cancel: &CancellationToken,
) -> SessionEnd {
    let status = sink.status().clone();
    let mut ws = match client::connect_or_cancel(&connect.url, &connect.headers, cancel).await {
        Ok(ws) => ws,
        Err(end) => return end,
    };
    let mut established = connect.hello.is_none();
    if let Some(hello) = &connect.hello
        && let Err(e) = client::send(&mut ws, hello.clone()).await
    {
        return SessionEnd::failed(e);
    }
    let mut heartbeat =
        tokio::time::interval_at(Instant::now() + connect.heartbeat, connect.heartbeat);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    if established {
        status.connected(now_ms());
        if connect.beat_at_start {
            heartbeat.reset_immediately();
        }
    }
    let mut seq = SequenceTracker::default();
    let mut deadline = Instant::now()
        + if established {
            connect.idle
        } else {
            HANDSHAKE_TIMEOUT
        };
    loop {
        let next = tokio::select! {
            biased;
            () = cancel.cancelled() => {
                client::close(&mut ws).await;
                return SessionEnd::Cancelled;
            }
            _ = heartbeat.tick(), if established => {
                if let Err(e) = client::send(&mut ws, protocol.heartbeat()).await {
                    return SessionEnd::dropped(e);
                }
                status.heartbeat_sent();
                continue;
            }
            next = tokio::time::timeout_at(deadline, ws.next()) => next,
        };
        let end = move |reason: String| {
            if established {
                SessionEnd::dropped(reason)
            } else {
                SessionEnd::failed(reason)
            }
        };
        let message = match next {
            Err(_) if established => {
                return end(format!("nothing from the platform for {:?}", connect.idle));
            }
            Err(_) => {
                return end(format!(
                    "no answer to the handshake within {HANDSHAKE_TIMEOUT:?}"
                ));
            }
            Ok(None) => return end("connection closed".into()),
            Ok(Some(Err(e))) => return end(format!("receive: {e}")),
            Ok(Some(Ok(message))) => message,
        };
        let frame = match &message {
            Message::Binary(bytes) => Frame::Binary(bytes),
            Message::Text(text) => Frame::Text(text.as_str()),
            Message::Close(_) => return end(client::describe_close(&message)),
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {
                if established {
                    deadline = Instant::now() + connect.idle;
                }
                continue;
            }
        };
        let now = now_ms();
        status.message(now);
        let incoming = protocol.on_frame(frame, now);
        for number in incoming.seqs {
            if let Some((from, missing)) = seq.observe(number, now) {
                status.sequence_gap(from, now, missing);
            }
        }
        match incoming.handshake {
            Some(Ok(())) if !established => {
                established = true;
                status.connected(now);
                if connect.beat_at_start {
                    heartbeat.reset_immediately();
                } else {
                    heartbeat.reset();
                }
            }
            Some(Err(refused)) => {
                status.apply(&incoming.effects, now);
                return if established {
                    SessionEnd::dropped(refused)
                } else {
                    SessionEnd::Refused(refused)
                };
            }
            _ => {}
        }
        for reply in incoming.replies {
            if let Err(e) = client::send(&mut ws, reply).await {
                return end(e);
            }
        }
        if sink.apply(incoming.effects, now).await.is_err() {
            // The room has shut down: so does its source.
            client::close(&mut ws).await;
            return SessionEnd::Cancelled;
        }
        if established {
            deadline = Instant::now() + connect.idle;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: TimingDefaults = TimingDefaults {
        heartbeat_s: 30,
        idle_timeout_s: 75,
    };

    #[test]
    fn absent_keys_take_the_kinds_defaults() {
        let t: Timing = toml::from_str("heartbeat_s = 10").unwrap();
        let s = t.schedule(D);
        assert_eq!(s.heartbeat, Duration::from_secs(10));
        assert_eq!(s.idle, Duration::from_secs(75));
        assert_eq!(s.backoff, BackoffConfig::from_ms(1_000, 60_000));
        assert!(t.validate(D).is_ok());
        let bad: Timing = toml::from_str("heartbeat_s = 80").unwrap();
        assert!(bad.validate(D).unwrap_err().contains("idle_timeout_s"));
        let bad: Timing = toml::from_str("backoff_min_ms = 5").unwrap();
        assert!(bad.validate(D).unwrap_err().contains("backoff_min_ms"));
        // Only what was set is written back.
        assert_eq!(toml::to_string(&t).unwrap().trim(), "heartbeat_s = 10");
    }
}
