//! Generic JSON sources (`kind = "json"`): any bridge's JSON (TikTok live connectors, in-house
//! relays) mapped to ingest events field by field with JSON pointers (RFC 6901), so a new
//! bridge needs configuration, not code.
//!
//! Two ways in, chosen by `url`:
//! - a path under `/hooks/`: a webhook; the bridge `POST`s a JSON document (or NDJSON, one
//!   document a line) and gets the ingest ack back. With `token` set, it must present it
//!   (`Authorization: Bearer T` or `?token=T`).
//! - a `ws://` or `wss://` address: we connect to the bridge and map each text message; a
//!   WebSocket ping every `heartbeat_s` keeps the connection alive (`token`, when set, goes
//!   out as `Authorization: Bearer T`).
//!
//! Mapping: `items` points at the array of items in a document (`""`: the document itself, one
//! object or an array of them). In each item, `type` points at the discriminator, whose values
//! `types` translates to ingest types (`comment`, `gift`, `like`, `enter`, `follow`, `order`);
//! without `types` the value must be an ingest type itself; items of other values are counted
//! as ignored. Without `type`, every item is `default_type`. `fields` gives a pointer for each
//! ingest field; numbers and numeric strings are both accepted, ids may be numbers. `ts_unit`
//! says whether times are `ms`, `s`, or `auto` (decided by size); `value_scale` and
//! `amount_scale` convert money to yuan (e.g. 0.1 for diamonds at ten to the yuan);
//! `id_prefix` keeps two bridges' message ids apart. Each event is then validated by ingest.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio_tungstenite::tungstenite::Message;

use super::client::BackoffConfig;
use super::session::{Connect, Fixed, Frame, Incoming, Protocol, Timing, TimingDefaults};
use super::{Effects, Secret, Sink, TS_RANGE, json, to_ms};
use crate::clock::now_ms;
use crate::ingest::{IngestEvent, MAX_EVENTS_PER_FRAME};
use crate::wire::{Ack, ErrorReply, Rejected};

/// An ingest event type, as the mapping names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    Comment,
    Gift,
    Like,
    Enter,
    Follow,
    Order,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Comment => "comment",
            EventType::Gift => "gift",
            EventType::Like => "like",
            EventType::Enter => "enter",
            EventType::Follow => "follow",
            EventType::Order => "order",
        }
    }

    fn parse(name: &str) -> Option<EventType> {
        serde_json::from_value(Value::String(name.to_owned())).ok()
    }
}

/// How times are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TsUnit {
    /// Seconds or milliseconds, decided by size.
    #[default]
    Auto,
    Ms,
    S,
}

/// A JSON pointer for each ingest field (all optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FieldPointers {
    pub id: Option<String>,
    pub user: Option<String>,
    pub name: Option<String>,
    pub text: Option<String>,
    pub ts: Option<String>,
    pub gift: Option<String>,
    pub count: Option<String>,
    pub value: Option<String>,
    pub product: Option<String>,
    pub quantity: Option<String>,
    pub amount: Option<String>,
}

