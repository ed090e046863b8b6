//! The derived message structs against `proto/douyin.proto`: every field under the number the
//! .proto gives it, and no field it lacks.

use std::collections::BTreeMap;

use prost::Message as _;

use super::super::proto::*;
use super::{common, fans_club, user};

const PROTO: &str = include_str!("../../proto/douyin.proto");

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
