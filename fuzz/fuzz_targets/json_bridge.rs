//! The JSON bridge (`kind = "json"` sources and webhooks): a document through a field mapping
//! like the ones in the docs, and a Douyin open-platform push item.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use livecue::sources::json_map::{JsonConfig, JsonMapping};

static MAPPING: LazyLock<JsonMapping> = LazyLock::new(|| {
    let config: JsonConfig = toml::from_str(
        r#"
url = "/hooks/x"
items = "/events"
type = "/type"
id_prefix = "f:"
value_scale = 0.1
[types]
chat = "comment"
comment = "comment"
gift = "gift"
like = "like"
member = "enter"
follow = "follow"
order = "order"
[fields]
id = "/id"
user = "/user/id"
name = "/user/name"
text = "/text"
ts = "/ts"
gift = "/gift"
count = "/count"
value = "/value"
product = "/product"
quantity = "/quantity"
amount = "/amount"
"#,
    )
    .expect("a json source config");
    JsonMapping::new(&config).expect("a mapping")
});

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let _ = MAPPING.map(&value);
    let _ = MAPPING.map_item(&value);
});
