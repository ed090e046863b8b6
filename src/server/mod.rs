//! The server: one port, axum routes, the rooms behind them, graceful shutdown.
//!
//! [`run`] takes a bound listener (tests bind port 0), the configuration and a shutdown
//! future. Connections come through the [`gate`] (connection cap, handshake timeout). On
//! shutdown it stops accepting, lets every WebSocket finish the frame in hand and close with
//! 1001 "going away", then stops the room tasks, all within [`SHUTDOWN_DEADLINE`]; the store
//! flushes last (within another [`SHUTDOWN_DEADLINE`]).
//!
//! Every request passes [`front`] first: it marks the connection's first request for the
//! gate, and refuses cross-origin WebSocket upgrades and posts (a page elsewhere must not
//! drive a console or feed a room through a visitor's browser); no CORS headers are ever
//! sent, so cross-origin reads stay closed too.
//!
//! Routes (PROTOCOL.md): `/`, `/overlay`, `/console`, `/healthz`, `/metrics`,
//! `/ws/ingest`, `/api/rooms/{room}/events`, `/ws/room/{room}`, `/api/rooms/{room}/report`,
//! `/api/rooms/{room}/sources`.

mod auth;
mod demo_feed;
mod echo;
mod gate;
mod ingest;
mod pages;
mod rate;
mod report;
mod sources;
mod stream;
mod viewers;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::analyze::Analyzer;
use crate::analyze::lexicon::Lexicons;
use crate::clock::now_ms;
use crate::config::{Config, ServerConfig};
use crate::live::{RoomStore, Rooms};
use crate::metrics::Metrics;
use crate::sources::Sources;
use crate::store::{Record, Store};
use crate::wire::ErrorReply;

/// Longest wait for room tasks and connections after shutdown begins.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(5);
/// Viewers of a room's earlier sessions remembered as returning (the most recent).
const RETURNING_VIEWERS: usize = 200_000;

/// What `serve` runs with besides the configuration.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Add the demo room with its simulated audience.
    pub demo: bool,
    /// Lexicons to use (the embedded ones when `None`).
    pub lexicons: Option<Lexicons>,
    /// The learned model the analysis decides with (the embedded one by default).
    pub model: crate::analyze::model::ModelChoice,
    /// Where the store keeps its database; `None` runs without a store (nothing persisted,
    /// acks mean "queued for the room").
    pub data_dir: Option<std::path::PathBuf>,
    /// Test aid: `/ws/ingest` and `/ws/room/R` echo messages (see `echo.rs`). Off by default.
    pub conformance_echo: bool,
}

/// Shared by every handler; cheap to clone.
#[derive(Clone, Debug)]
pub struct App {
    pub rooms: Rooms,
    pub cancel: CancellationToken,
    pub metrics: Arc<Metrics>,
    pub store: Option<Store>,
    /// The rooms' platform sources and their health.
    pub sources: Arc<Sources>,
    /// `[server]`: the metrics token and the allowed origins.
    pub server: Arc<ServerConfig>,
    /// WebSocket connection tasks, so shutdown can wait for them to finish their frame.
    pub connections: TaskTracker,
    /// Each room's ingest rate budget (all its connections together).
    pub room_rates: Arc<rate::RoomRates>,
}

/// Each open room with sources, as its sources see it.
pub fn feeds<'a>(rooms: &Rooms, config: &'a Config) -> anyhow::Result<crate::sources::Feeds<'a>> {
    config
        .rooms
        .iter()
        .filter(|r| !r.sources.is_empty())
        .map(|r| {
            let room = rooms
                .get(&r.id)
                .with_context(|| format!("room {} has sources but is not open", r.id))?;
            Ok((room as Arc<dyn crate::sources::Room>, r.sources.as_slice()))
        })
        .collect()
}

