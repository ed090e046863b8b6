//! Property tests over every parser that input reaches (issue 10): ingest frames, console
//! commands, the configuration, and the platform decoders of `sources` (through their public
//! functions). The property everywhere: any input gives a value or a typed error, never a
//! panic; well-formed input round-trips. `PROPTEST_CASES` raises the case count.

use livecue::config::Config;
use livecue::ingest::{IngestEvent, parse_frame};
use livecue::sources::{bilibili, bilibili_open, douyin, json_map};
use livecue::wire::CommandFrame;
use proptest::prelude::*;
use serde_json::{Value, json};

/// Arbitrary JSON, a few levels deep, with strings that include CJK, emoji and controls.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "\\PC{0,40}".prop_map(Value::String),
        prop_oneof![
            Just("comment"),
            Just("gift"),
            Just("like"),
            Just("enter"),
            Just("follow"),
            Just("order"),
            Just("set_pitching"),
            Just("reorder"),
            Just("ack_cue"),
            Just("set_faq"),
            Just("set_points"),
            Just("DANMU_MSG"),
            Just("SEND_GIFT"),
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("type".to_owned()),
                    Just("text".to_owned()),
                    Just("id".to_owned()),
                    Just("user".to_owned()),
                    Just("ts".to_owned()),
                    Just("count".to_owned()),
                    Just("product".to_owned()),
                    Just("cmd".to_owned()),
                    Just("info".to_owned()),
                    Just("data".to_owned()),
                    "[a-z_]{1,8}",
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A well-formed comment event.
fn comment() -> impl Strategy<Value = Value> {
    (
        "[a-z0-9-]{1,20}",
        "[a-z0-9]{1,20}",
        "\\PC{1,200}".prop_filter("not blank", |t: &String| !t.trim().is_empty()),
        proptest::option::of(1_000_000_000_000i64..9_999_999_999_999),
    )
        .prop_map(|(id, user, text, ts)| {
            let mut v = json!({"type":"comment","id":id,"user":user,"text":text});
            if let Some(ts) = ts {
                v["ts"] = json!(ts);
            }
            v
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, .. ProptestConfig::default() })]

    #[test]
    fn ingest_frames_never_panic(text in "\\PC{0,300}") {
        let _ = parse_frame(&text);
    }

    #[test]
    fn ingest_json_of_any_shape_is_an_event_or_an_error(v in any_json()) {
        match parse_frame(&v.to_string()) {
            Ok(items) => prop_assert!(items.len() <= livecue::ingest::MAX_EVENTS_PER_FRAME),
            Err(e) => prop_assert!(!e.code().is_empty()),
        }
    }

    #[test]
    fn well_formed_comments_are_accepted_and_round_trip(events in prop::collection::vec(comment(), 1..20)) {
        let frame = Value::Array(events.clone()).to_string();
        let parsed = parse_frame(&frame).expect("a readable frame");
        prop_assert_eq!(parsed.len(), events.len());
        for (event, original) in parsed.into_iter().zip(&events) {
            let event = event.expect("valid");
            let again = IngestEvent::from_value(serde_json::to_value(&event).unwrap()).unwrap();
            prop_assert_eq!(&again, &event);
            prop_assert_eq!(event.envelope().id.as_deref(), original["id"].as_str());
        }
    }

    #[test]
    fn truncated_frames_are_errors_not_panics(events in prop::collection::vec(comment(), 1..5), cut in any::<prop::sample::Index>()) {
        let frame = Value::Array(events).to_string();
        let mut at = cut.index(frame.len());
        while !frame.is_char_boundary(at) { at -= 1; }
        if at < frame.len() {
            prop_assert!(parse_frame(&frame[..at]).is_err());
        }
    }

    #[test]
    fn console_commands_never_panic(v in any_json(), text in "\\PC{0,200}") {
        let _ = serde_json::from_str::<CommandFrame>(&v.to_string());
        let _ = serde_json::from_str::<CommandFrame>(&text);
    }

    #[test]
    fn config_text_never_panics(text in "[\\[\\]a-z_=\"'0-9.\\n {},#-]{0,300}") {
        let _ = Config::from_toml(&text);
    }

    #[test]
    fn config_with_any_room_values_is_valid_or_a_named_error(
        id in "\\PC{0,70}", name in "\\PC{0,30}", product in "\\PC{0,70}", price in any::<f64>(),
        limit in any::<i64>(),
    ) {
        let toml = format!(
            "[limits]\nmax_frame_bytes = {}\n[[rooms]]\nid = {:?}\nname = {:?}\n[[rooms.products]]\nid = {:?}\nprice = {}\n",
            limit, id, name, product, if price.is_finite() { price.to_string() } else { "1.0".into() }
        );
        match Config::from_toml(&toml) {
            Ok(c) => prop_assert!(livecue::config::valid_id(&c.rooms[0].id)),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn bilibili_packets_of_any_bytes_decode_or_say_why(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = bilibili::decode(&bytes);
    }

    #[test]
    fn bilibili_packets_corrupted_anywhere(body in "\\PC{0,200}", op in 0u32..10, ver in 0u16..4, flip in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut packet = bilibili::encode(ver, op, 1, body.as_bytes());
        let i = flip.index(packet.len());
        packet[i] = byte;
        let _ = bilibili::decode(&packet);
        let _ = bilibili::decode(&packet[..i]);
    }

    #[test]
    fn bilibili_commands_of_any_shape(v in any_json()) {
        let _ = bilibili::map_command(&v);
        let _ = bilibili::parse_danmaku(&v);
        let _ = bilibili_open::map_command(&v);
    }

    #[test]
    fn douyin_frames_of_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = douyin::read_frame(&bytes);
    }

    #[test]
    fn douyin_frames_corrupted_anywhere(flip in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut frame = douyin::heartbeat_frame();
        frame.extend(douyin::ack_frame(42, "internal_ext"));
        let i = flip.index(frame.len());
        frame[i] = byte;
        let _ = douyin::read_frame(&frame);
        let _ = douyin::read_frame(&frame[..i]);
    }

    #[test]
    fn json_bridge_mappings_of_any_document(v in any_json()) {
        let config: json_map::JsonConfig = toml::from_str(
            "kind = \"json\"\nurl = \"/hooks/x\"\nitems = \"/events\"\ntype = \"/type\"\n[fields]\ntext = \"/text\"\nid = \"/id\"\nts = \"/ts\"\n",
        ).or_else(|_| toml::from_str("url = \"/hooks/x\"\nitems = \"/events\"\ntype = \"/type\"\n[fields]\ntext = \"/text\"\nid = \"/id\"\nts = \"/ts\"\n")).expect("a json source config");
        let mapping = json_map::JsonMapping::new(&config).expect("a mapping");
        let _ = mapping.map(&v);
        let _ = mapping.map(&json!({"events": [v.clone(), v]}));
    }
}
