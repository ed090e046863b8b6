//! `serve --config FILE`: the TOML configuration, parsed and validated.
#![no_main]

use libfuzzer_sys::fuzz_target;
use livecue::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(config) = Config::from_toml(text) {
        // A configuration that loads is valid: every room id is one the routes accept.
        for room in &config.rooms {
            assert!(livecue::config::valid_id(&room.id), "{:?}", room.id);
        }
    }
});
