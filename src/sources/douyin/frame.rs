//! The frame codec: reading one binary `PushFrame` (gzip bounded by [`MAX_DECOMPRESSED`]) into
//! effects and the ack it asks for, and writing `ack` and `hb` frames.

use std::io::Read as _;

use prost::Message as _;

use super::map::map_message;
use super::proto::{PushFrame, Response};
use crate::sources::{Effects, MAX_DECOMPRESSED};

/// An `hb` frame.
pub fn heartbeat_frame() -> Vec<u8> {
    PushFrame {
        payload_type: "hb".into(),
        ..PushFrame::default()
    }
    .encode_to_vec()
}

/// The `ack` frame for a frame whose response asked for one.
pub fn ack_frame(log_id: u64, internal_ext: &str) -> Vec<u8> {
    PushFrame {
        log_id,
        payload_type: "ack".into(),
        payload: internal_ext.as_bytes().to_vec(),
        ..PushFrame::default()
    }
    .encode_to_vec()
}

/// What one frame from the server holds.
#[derive(Debug, Default, PartialEq)]
pub struct Incoming {
    /// The frame's `seqId` (0 when absent).
    pub seq_id: u64,
    pub effects: Effects,
    /// The ack to send back, when the response asked for one.
    pub ack: Option<Vec<u8>>,
}

/// Reads one binary frame: never panics, bounded by [`MAX_DECOMPRESSED`] after gzip.
pub fn read_frame(bytes: &[u8]) -> Incoming {
    let frame = match PushFrame::decode(bytes) {
        Ok(frame) => frame,
        Err(e) => {
            return Incoming {
                effects: Effects::error("bad_frame", e.to_string()),
                ..Incoming::default()
            };
        }
    };
    let mut incoming = Incoming {
        seq_id: frame.seq_id,
        ..Incoming::default()
    };
    match frame.payload_type.as_str() {
        "msg" => {}
        // The server's answer to our heartbeat.
        "hb" => return incoming,
        other => {
            incoming.effects = Effects::ignored(format!("payloadType:{other}"));
            return incoming;
        }
    }
    let gzip = frame.payload_encoding == "gzip" || frame.payload.starts_with(&[0x1f, 0x8b]);
    let payload = if gzip {
        match gunzip(&frame.payload) {
            Ok(p) => p,
            Err(kind) => {
                incoming.effects = Effects::error(kind, "the frame's gzip payload");
                return incoming;
            }
        }
    } else {
        frame.payload
    };
    let response = match Response::decode(payload.as_slice()) {
        Ok(r) => r,
        Err(e) => {
            incoming.effects = Effects::error("bad_response", e.to_string());
            return incoming;
        }
    };
    if response.need_ack {
        incoming.ack = Some(ack_frame(frame.log_id, &response.internal_ext));
    }
    for message in &response.messages_list {
        incoming.effects.merge(map_message(message));
    }
    incoming
}

fn gunzip(data: &[u8]) -> Result<Vec<u8>, &'static str> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .take(MAX_DECOMPRESSED as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| "decompress")?;
    if out.len() > MAX_DECOMPRESSED {
        return Err("too_large");
    }
    Ok(out)
}
