//! Bilibili open platform (开放平台, `kind = "bilibili_open"`): the supported way to read a
//! room, over the same packet protocol as the web one ([`super::bilibili`]).
//!
//! An app session is opened with the platform's HTTP API (`/v2/app/start` with the streamer's
//! identity code, signed with the app's access key), which answers a WebSocket address
//! (`websocket_info.wss_link`) and an `auth_body`. That API call and its 20-second
//! `/v2/app/heartbeat` keep-alive are not made here: configure the `url` and `auth_body` they
//! gave (a small relay or the operator's tooling does it). The client sends `auth_body`
//! verbatim as the auth packet, waits for the auth reply, heartbeats every 20 s, and maps:
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

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::bilibili::{PacketProtocol, hello_connect};
use super::client::BackoffConfig;
use super::session::{Fixed, Timing, TimingDefaults};
use super::{Effects, Secret, Sink, envelope, json, to_ms, viewer};

/// `[[rooms.sources]] kind = "bilibili_open"`.
///
/// ```toml
/// [[rooms.sources]]
/// kind = "bilibili_open"
/// url = "wss://..."          # one of websocket_info.wss_link from /v2/app/start
/// auth_body = "{...}"        # websocket_info.auth_body, sent verbatim
/// # optional: heartbeat_s = 20, idle_timeout_s = 60, backoff_min_ms, backoff_max_ms
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BilibiliOpenConfig {
    #[serde(default)]
    pub name: Option<String>,
    pub url: String,
    /// The auth packet's body as the start API answered it.
    pub auth_body: Secret,
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

impl BilibiliOpenConfig {
    pub fn validate(&self) -> Result<(), String> {
        super::check_ws_url(&self.url)?;
        if self.auth_body.is_empty() {
            return Err(
                "auth_body is empty: use websocket_info.auth_body from /v2/app/start".into(),
            );
        }
        self.timing.validate(TIMING)
    }

    pub fn backoff(&self) -> BackoffConfig {
        self.timing.schedule(TIMING).backoff
    }
}

pub(crate) fn session(config: &BilibiliOpenConfig, sink: Sink) -> Fixed<PacketProtocol> {
    let schedule = config.timing.schedule(TIMING);
    Fixed {
        connect: hello_connect(
            &config.url,
            Vec::new(),
            config.auth_body.expose().as_bytes(),
            schedule.heartbeat,
            schedule.idle,
        ),
        protocol: PacketProtocol { map: map_command },
        sink,
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
