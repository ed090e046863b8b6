//! The JSON messages on the wire (PROTOCOL.md): ingest replies, the room stream, console
//! commands and their replies.
//!
//! Server → client messages are built here and serialized once per message, whatever the
//! number of clients. Console commands are a `#[serde(tag = "type")]` enum, so an unknown
//! command or a missing field is a parse error with a clear message, never a guess.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::audience::{Profile, Tags};
use crate::catalog::{Product, SellingPoint};
use crate::experiment::VariantRow;
use crate::room::{RecentComment, Stats};
use crate::suggest::{Cue, CueState};

/// One event of an ingest frame that was refused.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Rejected {
    pub index: usize,
    pub error: String,
}

/// Reply to every ingest frame (WebSocket) or request (HTTP).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Ack {
    #[serde(rename = "type")]
    pub kind: AckTag,
    pub accepted: usize,
    pub duplicates: usize,
    pub rejected: Vec<Rejected>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum AckTag {
    Ack,
}

impl Ack {
    pub fn new(accepted: usize, duplicates: usize, rejected: Vec<Rejected>) -> Ack {
        Ack {
            kind: AckTag::Ack,
            accepted,
            duplicates,
            rejected,
        }
    }
}

/// A frame or command that could not be used at all. The connection carries on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErrorReply {
    #[serde(rename = "type")]
    pub kind: ErrorTag,
    pub code: String,
    pub message: String,
    /// The console's request id, echoed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub req: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum ErrorTag {
    Error,
}

impl ErrorReply {
    pub fn new(code: &str, message: impl Into<String>) -> ErrorReply {
        ErrorReply {
            kind: ErrorTag::Error,
            code: code.into(),
            message: message.into(),
            req: None,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{\"type\":\"error\"}"))
    }
}

/// Room identity in a snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct RoomInfo {
    pub id: Arc<str>,
    pub name: String,
    pub started_at: i64,
}

/// Messages of the room stream. Every one carries the room's `seq`, increasing by one per
/// message, so a client can tell what it missed.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RoomMessage<'a> {
    /// The whole picture: sent on connect, on `since` too old, and to a lagging client.
    Snapshot {
        seq: u64,
        room: RoomInfo,
        catalog: &'a [Product],
        pitching: Option<Arc<str>>,
        queue: &'a [Arc<str>],
        /// Active cues first, then recently ended ones.
        cues: Vec<&'a Cue>,
        stats: &'a Stats,
        comments: Vec<&'a RecentComment>,
        /// Paid comments still on top, dearest first (each also carries `super_chat`).
        super_chats: Vec<&'a RecentComment>,
        /// Script variants tried so far (see [`RoomMessage::Variants`]).
        variants: Variants<'a>,
    },
    Cue {
        seq: u64,
        cue: &'a Cue,
    },
    /// A cue was acknowledged, dismissed, pinned or expired.
    CueUpdate {
        seq: u64,
        id: &'a str,
        state: CueState,
    },
    /// About once a second.
    Stats {
        seq: u64,
        #[serde(flatten)]
        stats: &'a Stats,
        /// Comments since the previous `stats` (at most 20), masked.
        comments: Vec<&'a RecentComment>,
    },
    Pitching {
        seq: u64,
        product: Option<Arc<str>>,
        since: i64,
    },
    Queue {
        seq: u64,
        order: &'a [Arc<str>],
    },
    /// A product's scripts changed.
    Script {
        seq: u64,
        product: &'a Product,
    },
    /// A question cluster was marked answered.
    Question {
        seq: u64,
        key: &'a str,
        answered: bool,
    },
    /// The closed loop's results changed: an exposure's outcome was measured.
    Variants {
        seq: u64,
        #[serde(flatten)]
        variants: Variants<'a>,
    },
    /// A viewer was forgotten: drop their comments from view.
    Forgotten {
        seq: u64,
        viewer: &'a str,
    },
}

/// Each script variant's exposures, mean reward and 95% interval, per slot and audience
/// context, with a verdict per slot and context only where the intervals separate.
#[derive(Debug, Serialize)]
pub struct Variants<'a> {
    pub variants: &'a [VariantRow],
    pub verdicts: Vec<String>,
    /// Exposures still waiting for their outcome window.
    pub pending: usize,
}

/// `GET /api/rooms/R/viewers/PSEUDONYM`: a viewer's profile, tags and RFM scores.
#[derive(Debug, Serialize)]
pub struct ViewerReply<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub room: &'a str,
    pub viewer: String,
    pub tags: Tags,
    /// Recency, frequency, monetary: 1 (low) to 5 (high).
    pub rfm: [u8; 3],
    pub profile: &'a Profile,
}

