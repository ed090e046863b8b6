//! The review from the outside: a known stream (500 analyzed comments of known intents for
//! known products, 20 orders, cues and console actions) goes through the real analyzer and the
//! store; the JSON report's totals, per-product and per-question counts must equal what was
//! sent; the HTML has every section and escapes viewer text; the CSV tables have their headers
//! and one row per item; personal data never reaches any of them.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{TempDir, runtime};

use livecue::analyze::{Analyzer, RoomCatalog};
use livecue::clock::now_ms;
use livecue::config::Config;
use livecue::ingest::{CommentEvent, Envelope, IngestEvent, OrderEvent};
use livecue::live::records as rec;
use livecue::report::{self, Format, Options, Table};
use livecue::room::Reading;
use livecue::store::{CommentRecord, CueRecord, Reader, Record, Store};
use livecue::suggest::CueState;
use livecue::wire::Command;
use serde_json::Value;

/// A comment template, how often it is sent, and what the analysis must find in it: intents,
/// product, question key.
type Template = (
    &'static str,
    usize,
    &'static [&'static str],
    Option<&'static str>,
    Option<&'static str>,
);

const STREAM: &[Template] = &[
    ("2号多少钱", 100, &["ask_price"], Some("2"), Some("price:2")),
    ("3号有没有M码", 80, &["ask_size"], Some("3"), Some("size:3")),
    ("1号已拍", 60, &["purchase"], Some("1"), None),
    ("颜色好漂亮", 100, &["praise"], None, None),
    ("发货太慢了 差评", 40, &["complaint"], None, None),
    (
        "1号羽绒服会掉毛吗",
        70,
        &["ask_quality"],
        Some("1"),
        Some("quality:1"),
    ),
    ("哈哈哈", 48, &["chatter"], None, None),
    (
        "<script>alert(1)</script>2号什么尺码",
        1,
        &["ask_size"],
        Some("2"),
        Some("size:2"),
    ),
    (
        "加我微信 abc12345 电话13812345678",
        1,
        &["spam"],
        None,
        None,
    ),
];
const PHONE: &str = "13812345678";
const WECHAT: &str = "abc12345";

struct Fixture {
    dir: TempDir,
    t0: i64,
    session: Arc<str>,
}

