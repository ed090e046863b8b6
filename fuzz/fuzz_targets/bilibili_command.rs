//! A Bilibili (web and open-platform) command body: JSON of any shape through the mappers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use livecue::sources::{bilibili, bilibili_open};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let _ = bilibili::map_command(&value);
    let _ = bilibili::parse_danmaku(&value);
    let _ = bilibili_open::map_command(&value);
});
