//! `GET /api/rooms/R/report?format=html|json|csv[&table=...][&session=ID]`: the review (复盘)
//! of the current or a past session, from the store. The view token is checked first; the
//! report is built on a blocking thread (it reads the whole session) and never blocks the
//! store's writer (SQLite WAL readers do not).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{App, auth, error_response};
use crate::report::{self, Format, ReportError};

#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    pub format: Option<String>,
    pub table: Option<String>,
    pub session: Option<String>,
    pub token: Option<String>,
}

pub async fn report(
    State(app): State<App>,
    Path(room): Path<String>,
    Query(query): Query<ReportQuery>,
    headers: HeaderMap,
) -> Response {
    let token = auth::presented(&headers, query.token.as_deref());
    if let Err(refused) = auth::authorize(&app, &room, token, auth::Door::View) {
        return refused.into_response();
    }
    let Some(store) = app.store.clone() else {
        return error_response(
            StatusCode::NOT_FOUND,
            "no_store",
            "this server keeps no store (start it with --data-dir)",
        );
    };
    let format = match Format::parse(query.format.as_deref(), query.table.as_deref()) {
        Ok(f) => f,
        Err(e) => return error_response(StatusCode::BAD_REQUEST, "bad_format", e.to_string()),
    };
    let session = query.session.clone();
    let room_id = room.clone();
    let rendered = tokio::task::spawn_blocking(move || {
        report::render(&store, &room_id, session.as_deref(), format)
    })
    .await;
    let body = match rendered {
        Ok(Ok(body)) => body,
        Ok(Err(e @ ReportError::NoSession { .. })) => {
            return error_response(StatusCode::NOT_FOUND, "no_session", e.to_string());
        }
        Ok(Err(e @ ReportError::BadFormat(_))) => {
            return error_response(StatusCode::BAD_REQUEST, "bad_format", e.to_string());
        }
        Ok(Err(e)) => {
            tracing::error!(room, error = %e, "report failed");
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the report failed; see the server log",
            );
        }
        Err(e) => {
            tracing::error!(room, error = %e, "report task failed");
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the report failed; see the server log",
            );
        }
    };
    let name = format.file_name(query.session.as_deref().unwrap_or(&room));
    let mut response = ([(header::CONTENT_TYPE, format.content_type())], body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        axum::http::HeaderValue::from_static("nosniff"),
    );
    match format {
        Format::Html => {
            if let Ok(v) = "default-src 'none'; style-src 'unsafe-inline'; img-src data:".parse() {
                headers.insert(header::CONTENT_SECURITY_POLICY, v);
            }
        }
        _ => {
            if let Ok(v) = format!("attachment; filename=\"{name}\"").parse() {
                headers.insert(header::CONTENT_DISPOSITION, v);
            }
        }
    }
    response
}
