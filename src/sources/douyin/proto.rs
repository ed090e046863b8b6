//! The protobuf messages of the web push protocol, derived by hand from `proto/douyin.proto`
//! (beside the sources' modules; a test checks every field number against it).
/// `PushFrame`: the WebSocket binary frame.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PushFrame {
    #[prost(uint64, tag = "1")]
    pub seq_id: u64,
    #[prost(uint64, tag = "2")]
    pub log_id: u64,
    #[prost(uint64, tag = "3")]
    pub service: u64,
    #[prost(uint64, tag = "4")]
    pub method: u64,
    #[prost(message, repeated, tag = "5")]
    pub headers_list: Vec<HeadersList>,
    #[prost(string, tag = "6")]
    pub payload_encoding: String,
    #[prost(string, tag = "7")]
    pub payload_type: String,
    #[prost(bytes = "vec", tag = "8")]
    pub payload: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HeadersList {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `Response`: a `msg` frame's payload after gzip.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Response {
    #[prost(message, repeated, tag = "1")]
    pub messages_list: Vec<Message>,
    #[prost(string, tag = "2")]
    pub cursor: String,
    #[prost(uint64, tag = "3")]
    pub fetch_interval: u64,
    #[prost(uint64, tag = "4")]
    pub now: u64,
    #[prost(string, tag = "5")]
    pub internal_ext: String,
    #[prost(bool, tag = "9")]
    pub need_ack: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Message {
    #[prost(string, tag = "1")]
    pub method: String,
    #[prost(bytes = "vec", tag = "2")]
    pub payload: Vec<u8>,
    #[prost(int64, tag = "3")]
    pub msg_id: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Common {
    #[prost(string, tag = "1")]
    pub method: String,
    #[prost(uint64, tag = "2")]
    pub msg_id: u64,
    #[prost(uint64, tag = "3")]
    pub room_id: u64,
    #[prost(uint64, tag = "4")]
    pub create_time: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct User {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(string, tag = "3")]
    pub nick_name: String,
    #[prost(message, optional, tag = "24")]
    pub fans_club: Option<FansClub>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct FansClub {
    #[prost(message, optional, tag = "1")]
    pub data: Option<FansClubData>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct FansClubData {
    #[prost(string, tag = "1")]
    pub club_name: String,
    #[prost(int32, tag = "2")]
    pub level: i32,
}

/// `WebcastLiveShoppingMessage`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LiveShoppingMessage {
    #[prost(message, optional, tag = "1")]
    pub common: Option<Common>,
    #[prost(int32, tag = "2")]
    pub msg_type: i32,
    #[prost(int64, tag = "3")]
    pub promotion_id_app: i64,
    #[prost(int64, tag = "4")]
    pub promotion_id: i64,
}

/// `LiveShoppingMessage.msgType`: the streamer explains this product now (讲解中).
pub const SHOPPING_SET_CURRENT: i32 = 2;
/// `LiveShoppingMessage.msgType`: the explanation ended.
pub const SHOPPING_CANCEL_CURRENT: i32 = 3;

/// `WebcastProductChangeMessage`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProductChangeMessage {
    #[prost(message, optional, tag = "1")]
    pub common: Option<Common>,
    #[prost(string, tag = "3")]
    pub update_toast: String,
    #[prost(int64, tag = "5")]
    pub total: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ChatMessage {
    #[prost(message, optional, tag = "1")]
    pub common: Option<Common>,
    #[prost(message, optional, tag = "2")]
    pub user: Option<User>,
    #[prost(string, tag = "3")]
    pub content: String,
    #[prost(uint64, tag = "15")]
    pub event_time: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GiftMessage {
    #[prost(message, optional, tag = "1")]
    pub common: Option<Common>,
    #[prost(uint64, tag = "2")]
    pub gift_id: u64,
    #[prost(uint64, tag = "4")]
    pub group_count: u64,
    #[prost(uint64, tag = "5")]
    pub repeat_count: u64,
    #[prost(uint64, tag = "6")]
    pub combo_count: u64,
    #[prost(message, optional, tag = "7")]
    pub user: Option<User>,
    #[prost(uint32, tag = "9")]
    pub repeat_end: u32,
    #[prost(message, optional, tag = "15")]
    pub gift: Option<GiftStruct>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GiftStruct {
    #[prost(uint64, tag = "5")]
    pub id: u64,
    #[prost(bool, tag = "10")]
    pub combo: bool,
    #[prost(uint32, tag = "12")]
    pub diamond_count: u32,
    #[prost(string, tag = "16")]
    pub name: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct LikeMessage {
    #[prost(message, optional, tag = "1")]
    pub common: Option<Common>,
    #[prost(uint64, tag = "2")]
    pub count: u64,
    #[prost(uint64, tag = "3")]
    pub total: u64,
    #[prost(message, optional, tag = "5")]
    pub user: Option<User>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MemberMessage {
    #[prost(message, optional, tag = "1")]
    pub common: Option<Common>,
    #[prost(message, optional, tag = "2")]
    pub user: Option<User>,
    #[prost(uint64, tag = "3")]
    pub member_count: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SocialMessage {
    #[prost(message, optional, tag = "1")]
    pub common: Option<Common>,
    #[prost(message, optional, tag = "2")]
    pub user: Option<User>,
    #[prost(uint64, tag = "3")]
    pub share_type: u64,
    #[prost(uint64, tag = "4")]
    pub action: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct RoomUserSeqMessage {
    #[prost(message, optional, tag = "1")]
    pub common: Option<Common>,
    #[prost(int64, tag = "3")]
    pub total: i64,
    #[prost(int64, tag = "7")]
    pub total_user: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ControlMessage {
    #[prost(message, optional, tag = "1")]
    pub common: Option<Common>,
    #[prost(int32, tag = "2")]
    pub status: i32,
}

/// `ControlMessage.status` when the stream has ended.
pub const CONTROL_ENDED: i32 = 3;
