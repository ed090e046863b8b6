//! Bilibili live, web protocol (`kind = "bilibili"`): the packet codec, the command mapping
//! and the client.
//!
//! The web page's danmaku WebSocket carries binary packets, each a 16-byte big-endian header
//! and a body:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | u32 | packet length (header + body) |
//! | 4 | u16 | header length, 16 |
//! | 6 | u16 | protocol version: 0 JSON, 1 heartbeat/auth (plain), 2 zlib, 3 brotli |
//! | 8 | u32 | operation: 2 heartbeat, 3 heartbeat reply, 5 command, 7 auth, 8 auth reply |
//! | 12 | u32 | sequence |
//!
//! One WebSocket message may hold several packets; a version 2 or 3 body decompresses to
//! more packets (nested, normally one level). The client sends the auth packet (JSON `uid`,
//! `roomid`, `protover` 3, `platform` "web", `type` 2, `key`) first, waits for the auth reply
//! (`{"code":0}`), then sends a heartbeat right away and every 30 s.
//!
//! Commands mapped (`cmd`, a `:suffix` ignored): `DANMU_MSG` → comment (text `info[1]`, user
//! `info[2][0]`/`info[2][1]`, time `info[0][4]` ms or `info[9].ts` s, fan medal `info[3]` as
//! `medal {name: info[3][1], level: info[3][0]}`), `SEND_GIFT` → gift (value in yuan from
//! `total_coin` gold 金瓜子 / 1000; silver gifts are worth 0; medal from `medal_info`),
//! `SUPER_CHAT_MESSAGE` → a comment with `super_chat {price_cny: price, duration_s: time}` and
//! the medal, plus a gift 醒目留言 of its price (so gift totals keep counting the money),
//! `INTERACT_WORD` → enter (`msg_type` 1) /
//! follow (2) / share (3, counted in the status: ingest has no share event),
//! `LIKE_INFO_V3_CLICK` → like, `WATCHED_CHANGE` → the status's `watched`, `LIVE` /
//! `PREPARING` → the status's `live`. Everything else is counted as ignored, by name.
//!
//! The key: configured as `key`, or, with `api_base` and no `key`, fetched before every
//! connection from `GET {api_base}/xlive/web-room/v1/index/getDanmuInfo?id={room_id}&type=0`
//! (`data.token`; without `url`, the host comes from `data.host_list[]`: `wss://host:wss_port/sub`,
//! or `ws://host:ws_port/sub` with `wss = false`, the next host on each attempt). The request
//! carries the configured `cookie` and `user_agent`. That endpoint is unofficial: today it may
//! answer an error (-352) without a logged-in cookie, or want wbi-signed parameters, which
//! LiveCue does not compute; a failed fetch is counted (`key_fetch`) and retried with backoff.
//!
//! Limits: see [`decode`]. The protocol is unofficial and changes (2023 on: the `key` from the
//! room's `getDanmuInfo` API is required, anonymous viewers' names arrive masked, some rooms
//! send `INTERACT_WORD_V2` as protobuf, which is not decoded).

use std::io::Read;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;
use tokio_tungstenite::tungstenite::Message;

use tokio_util::sync::CancellationToken;

use super::client::{BackoffConfig, Session, SessionEnd};
use super::http::Http;
use super::session::{self, Connect, Frame, Incoming, Protocol, Timing, TimingDefaults};
use super::{Effects, MAX_DECOMPRESSED, Secret, Sink, content_hash, envelope, json, to_ms, viewer};

/// Header length in bytes.
pub const HEADER_LEN: usize = 16;

/// Protocol version: body is JSON.
pub const VER_JSON: u16 = 0;
/// Protocol version: body is plain (heartbeat, auth, popularity).
pub const VER_PLAIN: u16 = 1;
/// Protocol version: body is zlib-compressed packets.
pub const VER_ZLIB: u16 = 2;
/// Protocol version: body is brotli-compressed packets.
pub const VER_BROTLI: u16 = 3;

pub const OP_HEARTBEAT: u32 = 2;
pub const OP_HEARTBEAT_REPLY: u32 = 3;
pub const OP_COMMAND: u32 = 5;
pub const OP_AUTH: u32 = 7;
pub const OP_AUTH_REPLY: u32 = 8;

/// Compressed bodies inside compressed bodies are refused past this depth (real traffic: 1).
pub const MAX_NESTING: usize = 2;
/// Packets decoded from one WebSocket message at most.
pub const MAX_PACKETS: usize = 4096;
/// Bytes decompressed from one WebSocket message at most, all packets together.
pub const MAX_DECOMPRESSED_TOTAL: usize = 4 * MAX_DECOMPRESSED;

/// What the web client sends as the heartbeat body.
const HEARTBEAT_BODY: &[u8] = b"[object Object]";

/// One decoded packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub protover: u16,
    pub op: u32,
    pub seq: u32,
    pub body: Vec<u8>,
}

