//! Tokens: `Authorization: Bearer T` or `?token=T`, checked before any room data is sent.

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{App, error_response};
use crate::live::RoomHandle;

/// Which of a room's tokens guards a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    Ingest,
    View,
}

/// Why a request for a room was refused; answered before any room data.
#[derive(Debug)]
pub enum Refused {
    UnknownRoom(String),
    Unauthorized { room: String, door: &'static str },
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::UnknownRoom(room) => error_response(
                StatusCode::NOT_FOUND,
                "unknown_room",
                format!("no room {room:?}"),
            ),
            Refused::Unauthorized { room, door } => error_response(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                format!("wrong or missing {door} token for room {room:?}"),
            ),
        }
    }
}

/// The room, if it exists and the token opens `door`.
pub fn authorize(
    app: &App,
    room: &str,
    token: Option<&str>,
    door: Door,
) -> Result<Arc<RoomHandle>, Refused> {
    let Some(handle) = app.rooms.get(room) else {
        return Err(Refused::UnknownRoom(room.into()));
    };
    let (required, what) = match door {
        Door::Ingest => (handle.ingest_token.as_deref(), "ingest"),
        Door::View => (handle.view_token.as_deref(), "view"),
    };
    if !allows(required, token) {
        return Err(Refused::Unauthorized {
            room: room.into(),
            door: what,
        });
    }
    Ok(handle)
}

/// The token a request presents, from the header or the query string (header first).
pub fn presented<'a>(headers: &'a HeaderMap, query: Option<&'a str>) -> Option<&'a str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .or(query)
        .filter(|t| !t.is_empty())
}

/// Whether `presented` opens a door guarded by `required` (no token configured: open).
pub fn allows(required: Option<&str>, presented: Option<&str>) -> bool {
    match (required, presented) {
        (None, _) => true,
        (Some(want), Some(got)) => constant_time_eq(want.as_bytes(), got.as_bytes()),
        (Some(_), None) => false,
    }
}

/// Compares without stopping at the first difference, so response time does not reveal how
/// much of a guessed token was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_wins_and_tokens_compare_exactly() {
        let mut headers = HeaderMap::new();
        assert_eq!(presented(&headers, Some("q")), Some("q"));
        headers.insert("authorization", "Bearer h".parse().unwrap());
        assert_eq!(presented(&headers, Some("q")), Some("h"));
        assert!(allows(None, None));
        assert!(allows(Some("s3cret"), Some("s3cret")));
        assert!(!allows(Some("s3cret"), Some("s3cre")));
        assert!(!allows(Some("s3cret"), None));
    }
}
