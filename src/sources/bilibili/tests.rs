//! Tests of the packet codec, the command mapping, `getDanmuInfo` answers and the auth body.

use std::io::Write;

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::ingest::IngestEvent;
use crate::sources::{Effects, MAX_DECOMPRESSED};

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(data).unwrap();
    z.finish().unwrap()
}

fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        w.write_all(data).unwrap();
    }
    out
}

fn command(v: Value) -> Vec<u8> {
    encode(VER_JSON, OP_COMMAND, 0, v.to_string().as_bytes())
}

fn danmu(text: &str, uid: u64, ts: i64) -> Value {
    json!({"cmd": "DANMU_MSG", "info": [
        [0, 1, 25, 16777215, ts, 0, 0, "", 0, 0, 0, "", 0, "{}", "{}", {}],
        text, [uid, "小鱼", 0, 0, 0, 10000, 1, ""], [21, "粉丝牌", "主播", 1, 0],
        [10, 0, 9868950, ">50000"], ["", ""], 0, 0, null, {"ts": ts / 1000, "ct": "AB"}, 0, 0
    ]})
}

#[test]
fn header_layout_is_big_endian_16_bytes() {
    let p = encode(VER_PLAIN, OP_AUTH, 1, b"{}");
    assert_eq!(
        p,
        [0, 0, 0, 18, 0, 16, 0, 1, 0, 0, 0, 7, 0, 0, 0, 1, b'{', b'}']
    );
    let d = decode(&p);
    assert_eq!(d.errors, []);
    assert_eq!(
        d.packets,
        [Packet {
            protover: 1,
            op: 7,
            seq: 1,
            body: b"{}".to_vec()
        }]
    );
}

#[test]
fn nested_packets_in_zlib_and_brotli_bodies() {
    let inner = [command(json!({"cmd": "A"})), command(json!({"cmd": "B"}))].concat();
    let message = [
        encode(VER_ZLIB, OP_COMMAND, 0, &zlib(&inner)),
        encode(VER_BROTLI, OP_COMMAND, 0, &brotli(&inner)),
        encode(VER_PLAIN, OP_HEARTBEAT_REPLY, 1, &[0, 0, 0, 1]),
    ]
    .concat();
    let d = decode(&message);
    assert_eq!(d.errors, []);
    assert_eq!(d.packets.len(), 5);
    let cmds: Vec<Value> = d.packets[..4]
        .iter()
        .map(|p| serde_json::from_slice(&p.body).unwrap())
        .collect();
    assert_eq!(cmds[0]["cmd"], "A");
    assert_eq!(cmds[3]["cmd"], "B");
    assert_eq!(d.packets[4].op, OP_HEARTBEAT_REPLY);
}

#[test]
fn zip_bombs_and_deep_nesting_are_refused() {
    let bomb = zlib(&vec![0u8; MAX_DECOMPRESSED + 1]);
    assert!(bomb.len() < 10_000);
    let d = decode(&encode(VER_ZLIB, OP_COMMAND, 0, &bomb));
    assert_eq!(d.errors, [CodecError::TooLarge]);
    let bomb = brotli(&vec![0u8; MAX_DECOMPRESSED + 1]);
    let d = decode(&encode(VER_BROTLI, OP_COMMAND, 0, &bomb));
    assert_eq!(d.errors, [CodecError::TooLarge]);

    let mut p = command(json!({"cmd": "X"}));
    for _ in 0..=MAX_NESTING {
        p = encode(VER_ZLIB, OP_COMMAND, 0, &zlib(&p));
    }
    assert_eq!(decode(&p).errors, [CodecError::TooDeep]);
    // Many packets that each decompress to just under the limit run out of budget.
    let big = encode(
        VER_ZLIB,
        OP_COMMAND,
        0,
        &zlib(&vec![b' '; MAX_DECOMPRESSED]),
    );
    let d = decode(&big.repeat(6));
    assert!(d.errors.contains(&CodecError::TooLarge), "{:?}", d.errors);
}

#[test]
fn garbage_is_reported_not_fatal() {
    assert_eq!(decode(&[1, 2, 3]).errors, [CodecError::Truncated]);
    let bad_header = [0, 0, 0, 20, 0, 4, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 1, 2, 3, 4];
    assert!(matches!(
        decode(&bad_header).errors[..],
        [CodecError::BadHeader { .. }]
    ));
    let bad_zlib = encode(VER_ZLIB, OP_COMMAND, 0, b"not zlib at all");
    let good = command(json!({"cmd": "LIVE"}));
    let d = decode(&[bad_zlib, good].concat());
    assert_eq!(d.errors, [CodecError::Decompress]);
    assert_eq!(
        d.packets.len(),
        1,
        "the packet after a bad body is still read"
    );
    let d = decode(&encode(9, OP_COMMAND, 0, b"{}"));
    assert_eq!(d.errors, [CodecError::UnknownVersion(9)]);
}

