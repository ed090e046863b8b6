//! The demo room's audience and streamer: `serve --demo` feeds the room from
//! [`crate::demo::Audience`] through the same path as real ingest (dedupe, queue), and moves
//! the pitched product along the queue every [`PITCH_EVERY`] so every kind of cue shows up
//! within a few minutes of watching.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::Product;
use crate::demo::{Audience, TICK_MS};
use crate::live::{RoomHandle, now_ms};
use crate::wire::Command;

/// How long the demo streamer pitches one product.
pub const PITCH_EVERY: Duration = Duration::from_secs(150);

pub async fn run(room: Arc<RoomHandle>, products: Vec<Product>, cancel: CancellationToken) {
    let seed = now_ms() as u64;
    let mut audience = match Audience::new(&products, seed) {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "the demo audience could not start");
            return;
        }
    };
    let mut tick = tokio::time::interval(Duration::from_millis(TICK_MS as u64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut events = Vec::new();
    let mut next_pitch = tokio::time::Instant::now() + PITCH_EVERY;
    let mut pitch_index = 0usize;
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = now_ms();
        let pitching = room.pitching();
        events.clear();
        audience.tick(now, pitching.as_deref(), &mut events);
        if let Err(e) = room.ingest(std::mem::take(&mut events), now).await {
            tracing::warn!(error = %e, "the demo audience stopped");
            return;
        }
        if tokio::time::Instant::now() >= next_pitch && !products.is_empty() {
            next_pitch += PITCH_EVERY;
            pitch_index = (pitch_index + 1) % products.len();
            let product = Some(products[pitch_index].id.clone());
            let _ = room.command(Command::SetPitching { product }).await;
        }
    }
}
