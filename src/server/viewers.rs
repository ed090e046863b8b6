//! `GET /api/rooms/R/viewers/PSEUDONYM`: one viewer's in-room profile with its tags (static,
//! dynamic, derived) and RFM scores, for the console. Profiles are per-viewer data, so this
//! takes the console door (the console token where one is set), checked before anything else.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{App, auth, error_response};
use crate::privacy::Pseudonym;

#[derive(Debug, Deserialize)]
pub struct ViewerQuery {
    pub token: Option<String>,
}

pub async fn viewer(
    State(app): State<App>,
    Path((room, viewer)): Path<(String, String)>,
    Query(query): Query<ViewerQuery>,
    headers: HeaderMap,
) -> Response {
    let token = auth::presented(&headers, query.token.as_deref());
    let handle = match auth::authorize(&app, &room, token, auth::Door::Console) {
        Ok(handle) => handle,
        Err(refused) => return refused.into_response(),
    };
    let Some(id) = Pseudonym::parse(&viewer) else {
        return error_response(
            StatusCode::BAD_REQUEST,
            "bad_viewer",
            format!("{viewer:?} is not a pseudonym (16 hex digits)"),
        );
    };
    match handle.profile(id).await {
        Some(Some(json)) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Some(None) => error_response(
            StatusCode::NOT_FOUND,
            "unknown_viewer",
            "no profile for this viewer in this room (never seen, forgotten, or evicted)",
        ),
        None => error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the room is shutting down",
        ),
    }
}