#[test]
fn every_truncation_of_a_real_message_is_survived() {
    let inner = [
        command(danmu("2号多少钱", 7, 1_763_900_000_123)),
        command(json!({"cmd": "LIVE"})),
    ]
    .concat();
    let parts = [
        encode(VER_BROTLI, OP_COMMAND, 0, &brotli(&inner)),
        encode(VER_ZLIB, OP_COMMAND, 0, &zlib(&inner)),
        command(json!({"cmd": "PREPARING"})),
    ];
    let boundaries: Vec<usize> = parts
        .iter()
        .scan(0, |end, p| {
            *end += p.len();
            Some(*end)
        })
        .collect();
    let message = parts.concat();
    for cut in 0..message.len() {
        let d = decode(&message[..cut]);
        assert!(d.packets.len() <= 5);
        // A cut inside a packet is reported; one between packets just has fewer.
        let between = cut == 0 || boundaries.contains(&cut);
        assert_eq!(d.errors.is_empty(), between, "cut {cut}: {:?}", d.errors);
    }
    assert_eq!(decode(&message).packets.len(), 5);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let d = decode(&bytes);
        prop_assert!(d.packets.len() <= MAX_PACKETS);
    }

    #[test]
    fn corrupted_real_messages_never_panic(flip in 0usize..400, byte in any::<u8>()) {
        let inner = command(danmu("好看", 9, 1_763_900_000_000));
        let mut message = [
            encode(VER_ZLIB, OP_COMMAND, 0, &zlib(&inner)),
            encode(VER_BROTLI, OP_COMMAND, 0, &brotli(&inner)),
        ].concat();
        let at = flip % message.len();
        message[at] = byte;
        let _ = decode(&message);
    }
}

#[test]
fn danmaku_fields() {
    let dm = parse_danmaku(&danmu("2号多少钱", 12345, 1_763_900_000_123)).unwrap();
    assert_eq!(dm.text, "2号多少钱");
    assert_eq!(dm.uid.as_deref(), Some("12345"));
    assert_eq!(dm.name.as_deref(), Some("小鱼"));
    assert_eq!(
        dm.medal,
        Some(Medal {
            level: 21,
            name: "粉丝牌".into()
        })
    );
    assert_eq!(dm.ts, Some(1_763_900_000_123));
    // Without info[0][4], info[9].ts (seconds) is used.
    let mut v = danmu("x", 1, 1_763_900_000_000);
    v["info"][0][4] = json!(null);
    assert_eq!(parse_danmaku(&v).unwrap().ts, Some(1_763_900_000_000));
}

fn only_event(effects: Effects) -> IngestEvent {
    assert_eq!(effects.errors, []);
    assert_eq!(effects.events.len(), 1, "{effects:?}");
    effects.events.into_iter().next().unwrap()
}

