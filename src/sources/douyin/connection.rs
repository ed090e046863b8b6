//! A `douyin` source's connection: the session (a freshly signed URL for each connection when
//! there is a signer) and the push protocol (frames in; acks and `hb` frames out; platform
//! product ids mapped to the catalog's).

use std::collections::BTreeMap;

use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_util::sync::CancellationToken;

use super::config::{DouyinConfig, TIMING};
use super::frame::{heartbeat_frame, read_frame};
use super::signer::{Signer, without_param};
use crate::sources::client::{Session, SessionEnd};
use crate::sources::http::Http;
use crate::sources::session::{self, Connect, Frame, Protocol};
use crate::sources::{Effects, Sink};

pub(crate) fn session(config: &DouyinConfig, sink: Sink) -> Result<DouyinSession, String> {
    let schedule = config.timing.schedule(TIMING);
    let signer = match &config.signer_url {
        Some(url) => Some(Signer {
            http: Http::new().map_err(|e| e.to_string())?,
            url: url.clone(),
            token: config.signer_token.clone(),
            unsigned: without_param(&config.url, "signature"),
            room_id: config.room_id,
            user_agent: config.user_agent.clone().unwrap_or_default(),
        }),
        None => None,
    };
    Ok(DouyinSession {
        // No handshake: the signed URL is the authentication.
        connect: Connect {
            url: config.url.clone(),
            headers: vec![
                ("Cookie", config.cookie.expose().to_owned()),
                ("User-Agent", config.user_agent.clone().unwrap_or_default()),
                ("Origin", config.origin.clone().unwrap_or_default()),
            ],
            hello: None,
            beat_at_start: false,
            heartbeat: schedule.heartbeat,
            idle: schedule.idle,
        },
        signer,
        protocol: DouyinProtocol {
            products: config.products.clone(),
        },
        sink,
    })
}

/// A `douyin` source: with a signer, each connection asks it for a freshly signed URL.
pub(crate) struct DouyinSession {
    connect: Connect,
    signer: Option<Signer>,
    protocol: DouyinProtocol,
    sink: Sink,
}

impl Session for DouyinSession {
    async fn run(&mut self, cancel: &CancellationToken) -> SessionEnd {
        let mut connect = self.connect.clone();
        if let Some(signer) = &self.signer {
            let signed = tokio::select! {
                () = cancel.cancelled() => return SessionEnd::Cancelled,
                signed = signer.sign() => signed,
            };
            match signed {
                Ok(url) => connect.url = url,
                Err(e) => {
                    // The configured URL stands in (it may still be signed well enough).
                    self.sink
                        .status()
                        .decode_error("signer", &format!("signer: {e}"));
                }
            }
        }
        session::run(&connect, &mut self.protocol, &self.sink, cancel).await
    }
}

/// The web push protocol: `PushFrame`s in, acks and `hb` frames out.
pub(crate) struct DouyinProtocol {
    /// Platform product ids → catalog ids.
    pub(super) products: BTreeMap<String, String>,
}

impl Protocol for DouyinProtocol {
    fn heartbeat(&self) -> WsMessage {
        WsMessage::Binary(heartbeat_frame().into())
    }

    fn on_frame(&mut self, frame: Frame<'_>, _now: i64) -> session::Incoming {
        let Frame::Binary(bytes) = frame else {
            return session::Incoming::effects(Effects::error(
                "text_frame",
                "a text frame on a binary protocol",
            ));
        };
        let mut read = read_frame(bytes);
        if let Some(hint) = &mut read.effects.pitching {
            hint.product = hint
                .promotion
                .as_ref()
                .and_then(|p| self.products.get(p).cloned());
        }
        session::Incoming {
            effects: read.effects,
            replies: read
                .ack
                .map(|ack| WsMessage::Binary(ack.into()))
                .into_iter()
                .collect(),
            handshake: None,
            seqs: vec![read.seq_id],
        }
    }
}
