//! Source configuration checks and the delivery path, from configured rooms.

use super::*;

/// What `validate` takes, from configured rooms.
fn check(rooms: &[crate::config::RoomConfig]) -> Result<(), SourceError> {
    let rooms: Vec<RoomSources<'_>> = rooms
        .iter()
        .map(|r| RoomSources {
            id: &r.id,
            products: r.products.iter().map(|p| p.id.as_str()).collect(),
            sources: &r.sources,
        })
        .collect();
    validate(&rooms)
}

/// Parses without validating (`Config::from_toml` validates sources too; these tests
/// call `validate` themselves).
fn room(toml: &str) -> Vec<crate::config::RoomConfig> {
    toml::from_str::<crate::config::Config>(toml)
        .unwrap_or_else(|e| panic!("{e}"))
        .rooms
}

#[test]
fn every_kind_parses_from_toml() {
    let rooms = room(
        r#"
        [[rooms]]
        id = "r1"
        [[rooms.sources]]
        kind = "bilibili"
        url = "ws://127.0.0.1:9/sub"
        room_id = 123456
        key = "k"
        uid = 0
        [[rooms.sources]]
        kind = "bilibili_open"
        url = "ws://127.0.0.1:9/sub"
        auth_body = "{}"
        [[rooms.sources]]
        kind = "douyin"
        url = "ws://127.0.0.1:9/push?room_id=1"
        [[rooms.sources]]
        kind = "douyin_open"
        url = "/hooks/douyin"
        secret = "s"
        [[rooms.sources]]
        kind = "json"
        url = "/hooks/relay"
        default_type = "comment"
        [rooms.sources.fields]
        text = "/msg"
        "#,
    );
    let kinds: Vec<_> = rooms[0].sources.iter().map(SourceConfig::kind).collect();
    assert_eq!(
        kinds,
        ["bilibili", "bilibili_open", "douyin", "douyin_open", "json"]
    );
    check(&rooms).unwrap();
    // Secrets never show.
    let debug = format!("{:?}", rooms[0].sources[0]);
    assert!(!debug.contains("\"k\""), "{debug}");
    let json = serde_json::to_string(&rooms[0].sources[3]).unwrap();
    assert!(json.contains("\"secret\":\"***\""), "{json}");
}

#[test]
fn unknown_keys_and_kinds_are_refused() {
    let err = crate::config::Config::from_toml(
        "[[rooms]]\nid='a'\n[[rooms.sources]]\nkind='bilibili'\nurl='ws://x'\nroom_id=1\nroomid=2",
    )
    .unwrap_err();
    assert!(err.to_string().contains("roomid"), "{err}");
    assert!(
        crate::config::Config::from_toml(
            "[[rooms]]\nid='a'\n[[rooms.sources]]\nkind='kuaishou'\nurl='ws://x'"
        )
        .is_err()
    );
}

#[test]
fn timing_keys_keep_their_names_on_every_connecting_kind() {
    let timing = "heartbeat_s = 7\nidle_timeout_s = 21\nbackoff_min_ms = 50\nbackoff_max_ms = 500";
    for (kind, extra) in [
        ("bilibili", "url = 'ws://h/sub'\nroom_id = 1"),
        ("bilibili_open", "url = 'ws://h/sub'\nauth_body = '{}'"),
        ("douyin", "url = 'ws://h/push'"),
        ("json", "url = 'ws://h/relay'\ndefault_type = 'comment'"),
    ] {
        let rooms = room(&format!(
            "[[rooms]]\nid='a'\n[[rooms.sources]]\nkind='{kind}'\n{extra}\n{timing}"
        ));
        check(&rooms).unwrap_or_else(|e| panic!("{kind}: {e}"));
        let timing = match &rooms[0].sources[0] {
            SourceConfig::Bilibili(c) => c.timing,
            SourceConfig::BilibiliOpen(c) => c.timing,
            SourceConfig::Douyin(c) => c.timing,
            SourceConfig::Json(c) => c.timing,
            SourceConfig::DouyinOpen(_) => unreachable!(),
        };
        let schedule = timing.schedule(TimingDefaults {
            heartbeat_s: 1,
            idle_timeout_s: 2,
        });
        assert_eq!(
            schedule.heartbeat,
            std::time::Duration::from_secs(7),
            "{kind}"
        );
        assert_eq!(schedule.idle, std::time::Duration::from_secs(21), "{kind}");
        assert_eq!(schedule.backoff, BackoffConfig::from_ms(50, 500), "{kind}");
        // A typo next to the flattened keys is still refused, by name.
        let err = crate::config::Config::from_toml(&format!(
            "[[rooms]]\nid='a'\n[[rooms.sources]]\nkind='{kind}'\n{extra}\nheartbeat = 7"
        ))
        .unwrap_err();
        assert!(err.to_string().contains("heartbeat"), "{kind}: {err}");
    }
}

