//! Access control and the pages (issue 10): tokens on every data-bearing route, the console
//! token, security headers, the embedded asset set, CORS and origins, the default bind.
//! The real server on 127.0.0.1:0, raw HTTP/1.1 and a real WebSocket client.

mod common;

use common::{Server, next_json, send, until};
use serde_json::json;

const CONFIG: &str = r#"
[server]
metrics_token = "m-secret"

[[rooms]]
id = "r1"
name = "秘密直播间"
ingest_token = "in-secret"
view_token = "view-secret"
console_token = "console-secret"
[[rooms.products]]
id = "1"
name = "白鸭绒羽绒服"
price = 399.0

[[rooms]]
id = "r2"
name = "only a view token"
view_token = "v2"
[[rooms.products]]
id = "1"
name = "保温杯"
"#;

/// What no refused response may carry: room data or names from the configuration.
const SECRETS: &[&str] = &["白鸭绒羽绒服", "snapshot", "livecue_events", "羽绒服多少钱"];

const UPGRADE: &[(&str, &str)] = &[
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Version", "13"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_data_route_refuses_missing_and_wrong_tokens_before_sending_anything() {
    let server = Server::start(CONFIG, true).await;
    // Seed some data so a leak would show.
    let mut ingest = server.ws("/ws/ingest?room=r1&token=in-secret").await;
    let ack = send(
        &mut ingest,
        json!({"type":"comment","id":"a1","text":"羽绒服多少钱"}).to_string(),
    )
    .await;
    assert_eq!(ack["accepted"], 1);

    // (method, path, is a WebSocket, tokens that must be refused, the token that opens it)
    let routes: &[(&str, &str, bool, &[&str], &str)] = &[
        (
            "GET",
            "/ws/ingest?room=r1",
            true,
            &["view-secret", "console-secret", "in-secre"],
            "in-secret",
        ),
        (
            "POST",
            "/api/rooms/r1/events",
            false,
            &["view-secret", "console-secret", "x"],
            "in-secret",
        ),
        (
            "GET",
            "/ws/room/r1?role=overlay",
            true,
            &["in-secret", "view-secre", "view-secretx"],
            "view-secret",
        ),
        (
            "GET",
            "/ws/room/r1?role=console",
            true,
            &["in-secret", "view-secret"],
            "console-secret",
        ),
        (
            "GET",
            "/api/rooms/r1/report?format=json",
            false,
            &["in-secret", "m-secret"],
            "view-secret",
        ),
        (
            "GET",
            "/api/rooms/r1/report?format=html",
            false,
            &["in-secret"],
            "console-secret",
        ),
        (
            "GET",
            "/api/rooms/r1/report?format=csv",
            false,
            &["in-secret"],
            "view-secret",
        ),
        (
            "GET",
            "/metrics",
            false,
            &["view-secret", "in-secret"],
            "m-secret",
        ),
        (
            "GET",
            "/overlay?room=r1",
            false,
            &["in-secret"],
            "view-secret",
        ),
        (
            "GET",
            "/console?room=r1",
            false,
            &["in-secret", "view-secret"],
            "console-secret",
        ),
        (
            "GET",
            "/ws/room/r2?role=console",
            true,
            &["in-secret", ""],
            "v2",
        ),
    ];
    let body = json!([{"type":"comment","id":"x1","text":"不该进来"}]).to_string();
    for (method, path, ws, wrong, right) in routes {
        let headers: &[(&str, &str)] = if *ws { UPGRADE } else { &[] };
        let mut attempts: Vec<(String, Vec<(&str, String)>)> = vec![(path.to_string(), vec![])];
        for token in *wrong {
            let sep = if path.contains('?') { '&' } else { '?' };
            attempts.push((format!("{path}{sep}token={token}"), vec![]));
            attempts.push((
                path.to_string(),
                vec![("Authorization", format!("Bearer {token}"))],
            ));
        }
        for (url, extra) in attempts {
            let mut all: Vec<(&str, &str)> = headers.to_vec();
            all.extend(extra.iter().map(|(k, v)| (*k, v.as_str())));
            let resp = server.http(method, &url, &all, &body).await;
            assert_eq!(resp.status, 401, "{method} {url} {extra:?}: {}", resp.head);
            for secret in SECRETS {
                assert!(
                    !resp.body.contains(secret),
                    "{url} leaks {secret}: {}",
                    resp.body
                );
            }
            assert!(
                !resp
                    .head
                    .to_ascii_lowercase()
                    .contains("sec-websocket-accept")
            );
        }
        let sep = if path.contains('?') { '&' } else { '?' };
        let resp = server
            .http(method, &format!("{path}{sep}token={right}"), headers, &body)
            .await;
        let want = if *ws { 101 } else { 200 };
        assert_eq!(
            resp.status, want,
            "{method} {path} with its token: {}",
            resp.head
        );
        let resp = server
            .http(
                method,
                path,
                &[headers, &[("Authorization", &format!("Bearer {right}"))]].concat(),
                &body,
            )
            .await;
        assert_eq!(resp.status, want, "{method} {path} with a bearer header");
    }
    // Without ?room the token is checked per event, before anything is taken.
    let mut anonymous = server.ws("/ws/ingest?token=wrong").await;
    let ack = send(
        &mut anonymous,
        json!({"type":"comment","room":"r1","text":"x"}).to_string(),
    )
    .await;
    assert_eq!(ack["accepted"], 0);
    assert!(
        ack["rejected"][0]["error"]
            .as_str()
            .unwrap()
            .contains("token")
    );
    // Nothing refused was stored: the one seeded comment plus the authorized posts.
    let review = server.report("r1", "view-secret").await;
    assert_eq!(review["summary"]["comments"], 2, "{}", review["summary"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_view_token_cannot_issue_console_commands() {
    let server = Server::start(CONFIG, false).await;
    // The view token opens the overlay, whose commands are refused.
    let mut overlay = server
        .ws("/ws/room/r1?role=overlay&token=view-secret")
        .await;
    assert_eq!(next_json(&mut overlay, 10).await["type"], "snapshot");
    let reply = send(
        &mut overlay,
        json!({"type":"set_pitching","product":"1"}).to_string(),
    )
    .await;
    let reply = if reply["type"] == "error" {
        reply
    } else {
        until(&mut overlay, 10, |m| m["type"] == "error").await
    };
    assert_eq!(reply["code"], "read_only");
    // It does not open the console at all (checked above: 401); the console token does.
    let mut console = server
        .ws("/ws/room/r1?role=console&token=console-secret")
        .await;
    assert_eq!(next_json(&mut console, 10).await["type"], "snapshot");
    console
        .send_text(json!({"type":"set_pitching","product":"1","req":7}).to_string())
        .await;
    let reply = until(&mut console, 10, |m| m["type"] == "reply").await;
    assert_eq!(reply["ok"], true);
    // The console token also opens what the view token does.
    let mut overlay2 = server
        .ws("/ws/room/r1?role=overlay&token=console-secret")
        .await;
    assert_eq!(next_json(&mut overlay2, 10).await["type"], "snapshot");
    // A room without a console token keeps the old rule: its view token opens the console.
    let mut console2 = server.ws("/ws/room/r2?role=console&token=v2").await;
    assert_eq!(next_json(&mut console2, 10).await["type"], "snapshot");
    server.stop().await;
}

trait SendText {
    async fn send_text(&mut self, text: String);
}

impl SendText for common::Ws {
    async fn send_text(&mut self, text: String) {
        use futures_util::SinkExt;
        self.send(tokio_tungstenite::tungstenite::Message::Text(text.into()))
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_send_a_strict_policy_and_assets_cannot_escape_the_embedded_set() {
    let server = Server::start(CONFIG, false).await;
    for page in [
        "/",
        "/overlay?room=r1&token=view-secret",
        "/console?room=r1&token=console-secret",
        "/overlay?room=nope",
        "/overlay?room=r1",
    ] {
        let resp = server.http("GET", page, &[], "").await;
        let csp = resp.header("content-security-policy").unwrap_or_default();
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors",
            "form-action 'none'",
        ] {
            assert!(
                csp.contains(directive),
                "{page}: {directive} missing in {csp:?}"
            );
        }
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert_eq!(
            resp.header("x-content-type-options").as_deref(),
            Some("nosniff")
        );
        // The policy forbids inline code, so the pages must not have any.
        let lower = resp.body.to_ascii_lowercase();
        assert!(!lower.contains("<style"), "{page}: inline style element");
        assert!(!lower.contains(" style="), "{page}: inline style attribute");
        assert!(
            !lower.contains(" onload=") && !lower.contains(" onclick="),
            "{page}"
        );
        for (at, _) in lower.match_indices("<script") {
            let tag = &lower[at..lower[at..].find('>').map_or(lower.len(), |e| at + e)];
            assert!(tag.contains(" src="), "{page}: inline script {tag}");
        }
        assert!(resp.header("access-control-allow-origin").is_none());
    }
    // The console cannot be framed (clickjacking of its buttons).
    let resp = server
        .http("GET", "/console?room=r1&token=console-secret", &[], "")
        .await;
    assert!(
        resp.header("content-security-policy")
            .unwrap_or_default()
            .contains("frame-ancestors 'none'")
    );
    // Every embedded asset is served, with a type and nosniff.
    let resp = server.http("GET", "/assets/client.js", &[], "").await;
    assert_eq!(resp.status, 200);
    assert!(
        resp.header("content-type")
            .unwrap_or_default()
            .contains("javascript")
    );
    // Nothing outside the embedded set, however the path is spelled.
    for path in [
        "/assets/../Cargo.toml",
        "/assets/..%2fCargo.toml",
        "/assets/..%2F..%2FCargo.toml",
        "/assets/%2e%2e%2fCargo.toml",
        "/assets/%2e%2e/%2e%2e/Cargo.toml",
        "/assets/....//Cargo.toml",
        "/assets/..\\Cargo.toml",
        "/assets/%5c..%5cCargo.toml",
        "/assets/%252e%252e%252fCargo.toml",
        "/assets//etc/passwd",
        "/assets/%2fetc%2fpasswd",
        "/assets/client.js%00.png",
        "/assets/client.js/..",
        "/assets/.",
        "/assets/",
        "/../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/assets/README.md",
        "/assets/overlay.html",
        "/src/main.rs",
        "//etc/passwd",
    ] {
        let resp = server.http("GET", path, &[], "").await;
        assert!(
            resp.status == 404 || resp.status == 400,
            "{path}: {}",
            resp.head
        );
        for leak in ["[package]", "root:", "fn main", "LiveCue"] {
            assert!(!resp.body.contains(leak), "{path} served {leak}");
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_is_closed_and_cross_origin_browsers_cannot_drive_a_room() {
    let open = r#"
[[rooms]]
id = "open"
name = "no tokens at all"
[[rooms.products]]
id = "1"
name = "保温杯"
"#;
    let server = Server::start(open, false).await;
    let evil = [("Origin", "http://evil.example")];
    // No CORS headers on reads, preflights or errors.
    for (method, path) in [
        ("GET", "/metrics"),
        ("GET", "/api/rooms/open/report?format=json"),
        ("OPTIONS", "/api/rooms/open/events"),
        ("GET", "/healthz"),
    ] {
        let headers = [
            evil[0],
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type"),
        ];
        let resp = server.http(method, path, &headers, "").await;
        for h in [
            "access-control-allow-origin",
            "access-control-allow-credentials",
            "access-control-allow-methods",
        ] {
            assert!(resp.header(h).is_none(), "{method} {path}: {h}");
        }
    }
    // A page elsewhere can neither open the room's WebSockets nor post events, even to a
    // room without tokens.
    for path in ["/ws/room/open?role=console", "/ws/ingest?room=open"] {
        let resp = server
            .http("GET", path, &[UPGRADE, &evil].concat(), "")
            .await;
        assert_eq!(resp.status, 403, "{path}: {}", resp.head);
        assert!(resp.body.contains("forbidden_origin"));
        let null = [("Origin", "null")];
        let resp = server
            .http("GET", path, &[UPGRADE, &null].concat(), "")
            .await;
        assert_eq!(resp.status, 403, "{path} from origin null");
    }
    let body = json!({"type":"comment","text":"spam"}).to_string();
    let resp = server
        .http(
            "POST",
            "/api/rooms/open/events",
            &[evil[0], ("Content-Type", "text/plain")],
            &body,
        )
        .await;
    assert_eq!(resp.status, 403);
    // The server's own pages (same origin) and clients without an Origin are let in.
    let own = format!("http://{}", server.addr);
    let resp = server
        .http(
            "GET",
            "/ws/room/open?role=console",
            &[UPGRADE, &[("Origin", own.as_str())]].concat(),
            "",
        )
        .await;
    assert_eq!(resp.status, 101, "{}", resp.head);
    let resp = server
        .http("POST", "/api/rooms/open/events", &[], &body)
        .await;
    assert_eq!(resp.status, 200);
    server.stop().await;

    // An allowed origin, when configured, is let in.
    let config = format!("[server]\nallowed_origins = [\"https://studio.example\"]\n{open}");
    let server = Server::start(&config, false).await;
    let resp = server
        .http(
            "GET",
            "/ws/room/open?role=overlay",
            &[UPGRADE, &[("Origin", "https://studio.example")]].concat(),
            "",
        )
        .await;
    assert_eq!(resp.status, 101, "{}", resp.head);
    let resp = server
        .http(
            "GET",
            "/ws/room/open?role=overlay",
            &[UPGRADE, &evil].concat(),
            "",
        )
        .await;
    assert_eq!(resp.status, 403);
    server.stop().await;
}

#[test]
fn the_default_bind_is_loopback() {
    let config = livecue::config::Config::from_toml("").unwrap();
    let addr: std::net::SocketAddr = config.server.listen.parse().unwrap();
    assert!(addr.ip().is_loopback(), "{addr}");
    assert_eq!(config.server.metrics_token, None);
    assert!(config.server.allowed_origins.is_empty());
    // And the binary says so in its help.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_livecue"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("127.0.0.1:8686"), "{help}");
}
