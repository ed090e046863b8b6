//! The registry of a server's rooms: [`Rooms`] opens each configured room, with its handle
//! (the ingest path) and its task.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dashmap::DashMap;
use rustc_hash::FxHashSet;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::ROOM_QUEUE;
use super::handle::{Dedupe, RoomHandle, RoomStore};
use super::task::RoomTask;
use crate::analyze::{Analyzer, RoomCatalog};
use crate::clock::now_ms;
use crate::config::{Limits, RoomConfig};
use crate::metrics::Metrics;
use crate::privacy::Pseudonymizer;
use crate::push::Push;
use crate::room::RoomState;
use crate::suggest::Suggester;

struct Shared {
    rooms: DashMap<Arc<str>, Arc<RoomHandle>>,
    analyzer: Arc<Analyzer>,
    metrics: Arc<Metrics>,
    limits: Limits,
    cancel: CancellationToken,
    tracker: TaskTracker,
    /// Viewer pseudonyms for rooms without a store: a random key per process, never stored.
    pseudonyms: Pseudonymizer,
}

/// All rooms of the server.
#[derive(Clone)]
pub struct Rooms {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Rooms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rooms")
            .field("rooms", &self.shared.rooms.len())
            .finish()
    }
}

impl Rooms {
    pub fn new(
        analyzer: Arc<Analyzer>,
        metrics: Arc<Metrics>,
        limits: Limits,
        cancel: CancellationToken,
        tracker: TaskTracker,
    ) -> Rooms {
        Rooms {
            shared: Arc::new(Shared {
                rooms: DashMap::new(),
                analyzer,
                metrics,
                limits,
                cancel,
                tracker,
                pseudonyms: Pseudonymizer::random(),
            }),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.shared.limits
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.shared.metrics
    }

    pub fn get(&self, id: &str) -> Option<Arc<RoomHandle>> {
        self.shared.rooms.get(id).map(|r| r.value().clone())
    }

    /// Room ids and names, sorted by id.
    pub fn list(&self) -> Vec<(Arc<str>, String)> {
        let mut rooms: Vec<(Arc<str>, String)> = self
            .shared
            .rooms
            .iter()
            .map(|r| (r.key().clone(), r.value().name.clone()))
            .collect();
        rooms.sort();
        rooms
    }

    /// Opens a room and starts its task. A room id already open is an error. `returning`:
    /// pseudonyms of viewers seen in the room's earlier sessions.
    pub fn open(
        &self,
        config: &RoomConfig,
        store: Option<RoomStore>,
        returning: FxHashSet<u64>,
    ) -> anyhow::Result<Arc<RoomHandle>> {
        use anyhow::Context;
        let catalog = Arc::new(
            RoomCatalog::new(&config.products, &config.words)
                .with_context(|| format!("room {}: compiling its catalog", config.id))?,
        );
        let now = now_ms();
        let state = RoomState::new(config.setup(&returning), catalog, now);
        let (tx, rx) = mpsc::channel(ROOM_QUEUE);
        let push = Arc::new(Push::new());
        let handle = Arc::new(RoomHandle {
            id: state.id.clone(),
            name: config.name.clone(),
            ingest_token: config.ingest_token.clone().filter(|t| !t.is_empty()),
            view_token: config.view_token.clone().filter(|t| !t.is_empty()),
            console_token: config.console_token.clone().filter(|t| !t.is_empty()),
            push: push.clone(),
            store: store.clone(),
            tx,
            analyzer: self.shared.analyzer.clone(),
            catalog: state.catalog.clone(),
            metrics: self.shared.metrics.clone(),
            pseudonyms: store.as_ref().map_or_else(
                || self.shared.pseudonyms.clone(),
                |s| s.handle.pseudonyms().clone(),
            ),
            dedupe: Mutex::new(Dedupe::new(self.shared.limits.dedupe_ids)),
            store_retry: Duration::from_secs(self.shared.limits.store_retry_s),
            pitch: state.pitch.clone(),
        });
        match self.shared.rooms.entry(handle.id.clone()) {
            dashmap::Entry::Occupied(_) => anyhow::bail!("room {} is defined twice", config.id),
            dashmap::Entry::Vacant(v) => {
                v.insert(handle.clone());
            }
        }
        let task = RoomTask::new(
            state,
            Suggester::new(config.rules),
            self.shared.metrics.clone(),
            push,
            store,
        );
        let cancel = self.shared.cancel.clone();
        self.shared.tracker.spawn(task.run(rx, cancel));
        Ok(handle)
    }
}
