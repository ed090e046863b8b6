//! Bilibili live, web protocol (`kind = "bilibili"`): the packet codec, the command mapping
//! and the client.
//!
//! The web page's danmaku WebSocket carries binary packets, each a 16-byte big-endian header
//! and a body:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | u32 | packet length (header + body) |
//! | 4 | u16 | header length, 16 |
//! | 6 | u16 | protocol version: 0 JSON, 1 heartbeat/auth (plain), 2 zlib, 3 brotli |
//! | 8 | u32 | operation: 2 heartbeat, 3 heartbeat reply, 5 command, 7 auth, 8 auth reply |
//! | 12 | u32 | sequence |
//!
//! One WebSocket message may hold several packets; a version 2 or 3 body decompresses to
//! more packets (nested, normally one level). The client sends the auth packet (JSON `uid`,
//! `roomid`, `protover` 3, `platform` "web", `type` 2, `key`) first, waits for the auth reply
//! (`{"code":0}`), then sends a heartbeat right away and every 30 s.
//!
//! Commands mapped (`cmd`, a `:suffix` ignored): `DANMU_MSG` → comment (text `info[1]`, user
//! `info[2][0]`/`info[2][1]`, time `info[0][4]` ms or `info[9].ts` s, fan medal `info[3]` as
//! `medal {name: info[3][1], level: info[3][0]}`), `SEND_GIFT` → gift (value in yuan from
//! `total_coin` gold 金瓜子 / 1000; silver gifts are worth 0; medal from `medal_info`),
//! `SUPER_CHAT_MESSAGE` → a comment with `super_chat {price_cny: price, duration_s: time}` and
//! the medal, plus a gift 醒目留言 of its price (so gift totals keep counting the money),
//! `INTERACT_WORD` → enter (`msg_type` 1) /
//! follow (2) / share (3, counted in the status: ingest has no share event),
//! `LIKE_INFO_V3_CLICK` → like, `WATCHED_CHANGE` → the status's `watched`, `LIVE` /
//! `PREPARING` → the status's `live`. Everything else is counted as ignored, by name.
//!
//! The key: configured as `key`, or, with `api_base` and no `key`, fetched before every
//! connection from `GET {api_base}/xlive/web-room/v1/index/getDanmuInfo?id={room_id}&type=0`
//! (`data.token`; without `url`, the host comes from `data.host_list[]`: `wss://host:wss_port/sub`,
//! or `ws://host:ws_port/sub` with `wss = false`, the next host on each attempt). The request
//! carries the configured `cookie` and `user_agent`. That endpoint is unofficial: today it may
//! answer an error (-352) without a logged-in cookie, or want wbi-signed parameters, which
//! LiveCue does not compute; a failed fetch is counted (`key_fetch`) and retried with backoff.
//!
//! Limits: see [`decode`]. The protocol is unofficial and changes (2023 on: the `key` from the
//! room's `getDanmuInfo` API is required, anonymous viewers' names arrive masked, some rooms
//! send `INTERACT_WORD_V2` as protobuf, which is not decoded).
//!
//! The parts: `codec` the packets (header, nesting, zlib/brotli, limits), `protocol` the
//! packet protocol both Bilibili kinds speak (auth, heartbeat, frames in), `config` the
//! `[[rooms.sources]]` table, `connection` the session (and the key from `getDanmuInfo`), and
//! `map` the mapping of commands to events.

mod codec;
mod config;
mod connection;
mod map;
mod protocol;
#[cfg(test)]
mod tests;

pub use codec::{
    CodecError, Decoded, HEADER_LEN, MAX_DECOMPRESSED_TOTAL, MAX_NESTING, MAX_PACKETS, OP_AUTH,
    OP_AUTH_REPLY, OP_COMMAND, OP_HEARTBEAT, OP_HEARTBEAT_REPLY, Packet, VER_BROTLI, VER_JSON,
    VER_PLAIN, VER_ZLIB, decode, encode,
};
pub use config::{BilibiliConfig, DEFAULT_PROTOVER, TIMING};
pub(crate) use connection::session;
pub use connection::{DanmuInfo, parse_danmu_info};
pub use map::{Danmaku, Medal, map_command, parse_danmaku};
pub(crate) use protocol::{PacketProtocol, auth_packet, hello_connect};
