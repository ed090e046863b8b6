//! Bilibili open platform (开放平台, `kind = "bilibili_open"`): the supported way to read a
//! room, over the same packet protocol as the web one ([`super::bilibili`]).
//!
//! An app session (项目场次) is opened with the platform's HTTP API: with `api_base`, `app_id`,
//! `code` (the streamer's identity code, 主播身份码) and the app's access key configured, the
//! source `POST`s `{api_base}/v2/app/start` (`{"code", "app_id"}`), which answers
//! `data.game_info.game_id` and `data.websocket_info {auth_body, wss_link[]}`; keeps the
//! session alive with `POST {api_base}/v2/app/heartbeat` (`{"game_id"}`) every
//! `app_heartbeat_s` (20) while connected; and `POST`s `{api_base}/v2/app/end`
//! (`{"app_id", "game_id"}`) when it stops. Every call is signed ([`sign`]): headers
//! `x-bili-accesskeyid`, `x-bili-content-md5` (hex MD5 of the body), `x-bili-signature-method`
//! `HMAC-SHA256`, `x-bili-signature-nonce`, `x-bili-signature-version` `1.0`,
//! `x-bili-timestamp` (seconds), and `Authorization` = hex HMAC-SHA256, keyed with the access
//! key secret, of those six `name:value` lines sorted by name and joined with `\n`. A platform
//! `code` other than 0 at start, or on a heartbeat, ends the app session (the next attempt
//! starts a new one); transport errors on a heartbeat are retried on the next tick, and three
//! in a row end it (the platform closes a session after 60 s without one). Each connection
//! tries the next `wss_link`.
//!
//! Without `api_base`, configure the `url` and `auth_body` a start call gave (a relay or the
//! operator's tooling does the calls). Either way the client sends `auth_body` verbatim as the
//! auth packet, waits for the auth reply, heartbeats every `heartbeat_s` (20), and maps:
//!
//! | cmd | event |
//! |---|---|
//! | `LIVE_OPEN_PLATFORM_DM` | comment (`msg`, `open_id`, `uname`, `msg_id`, `timestamp` s) |
//! | `LIVE_OPEN_PLATFORM_SEND_GIFT` | gift (`gift_name`, `gift_num`; value = `price` × `gift_num` / 1000 yuan when `paid`) |
//! | `LIVE_OPEN_PLATFORM_SUPER_CHAT` | comment with `super_chat {price_cny: rmb, duration_s: end_time − start_time}` + gift 醒目留言 of `rmb` yuan |
//! | `LIVE_OPEN_PLATFORM_LIKE` | like (`like_count`) |
//! | `LIVE_OPEN_PLATFORM_LIVE_ROOM_ENTER` | enter |
//! | `LIVE_OPEN_PLATFORM_LIVE_START` / `_END` | the status's `live` |
//!
//! The viewer's fan medal (`fans_medal_name`, `fans_medal_level`, unless
//! `fans_medal_wearing_status` is false) becomes the events' `medal`. Every message carries
//! `msg_id`, so duplicates (the platform may resend) are dropped.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::bilibili::{PacketProtocol, auth_packet, hello_connect};
use super::client::{BackoffConfig, FINISH_TIMEOUT, Session, SessionEnd};
use super::health::SourceStatus;
use super::http::{Http, HttpError};
use super::session::{self, Connect, Timing, TimingDefaults};
use super::{Effects, Secret, Sink, envelope, json, to_ms, viewer};
use crate::clock::now_ms;

