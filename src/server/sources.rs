//! `GET /api/rooms/R/sources`: the health of a room's platform sources, for the console's
//! panel. Read-only; the room's view token is checked first, like every room data route.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Json, Response};
use serde::Deserialize;

use super::{App, auth};
use crate::clock::now_ms;
use crate::wire::SourcesReply;

#[derive(Debug, Deserialize)]
pub struct SourcesQuery {
    pub token: Option<String>,
}

pub async fn sources(
    State(app): State<App>,
    Path(room): Path<String>,
    Query(query): Query<SourcesQuery>,
    headers: HeaderMap,
) -> Response {
    let token = auth::presented(&headers, query.token.as_deref());
    if let Err(refused) = auth::authorize(&app, &room, token, auth::Door::View) {
        return refused.into_response();
    }
    Json(SourcesReply::new(
        &room,
        now_ms(),
        app.sources.room_snapshot(&room),
    ))
    .into_response()
}
