//! Ingest endpoints: `WS /ws/ingest?room=R` and `POST /api/rooms/R/events`.
//!
//! Both parse with [`crate::ingest::parse_frame`], check each event's room and token, drop
//! duplicates, queue the rest for the room (waiting when the room is busy) and answer every
//! frame with an ack. A frame that cannot be read gets an error reply; neither closes the
//! connection. Only abuse does: a message over the size limit (1009) or a client past its
//! rate limit (1008), each with a reason.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{App, auth, close, error_response};
use crate::ingest::{IngestEvent, parse_frame};
use crate::live::{RoomHandle, now_ms};
use crate::metrics;
use crate::wire::{Ack, ErrorReply, Rejected};

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
    let limit = app.rooms.limits().max_frame_bytes;
    ws.max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| connection(app, socket, Source { room, token }))
}

/// Token bucket: `rate` per second, at most `burst` saved up.
struct Bucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Instant,
}

impl Bucket {
    fn new(rate: u32, burst: u32) -> Bucket {
        Bucket {
            tokens: f64::from(burst),
            rate: f64::from(rate),
            burst: f64::from(burst),
            last: Instant::now(),
        }
    }

    fn take(&mut self, n: usize) -> bool {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.burst);
        self.last = now;
        self.tokens -= n as f64;
        self.tokens >= 0.0
    }
}

async fn connection(app: App, mut socket: WebSocket, source: Source) {
    let limits = app.rooms.limits().clone();
    let mut frames = Bucket::new(limits.frames_per_s, limits.frames_per_s.saturating_mul(2));
    let mut events = Bucket::new(limits.events_per_s, limits.events_burst);
    let label = source.room.as_ref().map_or("-", |r| &r.id).to_owned();
    loop {
        let message = tokio::select! {
            () = app.cancel.cancelled() => {
                close(&mut socket, 1001, "server shutting down").await;
                return;
            }
            m = socket.recv() => m,
        };
        let message = match message {
            None => return,
            Some(Ok(m)) => m,
            Some(Err(e)) => {
                let (code, reason) = super::classify(&e, limits.max_frame_bytes);
                app.rooms
                    .metrics()
                    .closed
                    .get_or_create(&metrics::event(&label, reason_kind(code)))
                    .inc();
                close(&mut socket, code, &reason).await;
                return;
            }
        };
        if matches!(message, Message::Text(_) | Message::Binary(_)) && !frames.take(1) {
            let reason = format!("rate limit: more than {} frames/s", limits.frames_per_s);
            abuse(&app, &mut socket, &label, reason).await;
            return;
        }
        let (reply, over) = match message {
            Message::Text(text) => {
                let (reply, count) = handle_frame(&app, &source, text.as_str()).await;
                (reply, !events.take(count))
            }
            Message::Binary(_) => (
                ErrorReply::new("binary_not_supported", "send events as JSON text frames")
                    .to_json(),
                false,
            ),
            Message::Ping(_) | Message::Pong(_) => continue,
            Message::Close(_) => return,
        };
        if socket.send(Message::Text(reply.into())).await.is_err() {
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
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: 1008,
            reason: reason.into(),
        })))
        .await;
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
            let ack = accept(app, source, items).await;
            (serde_json::to_string(&ack).unwrap_or_default(), count)
        }
    }
}

/// An event and its index in the frame (for rejections).
type Indexed = (usize, IngestEvent);

/// Routes parsed events to their rooms, dedupes, queues; builds the ack.
async fn accept(app: &App, source: &Source, items: Vec<Result<IngestEvent, String>>) -> Ack {
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
    let (mut accepted, mut duplicates) = (0, 0);
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
                rejected.extend(indexes.into_iter().map(|index| Rejected {
                    index,
                    error: format!("not accepted: {e}"),
                }));
            }
        }
    }
    Ack::new(accepted, duplicates, rejected)
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

/// `POST /api/rooms/R/events`: a JSON array, one object, or NDJSON (one object a line).
pub async fn http(
    State(app): State<App>,
    Path(room): Path<String>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = auth::presented(&headers, query.token.as_deref()).map(str::to_owned);
    let handle = match auth::authorize(&app, &room, token.as_deref(), auth::Door::Ingest) {
        Ok(handle) => handle,
        Err(refused) => return refused.into_response(),
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
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let items = if lines.len() > 1 && text.trim_start().starts_with('{') {
        if lines.len() > crate::ingest::MAX_EVENTS_PER_FRAME {
            return error_response(
                StatusCode::BAD_REQUEST,
                "too_many_events",
                format!(
                    "at most {} events a request",
                    crate::ingest::MAX_EVENTS_PER_FRAME
                ),
            );
        }
        lines
            .iter()
            .map(|line| {
                serde_json::from_str::<serde_json::Value>(line)
                    .map_err(|e| format!("not valid JSON: {e}"))
                    .and_then(|v| IngestEvent::from_value(v).map_err(|e| e.to_string()))
            })
            .collect()
    } else {
        match parse_frame(text) {
            Ok(items) => items
                .into_iter()
                .map(|r| r.map_err(|e| e.to_string()))
                .collect(),
            Err(e) => return error_response(StatusCode::BAD_REQUEST, e.code(), e.to_string()),
        }
    };
    let ack = accept(&app, &source, items).await;
    (StatusCode::OK, Json(ack)).into_response()
}