/// Encodes one packet.
pub fn encode(protover: u16, op: u32, seq: u32, body: &[u8]) -> Vec<u8> {
    let len = u32::try_from(HEADER_LEN + body.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&(HEADER_LEN as u16).to_be_bytes());
    out.extend_from_slice(&protover.to_be_bytes());
    out.extend_from_slice(&op.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// Why (part of) a message could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CodecError {
    #[error("a packet is cut short")]
    Truncated,
    #[error("header length {header} or packet length {packet} is impossible")]
    BadHeader { header: u16, packet: u32 },
    #[error("unknown protocol version {0}")]
    UnknownVersion(u16),
    #[error("a compressed body does not decompress")]
    Decompress,
    #[error("a body decompresses to more than the limit")]
    TooLarge,
    #[error("compressed packets nested deeper than {MAX_NESTING}")]
    TooDeep,
    #[error("more than {MAX_PACKETS} packets in one message")]
    TooManyPackets,
}

impl CodecError {
    /// The status's error kind.
    pub fn kind(&self) -> &'static str {
        match self {
            CodecError::Truncated => "truncated",
            CodecError::BadHeader { .. } => "bad_header",
            CodecError::UnknownVersion(_) => "unknown_version",
            CodecError::Decompress => "decompress",
            CodecError::TooLarge => "too_large",
            CodecError::TooDeep => "too_deep",
            CodecError::TooManyPackets => "too_many_packets",
        }
    }
}

/// The packets of one message (compressed ones replaced by what they contain), and what
/// could not be decoded. Decoding goes on past a bad packet when its length is known.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Decoded {
    pub packets: Vec<Packet>,
    pub errors: Vec<CodecError>,
}

/// Decodes one WebSocket message. Bounded: at most [`MAX_PACKETS`] packets,
/// [`MAX_DECOMPRESSED`] bytes per decompressed body and [`MAX_DECOMPRESSED_TOTAL`] in all,
/// [`MAX_NESTING`] levels; never panics on any input.
pub fn decode(message: &[u8]) -> Decoded {
    let mut decoded = Decoded::default();
    let mut budget = MAX_DECOMPRESSED_TOTAL;
    decode_into(message, 0, &mut decoded, &mut budget);
    decoded
}

fn decode_into(mut rest: &[u8], depth: usize, out: &mut Decoded, budget: &mut usize) {
    while !rest.is_empty() {
        if out.packets.len() >= MAX_PACKETS {
            out.errors.push(CodecError::TooManyPackets);
            return;
        }
        if rest.len() < HEADER_LEN {
            out.errors.push(CodecError::Truncated);
            return;
        }
        let packet_len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let header_len = u16::from_be_bytes([rest[4], rest[5]]);
        let protover = u16::from_be_bytes([rest[6], rest[7]]);
        let op = u32::from_be_bytes([rest[8], rest[9], rest[10], rest[11]]);
        let seq = u32::from_be_bytes([rest[12], rest[13], rest[14], rest[15]]);
        let (plen, hlen) = (packet_len as usize, usize::from(header_len));
        if hlen < HEADER_LEN || hlen > plen {
            // Without a sane length there is no next packet to find.
            out.errors.push(CodecError::BadHeader {
                header: header_len,
                packet: packet_len,
            });
            return;
        }
        if plen > rest.len() {
            out.errors.push(CodecError::Truncated);
            return;
        }
        let body = &rest[hlen..plen];
        rest = &rest[plen..];
        match protover {
            VER_JSON | VER_PLAIN => out.packets.push(Packet {
                protover,
                op,
                seq,
                body: body.to_vec(),
            }),
            VER_ZLIB | VER_BROTLI => {
                if depth >= MAX_NESTING {
                    out.errors.push(CodecError::TooDeep);
                    continue;
                }
                match inflate(protover, body, budget) {
                    Ok(inner) => decode_into(&inner, depth + 1, out, budget),
                    Err(e) => out.errors.push(e),
                }
            }
            other => out.errors.push(CodecError::UnknownVersion(other)),
        }
    }
}

/// Decompresses a body, reading at most the smaller of [`MAX_DECOMPRESSED`] and what is left
/// of the message's budget (streaming: a zip bomb costs no more than the limit).
fn inflate(protover: u16, body: &[u8], budget: &mut usize) -> Result<Vec<u8>, CodecError> {
    let limit = MAX_DECOMPRESSED.min(*budget);
    let mut out = Vec::new();
    let read = if protover == VER_ZLIB {
        flate2::read::ZlibDecoder::new(body)
            .take(limit as u64 + 1)
            .read_to_end(&mut out)
    } else {
        brotli::Decompressor::new(body, 4096)
            .take(limit as u64 + 1)
            .read_to_end(&mut out)
    };
    read.map_err(|_| CodecError::Decompress)?;
    if out.len() > limit {
        return Err(CodecError::TooLarge);
    }
    *budget -= out.len();
    Ok(out)
}

