//! Tokens: `Authorization: Bearer T` or `?token=T`, checked before any room data is sent.
//!
//! Three doors per room: ingest (`ingest_token`), view (`view_token`: overlay, pages, report)
//! and console (`console_token`: the role that sends commands; without one, the view token
//! opens it as before). Tokens are compared in constant time, lengths included: both sides
//! are hashed (SHA-256) and the digests compared with `subtle`, so neither the response time
//! nor an early exit tells how much of a guess was right.

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
    /// The console role: commands.
    Console,
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
    let (open, what) = match door {
        Door::Ingest => (allows(handle.ingest_token.as_deref(), token), "ingest"),
        // The console token opens everything the view token does.
        Door::View => (
            allows(handle.view_token.as_deref(), token)
                || (handle.console_token.is_some()
                    && allows(handle.console_token.as_deref(), token)),
            "view",
        ),
        Door::Console => match handle.console_token.as_deref() {
            Some(required) => (allows(Some(required), token), "console"),
            None => (allows(handle.view_token.as_deref(), token), "view"),
        },
    };
    if !open {
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

/// Compares in time that depends on neither the contents nor the lengths: both are hashed to
/// 32 bytes first, then compared without an early exit.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    use subtle::ConstantTimeEq;
    let (a, b) = (Sha256::digest(a), Sha256::digest(b));
    a.as_slice().ct_eq(b.as_slice()).into()
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
        assert!(!allows(Some("s3cret"), Some("s3cret ")));
        assert!(!allows(Some(""), Some("x")));
        assert!(constant_time_eq(b"", b""));
    }
}
