//! `WS /ws/room/R?role=overlay|console[&since=S]`: the room stream.
//!
//! On connect a client gets a snapshot (or, with `since`, what it missed from the room's
//! ring, or a snapshot when that is gone). Then every numbered message of the room. A client
//! that falls behind the room's broadcast channel is resent a snapshot; one that takes longer
//! than `send_timeout_s` to accept a message is cut off. Consoles may send commands; each is
//! answered (`reply` or `error`) and its effect reaches every client through the room.

use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::gate::Ticket;
use super::rate::Bucket;
use super::{App, auth, close, error_response};
use crate::live::RoomHandle;
use crate::metrics::{self, ClientLabels};
use crate::push::Outgoing;
use crate::wire::{CommandFrame, ErrorReply, Reply};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Overlay,
    Console,
}

#[derive(Debug, Deserialize)]
pub struct StreamQuery {
    pub role: Option<String>,
    pub since: Option<u64>,
    pub token: Option<String>,
}

pub async fn websocket(
    State(app): State<App>,
    Path(room): Path<String>,
    Query(query): Query<StreamQuery>,
    headers: HeaderMap,
    ticket: Option<Extension<Ticket>>,
    ws: WebSocketUpgrade,
) -> Response {
    let token = auth::presented(&headers, query.token.as_deref());
    let role = match query.role.as_deref() {
        None | Some("overlay") => Role::Overlay,
        Some("console") => Role::Console,
        Some(other) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "bad_role",
                format!("role {other:?}: expected overlay or console"),
            );
        }
    };
    // The console sends commands: it needs the console token where the room has one.
    let door = match role {
        Role::Overlay => auth::Door::View,
        Role::Console => auth::Door::Console,
    };
    let handle = match auth::authorize(&app, &room, token, door) {
        Ok(handle) => handle,
        Err(refused) => return refused.into_response(),
    };
    let run = app.clone();
    // Clients send only small commands: a small read buffer (it grows for a larger frame)
    // instead of the default 128 KiB, which was most of an idle client's memory.
    let ws = ws.read_buffer_size(STREAM_READ_BUFFER);
    super::upgrade(&app, ws, ticket, move |socket| {
        connection(run, socket, handle, role, query.since)
    })
}

/// Initial read buffer of a room-stream connection.
const STREAM_READ_BUFFER: usize = 4 * 1024;

/// Keeps the clients gauge right however the connection ends.
struct Connected {
    app: App,
    labels: ClientLabels,
}

impl Drop for Connected {
    fn drop(&mut self) {
        self.app
            .rooms
            .metrics()
            .clients
            .get_or_create(&self.labels)
            .dec();
    }
}

