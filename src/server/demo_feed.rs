//! The demo room's audience and streamer: `serve --demo` feeds the room from
//! [`crate::demo::Audience`] through the same path as real ingest (dedupe, queue), and moves
//! the pitched product along the queue every [`PITCH_EVERY`] so every kind of cue shows up
//! within a few minutes of watching.
//!
//! It also plays the operator and the streamer for the closed loop: every talking-point cue
//! that tries a script variant is read out (the audience responds with the variant's true lift,
//! [`crate::demo::variant_lift`], for [`RESPONSE_FOR`]) and the operator acknowledges about
//! half of them, dismisses some (not read out: no response) and leaves the rest on the overlay.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::Product;
use rand::{Rng, SeedableRng};

use crate::clock::now_ms;
use crate::demo::{Audience, TICK_MS, variant_lift};
use crate::live::RoomHandle;
use crate::wire::Command;

/// How long the demo streamer pitches one product.
pub const PITCH_EVERY: Duration = Duration::from_secs(150);
/// How often the demo operator looks at the cues.
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// How long the audience responds to a script it heard (ms).
pub const RESPONSE_FOR: i64 = 90_000;

/// What the demo operator will do with a cue.
enum Plan {
    Ack(tokio::time::Instant),
    Dismiss(tokio::time::Instant),
}

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
    let mut next_look = tokio::time::Instant::now() + LOOK_EVERY;
    let mut seen: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    let mut plans: Vec<(String, Plan)> = Vec::new();
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed ^ 0x5eed);
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
        if tokio::time::Instant::now() >= next_look {
            next_look += LOOK_EVERY;
            look_at_cues(&room, &mut audience, &mut rng, &mut seen, &mut plans).await;
        }
    }
}

/// The demo operator and streamer: new trial cues get a plan (ack, dismiss, or left on the
/// overlay); the ones read out make the audience respond; due plans are carried out.
async fn look_at_cues(
    room: &RoomHandle,
    audience: &mut Audience,
    rng: &mut rand::rngs::SmallRng,
    seen: &mut std::collections::VecDeque<String>,
    plans: &mut Vec<(String, Plan)>,
) {
    let Some(snapshot) = room.snapshot().await else {
        return;
    };
    let Ok(value) = serde_json::from_str::<serde_json::Value>(snapshot.json.as_str()) else {
        return;
    };
    let now = tokio::time::Instant::now();
    let cues = value["cues"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    for cue in cues {
        let (Some(id), Some(trial)) = (cue["id"].as_str(), cue.get("trial")) else {
            continue;
        };
        if cue["state"] != "active" || seen.iter().any(|s| s == id) {
            continue;
        }
        if seen.len() >= 64 {
            seen.pop_front();
        }
        seen.push_back(id.to_owned());
        let after = Duration::from_millis(rng.random_range(4_000..10_000));
        let x: f64 = rng.random();
        if x < 0.15 {
            plans.push((id.to_owned(), Plan::Dismiss(now + after)));
            continue;
        }
        if x < 0.65 {
            plans.push((id.to_owned(), Plan::Ack(now + after)));
        }
        let context = trial["context"].as_str().unwrap_or_default();
        let variant = trial["variant"].as_str().unwrap_or_default();
        audience.respond(variant_lift(context, variant), now_ms() + RESPONSE_FOR);
    }
    let mut i = 0;
    while i < plans.len() {
        let due = match plans[i].1 {
            Plan::Ack(at) | Plan::Dismiss(at) => at <= now,
        };
        if !due {
            i += 1;
            continue;
        }
        let (id, plan) = plans.swap_remove(i);
        let command = match plan {
            Plan::Ack(_) => Command::AckCue { id },
            Plan::Dismiss(_) => Command::DismissCue { id },
        };
        // The cue may have expired or been handled in the console meanwhile: fine.
        let _ = room.command(command).await;
    }
}