/// `[[rooms.sources]] kind = "bilibili"`.
///
/// ```toml
/// [[rooms.sources]]
/// kind = "bilibili"
/// url = "wss://broadcastlv.chat.bilibili.com/sub"   # host from getDanmuInfo's host_list
/// room_id = 22824550          # the real (long) room id
/// key = "..."                 # token from getDanmuInfo (required by the platform today)
/// uid = 0                     # the account the key was issued to (0: anonymous)
/// # or, instead of key (and url): fetch them before each connection
/// # api_base = "https://api.live.bilibili.com", wss = true
/// # optional: buvid = "...", cookie = "...", user_agent = "...", protover = 3,
/// # heartbeat_s = 30, idle_timeout_s = 75, backoff_min_ms = 1000, backoff_max_ms = 60000
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BilibiliConfig {
    /// The source's name in its room (default: the kind).
    #[serde(default)]
    pub name: Option<String>,
    /// The danmaku WebSocket (`ws://` or `wss://`); may be left out with `api_base`, which
    /// then chooses a host of `getDanmuInfo`'s `host_list`.
    #[serde(default)]
    pub url: String,
    /// The platform's real room id.
    pub room_id: u64,
    /// The auth token (`token` of the room's `getDanmuInfo` answer). Without it and with
    /// `api_base`, it is fetched before every connection.
    #[serde(default)]
    pub key: Secret,
    /// The live API to fetch the key from (`https://api.live.bilibili.com`): `GET
    /// {api_base}/xlive/web-room/v1/index/getDanmuInfo?id={room_id}&type=0`. Unofficial; the
    /// real endpoint may want a logged-in `cookie` (and, some days, wbi signing, which LiveCue
    /// does not do).
    #[serde(default)]
    pub api_base: Option<String>,
    /// With a fetched host: `wss://host:wss_port/sub` (true, default) or
    /// `ws://host:ws_port/sub`.
    #[serde(default = "yes")]
    pub wss: bool,
    /// The account id the key belongs to; 0 for anonymous.
    #[serde(default)]
    pub uid: u64,
    /// The `buvid3` cookie value, sent in the auth packet when set.
    #[serde(default)]
    pub buvid: Secret,
    /// 3 (brotli, default) or 2 (zlib): the body compression asked for.
    #[serde(default = "default_protover")]
    pub protover: u16,
    /// `Cookie` header for the WebSocket request.
    #[serde(default)]
    pub cookie: Secret,
    /// `User-Agent` header for the WebSocket request.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// `heartbeat_s` (default 30), `idle_timeout_s` (75), `backoff_min_ms`, `backoff_max_ms`.
    #[serde(flatten)]
    pub timing: Timing,
}

/// Default `protover`: brotli.
pub const DEFAULT_PROTOVER: u16 = VER_BROTLI;
/// Default timing: a heartbeat every 30 s (the web client's period); 75 s of silence (two
/// heartbeat replies missed, and some) before reconnecting.
pub const TIMING: TimingDefaults = TimingDefaults {
    heartbeat_s: 30,
    idle_timeout_s: 75,
};

fn default_protover() -> u16 {
    DEFAULT_PROTOVER
}

fn yes() -> bool {
    true
}

impl BilibiliConfig {
    pub fn validate(&self) -> Result<(), String> {
        match &self.api_base {
            Some(base) => {
                super::http::check_http_url("api_base", base)?;
                if !self.url.is_empty() {
                    super::check_ws_url(&self.url)?;
                }
            }
            None => super::check_ws_url(&self.url)?,
        }
        if self.room_id == 0 {
            return Err("room_id must be the platform's room id (not 0)".into());
        }
        if ![VER_ZLIB, VER_BROTLI].contains(&self.protover) {
            return Err(format!("protover = {}: must be 2 or 3", self.protover));
        }
        self.timing.validate(TIMING)
    }

    pub fn backoff(&self) -> BackoffConfig {
        self.timing.schedule(TIMING).backoff
    }

    /// The auth packet's JSON body, with the configured key.
    pub fn auth_body(&self) -> Vec<u8> {
        self.auth_body_with(self.key.expose())
    }

    /// The auth packet's JSON body with `key`.
    pub fn auth_body_with(&self, key: &str) -> Vec<u8> {
        let mut auth = serde_json::json!({
            "uid": self.uid,
            "roomid": self.room_id,
            "protover": self.protover,
            "platform": "web",
            "type": 2,
            "key": key,
        });
        if !self.buvid.is_empty() {
            auth["buvid"] = Value::String(self.buvid.expose().to_owned());
        }
        auth.to_string().into_bytes()
    }

    /// What the status shows as the source's address.
    pub fn endpoint(&self) -> &str {
        match &self.api_base {
            Some(base) if self.url.is_empty() => base,
            _ => &self.url,
        }
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        vec![
            ("Cookie", self.cookie.expose().to_owned()),
            ("User-Agent", self.user_agent.clone().unwrap_or_default()),
        ]
    }
}

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