/// `[[rooms.sources]] kind = "bilibili_open"`.
///
/// ```toml
/// [[rooms.sources]]
/// kind = "bilibili_open"
/// # Either the app lifecycle over HTTP (the supported way):
/// api_base = "https://live-open.biliapi.com"
/// app_id = 1650000000000
/// code = "..."                     # the streamer's identity code (主播身份码)
/// access_key_id = "..."
/// access_key_secret_env = "BILI_ACCESS_KEY_SECRET"   # or access_key_secret = "..."
/// # optional: app_heartbeat_s = 20
/// # or what a start call gave, used as is:
/// # url = "wss://..."              # one of websocket_info.wss_link
/// # auth_body = "{...}"            # websocket_info.auth_body, sent verbatim
/// # optional: heartbeat_s = 20, idle_timeout_s = 60, backoff_min_ms, backoff_max_ms
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BilibiliOpenConfig {
    #[serde(default)]
    pub name: Option<String>,
    /// The WebSocket, when not started over HTTP.
    #[serde(default)]
    pub url: String,
    /// The auth packet's body as a start call answered it, when not started over HTTP.
    #[serde(default)]
    pub auth_body: Secret,
    /// The open platform's HTTP API (`https://live-open.biliapi.com`); set it to start the app
    /// session here.
    #[serde(default)]
    pub api_base: Option<String>,
    /// The app's id (项目 ID).
    #[serde(default)]
    pub app_id: u64,
    /// The streamer's identity code (主播身份码).
    #[serde(default)]
    pub code: Secret,
    #[serde(default)]
    pub access_key_id: String,
    #[serde(default)]
    pub access_key_secret: Secret,
    /// The environment variable holding the access key secret (instead of the file).
    #[serde(default)]
    pub access_key_secret_env: Option<String>,
    /// Seconds between app heartbeats (`/v2/app/heartbeat`; the platform asks for 20 and
    /// closes the app session after 60 without one).
    #[serde(default = "default_app_heartbeat_s")]
    pub app_heartbeat_s: u64,
    /// `heartbeat_s` (default 20), `idle_timeout_s` (60), `backoff_min_ms`, `backoff_max_ms`.
    #[serde(flatten)]
    pub timing: Timing,
}

/// Default timing: a heartbeat every 20 s (the platform asks for 20), 60 s of silence before
/// reconnecting.
pub const TIMING: TimingDefaults = TimingDefaults {
    heartbeat_s: 20,
    idle_timeout_s: 60,
};

/// Default seconds between app heartbeats.
pub const DEFAULT_APP_HEARTBEAT_S: u64 = 20;

fn default_app_heartbeat_s() -> u64 {
    DEFAULT_APP_HEARTBEAT_S
}

impl BilibiliOpenConfig {
    pub fn validate(&self) -> Result<(), String> {
        match &self.api_base {
            Some(base) => {
                super::http::check_http_url("api_base", base)?;
                if self.app_id == 0 {
                    return Err("app_id is required with api_base".into());
                }
                if self.code.is_empty() {
                    return Err(
                        "code (the streamer's identity code) is required with api_base".into(),
                    );
                }
                if self.access_key_id.is_empty() {
                    return Err("access_key_id is required with api_base".into());
                }
                self.access_key_secret()?;
                if !(5..=55).contains(&self.app_heartbeat_s) {
                    return Err(format!(
                        "app_heartbeat_s = {}: must be 5 to 55 (the platform closes the app \
                         session after 60 s without one)",
                        self.app_heartbeat_s
                    ));
                }
                if !self.url.is_empty() {
                    super::check_ws_url(&self.url)?;
                }
            }
            None => {
                super::check_ws_url(&self.url)?;
                if self.auth_body.is_empty() {
                    return Err("auth_body is empty: use websocket_info.auth_body from \
                                /v2/app/start, or set api_base to start the app here"
                        .into());
                }
            }
        }
        self.timing.validate(TIMING)
    }

    pub fn backoff(&self) -> BackoffConfig {
        self.timing.schedule(TIMING).backoff
    }

    /// The access key secret: from `access_key_secret_env` when set, else from the file.
    pub fn access_key_secret(&self) -> Result<Secret, String> {
        match &self.access_key_secret_env {
            Some(var) => match std::env::var(var) {
                Ok(value) if !value.is_empty() => Ok(Secret::new(value)),
                _ => Err(format!(
                    "access_key_secret_env: the environment variable {var:?} is not set"
                )),
            },
            None if self.access_key_secret.is_empty() => {
                Err("access_key_secret (or access_key_secret_env) is required with api_base".into())
            }
            None => Ok(self.access_key_secret.clone()),
        }
    }

    /// What the status shows as the source's address.
    pub fn endpoint(&self) -> &str {
        match &self.api_base {
            Some(base) if self.url.is_empty() => base,
            _ => &self.url,
        }
    }
}