/// Serves until `shutdown` completes, then shuts down gracefully.
pub async fn run(
    listener: TcpListener,
    mut config: Config,
    options: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let lexicons = options.lexicons.clone();
    let model = options.model.clone().load().context("loading the model")?;
    // Loading the dictionary takes a moment of CPU: keep it off the runtime's workers.
    let analyzer = tokio::task::spawn_blocking(move || match lexicons {
        Some(lex) => Analyzer::new(lex),
        None => Analyzer::new(Lexicons::embedded()),
    })
    .await
    .context("loading the analyzer")?
    .context("building the analyzer")?
    .with_model(model);
    if options.demo && config.room(crate::demo::DEMO_ROOM).is_none() {
        let demo = crate::demo::demo_config().context("loading the demo room")?;
        config.rooms.extend(demo.rooms);
    }
    config.validate()?;

    // Shutdown in phases: `cancel` stops connections, sources and the demo feed; once the
    // connections have finished the frames in hand, `stop_rooms` stops the room tasks.
    let cancel = CancellationToken::new();
    let stop_rooms = CancellationToken::new();
    let tracker = TaskTracker::new();
    let connections = TaskTracker::new();
    let metrics = Arc::new(Metrics::new());
    let rooms = Rooms::new(
        Arc::new(analyzer),
        metrics.clone(),
        config.limits.clone(),
        stop_rooms.clone(),
        tracker.clone(),
    );
    let store = match &options.data_dir {
        Some(dir) => {
            let (dir, store_options) = (dir.clone(), config.store.clone());
            let store = tokio::task::spawn_blocking(move || Store::open_with(&dir, store_options))
                .await
                .context("opening the store")?
                .context("opening the store")?;
            Some(store)
        }
        None => None,
    };
    for room in &config.rooms {
        let room_store = match &store {
            Some(store) => {
                let handle = store.handle();
                let first = room.products.first().map(|p| p.id.as_str());
                let session = handle
                    .start_session(&room.id, &room.name, &room.products, first, now_ms())
                    .await
                    .with_context(|| format!("room {}: starting its session", room.id))?;
                if session.resumed {
                    tracing::warn!(room = %room.id, session = %session.id, "continuing a session left by a crash");
                }
                let (reader, id, room_id) = (store.clone(), session.id.clone(), room.id.clone());
                let returning = tokio::task::spawn_blocking(move || {
                    reader
                        .reader()?
                        .returning_viewers(&room_id, &id, RETURNING_VIEWERS)
                })
                .await
                .context("reading returning viewers")?
                .with_context(|| format!("room {}: reading returning viewers", room.id))?;
                Some((
                    RoomStore {
                        handle,
                        session: session.id,
                    },
                    returning,
                ))
            }
            None => None,
        };
        let (room_store, returning) = room_store.unzip();
        rooms.open(room, room_store, returning.unwrap_or_default())?;
    }
    let sources = Arc::new(
        Sources::start(&metrics, feeds(&rooms, &config)?, &cancel, &tracker)
            .context("starting the rooms' sources")?,
    );
    if options.demo
        && let Some(room) = rooms.get(crate::demo::DEMO_ROOM)
    {
        let products = config
            .room(crate::demo::DEMO_ROOM)
            .map(|r| r.products.clone())
            .unwrap_or_default();
        tracker.spawn(demo_feed::run(room, products, cancel.clone()));
    }
    let app = App {
        rooms: rooms.clone(),
        cancel: cancel.clone(),
        metrics: metrics.clone(),
        store: store.clone(),
        sources: sources.clone(),
        server: Arc::new(config.server.clone()),
        connections: connections.clone(),
        room_rates: Arc::new(rate::RoomRates::new(
            config.limits.room_events_per_s,
            config.limits.room_events_burst,
        )),
    };
    let echo = options.conformance_echo.then(|| app.clone());
    let router = echo::wrap(router(app), echo).merge(sources.router()).layer(
        axum::middleware::from_fn_with_state(Arc::new(config.server.clone()), front),
    );
    let addr = listener.local_addr().ok();
    let cap = connection_cap(config.limits.max_connections);
    tracing::info!(
        ?addr,
        rooms = config.rooms.len(),
        max_connections = cap,
        "serving"
    );
    let gate = gate::Gate::new(
        cap,
        Duration::from_secs(config.limits.handshake_timeout_s.max(1)),
        metrics,
    );
    let listener = gate::GateListener::new(listener, gate);
    let stopping = cancel.clone();
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<gate::Ticket>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("shutting down");
        stopping.cancel();
    })
    .await
    .context("serving")?;
    cancel.cancel();
    let deadline = Instant::now() + SHUTDOWN_DEADLINE;
    // In-flight frames are finished and acked (their events committed) before the rooms stop.
    connections.close();
    if tokio::time::timeout_at(deadline, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!("connections did not finish within {SHUTDOWN_DEADLINE:?}");
    }
    stop_rooms.cancel();
    tracker.close();
    if tokio::time::timeout_at(deadline, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("room tasks did not stop within {SHUTDOWN_DEADLINE:?}");
    }
    // The store goes last: every room's session is ended, then what is queued is flushed.
    if let Some(store) = store {
        let finish = async {
            for (id, _) in rooms.list() {
                if let Some(room_store) = rooms.get(&id).and_then(|r| r.store.clone()) {
                    let end = Record::SessionEnd {
                        session: room_store.session.clone(),
                        at: now_ms(),
                    };
                    if let Err(e) = room_store.handle.append(vec![end]).await {
                        tracing::warn!(room = %id, error = %e, "could not end the session");
                    }
                }
            }
            store.close().await
        };
        match tokio::time::timeout(SHUTDOWN_DEADLINE, finish).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "closing the store"),
            Err(_) => tracing::warn!("the store did not close within {SHUTDOWN_DEADLINE:?}"),
        }
    }
    Ok(())
}