/// Where and how a packet-protocol client connects: the auth packet first, the heartbeat
/// right after the platform accepts it, then every period.
pub(crate) fn hello_connect(
    url: &str,
    headers: Vec<(&'static str, String)>,
    auth: &[u8],
    heartbeat: Duration,
    idle: Duration,
) -> Connect {
    Connect {
        url: url.to_owned(),
        headers,
        hello: Some(auth_packet(auth)),
        beat_at_start: true,
        heartbeat,
        idle,
    }
}

/// The auth packet carrying `body`.
pub(crate) fn auth_packet(body: &[u8]) -> Message {
    Message::Binary(encode(VER_PLAIN, OP_AUTH, 1, body).into())
}

/// A fan medal (粉丝勋章) as the danmaku carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Medal {
    pub level: u64,
    pub name: String,
}

/// A `DANMU_MSG` as decoded from its `info` array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Danmaku {
    pub text: String,
    pub uid: Option<String>,
    pub name: Option<String>,
    pub medal: Option<Medal>,
    /// Milliseconds since the epoch.
    pub ts: Option<i64>,
}

/// Reads a `DANMU_MSG`'s `info` array; `None` when it has no text.
pub fn parse_danmaku(v: &Value) -> Option<Danmaku> {
    let info = v.get("info")?.as_array()?;
    let text = info.get(1)?.as_str()?.to_owned();
    let user = info.get(2).and_then(Value::as_array);
    let uid = json::string(user.and_then(|u| u.first()));
    let name = user
        .and_then(|u| u.get(1))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let medal = info.get(3).and_then(Value::as_array).and_then(|m| {
        let name = m.get(1)?.as_str()?;
        (!name.is_empty()).then(|| Medal {
            level: json::u64(m.first()).unwrap_or(0),
            name: name.to_owned(),
        })
    });
    let ts = info
        .first()
        .and_then(Value::as_array)
        .and_then(|meta| json::i64(meta.get(4)))
        .and_then(to_ms)
        .or_else(|| {
            info.get(9)
                .and_then(|extra| json::i64(extra.get("ts")))
                .and_then(to_ms)
        });
    Some(Danmaku {
        text,
        uid,
        name,
        medal,
        ts,
    })
}

