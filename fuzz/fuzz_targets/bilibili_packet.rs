//! A Bilibili WebSocket message: binary packets (16-byte header; zlib or brotli bodies that
//! hold more packets), then each command body as JSON through the mappers, as the source does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use livecue::sources::{bilibili, bilibili_open};

fuzz_target!(|data: &[u8]| {
    let decoded = bilibili::decode(data);
    for packet in &decoded.packets {
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&packet.body) {
            let _ = bilibili::map_command(&value);
            let _ = bilibili::parse_danmaku(&value);
            let _ = bilibili_open::map_command(&value);
        }
    }
});
