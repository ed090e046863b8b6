//! `/metrics`: Prometheus counters and gauges, per room.
//!
//! Built on `prometheus-client` (the Prometheus project's own Rust client). Every metric is
//! registered once at start-up; updating one is an atomic add on a label set.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RoomLabel {
    pub room: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventLabels {
    pub room: String,
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClientLabels {
    pub room: String,
    pub role: String,
}

/// Every metric the server keeps.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Events accepted, by room and event type.
    pub ingested: Family<EventLabels, Counter>,
    /// Events refused, by room and reason kind (`invalid`, `unknown_room`, `auth`, `bad_json`).
    pub rejected: Family<EventLabels, Counter>,
    pub duplicates: Family<RoomLabel, Counter>,
    /// Seconds to analyze one comment.
    pub analysis_seconds: Histogram,
    /// Connected overlay and console clients.
    pub clients: Family<ClientLabels, Gauge>,
    /// Cues made, by room and kind.
    pub cues: Family<EventLabels, Counter>,
    /// Times a client fell behind and was resent a snapshot.
    pub lagged: Family<RoomLabel, Counter>,
    /// Connections closed by the server for abuse, by reason.
    pub closed: Family<EventLabels, Counter>,
    /// Open TCP connections (HTTP and WebSocket).
    pub connections: Gauge,
    /// Connections the gate closed or turned away, by reason (`evicted`, `over_capacity`,
    /// `handshake_timeout`, `idle_timeout`).
    pub connections_dropped: Family<ReasonLabel, Counter>,
    /// Ingest frames refused because the room was over its rate (`rate_limited`) or the store
    /// could not write (`store_unavailable`), by room.
    pub refused: Family<EventLabels, Counter>,
    /// Store rows committed, records dropped (never acked events: cues, actions), batches queued.
    store_committed: Counter,
    store_dropped: Counter,
    store_queue: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("livecue");
        let ingested = Family::<EventLabels, Counter>::default();
        let rejected = Family::<EventLabels, Counter>::default();
        let duplicates = Family::<RoomLabel, Counter>::default();
        let analysis_seconds = Histogram::new(exponential_buckets(1e-6, 2.0, 20));
        let clients = Family::<ClientLabels, Gauge>::default();
        let cues = Family::<EventLabels, Counter>::default();
        let lagged = Family::<RoomLabel, Counter>::default();
        let closed = Family::<EventLabels, Counter>::default();
        registry.register("events_ingested", "Events accepted", ingested.clone());
        registry.register("events_rejected", "Events refused", rejected.clone());
        registry.register(
            "events_duplicate",
            "Events dropped as duplicates",
            duplicates.clone(),
        );
        registry.register(
            "analysis_seconds",
            "Time to analyze one comment",
            analysis_seconds.clone(),
        );
        registry.register(
            "clients",
            "Connected overlay and console clients",
            clients.clone(),
        );
        registry.register("cues", "Cues made", cues.clone());
        registry.register(
            "client_lagged",
            "Clients resynced with a snapshot after falling behind",
            lagged.clone(),
        );
        registry.register(
            "connections_closed",
            "Connections closed for abuse",
            closed.clone(),
        );
        let connections = Gauge::default();
        let connections_dropped = Family::<ReasonLabel, Counter>::default();
        let refused = Family::<EventLabels, Counter>::default();
        registry.register(
            "connections",
            "Open TCP connections (HTTP and WebSocket)",
            connections.clone(),
        );
        registry.register(
            "connections_dropped",
            "Connections closed or turned away by the connection gate or the idle timeout",
            connections_dropped.clone(),
        );
        registry.register(
            "frames_refused",
            "Ingest frames refused whole (room over its rate, store unavailable)",
            refused.clone(),
        );
        let store_committed = Counter::default();
        let store_dropped = Counter::default();
        let store_queue = Gauge::default();
        registry.register(
            "store_committed",
            "Rows committed to the store",
            store_committed.clone(),
        );
        registry.register(
            "store_dropped",
            "Records the store dropped because its queue was full (cues and actions only)",
            store_dropped.clone(),
        );
        registry.register(
            "store_queue",
            "Batches waiting for the store writer",
            store_queue.clone(),
        );
        Metrics {
            registry,
            ingested,
            rejected,
            duplicates,
            analysis_seconds,
            clients,
            cues,
            lagged,
            closed,
            connections,
            connections_dropped,
            refused,
            store_committed,
            store_dropped,
            store_queue,
        }
    }

    /// Brings the store's counters up to date (called when `/metrics` is scraped).
    pub fn set_store(&self, committed: u64, dropped: u64, queued: usize) {
        self.store_committed
            .inc_by(committed.saturating_sub(self.store_committed.get()));
        self.store_dropped
            .inc_by(dropped.saturating_sub(self.store_dropped.get()));
        self.store_queue.set(queued as i64);
    }

    /// Counts a connection closed or turned away by the gate or an idle timeout.
    pub fn dropped(&self, reason: &str) {
        self.connections_dropped
            .get_or_create(&ReasonLabel {
                reason: reason.into(),
            })
            .inc();
    }

    /// The Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

pub fn room(room: &str) -> RoomLabel {
    RoomLabel { room: room.into() }
}

pub fn event(room: &str, kind: &str) -> EventLabels {
    EventLabels {
        room: room.into(),
        kind: kind.into(),
    }
}