async fn connection(
    app: App,
    mut socket: WebSocket,
    room: Arc<RoomHandle>,
    role: Role,
    since: Option<u64>,
) {
    let labels = ClientLabels {
        room: room.id.to_string(),
        role: if role == Role::Console {
            "console"
        } else {
            "overlay"
        }
        .into(),
    };
    app.rooms.metrics().clients.get_or_create(&labels).inc();
    let _connected = Connected {
        app: app.clone(),
        labels,
    };
    let timeout = Duration::from_secs(app.rooms.limits().send_timeout_s.max(1));
    // Subscribe before the snapshot, so nothing published in between is lost; messages the
    // snapshot already covers are skipped by their seq.
    let mut rx = room.push.subscribe();
    let mut last = match since.and_then(|s| room.push.after(s).map(|missed| (s, missed))) {
        Some((since, missed)) => {
            let mut last = since;
            for out in missed {
                last = out.seq;
                if !send(&mut socket, &out, timeout).await {
                    return;
                }
            }
            last
        }
        None => match resync(&mut socket, &room, timeout).await {
            Some(seq) => seq,
            None => return,
        },
    };
    let mut idle = super::Idle::new(app.rooms.limits().idle_timeout_s);
    let frames_per_s = app.rooms.limits().frames_per_s;
    let mut frames = Bucket::new(frames_per_s, frames_per_s.saturating_mul(2));
    loop {
        tokio::select! {
            () = app.cancel.cancelled() => {
                close(&mut socket, 1001, "server shutting down").await;
                return;
            }
            () = idle.wait() => {
                if !idle.ping(&app, &mut socket, timeout).await {
                    return;
                }
            }
            received = rx.recv() => match received {
                Ok(out) => {
                    if out.seq > last {
                        last = out.seq;
                        if !send(&mut socket, &out, timeout).await {
                            cut_slow(&app, &room.id, &mut socket).await;
                            return;
                        }
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    app.rooms.metrics().lagged.get_or_create(&metrics::room(&room.id)).inc();
                    tracing::debug!(room = %room.id, missed, "client lagged; resending a snapshot");
                    match resync(&mut socket, &room, timeout).await {
                        Some(seq) => last = seq,
                        None => {
                            cut_slow(&app, &room.id, &mut socket).await;
                            return;
                        }
                    }
                }
                Err(RecvError::Closed) => {
                    close(&mut socket, 1001, "room closed").await;
                    return;
                }
            },
            message = socket.recv() => {
                idle.heard();
                if matches!(message, Some(Ok(Message::Text(_) | Message::Binary(_) | Message::Ping(_))))
                    && !frames.take(1.0)
                {
                    let reason = format!("rate limit: more than {} frames/s", app.rooms.limits().frames_per_s);
                    app.rooms.metrics().closed.get_or_create(&metrics::event(&room.id, "rate_limit")).inc();
                    close(&mut socket, 1008, &reason).await;
                    return;
                }
                let reply = match message {
                    None | Some(Ok(Message::Close(_))) => return,
                    Some(Err(e)) => {
                        let (code, reason) = super::classify(&e, app.rooms.limits().max_frame_bytes);
                        close(&mut socket, code, &reason).await;
                        return;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Binary(_))) => {
                        ErrorReply::new("binary_not_supported", "send commands as JSON text frames").to_json()
                    }
                    Some(Ok(Message::Text(text))) if role == Role::Console => {
                        command(&room, text.as_str()).await
                    }
                    Some(Ok(Message::Text(_))) => ErrorReply::new(
                        "read_only",
                        "overlays cannot send commands; connect with role=console",
                    )
                    .to_json(),
                };
                let sent = tokio::time::timeout(timeout, socket.send(Message::Text(reply.into()))).await;
                if !matches!(sent, Ok(Ok(()))) {
                    return;
                }
            }
        }
    }
}

async fn command(room: &RoomHandle, text: &str) -> String {
    let frame: CommandFrame = match serde_json::from_str(text) {
        Ok(f) => f,
        Err(e) => {
            let req = serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| v.get("req").cloned());
            let mut reply = ErrorReply::new("bad_command", e.to_string());
            reply.req = req;
            return reply.to_json();
        }
    };
    let name = frame.command.name();
    match room.command(frame.command).await {
        Ok(()) => serde_json::to_string(&Reply::ok(name, frame.req)).unwrap_or_default(),
        Err(e) => {
            let mut reply = ErrorReply::new(e.code(), format!("{name}: {e}"));
            reply.req = frame.req;
            reply.to_json()
        }
    }
}

/// Cuts off a client that did not take a message within the send timeout (its queue is the
/// room's broadcast channel: nothing piles up for it meanwhile).
async fn cut_slow(app: &App, room: &str, socket: &mut WebSocket) {
    app.rooms
        .metrics()
        .closed
        .get_or_create(&metrics::event(room, "slow"))
        .inc();
    tracing::debug!(room, "a client too slow to take its messages was cut off");
    close(
        socket,
        1008,
        "too slow: messages not taken within the send timeout",
    )
    .await;
}

/// Sends a fresh snapshot; returns its seq, or `None` when the client is gone.
async fn resync(socket: &mut WebSocket, room: &RoomHandle, timeout: Duration) -> Option<u64> {
    let snapshot = room.snapshot().await?;
    send(socket, &snapshot, timeout)
        .await
        .then_some(snapshot.seq)
}

async fn send(socket: &mut WebSocket, out: &Outgoing, timeout: Duration) -> bool {
    matches!(
        tokio::time::timeout(timeout, socket.send(Message::Text(out.json.clone()))).await,
        Ok(Ok(()))
    )
}
