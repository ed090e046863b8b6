//! Live rooms: the registry, the ingest path, each room's task and its command interpreter.
//!
//! [`Rooms`] ([`registry`]) is a cheap-`Clone` handle over a `DashMap` of [`RoomHandle`]s.
//! [`RoomHandle::ingest`] ([`handle`]) is where an event enters: it is deduplicated, its viewer
//! pseudonymized and, for a comment, analyzed and read ([`crate::room::Reading`]) once, on the
//! ingest connection's own task; the resulting [`RoomEvent`]s are committed to the store (the
//! records are copied from them, [`records`]) and only then queued for the room. Each room has
//! one task ([`task`]) that owns its [`crate::room::RoomState`] and
//! [`crate::suggest::Suggester`] outright (no locks on the hot path): it applies queued events as
//! they are, evaluates the suggestion rules every [`TICK`] and after notable events, publishes
//! numbered messages through [`crate::push::Push`], and applies console commands one at a time
//! ([`command`]). When a room's queue is full, ingest waits (backpressure) rather than drop.

mod command;
mod handle;
pub mod records;
mod registry;
mod task;

use std::time::Duration;

use thiserror::Error;

use crate::store::StoreError;

pub use crate::room::RoomEvent;
pub use handle::{Ingested, RoomHandle, RoomStore};
pub use registry::Rooms;

/// How often the suggestion rules run.
pub const TICK: Duration = Duration::from_millis(250);
/// How often `stats` is published.
pub const STATS_EVERY: Duration = Duration::from_secs(1);
/// Batches of events a room queues before ingest waits.
pub const ROOM_QUEUE: usize = 256;

/// Why a console command (or an ingest batch) was refused.
#[derive(Debug, Error, PartialEq)]
pub enum CommandError {
    #[error("no product {0:?} in this room")]
    UnknownProduct(String),
    #[error("no cue {0:?} in this room")]
    UnknownCue(String),
    #[error("no question {0:?} in this room")]
    UnknownQuestion(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the room is shutting down")]
    Closed,
    #[error("not stored: {0}")]
    Store(StoreError),
}

impl CommandError {
    pub fn code(&self) -> &'static str {
        match self {
            CommandError::UnknownProduct(_) => "unknown_product",
            CommandError::UnknownCue(_) => "unknown_cue",
            CommandError::UnknownQuestion(_) => "unknown_question",
            CommandError::Invalid(_) => "invalid_command",
            CommandError::Closed => "shutting_down",
            CommandError::Store(_) => "store_failed",
        }
    }
}

/// Serializes a message; our message types contain only strings, numbers and maps with
/// string keys, which always serialize.
fn json<T: serde::Serialize>(message: &T) -> String {
    serde_json::to_string(message).unwrap_or_else(|e| {
        tracing::error!(error = %e, "a room message failed to serialize");
        String::from("{\"type\":\"error\",\"code\":\"internal\"}")
    })
}
