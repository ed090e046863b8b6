//! The server: one port, axum routes, the rooms behind them, graceful shutdown.
//!
//! [`run`] takes a bound listener (tests bind port 0), the configuration and a shutdown
//! future. On shutdown it stops accepting, tells every WebSocket to close with 1001 "going
//! away", stops the room tasks and waits for them (at most [`SHUTDOWN_DEADLINE`]).
//!
//! Routes (PROTOCOL.md): `/`, `/overlay`, `/console`, `/healthz`, `/metrics`,
//! `/ws/ingest`, `/api/rooms/{room}/events`, `/ws/room/{room}`, `/api/rooms/{room}/report`,
//! `/api/rooms/{room}/sources`.

mod auth;
mod demo_feed;
mod ingest;
mod pages;
mod report;
mod sources;
mod stream;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::analyze::Analyzer;
use crate::config::Config;
use crate::lexicon::Lexicons;
use crate::live::{RoomStore, Rooms, now_ms};
use crate::metrics::Metrics;
use crate::sources::Sources;
use crate::store::{Record, Store};
use crate::wire::ErrorReply;

/// Longest wait for room tasks and connections after shutdown begins.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(5);

/// What `serve` runs with besides the configuration.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Add the demo room with its simulated audience.
    pub demo: bool,
    /// Lexicons to use (the embedded ones when `None`).
    pub lexicons: Option<Lexicons>,
    /// Where the store keeps its database; `None` runs without a store (nothing persisted,
    /// acks mean "queued for the room").
    pub data_dir: Option<std::path::PathBuf>,
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
}

/// Serves until `shutdown` completes, then shuts down gracefully.
pub async fn run(
    listener: TcpListener,
    mut config: Config,
    options: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let lexicons = options.lexicons.clone();
    // Loading the dictionary takes a moment of CPU: keep it off the runtime's workers.
    let analyzer = tokio::task::spawn_blocking(move || match lexicons {
        Some(lex) => Analyzer::new(lex),
        None => Analyzer::new(Lexicons::embedded()),
    })
    .await
    .context("loading the analyzer")?
    .context("building the analyzer")?;
    if options.demo && config.room(crate::demo::DEMO_ROOM).is_none() {
        let demo = crate::demo::demo_config().context("loading the demo room")?;
        config.rooms.extend(demo.rooms);
    }
    config.validate()?;

    let cancel = CancellationToken::new();
    let tracker = TaskTracker::new();
    let metrics = Arc::new(Metrics::new());
    let rooms = Rooms::new(
        Arc::new(analyzer),
        metrics.clone(),
        config.limits.clone(),
        cancel.clone(),
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
                Some(RoomStore {
                    handle,
                    session: session.id,
                })
            }
            None => None,
        };
        rooms.open(room, room_store)?;
    }
    let sources = Arc::new(
        Sources::start(&rooms, &config.rooms, &cancel, &tracker)
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
        metrics,
        store: store.clone(),
        sources: sources.clone(),
    };
    let router = router(app, config.limits.max_body_bytes).merge(sources.router());
    let addr = listener.local_addr().ok();
    tracing::info!(?addr, rooms = config.rooms.len(), "serving");
    let listener = listener.tap_io(|tcp| {
        // Acks and cues are small and latency-bound: never wait to coalesce them.
        let _ = tcp.set_nodelay(true);
    });
    let stopping = cancel.clone();
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down");
            stopping.cancel();
        })
        .await
        .context("serving")?;
    cancel.cancel();
    tracker.close();
    if tokio::time::timeout(SHUTDOWN_DEADLINE, tracker.wait())
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

/// All routes.
pub fn router(app: App, max_body: usize) -> Router {
    Router::new()
        .route("/", get(pages::index))
        .route("/overlay", get(pages::overlay))
        .route("/console", get(pages::console))
        .route("/assets/{file}", get(pages::asset))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/ws/ingest", get(ingest::websocket))
        .route(
            "/api/rooms/{room}/events",
            post(ingest::http).layer(DefaultBodyLimit::max(max_body)),
        )
        .route("/ws/room/{room}", get(stream::websocket))
        .route("/api/rooms/{room}/report", get(report::report))
        .route("/api/rooms/{room}/sources", get(sources::sources))
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

async fn metrics(State(app): State<App>) -> Response {
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

/// Sends a close frame (best effort: the peer may already be gone).
pub async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(
        Duration::from_secs(2),
        socket.send(Message::Close(Some(frame))),
    )
    .await;
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