impl FieldPointers {
    fn all(&self) -> [(&'static str, &Option<String>); 11] {
        [
            ("id", &self.id),
            ("user", &self.user),
            ("name", &self.name),
            ("text", &self.text),
            ("ts", &self.ts),
            ("gift", &self.gift),
            ("count", &self.count),
            ("value", &self.value),
            ("product", &self.product),
            ("quantity", &self.quantity),
            ("amount", &self.amount),
        ]
    }
}

/// `[[rooms.sources]] kind = "json"`.
///
/// ```toml
/// [[rooms.sources]]
/// kind = "json"
/// url = "/hooks/tiktok"        # a webhook path, or ws://relay:port/path to connect to
/// token = "..."                # optional
/// items = "/events"            # where the items are ("" = the document)
/// type = "/event"              # the discriminator
/// id_prefix = "tt:"
/// value_scale = 0.1
/// [rooms.sources.types]
/// chat = "comment"
/// gift = "gift"
/// like = "like"
/// member = "enter"
/// follow = "follow"
/// [rooms.sources.fields]
/// id = "/msgId"
/// user = "/user/userId"
/// name = "/user/nickname"
/// text = "/comment"
/// ts = "/createTime"
/// gift = "/giftName"
/// count = "/repeatCount"
/// value = "/diamondCount"
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonConfig {
    #[serde(default)]
    pub name: Option<String>,
    /// A webhook path under `/hooks/`, or a `ws://`/`wss://` address to connect to.
    pub url: String,
    #[serde(default)]
    pub token: Secret,
    /// Pointer to the array of items in a document; `""` for the document itself.
    #[serde(default)]
    pub items: String,
    /// Pointer to the discriminator in an item.
    #[serde(default, rename = "type")]
    pub type_pointer: Option<String>,
    /// Discriminator value → ingest type.
    #[serde(default)]
    pub types: BTreeMap<String, EventType>,
    /// The type of items without a discriminator.
    #[serde(default)]
    pub default_type: Option<EventType>,
    #[serde(default)]
    pub fields: FieldPointers,
    #[serde(default)]
    pub ts_unit: TsUnit,
    /// Multiplies gift values into yuan.
    #[serde(default = "one")]
    pub value_scale: f64,
    /// Multiplies order amounts into yuan.
    #[serde(default = "one")]
    pub amount_scale: f64,
    /// Put before every message id.
    #[serde(default)]
    pub id_prefix: String,
    /// WebSocket mode: `heartbeat_s` (seconds between pings, default 30), `idle_timeout_s`
    /// (seconds without anything, pongs included, before reconnecting; 90), `backoff_min_ms`,
    /// `backoff_max_ms`.
    #[serde(flatten)]
    pub timing: Timing,
}

fn one() -> f64 {
    1.0
}

/// Default timing in WebSocket mode: a ping every 30 s, 90 s of silence before reconnecting.
pub const TIMING: TimingDefaults = TimingDefaults {
    heartbeat_s: 30,
    idle_timeout_s: 90,
};

impl JsonConfig {
    /// Whether `url` is a webhook path (else a WebSocket to connect to).
    pub fn is_webhook(&self) -> bool {
        self.url.starts_with('/')
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.is_webhook() {
            super::check_webhook_path(&self.url)?;
        } else {
            super::check_ws_url(&self.url)?;
            self.timing.validate(TIMING)?;
        }
        JsonMapping::new(self).map(|_| ())
    }

    pub fn backoff(&self) -> BackoffConfig {
        self.timing.schedule(TIMING).backoff
    }
}

/// A checked mapping, ready to apply.
#[derive(Debug, Clone)]
pub struct JsonMapping {
    config: JsonConfig,
}

/// What became of one item.
#[derive(Debug, Clone, PartialEq)]
pub enum Mapped {
    Event(IngestEvent),
    /// Its discriminator is not mapped (the value, for the status).
    Ignored(String),
    Invalid(String),
}

fn check_pointer(what: &str, pointer: &str) -> Result<(), String> {
    if pointer.is_empty() || pointer.starts_with('/') {
        Ok(())
    } else {
        Err(format!(
            "{what} = {pointer:?}: a JSON pointer is empty or starts with '/'"
        ))
    }
}

impl JsonMapping {
    pub fn new(config: &JsonConfig) -> Result<JsonMapping, String> {
        check_pointer("items", &config.items)?;
        if let Some(p) = &config.type_pointer {
            check_pointer("type", p)?;
        }
        for (field, pointer) in config.fields.all() {
            if let Some(p) = pointer {
                check_pointer(&format!("fields.{field}"), p)?;
            }
        }
        if config.type_pointer.is_none() && config.default_type.is_none() {
            return Err("set `type` (a pointer to the discriminator) or `default_type`".into());
        }
        if config.type_pointer.is_none() && !config.types.is_empty() {
            return Err("`types` needs `type`, the pointer to the discriminator".into());
        }
        for (name, scale) in [
            ("value_scale", config.value_scale),
            ("amount_scale", config.amount_scale),
        ] {
            if !scale.is_finite() || scale < 0.0 {
                return Err(format!("{name} = {scale}: must be a non-negative number"));
            }
        }
        Ok(JsonMapping {
            config: config.clone(),
        })
    }