/// `max_connections`, lowered to what the open-file limit allows (each connection is one
/// descriptor; the store, the log and the listener need a few more).
fn connection_cap(configured: usize) -> usize {
    match gate::open_file_limit() {
        Some(files) if (files as usize) < configured.saturating_add(64) => {
            let cap = (files as usize).saturating_sub(64).max(16);
            tracing::warn!(
                configured,
                open_files = files,
                cap,
                "max_connections lowered to fit the open-file limit (raise it with ulimit -n)"
            );
            cap
        }
        _ => configured,
    }
}

/// Runs before every route: tells the gate a request arrived (the handshake deadline no
/// longer applies), hands the connection's ticket to the WebSocket handlers, and refuses
/// cross-origin upgrades and writes with `403 forbidden_origin`.
async fn front(
    State(server): State<Arc<ServerConfig>>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(ConnectInfo(ticket)) = request.extensions().get::<ConnectInfo<gate::Ticket>>() {
        let ticket = ticket.clone();
        ticket.request();
        request.extensions_mut().insert(ticket);
    }
    let headers = request.headers();
    let upgrade = headers
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    let writes = !matches!(*request.method(), Method::GET | Method::HEAD);
    if (upgrade || writes) && !origin_allowed(headers, &server.allowed_origins) {
        return error_response(
            StatusCode::FORBIDDEN,
            "forbidden_origin",
            "this origin may not open WebSockets or post here (see [server] allowed_origins)",
        );
    }
    next.run(request).await
}

/// No `Origin` (not a browser: sources, scripts), the server's own origin (its `Host`), or
/// one of `allowed`.
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let origin = origin.trim_end_matches('/');
    if allowed
        .iter()
        .any(|a| a == "*" || a.trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
}

/// Upgrades to a WebSocket with the frame size limit, marks the connection a WebSocket for
/// the gate, and tracks the connection's task so shutdown can wait for it.
pub fn upgrade<F, Fut>(
    app: &App,
    ws: WebSocketUpgrade,
    ticket: Option<Extension<gate::Ticket>>,
    run: F,
) -> Response
where
    F: FnOnce(WebSocket) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    if let Some(Extension(ticket)) = &ticket {
        ticket.upgraded();
    }
    let limit = app.rooms.limits().max_frame_bytes;
    let connections = app.connections.clone();
    ws.max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| connections.track_future(run(socket)))
}

/// A WebSocket's silence clock: after half of `idle_timeout_s` without hearing anything the
/// server pings; after all of it, it closes with 1001.
pub struct Idle {
    timeout: Duration,
    last: Instant,
    pinged: bool,
}

