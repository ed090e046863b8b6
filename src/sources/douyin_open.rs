//! Douyin open platform push (`kind = "douyin_open"`): an HTTP endpoint the platform posts a
//! room's comments, gifts and likes to (直播间数据开放, the supported way to read a room).
//!
//! Each push is a `POST` to the configured path with a JSON array of items of one type, and
//! headers `x-nonce-str`, `x-timestamp`, `x-roomid`, `x-msg-type` and `x-signature`. The
//! signature is `base64(md5("x-msg-type=…&x-nonce-str=…&x-roomid=…&x-timestamp=…" + body +
//! secret))`, the four headers in key order (the platform's documented scheme); a push whose
//! signature does not match gets `401` and nothing of it is stored.
//!
//! | `x-msg-type` | item fields read | event |
//! |---|---|---|
//! | `live_comment` | `msg_id`, `sec_openid`, `nickname`, `content`, `timestamp` | comment |
//! | `live_gift` | … `sec_gift_id`, `gift_num`, `gift_value` (fen, the whole gift), `test` | gift |
//! | `live_like` | … `like_num` | like |
//!
//! Other types (`live_fansclub`, new ones) are answered `200` and counted as ignored. The
//! platform may push an item twice: items are deduped on `msg_id`. Gift ids are opaque
//! (`sec_gift_id`); `gift_names` maps them to names. Platform test gifts (`"test": true`) are
//! dropped unless `accept_test`. Answers are immediate: verify, map, queue, reply.
//!
//! Several rooms may share one path (one app, one push address): each source then names its
//! `room_id` and the `x-roomid` header picks it.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use md5::{Digest as _, Md5};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::{Secret, Sink, envelope, json, to_ms, viewer};
use crate::clock::now_ms;
use crate::ingest::{IngestEvent, MAX_EVENTS_PER_FRAME};
use crate::wire::{Ack, ErrorReply, Rejected};

/// `[[rooms.sources]] kind = "douyin_open"`.
///
/// ```toml
/// [[rooms.sources]]
/// kind = "douyin_open"
/// url = "/hooks/douyin"         # the path we listen on (the push address's path)
/// secret = "..."                # the app's push secret (开发配置)
/// room_id = "7300000000000000000"   # needed when rooms share the path
/// # optional: accept_test = false, max_age_s = 0 (off), [rooms.sources.gift_names] "<sec_gift_id>" = "小心心"
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DouyinOpenConfig {
    #[serde(default)]
    pub name: Option<String>,
    /// The webhook path (under `/hooks/`).
    pub url: String,
    /// The secret the platform signs pushes with.
    pub secret: Secret,
    /// The platform's room id (`x-roomid`), a string or a number.
    #[serde(default, deserialize_with = "string_or_number")]
    pub room_id: Option<String>,
    /// Keep the platform's test gifts.
    #[serde(default)]
    pub accept_test: bool,
    /// Names for the opaque gift ids.
    #[serde(default)]
    pub gift_names: BTreeMap<String, String>,
    /// Refuse pushes whose `x-timestamp` is further than this from our clock, in seconds
    /// (0: any age). Duplicates within the dedupe window are dropped regardless.
    #[serde(default)]
    pub max_age_s: u64,
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(u64),
    }
    Ok(Option::<Id>::deserialize(d)?.map(|id| match id {
        Id::Text(s) => s,
        Id::Number(n) => n.to_string(),
    }))
}

impl DouyinOpenConfig {
    pub fn validate(&self) -> Result<(), String> {
        super::check_webhook_path(&self.url)?;
        if self.secret.is_empty() {
            return Err("secret is empty: pushes could not be verified".into());
        }
        if self.room_id.as_deref().is_some_and(str::is_empty) {
            return Err("room_id is empty".into());
        }
        Ok(())
    }
}

