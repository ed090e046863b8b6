//! Ingest endpoints: `WS /ws/ingest?room=R` and `POST /api/rooms/R/events`.
//!
//! Both parse with [`crate::ingest::parse_frame`], check each event's room and token, drop
//! duplicates, queue the rest for the room (waiting when the room is busy) and answer every
//! frame with an ack. A frame that cannot be read gets an error reply; neither closes the
//! connection. A frame the room cannot take now (the room over its rate, the store unable to
//! write) is refused whole with `rate_limited` or `store_unavailable` and `retry_after_ms`;
//! the connection stays open and the source resends. Only abuse closes: a message over the
//! size limit (1009), invalid UTF-8 (1007), a client past its own rate limit (1008), or
//! silence past `idle_timeout_s` (1001), each with a reason.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;

use super::gate::Ticket;
use super::rate::Bucket;
use super::{App, Received, auth, close, error_response, receive};
use crate::clock::now_ms;
use crate::ingest::{IngestEvent, parse_frame};
use crate::live::{CommandError, RoomHandle};
use crate::metrics;
use crate::wire::{Ack, ErrorReply, Refusal, Rejected};

#[derive(Debug, Deserialize)]
pub struct IngestQuery {
    pub room: Option<String>,
    pub token: Option<String>,
}

/// The room a connection or request is bound to, and the token it presented.
struct Source {
    room: Option<Arc<RoomHandle>>,
    token: Option<String>,
}

pub async fn websocket(
    State(app): State<App>,
    Query(query): Query<IngestQuery>,
    headers: HeaderMap,
    ticket: Option<Extension<Ticket>>,
    ws: WebSocketUpgrade,
) -> Response {
    let token = auth::presented(&headers, query.token.as_deref()).map(str::to_owned);
    let room = match query.room.as_deref() {
        Some(id) => match auth::authorize(&app, id, token.as_deref(), auth::Door::Ingest) {
            Ok(room) => Some(room),
            Err(refused) => return refused.into_response(),
        },
        None => None,
    };
    let run = app.clone();
    super::upgrade(&app, ws, ticket, move |socket| {
        connection(run, socket, Source { room, token })
    })
}

async fn connection(app: App, mut socket: WebSocket, source: Source) {
    let limits = app.rooms.limits().clone();
    let mut frames = Bucket::new(limits.frames_per_s, limits.frames_per_s.saturating_mul(2));
    let mut events = Bucket::new(limits.events_per_s, limits.events_burst);
    let label = source.room.as_ref().map_or("-", |r| &r.id).to_owned();
    let send_timeout = Duration::from_secs(limits.send_timeout_s.max(1));
    let mut idle = super::Idle::new(limits.idle_timeout_s);
    loop {
        let message = match receive(&app, &mut socket, &mut idle, &mut frames, send_timeout).await {
            Received::Message(m) => m,
            Received::Gone => return,
            Received::Broken { code, reason } => {
                app.rooms
                    .metrics()
                    .closed
                    .get_or_create(&metrics::event(&label, reason_kind(code)))
                    .inc();
                close(&mut socket, code, &reason).await;
                return;
            }
            Received::Flooding(reason) => {
                abuse(&app, &mut socket, &label, reason).await;
                return;
            }
        };
        let (reply, over) = match message {
            Message::Text(text) => {
                let (reply, count) = handle_frame(&app, &source, text.as_str()).await;
                (reply, !events.take(count as f64))
            }
            Message::Binary(_) => (
                ErrorReply::new("binary_not_supported", "send events as JSON text frames")
                    .to_json(),
                false,
            ),
            Message::Ping(_) | Message::Pong(_) => continue,
            Message::Close(_) => return,
        };
        let sent =
            tokio::time::timeout(send_timeout, socket.send(Message::Text(reply.into()))).await;
        if !matches!(sent, Ok(Ok(()))) {
            return;
        }
        // The frame's events were accepted and acked above; only then is the flood stopped.
        if over {
            let reason = format!("rate limit: more than {} events/s", limits.events_per_s);
            abuse(&app, &mut socket, &label, reason).await;
            return;
        }
    }
}