impl Idle {
    pub fn new(timeout_s: u64) -> Idle {
        Idle {
            timeout: Duration::from_secs(timeout_s.max(1)),
            last: Instant::now(),
            pinged: false,
        }
    }

    /// Completes when it is time to ping, or to give up.
    pub async fn wait(&self) {
        let after = if self.pinged {
            self.timeout
        } else {
            self.timeout / 2
        };
        tokio::time::sleep_until(self.last + after).await;
    }

    /// Something arrived.
    pub fn heard(&mut self) {
        self.last = Instant::now();
        self.pinged = false;
    }

    /// Pings, or closes when a ping went unanswered; false when the connection is over.
    pub async fn ping(
        &mut self,
        app: &App,
        socket: &mut WebSocket,
        send_timeout: Duration,
    ) -> bool {
        if self.pinged {
            app.metrics.dropped("idle_timeout");
            let reason = format!(
                "idle timeout: nothing received for {} s",
                self.timeout.as_secs()
            );
            close(socket, 1001, &reason).await;
            return false;
        }
        self.pinged = true;
        let ping = socket.send(Message::Ping(axum::body::Bytes::from_static(b"livecue")));
        matches!(tokio::time::timeout(send_timeout, ping).await, Ok(Ok(())))
    }
}

/// What a client connection's receive step gave (see [`receive`]).
pub enum Received {
    /// A message, already counted against the connection's frame rate.
    Message(Message),
    /// The connection is over: the peer left, an idle ping failed, or the server is shutting
    /// down (closed with 1001 here).
    Gone,
    /// The stream was broken (too big, invalid UTF-8, a protocol error): close with this.
    Broken { code: u16, reason: String },
    /// More frames a second than `frames_per_s` allows: close with 1008 and this reason.
    Flooding(String),
}

/// The receive step every client-writing WebSocket route shares (ingest, and the conformance
/// echo so that it tests the same path): waits for the next message while watching shutdown
/// and the idle clock, classifies receive errors, and counts every frame (pings included: a
/// ping flood is a flood) against `frames`. The caller closes on `Broken` and `Flooding`, so it
/// can count the close its own way first.
pub async fn receive(
    app: &App,
    socket: &mut WebSocket,
    idle: &mut Idle,
    frames: &mut rate::Bucket,
    send_timeout: Duration,
) -> Received {
    let limits = app.rooms.limits();
    let message = loop {
        tokio::select! {
            () = app.cancel.cancelled() => {
                close(socket, 1001, "server shutting down").await;
                return Received::Gone;
            }
            () = idle.wait() => {
                if !idle.ping(app, socket, send_timeout).await {
                    return Received::Gone;
                }
            }
            m = socket.recv() => break m,
        }
    };
    idle.heard();
    let message = match message {
        None => return Received::Gone,
        Some(Ok(m)) => m,
        Some(Err(e)) => {
            let (code, reason) = classify(&e, limits.max_frame_bytes);
            return Received::Broken { code, reason };
        }
    };
    if !matches!(message, Message::Close(_)) && !frames.take(1.0) {
        return Received::Flooding(format!(
            "rate limit: more than {} frames/s",
            limits.frames_per_s
        ));
    }
    Received::Message(message)
}

/// All routes.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/", get(pages::index))
        .route("/overlay", get(pages::overlay))
        .route("/console", get(pages::console))
        .route("/assets/{file}", get(pages::asset))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/ws/ingest", get(ingest::websocket))
        .route("/api/rooms/{room}/events", post(ingest::http))
        .route("/ws/room/{room}", get(stream::websocket))
        .route("/api/rooms/{room}/report", get(report::report))
        .route("/api/rooms/{room}/sources", get(sources::sources))
        .route("/api/rooms/{room}/viewers/{viewer}", get(viewers::viewer))
        .fallback(|| async {
            error_response(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
        })
        .with_state(app)
}

async fn healthz(State(app): State<App>) -> Response {
    if app.cancel.is_cancelled() {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response()
    } else {
        (StatusCode::OK, "ok\n").into_response()
    }
}

