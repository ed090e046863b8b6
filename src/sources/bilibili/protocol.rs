//! The packet protocol, shared by the web (`bilibili`) and open-platform (`bilibili_open`)
//! kinds: the auth packet first, heartbeats, and each frame's packets read into commands, the
//! auth reply and errors.

use std::time::Duration;

use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use super::codec::{
    OP_AUTH, OP_AUTH_REPLY, OP_COMMAND, OP_HEARTBEAT, OP_HEARTBEAT_REPLY, VER_PLAIN, decode, encode,
};
use crate::sources::session::{Connect, Frame, Incoming, Protocol};
use crate::sources::{Effects, json};

/// What the web client sends as the heartbeat body.
const HEARTBEAT_BODY: &[u8] = b"[object Object]";

/// Where and how a packet-protocol client connects: the auth packet first, the heartbeat
/// right after the platform accepts it, then every period.
pub(crate) fn hello_connect(
    url: &str,
    headers: Vec<(&'static str, String)>,
    auth: &[u8],
    heartbeat: Duration,
    idle: Duration,
) -> Connect {
    Connect {
        url: url.to_owned(),
        headers,
        hello: Some(auth_packet(auth)),
        beat_at_start: true,
        heartbeat,
        idle,
    }
}

/// The auth packet carrying `body`.
pub(crate) fn auth_packet(body: &[u8]) -> Message {
    Message::Binary(encode(VER_PLAIN, OP_AUTH, 1, body).into())
}

/// The packet protocol, shared by the web (`bilibili`) and open-platform (`bilibili_open`)
/// kinds, which differ in their auth body and commands.
pub(crate) struct PacketProtocol {
    pub(crate) map: fn(&Value) -> Effects,
}

impl Protocol for PacketProtocol {
    fn heartbeat(&self) -> Message {
        Message::Binary(encode(VER_PLAIN, OP_HEARTBEAT, 1, HEARTBEAT_BODY).into())
    }

    fn on_frame(&mut self, frame: Frame<'_>, _now: i64) -> Incoming {
        let Frame::Binary(bytes) = frame else {
            return Incoming::effects(Effects::error(
                "text_frame",
                "a text frame on a binary protocol",
            ));
        };
        let decoded = decode(bytes);
        let mut incoming = Incoming::default();
        for error in decoded.errors {
            incoming
                .effects
                .errors
                .push((error.kind(), error.to_string()));
        }
        for packet in decoded.packets {
            match packet.op {
                OP_COMMAND => {
                    incoming.seqs.push(u64::from(packet.seq));
                    match serde_json::from_slice::<Value>(&packet.body) {
                        Ok(v) => incoming.effects.merge((self.map)(&v)),
                        Err(e) => incoming.effects.errors.push(("bad_json", e.to_string())),
                    }
                }
                OP_AUTH_REPLY => {
                    let code = serde_json::from_slice::<Value>(&packet.body)
                        .ok()
                        .and_then(|v| json::i64(v.get("code")))
                        .unwrap_or(0);
                    incoming.handshake = Some(if code == 0 {
                        Ok(())
                    } else {
                        Err(format!(
                            "auth refused with code {code} (an expired or wrong key?)"
                        ))
                    });
                }
                // The popularity figure: constant on today's servers, not a viewer count.
                OP_HEARTBEAT_REPLY => {}
                other => incoming
                    .effects
                    .errors
                    .push(("unknown_op", format!("operation {other}"))),
            }
        }
        incoming
    }
}
