//! Mapping one `Message` by its `method`: comments, gifts (combos once, on their last
//! message), likes, enters, follows, and the status's viewers, live flag, pitching hint and shelf.

use prost::Message as _;

use super::proto::{
    CONTROL_ENDED, ChatMessage, Common, ControlMessage, GiftMessage, LikeMessage,
    LiveShoppingMessage, MemberMessage, Message, ProductChangeMessage, RoomUserSeqMessage,
    SHOPPING_CANCEL_CURRENT, SHOPPING_SET_CURRENT, SocialMessage, User,
};
use crate::sources::{self, Effects, PitchingHint, Shelf, envelope, to_ms};

fn id_of(message: &Message, common: Option<&Common>) -> Option<String> {
    let id = if message.msg_id != 0 {
        message.msg_id.to_string()
    } else {
        common.map(|c| c.msg_id).filter(|&id| id != 0)?.to_string()
    };
    Some(format!("dy:{id}"))
}

fn user_of(user: Option<&User>) -> (Option<String>, Option<String>) {
    match user {
        Some(u) => (
            (u.id != 0).then(|| format!("dy:{}", u.id)),
            Some(u.nick_name.clone()),
        ),
        None => (None, None),
    }
}

/// An event's envelope: id, viewer, name, time, and the viewer's fan club as a medal.
fn envelope_of(
    message: &Message,
    common: Option<&Common>,
    user: Option<&User>,
    ts: Option<i64>,
) -> crate::ingest::Envelope {
    let (id, nick) = user_of(user);
    let mut env = envelope(
        id_of(message, common),
        id,
        nick,
        ts.or_else(|| created(common)),
    );
    env.medal = user
        .and_then(|u| u.fans_club.as_ref()?.data.as_ref())
        .filter(|club| club.level > 0)
        .and_then(|club| sources::medal(Some(&club.club_name), u64::try_from(club.level).ok()));
    env
}

fn created(common: Option<&Common>) -> Option<i64> {
    common.and_then(|c| to_ms(i64::try_from(c.create_time).ok()?))
}

/// Maps one `Message` by its `method`.
pub fn map_message(message: &Message) -> Effects {
    let payload = message.payload.as_slice();
    let bad =
        |e: prost::DecodeError| Effects::error("bad_message", format!("{}: {e}", message.method));
    match message.method.as_str() {
        "WebcastChatMessage" => {
            let chat = match ChatMessage::decode(payload) {
                Ok(m) => m,
                Err(e) => return bad(e),
            };
            if chat.content.trim().is_empty() {
                return Effects::error("bad_message", "WebcastChatMessage without content");
            }
            let ts = i64::try_from(chat.event_time).ok().and_then(to_ms);
            let env = envelope_of(message, chat.common.as_ref(), chat.user.as_ref(), ts);
            Effects::event(sources::comment(env, chat.content))
        }
        "WebcastGiftMessage" => {
            let gift = match GiftMessage::decode(payload) {
                Ok(m) => m,
                Err(e) => return bad(e),
            };
            let info = gift.gift.clone().unwrap_or_default();
            if info.combo && gift.repeat_end == 0 {
                // A combo in progress: counted once, on its last message.
                return Effects::ignored("WebcastGiftMessage(combo in progress)");
            }
            let count = gift
                .repeat_count
                .max(1)
                .saturating_mul(gift.group_count.max(1))
                .min(u64::from(u32::MAX)) as u32;
            let name = if info.name.is_empty() {
                format!(
                    "gift-{}",
                    if gift.gift_id != 0 {
                        gift.gift_id
                    } else {
                        info.id
                    }
                )
            } else {
                info.name
            };
            // 抖币 (diamonds): 10 to the yuan.
            let value = f64::from(info.diamond_count) * f64::from(count) / 10.0;
            let env = envelope_of(message, gift.common.as_ref(), gift.user.as_ref(), None);
            Effects::event(sources::gift(env, name, count, value))
        }
        "WebcastLikeMessage" => {
            let like = match LikeMessage::decode(payload) {
                Ok(m) => m,
                Err(e) => return bad(e),
            };
            let env = envelope_of(message, like.common.as_ref(), like.user.as_ref(), None);
            let count = like.count.clamp(1, u64::from(u32::MAX)) as u32;
            Effects::event(sources::like(env, count))
        }
        "WebcastMemberMessage" => {
            let member = match MemberMessage::decode(payload) {
                Ok(m) => m,
                Err(e) => return bad(e),
            };
            let env = envelope_of(message, member.common.as_ref(), member.user.as_ref(), None);
            Effects::event(sources::enter(env))
        }
        "WebcastSocialMessage" => {
            let social = match SocialMessage::decode(payload) {
                Ok(m) => m,
                Err(e) => return bad(e),
            };
            if social.action != 1 {
                return Effects {
                    shares: 1,
                    ..Effects::default()
                };
            }
            let env = envelope_of(message, social.common.as_ref(), social.user.as_ref(), None);
            Effects::event(sources::follow(env))
        }
        "WebcastRoomUserSeqMessage" => match RoomUserSeqMessage::decode(payload) {
            Ok(seq) => Effects {
                viewers: u64::try_from(seq.total).ok(),
                watched: u64::try_from(seq.total_user).ok().filter(|&n| n > 0),
                ..Effects::default()
            },
            Err(e) => bad(e),
        },
        "WebcastControlMessage" => match ControlMessage::decode(payload) {
            Ok(control) if control.status == CONTROL_ENDED => Effects {
                live: Some(false),
                ..Effects::default()
            },
            Ok(control) => Effects::ignored(format!("WebcastControlMessage:{}", control.status)),
            Err(e) => bad(e),
        },
        "WebcastLiveShoppingMessage" => match LiveShoppingMessage::decode(payload) {
            Ok(shop) if shop.msg_type == SHOPPING_SET_CURRENT => {
                let id = if shop.promotion_id != 0 {
                    shop.promotion_id
                } else {
                    shop.promotion_id_app
                };
                if id == 0 {
                    return Effects::error(
                        "bad_message",
                        "WebcastLiveShoppingMessage: explaining without a promotion id",
                    );
                }
                Effects {
                    pitching: Some(PitchingHint {
                        promotion: Some(id.to_string()),
                        product: None,
                        at: created(shop.common.as_ref()),
                    }),
                    ..Effects::default()
                }
            }
            Ok(shop) if shop.msg_type == SHOPPING_CANCEL_CURRENT => Effects {
                pitching: Some(PitchingHint {
                    promotion: None,
                    product: None,
                    at: created(shop.common.as_ref()),
                }),
                ..Effects::default()
            },
            Ok(shop) => Effects::ignored(format!("WebcastLiveShoppingMessage:{}", shop.msg_type)),
            Err(e) => bad(e),
        },
        "WebcastProductChangeMessage" => match ProductChangeMessage::decode(payload) {
            Ok(change) => Effects {
                shelf: Some(Shelf {
                    total: u64::try_from(change.total).ok(),
                    note: change.update_toast,
                }),
                ..Effects::default()
            },
            Err(e) => bad(e),
        },
        other => Effects::ignored(other),
    }
}
