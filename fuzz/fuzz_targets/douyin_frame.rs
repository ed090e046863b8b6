//! A Douyin WebSocket frame: protobuf `PushFrame`, its (gzip) payload a `Response` whose
//! messages are protobuf again. The first byte picks the layer: even, the input is the whole
//! frame; odd, the rest is the `Response` payload, wrapped in a `PushFrame` here, so the
//! fuzzer reaches the messages without first learning the outer encoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use livecue::sources::douyin::{self, PushFrame};
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    if first % 2 == 0 {
        let _ = douyin::read_frame(rest);
    } else {
        let frame = PushFrame {
            payload_type: "msg".into(),
            payload: rest.to_vec(),
            ..PushFrame::default()
        };
        let _ = douyin::read_frame(&frame.encode_to_vec());
    }
});
