//! Ingest events: what comment sources send (PROTOCOL.md, "Ingest events").
//!
//! A frame is one JSON object or an array of them. Each event is checked on its own, so one bad
//! event in an array is rejected with its index while the others are accepted. Parsing is pure:
//! the server, the `analyze` command and the platform adapters all call [`parse_frame`].

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Longest accepted viewer id or display name, in bytes.
pub const MAX_USER_LEN: usize = 128;
/// Longest accepted comment text, in bytes; longer text is refused, not truncated, so nothing
/// is silently cut. (Analysis itself only looks at the first few hundred characters.)
pub const MAX_TEXT_LEN: usize = 4096;
/// Largest number of events in one frame.
pub const MAX_EVENTS_PER_FRAME: usize = 1000;

/// One event from a source. Field names and types are the public contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum IngestEvent {
    Comment(CommentEvent),
    Gift(GiftEvent),
    Like(LikeEvent),
    Enter(UserEvent),
    Follow(UserEvent),
    Order(OrderEvent),
}

/// Fields every event may carry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// The source's message id, used to drop duplicates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Room id; may be left out when the URL names the room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// Milliseconds since the epoch; the server's clock when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<i64>,
    /// The source's viewer id (pseudonymized before anything is stored or shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The viewer's display name (never stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The fan medal (粉丝勋章 / 粉丝团) the viewer wears in this room, when the platform says.
    /// Optional addition to the protocol; stored with comments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medal: Option<Medal>,
}

/// A fan medal: the club's name and the viewer's level in it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Medal {
    pub name: String,
    #[serde(default)]
    pub level: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommentEvent {
    #[serde(flatten)]
    pub env: Envelope,
    pub text: String,
    /// A paid comment (醒目留言 / super chat): the room shows it above the others for
    /// `duration_s`. Optional addition to the protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub super_chat: Option<SuperChat>,
}

impl CommentEvent {
    /// A plain comment.
    pub fn new(env: Envelope, text: impl Into<String>) -> CommentEvent {
        CommentEvent {
            env,
            text: text.into(),
            super_chat: None,
        }
    }
}

/// What a viewer paid for a comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuperChat {
    /// The price in yuan.
    pub price_cny: f64,
    /// How long the platform pins it, in seconds (the console's default when absent: see
    /// [`SuperChat::shown_for_s`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<u32>,
}

/// Longest accepted super-chat price, in yuan.
pub const MAX_SUPER_CHAT_CNY: f64 = 1_000_000.0;
/// Longest accepted super-chat pin time, in seconds.
pub const MAX_SUPER_CHAT_S: u32 = 24 * 3600;
/// Longest accepted fan-medal name, in bytes.
pub const MAX_MEDAL_LEN: usize = 64;

