//! What the WebSocket adapters share: opening a connection with a bounded message size and a
//! timeout, reconnecting with jittered exponential backoff, and the loop that keeps a source
//! alive until shutdown.
//!
//! An adapter is a [`Session`]: one connection's life, from connect to close. [`supervise`]
//! runs sessions one after another, sleeping a backoff between them (cancellable), and keeps
//! the source's [`SourceStatus`] in step. A session that stayed up for [`STABLE_AFTER`] resets
//! the backoff; one the platform drops right away makes the next wait longer, up to the cap.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::SinkExt;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::UrlError;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

use super::MAX_MESSAGE_BYTES;
use super::health::SourceStatus;
use crate::clock::now_ms;

pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Longest wait for a TCP + TLS + WebSocket handshake.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait to hand one frame to the socket; a peer that stops reading ends the session.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection that lasted this long resets the backoff to its minimum.
pub const STABLE_AFTER: Duration = Duration::from_secs(20);

/// Bounds of the reconnect backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffConfig {
    pub min: Duration,
    pub max: Duration,
}

impl BackoffConfig {
    pub fn from_ms(min_ms: u64, max_ms: u64) -> BackoffConfig {
        BackoffConfig {
            min: Duration::from_millis(min_ms.max(1)),
            max: Duration::from_millis(max_ms.max(min_ms).max(1)),
        }
    }

    /// Checks the configured bounds (milliseconds).
    pub(crate) fn validate(min_ms: u64, max_ms: u64) -> Result<(), String> {
        if !(10..=600_000).contains(&min_ms) {
            return Err(format!(
                "backoff_min_ms = {min_ms}: must be 10 to 600000 (milliseconds)"
            ));
        }
        if max_ms < min_ms || max_ms > 3_600_000 {
            return Err(format!(
                "backoff_max_ms = {max_ms}: must be at least backoff_min_ms and at most 3600000"
            ));
        }
        Ok(())
    }
}

/// Exponential backoff with "equal jitter": the n-th wait is `min · 2ⁿ` capped at `max`, of
/// which a random half is left out, so many sources dropped together do not reconnect together,
/// and none waits less than half its step.
#[derive(Debug)]
pub(crate) struct Backoff {
    config: BackoffConfig,
    attempt: u32,
    rng: SmallRng,
}

impl Backoff {
    pub(crate) fn new(config: BackoffConfig) -> Backoff {
        Backoff {
            config,
            attempt: 0,
            rng: SmallRng::from_os_rng(),
        }
    }

    pub(crate) fn next_delay(&mut self) -> Duration {
        let step = self
            .config
            .min
            .saturating_mul(1u32 << self.attempt.min(20))
            .min(self.config.max);
        self.attempt = self.attempt.saturating_add(1);
        let half = step / 2;
        let spread = (step - half).as_millis() as u64;
        half + Duration::from_millis(self.rng.random_range(0..=spread))
    }

    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// How a session ended.
#[derive(Debug, PartialEq)]
pub(crate) enum SessionEnd {
    /// Shutdown: stop for good.
    Cancelled,
    /// The connection ended or never came up; reconnect after a backoff.
    Ended {
        /// The connection had been established (and the status said so).
        established: bool,
        reason: String,
    },
    /// The platform refused the handshake (a wrong or expired key); reconnect after a
    /// backoff, with fresh credentials where the source can get them.
    Refused(String),
}

impl SessionEnd {
    pub(crate) fn failed(reason: impl Into<String>) -> SessionEnd {
        SessionEnd::Ended {
            established: false,
            reason: reason.into(),
        }
    }

    pub(crate) fn dropped(reason: impl Into<String>) -> SessionEnd {
        SessionEnd::Ended {
            established: true,
            reason: reason.into(),
        }
    }
}

/// One connection's life: connect, (auth), read until it ends or `cancel` fires.
pub(crate) trait Session: Send + 'static {
    fn run(&mut self, cancel: &CancellationToken) -> impl Future<Output = SessionEnd> + Send;

    /// Called once when the source stops for good (after its last session), to release what
    /// outlives one connection (an open-platform app session). Bounded by [`FINISH_TIMEOUT`].
    fn finish(&mut self) -> impl Future<Output = ()> + Send {
        std::future::ready(())
    }
}

/// Longest wait for [`Session::finish`] at shutdown.
pub const FINISH_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs `session` again and again until `cancel`, with backoff in between.
pub(crate) async fn supervise<S: Session>(
    mut session: S,
    status: Arc<SourceStatus>,
    backoff: BackoffConfig,
    cancel: CancellationToken,
) {
    let mut backoff = Backoff::new(backoff);
    while !cancel.is_cancelled() {
        status.connecting(now_ms());
        let started = Instant::now();
        let (established, reason) = match session.run(&cancel).await {
            SessionEnd::Cancelled => break,
            SessionEnd::Ended {
                established,
                reason,
            } => (established, reason),
            SessionEnd::Refused(reason) => (false, reason),
        };
        let now = now_ms();
        if established {
            status.disconnected(now, &reason);
            if started.elapsed() >= STABLE_AFTER {
                backoff.reset();
            }
        }
        let delay = backoff.next_delay();
        status.backoff(now, delay.as_millis() as u64, &reason);
        tracing::debug!(room = status.room(), source = status.name(), ?delay, %reason, "reconnecting after a pause");
        tokio::select! {
            () = cancel.cancelled() => break,
            () = tokio::time::sleep(delay) => {}
        }
    }
    if tokio::time::timeout(FINISH_TIMEOUT, session.finish())
        .await
        .is_err()
    {
        tracing::warn!(
            room = status.room(),
            source = status.name(),
            "the source did not finish within {FINISH_TIMEOUT:?}"
        );
    }
    status.stopped(now_ms());
}