fn reason_kind(code: u16) -> &'static str {
    match code {
        1009 => "too_big",
        1007 => "invalid_utf8",
        _ => "protocol",
    }
}

async fn abuse(app: &App, socket: &mut WebSocket, room: &str, reason: String) {
    app.rooms
        .metrics()
        .closed
        .get_or_create(&metrics::event(room, "rate_limit"))
        .inc();
    tracing::info!(room, %reason, "closing an ingest connection");
    close(socket, 1008, &reason).await;
}

/// Handles one frame; returns the reply and how many events it held.
async fn handle_frame(app: &App, source: &Source, text: &str) -> (String, usize) {
    match parse_frame(text) {
        Err(e) => {
            let label = source.room.as_ref().map_or("-", |r| &r.id);
            app.rooms
                .metrics()
                .rejected
                .get_or_create(&metrics::event(label, e.code()))
                .inc();
            (ErrorReply::new(e.code(), e.to_string()).to_json(), 1)
        }
        Ok(items) => {
            let count = items.len();
            let items = items
                .into_iter()
                .map(|r| r.map_err(|e| e.to_string()))
                .collect();
            let reply = match accept(app, source, items).await {
                Ok(ack) => serde_json::to_string(&ack).unwrap_or_default(),
                Err(refusal) => refusal.to_json(),
            };
            (reply, count)
        }
    }
}

