//! Tests of the status's gaps and bounds, the numbering tracker, live changes and the metrics
//! text.
use super::*;

fn status() -> SourceStatus {
    SourceStatus::new("r1".into(), "bili".into(), "bilibili", "wss://x/sub?key=s")
}

#[test]
fn endpoint_hides_the_query() {
    assert_eq!(status().snapshot().endpoint, "wss://x/sub?…");
}

#[test]
fn a_disconnection_becomes_a_gap_when_the_next_connection_is_up() {
    let s = status();
    s.connecting(1_000);
    s.connected(1_000);
    s.message(1_500);
    s.disconnected(2_000, "closed by peer");
    s.backoff(2_000, 500, "closed by peer");
    assert_eq!(s.snapshot().gaps_total, 0);
    assert_eq!(s.snapshot().gap_open_since, Some(1_500));
    s.connecting(2_500);
    s.connected(3_000);
    let snap = s.snapshot();
    assert_eq!(snap.reconnects, 1);
    assert_eq!(
        snap.gaps,
        vec![Gap {
            from: 1_500,
            to: 3_000,
            reason: "disconnected",
            missing: None
        }]
    );
    assert!(snap.connected);
}

#[test]
fn failed_attempts_do_not_open_more_gaps() {
    let s = status();
    s.connecting(1_000);
    s.connected(1_000);
    s.disconnected(2_000, "x");
    s.connecting(2_100);
    s.disconnected(2_500, "refused");
    s.connecting(3_000);
    s.connected(4_000);
    let snap = s.snapshot();
    assert_eq!(snap.gaps_total, 1);
    assert_eq!(snap.gaps[0].from, 1_000);
    assert_eq!(snap.reconnects, 2);
}

#[test]
fn a_late_first_connection_and_a_stop_while_down_are_gaps() {
    let s = status();
    s.connecting(1_000);
    s.backoff(1_100, 500, "refused");
    assert_eq!(s.snapshot().gap_open_since, Some(1_000));
    s.connecting(1_600);
    s.connected(1_700);
    s.message(2_000);
    s.disconnected(2_500, "closed");
    s.stopped(9_000);
    let snap = s.snapshot();
    let gaps: Vec<_> = snap.gaps.iter().map(|g| (g.from, g.to, g.reason)).collect();
    assert_eq!(
        gaps,
        [
            (1_000, 1_700, "not_connected"),
            (2_000, 9_000, "disconnected")
        ]
    );
    assert_eq!(snap.state, SourceState::Stopped);
    // A source that never came up: one gap from its first attempt to the stop.
    let s = status();
    s.connecting(1_000);
    s.backoff(1_100, 500, "refused");
    s.connecting(1_600);
    s.stopped(5_000);
    assert_eq!(s.snapshot().gaps[0].reason, "not_connected");
    assert_eq!(
        (s.snapshot().gaps[0].from, s.snapshot().gaps[0].to),
        (1_000, 5_000)
    );
    // Connected on the first try: no gap at all.
    let s = status();
    s.connecting(1_000);
    s.connected(1_010);
    s.stopped(2_000);
    assert_eq!(s.snapshot().gaps_total, 0);
}

#[test]
fn ignored_names_and_gaps_are_bounded() {
    let s = status();
    for i in 0..200 {
        s.ignored(&format!("CMD_{i}"));
        s.sequence_gap(i, i + 1, 1);
    }
    let snap = s.snapshot();
    assert_eq!(snap.ignored.len(), MAX_IGNORED_NAMES + 1);
    assert_eq!(snap.ignored["(other)"], 200 - MAX_IGNORED_NAMES as u64);
    assert_eq!(snap.gaps.len(), MAX_GAPS);
    assert_eq!(snap.gaps_total, 200);
}

#[test]
fn sequence_skips_count_only_after_consecutive_numbering() {
    let mut t = SequenceTracker::default();
    // Not trusted yet: a jump is not a gap.
    assert_eq!(t.observe(1, 10), None);
    assert_eq!(t.observe(5, 20), None);
    for (i, seq) in (6..=9).enumerate() {
        assert_eq!(t.observe(seq, 30 + i as i64), None);
    }
    assert_eq!(t.observe(12, 50), Some((33, 2)));
    // Zero is "not numbered"; going down is a restart.
    assert_eq!(t.observe(0, 60), None);
    assert_eq!(t.observe(1, 70), None);
}

#[test]
fn live_changes_are_announced_once() {
    let s = status();
    let mut changes = s.live_changes();
    s.set_live(true, 1);
    assert!(changes.has_changed().unwrap());
    assert_eq!(*changes.borrow_and_update(), Some(true));
    s.set_live(true, 2);
    assert!(!changes.has_changed().unwrap());
    assert_eq!(s.snapshot().live_changed_at, Some(1));
}

#[test]
fn metrics_text_has_every_family() {
    let s = status();
    s.connecting(1_000);
    s.connected(1_000);
    s.message(1_234);
    s.decode_error("bad_header", "x");
    let mut out = String::new();
    encode_metrics(&[s.snapshot()], &mut out);
    assert!(
        out.contains("livecue_source_connected{room=\"r1\",source=\"bili\",kind=\"bilibili\"} 1")
    );
    assert!(out.contains(
        "livecue_source_messages_total{room=\"r1\",source=\"bili\",kind=\"bilibili\"} 1"
    ));
    assert!(out.contains("error=\"bad_header\"} 1"));
    assert!(out.contains("livecue_source_last_message_timestamp_seconds{room=\"r1\",source=\"bili\",kind=\"bilibili\"} 1.234"));
}