/// Sends the known stream through the analyzer into a fresh store, the way the server does.
fn fixture(name: &str) -> Fixture {
    let dir = TempDir::new(name);
    let config = Config::from_file(Path::new("tests/data/catalog.toml")).unwrap();
    let room = config.room("eval").unwrap();
    let analyzer = Analyzer::embedded();
    let catalog = RoomCatalog::new(&room.products, &room.words).unwrap();
    let t0 = now_ms() - 2 * 3_600_000;
    let rt = runtime();
    let session = rt.block_on(async {
        let store = Store::open(dir.path()).unwrap();
        let h = store.handle();
        let s = h
            .start_session("eval", &room.name, &room.products, Some("1"), t0)
            .await
            .unwrap()
            .id;
        let pitching: Arc<str> = "1".into();
        let mut records = Vec::new();
        let mut n = 0usize;
        for (text, times, intents, product, key) in STREAM {
            let probe = analyzer.analyze(text, &catalog);
            let got: Vec<&str> = probe.intents.iter().map(|i| i.as_str()).collect();
            assert_eq!(got, *intents, "analysis of {text:?} changed");
            assert_eq!(probe.product.as_deref(), *product, "product of {text:?}");
            for _ in 0..*times {
                let at = t0 + 1_000 + n as i64 * 1_200;
                let event = CommentEvent::new(
                    Envelope {
                        id: Some(format!("c-{n}")),
                        room: Some("eval".into()),
                        ts: Some(at),
                        user: Some(format!("u{}", n % 37)),
                        name: Some("小鱼".into()),
                        medal: None,
                    },
                    *text,
                );
                let analysis = analyzer.analyze(&event.text, &catalog);
                let viewer = event.env.user.as_deref().map(|u| h.viewer(u));
                let reading = Reading::new(&analyzer, analysis, Some(&pitching));
                let record = rec::comment(&s, at, &event, viewer, &reading);
                assert_eq!(record.key.as_deref(), *key);
                records.push(Record::Comment(record));
                n += 1;
            }
        }
        assert_eq!(n, 500);
        for i in 0..20usize {
            let (product, quantity, amount) = if i < 12 { ("1", 1, 399.0) } else { ("2", 2, 318.0) };
            let at = t0 + 30_000 + i as i64 * 25_000;
            let event = IngestEvent::Order(OrderEvent {
                env: Envelope {
                    id: Some(format!("o-{i}")),
                    user: Some(format!("buyer{}", i % 5)),
                    ts: Some(at),
                    ..Envelope::default()
                },
                product: product.into(),
                quantity,
                amount: Some(amount),
            });
            let viewer = event.envelope().user.as_deref().map(|u| h.viewer(u));
            records.push(rec::other_event(&s, at, &event, viewer).map(Record::Event).unwrap());
        }
        // Ingest appends in frames; the order of frames does not matter to the report.
        for chunk in records.chunks(64) {
            h.append(chunk.to_vec()).await.unwrap();
        }
        // LiveCue suggested answering size:3 at +300 s; the operator acked it at +320 s.
        let cue = |id: &str, kind: &'static str, at: i64, variant: Option<&str>, key: Option<&str>| {
            Record::Cue(CueRecord {
                session: s.clone(),
                id: id.into(),
                kind,
                product: Some("3".into()),
                priority: 70,
                text: "80人问3号尺码 → <b>讲尺码表</b>".into(),
                reason: "80 人在问 3号尺码".into(),
                variant: variant.map(Into::into),
                evidence: serde_json::json!({"count": 80, "window_s": 60, "samples": ["3号有没有m码"], "key": key}),
                created_at: at,
                expires_at: at + 45_000,
                state: CueState::Active.as_str(),
            })
        };
        let at = |s: i64| t0 + s * 1000;
        assert!(h.try_append(vec![
            cue("eval-1", "answer_question", at(300), None, Some("size:3")),
            rec::action(&s, at(300), &Command::SetPitching { product: Some("2".into()) }),
            Record::CueState { session: s.clone(), id: "eval-1".into(), state: CueState::Acked.as_str(), at: at(320) },
            rec::action(&s, at(320), &Command::AckCue { id: "eval-1".into() }),
            cue("eval-2", "talking_point", at(400), Some("优惠先行"), None),
            Record::CueState { session: s.clone(), id: "eval-2".into(), state: CueState::Dismissed.as_str(), at: at(410) },
            rec::action(&s, at(410), &Command::DismissCue { id: "eval-2".into() }),
        ]));
        h.append(vec![Record::SessionEnd { session: s.clone(), at: at(620) }])
            .await
            .unwrap();
        store.close().await.unwrap();
        s
    });
    Fixture { dir, t0, session }
}

fn render(f: &Fixture, format: Format) -> Vec<u8> {
    let reader = Reader::open(f.dir.path()).unwrap();
    let mut out = Vec::new();
    let mut calls = 0;
    report::render_to(
        &reader,
        "eval",
        None,
        format,
        &Options::default(),
        &mut |_| calls += 1,
        &mut out,
    )
    .unwrap();
    out
}

fn product<'a>(review: &'a Value, id: &str) -> &'a Value {
    review["products"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("no product {id}"))
}

fn question<'a>(review: &'a Value, key: &str) -> &'a Value {
    review["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["key"] == key)
        .unwrap_or_else(|| panic!("no question {key}"))
}

