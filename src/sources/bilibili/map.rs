//! Mapping one command (the JSON body of an operation 5 packet) by its `cmd`: danmaku, gifts,
//! super chats, enters, follows, likes, and the status's watched count and live flag.

use serde_json::Value;

use crate::sources::{self, Effects, content_hash, envelope, json, to_ms, viewer};

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
        sources::medal(
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
                .and_then(|m| sources::medal(Some(&m.name), Some(m.level)));
            Effects::event(sources::comment(env, dm.text))
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
            Effects::event(sources::gift(env, gift, count, value))
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
                    sources::super_chat(comment_env, text, price, pinned),
                    sources::gift(gift_env, "醒目留言".into(), 1, price),
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
                1 => Effects::event(sources::enter(env)),
                2 => Effects::event(sources::follow(env)),
                3 => Effects {
                    shares: 1,
                    ..Effects::default()
                },
                other => Effects::ignored(format!("INTERACT_WORD:{other}")),
            }
        }
        "LIKE_INFO_V3_CLICK" => {
            let env = envelope(None, user("uid"), name("uname"), None);
            Effects::event(sources::like(env, 1))
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
