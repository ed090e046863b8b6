//! The pages: an index of rooms, the streamer's overlay and the operator's console.
//!
//! Assets are embedded in the binary (`include_str!` of `assets/`), so `serve` needs no files
//! next to it and there is no build step. Pages carry no room data themselves: they fetch
//! everything over the room stream, which checks the view token. Every page is sent with a
//! Content-Security-Policy that allows only this server's own scripts, styles and WebSocket,
//! so even a comment that slipped past the pages' escaping could not run a script.
//! `assets/README.md` describes the files.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::auth::{self, Door, Refused};
use super::{App, error_response};
use crate::html::esc;

/// The room a page opens when its URL names none (as `client.js` does).
const DEFAULT_ROOM: &str = "demo";

/// The policy every page is sent with: own scripts and styles only (no inline script or
/// style), the room stream on this host, SVG and data: images for the charts, no forms, no
/// plugins. Pages other than the overlay cannot be framed (the console's buttons must not be
/// clickjacked); the overlay may be, by a streaming tool's web compositor.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";
const OVERLAY_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
                           img-src 'self' data:; connect-src 'self'; object-src 'none'; \
                           base-uri 'none'; form-action 'none'; frame-ancestors *";

/// An embedded asset: its name under `/assets/`, and its content.
struct Asset {
    name: &'static str,
    body: &'static str,
}

macro_rules! asset {
    ($name:literal) => {
        Asset {
            name: $name,
            body: include_str!(concat!("../../assets/", $name)),
        }
    };
}

/// Everything under `/assets/` (the HTML pages have their own routes).
const ASSETS: &[Asset] = &[
    asset!("livecue.css"),
    asset!("overlay.css"),
    asset!("console.css"),
    asset!("client.js"),
    asset!("dom.js"),
    asset!("charts.js"),
    asset!("library.js"),
    asset!("overlay.js"),
    asset!("console.js"),
];

const OVERLAY_HTML: &str = include_str!("../../assets/overlay.html");
const CONSOLE_HTML: &str = include_str!("../../assets/console.html");

/// Content type of an asset, by its extension.
fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => "text/plain; charset=utf-8",
    }
}

/// The query of `/overlay` and `/console` that the server looks at (the pages read the rest).
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    pub room: Option<String>,
    pub token: Option<String>,
}

/// An HTML page with the security headers.
fn page(body: String) -> Response {
    page_with_status(StatusCode::OK, body)
}

fn page_with_status(status: StatusCode, body: String) -> Response {
    page_with_policy(status, body, CSP)
}

fn page_with_policy(status: StatusCode, body: String, csp: &'static str) -> Response {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    if csp == CSP {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

pub async fn index(State(app): State<App>) -> Response {
    page(shell(
        "LiveCue",
        &format!(
            "<h1>LiveCue</h1><p class=\"sub\">直播弹幕实时助手 · rooms on this server</p>{}\
             <footer>Add <code>&amp;token=…</code> when the room has a view token. \
             <a href=\"/healthz\">healthz</a> · <a href=\"/metrics\">metrics</a></footer>",
            room_list(&app)
        ),
    ))
}

/// The rooms with links to their pages.
fn room_list(app: &App) -> String {
    let mut rows = String::new();
    for (id, name) in app.rooms.list() {
        let id = esc(&id);
        let name = if name.is_empty() {
            id.clone()
        } else {
            esc(&name)
        };
        rows.push_str(&format!(
            "<li><span class=\"name\">{name}</span> <code>{id}</code>\
             <span class=\"links\"><a href=\"/overlay?room={id}\">提示屏 overlay</a>\
             <a href=\"/overlay?room={id}&amp;transparent=1\">OBS</a>\
             <a href=\"/console?room={id}\">控制台 console</a></span></li>\n"
        ));
    }
    if rows.is_empty() {
        rows.push_str(
            "<li>No rooms configured. Start with <code>livecue serve --demo</code> or a config file.</li>",
        );
    }
    format!("<ul class=\"rooms\">{rows}</ul>")
}

/// A page of the index's look around `body`.
fn shell(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><link rel=\"icon\" href=\"data:,\">\
         <link rel=\"stylesheet\" href=\"/assets/livecue.css\"></head>\
         <body class=\"index\">{body}</body></html>",
        esc(title)
    )
}

pub async fn overlay(
    State(app): State<App>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    room_page(&app, &query, &headers, OVERLAY_HTML, Door::View)
}

pub async fn console(
    State(app): State<App>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    room_page(&app, &query, &headers, CONSOLE_HTML, Door::Console)
}

/// A room's page, or a page that says why not: an unknown room (404, with the rooms there
/// are) or a wrong or missing view token (401). The page itself holds no room data; the
/// check spares a person a page that would only ever say "connecting".
fn room_page(
    app: &App,
    query: &PageQuery,
    headers: &HeaderMap,
    html: &'static str,
    door: Door,
) -> Response {
    let room = query.room.as_deref().unwrap_or(DEFAULT_ROOM);
    let token = auth::presented(headers, query.token.as_deref());
    match auth::authorize(app, room, token, door) {
        Ok(_) if door == Door::View => {
            page_with_policy(StatusCode::OK, html.to_owned(), OVERLAY_CSP)
        }
        Ok(_) => page(html.to_owned()),
        Err(Refused::UnknownRoom(room)) => page_with_status(
            StatusCode::NOT_FOUND,
            shell(
                "LiveCue: no such room",
                &format!(
                    "<h1>没有这个直播间</h1><p class=\"sub\">No room <code>{}</code> on this server. \
                     Rooms:</p>{}",
                    esc(&room),
                    room_list(app)
                ),
            ),
        ),
        Err(Refused::Unauthorized { room, .. }) => page_with_status(
            StatusCode::UNAUTHORIZED,
            shell(
                "LiveCue: token needed",
                &format!(
                    "<h1>需要访问令牌</h1><p class=\"sub\">Room <code>{}</code> needs its token \
                     (the console its console token, where the room has one): \
                     add <code>&amp;token=…</code> to the address.</p>",
                    esc(&room)
                ),
            ),
        ),
    }
}

pub async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == file) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, content_type(a.name)),
                (header::CACHE_CONTROL, "no-cache"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            a.body,
        )
            .into_response(),
        None => error_response(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no asset {file:?}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_the_pages_load_is_embedded() {
        let pages = [OVERLAY_HTML, CONSOLE_HTML];
        let scripts: Vec<&str> = ASSETS
            .iter()
            .filter(|a| a.name.ends_with(".js"))
            .map(|a| a.body)
            .collect();
        for text in pages.iter().chain(scripts.iter()) {
            for (at, _) in text.match_indices("/assets/") {
                let rest = &text[at + "/assets/".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| {
                        c.is_ascii_alphanumeric() || *c == '.' || *c == '-' || *c == '_'
                    })
                    .collect();
                assert!(
                    ASSETS.iter().any(|a| a.name == name),
                    "/assets/{name} is referenced but not embedded"
                );
            }
        }
    }

    #[test]
    fn assets_have_types_and_pages_never_use_inner_html() {
        for a in ASSETS {
            assert_ne!(
                content_type(a.name),
                "text/plain; charset=utf-8",
                "{}",
                a.name
            );
            if a.name.ends_with(".js") {
                assert!(!a.body.contains("innerHTML"), "{} uses innerHTML", a.name);
                assert!(!a.body.contains("insertAdjacentHTML"), "{}", a.name);
            }
        }
        assert_eq!(esc("<b a='1'>&"), "&lt;b a=&#39;1&#39;&gt;&amp;");
    }
}
