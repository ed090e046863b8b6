//! Conformance echo mode: a test aid for the Autobahn|Testsuite, off by default.
//!
//! The suite's fuzzing client (cases 1–7 and 9) expects an *echo* server: every text or
//! binary message it sends must come back unchanged. `/ws/ingest` answers acks and
//! `/ws/room/R` pushes room messages, so against the real routes most cases fail by design.
//! With `livecue serve --conformance-echo`, those two routes echo instead, and only the
//! message handling changes: the connection still comes through the gate (connection cap,
//! handshake timeout) and the origin check, the room and its token are checked as on the real
//! route, the upgrade is [`super::upgrade`] (the same `max_frame_bytes` limit for frames and
//! messages, the same tracking for shutdown), and the loop keeps the real routes' idle
//! timeout, per-connection frame rate limit and close reasons ([`super::classify`]). Nothing
//! reaches a room or the store. Never for a real stream: `bench/autobahn.sh` uses it.

use axum::Extension;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Router, http::StatusCode};
use serde::Deserialize;
use std::time::Duration;

use super::gate::Ticket;
use super::rate::Bucket;
use super::{App, Received, auth, close, error_response, receive};

/// Wraps `router` so the two WebSocket routes echo, when `app` is given (the mode is on).
pub fn wrap(router: Router, app: Option<App>) -> Router {
    match app {
        Some(app) => {
            tracing::warn!("conformance echo mode: /ws/ingest and /ws/room/R echo messages");
            router.layer(axum::middleware::from_fn_with_state(app, intercept))
        }
        None => router,
    }
}

#[derive(Debug, Deserialize)]
struct EchoQuery {
    room: Option<String>,
    role: Option<String>,
    token: Option<String>,
}

/// Takes the upgrade requests of `/ws/ingest` and `/ws/room/{room}`; everything else goes on.
async fn intercept(State(app): State<App>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let room_path = path.strip_prefix("/ws/room/").map(str::to_owned);
    if path != "/ws/ingest" && room_path.is_none() {
        return next.run(request).await;
    }
    let (mut parts, _body) = request.into_parts();
    let ws = match WebSocketUpgrade::from_request_parts(&mut parts, &app).await {
        Ok(ws) => ws,
        Err(rejection) => return rejection.into_response(),
    };
    let Ok(Query(query)) = Query::<EchoQuery>::try_from_uri(&parts.uri) else {
        return error_response(StatusCode::BAD_REQUEST, "bad_query", "unreadable query");
    };
    let token = auth::presented(&parts.headers, query.token.as_deref());
    // The same doors as the real routes: a room's ingest token, view or console token.
    let (room, door) = match room_path {
        Some(room) => {
            let door = match query.role.as_deref() {
                Some("console") => auth::Door::Console,
                _ => auth::Door::View,
            };
            (Some(room), door)
        }
        None => (query.room.clone(), auth::Door::Ingest),
    };
    if let Some(room) = room
        && let Err(refused) = auth::authorize(&app, &room, token, door)
    {
        return refused.into_response();
    }
    let ticket = parts.extensions.get::<Ticket>().cloned().map(Extension);
    let run = app.clone();
    super::upgrade(&app, ws, ticket, move |socket| echo(run, socket))
}

/// Sends every text and binary message back; pings are answered by tungstenite.
async fn echo(app: App, mut socket: WebSocket) {
    let limits = app.rooms.limits().clone();
    let mut frames = Bucket::new(limits.frames_per_s, limits.frames_per_s.saturating_mul(2));
    let send_timeout = Duration::from_secs(limits.send_timeout_s.max(1));
    let mut idle = super::Idle::new(limits.idle_timeout_s);
    loop {
        let message = match receive(&app, &mut socket, &mut idle, &mut frames, send_timeout).await {
            Received::Message(m) => m,
            Received::Gone => return,
            Received::Broken { code, reason } => {
                close(&mut socket, code, &reason).await;
                return;
            }
            Received::Flooding(reason) => {
                close(&mut socket, 1008, &reason).await;
                return;
            }
        };
        let reply = match message {
            Message::Text(_) | Message::Binary(_) => message,
            Message::Ping(_) | Message::Pong(_) => continue,
            Message::Close(_) => return,
        };
        let sent = tokio::time::timeout(send_timeout, socket.send(reply)).await;
        if !matches!(sent, Ok(Ok(()))) {
            return;
        }
    }
}
