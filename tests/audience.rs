//! Viewer profiles, segments and the closed loop through the real server: the audience mix in
//! `stats`, a talking-point cue choosing its variant from the mix and saying why, an ack that
//! becomes an exposure whose outcome is measured and published, the console's forget action
//! and `livecue forget`, and the review's audience and experiment sections from the store.

mod common;

use std::process::Command;

use common::{Server, TempDir, next_json, runtime, until};
use futures_util::SinkExt;
use livecue::clock::now_ms;
use livecue::store::{Reader, Record, Store};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const CONFIG: &str = r#"
[[rooms]]
id = "r1"
name = "实验直播间"
[[rooms.products]]
id = "1"
name = "白鸭绒羽绒服"
price = 399.0
[[rooms.products.points]]
topic = "quality"
text = "90白鸭绒, 充绒200克"
[[rooms.products.points.variants]]
tone = "优惠先行"
text = "到手{price}, 今天最低"
[[rooms.products.points.variants]]
tone = "材质细节"
text = "蓬松度700+, 每批有检测报告"
[rooms.experiment]
outcome_s = 10
"#;

async fn send_json(ws: &mut common::Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mix_chooses_a_variant_an_ack_is_measured_and_a_viewer_can_be_forgotten() {
    let mut server = Server::start(CONFIG, true).await;
    let mut console = server.ws("/ws/room/r1?role=console").await;
    let snapshot = next_json(&mut console, 5).await;
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["variants"]["variants"], json!([]));
    assert_eq!(snapshot["stats"]["audience"]["active"], 0);

    // Six viewers ask about price: the room is price-sensitive (and new).
    let mut ingest = server.ws("/ws/ingest?room=r1").await;
    let comments: Vec<Value> = (0..6)
        .map(|i| json!({"type":"comment","id":format!("c{i}"),"user":format!("viewer-{i}"),"text":"这件多少钱"}))
        .collect();
    send_json(&mut ingest, Value::Array(comments)).await;
    let ack = next_json(&mut ingest, 10).await;
    assert_eq!(ack["type"], "ack", "{ack}");

    let stats = until(&mut console, 10, |m| {
        m["type"] == "stats" && m["audience"]["active"] == 6
    })
    .await;
    let shares = stats["audience"]["shares"].as_array().unwrap();
    let share = |name: &str| {
        shares
            .iter()
            .find(|s| s["segment"] == name)
            .map_or(-1.0, |s| s["share"].as_f64().unwrap())
    };
    assert_eq!(share("价格敏感"), 1.0);
    assert_eq!(share("新客"), 1.0);
    assert_eq!(share("老粉"), 0.0);
    let viewer_id = stats["comments"][0]["viewer_id"]
        .as_str()
        .expect("comments carry the full pseudonym")
        .to_owned();
    assert_eq!(viewer_id.len(), 16);

    // The first talking point of the pitched product is a trial of a variant, chosen for the
    // leading segment, with the reason in words.
    let cue = until(&mut console, 15, |m| {
        m["type"] == "cue" && m["cue"]["kind"] == "talking_point"
    })
    .await;
    let cue = &cue["cue"];
    assert_eq!(cue["trial"]["context"], "价格敏感", "{cue}");
    assert_eq!(cue["trial"]["slot"], "1号 卖点1");
    assert!(
        cue["reason"]
            .as_str()
            .unwrap()
            .contains("价格敏感观众占 100%"),
        "{cue}"
    );
    let variant = cue["trial"]["variant"].as_str().unwrap().to_owned();
    let expected_text = match variant.as_str() {
        "" => "90白鸭绒, 充绒200克",
        "优惠先行" => "到手399, 今天最低",
        "材质细节" => "蓬松度700+, 每批有检测报告",
        other => panic!("unknown variant {other}"),
    };
    assert_eq!(cue["text"], expected_text, "{cue}");
    let id = cue["id"].as_str().unwrap().to_owned();

    // The operator acts on it: an exposure, settled after outcome_s (10 s) and published.
    send_json(&mut console, json!({"type":"ack_cue","id":id,"req":1})).await;
    until(&mut console, 5, |m| m["type"] == "reply" && m["req"] == 1).await;
    let variants = until(&mut console, 20, |m| m["type"] == "variants").await;
    let rows = variants["variants"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{variants}");
    assert_eq!(rows[0]["exposures"], 1);
    assert_eq!(rows[0]["context"], "价格敏感");
    let reward = rows[0]["mean_reward"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&reward));
    assert_eq!(variants["pending"], 0);

    // One viewer's profile with its tags, for the console.
    let profile = server
        .http(
            "GET",
            &format!("/api/rooms/r1/viewers/{viewer_id}"),
            &[],
            "",
        )
        .await;
    assert_eq!(profile.status, 200, "{}", profile.body);
    let profile: Value = serde_json::from_str(&profile.body).unwrap();
    let derived = profile["tags"]["derived"].as_array().unwrap();
    assert!(derived.contains(&json!("价格敏感")), "{profile}");
    assert!(derived.contains(&json!("新客")), "{profile}");
    assert_eq!(profile["tags"]["dynamic"], json!(["5分钟内问过价格"]));
    assert_eq!(profile["profile"]["comments"], 1);
    assert_eq!(profile["rfm"][0], 5);
    let bad = server
        .http("GET", "/api/rooms/r1/viewers/v1234", &[], "")
        .await;
    assert_eq!(bad.status, 400);

    // A viewer asks to be forgotten.
    send_json(
        &mut console,
        json!({"type":"forget","viewer":"not-a-pseudonym","req":2}),
    )
    .await;
    let refused = until(&mut console, 5, |m| m["req"] == 2).await;
    assert_eq!(refused["code"], "invalid_command", "{refused}");
    send_json(
        &mut console,
        json!({"type":"forget","viewer":viewer_id,"req":3}),
    )
    .await;
    // The broadcast and the reply travel separately: either may come first.
    let (mut forgotten, mut replied) = (false, false);
    while !(forgotten && replied) {
        let m = next_json(&mut console, 10).await;
        if m["type"] == "forgotten" {
            assert_eq!(m["viewer"], viewer_id.as_str());
            forgotten = true;
        }
        if m["req"] == 3 {
            assert_eq!(m["ok"], true, "{m}");
            replied = true;
        }
    }

    let gone = server
        .http(
            "GET",
            &format!("/api/rooms/r1/viewers/{viewer_id}"),
            &[],
            "",
        )
        .await;
    assert_eq!(gone.status, 404, "{}", gone.body);

    // Stopping writes the profiles; the store has the rest, minus the forgotten viewer.
    let dir = server.dir.take().expect("a store");
    server.stop().await;
    let data = dir.join("data");
    let reader = Reader::open(&data).unwrap();
    let conn = reader.connection();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM profiles"), 5);
    assert_eq!(count("SELECT count(*) FROM comments"), 5);
    let left: i64 = conn
        .query_row(
            "SELECT count(*) FROM comments WHERE viewer = ?1",
            [&viewer_id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 0);
    assert_eq!(count("SELECT count(*) FROM exposures"), 1);
    let kept: String = conn
        .query_row(
            "SELECT command FROM actions WHERE kind = 'forget'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        !kept.contains(&viewer_id),
        "the action log keeps whom: {kept}"
    );

    let review = livecue::report::build(&reader, "r1", None, 480, &mut |_| {}).unwrap();
    assert_eq!(review.audience.viewers, 5);
    assert_eq!(review.audience.segments[0].viewers, 5);
    assert!(
        review.audience.clustering_note.is_some(),
        "5 viewers: too few"
    );
    assert_eq!(review.experiments.exposures, 1);
    assert_eq!(review.experiments.variants[0].exposures, 1);
    assert!(
        review.experiments.verdicts.is_empty(),
        "one exposure decides nothing"
    );
    let html = livecue::report::html::render(&review);
    assert!(html.contains("话术实验") && html.contains("观众分群"));
    drop(reader);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn forget_on_the_command_line_deletes_one_viewer_in_every_session_of_the_room() {
    let dir = TempDir::new("forget");
    let rt = runtime();
    let t0 = now_ms() - 3_600_000;
    let analyzer = livecue::analyze::Analyzer::embedded();
    let (target, other) = rt.block_on(async {
        let store = Store::open(dir.path()).unwrap();
        let h = store.handle();
        let target = h.pseudonym("leaving-viewer");
        let other = h.pseudonym("staying-viewer");
        for (room, at) in [("r1", t0), ("r1", t0 + 600_000), ("r2", t0)] {
            let s = h.start_session(room, "", &[], None, at).await.unwrap().id;
            let mut records = Vec::new();
            for (n, user) in ["leaving-viewer", "staying-viewer"].iter().enumerate() {
                let text = format!("{room} {user}");
                let analysis = analyzer.analyze(&text, livecue::analyze::RoomCatalog::empty());
                let event = livecue::ingest::CommentEvent {
                    env: livecue::ingest::Envelope {
                        id: Some(format!("{room}-{at}-{n}")),
                        user: Some(user.to_string()),
                        ..Default::default()
                    },
                    text,
                    super_chat: None,
                };
                let reading = livecue::room::Reading::new(&analyzer, analysis, None);
                records.push(Record::Comment(livecue::live::records::comment(
                    &s,
                    at + n as i64,
                    &event,
                    Some(h.viewer(user)),
                    &reading,
                )));
            }
            h.append(records).await.unwrap();
            h.append(vec![Record::SessionEnd {
                session: s,
                at: at + 1_000,
            }])
            .await
            .unwrap();
        }
        store.close().await.unwrap();
        (target, other)
    });
    let livecue = env!("CARGO_BIN_EXE_livecue");
    let data = dir.path().to_str().unwrap();

    let bad = Command::new(livecue)
        .args([
            "forget",
            "--room",
            "r1",
            "--viewer",
            "v1234",
            "--data-dir",
            data,
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("16 hex digits"));

    let out = Command::new(livecue)
        .args([
            "forget",
            "--room",
            "r1",
            "--viewer",
            &target,
            "--data-dir",
            data,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("2 comments"), "{stdout}");

    let reader = Reader::open(dir.path()).unwrap();
    let viewer_rows = |room: &str, viewer: &str| -> i64 {
        reader
            .connection()
            .query_row(
                "SELECT count(*) FROM comments c JOIN sessions s ON s.key = c.session
                 WHERE s.room = ?1 AND c.viewer = ?2",
                [room, viewer],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert_eq!(viewer_rows("r1", &target), 0);
    assert_eq!(viewer_rows("r1", &other), 2);
    // Another room's data is not touched.
    assert_eq!(viewer_rows("r2", &target), 1);
}