/// rustls needs one process-wide crypto provider before the first TLS connection; we build it
/// without a default, so install ring once (a second install is a harmless no-op error).
fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// [`connect`], given up at shutdown: every WebSocket session starts with this.
pub(crate) async fn connect_or_cancel(
    url: &str,
    headers: &[(&'static str, String)],
    cancel: &CancellationToken,
) -> Result<Ws, SessionEnd> {
    tokio::select! {
        () = cancel.cancelled() => Err(SessionEnd::Cancelled),
        ws = connect(url, headers) => ws.map_err(SessionEnd::failed),
    }
}

/// Opens a WebSocket to `url` with extra request headers (empty values are left out), reading
/// at most [`MAX_MESSAGE_BYTES`] per message.
pub(crate) async fn connect(url: &str, headers: &[(&'static str, String)]) -> Result<Ws, String> {
    let mut request = url
        .into_client_request()
        .map_err(|e| format!("bad url: {e}"))?;
    for (name, value) in headers.iter().filter(|(_, v)| !v.is_empty()) {
        let value = HeaderValue::from_str(value)
            .map_err(|_| format!("header {name}: not a valid value"))?;
        request.headers_mut().insert(*name, value);
    }
    install_crypto_provider();
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES));
    let connecting = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
    match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
        Err(_) => Err(format!("connect: no answer within {CONNECT_TIMEOUT:?}")),
        Ok(Err(tungstenite::Error::Url(UrlError::TlsFeatureNotEnabled))) => Err(
            "wss:// needs TLS, which this build of tokio-tungstenite lacks (enable its \
             rustls-tls-webpki-roots feature) — or point the source at a ws:// relay"
                .into(),
        ),
        Ok(Err(e)) => Err(format!("connect: {e}")),
        Ok(Ok((ws, _response))) => Ok(ws),
    }
}

/// Sends one message, bounded by [`SEND_TIMEOUT`].
pub(crate) async fn send(ws: &mut Ws, message: Message) -> Result<(), String> {
    match tokio::time::timeout(SEND_TIMEOUT, ws.send(message)).await {
        Err(_) => Err(format!(
            "send: the platform took no data for {SEND_TIMEOUT:?}"
        )),
        Ok(Err(e)) => Err(format!("send: {e}")),
        Ok(Ok(())) => Ok(()),
    }
}

/// Closes politely at shutdown (best effort, briefly).
pub(crate) async fn close(ws: &mut Ws) {
    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
}

/// Why a receive ended the session, in words for the status.
pub(crate) fn describe_close(message: &Message) -> String {
    match message {
        Message::Close(Some(frame)) => {
            format!("closed by the platform: {} {}", frame.code, frame.reason)
        }
        _ => "closed by the platform".into(),
    }
}

#[cfg(test)]
mod tests {

    #[tokio::test]
    async fn wss_is_supported() {
        // Nothing listens on port 1: the error must be about connecting, not about TLS support.
        let err = connect("wss://127.0.0.1:1/sub", &[]).await.unwrap_err();
        assert!(!err.contains("needs TLS"), "{err}");
    }

    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_stays_capped() {
        let mut b = Backoff::new(BackoffConfig::from_ms(100, 1_000));
        let delays: Vec<u128> = (0..10).map(|_| b.next_delay().as_millis()).collect();
        // Step n is min·2ⁿ capped at max; each wait lies in [step/2, step].
        for (n, d) in delays.iter().enumerate() {
            let step = (100u128 << n.min(20)).min(1_000);
            assert!(
                *d >= step / 2 && *d <= step,
                "attempt {n}: {d} ms, step {step}"
            );
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }

    #[test]
    fn backoff_jitter_spreads_sources() {
        let waits: std::collections::HashSet<u128> = (0..20)
            .map(|_| {
                let mut b = Backoff::new(BackoffConfig::from_ms(1_000, 60_000));
                b.next_delay();
                b.next_delay();
                b.next_delay().as_millis()
            })
            .collect();
        assert!(waits.len() > 5, "{waits:?}");
    }

    #[test]
    fn backoff_survives_huge_attempt_counts() {
        let mut b = Backoff::new(BackoffConfig::from_ms(10, 3_600_000));
        for _ in 0..1000 {
            assert!(b.next_delay() <= Duration::from_secs(3_600));
        }
    }

    #[test]
    fn bounds_are_checked() {
        assert!(BackoffConfig::validate(1_000, 60_000).is_ok());
        assert!(BackoffConfig::validate(0, 60_000).is_err());
        assert!(BackoffConfig::validate(1_000, 500).is_err());
    }
}