#[test]
fn the_json_review_counts_exactly_what_was_sent() {
    let f = fixture("json");
    let json = render(&f, Format::Json);
    let r: Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(r["schema"], "livecue.review/1");
    assert_eq!(r["room"]["id"], "eval");
    assert_eq!(r["session"]["id"], &*f.session);
    assert_eq!(r["session"]["status"], "ended");
    assert_eq!(r["session"]["duration_s"], 620.0);
    assert_eq!(r["session"]["dropped"], 0);

    let s = &r["summary"];
    assert_eq!(s["comments"], 500);
    assert_eq!(s["questions"], 100 + 80 + 70 + 1);
    assert_eq!(s["purchase_signals"], 60);
    assert_eq!(s["complaints"], 40);
    assert_eq!(s["orders"], 20);
    assert_eq!(s["order_quantity"], 12 + 8 * 2);
    assert_eq!(s["order_amount"], 12.0 * 399.0 + 8.0 * 318.0);
    assert_eq!(s["unique_viewers"], 37 + 5);
    assert_eq!(s["cues"], 2);
    assert_eq!(s["cues_acted"], 1);
    assert_eq!(s["cues_dismissed"], 1);
    let sentiment = &s["sentiment"];
    let labelled = sentiment["positive"].as_u64().unwrap()
        + sentiment["neutral"].as_u64().unwrap()
        + sentiment["negative"].as_u64().unwrap();
    assert_eq!(labelled, 500);
    assert_eq!(sentiment["negative"], 40, "the complaints");
    // Comments arrive every 1.2 s: 50 a minute.
    assert_eq!(s["peak_rate_per_min"], 50);

    let timeline = r["timeline"].as_array().unwrap();
    let in_timeline: u64 = timeline
        .iter()
        .map(|m| m["comments"].as_u64().unwrap())
        .sum();
    assert_eq!(in_timeline, 500);
    let orders: u64 = timeline.iter().map(|m| m["orders"].as_u64().unwrap()).sum();
    assert_eq!(orders, 28);

    let intents: Vec<(String, u64)> = r["intents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["count"].as_u64().unwrap(),
            )
        })
        .collect();
    for (label, n) in [
        ("ask_price", 100),
        ("ask_size", 81),
        ("purchase", 60),
        ("praise", 100),
        ("complaint", 40),
        ("ask_quality", 70),
        ("chatter", 48),
        ("spam", 1),
    ] {
        assert!(
            intents.contains(&(label.to_owned(), n)),
            "{label}: {intents:?}"
        );
    }

    let p1 = product(&r, "1");
    assert_eq!(p1["name"], "白鸭绒连帽羽绒服");
    assert_eq!(p1["mentions"], 60 + 70);
    assert_eq!(p1["questions_total"], 70);
    assert_eq!(p1["questions"]["quality"], 70);
    assert_eq!(p1["purchase_signals"], 60);
    assert_eq!(p1["orders"], 12);
    assert_eq!(p1["order_amount"], 12.0 * 399.0);
    assert_eq!(p1["pitched_s"], 300.0);
    let p2 = product(&r, "2");
    assert_eq!(p2["mentions"], 101);
    assert_eq!(p2["questions"]["price"], 100);
    assert_eq!(p2["questions"]["size"], 1);
    assert_eq!(p2["order_quantity"], 16);
    assert_eq!(p2["pitched_s"], 320.0);
    let p3 = product(&r, "3");
    assert_eq!(p3["mentions"], 80);
    assert_eq!(p3["questions"]["size"], 80);
    assert_eq!(
        r["products"].as_array().unwrap().len(),
        6,
        "the whole catalog"
    );

    assert_eq!(r["questions"][0]["key"], "price:2", "most asked first");
    assert_eq!(question(&r, "price:2")["asks"], 100);
    assert_eq!(question(&r, "price:2")["askers"], 37);
    assert_eq!(question(&r, "price:2")["answered_at"], Value::Null);
    assert_eq!(question(&r, "quality:1")["asks"], 70);
    assert_eq!(question(&r, "size:2")["asks"], 1);
    let size3 = question(&r, "size:3");
    assert_eq!(size3["asks"], 80);
    assert_eq!(size3["cue_at"], f.t0 + 300_000);
    assert_eq!(size3["answered_at"], f.t0 + 320_000);
    let first = size3["first_at"].as_i64().unwrap();
    assert_eq!(
        first,
        f.t0 + 1_000 + 100 * 1_200,
        "after the 100 price questions"
    );
    assert_eq!(size3["answer_s"], (f.t0 + 320_000 - first) as f64 / 1000.0);

    let cues = r["cues"].as_array().unwrap();
    assert_eq!(cues.len(), 2);
    assert_eq!(cues[0]["outcome"], "acted");
    assert_eq!(cues[0]["response_s"], 20.0);
    assert_eq!(cues[1]["outcome"], "dismissed");
    assert_eq!(cues[1]["variant"], "优惠先行");
    // 50 comments a minute before and after the cue at +300 s.
    assert_eq!(cues[0]["before"]["comments"], 100);
    assert_eq!(cues[0]["after"]["comments"], 100);
    assert_eq!(cues[0]["before"]["rate_per_min"], 50.0);
    let variants = r["variants"].as_array().unwrap();
    assert!(
        variants
            .iter()
            .any(|v| v["variant"] == "优惠先行" && v["dismissed"] == 1)
    );

    let peaks = r["peaks"].as_array().unwrap();
    assert_eq!(peaks.len(), 5);
    assert!(peaks.iter().all(|p| p["comments"].as_u64().unwrap() <= 50));
    assert!(
        peaks
            .iter()
            .all(|p| !p["samples"].as_array().unwrap().is_empty())
    );
    let words = r["hot_words"].as_array().unwrap();
    assert!(
        words
            .iter()
            .any(|w| w["name"] == "漂亮" && w["count"] == 100),
        "{words:?}"
    );
    assert!(r["actions"].as_array().unwrap().len() >= 4);

    let text = String::from_utf8(json).unwrap();
    assert!(!text.contains(PHONE) && !text.contains(WECHAT));
}