/// The HTTP status of a frame refused whole.
fn refusal_status(refusal: &Refusal) -> StatusCode {
    match refusal.code {
        "rate_limited" => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// An event and its index in the frame (for rejections).
type Indexed = (usize, IngestEvent);

/// Routes parsed events to their rooms, takes them from each room's rate budget, dedupes,
/// stores and queues; builds the ack. `Err` when the frame is refused whole.
async fn accept(
    app: &App,
    source: &Source,
    items: Vec<Result<IngestEvent, String>>,
) -> Result<Ack, Refusal> {
    let now = now_ms();
    let mut rejected = Vec::new();
    let mut by_room: Vec<(Arc<RoomHandle>, Vec<Indexed>)> = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let routed = item.and_then(|mut event| {
            let room = route(app, source, &event)?;
            let env = event.envelope_mut();
            env.room = Some(room.id.to_string());
            env.ts.get_or_insert(now);
            Ok((room, event))
        });
        match routed {
            Err(error) => {
                let label = source.room.as_ref().map_or("-", |r| &r.id);
                app.rooms
                    .metrics()
                    .rejected
                    .get_or_create(&metrics::event(label, "invalid"))
                    .inc();
                rejected.push(Rejected { index, error });
            }
            Ok((room, event)) => match by_room.iter_mut().find(|(r, _)| Arc::ptr_eq(r, &room)) {
                Some((_, events)) => events.push((index, event)),
                None => by_room.push((room, vec![(index, event)])),
            },
        }
    }
    // Every room of the frame must have room in its rate budget, or none is charged.
    for (i, (room, events)) in by_room.iter().enumerate() {
        if let Err(retry) = app.room_rates.take(&room.id, events.len()) {
            for (earlier, events) in &by_room[..i] {
                app.room_rates.refund(&earlier.id, events.len());
            }
            app.rooms
                .metrics()
                .refused
                .get_or_create(&metrics::event(&room.id, "rate_limited"))
                .inc();
            return Err(Refusal::new(
                "rate_limited",
                format!(
                    "room {} takes at most {} events/s; nothing in this frame was taken, resend it later",
                    room.id,
                    app.rooms.limits().room_events_per_s
                ),
                retry,
            ));
        }
    }
    let (mut accepted, mut duplicates, mut unstored) = (0, 0, 0);
    for (room, events) in by_room {
        let (indexes, events): (Vec<usize>, Vec<IngestEvent>) = events.into_iter().unzip();
        match room.ingest(events, now).await {
            Ok(done) => {
                accepted += done.accepted;
                duplicates += done.duplicates;
            }
            Err(e) => {
                // Not stored or the room is closing: say so per event, never claim them.
                tracing::warn!(room = %room.id, error = %e, "events not accepted");
                if matches!(e, CommandError::Store(_)) {
                    unstored += indexes.len();
                    app.rooms
                        .metrics()
                        .refused
                        .get_or_create(&metrics::event(&room.id, "store_unavailable"))
                        .inc();
                }
                rejected.extend(indexes.into_iter().map(|index| Rejected {
                    index,
                    error: format!("not accepted: {e}"),
                }));
            }
        }
    }
    if unstored > 0 && accepted == 0 && duplicates == 0 && unstored == rejected.len() {
        return Err(Refusal::new(
            "store_unavailable",
            "the store cannot write (disk full or failing); nothing in this frame was stored, \
             resend it later"
                .into(),
            1000,
        ));
    }
    Ok(Ack::new(accepted, duplicates, rejected))
}

/// The room an event goes to, checking the token when the connection names no room.
fn route(app: &App, source: &Source, event: &IngestEvent) -> Result<Arc<RoomHandle>, String> {
    let named = event.envelope().room.as_deref();
    match (&source.room, named) {
        (Some(room), Some(named)) if named != &*room.id => Err(format!(
            "event is for room {named:?} but this connection is for room {:?}",
            room.id
        )),
        (Some(room), _) => Ok(room.clone()),
        (None, None) => Err("no room: name it in the URL (?room=) or in the event".into()),
        (None, Some(named)) => {
            let room = app
                .rooms
                .get(named)
                .ok_or_else(|| format!("unknown room {named:?}"))?;
            if auth::allows(room.ingest_token.as_deref(), source.token.as_deref()) {
                Ok(room)
            } else {
                Err(format!("wrong or missing ingest token for room {named:?}"))
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    pub token: Option<String>,
}

/// `POST /api/rooms/R/events`: a JSON array, one object, or NDJSON (one object a line). The
/// token is checked before the body is read.
pub async fn http(
    State(app): State<App>,
    Path(room): Path<String>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let token = auth::presented(&headers, query.token.as_deref()).map(str::to_owned);
    let handle = match auth::authorize(&app, &room, token.as_deref(), auth::Door::Ingest) {
        Ok(handle) => handle,
        Err(refused) => return refused.into_response(),
    };
    let limit = app.rooms.limits().max_body_bytes;
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(body) => body,
        Err(_) => {
            return error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_big",
                format!("the body is over {limit} bytes (or was cut short)"),
            );
        }
    };
    let Ok(text) = std::str::from_utf8(&body) else {
        return error_response(
            StatusCode::BAD_REQUEST,
            "invalid_utf8",
            "the body is not valid UTF-8",
        );
    };
    let source = Source {
        room: Some(handle),
        token,
    };
    let items = match crate::ingest::parse_body(text) {
        Ok(items) => items
            .into_iter()
            .map(|r| r.map_err(|e| e.to_string()))
            .collect(),
        Err(e) => return error_response(StatusCode::BAD_REQUEST, e.code(), e.to_string()),
    };
    match accept(&app, &source, items).await {
        Ok(ack) => (StatusCode::OK, Json(ack)).into_response(),
        Err(refusal) => {
            let retry_s = refusal.retry_after_ms.div_ceil(1000).max(1);
            let mut response = (
                refusal_status(&refusal),
                [(header::CONTENT_TYPE, "application/json")],
                refusal.to_json(),
            )
                .into_response();
            if let Ok(v) = retry_s.to_string().parse() {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
    }
}
