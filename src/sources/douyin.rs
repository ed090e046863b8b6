//! Douyin live, web protocol (`kind = "douyin"`): protobuf frames over a WebSocket.
//!
//! Each binary WebSocket message is a `PushFrame`; a frame of type `msg` carries a gzip
//! `Response` holding `Message`s, each naming its kind (`method`) and carrying it encoded
//! (`payload`). When the response sets `needAck`, the client answers with an `ack` frame
//! whose payload is the response's `internalExt` and whose `logId` is the frame's. The client
//! sends an `hb` frame every 10 s. The messages' layouts are in `proto/douyin.proto` beside this
//! file; the structs below are derived from it by hand.
//!
//! Mapped: `WebcastChatMessage` → comment, `WebcastGiftMessage` → gift (combo gifts once, on
//! their last message; value = 抖币 / 10 yuan), `WebcastLikeMessage` → like,
//! `WebcastMemberMessage` → enter, `WebcastSocialMessage` → follow (action 1; others are
//! shares, counted in the status), `WebcastRoomUserSeqMessage` → the status's viewers,
//! `WebcastControlMessage` status 3 → the status's `live` = false,
//! `WebcastLiveShoppingMessage` msgType 2 (讲解中) / 3 → the status's `pitching_hint` (the
//! platform's product id, and the catalog product it maps to in `products`; with
//! `follow_pitching`, the room's pitched product follows), `WebcastProductChangeMessage` → the
//! status's `shelf` (products on the shelf, the platform's note). A viewer's fan club
//! (`user.fansClub.data`: name, level) becomes the events' `medal`. Order and purchase notices
//! are not mapped: no message whose field numbers are publicly documented carries them. Other
//! methods are counted as ignored, by name.
//!
//! The push URL must carry the query the web page builds, `signature` included. That signature
//! is computed by the page's obfuscated script, which LiveCue does not reimplement. Two ways to
//! provide it: a fully signed `url` in the configuration (with the `cookie` and `user_agent` it
//! was made for), or a signer the operator runs (`signer_url`): before every connection the
//! source `POST`s `{"url": <url without signature>, "room_id", "user_agent"}` to it (with
//! `Authorization: Bearer <signer_token>` when set) and takes back `{"url": <signed URL>}` or
//! `{"signature": <value>}` (added to the unsigned URL). When the signer fails (down, an
//! error, an answer without either), the failure is counted (`signer`) and the configured
//! `url` is used as it is. A signature is only valid for the cookie and user agent it was made
//! with, and for a while: a stale one gets the connection refused, and the source backs off
//! and asks again. The protocol is unofficial and changes often; the open platform
//! ([`super::douyin_open`]) is the supported path.

use std::collections::BTreeMap;
use std::io::Read as _;

use prost::Message as _;
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::client::{BackoffConfig, Session, SessionEnd};
use super::http::Http;
use super::session::{self, Connect, Frame, Protocol, Timing, TimingDefaults};
use super::{Effects, MAX_DECOMPRESSED, PitchingHint, Secret, Shelf, Sink, envelope, to_ms};