impl SuperChat {
    /// Seconds the room keeps it on top: the platform's duration, else Bilibili's tiers by
    /// price (30 yuan: 60 s, 50: 120 s, 100: 300 s, 500: 1800 s, 1000: 3600 s, 2000+: 7200 s).
    pub fn shown_for_s(&self) -> u32 {
        if let Some(d) = self.duration_s.filter(|d| *d > 0) {
            return d.min(MAX_SUPER_CHAT_S);
        }
        const TIERS: [(f64, u32); 6] = [
            (2000.0, 7200),
            (1000.0, 3600),
            (500.0, 1800),
            (100.0, 300),
            (50.0, 120),
            (0.0, 60),
        ];
        TIERS
            .iter()
            .find(|(price, _)| self.price_cny >= *price)
            .map_or(60, |(_, s)| *s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GiftEvent {
    #[serde(flatten)]
    pub env: Envelope,
    pub gift: String,
    #[serde(default = "one")]
    pub count: u32,
    /// Value in yuan of the whole gift (all of `count`).
    #[serde(default)]
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LikeEvent {
    #[serde(flatten)]
    pub env: Envelope,
    #[serde(default = "one")]
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserEvent {
    #[serde(flatten)]
    pub env: Envelope,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderEvent {
    #[serde(flatten)]
    pub env: Envelope,
    pub product: String,
    #[serde(default = "one")]
    pub quantity: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<f64>,
}

fn one() -> u32 {
    1
}

/// A frame that could not be read at all.
#[derive(Debug, Error, PartialEq)]
pub enum FrameError {
    #[error("not valid JSON: {0}")]
    BadJson(String),
    #[error("a frame must be a JSON object or an array of objects")]
    NotAnEventOrArray,
    #[error("too many events in one frame: {0} (at most {MAX_EVENTS_PER_FRAME})")]
    TooManyEvents(usize),
}

impl FrameError {
    /// The `code` of the error reply (PROTOCOL.md).
    pub fn code(&self) -> &'static str {
        match self {
            FrameError::BadJson(_) => "bad_json",
            FrameError::NotAnEventOrArray => "bad_frame",
            FrameError::TooManyEvents(_) => "too_many_events",
        }
    }
}

/// One event of a frame that was refused; the rest of the frame still counts.
#[derive(Debug, Error, PartialEq)]
pub enum EventError {
    #[error("{0}")]
    Shape(String),
    /// One line of an NDJSON body is not JSON.
    #[error("not valid JSON: {0}")]
    Json(String),
    #[error("{field}: {problem}")]
    Field {
        field: &'static str,
        problem: String,
    },
}

impl IngestEvent {
    pub fn envelope(&self) -> &Envelope {
        match self {
            IngestEvent::Comment(e) => &e.env,
            IngestEvent::Gift(e) => &e.env,
            IngestEvent::Like(e) => &e.env,
            IngestEvent::Enter(e) | IngestEvent::Follow(e) => &e.env,
            IngestEvent::Order(e) => &e.env,
        }
    }

    pub fn envelope_mut(&mut self) -> &mut Envelope {
        match self {
            IngestEvent::Comment(e) => &mut e.env,
            IngestEvent::Gift(e) => &mut e.env,
            IngestEvent::Like(e) => &mut e.env,
            IngestEvent::Enter(e) | IngestEvent::Follow(e) => &mut e.env,
            IngestEvent::Order(e) => &mut e.env,
        }
    }

    /// The event's `type` tag.
    pub fn kind(&self) -> &'static str {
        match self {
            IngestEvent::Comment(_) => "comment",
            IngestEvent::Gift(_) => "gift",
            IngestEvent::Like(_) => "like",
            IngestEvent::Enter(_) => "enter",
            IngestEvent::Follow(_) => "follow",
            IngestEvent::Order(_) => "order",
        }
    }

    /// Parses one event from a JSON value and checks its fields.
    pub fn from_value(value: serde_json::Value) -> Result<IngestEvent, EventError> {
        let kind = match value.get("type") {
            Some(serde_json::Value::String(kind)) => kind.clone(),
            Some(_) => return Err(EventError::Shape("type must be a string".into())),
            None if value.is_object() => return Err(EventError::Shape("missing type".into())),
            None => return Err(EventError::Shape("an event must be a JSON object".into())),
        };
        if !["comment", "gift", "like", "enter", "follow", "order"].contains(&kind.as_str()) {
            return Err(EventError::Shape(format!(
                "unknown type {kind:?} (known: comment, gift, like, enter, follow, order)"
            )));
        }
        let event: IngestEvent =
            serde_json::from_value(value).map_err(|e| EventError::Shape(format!("{kind}: {e}")))?;
        event.validate()?;
        Ok(event)
    }

    /// Checks the fields serde cannot: lengths, times in milliseconds, non-negative amounts.
    pub fn validate(&self) -> Result<(), EventError> {
        let env = self.envelope();
        check_len("id", env.id.as_deref(), MAX_USER_LEN)?;
        check_len("room", env.room.as_deref(), 64)?;
        check_len("user", env.user.as_deref(), MAX_USER_LEN)?;
        check_len("name", env.name.as_deref(), MAX_USER_LEN)?;
        if let Some(medal) = &env.medal {
            if medal.name.trim().is_empty() {
                return Err(field("medal", "name is empty".into()));
            }
            check_len("medal", Some(&medal.name), MAX_MEDAL_LEN)?;
        }
        if let Some(ts) = env.ts {
            // Between 2001 and 2286: catches seconds-for-milliseconds and garbage.
            if !(1_000_000_000_000..=9_999_999_999_999).contains(&ts) {
                return Err(field(
                    "ts",
                    format!("{ts} is not milliseconds since the epoch"),
                ));
            }
        }
        match self {
            IngestEvent::Comment(c) => {
                if c.text.trim().is_empty() {
                    return Err(field("text", "is empty".into()));
                }
                check_len("text", Some(&c.text), MAX_TEXT_LEN)?;
                if let Some(sc) = &c.super_chat {
                    if !sc.price_cny.is_finite()
                        || sc.price_cny < 0.0
                        || sc.price_cny > MAX_SUPER_CHAT_CNY
                    {
                        return Err(field(
                            "super_chat",
                            format!("price_cny must be 0 to {MAX_SUPER_CHAT_CNY}"),
                        ));
                    }
                    if sc.duration_s.is_some_and(|d| d > MAX_SUPER_CHAT_S) {
                        return Err(field(
                            "super_chat",
                            format!("duration_s must be at most {MAX_SUPER_CHAT_S}"),
                        ));
                    }
                }
            }
            IngestEvent::Gift(g) => {
                check_len("gift", Some(&g.gift), MAX_USER_LEN)?;
                if !g.value.is_finite() || g.value < 0.0 {
                    return Err(field("value", "must be a non-negative number".into()));
                }
            }
            IngestEvent::Order(o) => {
                if o.product.is_empty() {
                    return Err(field("product", "is empty".into()));
                }
                check_len("product", Some(&o.product), 64)?;
                if let Some(a) = o.amount
                    && (!a.is_finite() || a < 0.0)
                {
                    return Err(field("amount", "must be a non-negative number".into()));
                }
            }
            IngestEvent::Like(_) | IngestEvent::Enter(_) | IngestEvent::Follow(_) => {}
        }
        Ok(())
    }
}

fn field(field: &'static str, problem: String) -> EventError {
    EventError::Field { field, problem }
}

fn check_len(name: &'static str, value: Option<&str>, max: usize) -> Result<(), EventError> {
    match value {
        Some(v) if v.len() > max => Err(field(name, format!("longer than {max} bytes"))),
        _ => Ok(()),
    }
}

/// Parses a text frame: one event or an array of events. The outer error means nothing in the
/// frame could be read; inner errors are per event, in frame order.
pub fn parse_frame(text: &str) -> Result<Vec<Result<IngestEvent, EventError>>, FrameError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| FrameError::BadJson(e.to_string()))?;
    match value {
        serde_json::Value::Array(items) => {
            if items.len() > MAX_EVENTS_PER_FRAME {
                return Err(FrameError::TooManyEvents(items.len()));
            }
            Ok(items.into_iter().map(IngestEvent::from_value).collect())
        }
        obj @ serde_json::Value::Object(_) => Ok(vec![IngestEvent::from_value(obj)]),
        _ => Err(FrameError::NotAnEventOrArray),
    }
}

/// Parses an HTTP body: a JSON array, one object (pretty-printed or not), or NDJSON (one
/// object a line). Errors as for [`parse_frame`]; an NDJSON line that is not JSON is refused on
/// its own, like a bad event of an array.
pub fn parse_body(text: &str) -> Result<Vec<Result<IngestEvent, EventError>>, FrameError> {
    let whole = parse_frame(text);
    let ndjson = matches!(whole, Err(FrameError::BadJson(_)))
        && text.trim_start().starts_with('{')
        && text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .nth(1)
            .is_some();
    if !ndjson {
        return whole;
    }
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.len() > MAX_EVENTS_PER_FRAME {
        return Err(FrameError::TooManyEvents(lines.len()));
    }
    Ok(lines
        .iter()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line)
                .map_err(|e| EventError::Json(e.to_string()))
                .and_then(IngestEvent::from_value)
        })
        .collect())
}