/// The signed headers of one open-platform call: the six `x-bili-*` headers and
/// `Authorization`, the hex HMAC-SHA256 (keyed with `secret`) of the `x-bili-*` lines
/// (`name:value`) sorted by name, joined with `\n`.
pub fn sign(
    key_id: &str,
    secret: &str,
    body: &[u8],
    nonce: &str,
    timestamp_s: u64,
) -> Vec<(&'static str, String)> {
    use hmac::Mac as _;
    use md5::Digest as _;
    let mut headers: Vec<(&'static str, String)> = vec![
        ("x-bili-accesskeyid", key_id.to_owned()),
        ("x-bili-content-md5", hex(&md5::Md5::digest(body))),
        ("x-bili-signature-method", "HMAC-SHA256".to_owned()),
        ("x-bili-signature-nonce", nonce.to_owned()),
        ("x-bili-signature-version", "1.0".to_owned()),
        ("x-bili-timestamp", timestamp_s.to_string()),
    ];
    headers.sort_by_key(|(name, _)| *name);
    let canonical = headers
        .iter()
        .map(|(name, value)| format!("{name}:{value}"))
        .collect::<Vec<_>>()
        .join("\n");
    // HMAC accepts a key of any length: this cannot fail.
    let signature = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .map(|mut mac| {
            mac.update(canonical.as_bytes());
            hex(&mac.finalize().into_bytes())
        })
        .unwrap_or_default();
    headers.push(("Authorization", signature));
    headers
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

pub(crate) fn session(config: &BilibiliOpenConfig, sink: Sink) -> Result<OpenSession, String> {
    let schedule = config.timing.schedule(TIMING);
    let app = match &config.api_base {
        Some(base) => Some(App {
            http: Http::new().map_err(|e| e.to_string())?,
            base: base.trim_end_matches('/').to_owned(),
            app_id: config.app_id,
            code: config.code.clone(),
            key_id: config.access_key_id.clone(),
            secret: config.access_key_secret()?,
            heartbeat: Duration::from_secs(config.app_heartbeat_s),
        }),
        None => None,
    };
    Ok(OpenSession {
        connect: hello_connect(
            &config.url,
            Vec::new(),
            config.auth_body.expose().as_bytes(),
            schedule.heartbeat,
            schedule.idle,
        ),
        protocol: PacketProtocol { map: map_command },
        sink,
        app,
        game: None,
        attempt: 0,
    })
}

/// A `bilibili_open` source: with an app configured, each connection uses the app session
/// (started when there is none) and keeps it alive while it lasts.
pub(crate) struct OpenSession {
    /// Where to connect without an app (and the timing with one).
    connect: Connect,
    protocol: PacketProtocol,
    sink: Sink,
    app: Option<App>,
    game: Option<Game>,
    /// Connections made, to take the next `wss_link` each time.
    attempt: usize,
}

/// The app's credentials and the platform's HTTP API.
struct App {
    http: Http,
    base: String,
    app_id: u64,
    code: Secret,
    key_id: String,
    secret: Secret,
    heartbeat: Duration,
}

/// An app session (项目场次) the platform started.
#[derive(Debug, Clone)]
struct Game {
    id: String,
    auth_body: String,
    links: Vec<String>,
    /// Heartbeats already went out for it (a reused session is checked right away).
    kept: bool,
}

/// Why the app session ended.
#[derive(Debug, Error)]
enum AppError {
    #[error("{0}")]
    Http(#[from] HttpError),
    #[error("the platform answered code {code}: {message}")]
    Refused { code: i64, message: String },
    #[error("the answer lacks {0}")]
    Incomplete(&'static str),
}

/// Transport failures in a row after which a heartbeat gives up (the platform has closed the
/// app session after 60 s without one anyway).
const HEARTBEAT_TRIES: u32 = 3;

impl App {
    /// Calls `{base}{path}` signed; the answer's `data` when its `code` is 0.
    async fn call(&self, path: &str, body: Value) -> Result<Value, AppError> {
        let body = body.to_string().into_bytes();
        let nonce = rand::random::<u32>().to_string();
        let headers = sign(
            &self.key_id,
            self.secret.expose(),
            &body,
            &nonce,
            u64::try_from(now_ms() / 1000).unwrap_or(0),
        );
        let answer = self
            .http
            .post_json(&format!("{}{path}", self.base), &headers, body)
            .await?;
        match json::i64(answer.get("code")) {
            Some(0) => Ok(answer.get("data").cloned().unwrap_or(Value::Null)),
            code => Err(AppError::Refused {
                code: code.unwrap_or(-1),
                message: json::string(answer.get("message")).unwrap_or_default(),
            }),
        }
    }

    async fn start(&self) -> Result<Game, AppError> {
        let data = self
            .call(
                "/v2/app/start",
                serde_json::json!({"code": self.code.expose(), "app_id": self.app_id}),
            )
            .await?;
        let id = json::string(data.pointer("/game_info/game_id"))
            .ok_or(AppError::Incomplete("data.game_info.game_id"))?;
        let auth_body = data
            .pointer("/websocket_info/auth_body")
            .and_then(Value::as_str)
            .filter(|b| !b.is_empty())
            .ok_or(AppError::Incomplete("data.websocket_info.auth_body"))?
            .to_owned();
        let links: Vec<String> = data
            .pointer("/websocket_info/wss_link")
            .and_then(Value::as_array)
            .map(|links| {
                links
                    .iter()
                    .filter_map(Value::as_str)
                    .filter(|l| super::check_ws_url(l).is_ok())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if links.is_empty() {
            return Err(AppError::Incomplete("data.websocket_info.wss_link"));
        }
        Ok(Game {
            id,
            auth_body,
            links,
            kept: false,
        })
    }

    /// Heartbeats `game` until one fails for good; returns why.
    async fn keep_alive(&self, game: &Game, status: &SourceStatus) -> AppError {
        let first = if game.kept {
            Instant::now()
        } else {
            Instant::now() + self.heartbeat
        };
        let mut tick = tokio::time::interval_at(first, self.heartbeat);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failed = 0;
        loop {
            tick.tick().await;
            match self
                .call("/v2/app/heartbeat", serde_json::json!({"game_id": game.id}))
                .await
            {
                Ok(_) => failed = 0,
                Err(e @ AppError::Refused { .. }) => {
                    status.decode_error("app_heartbeat", &e.to_string());
                    return e;
                }
                Err(e) => {
                    status.decode_error("app_heartbeat", &e.to_string());
                    failed += 1;
                    if failed >= HEARTBEAT_TRIES {
                        return e;
                    }
                }
            }
        }
    }

    async fn end(&self, game: &Game) -> Result<(), AppError> {
        self.call(
            "/v2/app/end",
            serde_json::json!({"app_id": self.app_id, "game_id": game.id}),
        )
        .await
        .map(|_| ())
    }
}

impl Session for OpenSession {
    async fn run(&mut self, cancel: &CancellationToken) -> SessionEnd {
        let Some(app) = &self.app else {
            return session::run(&self.connect, &mut self.protocol, &self.sink, cancel).await;
        };
        let status = self.sink.status().clone();
        let game = match self.game.take() {
            Some(game) => game,
            None => {
                let started = tokio::select! {
                    () = cancel.cancelled() => return SessionEnd::Cancelled,
                    started = app.start() => started,
                };
                match started {
                    Ok(game) => {
                        tracing::info!(
                            room = status.room(),
                            source = status.name(),
                            "open-platform app session started"
                        );
                        game
                    }
                    Err(e) => {
                        status.decode_error("app_start", &e.to_string());
                        return SessionEnd::failed(format!("app start: {e}"));
                    }
                }
            }
        };
        let link = &game.links[self.attempt % game.links.len()];
        self.attempt = self.attempt.wrapping_add(1);
        let connect = Connect {
            url: link.clone(),
            hello: Some(auth_packet(game.auth_body.as_bytes())),
            ..self.connect.clone()
        };
        let end = tokio::select! {
            end = session::run(&connect, &mut self.protocol, &self.sink, cancel) => end,
            lost = app.keep_alive(&game, &status) => {
                tracing::warn!(room = status.room(), source = status.name(), error = %lost, "open-platform app session lost");
                // A new session starts on the next attempt.
                return SessionEnd::dropped(format!("app heartbeat: {lost}"));
            }
        };
        if matches!(end, SessionEnd::Refused(_)) {
            // The platform no longer knows this app session: end it, start afresh next time.
            let _ = tokio::time::timeout(FINISH_TIMEOUT, app.end(&game)).await;
        } else {
            self.game = Some(Game { kept: true, ..game });
        }
        end
    }

    async fn finish(&mut self) {
        if let (Some(app), Some(game)) = (&self.app, self.game.take()) {
            match app.end(&game).await {
                Ok(()) => tracing::info!(
                    room = self.sink.status().room(),
                    source = self.sink.status().name(),
                    "open-platform app session ended"
                ),
                Err(e) => {
                    tracing::warn!(room = self.sink.status().room(), source = self.sink.status().name(), error = %e, "ending the open-platform app session failed")
                }
            }
        }
    }
}

/// Maps one `LIVE_OPEN_PLATFORM_*` command.
pub fn map_command(v: &Value) -> Effects {
    let Some(cmd) = v.get("cmd").and_then(Value::as_str) else {
        return Effects::error("bad_command", "a command without cmd");
    };
    let data = v.get("data");
    let field = |name: &str| data.and_then(|d| d.get(name));
    let text = |name: &str| field(name).and_then(Value::as_str).map(str::to_owned);
    let id = || {
        json::string(field("msg_id"))
            .filter(|id| !id.is_empty())
            .map(|id| format!("biliopen:{id}"))
    };
    // `open_id` identifies a viewer for this app; `uid` is deprecated (always 0).
    let user = || {
        json::string(field("open_id"))
            .and_then(|id| viewer("biliopen", &id))
            .or_else(|| json::string(field("uid")).and_then(|id| viewer("bili", &id)))
    };
    let ts = || json::i64(field("timestamp")).and_then(to_ms);
    // The fan medal the viewer wears (`fans_medal_wearing_status` false: owned, not worn).
    let medal = || {
        if field("fans_medal_wearing_status").and_then(Value::as_bool) == Some(false) {
            return None;
        }
        super::medal(
            field("fans_medal_name").and_then(Value::as_str),
            json::u64(field("fans_medal_level")),
        )
    };
    let env = |id: Option<String>| {
        let mut env = envelope(id, user(), text("uname"), ts());
        env.medal = medal();
        env
    };
    match cmd {
        "LIVE_OPEN_PLATFORM_DM" => match text("msg").filter(|m| !m.trim().is_empty()) {
            Some(msg) => Effects::event(super::comment(env(id()), msg)),
            None => Effects::error("bad_command", "LIVE_OPEN_PLATFORM_DM without msg"),
        },
        "LIVE_OPEN_PLATFORM_SEND_GIFT" => {
            let Some(gift) = text("gift_name").filter(|g| !g.is_empty()) else {
                return Effects::error(
                    "bad_command",
                    "LIVE_OPEN_PLATFORM_SEND_GIFT without gift_name",
                );
            };
            let count = json::count(field("gift_num")).unwrap_or(1).max(1);
            let paid = field("paid").and_then(Value::as_bool).unwrap_or(false);
            // `price` is per gift in 1/1000 yuan (10 电池 = 1 元).
            let value = if paid {
                json::f64(field("price")).unwrap_or(0.0) * f64::from(count) / 1000.0
            } else {
                0.0
            };
            Effects::event(super::gift(env(id()), gift, count, value))
        }
        "LIVE_OPEN_PLATFORM_SUPER_CHAT" => {
            let Some(message) = text("message").filter(|m| !m.trim().is_empty()) else {
                return Effects::error(
                    "bad_command",
                    "LIVE_OPEN_PLATFORM_SUPER_CHAT without message",
                );
            };
            let sc = json::string(field("message_id")).or_else(|| json::string(field("msg_id")));
            let rmb = json::f64(field("rmb")).unwrap_or(0.0);
            let at = ts().or_else(|| json::i64(field("start_time")).and_then(to_ms));
            let make = |prefix: &str| {
                let mut env = envelope(
                    sc.as_ref().map(|id| format!("{prefix}:{id}")),
                    user(),
                    text("uname"),
                    at,
                );
                env.medal = medal();
                env
            };
            let start = json::u64(field("start_time"));
            let pinned = json::u64(field("end_time"))
                .zip(start)
                .map(|(end, start)| end.saturating_sub(start));
            Effects {
                events: vec![
                    super::super_chat(make("biliopen:sc"), message, rmb, pinned),
                    super::gift(make("biliopen:sc-gift"), "醒目留言".into(), 1, rmb),
                ],
                ..Effects::default()
            }
        }
        "LIVE_OPEN_PLATFORM_LIKE" => {
            let count = json::count(field("like_count")).unwrap_or(1);
            Effects::event(super::like(env(id()), count))
        }
        "LIVE_OPEN_PLATFORM_LIVE_ROOM_ENTER" => Effects::event(super::enter(env(id()))),
        "LIVE_OPEN_PLATFORM_LIVE_START" => Effects {
            live: Some(true),
            ..Effects::default()
        },
        "LIVE_OPEN_PLATFORM_LIVE_END" => Effects {
            live: Some(false),
            ..Effects::default()
        },
        other => Effects::ignored(other),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ingest::IngestEvent;

    #[test]
    fn signing_follows_the_documented_algorithm() {
        // Checked against an independent implementation (Python hashlib/hmac) of the
        // documented scheme: sorted x-bili-* lines, "\n"-joined, HMAC-SHA256 hex.
        let body = br#"{"code":"BV-CODE-123","app_id":1650000000000}"#;
        let headers = sign(
            "ak-test-id",
            "sk-test-secret",
            body,
            "123456789",
            1_763_900_000,
        );
        let get = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
                .unwrap()
        };
        assert_eq!(get("x-bili-accesskeyid"), "ak-test-id");
        assert_eq!(
            get("x-bili-content-md5"),
            "5d4b63b441e4b156b20233a3931483f6"
        );
        assert_eq!(get("x-bili-signature-method"), "HMAC-SHA256");
        assert_eq!(get("x-bili-signature-nonce"), "123456789");
        assert_eq!(get("x-bili-signature-version"), "1.0");
        assert_eq!(get("x-bili-timestamp"), "1763900000");
        assert_eq!(
            get("Authorization"),
            "b2c3b6059702d8ab97c108edacc0f73896adbda46a0a8d3a57fd45acfd2a322b"
        );
        assert_eq!(headers.len(), 7);
    }

    #[test]
    fn the_app_lifecycle_needs_its_credentials() {
        let parse = |extra: &str| -> BilibiliOpenConfig {
            toml::from_str(&format!(
                "api_base = 'http://127.0.0.1:9'\napp_id = 7\ncode = 'c'\naccess_key_id = 'k'\n{extra}"
            ))
            .unwrap()
        };
        assert!(parse("access_key_secret = 's'").validate().is_ok());
        // The secret may come from the environment (PATH is always set).
        let from_env = parse("access_key_secret_env = 'PATH'");
        assert!(from_env.validate().is_ok());
        assert!(!from_env.access_key_secret().unwrap().is_empty());
        let unset = parse("access_key_secret_env = 'LIVECUE_TEST_NO_SUCH_VARIABLE'");
        assert!(
            unset
                .validate()
                .unwrap_err()
                .contains("LIVECUE_TEST_NO_SUCH_VARIABLE")
        );
        assert!(
            parse("")
                .validate()
                .unwrap_err()
                .contains("access_key_secret")
        );
        assert!(
            parse("access_key_secret = 's'\napp_heartbeat_s = 90")
                .validate()
                .is_err()
        );
        let no_app: BilibiliOpenConfig = toml::from_str(
            "api_base = 'http://h'\ncode = 'c'\naccess_key_id = 'k'\naccess_key_secret = 's'",
        )
        .unwrap();
        assert!(no_app.validate().unwrap_err().contains("app_id"));
        // Without api_base, url and auth_body are what the source uses.
        let manual: BilibiliOpenConfig = toml::from_str("url = 'ws://h/sub'").unwrap();
        assert!(manual.validate().unwrap_err().contains("auth_body"));
        // The secrets never print.
        let debug = format!("{:?}", parse("access_key_secret = 'the-secret'"));
        assert!(!debug.contains("the-secret"), "{debug}");
    }

    #[test]
    fn open_platform_commands() {
        let dm = json!({"cmd": "LIVE_OPEN_PLATFORM_DM", "data": {"uname": "猫", "uid": 0,
            "open_id": "39b8fedb-60a5-4e29-ac75-b16955f7e632", "msg": "你们谁扔个小心心呗",
            "msg_id": "eb805544-0cf2-4688-bca1-88299e5344bf", "timestamp": 1_650_717_881,
            "room_id": 4639581, "fans_medal_level": 21, "fans_medal_name": "官方",
            "fans_medal_wearing_status": true, "dm_type": 0}});
        match &map_command(&dm).events[..] {
            [IngestEvent::Comment(c)] => {
                assert_eq!(c.text, "你们谁扔个小心心呗");
                assert_eq!(c.env.medal.as_ref().map(|m| m.level), Some(21));
                assert_eq!(
                    c.env.id.as_deref(),
                    Some("biliopen:eb805544-0cf2-4688-bca1-88299e5344bf")
                );
                assert_eq!(
                    c.env.user.as_deref(),
                    Some("biliopen:39b8fedb-60a5-4e29-ac75-b16955f7e632")
                );
                assert_eq!(c.env.ts, Some(1_650_717_881_000));
            }
            other => panic!("{other:?}"),
        }
        let gift = json!({"cmd": "LIVE_OPEN_PLATFORM_SEND_GIFT", "data": {"open_id": "o1",
            "uname": "不忘", "gift_name": "牛哇", "gift_num": 2, "price": 100, "paid": true,
            "msg_id": "g1", "timestamp": 1_650_717_898}});
        match &map_command(&gift).events[..] {
            [IngestEvent::Gift(g)] => {
                assert_eq!((g.gift.as_str(), g.count), ("牛哇", 2));
                assert!((g.value - 0.2).abs() < 1e-9);
            }
            other => panic!("{other:?}"),
        }
        let free = json!({"cmd": "LIVE_OPEN_PLATFORM_SEND_GIFT", "data": {"gift_name": "小心心",
            "gift_num": 1, "price": 0, "paid": false, "msg_id": "g2"}});
        assert!(matches!(&map_command(&free).events[..], [IngestEvent::Gift(g)] if g.value == 0.0));
        let sc = json!({"cmd": "LIVE_OPEN_PLATFORM_SUPER_CHAT", "data": {"open_id": "o2",
            "uname": "大户", "message_id": 55, "message": "求讲解3号", "rmb": 50, "msg_id": "s1",
            "timestamp": 1_650_717_900}});
        let effects = map_command(&sc);
        assert!(matches!(&effects.events[..],
            [IngestEvent::Comment(c), IngestEvent::Gift(g)] if c.text == "求讲解3号" && g.value == 50.0));
        let sc = json!({"cmd": "LIVE_OPEN_PLATFORM_SUPER_CHAT", "data": {"open_id": "o2",
            "message": "看看3号", "rmb": 30, "message_id": 56, "start_time": 1_650_717_900,
            "end_time": 1_650_717_960, "fans_medal_name": "官方", "fans_medal_level": 9,
            "fans_medal_wearing_status": true}});
        match &map_command(&sc).events[0] {
            IngestEvent::Comment(c) => {
                let paid = c.super_chat.as_ref().unwrap();
                assert_eq!((paid.price_cny, paid.duration_s), (30.0, Some(60)));
                assert_eq!(
                    c.env.medal.as_ref().map(|m| (m.name.as_str(), m.level)),
                    Some(("官方", 9))
                );
            }
            other => panic!("{other:?}"),
        }
        let like = json!({"cmd": "LIVE_OPEN_PLATFORM_LIKE", "data": {"open_id": "o3",
            "uname": "路人", "like_count": 8, "msg_id": "l1", "timestamp": 1_650_717_901}});
        assert!(matches!(&map_command(&like).events[..], [IngestEvent::Like(l)] if l.count == 8));
        assert_eq!(
            map_command(&json!({"cmd": "LIVE_OPEN_PLATFORM_LIVE_END", "data": {}})).live,
            Some(false)
        );
        assert_eq!(
            map_command(&json!({"cmd": "LIVE_OPEN_PLATFORM_GUARD", "data": {}})).ignored,
            ["LIVE_OPEN_PLATFORM_GUARD"]
        );
    }
}
