//! `[[rooms.sources]] kind = "bilibili"`: the configuration, its checks, default timing and the
//! auth packet's body.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::codec::{VER_BROTLI, VER_ZLIB};
use crate::sources::client::BackoffConfig;
use crate::sources::session::{Timing, TimingDefaults};
use crate::sources::{self, Secret};

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
                sources::http::check_http_url("api_base", base)?;
                if !self.url.is_empty() {
                    sources::check_ws_url(&self.url)?;
                }
            }
            None => sources::check_ws_url(&self.url)?,
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

    pub(super) fn headers(&self) -> Vec<(&'static str, String)> {
        vec![
            ("Cookie", self.cookie.expose().to_owned()),
            ("User-Agent", self.user_agent.clone().unwrap_or_default()),
        ]
    }
}