/// `GET /api/rooms/R/sources`: each platform source's health (`S`: the sources' own
/// snapshot type, so the protocol layer needs no knowledge of the platforms).
#[derive(Debug, Clone, Serialize)]
pub struct SourcesReply<S> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub room: String,
    /// The server's clock (ms), to age `last_message_at` and gaps without trusting the
    /// page's clock.
    pub now: i64,
    pub sources: Vec<S>,
}

impl<S: Serialize> SourcesReply<S> {
    pub fn new(room: &str, now: i64, sources: Vec<S>) -> SourcesReply<S> {
        SourcesReply {
            kind: "sources",
            room: room.to_owned(),
            now,
            sources,
        }
    }
}

/// A console command frame: the command plus an optional request id echoed in the reply.
#[derive(Debug, Clone, Deserialize)]
pub struct CommandFrame {
    #[serde(default)]
    pub req: Option<serde_json::Value>,
    #[serde(flatten)]
    pub command: Command,
}

/// What the console may ask (overlays may not).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// The product being pitched; `null` for none.
    SetPitching {
        product: Option<String>,
    },
    /// The planned order of products (every id at most once; ids must exist).
    Reorder {
        order: Vec<String>,
    },
    AckCue {
        id: String,
    },
    DismissCue {
        id: String,
    },
    /// Keep a cue on the overlay until dismissed.
    PinCue {
        id: String,
    },
    /// Mark a question cluster (`size:2`) answered.
    MarkAnswered {
        key: String,
    },
    /// Set (or with an empty text, remove) a product's FAQ answer for a topic.
    SetFaq {
        product: String,
        topic: String,
        text: String,
    },
    /// Replace a product's selling points.
    SetPoints {
        product: String,
        points: Vec<SellingPoint>,
    },
    /// Forget a viewer: drop their profile and delete their stored comments and events, in
    /// every session of this room. `viewer` is the 16-hex-digit pseudonym.
    Forget {
        viewer: String,
    },
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::SetPitching { .. } => "set_pitching",
            Command::Reorder { .. } => "reorder",
            Command::AckCue { .. } => "ack_cue",
            Command::DismissCue { .. } => "dismiss_cue",
            Command::PinCue { .. } => "pin_cue",
            Command::MarkAnswered { .. } => "mark_answered",
            Command::SetFaq { .. } => "set_faq",
            Command::SetPoints { .. } => "set_points",
            Command::Forget { .. } => "forget",
        }
    }
}

/// Reply to a console command that was applied.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Reply {
    #[serde(rename = "type")]
    pub kind: ReplyTag,
    pub command: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub req: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum ReplyTag {
    Reply,
}

impl Reply {
    pub fn ok(command: &str, req: Option<serde_json::Value>) -> Reply {
        Reply {
            kind: ReplyTag::Reply,
            command: command.into(),
            ok: true,
            req,
        }
    }
}

/// A frame refused whole: nothing in it was taken; the source should resend it after
/// `retry_after_ms`.
#[derive(Debug, Serialize)]
pub struct Refusal {
    #[serde(rename = "type")]
    kind: &'static str,
    pub code: &'static str,
    pub message: String,
    pub retry_after_ms: u64,
}

impl Refusal {
    pub fn new(code: &'static str, message: String, retry_after_ms: u64) -> Refusal {
        Refusal {
            kind: "error",
            code,
            message,
            retry_after_ms,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_and_refuse_strangers() {
        let f: CommandFrame =
            serde_json::from_str(r#"{"type":"set_pitching","product":"2","req":7}"#).unwrap();
        assert_eq!(
            f.command,
            Command::SetPitching {
                product: Some("2".into())
            }
        );
        assert_eq!(f.req, Some(serde_json::json!(7)));
        let f: CommandFrame =
            serde_json::from_str(r#"{"type":"reorder","order":["3","1"]}"#).unwrap();
        assert_eq!(f.command.name(), "reorder");
        assert!(serde_json::from_str::<CommandFrame>(r#"{"type":"launch_rocket"}"#).is_err());
        assert!(serde_json::from_str::<CommandFrame>(r#"{"type":"ack_cue"}"#).is_err());
    }

    #[test]
    fn replies_have_the_protocol_shape() {
        let ack = serde_json::to_value(Ack::new(
            2,
            1,
            vec![Rejected {
                index: 3,
                error: "x".into(),
            }],
        ))
        .unwrap();
        assert_eq!(ack["type"], "ack");
        assert_eq!(ack["rejected"][0]["index"], 3);
        let err = serde_json::to_value(ErrorReply::new("bad_json", "oops")).unwrap();
        assert_eq!(err["type"], "error");
        assert_eq!(err["code"], "bad_json");
    }
}