    /// Maps one document; `Err` when its items cannot be found or are too many.
    pub fn map(&self, document: &Value) -> Result<Vec<Mapped>, String> {
        let items = if self.config.items.is_empty() {
            document
        } else {
            document
                .pointer(&self.config.items)
                .ok_or_else(|| format!("no items at {:?}", self.config.items))?
        };
        let items: Vec<&Value> = match items {
            Value::Array(list) => list.iter().collect(),
            one @ Value::Object(_) => vec![one],
            _ => return Err("items must be an object or an array of objects".into()),
        };
        if items.len() > MAX_EVENTS_PER_FRAME {
            return Err(format!(
                "{} items in one document (at most {MAX_EVENTS_PER_FRAME})",
                items.len()
            ));
        }
        Ok(items.into_iter().map(|item| self.map_item(item)).collect())
    }

    /// Maps one item.
    pub fn map_item(&self, item: &Value) -> Mapped {
        let c = &self.config;
        if !item.is_object() {
            return Mapped::Invalid("an item must be a JSON object".into());
        }
        let kind = match &c.type_pointer {
            None => c.default_type,
            Some(pointer) => match json::string(item.pointer(pointer)) {
                None => c.default_type,
                Some(value) if c.types.is_empty() => match EventType::parse(&value) {
                    Some(kind) => Some(kind),
                    None => return Mapped::Ignored(value),
                },
                Some(value) => match c.types.get(&value) {
                    Some(kind) => Some(*kind),
                    None => return Mapped::Ignored(value),
                },
            },
        };
        let Some(kind) = kind else {
            return Mapped::Invalid("no type: the discriminator is missing".into());
        };
        let get = |pointer: &Option<String>| pointer.as_deref().and_then(|p| item.pointer(p));
        let mut event = Map::new();
        event.insert("type".into(), kind.as_str().into());
        let f = &c.fields;
        if let Some(id) = json::string(get(&f.id)).filter(|id| !id.is_empty()) {
            event.insert("id".into(), format!("{}{id}", c.id_prefix).into());
        }
        for (field, pointer) in [
            ("user", &f.user),
            ("name", &f.name),
            ("text", &f.text),
            ("gift", &f.gift),
            ("product", &f.product),
        ] {
            if let Some(v) = json::string(get(pointer)) {
                event.insert(field.into(), v.into());
            }
        }
        for (field, pointer) in [("count", &f.count), ("quantity", &f.quantity)] {
            if let Some(v) = get(pointer) {
                match json::count(Some(v)) {
                    Some(n) => {
                        event.insert(field.into(), n.into());
                    }
                    None => return Mapped::Invalid(format!("{field}: not a count: {v}")),
                }
            }
        }
        for (field, pointer, scale) in [
            ("value", &f.value, c.value_scale),
            ("amount", &f.amount, c.amount_scale),
        ] {
            if let Some(v) = get(pointer) {
                match json::f64(Some(v)) {
                    Some(x) => {
                        event.insert(field.into(), (x * scale).into());
                    }
                    None => return Mapped::Invalid(format!("{field}: not a number: {v}")),
                }
            }
        }
        if let Some(ts) = json::i64(get(&f.ts)) {
            let ms = match c.ts_unit {
                TsUnit::Auto => to_ms(ts),
                TsUnit::Ms => Some(ts),
                TsUnit::S => ts.checked_mul(1000),
            };
            // An implausible time is left out: the arrival time stands in.
            if let Some(ms) = ms.filter(|ms| TS_RANGE.contains(ms)) {
                event.insert("ts".into(), ms.into());
            }
        }
        match IngestEvent::from_value(Value::Object(event)) {
            Ok(event) => Mapped::Event(event),
            Err(e) => Mapped::Invalid(e.to_string()),
        }
    }
}

/// Maps documents and delivers their events; returns the ack.
async fn ingest(
    sink: &Sink,
    mapping: &JsonMapping,
    documents: Vec<Result<Value, String>>,
) -> Result<Ack, ()> {
    let status = sink.status();
    let mut events = Vec::new();
    let mut positions = Vec::new();
    let mut rejected = Vec::new();
    let mut index = 0;
    for document in documents {
        let mapped = document.and_then(|d| mapping.map(&d));
        let items = match mapped {
            Ok(items) => items,
            Err(error) => {
                status.decode_error("bad_document", &error);
                rejected.push(Rejected { index, error });
                index += 1;
                continue;
            }
        };
        for item in items {
            match item {
                Mapped::Event(event) => {
                    events.push(event);
                    positions.push(index);
                }
                Mapped::Ignored(kind) => status.ignored(&kind),
                Mapped::Invalid(error) => {
                    status.decode_error("bad_item", &error);
                    rejected.push(Rejected { index, error });
                }
            }
            index += 1;
        }
        if index > MAX_EVENTS_PER_FRAME {
            status.decode_error("too_many_events", "a body with too many items");
            rejected.push(Rejected {
                index,
                error: format!(
                    "at most {MAX_EVENTS_PER_FRAME} items a request; the rest was not read"
                ),
            });
            break;
        }
    }
    let delivered = sink.deliver(events).await.map_err(|_| ())?;
    rejected.extend(delivered.rejected.into_iter().map(|(i, error)| Rejected {
        index: positions[i],
        error,
    }));
    rejected.sort_by_key(|r| r.index);
    Ok(Ack::new(delivered.accepted, delivered.duplicates, rejected))
}

/// A document, or NDJSON (one document a line).
fn documents(text: &str) -> Result<Vec<Result<Value, String>>, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(document) => Ok(vec![Ok(document)]),
        Err(e) => {
            let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
            if lines.len() < 2 {
                return Err(format!("not valid JSON: {e}"));
            }
            if lines.len() > MAX_EVENTS_PER_FRAME {
                return Err(format!("at most {MAX_EVENTS_PER_FRAME} lines a request"));
            }
            Ok(lines
                .into_iter()
                .map(|line| serde_json::from_str(line).map_err(|e| format!("not valid JSON: {e}")))
                .collect())
        }
    }
}

