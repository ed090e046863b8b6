//! Issue 18: a comment is interpreted once, where it enters, and the store and the live room
//! take the same interpretation. A product question without a product is about the product
//! pitched when it arrived; when the pitch changes while the comment is on its way (committed
//! to the store but not yet applied by the room), the review and the room still agree.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use common::TempDir;
use livecue::analyze::Analyzer;
use livecue::config::Config;
use livecue::ingest::{CommentEvent, Envelope, IngestEvent};
use livecue::live::{RoomStore, Rooms};
use livecue::metrics::Metrics;
use livecue::store::{Reader, Store};
use livecue::wire::Command;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

static ANALYZER: LazyLock<Arc<Analyzer>> = LazyLock::new(|| Arc::new(Analyzer::embedded()));

const ROOM: &str = r#"
[[rooms]]
id = "r1"
name = "换品测试"
[[rooms.products]]
id = "1"
name = "白鸭绒羽绒服"
aliases = ["羽绒服"]
[[rooms.products]]
id = "2"
name = "羊毛针织开衫"
aliases = ["开衫"]
"#;

/// Question keys and their ask counts in the room's live picture (from a snapshot).
fn live_keys(snapshot: &str) -> BTreeMap<String, u64> {
    let v: serde_json::Value = serde_json::from_str(snapshot).expect("a JSON snapshot");
    v["stats"]["questions"]
        .as_array()
        .expect("question clusters")
        .iter()
        .map(|c| {
            (
                c["key"].as_str().unwrap_or_default().to_owned(),
                c["total"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn store_and_room_agree_when_the_pitch_changes_between_ingest_and_apply() {
    let dir = TempDir::new("interpretation");
    let config = Config::from_toml(ROOM).expect("config");
    let room_config = &config.rooms[0];
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let store = Store::open(dir.path()).expect("store");
        let handle = store.handle();
        let session = handle
            .start_session("r1", &room_config.name, &room_config.products, Some("1"), 0)
            .await
            .expect("a session")
            .id;
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        let rooms = Rooms::new(
            ANALYZER.clone(),
            Arc::new(Metrics::new()),
            config.limits.clone(),
            cancel.clone(),
            tracker.clone(),
        );
        let room = rooms
            .open(
                room_config,
                Some(RoomStore {
                    handle: handle.clone(),
                    session: session.clone(),
                }),
                Default::default(),
            )
            .expect("room opens");
        assert_eq!(room.pitching().as_deref(), Some("1"));
        // Rounds of product-less price questions; each round's pitch change races the round's
        // commit, so some rounds reach the room after the change and some before.
        let mut n = 0;
        for round in 0..20 {
            let events: Vec<IngestEvent> = (0..200)
                .map(|_| {
                    n += 1;
                    IngestEvent::Comment(CommentEvent::new(
                        Envelope {
                            id: Some(format!("c{n}")),
                            user: Some(format!("u{n}")),
                            ts: Some(1_763_900_000_000 + n),
                            ..Envelope::default()
                        },
                        "多少钱",
                    ))
                })
                .collect();
            let product = if round % 2 == 0 { "2" } else { "1" };
            let pitch = Command::SetPitching {
                product: Some(product.into()),
            };
            let now = livecue::clock::now_ms();
            let (ingested, pitched) = tokio::join!(room.ingest(events, now), room.command(pitch));
            assert_eq!(ingested.expect("ingested").accepted, 200);
            pitched.expect("pitch set");
        }
        // A snapshot is answered after every queued event has been applied.
        let snapshot = room.snapshot().await.expect("a snapshot");
        let live = live_keys(snapshot.json.as_str());
        cancel.cancel();
        tracker.close();
        tracker.wait().await;
        store.close().await.expect("store closes");

        let reader = Reader::open(dir.path()).expect("reader");
        let s = reader
            .session("r1", Some(&session))
            .expect("read")
            .expect("the session");
        let mut stored: BTreeMap<String, u64> = BTreeMap::new();
        reader
            .for_each_comment(&s, |c| {
                *stored
                    .entry(c.key.unwrap_or_default().to_owned())
                    .or_default() += 1;
            })
            .expect("comments");
        assert_eq!(stored.values().sum::<u64>(), 4_000);
        assert_eq!(
            live, stored,
            "the room's clusters and the stored comments attribute every question alike"
        );
        // The pitch alternated between the rounds, so both products got questions; whether a
        // round's change landed before or after its comments is up to the race, and either
        // way the two sides must agree.
        assert!(live.contains_key("price:1") && live.contains_key("price:2"));
    });
}
