//! `/ws/ingest` and `POST /api/rooms/R/events`: one text frame through `ingest::parse_frame`.
//! Beyond "no panic": a frame is at most `MAX_EVENTS_PER_FRAME` events, and every accepted
//! event survives a serialize/parse round trip unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use livecue::ingest::{IngestEvent, MAX_EVENTS_PER_FRAME, parse_frame};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(items) = parse_frame(text) {
        assert!(items.len() <= MAX_EVENTS_PER_FRAME);
        for event in items.into_iter().flatten() {
            let value = serde_json::to_value(&event).expect("an event serializes");
            let again = IngestEvent::from_value(value).expect("an accepted event parses again");
            assert_eq!(again, event);
        }
    }
});