/// A `json` source in webhook mode, as the router serves it.
#[derive(Debug)]
pub(crate) struct WebhookTarget {
    config: JsonConfig,
    mapping: JsonMapping,
    sink: Sink,
}

impl WebhookTarget {
    pub(crate) fn new(config: JsonConfig, mapping: JsonMapping, sink: Sink) -> WebhookTarget {
        WebhookTarget {
            config,
            mapping,
            sink,
        }
    }

    pub(crate) fn path(&self) -> &str {
        &self.config.url
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct TokenQuery {
    token: Option<String>,
}

fn reply(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    reply(status, ErrorReply::new(code, message).to_json())
}

/// Compares without stopping at the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// `POST <path>`: check the token, map, queue, answer the ack.
pub(crate) async fn handle(
    State(target): State<Arc<WebhookTarget>>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let status = target.sink.status();
    status.message(now_ms());
    let expected = target.config.token.expose();
    if !expected.is_empty() {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let presented = bearer.or(query.token.as_deref()).unwrap_or("");
        if !same(presented, expected) {
            status.decode_error("unauthorized", "a push without the right token");
            return refuse(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "wrong or missing token",
            );
        }
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        status.decode_error("invalid_utf8", "a body that is not UTF-8");
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid_utf8",
            "the body is not valid UTF-8",
        );
    };
    let documents = match documents(text) {
        Ok(d) => d,
        Err(e) => {
            status.decode_error("bad_json", &e);
            return refuse(StatusCode::BAD_REQUEST, "bad_json", &e);
        }
    };
    match ingest(&target.sink, &target.mapping, documents).await {
        Ok(ack) => reply(
            StatusCode::OK,
            serde_json::to_string(&ack).unwrap_or_default(),
        ),
        Err(()) => refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the room is shutting down",
        ),
    }
}

