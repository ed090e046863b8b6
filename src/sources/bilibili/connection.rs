//! A `bilibili` source's connection: the session, and with `api_base` and no `key` the fetch of
//! a fresh key (and host) from `getDanmuInfo` before every connection.

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::config::{BilibiliConfig, TIMING};
use super::map::map_command;
use super::protocol::{PacketProtocol, auth_packet, hello_connect};
use crate::sources::client::{Session, SessionEnd};
use crate::sources::http::Http;
use crate::sources::session::{self, Connect};
use crate::sources::{Sink, json};

pub(crate) fn session(config: &BilibiliConfig, sink: Sink) -> Result<BiliSession, String> {
    let schedule = config.timing.schedule(TIMING);
    let fetch = match &config.api_base {
        Some(base) if config.key.is_empty() => Some(KeyFetch {
            http: Http::new().map_err(|e| e.to_string())?,
            url: format!(
                "{}/xlive/web-room/v1/index/getDanmuInfo?id={}&type=0",
                base.trim_end_matches('/'),
                config.room_id
            ),
        }),
        _ => None,
    };
    Ok(BiliSession {
        connect: hello_connect(
            &config.url,
            config.headers(),
            &config.auth_body(),
            schedule.heartbeat,
            schedule.idle,
        ),
        config: config.clone(),
        fetch,
        protocol: PacketProtocol { map: map_command },
        sink,
        attempt: 0,
    })
}

/// A `bilibili` source: with `api_base` and no `key`, each connection first fetches a fresh
/// key (and, without `url`, a host) from `getDanmuInfo`.
pub(crate) struct BiliSession {
    connect: Connect,
    config: BilibiliConfig,
    fetch: Option<KeyFetch>,
    protocol: PacketProtocol,
    sink: Sink,
    /// Connections tried, to take the next host each time.
    attempt: usize,
}

struct KeyFetch {
    http: Http,
    url: String,
}

/// What `getDanmuInfo` gave: the key and the hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DanmuInfo {
    pub token: String,
    /// `(host, port)`: `wss_port` or `ws_port` as asked.
    pub hosts: Vec<(String, u16)>,
}

/// Reads a `getDanmuInfo` answer: `data.token` and `data.host_list[] {host, wss_port,
/// ws_port}`; `Err` with the platform's code and message otherwise.
pub fn parse_danmu_info(answer: &Value, wss: bool) -> Result<DanmuInfo, String> {
    match json::i64(answer.get("code")) {
        Some(0) => {}
        code => {
            return Err(format!(
                "getDanmuInfo answered code {} ({}): the endpoint may want a logged-in cookie \
                 or wbi signing",
                code.unwrap_or(-1),
                json::string(answer.get("message")).unwrap_or_default()
            ));
        }
    }
    let token = answer
        .pointer("/data/token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or("getDanmuInfo: no data.token")?
        .to_owned();
    let port_key = if wss { "wss_port" } else { "ws_port" };
    let hosts = answer
        .pointer("/data/host_list")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|h| {
                    let host = h.get("host")?.as_str()?;
                    let port = u16::try_from(json::u64(h.get(port_key))?).ok()?;
                    let plain = host
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-.".contains(&b));
                    (plain && !host.is_empty() && port != 0).then(|| (host.to_owned(), port))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(DanmuInfo { token, hosts })
}

impl BiliSession {
    /// The connection of this attempt: a fresh key (and host) when fetching.
    async fn prepare(&mut self, cancel: &CancellationToken) -> Result<Connect, SessionEnd> {
        let Some(fetch) = &self.fetch else {
            return Ok(self.connect.clone());
        };
        let headers = self.config.headers();
        let answer = tokio::select! {
            () = cancel.cancelled() => return Err(SessionEnd::Cancelled),
            answer = fetch.http.get_json(&fetch.url, &headers) => answer,
        };
        let info = answer
            .map_err(|e| e.to_string())
            .and_then(|a| parse_danmu_info(&a, self.config.wss));
        let info = match info {
            Ok(info) => info,
            Err(e) => {
                self.sink.status().decode_error("key_fetch", &e);
                return Err(SessionEnd::failed(format!("key fetch: {e}")));
            }
        };
        let url = if !self.config.url.is_empty() {
            self.config.url.clone()
        } else if info.hosts.is_empty() {
            let e = "getDanmuInfo: no usable host in data.host_list";
            self.sink.status().decode_error("key_fetch", e);
            return Err(SessionEnd::failed(e));
        } else {
            let (host, port) = &info.hosts[self.attempt % info.hosts.len()];
            let scheme = if self.config.wss { "wss" } else { "ws" };
            format!("{scheme}://{host}:{port}/sub")
        };
        self.attempt = self.attempt.wrapping_add(1);
        Ok(Connect {
            url,
            hello: Some(auth_packet(&self.config.auth_body_with(&info.token))),
            ..self.connect.clone()
        })
    }
}

impl Session for BiliSession {
    async fn run(&mut self, cancel: &CancellationToken) -> SessionEnd {
        match self.prepare(cancel).await {
            Ok(connect) => session::run(&connect, &mut self.protocol, &self.sink, cancel).await,
            Err(end) => end,
        }
    }
}
