//! Douyin live, web protocol (`kind = "douyin"`): protobuf frames over a WebSocket.
//!
//! Each binary WebSocket message is a `PushFrame`; a frame of type `msg` carries a gzip
//! `Response` holding `Message`s, each naming its kind (`method`) and carrying it encoded
//! (`payload`). When the response sets `needAck`, the client answers with an `ack` frame
//! whose payload is the response's `internalExt` and whose `logId` is the frame's. The client
//! sends an `hb` frame every 10 s. The messages' layouts are in `proto/douyin.proto` beside this
//! file; the structs below are derived from it by hand.
//!
//! Mapped: `WebcastChatMessage` → comment, `WebcastGiftMessage` → gift (combo gifts once, on
//! their last message; value = 抖币 / 10 yuan), `WebcastLikeMessage` → like,
//! `WebcastMemberMessage` → enter, `WebcastSocialMessage` → follow (action 1; others are
//! shares, counted in the status), `WebcastRoomUserSeqMessage` → the status's viewers,
//! `WebcastControlMessage` status 3 → the status's `live` = false,
//! `WebcastLiveShoppingMessage` msgType 2 (讲解中) / 3 → the status's `pitching_hint` (the
//! platform's product id, and the catalog product it maps to in `products`; with
//! `follow_pitching`, the room's pitched product follows), `WebcastProductChangeMessage` → the
//! status's `shelf` (products on the shelf, the platform's note). A viewer's fan club
//! (`user.fansClub.data`: name, level) becomes the events' `medal`. Order and purchase notices
//! are not mapped: no message whose field numbers are publicly documented carries them. Other
//! methods are counted as ignored, by name.
//!
//! The push URL must carry the query the web page builds, `signature` included. That signature
//! is computed by the page's obfuscated script, which LiveCue does not reimplement. Two ways to
//! provide it: a fully signed `url` in the configuration (with the `cookie` and `user_agent` it
//! was made for), or a signer the operator runs (`signer_url`): before every connection the
//! source `POST`s `{"url": <url without signature>, "room_id", "user_agent"}` to it (with
//! `Authorization: Bearer <signer_token>` when set) and takes back `{"url": <signed URL>}` or
//! `{"signature": <value>}` (added to the unsigned URL). When the signer fails (down, an
//! error, an answer without either), the failure is counted (`signer`) and the configured
//! `url` is used as it is. A signature is only valid for the cookie and user agent it was made
//! with, and for a while: a stale one gets the connection refused, and the source backs off
//! and asks again. The protocol is unofficial and changes often; the open platform
//! ([`super::douyin_open`]) is the supported path.
//!
//! The parts: `proto` the messages, `frame` the frame codec (read, ack, heartbeat, gzip),
//! `map` the mapping of messages to events, `config` the `[[rooms.sources]]` table, `signer`
//! the operator's URL signer, and `connection` the session and the push protocol.

mod config;
mod connection;
mod frame;
mod map;
mod proto;
mod signer;
#[cfg(test)]
mod tests;

pub use config::{DouyinConfig, TIMING};
pub(crate) use connection::session;
pub use frame::{Incoming, ack_frame, heartbeat_frame, read_frame};
pub use map::map_message;
pub use proto::{
    CONTROL_ENDED, ChatMessage, Common, ControlMessage, FansClub, FansClubData, GiftMessage,
    GiftStruct, HeadersList, LikeMessage, LiveShoppingMessage, MemberMessage, Message,
    ProductChangeMessage, PushFrame, Response, RoomUserSeqMessage, SHOPPING_CANCEL_CURRENT,
    SHOPPING_SET_CURRENT, SocialMessage, User,
};
pub use signer::{sign_url, without_param};