#[test]
fn commands_map_to_events() {
    let mut v = danmu("2号多少钱", 12345, 1_763_900_000_123);
    v["cmd"] = json!("DANMU_MSG:4:0:2:2:2:0");
    match only_event(map_command(&v)) {
        IngestEvent::Comment(c) => {
            assert_eq!(c.text, "2号多少钱");
            assert_eq!(c.env.user.as_deref(), Some("bili:12345"));
            assert_eq!(c.env.name.as_deref(), Some("小鱼"));
            assert_eq!(c.env.ts, Some(1_763_900_000_123));
            assert_eq!(
                c.env.medal,
                Some(crate::ingest::Medal {
                    name: "粉丝牌".into(),
                    level: 21
                })
            );
            assert_eq!(c.super_chat, None);
            assert!(
                c.env
                    .id
                    .unwrap()
                    .starts_with("bili:dm:1763900000123:12345:")
            );
        }
        other => panic!("{other:?}"),
    }
    let gift = json!({"cmd": "SEND_GIFT", "data": {"giftName": "小花花", "num": 3,
        "uid": 9, "uname": "阿青", "coin_type": "gold", "total_coin": 300, "price": 100,
        "timestamp": 1_763_900_000, "tid": "1763900000110000001"}});
    match only_event(map_command(&gift)) {
        IngestEvent::Gift(g) => {
            assert_eq!((g.gift.as_str(), g.count), ("小花花", 3));
            assert!((g.value - 0.3).abs() < 1e-9);
            assert_eq!(g.env.id.as_deref(), Some("bili:gift:1763900000110000001"));
            assert_eq!(g.env.ts, Some(1_763_900_000_000));
        }
        other => panic!("{other:?}"),
    }
    let silver = json!({"cmd": "SEND_GIFT", "data": {"giftName": "辣条", "num": 1,
        "coin_type": "silver", "total_coin": 100}});
    match only_event(map_command(&silver)) {
        IngestEvent::Gift(g) => assert_eq!(g.value, 0.0),
        other => panic!("{other:?}"),
    }
    let sc = json!({"cmd": "SUPER_CHAT_MESSAGE", "data": {"id": 77, "uid": 5, "price": 30,
        "message": "主播能试穿2号吗", "user_info": {"uname": "大户"}, "start_time": 1_763_900_001,
        "time": 60, "medal_info": {"medal_name": "粉丝牌", "medal_level": 12}}});
    let effects = map_command(&sc);
    assert_eq!(effects.events.len(), 2);
    match (&effects.events[0], &effects.events[1]) {
        (IngestEvent::Comment(c), IngestEvent::Gift(g)) => {
            assert_eq!(c.text, "主播能试穿2号吗");
            let paid = c.super_chat.as_ref().unwrap();
            assert_eq!((paid.price_cny, paid.duration_s), (30.0, Some(60)));
            assert_eq!(c.env.medal.as_ref().map(|m| m.level), Some(12));
            assert_eq!(c.env.id.as_deref(), Some("bili:sc:77"));
            assert_eq!(g.value, 30.0);
            assert_eq!(g.env.name.as_deref(), Some("大户"));
        }
        other => panic!("{other:?}"),
    }
    let iw = |t: u64| {
        json!({"cmd": "INTERACT_WORD", "data": {"uid": 8, "uname": "路人", "msg_type": t,
            "timestamp": 1_763_900_002, "trigger_time": 1_763_900_002_000_000_000u64}})
    };
    assert!(matches!(
        only_event(map_command(&iw(1))),
        IngestEvent::Enter(_)
    ));
    assert!(matches!(
        only_event(map_command(&iw(2))),
        IngestEvent::Follow(_)
    ));
    assert_eq!(map_command(&iw(3)).shares, 1);
    assert_eq!(map_command(&iw(9)).ignored, ["INTERACT_WORD:9"]);
    let like = json!({"cmd": "LIKE_INFO_V3_CLICK", "data": {"uid": 8, "uname": "路人", "like_text": "为主播点赞了"}});
    assert!(matches!(only_event(map_command(&like)), IngestEvent::Like(l) if l.count == 1));
    let watched = json!({"cmd": "WATCHED_CHANGE", "data": {"num": 1234, "text_small": "1234"}});
    assert_eq!(map_command(&watched).watched, Some(1234));
    assert_eq!(
        map_command(&json!({"cmd": "LIVE", "roomid": 1})).live,
        Some(true)
    );
    assert_eq!(map_command(&json!({"cmd": "PREPARING"})).live, Some(false));
    assert_eq!(
        map_command(&json!({"cmd": "STOP_LIVE_ROOM_LIST"})).ignored,
        ["STOP_LIVE_ROOM_LIST"]
    );
    assert_eq!(map_command(&json!({"nocmd": 1})).errors[0].0, "bad_command");
}

#[test]
fn anonymous_viewers_have_no_id() {
    match only_event(map_command(&danmu("来了", 0, 1_763_900_000_000))) {
        IngestEvent::Comment(c) => assert_eq!(c.env.user, None),
        other => panic!("{other:?}"),
    }
}

#[test]
fn danmu_info_gives_the_key_and_hosts() {
    let answer = json!({"code": 0, "message": "0", "data": {"group": "live",
        "business_id": 0, "refresh_row_factor": 0.125, "max_delay": 5000,
        "token": "tok-123", "host_list": [
            {"host": "zj-cn-live-comet.chat.bilibili.com", "port": 2243, "wss_port": 443, "ws_port": 2244},
            {"host": "bad host/", "port": 1, "wss_port": 443, "ws_port": 2244},
            {"host": "broadcastlv.chat.bilibili.com", "port": 2243, "wss_port": 443, "ws_port": 2244}]}});
    let info = parse_danmu_info(&answer, true).unwrap();
    assert_eq!(info.token, "tok-123");
    assert_eq!(
        info.hosts,
        [
            ("zj-cn-live-comet.chat.bilibili.com".to_owned(), 443),
            ("broadcastlv.chat.bilibili.com".to_owned(), 443)
        ]
    );
    assert_eq!(parse_danmu_info(&answer, false).unwrap().hosts[0].1, 2244);
    let refused = json!({"code": -352, "message": "-352", "data": null});
    assert!(
        parse_danmu_info(&refused, true)
            .unwrap_err()
            .contains("-352")
    );
    assert!(parse_danmu_info(&json!({"code": 0, "data": {}}), true).is_err());
    // url may be left out only when the host is fetched.
    let config: BilibiliConfig =
        toml::from_str("room_id = 1\napi_base = 'https://api.live.bilibili.com'").unwrap();
    config.validate().unwrap();
    assert_eq!(config.endpoint(), "https://api.live.bilibili.com");
    let config: BilibiliConfig = toml::from_str("room_id = 1").unwrap();
    assert!(config.validate().is_err());
}

#[test]
fn auth_body_has_the_documented_fields() {
    let config: BilibiliConfig = toml::from_str(
        "url = 'ws://127.0.0.1:1/sub'\nroom_id = 22824550\nkey = 'secret-key'\nuid = 7",
    )
    .unwrap();
    config.validate().unwrap();
    let auth: Value = serde_json::from_slice(&config.auth_body()).unwrap();
    assert_eq!(
        auth,
        json!({"uid": 7, "roomid": 22824550, "protover": 3, "platform": "web", "type": 2, "key": "secret-key"})
    );
}