pub(crate) fn session(config: &JsonConfig, mapping: JsonMapping, sink: Sink) -> Fixed<JsonMapping> {
    let auth = if config.token.is_empty() {
        String::new()
    } else {
        format!("Bearer {}", config.token.expose())
    };
    let schedule = config.timing.schedule(TIMING);
    Fixed {
        connect: Connect {
            url: config.url.clone(),
            headers: vec![("Authorization", auth)],
            hello: None,
            beat_at_start: false,
            heartbeat: schedule.heartbeat,
            idle: schedule.idle,
        },
        protocol: mapping,
        sink,
    }
}

/// WebSocket mode: each text message (or UTF-8 binary one) is a document; a WebSocket ping
/// is the heartbeat.
impl Protocol for JsonMapping {
    fn heartbeat(&self) -> Message {
        Message::Ping(Vec::new().into())
    }

    fn on_frame(&mut self, frame: Frame<'_>, _now: i64) -> Incoming {
        let text = match frame {
            Frame::Text(text) => text,
            Frame::Binary(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => text,
                Err(_) => {
                    return Incoming::effects(Effects::error(
                        "invalid_utf8",
                        "a binary message that is not UTF-8",
                    ));
                }
            },
        };
        let document = match serde_json::from_str::<Value>(text) {
            Ok(document) => document,
            Err(e) => {
                return Incoming::effects(Effects::error(
                    "bad_json",
                    format!("not valid JSON: {e}"),
                ));
            }
        };
        let mut effects = Effects::default();
        match self.map(&document) {
            Err(error) => effects.errors.push(("bad_document", error)),
            Ok(items) => {
                for item in items {
                    match item {
                        Mapped::Event(event) => effects.events.push(event),
                        Mapped::Ignored(kind) => effects.ignored.push(kind),
                        Mapped::Invalid(error) => effects.errors.push(("bad_item", error)),
                    }
                }
            }
        }
        Incoming::effects(effects)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn tiktok() -> JsonConfig {
        toml::from_str(
            r#"
            url = "/hooks/tiktok"
            items = "/events"
            type = "/event"
            id_prefix = "tt:"
            value_scale = 0.1
            [types]
            chat = "comment"
            gift = "gift"
            like = "like"
            member = "enter"
            [fields]
            id = "/msgId"
            user = "/user/userId"
            name = "/user/nickname"
            text = "/comment"
            ts = "/createTime"
            gift = "/giftName"
            count = "/repeatCount"
            value = "/diamondCount"
            "#,
        )
        .unwrap()
    }

    #[test]
    fn a_bridge_document_maps_item_by_item() {
        let config = tiktok();
        config.validate().unwrap();
        let mapping = JsonMapping::new(&config).unwrap();
        let document = json!({"events": [
            {"event": "chat", "msgId": 7329, "comment": "2号多少钱", "createTime": "1763900000123",
             "user": {"userId": "6506646277295882242", "nickname": "Shîñ"}},
            {"event": "gift", "msgId": "7330", "giftName": "Rose", "repeatCount": "5",
             "diamondCount": 5, "user": {"userId": 1}},
            {"event": "like", "msgId": "7331", "user": {"userId": 2}},
            {"event": "roomUser", "viewerCount": 10},
            {"event": "chat", "msgId": "7332"},
            {"event": "gift", "msgId": "7333", "giftName": "Rose", "repeatCount": "many"},
            "nonsense"
        ]});
        let mapped = mapping.map(&document).unwrap();
        match &mapped[0] {
            Mapped::Event(IngestEvent::Comment(c)) => {
                assert_eq!(c.text, "2号多少钱");
                assert_eq!(c.env.id.as_deref(), Some("tt:7329"));
                assert_eq!(c.env.user.as_deref(), Some("6506646277295882242"));
                assert_eq!(c.env.ts, Some(1_763_900_000_123));
            }
            other => panic!("{other:?}"),
        }
        match &mapped[1] {
            Mapped::Event(IngestEvent::Gift(g)) => {
                assert_eq!((g.gift.as_str(), g.count), ("Rose", 5));
                assert!((g.value - 0.5).abs() < 1e-9);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&mapped[2], Mapped::Event(IngestEvent::Like(l)) if l.count == 1));
        assert_eq!(mapped[3], Mapped::Ignored("roomUser".into()));
        assert!(
            matches!(&mapped[4], Mapped::Invalid(e) if e.contains("text")),
            "{:?}",
            mapped[4]
        );
        assert!(matches!(&mapped[5], Mapped::Invalid(e) if e.contains("count")));
        assert!(matches!(&mapped[6], Mapped::Invalid(_)));
        assert!(mapping.map(&json!({"nothing": 1})).is_err());
    }

    #[test]
    fn default_type_and_type_names() {
        let config: JsonConfig = toml::from_str(
            "url = 'ws://127.0.0.1:1/relay'\ndefault_type = 'comment'\nts_unit = 's'\n\
             [fields]\ntext = '/t'\nts = '/at'",
        )
        .unwrap();
        config.validate().unwrap();
        assert!(!config.is_webhook());
        let mapping = JsonMapping::new(&config).unwrap();
        let mapped = mapping
            .map(&json!([{"t": "好看", "at": 1_763_900_000}]))
            .unwrap();
        assert!(
            matches!(&mapped[0], Mapped::Event(IngestEvent::Comment(c)) if c.env.ts == Some(1_763_900_000_000))
        );
        // Without `types`, the discriminator must name an ingest type.
        let config: JsonConfig =
            toml::from_str("url = '/hooks/x'\ntype = '/kind'\n[fields]\ntext = '/t'\nuser = '/u'")
                .unwrap();
        let mapping = JsonMapping::new(&config).unwrap();
        let mapped = mapping
            .map(&json!([{"kind": "follow", "u": 5}, {"kind": "share"}]))
            .unwrap();
        assert!(
            matches!(&mapped[0], Mapped::Event(IngestEvent::Follow(f)) if f.env.user.as_deref() == Some("5"))
        );
        assert_eq!(mapped[1], Mapped::Ignored("share".into()));
    }

    #[test]
    fn bad_mappings_are_refused() {
        let bad = |toml_text: &str| {
            let config: JsonConfig = toml::from_str(toml_text).unwrap();
            config.validate().unwrap_err()
        };
        assert!(bad("url = '/hooks/x'\n[fields]\ntext = '/t'").contains("default_type"));
        assert!(
            bad("url = '/hooks/x'\ndefault_type = 'comment'\n[fields]\ntext = 't'")
                .contains("pointer")
        );
        assert!(
            bad("url = '/hooks/x'\ndefault_type = 'comment'\nvalue_scale = -1.0")
                .contains("value_scale")
        );
        assert!(bad("url = 'http://x'\ndefault_type = 'comment'").contains("ws://"));
        assert!(toml::from_str::<JsonConfig>("url = '/hooks/x'\ndefault_type = 'share'").is_err());
    }

    #[test]
    fn ndjson_bodies() {
        let docs = documents("{\"t\":\"a\"}\n\n{\"t\":\"b\"}\nnot json\n").unwrap();
        assert_eq!(docs.len(), 3);
        assert!(docs[2].is_err());
        assert!(documents("nope").is_err());
    }
}
