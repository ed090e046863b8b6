//! Writes the hand-made seeds each fuzz target started from into `corpus/<target>/`
//! (`cargo run --example seeds` in `fuzz/`, stable is enough): frames like the tests' and the
//! platforms', including compressed and nested ones the fuzzer would take long to invent.

use std::io::Write;
use std::path::Path;

use livecue::sources::{bilibili, douyin};
use prost::Message;
use serde_json::json;

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    std::fs::create_dir_all(&dir).expect("corpus dir");
    std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("seed");
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(data).expect("zlib");
    z.finish().expect("zlib")
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(data).expect("gzip");
    z.finish().expect("gzip")
}

fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        w.write_all(data).expect("brotli");
    }
    out
}

fn main() {
    // Ingest frames (PROTOCOL.md): one event, an array, every type, rejections.
    let ingest = [
        json!({"type":"comment","room":"r1","id":"c1","user":"u1","name":"小王","text":"2号有大码吗？","ts":1_732_000_000_000i64,"product":"2"}),
        json!([{"type":"comment","id":"a","user":"u","text":"好看😍"},{"type":"like","user":"u","count":3},{"type":"enter","user":"v"}]),
        json!([{"type":"gift","id":"g","user":"u","gift":"小心心","count":5,"value":0.5},{"type":"follow","user":"w"},{"type":"order","id":"o","user":"u","product":"2","quantity":1,"amount":399.0}]),
        json!([{"type":"comment","text":""},{"type":"comment","text":42},{"type":"gift","count":-1},{"type":"nope"}]),
        json!({"events":[{"type":"comment","text":"x"}]}),
    ];
    for (i, v) in ingest.iter().enumerate() {
        write("ingest_frame", &i.to_string(), v.to_string().as_bytes());
    }
    // Console commands.
    let commands = [
        json!({"type":"set_pitching","product":"2","req":1}),
        json!({"type":"set_pitching","product":null}),
        json!({"type":"reorder","order":["3","1","2"]}),
        json!({"type":"ack_cue","id":"cue-1"}),
        json!({"type":"dismiss_cue","id":"cue-1"}),
        json!({"type":"pin_cue","id":"cue-2"}),
        json!({"type":"mark_answered","key":"size:2"}),
        json!({"type":"set_faq","product":"2","topic":"size","text":"S到XL"}),
        json!({"type":"set_points","product":"2","points":[{"topic":"price","text":"{product}只要{price}","variants":[{"tone":"playful","text":"冲！"}]}]}),
    ];
    for (i, v) in commands.iter().enumerate() {
        write("console_command", &i.to_string(), v.to_string().as_bytes());
    }
    // Configuration: the demo's, the tests' catalog, and one with every section.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for (name, path) in [
        ("demo", "demo/demo.toml"),
        ("traffic", "demo/traffic.toml"),
        ("catalog", "tests/data/catalog.toml"),
    ] {
        if let Ok(text) = std::fs::read(root.join(path)) {
            write("config_toml", name, &text);
        }
    }
    write(
        "config_toml",
        "sources",
        r#"[server]
listen = "127.0.0.1:8686"
metrics_token = "m"
allowed_origins = ["https://a.example"]
[limits]
max_frame_bytes = 65536
idle_timeout_s = 60
[[rooms]]
id = "r1"
name = "x"
ingest_token = "i"
view_token = "v"
console_token = "c"
[[rooms.products]]
id = "2"
name = "羊毛开衫"
aliases = ["开衫"]
price = 199.0
[[rooms.sources]]
kind = "bilibili"
url = "wss://h/sub"
room_id = 1
key = "k"
[[rooms.sources]]
kind = "douyin"
url = "wss://h/webcast/im/push/v2/?room_id=7"
room_id = 7
[[rooms.sources]]
kind = "json"
url = "/hooks/x"
items = "/events"
type = "/type"
[rooms.sources.fields]
text = "/text"
[rooms.rules]
answer_gap_s = 0
"#
        .as_bytes(),
    );
    // Bilibili commands, as in the tests and the platform.
    let ts = 1_732_000_000_000i64;
    let danmu = json!({"cmd": "DANMU_MSG:4:0:2:2:2:0", "info": [
        [0, 1, 25, 16777215, ts, 0, 0, "", 0, 0, 0, "", 0, "{}", "{}", {}],
        "2号多少钱", [1001, "观众", 0, 0, 0, 10000, 1, ""], [21, "粉丝牌", "主播", 1, 0],
        [10, 0, 9868950, ">50000"], ["", ""], 0, 0, null, {"ts": ts / 1000, "ct": "AB"}, 0, 0]});
    let cmds = [
        danmu.clone(),
        json!({"cmd": "SEND_GIFT", "data": {"giftName": "小花花", "num": 3, "uid": 1001, "uname": "观众", "timestamp": ts / 1000, "price": 100, "coin_type": "gold", "tid": "t1"}}),
        json!({"cmd": "INTERACT_WORD", "data": {"uid": 5, "uname": "路人", "msg_type": 1, "timestamp": ts / 1000, "trigger_time": ts * 1_000_000}}),
        json!({"cmd": "LIKE_INFO_V3_CLICK", "data": {"uid": 5, "uname": "路人", "like_text": "为主播点赞了"}}),
        json!({"cmd": "SUPER_CHAT_MESSAGE", "data": {"id": 9, "uid": 6, "price": 30, "message": "有优惠吗", "start_time": ts / 1000, "user_info": {"uname": "大佬"}}}),
        json!({"cmd": "GUARD_BUY", "data": {"uid": 7, "username": "舰长", "gift_name": "舰长", "num": 1, "price": 198000}}),
        json!({"cmd": "LIVE_OPEN_PLATFORM_DM", "data": {"msg": "好看", "open_id": "o1", "uname": "u", "msg_id": "m1", "timestamp": ts / 1000, "fans_medal_level": 3, "fans_medal_name": "牌"}}),
        json!({"cmd": "LIVE_OPEN_PLATFORM_SEND_GIFT", "data": {"gift_name": "辣条", "gift_num": 2, "open_id": "o1", "price": 100, "paid": true, "msg_id": "m2", "timestamp": ts / 1000}}),
        json!({"cmd": "LIVE_OPEN_PLATFORM_SUPER_CHAT", "data": {"message": "问一下", "rmb": 30, "open_id": "o2", "msg_id": "m3"}}),
        json!({"cmd": "LIVE_OPEN_PLATFORM_LIKE", "data": {"open_id": "o3", "like_count": 4, "msg_id": "m4"}}),
    ];
    for (i, v) in cmds.iter().enumerate() {
        write("bilibili_command", &i.to_string(), v.to_string().as_bytes());
    }
    // Bilibili packets: plain, auth reply, heartbeat reply, zlib and brotli bodies of several
    // packets, a nested one, a bad body.
    let body = |v: &serde_json::Value| bilibili::encode(0, 5, 0, v.to_string().as_bytes());
    let nested: Vec<u8> = cmds[..4].iter().flat_map(body).collect();
    let packets = [
        body(&danmu),
        bilibili::encode(1, 8, 1, br#"{"code":0}"#),
        bilibili::encode(1, 3, 1, &1u32.to_be_bytes()),
        bilibili::encode(2, 5, 0, &zlib(&nested)),
        bilibili::encode(3, 5, 0, &brotli(&nested)),
        bilibili::encode(3, 5, 0, &brotli(&bilibili::encode(2, 5, 0, &zlib(&nested)))),
        bilibili::encode(2, 5, 0, b"definitely not zlib"),
    ];
    for (i, p) in packets.iter().enumerate() {
        write("bilibili_packet", &i.to_string(), p);
    }
    // Douyin: frames as the platform sends them (gzip Response of messages), and, behind an
    // odd first byte, bare Response payloads.
    let user = |id: u64| douyin::User {
        id,
        nick_name: format!("观众{id}"),
        fans_club: Some(douyin::FansClub {
            data: Some(douyin::FansClubData {
                club_name: "粉丝团".into(),
                level: 3,
            }),
        }),
    };
    let message = |method: &str, msg_id: i64, payload: Vec<u8>| douyin::Message {
        method: method.into(),
        msg_id,
        payload,
    };
    let messages = vec![
        message(
            "WebcastChatMessage",
            1,
            douyin::ChatMessage {
                common: None,
                user: Some(user(1)),
                content: "2号有货吗".into(),
                event_time: (ts / 1000) as u64,
            }
            .encode_to_vec(),
        ),
        message(
            "WebcastGiftMessage",
            2,
            douyin::GiftMessage {
                gift_id: 463,
                group_count: 1,
                repeat_count: 3,
                combo_count: 3,
                user: Some(user(2)),
                repeat_end: 1,
                gift: Some(douyin::GiftStruct {
                    id: 463,
                    combo: true,
                    diamond_count: 1,
                    name: "小心心".into(),
                }),
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        message(
            "WebcastLikeMessage",
            3,
            douyin::LikeMessage {
                count: 5,
                total: 100,
                user: Some(user(3)),
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        message(
            "WebcastMemberMessage",
            4,
            douyin::MemberMessage {
                user: Some(user(4)),
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        message(
            "WebcastSocialMessage",
            5,
            douyin::SocialMessage {
                user: Some(user(5)),
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        message(
            "WebcastLiveShoppingMessage",
            6,
            douyin::LiveShoppingMessage {
                msg_type: 3,
                promotion_id: 42,
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        message(
            "WebcastControlMessage",
            7,
            douyin::ControlMessage::default().encode_to_vec(),
        ),
        message(
            "WebcastRoomUserSeqMessage",
            8,
            douyin::RoomUserSeqMessage::default().encode_to_vec(),
        ),
    ];
    let response = douyin::Response {
        messages_list: messages,
        cursor: "c".into(),
        internal_ext: "ext".into(),
        need_ack: true,
        ..Default::default()
    }
    .encode_to_vec();
    let frame = |payload: Vec<u8>, encoding: &str| {
        douyin::PushFrame {
            seq_id: 1,
            log_id: 2,
            payload_encoding: encoding.into(),
            payload_type: "msg".into(),
            payload,
            ..Default::default()
        }
        .encode_to_vec()
    };
    let even = |name: &str, bytes: Vec<u8>| {
        let mut seed = vec![0u8];
        seed.extend(bytes);
        write("douyin_frame", name, &seed);
    };
    even("gzip", frame(gzip(&response), "gzip"));
    even("plain", frame(response.clone(), ""));
    even("heartbeat", douyin::heartbeat_frame());
    even("ack", douyin::ack_frame(42, "internal_ext"));
    let mut odd = vec![1u8];
    odd.extend(&response);
    write("douyin_frame", "response", &odd);
    // The JSON bridge: a document of items in the fuzz target's mapping.
    let doc = json!({"events": [
        {"type":"chat","id":"1","user":{"id":"u1","name":"小王"},"text":"有优惠吗","ts":1_732_000_000},
        {"type":"gift","id":"2","user":{"id":"u2"},"gift":"玫瑰","count":3,"value":10},
        {"type":"like","id":"3","user":{"id":"u3"},"count":20},
        {"type":"member","id":"4","user":{"id":"u4"}},
        {"type":"follow","id":"5","user":{"id":"u5"}},
        {"type":"order","id":"6","user":{"id":"u6"},"product":"2","quantity":1,"amount":399}
    ]});
    write("json_bridge", "0", doc.to_string().as_bytes());
    write(
        "json_bridge",
        "1",
        json!({"type":"chat","text":"单条","ts":1_732_000_000_123i64})
            .to_string()
            .as_bytes(),
    );
    println!("seeds written under fuzz/corpus/");
}