/// Ids travel in URLs and keys (rooms, sessions): keep them short and plain.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_protocol_example() {
        let frame = r#"[
          {"type":"comment","id":"m-1","room":"r1","user":"u123","name":"小鱼","text":"2号多少钱","ts":1763900000123},
          {"type":"gift","user":"u9","name":"阿青","gift":"小心心","count":3,"value":0.3,"ts":1763900000123},
          {"type":"like","user":"u9","count":15,"ts":1763900000123},
          {"type":"enter","user":"u7","ts":1763900000123},
          {"type":"follow","user":"u7","ts":1763900000123},
          {"type":"order","user":"u7","product":"2","quantity":1,"amount":129.0,"ts":1763900000123}
        ]"#;
        let events = parse_frame(frame).unwrap();
        assert_eq!(events.len(), 6);
        assert!(events.iter().all(|e| e.is_ok()), "{events:?}");
        match &events[0] {
            Ok(IngestEvent::Comment(c)) => {
                assert_eq!(c.text, "2号多少钱");
                assert_eq!(c.env.id.as_deref(), Some("m-1"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_events_are_rejected_one_by_one() {
        let events = parse_frame(
            r#"[{"type":"comment","text":"ok"},{"type":"shout"},{"type":"comment"},
               {"type":"comment","text":"   "},{"type":"comment","text":"x","ts":12},7]"#,
        )
        .unwrap();
        assert!(events[0].is_ok());
        let errors: Vec<String> = events[1..]
            .iter()
            .map(|e| e.as_ref().unwrap_err().to_string())
            .collect();
        assert!(errors[0].contains("unknown type"), "{errors:?}");
        assert!(errors[1].contains("text"), "{errors:?}");
        assert!(errors[2].contains("empty"), "{errors:?}");
        assert!(errors[3].contains("ts"), "{errors:?}");
        assert!(errors[4].contains("object"), "{errors:?}");
    }

    #[test]
    fn medal_and_super_chat_are_optional_additions() {
        let events = parse_frame(
            r#"[{"type":"comment","text":"主播看我","medal":{"name":"粉丝牌","level":21},
                 "super_chat":{"price_cny":30,"duration_s":60}},
               {"type":"gift","gift":"小花花","medal":{"name":"粉丝牌","level":3}},
               {"type":"comment","text":"x","super_chat":{"price_cny":-1}},
               {"type":"comment","text":"x","medal":{"name":" ","level":1}},
               {"type":"comment","text":"x","super_chat":{"price_cny":1,"duration_s":99999999}}]"#,
        )
        .unwrap();
        match &events[0] {
            Ok(IngestEvent::Comment(c)) => {
                assert_eq!(
                    c.env.medal,
                    Some(Medal {
                        name: "粉丝牌".into(),
                        level: 21
                    })
                );
                let sc = c.super_chat.as_ref().unwrap();
                assert_eq!((sc.price_cny, sc.shown_for_s()), (30.0, 60));
            }
            other => panic!("{other:?}"),
        }
        assert!(events[1].is_ok());
        for bad in &events[2..] {
            assert!(bad.is_err(), "{bad:?}");
        }
        // Without the additions, events serialize exactly as before.
        let plain = CommentEvent::new(Envelope::default(), "hi");
        assert_eq!(
            serde_json::to_string(&IngestEvent::Comment(plain)).unwrap(),
            r#"{"type":"comment","text":"hi"}"#
        );
        let tier = |price_cny| {
            SuperChat {
                price_cny,
                duration_s: None,
            }
            .shown_for_s()
        };
        assert_eq!(
            (tier(30.0), tier(50.0), tier(100.0), tier(5000.0)),
            (60, 120, 300, 7200)
        );
    }

    #[test]
    fn unreadable_frames() {
        assert_eq!(parse_frame("{").unwrap_err().code(), "bad_json");
        assert_eq!(parse_frame("42").unwrap_err().code(), "bad_frame");
    }

    #[test]
    fn http_bodies_are_an_array_one_object_or_ndjson() {
        let pretty =
            "{\n  \"type\": \"comment\",\n  \"user\": \"u1\",\n  \"text\": \"2号多少钱\"\n}\n";
        let one = parse_body(pretty).expect("a pretty-printed object is one event");
        assert_eq!(one.len(), 1);
        assert!(one[0].is_ok(), "{one:?}");
        let ndjson = "{\"type\":\"comment\",\"text\":\"a\"}\n{\"type\":\"like\"}\nnot json\n";
        let lines = parse_body(ndjson).expect("NDJSON");
        assert_eq!(lines.len(), 3);
        assert!(lines[0].is_ok() && lines[1].is_ok());
        assert!(matches!(lines[2], Err(EventError::Json(_))));
        assert_eq!(parse_body("[{\"type\":\"like\"}]").expect("array").len(), 1);
        assert_eq!(parse_body("{").unwrap_err().code(), "bad_json");
    }
}