#[test]
fn the_html_review_is_one_safe_page_with_every_section() {
    let f = fixture("html");
    let html = String::from_utf8(render(&f, Format::Html)).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    for id in [
        "summary",
        "timeline",
        "intents",
        "products",
        "questions",
        "words",
        "peaks",
        "cues",
        "variants",
        "actions",
    ] {
        assert!(
            html.contains(&format!("<section id=\"{id}\"")),
            "section {id}"
        );
    }
    assert!(html.contains("<svg"), "the charts are inline SVG");
    assert!(html.contains("白鸭绒连帽羽绒服"), "Chinese text as is");
    // Nothing runs and nothing is fetched.
    assert!(!html.contains("<script"), "viewer text must be escaped");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(
        html.contains("&lt;b&gt;讲尺码表&lt;/b&gt;"),
        "cue text escaped"
    );
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(!html.contains(PHONE) && !html.contains(WECHAT));
    if let Ok(dir) = std::env::var("LIVECUE_REPORT_OUT") {
        // For screenshots: LIVECUE_REPORT_OUT=/tmp cargo test --test report
        std::fs::write(Path::new(&dir).join("livecue-report.html"), &html).unwrap();
    }
}

fn csv_rows(bytes: &[u8]) -> Vec<String> {
    let text = std::str::from_utf8(bytes).unwrap();
    let text = text.strip_prefix('\u{feff}').expect("UTF-8 BOM");
    // No cell of these tables has a line break.
    text.split("\r\n")
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn csv_tables_have_headers_and_a_row_per_item() {
    let f = fixture("csv");
    let comments = csv_rows(&render(&f, Format::Csv(Table::Comments)));
    assert!(comments[0].starts_with("time (+08:00),at_ms,ts_ms,viewer,text,product,named,intents,sentiment,label,question,key,complaint"));
    assert_eq!(comments.len(), 1 + 500);
    assert!(
        comments
            .iter()
            .any(|l| l.contains(",2号多少钱,2,1,ask_price,"))
    );
    assert!(
        !comments
            .iter()
            .any(|l| l.contains(PHONE) || l.contains(WECHAT))
    );

    let minutes = csv_rows(&render(&f, Format::Csv(Table::Minutes)));
    assert!(minutes[0].starts_with("time (+08:00),at_ms,comments,questions,sentiment"));
    let r: Value = serde_json::from_slice(&render(&f, Format::Json)).unwrap();
    assert_eq!(minutes.len(), 1 + r["timeline"].as_array().unwrap().len());
    let total: u64 = minutes[1..]
        .iter()
        .map(|l| l.split(',').nth(2).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, 500);

    let products = csv_rows(&render(&f, Format::Csv(Table::Products)));
    assert!(products[0].starts_with("id,name,price,pitched_s,mentions,named,questions,q_price,"));
    assert_eq!(products.len(), 1 + 6);
    let questions = csv_rows(&render(&f, Format::Csv(Table::Questions)));
    assert_eq!(questions.len(), 1 + 4);
    let cues = csv_rows(&render(&f, Format::Csv(Table::Cues)));
    assert_eq!(cues.len(), 1 + 2);
    assert!(cues[1].contains(",acted,20,"));
}

#[test]
fn the_server_entry_point_and_errors() {
    let f = fixture("entry");
    let store = Store::open(f.dir.path()).unwrap();
    let html = report::render(&store, "eval", None, Format::Html).unwrap();
    assert!(html.starts_with(b"<!DOCTYPE html>"));
    let json = report::render(&store, "eval", Some(&f.session), Format::Json).unwrap();
    assert!(!json.is_empty());
    assert!(matches!(
        report::render(&store, "nope", None, Format::Json),
        Err(report::ReportError::NoSession { .. })
    ));
    assert!(matches!(
        report::render(&store, "eval", Some("eval-19700101-000000"), Format::Json),
        Err(report::ReportError::NoSession { .. })
    ));
    store.close_blocking().unwrap();
    let empty = TempDir::new("empty");
    assert!(
        Reader::open(empty.path()).is_err(),
        "no database is an error, not an empty one"
    );
}

/// A four-hour session with a million comments: `cargo test --release --test report -- --ignored`.
#[test]
#[ignore]
fn a_million_comments_report_in_seconds() {
    let dir = TempDir::new("million");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let t0 = now_ms() - 5 * 3_600_000;
    let texts = [
        "2号多少钱",
        "3号有没有M码",
        "1号已拍",
        "主播好漂亮",
        "发货太慢了 差评",
        "哈哈哈",
    ];
    let analyzer = Analyzer::embedded();
    let config = Config::from_file(Path::new("tests/data/catalog.toml")).unwrap();
    let room = config.room("eval").unwrap();
    let catalog = RoomCatalog::new(&room.products, &room.words).unwrap();
    let analyses: Vec<_> = texts
        .iter()
        .map(|t| analyzer.analyze(t, &catalog))
        .collect();
    let started = std::time::Instant::now();
    rt.block_on(async {
        let store = Store::open(dir.path()).unwrap();
        let h = store.handle();
        let s = h
            .start_session("eval", "", &room.products, Some("1"), t0)
            .await
            .unwrap()
            .id;
        let mut tasks = Vec::new();
        for conn in 0..4usize {
            let h = h.clone();
            let s = s.clone();
            let analyses = analyses.clone();
            let analyzer = Analyzer::embedded();
            tasks.push(tokio::spawn(async move {
                for frame in 0..2_500usize {
                    let mut batch = Vec::with_capacity(100);
                    for i in 0..100usize {
                        let n = (conn * 2_500 + frame) * 100 + i;
                        let at = t0 + (n as i64 * 14_400_000) / 1_000_000;
                        let k = n % texts.len();
                        let event = CommentEvent::new(
                            Envelope {
                                id: Some(format!("c{n}")),
                                user: Some(format!("u{}", n % 50_000)),
                                ts: Some(at),
                                ..Envelope::default()
                            },
                            texts[k],
                        );
                        let viewer = Some(h.viewer(event.env.user.as_deref().unwrap_or("")));
                        let reading = Reading::new(&analyzer, analyses[k].clone(), None);
                        batch.push(Record::Comment(rec::comment(
                            &s, at, &event, viewer, &reading,
                        )));
                    }
                    h.append(batch).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        store.close().await.unwrap();
    });
    eprintln!(
        "wrote 1,000,000 comments in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let reader = Reader::open(dir.path()).unwrap();
    let started = std::time::Instant::now();
    let review = report::build(&reader, "eval", None, 480, &mut |_| {}).unwrap();
    eprintln!(
        "built the review in {:.2}s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(review.summary.comments, 1_000_000);
    let started = std::time::Instant::now();
    let html = livecue::report::html::render(&review);
    eprintln!(
        "HTML {} KiB in {:.2}s",
        html.len() / 1024,
        started.elapsed().as_secs_f64()
    );
    let started = std::time::Instant::now();
    let mut sink = std::io::sink();
    report::render_to(
        &reader,
        "eval",
        None,
        Format::Csv(Table::Comments),
        &Options::default(),
        &mut |_| {},
        &mut sink,
    )
    .unwrap();
    eprintln!("comments CSV in {:.2}s", started.elapsed().as_secs_f64());
}

/// A realistic session for screenshots: 30 minutes of the demo audience through the real
/// analyzer, room state and suggestion rules, with an operator who acts on most answer cues.
/// `LIVECUE_REPORT_OUT=/tmp cargo test --test report demo_session -- --ignored`
#[test]
#[ignore]
fn demo_session_for_screenshots() {
    use livecue::demo::{Audience, DEMO_ROOM, TICK_MS, demo_config};
    use livecue::room::RoomState;
    use livecue::suggest::{CueKind, Suggester};
    let dir = TempDir::new("demo");
    let config = demo_config().unwrap();
    let room = config.room(DEMO_ROOM).unwrap();
    let analyzer = Analyzer::embedded();
    let catalog = Arc::new(RoomCatalog::new(&room.products, &room.words).unwrap());
    let t0 = now_ms() - 3_600_000;
    let returning = Default::default();
    let mut state = RoomState::new(room.setup(&returning), catalog.clone(), t0);
    let mut suggester = Suggester::default();
    let mut audience = Audience::new(&room.products, 7).unwrap();
    let rt = runtime();
    rt.block_on(async {
        let store = Store::open(dir.path()).unwrap();
        let h = store.handle();
        let s = h
            .start_session(
                DEMO_ROOM,
                &room.name,
                &room.products,
                state.pitching().as_deref(),
                t0,
            )
            .await
            .unwrap()
            .id;
        let mut events = Vec::new();
        let mut records = Vec::new();
        let mut pending: Vec<(i64, String, CueState)> = Vec::new();
        let mut recorded_expired = std::collections::HashSet::new();
        let ticks = 30 * 60 * 1000 / TICK_MS;
        for tick in 0..ticks {
            let now = t0 + tick * TICK_MS;
            events.clear();
            audience.tick(now, state.pitching().as_deref(), &mut events);
            for event in &events {
                let viewer = event.envelope().user.as_deref().map(|u| h.viewer(u));
                match event {
                    IngestEvent::Comment(c) => {
                        let analysis = analyzer.analyze(&c.text, &catalog);
                        let id = h.viewer(c.env.user.as_deref().unwrap_or(""));
                        let reading = Reading::new(&analyzer, analysis, state.pitching().as_ref());
                        records.push(Record::Comment(rec::comment(&s, now, c, viewer, &reading)));
                        state.comment(&reading, Some(id), now);
                    }
                    other => {
                        records.extend(rec::other_event(&s, now, other, viewer).map(Record::Event));
                        state.event(other, None, now);
                    }
                }
            }
            for cue in suggester.evaluate(&mut state, now) {
                records.push(rec::cue(&s, &cue));
                // The operator: answers most questions within 15 s, dismisses some order cues.
                let n = cue.id.len() + cue.created_at as usize / 1000;
                match cue.kind {
                    CueKind::AnswerQuestion if n % 4 != 0 => pending.push((
                        now + 8_000 + (n % 8) as i64 * 1000,
                        cue.id.clone(),
                        CueState::Acked,
                    )),
                    CueKind::ProductOrder if n % 2 == 0 => {
                        pending.push((now + 5_000, cue.id.clone(), CueState::Dismissed))
                    }
                    CueKind::TalkingPoint | CueKind::Surge if n % 3 == 0 => {
                        pending.push((now + 6_000, cue.id.clone(), CueState::Acked))
                    }
                    _ => {}
                }
            }
            for (at, id, new) in pending.iter().filter(|p| p.0 <= now) {
                let Some(cue) = state.cue_mut(id) else {
                    continue;
                };
                if !cue.is_active() {
                    continue;
                }
                cue.state = *new;
                let key = cue.evidence.key.clone();
                let command = match new {
                    CueState::Acked => Command::AckCue { id: id.clone() },
                    _ => Command::DismissCue { id: id.clone() },
                };
                if let Some(key) = key.filter(|_| *new == CueState::Acked) {
                    state.clusters.mark_answered(&key, *at);
                }
                records.push(Record::CueState {
                    session: s.clone(),
                    id: id.clone(),
                    state: new.as_str(),
                    at: *at,
                });
                records.push(rec::action(&s, *at, &command));
            }
            pending.retain(|p| p.0 > now);
            for cue in state.cues.iter().filter(|c| c.state == CueState::Expired) {
                if recorded_expired.insert(cue.id.clone()) {
                    records.push(Record::CueState {
                        session: s.clone(),
                        id: cue.id.clone(),
                        state: CueState::Expired.as_str(),
                        at: cue.expires_at,
                    });
                }
            }
            if tick > 0 && tick % (150_000 / TICK_MS) == 0 {
                let i = state
                    .pitching()
                    .as_deref()
                    .and_then(|p| state.product_index(p))
                    .map_or(0, |i| (i + 1) % room.products.len());
                let product = room.products[i].id.clone();
                state.pitch.set(Some(product.as_str().into()), now);
                records.push(rec::action(
                    &s,
                    now,
                    &Command::SetPitching {
                        product: Some(product),
                    },
                ));
            }
            if tick % 4 == 3 {
                h.append(std::mem::take(&mut records)).await.unwrap();
            }
        }
        records.push(Record::SessionEnd {
            session: s.clone(),
            at: t0 + ticks * TICK_MS,
        });
        h.append(records).await.unwrap();
        store.close().await.unwrap();
    });
    let reader = Reader::open(dir.path()).unwrap();
    let review = report::build(&reader, DEMO_ROOM, None, 480, &mut |_| {}).unwrap();
    assert!(review.summary.comments > 1_000);
    assert!(!review.cues.is_empty());
    if let Ok(out) = std::env::var("LIVECUE_REPORT_OUT") {
        let html = livecue::report::html::render(&review);
        std::fs::write(Path::new(&out).join("livecue-demo-report.html"), html).unwrap();
        let json = serde_json::to_vec_pretty(&review).unwrap();
        std::fs::write(Path::new(&out).join("livecue-demo-report.json"), json).unwrap();
    }
}

#[test]
fn an_empty_open_session_still_reports() {
    let dir = TempDir::new("empty-session");
    let rt = runtime();
    rt.block_on(async {
        let store = Store::open(dir.path()).unwrap();
        store
            .handle()
            .start_session("r1", "", &[], None, now_ms())
            .await
            .unwrap();
        store.close().await.unwrap();
    });
    let store = Store::open(dir.path()).unwrap();
    for format in [
        Format::Html,
        Format::Json,
        Format::Csv(Table::Comments),
        Format::Csv(Table::Minutes),
        Format::Csv(Table::Cues),
    ] {
        let out = report::render(&store, "r1", None, format).unwrap();
        assert!(!out.is_empty(), "{format:?}");
    }
    let r: Value =
        serde_json::from_slice(&report::render(&store, "r1", None, Format::Json).unwrap()).unwrap();
    assert_eq!(r["session"]["status"], "open");
    assert_eq!(r["summary"]["comments"], 0);
    assert_eq!(r["summary"]["peak_minute"], Value::Null);
    store.close_blocking().unwrap();
}

/// Issue 9: where a platform source may have lost messages, and the paid comments and fan
/// medals, in all three formats; viewer text escaped and masked as everywhere else.
#[test]
fn issue9_the_review_names_source_gaps_super_chats_and_medals() {
    use livecue::ingest::Medal;
    use livecue::store::GapRecord;

    let dir = TempDir::new("gaps");
    // On a minute boundary, so the gap's clock times are whole minutes.
    let t0 = (now_ms() - 2 * 3_600_000) / 60_000 * 60_000;
    let rt = runtime();
    rt.block_on(async {
        let store = Store::open(dir.path()).unwrap();
        let h = store.handle();
        let s = h
            .start_session("r9", "开播", &[], None, t0)
            .await
            .unwrap()
            .id;
        let comment =
            |n: usize, at: i64, text: &str, medal: Option<(&str, u32)>, paid: Option<f64>| {
                Record::Comment(CommentRecord {
                    session: s.clone(),
                    at,
                    ts: at,
                    source_id: Some(format!("c{n}")),
                    viewer: Some(h.viewer(&format!("u{n}"))),
                    text: text.to_owned(),
                    product: None,
                    named: false,
                    intents: 0,
                    sentiment: 0.0,
                    label: 0,
                    question: false,
                    key: None,
                    complaint: None,
                    words: Vec::new(),
                    medal: medal.map(|(name, level)| Medal {
                        name: name.into(),
                        level,
                    }),
                    super_chat: paid,
                })
            };
        h.append(vec![
            comment(
                1,
                t0 + 10_000,
                "<b>主播</b>看看我",
                Some(("粉丝牌", 21)),
                Some(30.0),
            ),
            comment(
                2,
                t0 + 20_000,
                "电话13812345678",
                Some(("粉丝牌", 3)),
                Some(50.0),
            ),
            comment(3, t0 + 30_000, "好看", Some(("粉丝牌", 5)), None),
            comment(4, t0 + 35_000, "来了", None, None),
            Record::SourceGap(GapRecord {
                session: s.clone(),
                source: "bilibili".into(),
                kind: "bilibili",
                from: t0 + 60_000,
                to: t0 + 180_000,
                reason: "disconnected",
                missing: None,
            }),
            Record::SourceGap(GapRecord {
                session: s.clone(),
                source: "douyin".into(),
                kind: "douyin",
                from: t0 + 200_000,
                to: t0 + 201_000,
                reason: "sequence",
                missing: Some(7),
            }),
            Record::SessionEnd {
                session: s.clone(),
                at: t0 + 300_000,
            },
        ])
        .await
        .unwrap();
        store.close().await.unwrap();
    });
    let reader = Reader::open(dir.path()).unwrap();
    let render = |format| {
        let mut out = Vec::new();
        report::render_to(
            &reader,
            "r9",
            None,
            format,
            &Options::default(),
            &mut |_| {},
            &mut out,
        )
        .unwrap();
        out
    };
    let tz = Options::default().tz_offset_min;
    let expected = format!(
        "messages may be missing {}–{} (bilibili: disconnected)",
        report::clock(t0 + 60_000, tz),
        report::clock(t0 + 180_000, tz)
    );

    let r: Value = serde_json::from_slice(&render(Format::Json)).unwrap();
    let gaps = r["source_gaps"].as_array().unwrap();
    assert_eq!(gaps.len(), 2);
    assert_eq!(gaps[0]["note"], expected.as_str());
    assert_eq!(gaps[0]["duration_s"], 120.0);
    assert_eq!(gaps[1]["reason"], "sequence");
    assert_eq!(gaps[1]["missing"], 7);
    assert!(
        gaps[1]["note"]
            .as_str()
            .unwrap()
            .contains("7 numbered messages skipped")
    );
    let s = &r["summary"];
    assert_eq!(
        (s["super_chats"].as_u64(), s["super_chat_value"].as_f64()),
        (Some(2), Some(80.0))
    );
    assert_eq!(s["medal_comments"], 3);
    assert_eq!(
        (s["source_gaps"].as_u64(), s["source_gap_s"].as_f64()),
        (Some(2), Some(121.0))
    );
    let paid = r["super_chats"].as_array().unwrap();
    assert_eq!(paid.len(), 2);
    assert_eq!(
        (
            paid[0]["price_cny"].as_f64(),
            paid[0]["medal_level"].as_u64()
        ),
        (Some(30.0), Some(21))
    );
    assert!(!paid[1]["text"].as_str().unwrap().contains("13812345678"));
    let medals = r["fan_medals"].as_array().unwrap();
    assert_eq!(medals.len(), 1);
    assert_eq!(
        (
            medals[0]["comments"].as_u64(),
            medals[0]["viewers"].as_u64(),
            medals[0]["max_level"].as_u64()
        ),
        (Some(3), Some(3), Some(21))
    );

    let html = String::from_utf8(render(Format::Html)).unwrap();
    assert!(
        html.contains(&expected),
        "the review says where messages may be missing"
    );
    for id in ["gaps", "paid"] {
        assert!(
            html.contains(&format!("<section id=\"{id}\"")),
            "section {id}"
        );
    }
    assert!(html.contains("&lt;b&gt;主播&lt;/b&gt;看看我"));
    assert!(!html.contains("<b>主播") && !html.contains("13812345678"));

    let gaps = csv_rows(&render(Format::Csv(Table::Gaps)));
    assert_eq!(
        gaps[0],
        "source,kind,reason,time (+08:00),from_ms,to,to_ms,duration_s,missing,note"
    );
    assert_eq!(gaps.len(), 1 + 2);
    assert!(gaps[1].ends_with(&expected), "{}", gaps[1]);
    let comments = csv_rows(&render(Format::Csv(Table::Comments)));
    assert!(comments[0].ends_with(",complaint,medal,medal_level,super_chat_cny"));
    assert!(comments[1].ends_with(",粉丝牌,21,30"), "{}", comments[1]);
    assert!(comments[4].ends_with(",,,"), "{}", comments[4]);
}