/// `base64(md5(sorted headers + body + secret))`, the platform's push signature.
pub fn signature(
    msg_type: &str,
    nonce: &str,
    room_id: &str,
    timestamp: &str,
    body: &[u8],
    secret: &str,
) -> String {
    let mut md5 = Md5::new();
    md5.update(
        format!(
            "x-msg-type={msg_type}&x-nonce-str={nonce}&x-roomid={room_id}&x-timestamp={timestamp}"
        )
        .as_bytes(),
    );
    md5.update(body);
    md5.update(secret.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(md5.finalize())
}

/// Compares without stopping at the first difference (no timing hint to a forger).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Maps one pushed item; `Ok(None)` for what is not an event (test gifts, other types).
pub fn map_item(
    msg_type: &str,
    item: &Value,
    config: &DouyinOpenConfig,
) -> Result<Option<IngestEvent>, String> {
    if !item.is_object() {
        return Err("an item must be a JSON object".into());
    }
    let field = |name: &str| item.get(name);
    let id = json::string(field("msg_id"))
        .filter(|id| !id.is_empty())
        .map(|id| format!("dyopen:{id}"));
    let user = json::string(field("sec_openid")).and_then(|id| viewer("dyopen", &id));
    let name = field("nickname").and_then(Value::as_str).map(str::to_owned);
    let ts = json::i64(field("timestamp")).and_then(to_ms);
    let env = envelope(id, user, name, ts);
    match msg_type {
        "live_comment" => match field("content").and_then(Value::as_str) {
            Some(text) if !text.trim().is_empty() => Ok(Some(super::comment(env, text.into()))),
            _ => Err("live_comment without content".into()),
        },
        "live_gift" => {
            if field("test").and_then(Value::as_bool) == Some(true) && !config.accept_test {
                return Ok(None);
            }
            let gift_id = json::string(field("sec_gift_id")).unwrap_or_default();
            let gift = config.gift_names.get(&gift_id).cloned().unwrap_or_else(|| {
                if gift_id.is_empty() {
                    "礼物".into()
                } else {
                    gift_id
                }
            });
            let count = json::count(field("gift_num")).unwrap_or(1);
            // `gift_value` is the whole gift's value in fen.
            let value = json::f64(field("gift_value")).unwrap_or(0.0) / 100.0;
            Ok(Some(super::gift(env, gift, count, value)))
        }
        "live_like" => {
            let count = json::count(field("like_num")).unwrap_or(1);
            Ok(Some(super::like(env, count)))
        }
        _ => Ok(None),
    }
}

/// One `douyin_open` source as the router serves it.
#[derive(Debug)]
pub(crate) struct Target {
    config: DouyinOpenConfig,
    sink: Sink,
}

impl Target {
    pub(crate) fn new(config: DouyinOpenConfig, sink: Sink) -> Target {
        Target { config, sink }
    }

    pub(crate) fn path(&self) -> &str {
        &self.config.url
    }
}

fn reply(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    reply(status, ErrorReply::new(code, message).to_json())
}

/// `POST <path>`: verify, map, queue, answer.
pub(crate) async fn handle(
    State(targets): State<Arc<Vec<Arc<Target>>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let (nonce, timestamp, room_id, msg_type, signed) = (
        get("x-nonce-str"),
        get("x-timestamp"),
        get("x-roomid"),
        get("x-msg-type"),
        get("x-signature"),
    );
    if [nonce, timestamp, msg_type, signed]
        .iter()
        .any(|h| h.is_empty())
    {
        // Unsigned: refused before anything else (counted on the path's first source).
        if let Some(first) = targets.first() {
            first
                .sink
                .status()
                .decode_error("bad_signature", "a push without its signature headers");
        }
        return refuse(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            "x-nonce-str, x-timestamp, x-msg-type and x-signature are required",
        );
    }
    let target = targets
        .iter()
        .find(|t| t.config.room_id.as_deref() == Some(room_id))
        .or_else(|| targets.iter().find(|t| t.config.room_id.is_none()));
    let Some(target) = target else {
        return refuse(
            StatusCode::NOT_FOUND,
            "unknown_room",
            "no source is configured for this x-roomid",
        );
    };
    let status = target.sink.status();
    let now = now_ms();
    status.message(now);
    let expected = signature(
        msg_type,
        nonce,
        room_id,
        timestamp,
        &body,
        target.config.secret.expose(),
    );
    if !same(expected.as_bytes(), signed.as_bytes()) {
        status.decode_error("bad_signature", "a push whose x-signature does not match");
        return refuse(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            "x-signature does not match",
        );
    }
    if target.config.max_age_s > 0 {
        let sent = timestamp.parse::<i64>().ok().and_then(to_ms);
        let fresh = sent.is_some_and(|t| {
            (now - t).unsigned_abs() <= target.config.max_age_s.saturating_mul(1000)
        });
        if !fresh {
            status.decode_error(
                "stale",
                "a push whose x-timestamp is too far from our clock",
            );
            return refuse(
                StatusCode::UNAUTHORIZED,
                "stale",
                "x-timestamp is too old or in the future",
            );
        }
    }
    let items = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(items)) => items,
        Ok(object @ Value::Object(_)) => vec![object],
        Ok(_) => {
            status.decode_error("bad_json", "a push that is neither an array nor an object");
            return refuse(
                StatusCode::BAD_REQUEST,
                "bad_frame",
                "expected a JSON array",
            );
        }
        Err(e) => {
            status.decode_error("bad_json", &e.to_string());
            return refuse(StatusCode::BAD_REQUEST, "bad_json", &e.to_string());
        }
    };
    if items.len() > MAX_EVENTS_PER_FRAME {
        status.decode_error("too_many_events", "a push with too many items");
        return refuse(
            StatusCode::BAD_REQUEST,
            "too_many_events",
            "too many items in one push",
        );
    }
    let mut events = Vec::with_capacity(items.len());
    let mut positions = Vec::with_capacity(items.len());
    let mut rejected = Vec::new();
    for (index, item) in items.iter().enumerate() {
        match map_item(msg_type, item, &target.config) {
            Ok(Some(event)) => {
                events.push(event);
                positions.push(index);
            }
            Ok(None) => status.ignored(if msg_type.is_empty() {
                "(no x-msg-type)"
            } else {
                msg_type
            }),
            Err(error) => {
                status.decode_error("bad_item", &error);
                rejected.push(Rejected { index, error });
            }
        }
    }
    match target.sink.deliver(events).await {
        Ok(delivered) => {
            rejected.extend(delivered.rejected.into_iter().map(|(i, error)| Rejected {
                index: positions[i],
                error,
            }));
            rejected.sort_by_key(|r| r.index);
            let ack = Ack::new(delivered.accepted, delivered.duplicates, rejected);
            reply(
                StatusCode::OK,
                serde_json::to_string(&ack).unwrap_or_default(),
            )
        }
        Err(_) => refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the room is shutting down",
        ),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn signature_matches_the_documented_example() {
        // The platform documentation's worked example.
        let sig = signature(
            "user_group",
            "123456",
            "268",
            "456789",
            "abc123你好".as_bytes(),
            "123abc",
        );
        assert_eq!(sig, "GAkalGmhzqlUGQO/TgvMug==");
        assert!(same(sig.as_bytes(), b"GAkalGmhzqlUGQO/TgvMug=="));
        assert!(!same(sig.as_bytes(), b"GAkalGmhzqlUGQO/TgvMug=!"));
        assert!(!same(sig.as_bytes(), b""));
    }

    fn config() -> DouyinOpenConfig {
        toml::from_str(
            "url = '/hooks/dy'\nsecret = 's'\nroom_id = 268\n[gift_names]\nn1 = '小心心'",
        )
        .unwrap()
    }

    #[test]
    fn items_map_to_events() {
        let c = config();
        assert_eq!(c.room_id.as_deref(), Some("268"));
        let comment = json!({"msg_id": "m1", "sec_openid": "o1", "content": "2号多少钱",
            "avatar_url": "", "nickname": "小鱼", "timestamp": 1_711_939_362_000i64});
        match map_item("live_comment", &comment, &c).unwrap().unwrap() {
            IngestEvent::Comment(e) => {
                assert_eq!(e.text, "2号多少钱");
                assert_eq!(e.env.id.as_deref(), Some("dyopen:m1"));
                assert_eq!(e.env.user.as_deref(), Some("dyopen:o1"));
                assert_eq!(e.env.ts, Some(1_711_939_362_000));
            }
            other => panic!("{other:?}"),
        }
        let gift = json!({"msg_id": "g1", "sec_openid": "o2", "sec_gift_id": "n1",
            "gift_num": 3, "gift_value": 30, "nickname": "阿青", "timestamp": 1_711_939_405});
        match map_item("live_gift", &gift, &c).unwrap().unwrap() {
            IngestEvent::Gift(g) => {
                assert_eq!((g.gift.as_str(), g.count), ("小心心", 3));
                assert!((g.value - 0.3).abs() < 1e-9);
            }
            other => panic!("{other:?}"),
        }
        let mut test_gift = gift.clone();
        test_gift["test"] = json!(true);
        assert_eq!(map_item("live_gift", &test_gift, &c), Ok(None));
        let like = json!({"msg_id": "l1", "sec_openid": "o3", "like_num": 12});
        assert!(
            matches!(map_item("live_like", &like, &c), Ok(Some(IngestEvent::Like(l))) if l.count == 12)
        );
        assert_eq!(map_item("live_fansclub", &like, &c), Ok(None));
        assert!(map_item("live_comment", &json!({"msg_id": "x"}), &c).is_err());
        assert!(map_item("live_comment", &json!(7), &c).is_err());
    }
}
