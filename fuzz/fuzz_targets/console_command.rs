//! `/ws/room/R` as a console: one text frame read as the room stream reads it, a
//! `CommandFrame`, or on failure any JSON for its `req` id.
#![no_main]

use libfuzzer_sys::fuzz_target;
use livecue::wire::CommandFrame;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match serde_json::from_str::<CommandFrame>(text) {
        Ok(frame) => {
            let _ = frame.command.name();
        }
        Err(_) => {
            let _ = serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| v.get("req").cloned());
        }
    }
});