#[derive(Debug, Deserialize)]
struct MetricsQuery {
    token: Option<String>,
}

async fn metrics(
    State(app): State<App>,
    Query(query): Query<MetricsQuery>,
    headers: HeaderMap,
) -> Response {
    let token = auth::presented(&headers, query.token.as_deref());
    let required = app
        .server
        .metrics_token
        .as_deref()
        .filter(|t| !t.is_empty());
    if !auth::allows(required, token) {
        return error_response(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "wrong or missing metrics token",
        );
    }
    if let Some(store) = &app.store {
        let handle = store.handle();
        app.metrics
            .set_store(handle.committed(), handle.dropped(), handle.queued());
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        {
            let mut text = app.metrics.encode();
            // The sources' lines go before the OpenMetrics end marker.
            let end = text.rfind("# EOF").unwrap_or(text.len());
            let mut sources = String::new();
            app.sources.encode_metrics(&mut sources);
            text.insert_str(end, &sources);
            text
        },
    )
        .into_response()
}

/// A JSON error body with its HTTP status.
pub fn error_response(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        ErrorReply::new(code, message).to_json(),
    )
        .into_response()
}

/// Sends a close frame (best effort: the peer may already be gone), then waits briefly for
/// the peer's own close, discarding whatever it still sends: the closing handshake. Without
/// the wait, a peer still writing (a flood) gets a TCP reset that can destroy our close frame,
/// and its reason, before it reads them.
pub async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let deadline = Instant::now() + Duration::from_secs(2);
    let sent = tokio::time::timeout_at(deadline, socket.send(Message::Close(Some(frame)))).await;
    if !matches!(sent, Ok(Ok(()))) {
        return;
    }
    while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, socket.recv()).await {
        if matches!(message, Message::Close(_)) {
            break;
        }
    }
}

/// The close code and reason for a receive error: too big (1009), invalid UTF-8 (1007),
/// anything else a protocol error (1002).
pub fn classify(error: &axum::Error, limit: usize) -> (u16, String) {
    use tokio_tungstenite::tungstenite::Error as WsError;
    let inner = error.to_string();
    let source = std::error::Error::source(error);
    let ws = source.and_then(|s| s.downcast_ref::<WsError>());
    match ws {
        Some(WsError::Capacity(_)) => {
            (1009, format!("message too big: the limit is {limit} bytes"))
        }
        Some(WsError::Utf8(_)) => (1007, "invalid UTF-8 in a text message".into()),
        // Checked before the text tests below: "Control frame too big" is a protocol error
        // (a control frame over 125 bytes), not a message over the limit.
        Some(WsError::Protocol(_)) => (1002, format!("protocol error: {inner}")),
        _ if inner.contains("UTF-8") || inner.contains("utf-8") => {
            (1007, "invalid UTF-8 in a text message".into())
        }
        _ if inner.contains("Space limit")
            || inner.contains("too long")
            || inner.contains("too big") =>
        {
            (1009, format!("message too big: the limit is {limit} bytes"))
        }
        _ => (1002, format!("protocol error: {inner}")),
    }
}

#[cfg(test)]
mod tests {
    use super::classify;
    use tokio_tungstenite::tungstenite::error::{CapacityError, Error, ProtocolError};

    fn code(error: Error) -> u16 {
        classify(&axum::Error::new(error), 65_536).0
    }

    #[test]
    fn close_codes_follow_the_error_kind_not_its_wording() {
        // "Control frame too big" says "too big" but is a protocol error (Autobahn 7.3.6).
        assert_eq!(
            code(Error::Protocol(ProtocolError::ControlFrameTooBig)),
            1002
        );
        assert_eq!(
            code(Error::Protocol(ProtocolError::FragmentedControlFrame)),
            1002
        );
        let long = CapacityError::MessageTooLong {
            size: 70_000,
            max_size: 65_536,
        };
        assert_eq!(code(Error::Capacity(long)), 1009);
        let utf8 = Error::Utf8("invalid utf-8 sequence".into());
        assert_eq!(code(utf8), 1007);
    }
}
