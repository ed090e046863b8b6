//! Tests of the frame codec, the mapping, the push protocol and the signer's answers; the
//! messages' field numbers are checked against the .proto in `tests/proto.rs`.

use std::io::Write;

use proptest::prelude::*;
use prost::Message as _;

use super::connection::DouyinProtocol;
use super::*;
use crate::ingest::IngestEvent;
use crate::sources::session::{Frame, Protocol};
use crate::sources::{MAX_DECOMPRESSED, PitchingHint, Shelf};

mod proto;
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
    let config: DouyinConfig = toml::from_str("url = 'wss://h/p'\nsigner_url = 'ftp://x'").unwrap();
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
