//! Unit tests of the review's parts: pitching spans and the windows around cues.

use super::cues::{Prefix, Second};
use super::timeline::pitch_spans;
use super::types::Window;
use crate::store::ActionRow;

fn action(at: i64, kind: &str, target: Option<&str>) -> ActionRow {
    ActionRow {
        at,
        kind: kind.into(),
        target: target.map(Into::into),
        command: serde_json::Value::Null,
    }
}

#[test]
fn pitching_spans_cover_the_session() {
    let actions = [
        action(1_000, "session_start", Some("1")),
        action(5_000, "ack_cue", Some("c1")),
        action(61_000, "set_pitching", Some("2")),
        action(61_500, "set_pitching", Some("2")),
        action(121_000, "set_pitching", None),
    ];
    let spans = pitch_spans(&actions, 1_000, 181_000);
    let got: Vec<_> = spans
        .iter()
        .map(|s| (s.product.as_deref(), s.from, s.to))
        .collect();
    assert_eq!(
        got,
        [
            (Some("1"), 1_000, 61_000),
            (Some("2"), 61_000, 121_000),
            (None, 121_000, 181_000)
        ]
    );
}

#[test]
fn windows_use_prefix_sums_and_clamp() {
    let mut seconds = vec![Second::default(); 300];
    for s in seconds.iter_mut().take(120) {
        s.comments = 1;
        s.sentiment = -0.5;
    }
    for s in seconds.iter_mut().skip(120).take(120) {
        s.comments = 2;
        s.sentiment = 1.0;
        s.purchase = 1;
    }
    let p = Prefix::new(&seconds);
    let before = p.window(0, 120);
    assert_eq!(before.comments, 120);
    assert_eq!(before.rate_per_min, 60.0);
    assert_eq!(before.sentiment, Some(-0.5));
    let after = p.window(120, 240);
    assert_eq!(after.comments, 240);
    assert_eq!(after.purchase_signals, 120);
    assert_eq!(after.sentiment, Some(0.5));
    // Before the start: only what is inside.
    assert_eq!(p.window(-100, 20).seconds, 20.0);
    assert_eq!(p.window(290, 400).seconds, 10.0);
    assert_eq!(p.window(400, 500), Window::default());
}