#[test]
fn names_are_unique_and_paths_do_not_collide() {
    let rooms = room(
        r#"
        [[rooms]]
        id = "a"
        [[rooms.sources]]
        kind = "bilibili"
        url = "ws://h/sub"
        room_id = 1
        [[rooms.sources]]
        kind = "bilibili"
        url = "ws://h/sub"
        room_id = 2
        "#,
    );
    check(&rooms).unwrap();
    let names: Vec<_> = named(&rooms[0].sources)
        .iter()
        .map(|s| s.name().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["bilibili", "bilibili-2"]);

    let shared = |a: &str, b: &str| {
        format!(
            "[[rooms]]\nid='a'\n[[rooms.sources]]\nkind='douyin_open'\nurl='/hooks/dy'\nsecret='s'\n{a}\n\
             [[rooms]]\nid='b'\n[[rooms.sources]]\nkind='douyin_open'\nurl='/hooks/dy'\nsecret='s'\n{b}\n"
        )
    };
    check(&room(&shared("room_id='1'", "room_id=2"))).unwrap();
    assert!(check(&room(&shared("room_id='1'", "room_id='1'"))).is_err());
    assert!(check(&room(&shared("", "room_id='1'"))).is_err());
    let clash = room(
        "[[rooms]]\nid='a'\n[[rooms.sources]]\nkind='json'\nurl='/hooks/x'\ndefault_type='comment'\n\
         [rooms.sources.fields]\ntext='/t'\n[[rooms.sources]]\nkind='douyin_open'\nurl='/hooks/x'\nsecret='s'",
    );
    let err = check(&clash).unwrap_err();
    assert!(err.to_string().contains("/hooks/x"), "{err}");
}

#[test]
fn bad_urls_are_refused() {
    for (kind, url) in [
        ("bilibili", "http://h/sub"),
        ("douyin", "/hooks/x"),
        ("douyin_open", "/ws/ingest"),
        ("douyin_open", "/hooks/../x"),
        ("douyin_open", "/hooks/{room}"),
    ] {
        let extra = match kind {
            "bilibili" => "room_id=1",
            "douyin_open" => "secret='s'",
            _ => "",
        };
        let rooms = room(&format!(
            "[[rooms]]\nid='a'\n[[rooms.sources]]\nkind='{kind}'\nurl='{url}'\n{extra}"
        ));
        assert!(check(&rooms).is_err(), "{kind} {url}");
    }
}

#[test]
fn prepare_fixes_times_and_clips_display_fields() {
    let long_name = "名".repeat(100);
    let event = comment(
        envelope(Some("m1".into()), None, Some(long_name), Some(12)),
        "  2号多少钱  ".into(),
    );
    let ready = prepare(event, "r1", 1_763_900_000_000).unwrap();
    let env = ready.envelope();
    assert_eq!(env.room.as_deref(), Some("r1"));
    assert_eq!(env.ts, Some(1_763_900_000_000));
    assert!(env.name.as_ref().unwrap().len() <= MAX_USER_LEN);
    match ready {
        IngestEvent::Comment(c) => assert_eq!(c.text, "2号多少钱"),
        other => panic!("{other:?}"),
    }
    let empty = comment(envelope(None, None, None, None), "   ".into());
    assert!(prepare(empty, "r1", 1_763_900_000_000).is_err());
    let long_id = comment(
        envelope(Some("x".repeat(200)), None, None, None),
        "hi".into(),
    );
    assert!(prepare(long_id, "r1", 1_763_900_000_000).is_err());
}

#[test]
fn times_in_seconds_or_milliseconds() {
    assert_eq!(to_ms(1_763_900_000), Some(1_763_900_000_000));
    assert_eq!(to_ms(1_763_900_000_123), Some(1_763_900_000_123));
    assert_eq!(to_ms(0), None);
    assert_eq!(to_ms(-5), None);
    assert_eq!(to_ms(i64::MAX), None);
}
