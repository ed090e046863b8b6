//! `[[rooms.sources]] kind = "douyin"`: the configuration, its checks and default timing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::sources::Secret;
use crate::sources::client::BackoffConfig;
use crate::sources::session::{Timing, TimingDefaults};

/// `[[rooms.sources]] kind = "douyin"`.
///
/// ```toml
/// [[rooms.sources]]
/// kind = "douyin"
/// url = "wss://webcast5-ws-web-lq.douyin.com/webcast/im/push/v2/?room_id=...&signature=..."
/// room_id = 7300000000000000000   # optional, for the record
/// cookie = "ttwid=..."            # the cookie the URL was signed with
/// user_agent = "Mozilla/5.0 ..."  # the user agent the URL was signed with
/// # optional: a signer you run, asked before every connection (url is then the fallback):
/// # signer_url = "http://127.0.0.1:3010/sign", signer_token = "..."
/// # optional: origin = "https://live.douyin.com", heartbeat_s = 10, idle_timeout_s = 60,
/// # backoff_min_ms = 1000, backoff_max_ms = 60000
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DouyinConfig {
    #[serde(default)]
    pub name: Option<String>,
    /// The push WebSocket with its whole signed query.
    pub url: String,
    /// The platform's room id (informational).
    #[serde(default)]
    pub room_id: Option<u64>,
    #[serde(default)]
    pub cookie: Secret,
    #[serde(default)]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub origin: Option<String>,
    /// An HTTP endpoint the operator runs that signs push URLs (see
    /// [`sign_url`](super::sign_url)); asked before every connection. When it fails, `url` is
    /// used as it is.
    #[serde(default)]
    pub signer_url: Option<String>,
    /// Sent to the signer as `Authorization: Bearer …` when set.
    #[serde(default)]
    pub signer_token: Secret,
    /// The platform's product (promotion) ids → the room's catalog ids, for the shopping
    /// messages' "explaining now" hint.
    #[serde(default)]
    pub products: BTreeMap<String, String>,
    /// When the platform says a mapped product is being explained, make it the room's pitched
    /// product (as the console's `set_pitching` would). Off by default: the hint is shown only.
    #[serde(default)]
    pub follow_pitching: bool,
    /// `heartbeat_s` (default 10), `idle_timeout_s` (60), `backoff_min_ms`, `backoff_max_ms`.
    #[serde(flatten)]
    pub timing: Timing,
}

/// Default timing: an `hb` frame every 10 s (the web page's period); 60 s of silence before
/// reconnecting (a live room sends audience figures every few seconds).
pub const TIMING: TimingDefaults = TimingDefaults {
    heartbeat_s: 10,
    idle_timeout_s: 60,
};

impl DouyinConfig {
    pub fn validate(&self) -> Result<(), String> {
        crate::sources::check_ws_url(&self.url)?;
        if let Some(signer) = &self.signer_url {
            crate::sources::http::check_http_url("signer_url", signer)?;
        }
        self.timing.validate(TIMING)
    }

    pub fn backoff(&self) -> BackoffConfig {
        self.timing.schedule(TIMING).backoff
    }
}