/// `PushFrame`: the WebSocket binary frame.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PushFrame {
    #[prost(uint64, tag = "1")]
    pub seq_id: u64,
    #[prost(uint64, tag = "2")]
    pub log_id: u64,
    #[prost(uint64, tag = "3")]
    pub service: u64,
    #[prost(uint64, tag = "4")]
    pub method: u64,
    #[prost(message, repeated, tag = "5")]
    pub headers_list: Vec<HeadersList>,
    #[prost(string, tag = "6")]
    pub payload_encoding: String,
    #[prost(string, tag = "7")]
    pub payload_type: String,
    #[prost(bytes = "vec", tag = "8")]
    pub payload: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HeadersList {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `Response`: a `msg` frame's payload after gzip.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Response {
    #[prost(message, repeated, tag = "1")]
    pub messages_list: Vec<Message>,
    #[prost(string, tag = "2")]
    pub cursor: String,
    #[prost(uint64, tag = "3")]
    pub fetch_interval: u64,
    #[prost(uint64, tag = "4")]
    pub now: u64,
    #[prost(string, tag = "5")]
    pub internal_ext: String,
    #[prost(bool, tag = "9")]
    pub need_ack: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Message {
    #[prost(string, tag = "1")]
    pub method: String,
    #[prost(bytes = "vec", tag = "2")]
    pub payload: Vec<u8>,
    #[prost(int64, tag = "3")]
    pub msg_id: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Common {
    #[prost(string, tag = "1")]
    pub method: String,
    #[prost(uint64, tag = "2")]
    pub msg_id: u64,
    #[prost(uint64, tag = "3")]
    pub room_id: u64,
    #[prost(uint64, tag = "4")]
    pub create_time: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct User {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(string, tag = "3")]
    pub nick_name: String,
    #[prost(message, optional, tag = "24")]
    pub fans_club: Option<FansClub>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct FansClub {
    #[prost(message, optional, tag = "1")]
    pub data: Option<FansClubData>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct FansClubData {
    #[prost(string, tag = "1")]
    pub club_name: String,
    #[prost(int32, tag = "2")]
    pub level: i32,
}

/// `WebcastLiveShoppingMessage`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LiveShoppingMessage {
    #[prost(message, optional, tag = "1")]
    pub common: Option<Common>,
    #[prost(int32, tag = "2")]
    pub msg_type: i32,
    #[prost(int64, tag = "3")]
    pub promotion_id_app: i64,
    #[prost(int64, tag = "4")]
    pub promotion_id: i64,
}

/// `LiveShoppingMessage.msgType`: the streamer explains this product now (讲解中).
pub const SHOPPING_SET_CURRENT: i32 = 2;
/// `LiveShoppingMessage.msgType`: the explanation ended.
pub const SHOPPING_CANCEL_CURRENT: i32 = 3;

/// `WebcastProductChangeMessage`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProductChangeMessage {
    #[prost(message, optional, tag = "1")]
    pub common: Option<Common>,
    #[prost(string, tag = "3")]
    pub update_toast: String,
    #[prost(int64, tag = "5")]
    pub total: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ChatMessage {
    #[prost(message, optional, tag = "1")]
    pub common: Option<Common>,
    #[prost(message, optional, tag = "2")]
    pub user: Option<User>,
    #[prost(string, tag = "3")]
    pub content: String,
    #[prost(uint64, tag = "15")]
    pub event_time: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GiftMessage {
    #[prost(message, optional, tag = "1")]
    pub common: Option<Common>,
    #[prost(uint64, tag = "2")]
    pub gift_id: u64,
    #[prost(uint64, tag = "4")]
    pub group_count: u64,
    #[prost(uint64, tag = "5")]
    pub repeat_count: u64,
    #[prost(uint64, tag = "6")]
    pub combo_count: u64,
    #[prost(message, optional, tag = "7")]
    pub user: Option<User>,
    #[prost(uint32, tag = "9")]
    pub repeat_end: u32,
    #[prost(message, optional, tag = "15")]
    pub gift: Option<GiftStruct>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GiftStruct {
    #[prost(uint64, tag = "5")]
    pub id: u64,
    #[prost(bool, tag = "10")]
    pub combo: bool,
    #[prost(uint32, tag = "12")]
    pub diamond_count: u32,
    #[prost(string, tag = "16")]
    pub name: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct LikeMessage {
    #[prost(message, optional, tag = "1")]
    pub common: Option<Common>,
    #[prost(uint64, tag = "2")]
    pub count: u64,
    #[prost(uint64, tag = "3")]
    pub total: u64,
    #[prost(message, optional, tag = "5")]
    pub user: Option<User>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MemberMessage {
    #[prost(message, optional, tag = "1")]
    pub common: Option<Common>,
    #[prost(message, optional, tag = "2")]
    pub user: Option<User>,
    #[prost(uint64, tag = "3")]
    pub member_count: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SocialMessage {
    #[prost(message, optional, tag = "1")]
    pub common: Option<Common>,
    #[prost(message, optional, tag = "2")]
    pub user: Option<User>,
    #[prost(uint64, tag = "3")]
    pub share_type: u64,
    #[prost(uint64, tag = "4")]
    pub action: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct RoomUserSeqMessage {
    #[prost(message, optional, tag = "1")]
    pub common: Option<Common>,
    #[prost(int64, tag = "3")]
    pub total: i64,
    #[prost(int64, tag = "7")]
    pub total_user: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ControlMessage {
    #[prost(message, optional, tag = "1")]
    pub common: Option<Common>,
    #[prost(int32, tag = "2")]
    pub status: i32,
}

/// `ControlMessage.status` when the stream has ended.
pub const CONTROL_ENDED: i32 = 3;

/// An `hb` frame.
pub fn heartbeat_frame() -> Vec<u8> {
    PushFrame {
        payload_type: "hb".into(),
        ..PushFrame::default()
    }
    .encode_to_vec()
}

/// The `ack` frame for a frame whose response asked for one.
pub fn ack_frame(log_id: u64, internal_ext: &str) -> Vec<u8> {
    PushFrame {
        log_id,
        payload_type: "ack".into(),
        payload: internal_ext.as_bytes().to_vec(),
        ..PushFrame::default()
    }
    .encode_to_vec()
}

/// What one frame from the server holds.
#[derive(Debug, Default, PartialEq)]
pub struct Incoming {
    /// The frame's `seqId` (0 when absent).
    pub seq_id: u64,
    pub effects: Effects,
    /// The ack to send back, when the response asked for one.
    pub ack: Option<Vec<u8>>,
}

/// Reads one binary frame: never panics, bounded by [`MAX_DECOMPRESSED`] after gzip.
pub fn read_frame(bytes: &[u8]) -> Incoming {
    let frame = match PushFrame::decode(bytes) {
        Ok(frame) => frame,
        Err(e) => {
            return Incoming {
                effects: Effects::error("bad_frame", e.to_string()),
                ..Incoming::default()
            };
        }
    };
    let mut incoming = Incoming {
        seq_id: frame.seq_id,
        ..Incoming::default()
    };
    match frame.payload_type.as_str() {
        "msg" => {}
        // The server's answer to our heartbeat.
        "hb" => return incoming,
        other => {
            incoming.effects = Effects::ignored(format!("payloadType:{other}"));
            return incoming;
        }
    }
    let gzip = frame.payload_encoding == "gzip" || frame.payload.starts_with(&[0x1f, 0x8b]);
    let payload = if gzip {
        match gunzip(&frame.payload) {
            Ok(p) => p,
            Err(kind) => {
                incoming.effects = Effects::error(kind, "the frame's gzip payload");
                return incoming;
            }
        }
    } else {
        frame.payload
    };
    let response = match Response::decode(payload.as_slice()) {
        Ok(r) => r,
        Err(e) => {
            incoming.effects = Effects::error("bad_response", e.to_string());
            return incoming;
        }
    };
    if response.need_ack {
        incoming.ack = Some(ack_frame(frame.log_id, &response.internal_ext));
    }
    for message in &response.messages_list {
        incoming.effects.merge(map_message(message));
    }
    incoming
}

fn gunzip(data: &[u8]) -> Result<Vec<u8>, &'static str> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .take(MAX_DECOMPRESSED as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| "decompress")?;
    if out.len() > MAX_DECOMPRESSED {
        return Err("too_large");
    }
    Ok(out)
}

fn id_of(message: &Message, common: Option<&Common>) -> Option<String> {
    let id = if message.msg_id != 0 {
        message.msg_id.to_string()
    } else {
        common.map(|c| c.msg_id).filter(|&id| id != 0)?.to_string()
    };
    Some(format!("dy:{id}"))
}

fn user_of(user: Option<&User>) -> (Option<String>, Option<String>) {
    match user {
        Some(u) => (
            (u.id != 0).then(|| format!("dy:{}", u.id)),
            Some(u.nick_name.clone()),
        ),
        None => (None, None),
    }
}

/// An event's envelope: id, viewer, name, time, and the viewer's fan club as a medal.
fn envelope_of(
    message: &Message,
    common: Option<&Common>,
    user: Option<&User>,
    ts: Option<i64>,
) -> crate::ingest::Envelope {
    let (id, nick) = user_of(user);
    let mut env = envelope(
        id_of(message, common),
        id,
        nick,
        ts.or_else(|| created(common)),
    );
    env.medal = user
        .and_then(|u| u.fans_club.as_ref()?.data.as_ref())
        .filter(|club| club.level > 0)
        .and_then(|club| super::medal(Some(&club.club_name), u64::try_from(club.level).ok()));
    env
}

fn created(common: Option<&Common>) -> Option<i64> {
    common.and_then(|c| to_ms(i64::try_from(c.create_time).ok()?))
}

/// Maps one `Message` by its `method`.
pub fn map_message(message: &Message) -> Effects {
    let payload = message.payload.as_slice();
    let bad =
        |e: prost::DecodeError| Effects::error("bad_message", format!("{}: {e}", message.method));
    match message.method.as_str() {
        "WebcastChatMessage" => {
            let chat = match ChatMessage::decode(payload) {
                Ok(m) => m,
                Err(e) => return bad(e),
            };
            if chat.content.trim().is_empty() {
                return Effects::error("bad_message", "WebcastChatMessage without content");
            }
            let ts = i64::try_from(chat.event_time).ok().and_then(to_ms);
            let env = envelope_of(message, chat.common.as_ref(), chat.user.as_ref(), ts);
            Effects::event(super::comment(env, chat.content))
        }
        "WebcastGiftMessage" => {
            let gift = match GiftMessage::decode(payload) {
                Ok(m) => m,
                Err(e) => return bad(e),
            };
            let info = gift.gift.clone().unwrap_or_default();
            if info.combo && gift.repeat_end == 0 {
                // A combo in progress: counted once, on its last message.
                return Effects::ignored("WebcastGiftMessage(combo in progress)");
            }
            let count = gift
                .repeat_count
                .max(1)
                .saturating_mul(gift.group_count.max(1))
                .min(u64::from(u32::MAX)) as u32;
            let name = if info.name.is_empty() {
                format!(
                    "gift-{}",
                    if gift.gift_id != 0 {
                        gift.gift_id
                    } else {
                        info.id
                    }
                )
            } else {
                info.name
            };
            // 抖币 (diamonds): 10 to the yuan.
            let value = f64::from(info.diamond_count) * f64::from(count) / 10.0;
            let env = envelope_of(message, gift.common.as_ref(), gift.user.as_ref(), None);
            Effects::event(super::gift(env, name, count, value))
        }
        "WebcastLikeMessage" => {
            let like = match LikeMessage::decode(payload) {
                Ok(m) => m,
                Err(e) => return bad(e),
            };
            let env = envelope_of(message, like.common.as_ref(), like.user.as_ref(), None);
            let count = like.count.clamp(1, u64::from(u32::MAX)) as u32;
            Effects::event(super::like(env, count))
        }
        "WebcastMemberMessage" => {
            let member = match MemberMessage::decode(payload) {
                Ok(m) => m,
                Err(e) => return bad(e),
            };
            let env = envelope_of(message, member.common.as_ref(), member.user.as_ref(), None);
            Effects::event(super::enter(env))
        }
        "WebcastSocialMessage" => {
            let social = match SocialMessage::decode(payload) {
                Ok(m) => m,
                Err(e) => return bad(e),
            };
            if social.action != 1 {
                return Effects {
                    shares: 1,
                    ..Effects::default()
                };
            }
            let env = envelope_of(message, social.common.as_ref(), social.user.as_ref(), None);
            Effects::event(super::follow(env))
        }
        "WebcastRoomUserSeqMessage" => match RoomUserSeqMessage::decode(payload) {
            Ok(seq) => Effects {
                viewers: u64::try_from(seq.total).ok(),
                watched: u64::try_from(seq.total_user).ok().filter(|&n| n > 0),
                ..Effects::default()
            },
            Err(e) => bad(e),
        },
        "WebcastControlMessage" => match ControlMessage::decode(payload) {
            Ok(control) if control.status == CONTROL_ENDED => Effects {
                live: Some(false),
                ..Effects::default()
            },
            Ok(control) => Effects::ignored(format!("WebcastControlMessage:{}", control.status)),
            Err(e) => bad(e),
        },
        "WebcastLiveShoppingMessage" => match LiveShoppingMessage::decode(payload) {
            Ok(shop) if shop.msg_type == SHOPPING_SET_CURRENT => {
                let id = if shop.promotion_id != 0 {
                    shop.promotion_id
                } else {
                    shop.promotion_id_app
                };
                if id == 0 {
                    return Effects::error(
                        "bad_message",
                        "WebcastLiveShoppingMessage: explaining without a promotion id",
                    );
                }
                Effects {
                    pitching: Some(PitchingHint {
                        promotion: Some(id.to_string()),
                        product: None,
                        at: created(shop.common.as_ref()),
                    }),
                    ..Effects::default()
                }
            }
            Ok(shop) if shop.msg_type == SHOPPING_CANCEL_CURRENT => Effects {
                pitching: Some(PitchingHint {
                    promotion: None,
                    product: None,
                    at: created(shop.common.as_ref()),
                }),
                ..Effects::default()
            },
            Ok(shop) => Effects::ignored(format!("WebcastLiveShoppingMessage:{}", shop.msg_type)),
            Err(e) => bad(e),
        },
        "WebcastProductChangeMessage" => match ProductChangeMessage::decode(payload) {
            Ok(change) => Effects {
                shelf: Some(Shelf {
                    total: u64::try_from(change.total).ok(),
                    note: change.update_toast,
                }),
                ..Effects::default()
            },
            Err(e) => bad(e),
        },
        other => Effects::ignored(other),
    }
}

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
    /// An HTTP endpoint the operator runs that signs push URLs (see [`sign_url`]); asked
    /// before every connection. When it fails, `url` is used as it is.
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
        super::check_ws_url(&self.url)?;
        if let Some(signer) = &self.signer_url {
            super::http::check_http_url("signer_url", signer)?;
        }
        self.timing.validate(TIMING)
    }

    pub fn backoff(&self) -> BackoffConfig {
        self.timing.schedule(TIMING).backoff
    }
}

pub(crate) fn session(config: &DouyinConfig, sink: Sink) -> Result<DouyinSession, String> {
    let schedule = config.timing.schedule(TIMING);
    let signer = match &config.signer_url {
        Some(url) => Some(Signer {
            http: Http::new().map_err(|e| e.to_string())?,
            url: url.clone(),
            token: config.signer_token.clone(),
            unsigned: without_param(&config.url, "signature"),
            room_id: config.room_id,
            user_agent: config.user_agent.clone().unwrap_or_default(),
        }),
        None => None,
    };
    Ok(DouyinSession {
        // No handshake: the signed URL is the authentication.
        connect: Connect {
            url: config.url.clone(),
            headers: vec![
                ("Cookie", config.cookie.expose().to_owned()),
                ("User-Agent", config.user_agent.clone().unwrap_or_default()),
                ("Origin", config.origin.clone().unwrap_or_default()),
            ],
            hello: None,
            beat_at_start: false,
            heartbeat: schedule.heartbeat,
            idle: schedule.idle,
        },
        signer,
        protocol: DouyinProtocol {
            products: config.products.clone(),
        },
        sink,
    })
}

/// A `douyin` source: with a signer, each connection asks it for a freshly signed URL.
pub(crate) struct DouyinSession {
    connect: Connect,
    signer: Option<Signer>,
    protocol: DouyinProtocol,
    sink: Sink,
}

/// The operator's URL signer.
struct Signer {
    http: Http,
    url: String,
    token: Secret,
    /// The configured `url` without its `signature`.
    unsigned: String,
    room_id: Option<u64>,
    user_agent: String,
}

/// The signature parameter's value, percent-encoded where it is not URL-safe.
fn encode_param(value: &str) -> String {
    use std::fmt::Write as _;
    value.bytes().fold(String::new(), |mut out, b| {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
        out
    })
}

/// `url` without the query parameter `name`.
pub fn without_param(url: &str, name: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some(name))
        .collect();
    if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    }
}

/// What a signer's answer means for `unsigned`: a whole signed URL (`{"url": "wss://…"}`),
/// or the signature to add (`{"signature": "…"}`).
pub fn sign_url(unsigned: &str, answer: &Value) -> Result<String, String> {
    if let Some(url) = answer.get("url").and_then(Value::as_str) {
        super::check_ws_url(url)?;
        return Ok(url.to_owned());
    }
    match answer.get("signature").and_then(Value::as_str) {
        Some(signature) if !signature.is_empty() => {
            let sep = if unsigned.contains('?') { '&' } else { '?' };
            Ok(format!(
                "{unsigned}{sep}signature={}",
                encode_param(signature)
            ))
        }
        _ => Err("the signer's answer has neither url nor signature".into()),
    }
}

impl Signer {
    /// Asks for a signed URL: `POST {signer_url}` with `{"url", "room_id", "user_agent"}`.
    async fn sign(&self) -> Result<String, String> {
        let body = serde_json::json!({
            "url": self.unsigned,
            "room_id": self.room_id.map(|id| id.to_string()),
            "user_agent": self.user_agent,
        });
        let auth = if self.token.is_empty() {
            String::new()
        } else {
            format!("Bearer {}", self.token.expose())
        };
        let answer = self
            .http
            .post_json(
                &self.url,
                &[("Authorization", auth)],
                body.to_string().into_bytes(),
            )
            .await
            .map_err(|e| e.to_string())?;
        sign_url(&self.unsigned, &answer)
    }
}

impl Session for DouyinSession {
    async fn run(&mut self, cancel: &CancellationToken) -> SessionEnd {
        let mut connect = self.connect.clone();
        if let Some(signer) = &self.signer {
            let signed = tokio::select! {
                () = cancel.cancelled() => return SessionEnd::Cancelled,
                signed = signer.sign() => signed,
            };
            match signed {
                Ok(url) => connect.url = url,
                Err(e) => {
                    // The configured URL stands in (it may still be signed well enough).
                    self.sink
                        .status()
                        .decode_error("signer", &format!("signer: {e}"));
                }
            }
        }
        session::run(&connect, &mut self.protocol, &self.sink, cancel).await
    }
}

/// The web push protocol: `PushFrame`s in, acks and `hb` frames out.
pub(crate) struct DouyinProtocol {
    /// Platform product ids → catalog ids.
    products: BTreeMap<String, String>,
}

impl Protocol for DouyinProtocol {
    fn heartbeat(&self) -> WsMessage {
        WsMessage::Binary(heartbeat_frame().into())
    }

    fn on_frame(&mut self, frame: Frame<'_>, _now: i64) -> session::Incoming {
        let Frame::Binary(bytes) = frame else {
            return session::Incoming::effects(Effects::error(
                "text_frame",
                "a text frame on a binary protocol",
            ));
        };
        let mut read = read_frame(bytes);
        if let Some(hint) = &mut read.effects.pitching {
            hint.product = hint
                .promotion
                .as_ref()
                .and_then(|p| self.products.get(p).cloned());
        }
        session::Incoming {
            effects: read.effects,
            replies: read
                .ack
                .map(|ack| WsMessage::Binary(ack.into()))
                .into_iter()
                .collect(),
            handshake: None,
            seqs: vec![read.seq_id],
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::io::Write;

    use proptest::prelude::*;

    use super::*;
    use crate::ingest::IngestEvent;

    const PROTO: &str = include_str!("proto/douyin.proto");

    /// `message → field name → number`, read from the .proto file.
    fn proto_fields() -> BTreeMap<String, BTreeMap<String, u32>> {
        let mut out: BTreeMap<String, BTreeMap<String, u32>> = BTreeMap::new();
        let mut current = None;
        for line in PROTO.lines() {
            let line = line.split("//").next().unwrap_or("").trim();
            if let Some(rest) = line.strip_prefix("message ") {
                let name = rest.trim_end_matches('{').trim().to_owned();
                out.entry(name.clone()).or_default();
                current = Some(name);
            } else if line == "}" {
                current = None;
            } else if let (Some(message), Some((decl, number))) = (&current, line.split_once('=')) {
                let name = decl.split_whitespace().last().unwrap().to_owned();
                let number: u32 = number.trim().trim_end_matches(';').parse().unwrap();
                out.get_mut(message).unwrap().insert(name, number);
            }
        }
        out
    }

    /// A raw protobuf field as it sits on the wire.
    #[derive(Debug, PartialEq)]
    enum Raw {
        Varint(u64),
        Bytes(Vec<u8>),
    }

    fn varint(buf: &[u8], at: &mut usize) -> u64 {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = buf[*at];
            *at += 1;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
        }
        value
    }

    /// The top-level fields of an encoded message, by number.
    fn wire(buf: &[u8]) -> BTreeMap<u32, Vec<Raw>> {
        let mut out: BTreeMap<u32, Vec<Raw>> = BTreeMap::new();
        let mut at = 0;
        while at < buf.len() {
            let key = varint(buf, &mut at);
            let raw = match key & 7 {
                0 => Raw::Varint(varint(buf, &mut at)),
                2 => {
                    let len = varint(buf, &mut at) as usize;
                    at += len;
                    Raw::Bytes(buf[at - len..at].to_vec())
                }
                other => panic!("wire type {other}"),
            };
            out.entry((key >> 3) as u32).or_default().push(raw);
        }
        out
    }

    /// Asserts that `encoded` (a `message` of the .proto) carries each named field's value under
    /// the number the .proto gives it, and no field the .proto lacks.
    fn check(message: &str, encoded: &[u8], fields: Vec<(&str, Raw)>) {
        let proto = proto_fields();
        let numbers = &proto[message];
        assert_eq!(
            fields.len(),
            numbers.len(),
            "{message}: the test must set every field of the .proto"
        );
        let mut wire = wire(encoded);
        for (name, raw) in fields {
            let number = numbers
                .get(name)
                .unwrap_or_else(|| panic!("{message}.{name} is not in douyin.proto"));
            let got = wire.remove(number);
            assert_eq!(got, Some(vec![raw]), "{message}.{name} = {number}");
        }
        assert!(
            wire.is_empty(),
            "{message}: fields not in the .proto: {wire:?}"
        );
    }

    fn common() -> Common {
        Common {
            method: "WebcastChatMessage".into(),
            msg_id: 11,
            room_id: 12,
            create_time: 1_763_900_000_456,
        }
    }

    fn user() -> User {
        User {
            id: 4242,
            nick_name: "小鱼".into(),
            fans_club: Some(fans_club()),
        }
    }

    fn fans_club() -> FansClub {
        FansClub {
            data: Some(FansClubData {
                club_name: "鱼团".into(),
                level: 7,
            }),
        }
    }

    fn bytes(s: &str) -> Raw {
        Raw::Bytes(s.as_bytes().to_vec())
    }

    #[test]
    fn derived_structs_match_the_proto_file() {
        use Raw::{Bytes, Varint};
        let c = common();
        let u = user();
        let cb = || Bytes(common().encode_to_vec());
        let ub = || Bytes(user().encode_to_vec());
        check(
            "Common",
            &c.encode_to_vec(),
            vec![
                ("method", bytes("WebcastChatMessage")),
                ("msgId", Varint(11)),
                ("roomId", Varint(12)),
                ("createTime", Varint(1_763_900_000_456)),
            ],
        );
        let club = fans_club();
        let data = club.data.clone().unwrap();
        check(
            "FansClubData",
            &data.encode_to_vec(),
            vec![("clubName", bytes("鱼团")), ("level", Varint(7))],
        );
        check(
            "FansClub",
            &club.encode_to_vec(),
            vec![("data", Bytes(data.encode_to_vec()))],
        );
        check(
            "User",
            &u.encode_to_vec(),
            vec![
                ("id", Varint(4242)),
                ("nickName", bytes("小鱼")),
                ("fansClub", Bytes(club.encode_to_vec())),
            ],
        );
        let header = HeadersList {
            key: "k".into(),
            value: "v".into(),
        };
        check(
            "HeadersList",
            &header.encode_to_vec(),
            vec![("key", bytes("k")), ("value", bytes("v"))],
        );
        let frame = PushFrame {
            seq_id: 1,
            log_id: 2,
            service: 3,
            method: 4,
            headers_list: vec![header.clone()],
            payload_encoding: "gzip".into(),
            payload_type: "msg".into(),
            payload: vec![9, 9],
        };
        check(
            "PushFrame",
            &frame.encode_to_vec(),
            vec![
                ("seqId", Varint(1)),
                ("logId", Varint(2)),
                ("service", Varint(3)),
                ("method", Varint(4)),
                ("headersList", Bytes(header.encode_to_vec())),
                ("payloadEncoding", bytes("gzip")),
                ("payloadType", bytes("msg")),
                ("payload", Bytes(vec![9, 9])),
            ],
        );
        let message = Message {
            method: "m".into(),
            payload: vec![1],
            msg_id: 77,
        };
        check(
            "Message",
            &message.encode_to_vec(),
            vec![
                ("method", bytes("m")),
                ("payload", Bytes(vec![1])),
                ("msgId", Varint(77)),
            ],
        );
        let response = Response {
            messages_list: vec![message.clone()],
            cursor: "c".into(),
            fetch_interval: 5,
            now: 6,
            internal_ext: "ext".into(),
            need_ack: true,
        };
        check(
            "Response",
            &response.encode_to_vec(),
            vec![
                ("messagesList", Bytes(message.encode_to_vec())),
                ("cursor", bytes("c")),
                ("fetchInterval", Varint(5)),
                ("now", Varint(6)),
                ("internalExt", bytes("ext")),
                ("needAck", Varint(1)),
            ],
        );
        let chat = ChatMessage {
            common: Some(c.clone()),
            user: Some(u.clone()),
            content: "2号多少钱".into(),
            event_time: 1_763_900_000,
        };
        check(
            "ChatMessage",
            &chat.encode_to_vec(),
            vec![
                ("common", cb()),
                ("user", ub()),
                ("content", bytes("2号多少钱")),
                ("eventTime", Varint(1_763_900_000)),
            ],
        );
        let info = GiftStruct {
            id: 1,
            combo: true,
            diamond_count: 10,
            name: "小心心".into(),
        };
        check(
            "GiftStruct",
            &info.encode_to_vec(),
            vec![
                ("id", Varint(1)),
                ("combo", Varint(1)),
                ("diamondCount", Varint(10)),
                ("name", bytes("小心心")),
            ],
        );
        let gift = GiftMessage {
            common: Some(c.clone()),
            gift_id: 2,
            group_count: 3,
            repeat_count: 4,
            combo_count: 5,
            user: Some(u.clone()),
            repeat_end: 1,
            gift: Some(info.clone()),
        };
        check(
            "GiftMessage",
            &gift.encode_to_vec(),
            vec![
                ("common", cb()),
                ("giftId", Varint(2)),
                ("groupCount", Varint(3)),
                ("repeatCount", Varint(4)),
                ("comboCount", Varint(5)),
                ("user", ub()),
                ("repeatEnd", Varint(1)),
                ("gift", Bytes(info.encode_to_vec())),
            ],
        );
        let like = LikeMessage {
            common: Some(c.clone()),
            count: 3,
            total: 100,
            user: Some(u.clone()),
        };
        check(
            "LikeMessage",
            &like.encode_to_vec(),
            vec![
                ("common", cb()),
                ("count", Varint(3)),
                ("total", Varint(100)),
                ("user", ub()),
            ],
        );
        let member = MemberMessage {
            common: Some(c.clone()),
            user: Some(u.clone()),
            member_count: 9,
        };
        check(
            "MemberMessage",
            &member.encode_to_vec(),
            vec![("common", cb()), ("user", ub()), ("memberCount", Varint(9))],
        );
        let social = SocialMessage {
            common: Some(c.clone()),
            user: Some(u.clone()),
            share_type: 2,
            action: 1,
        };
        check(
            "SocialMessage",
            &social.encode_to_vec(),
            vec![
                ("common", cb()),
                ("user", ub()),
                ("shareType", Varint(2)),
                ("action", Varint(1)),
            ],
        );
        let seq = RoomUserSeqMessage {
            common: Some(c.clone()),
            total: 321,
            total_user: 5000,
        };
        check(
            "RoomUserSeqMessage",
            &seq.encode_to_vec(),
            vec![
                ("common", cb()),
                ("total", Varint(321)),
                ("totalUser", Varint(5000)),
            ],
        );
        let control = ControlMessage {
            common: Some(c.clone()),
            status: 3,
        };
        check(
            "ControlMessage",
            &control.encode_to_vec(),
            vec![("common", cb()), ("status", Varint(3))],
        );
        let shop = LiveShoppingMessage {
            common: Some(c.clone()),
            msg_type: 2,
            promotion_id_app: 35,
            promotion_id: 36,
        };
        check(
            "LiveShoppingMessage",
            &shop.encode_to_vec(),
            vec![
                ("common", cb()),
                ("msgType", Varint(2)),
                ("promotionIdApp", Varint(35)),
                ("promotionId", Varint(36)),
            ],
        );
        let change = ProductChangeMessage {
            common: Some(c),
            update_toast: "3号已上架".into(),
            total: 12,
        };
        check(
            "ProductChangeMessage",
            &change.encode_to_vec(),
            vec![
                ("common", cb()),
                ("updateToast", bytes("3号已上架")),
                ("total", Varint(12)),
            ],
        );
        // Every message of the .proto is covered above.
        assert_eq!(proto_fields().len(), 18);
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(data).unwrap();
        z.finish().unwrap()
    }

    fn msg(method: &str, msg_id: i64, payload: Vec<u8>) -> Message {
        Message {
            method: method.into(),
            payload,
            msg_id,
        }
    }

    fn frame(messages: Vec<Message>, need_ack: bool) -> Vec<u8> {
        let response = Response {
            messages_list: messages,
            internal_ext: "internal_src:dim|wss_push_room_id:1".into(),
            need_ack,
            ..Response::default()
        };
        PushFrame {
            seq_id: 5,
            log_id: 987_654,
            payload_encoding: "gzip".into(),
            payload_type: "msg".into(),
            payload: gzip(&response.encode_to_vec()),
            ..PushFrame::default()
        }
        .encode_to_vec()
    }

    fn chat(text: &str) -> Vec<u8> {
        ChatMessage {
            common: Some(common()),
            user: Some(user()),
            content: text.into(),
            event_time: 1_763_900_000,
        }
        .encode_to_vec()
    }

    #[test]
    fn a_frame_maps_to_events_and_an_ack() {
        let gift = |combo: bool, end: u32, repeat: u64| {
            GiftMessage {
                common: Some(common()),
                gift_id: 463,
                group_count: 1,
                repeat_count: repeat,
                combo_count: repeat,
                user: Some(user()),
                repeat_end: end,
                gift: Some(GiftStruct {
                    id: 463,
                    combo,
                    diamond_count: 1,
                    name: "小心心".into(),
                }),
            }
            .encode_to_vec()
        };
        let social = |action: u64| {
            SocialMessage {
                user: Some(user()),
                action,
                ..SocialMessage::default()
            }
            .encode_to_vec()
        };
        let bytes = frame(
            vec![
                msg("WebcastChatMessage", 1001, chat("2号多少钱")),
                msg("WebcastGiftMessage", 1002, gift(true, 0, 1)),
                msg("WebcastGiftMessage", 1003, gift(true, 1, 5)),
                msg("WebcastGiftMessage", 1004, gift(false, 0, 1)),
                msg(
                    "WebcastLikeMessage",
                    1005,
                    LikeMessage {
                        count: 15,
                        user: Some(user()),
                        ..LikeMessage::default()
                    }
                    .encode_to_vec(),
                ),
                msg(
                    "WebcastMemberMessage",
                    1006,
                    MemberMessage {
                        user: Some(user()),
                        ..MemberMessage::default()
                    }
                    .encode_to_vec(),
                ),
                msg("WebcastSocialMessage", 1007, social(1)),
                msg("WebcastSocialMessage", 1008, social(3)),
                msg(
                    "WebcastRoomUserSeqMessage",
                    1009,
                    RoomUserSeqMessage {
                        total: 321,
                        total_user: 5000,
                        ..RoomUserSeqMessage::default()
                    }
                    .encode_to_vec(),
                ),
                msg(
                    "WebcastControlMessage",
                    1010,
                    ControlMessage {
                        common: None,
                        status: 3,
                    }
                    .encode_to_vec(),
                ),
                msg(
                    "WebcastProductChangeMessage",
                    1011,
                    ProductChangeMessage {
                        common: None,
                        update_toast: "3号已上架".into(),
                        total: 12,
                    }
                    .encode_to_vec(),
                ),
                msg("WebcastRanklistHourEntranceMessage", 1013, vec![1, 2, 3]),
                msg("WebcastChatMessage", 1012, vec![0xff, 0xff]),
            ],
            true,
        );
        let incoming = read_frame(&bytes);
        assert_eq!(incoming.seq_id, 5);
        let ack = PushFrame::decode(incoming.ack.unwrap().as_slice()).unwrap();
        assert_eq!(ack.payload_type, "ack");
        assert_eq!(ack.log_id, 987_654);
        assert_eq!(ack.payload, b"internal_src:dim|wss_push_room_id:1");
        let e = incoming.effects;
        let kinds: Vec<&str> = e.events.iter().map(IngestEvent::kind).collect();
        assert_eq!(
            kinds,
            ["comment", "gift", "gift", "like", "enter", "follow"]
        );
        match &e.events[0] {
            IngestEvent::Comment(c) => {
                assert_eq!(c.text, "2号多少钱");
                assert_eq!(c.env.id.as_deref(), Some("dy:1001"));
                assert_eq!(c.env.user.as_deref(), Some("dy:4242"));
                assert_eq!(c.env.name.as_deref(), Some("小鱼"));
                assert_eq!(c.env.ts, Some(1_763_900_000_000));
                assert_eq!(
                    c.env.medal,
                    Some(crate::ingest::Medal {
                        name: "鱼团".into(),
                        level: 7
                    }),
                    "the fan club is the viewer's medal"
                );
            }
            other => panic!("{other:?}"),
        }
        match &e.events[1] {
            IngestEvent::Gift(g) => {
                assert_eq!((g.gift.as_str(), g.count), ("小心心", 5));
                assert!((g.value - 0.5).abs() < 1e-9);
                assert_eq!(g.env.id.as_deref(), Some("dy:1003"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&e.events[3], IngestEvent::Like(l) if l.count == 15));
        assert_eq!(e.shares, 1);
        assert_eq!(e.viewers, Some(321));
        assert_eq!(e.watched, Some(5000));
        assert_eq!(e.live, Some(false));
        assert_eq!(
            e.ignored,
            [
                "WebcastGiftMessage(combo in progress)",
                "WebcastRanklistHourEntranceMessage"
            ]
        );
        assert_eq!(
            e.shelf,
            Some(Shelf {
                total: Some(12),
                note: "3号已上架".into()
            })
        );
        assert_eq!(e.errors.len(), 1);
        assert_eq!(e.errors[0].0, "bad_message");
    }

    #[test]
    fn shopping_messages_say_which_product_is_explained() {
        let shop = |msg_type: i32, app: i64, web: i64| {
            let message = msg(
                "WebcastLiveShoppingMessage",
                1,
                LiveShoppingMessage {
                    common: Some(common()),
                    msg_type,
                    promotion_id_app: app,
                    promotion_id: web,
                }
                .encode_to_vec(),
            );
            map_message(&message)
        };
        // The web field first, the app's when only it is set.
        let hint = shop(SHOPPING_SET_CURRENT, 35, 3_600_000_000_000_000_001).pitching;
        assert_eq!(
            hint,
            Some(PitchingHint {
                promotion: Some("3600000000000000001".into()),
                product: None,
                at: Some(1_763_900_000_456),
            })
        );
        let hint = shop(SHOPPING_SET_CURRENT, 35, 0).pitching.unwrap();
        assert_eq!(hint.promotion.as_deref(), Some("35"));
        assert_eq!(
            shop(SHOPPING_CANCEL_CURRENT, 0, 0)
                .pitching
                .unwrap()
                .promotion,
            None
        );
        assert_eq!(shop(0, 0, 0).ignored, ["WebcastLiveShoppingMessage:0"]);
        assert_eq!(shop(SHOPPING_SET_CURRENT, 0, 0).errors[0].0, "bad_message");
        // The source maps platform ids to the catalog's.
        let mut protocol = DouyinProtocol {
            products: [("35".to_owned(), "2".to_owned())].into(),
        };
        let bytes = frame(
            vec![msg(
                "WebcastLiveShoppingMessage",
                1,
                LiveShoppingMessage {
                    msg_type: SHOPPING_SET_CURRENT,
                    promotion_id: 35,
                    ..LiveShoppingMessage::default()
                }
                .encode_to_vec(),
            )],
            false,
        );
        let incoming = protocol.on_frame(Frame::Binary(&bytes), 0);
        let hint = incoming.effects.pitching.unwrap();
        assert_eq!(hint.product.as_deref(), Some("2"));
        assert_eq!(incoming.effects.events, []);
    }

    #[test]
    fn signer_answers_become_urls() {
        let base = "wss://h/webcast/im/push/v2/?app_name=douyin_web&room_id=7&signature=old&x=1";
        let unsigned = without_param(base, "signature");
        assert_eq!(
            unsigned,
            "wss://h/webcast/im/push/v2/?app_name=douyin_web&room_id=7&x=1"
        );
        assert_eq!(
            without_param("wss://h/p?signature=a", "signature"),
            "wss://h/p"
        );
        assert_eq!(
            sign_url(&unsigned, &serde_json::json!({"signature": "a+b/c="})).unwrap(),
            format!("{unsigned}&signature=a%2Bb%2Fc%3D")
        );
        assert_eq!(
            sign_url(
                &unsigned,
                &serde_json::json!({"url": "wss://h/p?signature=z"})
            )
            .unwrap(),
            "wss://h/p?signature=z"
        );
        assert!(sign_url(&unsigned, &serde_json::json!({"url": "http://h/p"})).is_err());
        assert!(sign_url(&unsigned, &serde_json::json!({"ok": true})).is_err());
        let config: DouyinConfig =
            toml::from_str("url = 'wss://h/p'\nsigner_url = 'ftp://x'").unwrap();
        assert!(config.validate().unwrap_err().contains("signer_url"));
    }

    #[test]
    fn no_ack_unless_asked() {
        let incoming = read_frame(&frame(
            vec![msg("WebcastChatMessage", 1, chat("hi"))],
            false,
        ));
        assert_eq!(incoming.ack, None);
        assert_eq!(incoming.effects.events.len(), 1);
    }

    #[test]
    fn heartbeat_and_garbage_frames() {
        let hb = PushFrame::decode(heartbeat_frame().as_slice()).unwrap();
        assert_eq!(hb.payload_type, "hb");
        assert_eq!(read_frame(&heartbeat_frame()), Incoming::default());
        assert_eq!(
            read_frame(&[0xff, 0xff, 0xff]).effects.errors[0].0,
            "bad_frame"
        );
        let not_gzip = PushFrame {
            payload_type: "msg".into(),
            payload_encoding: "gzip".into(),
            payload: b"plain".to_vec(),
            ..PushFrame::default()
        };
        assert_eq!(
            read_frame(&not_gzip.encode_to_vec()).effects.errors[0].0,
            "decompress"
        );
        let bomb = PushFrame {
            payload_type: "msg".into(),
            payload_encoding: "gzip".into(),
            payload: gzip(&vec![0u8; MAX_DECOMPRESSED + 1]),
            ..PushFrame::default()
        };
        assert_eq!(
            read_frame(&bomb.encode_to_vec()).effects.errors[0].0,
            "too_large"
        );
    }

    #[test]
    fn every_truncation_of_a_real_frame_is_survived() {
        let bytes = frame(
            vec![
                msg("WebcastChatMessage", 1, chat("好看")),
                msg("WebcastChatMessage", 2, chat("2号有M码吗")),
            ],
            true,
        );
        for cut in 0..bytes.len() {
            let incoming = read_frame(&bytes[..cut]);
            assert!(incoming.effects.events.len() <= 2);
        }
        assert_eq!(read_frame(&bytes).effects.events.len(), 2);
    }

    proptest! {
        #[test]
        fn arbitrary_frames_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = read_frame(&bytes);
        }

        #[test]
        fn corrupted_frames_never_panic(flip in 0usize..1000, byte in any::<u8>()) {
            let mut bytes = frame(vec![msg("WebcastChatMessage", 1, chat("好看"))], true);
            let at = flip % bytes.len();
            bytes[at] = byte;
            let _ = read_frame(&bytes);
        }
    }
}