/// Maps one command (the JSON body of an operation 5 packet).
pub fn map_command(v: &Value) -> Effects {
    let Some(cmd) = v.get("cmd").and_then(Value::as_str) else {
        return Effects::error("bad_command", "a command without cmd");
    };
    // Newer servers append options: "DANMU_MSG:4:0:2:2:2:0".
    let cmd = cmd.split(':').next().unwrap_or(cmd);
    let data = v.get("data");
    let field = |name: &str| data.and_then(|d| d.get(name));
    let user = |name: &str| json::string(field(name)).and_then(|id| viewer("bili", &id));
    let name = |name: &str| field(name).and_then(Value::as_str).map(str::to_owned);
    let ts = |name: &str| json::i64(field(name)).and_then(to_ms);
    // SEND_GIFT and SUPER_CHAT_MESSAGE carry the sender's fan medal as `medal_info`.
    let medal_info = || {
        let info = field("medal_info")?;
        super::medal(
            info.get("medal_name").and_then(Value::as_str),
            json::u64(info.get("medal_level")),
        )
    };
    match cmd {
        "DANMU_MSG" => {
            let Some(dm) = parse_danmaku(v) else {
                return Effects::error("bad_command", "DANMU_MSG without info[1] text");
            };
            let uid = dm.uid.as_deref().unwrap_or("0");
            // Same viewer, same text, same millisecond: the same comment (seen through two
            // connections). Without a time there is nothing safe to dedupe on.
            let id = dm
                .ts
                .map(|ts| format!("bili:dm:{ts}:{uid}:{:x}", content_hash(&[&dm.text])));
            let mut env = envelope(id, viewer("bili", uid), dm.name, dm.ts);
            env.medal = dm
                .medal
                .and_then(|m| super::medal(Some(&m.name), Some(m.level)));
            Effects::event(super::comment(env, dm.text))
        }
        "SEND_GIFT" => {
            let Some(gift) = name("giftName").filter(|g| !g.is_empty()) else {
                return Effects::error("bad_command", "SEND_GIFT without giftName");
            };
            let count = json::count(field("num")).unwrap_or(1).max(1);
            let total = json::u64(field("total_coin"))
                .or_else(|| json::u64(field("price")).map(|p| p.saturating_mul(u64::from(count))))
                .unwrap_or(0);
            // Gold coins (金瓜子): 1000 to the yuan. Silver ones cost nothing.
            let value = if field("coin_type").and_then(Value::as_str) == Some("gold") {
                total as f64 / 1000.0
            } else {
                0.0
            };
            let id = json::string(field("tid"))
                .filter(|t| !t.is_empty() && t != "0")
                .map(|t| format!("bili:gift:{t}"));
            let mut env = envelope(id, user("uid"), name("uname"), ts("timestamp"));
            env.medal = medal_info();
            Effects::event(super::gift(env, gift, count, value))
        }
        "SUPER_CHAT_MESSAGE" => {
            let Some(text) = name("message").filter(|t| !t.trim().is_empty()) else {
                return Effects::error("bad_command", "SUPER_CHAT_MESSAGE without message");
            };
            let sc = json::string(field("id"));
            let uname = data
                .and_then(|d| d.pointer("/user_info/uname"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let at = ts("start_time").or_else(|| ts("ts"));
            let price = json::f64(field("price")).unwrap_or(0.0);
            let mut comment_env = envelope(
                sc.as_ref().map(|id| format!("bili:sc:{id}")),
                user("uid"),
                uname.clone(),
                at,
            );
            comment_env.medal = medal_info();
            let gift_env = envelope(
                sc.as_ref().map(|id| format!("bili:sc-gift:{id}")),
                user("uid"),
                uname,
                at,
            );
            // `time`: seconds the platform pins it.
            let pinned = json::u64(field("time"));
            Effects {
                events: vec![
                    super::super_chat(comment_env, text, price, pinned),
                    super::gift(gift_env, "醒目留言".into(), 1, price),
                ],
                ..Effects::default()
            }
        }
        "INTERACT_WORD" => {
            let kind = json::u64(field("msg_type")).unwrap_or(0);
            let uid = json::string(field("uid")).unwrap_or_default();
            let id =
                json::string(field("trigger_time")).map(|t| format!("bili:iw:{t}:{uid}:{kind}"));
            let env = envelope(id, viewer("bili", &uid), name("uname"), ts("timestamp"));
            match kind {
                1 => Effects::event(super::enter(env)),
                2 => Effects::event(super::follow(env)),
                3 => Effects {
                    shares: 1,
                    ..Effects::default()
                },
                other => Effects::ignored(format!("INTERACT_WORD:{other}")),
            }
        }
        "LIKE_INFO_V3_CLICK" => {
            let env = envelope(None, user("uid"), name("uname"), None);
            Effects::event(super::like(env, 1))
        }
        "WATCHED_CHANGE" => match json::u64(field("num")) {
            Some(n) => Effects {
                watched: Some(n),
                ..Effects::default()
            },
            None => Effects::error("bad_command", "WATCHED_CHANGE without num"),
        },
        "LIVE" => Effects {
            live: Some(true),
            ..Effects::default()
        },
        "PREPARING" => Effects {
            live: Some(false),
            ..Effects::default()
        },
        other => Effects::ignored(other),
    }
}

/// The packet protocol, shared by the web (`bilibili`) and open-platform (`bilibili_open`)
/// kinds, which differ in their auth body and commands.
pub(crate) struct PacketProtocol {
    pub(crate) map: fn(&Value) -> Effects,
}

impl Protocol for PacketProtocol {
    fn heartbeat(&self) -> Message {
        Message::Binary(encode(VER_PLAIN, OP_HEARTBEAT, 1, HEARTBEAT_BODY).into())
    }

    fn on_frame(&mut self, frame: Frame<'_>, _now: i64) -> Incoming {
        let Frame::Binary(bytes) = frame else {
            return Incoming::effects(Effects::error(
                "text_frame",
                "a text frame on a binary protocol",
            ));
        };
        let decoded = decode(bytes);
        let mut incoming = Incoming::default();
        for error in decoded.errors {
            incoming
                .effects
                .errors
                .push((error.kind(), error.to_string()));
        }
        for packet in decoded.packets {
            match packet.op {
                OP_COMMAND => {
                    incoming.seqs.push(u64::from(packet.seq));
                    match serde_json::from_slice::<Value>(&packet.body) {
                        Ok(v) => incoming.effects.merge((self.map)(&v)),
                        Err(e) => incoming.effects.errors.push(("bad_json", e.to_string())),
                    }
                }
                OP_AUTH_REPLY => {
                    let code = serde_json::from_slice::<Value>(&packet.body)
                        .ok()
                        .and_then(|v| json::i64(v.get("code")))
                        .unwrap_or(0);
                    incoming.handshake = Some(if code == 0 {
                        Ok(())
                    } else {
                        Err(format!(
                            "auth refused with code {code} (an expired or wrong key?)"
                        ))
                    });
                }
                // The popularity figure: constant on today's servers, not a viewer count.
                OP_HEARTBEAT_REPLY => {}
                other => incoming
                    .effects
                    .errors
                    .push(("unknown_op", format!("operation {other}"))),
            }
        }
        incoming
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::ingest::IngestEvent;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(data).unwrap();
        z.finish().unwrap()
    }

    fn brotli(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
            w.write_all(data).unwrap();
        }
        out
    }

    fn command(v: Value) -> Vec<u8> {
        encode(VER_JSON, OP_COMMAND, 0, v.to_string().as_bytes())
    }

    fn danmu(text: &str, uid: u64, ts: i64) -> Value {
        json!({"cmd": "DANMU_MSG", "info": [
            [0, 1, 25, 16777215, ts, 0, 0, "", 0, 0, 0, "", 0, "{}", "{}", {}],
            text, [uid, "小鱼", 0, 0, 0, 10000, 1, ""], [21, "粉丝牌", "主播", 1, 0],
            [10, 0, 9868950, ">50000"], ["", ""], 0, 0, null, {"ts": ts / 1000, "ct": "AB"}, 0, 0
        ]})
    }

    #[test]
    fn header_layout_is_big_endian_16_bytes() {
        let p = encode(VER_PLAIN, OP_AUTH, 1, b"{}");
        assert_eq!(
            p,
            [0, 0, 0, 18, 0, 16, 0, 1, 0, 0, 0, 7, 0, 0, 0, 1, b'{', b'}']
        );
        let d = decode(&p);
        assert_eq!(d.errors, []);
        assert_eq!(
            d.packets,
            [Packet {
                protover: 1,
                op: 7,
                seq: 1,
                body: b"{}".to_vec()
            }]
        );
    }

    #[test]
    fn nested_packets_in_zlib_and_brotli_bodies() {
        let inner = [command(json!({"cmd": "A"})), command(json!({"cmd": "B"}))].concat();
        let message = [
            encode(VER_ZLIB, OP_COMMAND, 0, &zlib(&inner)),
            encode(VER_BROTLI, OP_COMMAND, 0, &brotli(&inner)),
            encode(VER_PLAIN, OP_HEARTBEAT_REPLY, 1, &[0, 0, 0, 1]),
        ]
        .concat();
        let d = decode(&message);
        assert_eq!(d.errors, []);
        assert_eq!(d.packets.len(), 5);
        let cmds: Vec<Value> = d.packets[..4]
            .iter()
            .map(|p| serde_json::from_slice(&p.body).unwrap())
            .collect();
        assert_eq!(cmds[0]["cmd"], "A");
        assert_eq!(cmds[3]["cmd"], "B");
        assert_eq!(d.packets[4].op, OP_HEARTBEAT_REPLY);
    }

    #[test]
    fn zip_bombs_and_deep_nesting_are_refused() {
        let bomb = zlib(&vec![0u8; MAX_DECOMPRESSED + 1]);
        assert!(bomb.len() < 10_000);
        let d = decode(&encode(VER_ZLIB, OP_COMMAND, 0, &bomb));
        assert_eq!(d.errors, [CodecError::TooLarge]);
        let bomb = brotli(&vec![0u8; MAX_DECOMPRESSED + 1]);
        let d = decode(&encode(VER_BROTLI, OP_COMMAND, 0, &bomb));
        assert_eq!(d.errors, [CodecError::TooLarge]);

        let mut p = command(json!({"cmd": "X"}));
        for _ in 0..=MAX_NESTING {
            p = encode(VER_ZLIB, OP_COMMAND, 0, &zlib(&p));
        }
        assert_eq!(decode(&p).errors, [CodecError::TooDeep]);
        // Many packets that each decompress to just under the limit run out of budget.
        let big = encode(
            VER_ZLIB,
            OP_COMMAND,
            0,
            &zlib(&vec![b' '; MAX_DECOMPRESSED]),
        );
        let d = decode(&big.repeat(6));
        assert!(d.errors.contains(&CodecError::TooLarge), "{:?}", d.errors);
    }

    #[test]
    fn garbage_is_reported_not_fatal() {
        assert_eq!(decode(&[1, 2, 3]).errors, [CodecError::Truncated]);
        let bad_header = [0, 0, 0, 20, 0, 4, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 1, 2, 3, 4];
        assert!(matches!(
            decode(&bad_header).errors[..],
            [CodecError::BadHeader { .. }]
        ));
        let bad_zlib = encode(VER_ZLIB, OP_COMMAND, 0, b"not zlib at all");
        let good = command(json!({"cmd": "LIVE"}));
        let d = decode(&[bad_zlib, good].concat());
        assert_eq!(d.errors, [CodecError::Decompress]);
        assert_eq!(
            d.packets.len(),
            1,
            "the packet after a bad body is still read"
        );
        let d = decode(&encode(9, OP_COMMAND, 0, b"{}"));
        assert_eq!(d.errors, [CodecError::UnknownVersion(9)]);
    }

    #[test]
    fn every_truncation_of_a_real_message_is_survived() {
        let inner = [
            command(danmu("2号多少钱", 7, 1_763_900_000_123)),
            command(json!({"cmd": "LIVE"})),
        ]
        .concat();
        let parts = [
            encode(VER_BROTLI, OP_COMMAND, 0, &brotli(&inner)),
            encode(VER_ZLIB, OP_COMMAND, 0, &zlib(&inner)),
            command(json!({"cmd": "PREPARING"})),
        ];
        let boundaries: Vec<usize> = parts
            .iter()
            .scan(0, |end, p| {
                *end += p.len();
                Some(*end)
            })
            .collect();
        let message = parts.concat();
        for cut in 0..message.len() {
            let d = decode(&message[..cut]);
            assert!(d.packets.len() <= 5);
            // A cut inside a packet is reported; one between packets just has fewer.
            let between = cut == 0 || boundaries.contains(&cut);
            assert_eq!(d.errors.is_empty(), between, "cut {cut}: {:?}", d.errors);
        }
        assert_eq!(decode(&message).packets.len(), 5);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let d = decode(&bytes);
            prop_assert!(d.packets.len() <= MAX_PACKETS);
        }

        #[test]
        fn corrupted_real_messages_never_panic(flip in 0usize..400, byte in any::<u8>()) {
            let inner = command(danmu("好看", 9, 1_763_900_000_000));
            let mut message = [
                encode(VER_ZLIB, OP_COMMAND, 0, &zlib(&inner)),
                encode(VER_BROTLI, OP_COMMAND, 0, &brotli(&inner)),
            ].concat();
            let at = flip % message.len();
            message[at] = byte;
            let _ = decode(&message);
        }
    }

    #[test]
    fn danmaku_fields() {
        let dm = parse_danmaku(&danmu("2号多少钱", 12345, 1_763_900_000_123)).unwrap();
        assert_eq!(dm.text, "2号多少钱");
        assert_eq!(dm.uid.as_deref(), Some("12345"));
        assert_eq!(dm.name.as_deref(), Some("小鱼"));
        assert_eq!(
            dm.medal,
            Some(Medal {
                level: 21,
                name: "粉丝牌".into()
            })
        );
        assert_eq!(dm.ts, Some(1_763_900_000_123));
        // Without info[0][4], info[9].ts (seconds) is used.
        let mut v = danmu("x", 1, 1_763_900_000_000);
        v["info"][0][4] = json!(null);
        assert_eq!(parse_danmaku(&v).unwrap().ts, Some(1_763_900_000_000));
    }

    fn only_event(effects: Effects) -> IngestEvent {
        assert_eq!(effects.errors, []);
        assert_eq!(effects.events.len(), 1, "{effects:?}");
        effects.events.into_iter().next().unwrap()
    }

    #[test]
    fn commands_map_to_events() {
        let mut v = danmu("2号多少钱", 12345, 1_763_900_000_123);
        v["cmd"] = json!("DANMU_MSG:4:0:2:2:2:0");
        match only_event(map_command(&v)) {
            IngestEvent::Comment(c) => {
                assert_eq!(c.text, "2号多少钱");
                assert_eq!(c.env.user.as_deref(), Some("bili:12345"));
                assert_eq!(c.env.name.as_deref(), Some("小鱼"));
                assert_eq!(c.env.ts, Some(1_763_900_000_123));
                assert_eq!(
                    c.env.medal,
                    Some(crate::ingest::Medal {
                        name: "粉丝牌".into(),
                        level: 21
                    })
                );
                assert_eq!(c.super_chat, None);
                assert!(
                    c.env
                        .id
                        .unwrap()
                        .starts_with("bili:dm:1763900000123:12345:")
                );
            }
            other => panic!("{other:?}"),
        }
        let gift = json!({"cmd": "SEND_GIFT", "data": {"giftName": "小花花", "num": 3,
            "uid": 9, "uname": "阿青", "coin_type": "gold", "total_coin": 300, "price": 100,
            "timestamp": 1_763_900_000, "tid": "1763900000110000001"}});
        match only_event(map_command(&gift)) {
            IngestEvent::Gift(g) => {
                assert_eq!((g.gift.as_str(), g.count), ("小花花", 3));
                assert!((g.value - 0.3).abs() < 1e-9);
                assert_eq!(g.env.id.as_deref(), Some("bili:gift:1763900000110000001"));
                assert_eq!(g.env.ts, Some(1_763_900_000_000));
            }
            other => panic!("{other:?}"),
        }
        let silver = json!({"cmd": "SEND_GIFT", "data": {"giftName": "辣条", "num": 1,
            "coin_type": "silver", "total_coin": 100}});
        match only_event(map_command(&silver)) {
            IngestEvent::Gift(g) => assert_eq!(g.value, 0.0),
            other => panic!("{other:?}"),
        }
        let sc = json!({"cmd": "SUPER_CHAT_MESSAGE", "data": {"id": 77, "uid": 5, "price": 30,
            "message": "主播能试穿2号吗", "user_info": {"uname": "大户"}, "start_time": 1_763_900_001,
            "time": 60, "medal_info": {"medal_name": "粉丝牌", "medal_level": 12}}});
        let effects = map_command(&sc);
        assert_eq!(effects.events.len(), 2);
        match (&effects.events[0], &effects.events[1]) {
            (IngestEvent::Comment(c), IngestEvent::Gift(g)) => {
                assert_eq!(c.text, "主播能试穿2号吗");
                let paid = c.super_chat.as_ref().unwrap();
                assert_eq!((paid.price_cny, paid.duration_s), (30.0, Some(60)));
                assert_eq!(c.env.medal.as_ref().map(|m| m.level), Some(12));
                assert_eq!(c.env.id.as_deref(), Some("bili:sc:77"));
                assert_eq!(g.value, 30.0);
                assert_eq!(g.env.name.as_deref(), Some("大户"));
            }
            other => panic!("{other:?}"),
        }
        let iw = |t: u64| {
            json!({"cmd": "INTERACT_WORD", "data": {"uid": 8, "uname": "路人", "msg_type": t,
                "timestamp": 1_763_900_002, "trigger_time": 1_763_900_002_000_000_000u64}})
        };
        assert!(matches!(
            only_event(map_command(&iw(1))),
            IngestEvent::Enter(_)
        ));
        assert!(matches!(
            only_event(map_command(&iw(2))),
            IngestEvent::Follow(_)
        ));
        assert_eq!(map_command(&iw(3)).shares, 1);
        assert_eq!(map_command(&iw(9)).ignored, ["INTERACT_WORD:9"]);
        let like = json!({"cmd": "LIKE_INFO_V3_CLICK", "data": {"uid": 8, "uname": "路人", "like_text": "为主播点赞了"}});
        assert!(matches!(only_event(map_command(&like)), IngestEvent::Like(l) if l.count == 1));
        let watched = json!({"cmd": "WATCHED_CHANGE", "data": {"num": 1234, "text_small": "1234"}});
        assert_eq!(map_command(&watched).watched, Some(1234));
        assert_eq!(
            map_command(&json!({"cmd": "LIVE", "roomid": 1})).live,
            Some(true)
        );
        assert_eq!(map_command(&json!({"cmd": "PREPARING"})).live, Some(false));
        assert_eq!(
            map_command(&json!({"cmd": "STOP_LIVE_ROOM_LIST"})).ignored,
            ["STOP_LIVE_ROOM_LIST"]
        );
        assert_eq!(map_command(&json!({"nocmd": 1})).errors[0].0, "bad_command");
    }

    #[test]
    fn anonymous_viewers_have_no_id() {
        match only_event(map_command(&danmu("来了", 0, 1_763_900_000_000))) {
            IngestEvent::Comment(c) => assert_eq!(c.env.user, None),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn danmu_info_gives_the_key_and_hosts() {
        let answer = json!({"code": 0, "message": "0", "data": {"group": "live",
            "business_id": 0, "refresh_row_factor": 0.125, "max_delay": 5000,
            "token": "tok-123", "host_list": [
                {"host": "zj-cn-live-comet.chat.bilibili.com", "port": 2243, "wss_port": 443, "ws_port": 2244},
                {"host": "bad host/", "port": 1, "wss_port": 443, "ws_port": 2244},
                {"host": "broadcastlv.chat.bilibili.com", "port": 2243, "wss_port": 443, "ws_port": 2244}]}});
        let info = parse_danmu_info(&answer, true).unwrap();
        assert_eq!(info.token, "tok-123");
        assert_eq!(
            info.hosts,
            [
                ("zj-cn-live-comet.chat.bilibili.com".to_owned(), 443),
                ("broadcastlv.chat.bilibili.com".to_owned(), 443)
            ]
        );
        assert_eq!(parse_danmu_info(&answer, false).unwrap().hosts[0].1, 2244);
        let refused = json!({"code": -352, "message": "-352", "data": null});
        assert!(
            parse_danmu_info(&refused, true)
                .unwrap_err()
                .contains("-352")
        );
        assert!(parse_danmu_info(&json!({"code": 0, "data": {}}), true).is_err());
        // url may be left out only when the host is fetched.
        let config: BilibiliConfig =
            toml::from_str("room_id = 1\napi_base = 'https://api.live.bilibili.com'").unwrap();
        config.validate().unwrap();
        assert_eq!(config.endpoint(), "https://api.live.bilibili.com");
        let config: BilibiliConfig = toml::from_str("room_id = 1").unwrap();
        assert!(config.validate().is_err());
    }

    #[test]
    fn auth_body_has_the_documented_fields() {
        let config: BilibiliConfig = toml::from_str(
            "url = 'ws://127.0.0.1:1/sub'\nroom_id = 22824550\nkey = 'secret-key'\nuid = 7",
        )
        .unwrap();
        config.validate().unwrap();
        let auth: Value = serde_json::from_slice(&config.auth_body()).unwrap();
        assert_eq!(
            auth,
            json!({"uid": 7, "roomid": 22824550, "protover": 3, "platform": "web", "type": 2, "key": "secret-key"})
        );
    }
}
