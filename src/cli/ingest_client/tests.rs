//! Tests of the ingest URL, the latency histogram and the matching of answers to frames.
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::connection::{InFlight, answer};
use super::histogram::{BUCKETS, bucket_of, bucket_value};
use super::*;

#[test]
fn builds_ingest_urls() {
    assert_eq!(
        ingest_url("ws://127.0.0.1:8686/", "demo", None).unwrap(),
        "ws://127.0.0.1:8686/ws/ingest?room=demo"
    );
    assert_eq!(
        ingest_url("ws://h:1", "r-1", Some("a b&c")).unwrap(),
        "ws://h:1/ws/ingest?room=r-1&token=a%20b%26c"
    );
    assert!(ingest_url("http://h", "r", None).is_err());
    assert!(ingest_url("ws://h/?x=1", "r", None).is_err());
    assert!(ingest_url("ws://h", "", None).is_err());
}

#[test]
fn histogram_quantiles_are_close() {
    let h = Histogram::default();
    for us in 1..=10_000u64 {
        h.record(Duration::from_micros(us));
    }
    for (q, want) in [(0.5, 5_000.0), (0.9, 9_000.0), (0.99, 9_900.0)] {
        let got = h.quantile_us(q).unwrap() as f64;
        assert!((got - want).abs() / want < 0.04, "q{q}: {got} vs {want}");
    }
    assert_eq!(h.quantile_us(1.0), Some(10_000));
    assert_eq!(Histogram::default().quantile_us(0.5), None);
    for us in [0, 1, 63, 64, 65, 1000, 123_456_789, u64::MAX] {
        let b = bucket_of(us);
        assert!(b < BUCKETS, "{us}");
        let v = bucket_value(b) as f64;
        assert!(us < 64 && v == us as f64 || (v - us as f64).abs() / (us as f64) < 0.04);
    }
}

#[test]
fn answers_match_frames_in_order() {
    let (tx, mut queue) = mpsc::channel(4);
    for frame in 0..3 {
        let lines = if frame == 1 { vec![7, 8] } else { Vec::new() };
        let sent_at = Instant::now();
        tx.try_send(InFlight {
            sent_at,
            frame,
            lines,
        })
        .unwrap();
    }
    let counters = Counters::default();
    let mut end = ConnectionEnd::default();
    for text in [
        r#"{"type":"ack","accepted":3,"duplicates":1}"#,
        r#"{"type":"hello"}"#,
        "not json",
        r#"{"type":"ack","accepted":1,"rejected":[{"index":1,"error":"text: is empty"}]}"#,
        r#"{"type":"error","code":"bad_frame","message":"not JSON"}"#,
        // One answer too many: nothing left to match.
        r#"{"type":"ack","accepted":9}"#,
    ] {
        answer(text, &mut queue, &counters, &mut end);
    }
    assert_eq!(end.answered, 3);
    assert_eq!(end.rejected_samples, ["line 8: text: is empty"]);
    assert_eq!(end.error_samples, ["frame 2: bad_frame: not JSON"]);
    end.frames = 4;
    let mut acks = AckCounts::from_counters(&counters);
    acks.add_connection(&end);
    assert_eq!((acks.acked, acks.duplicates), (4, 1));
    assert_eq!(
        (acks.rejected, acks.errors, acks.unanswered_frames),
        (1, 1, 1)
    );
    assert!(acks.latency_ms.p50.is_some());
    assert!(!acks.all_acknowledged());
}
