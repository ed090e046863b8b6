//! The deployment file (TOML): rooms, their product catalogs and script libraries (话术库),
//! tokens and limits.
//!
//! Every section has defaults, so an empty file is a valid configuration and `serve --demo`
//! needs none at all. Unknown keys are refused with the key's name, so a typo never silently
//! turns a setting off. Command-line flags override what the file says (see `cli`).

use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use crate::catalog::{Product, RoomScripts, SellingPoint, Variant};
pub use crate::ingest::valid_id;
pub use crate::suggest::Rules;

/// Why a configuration could not be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid config {path}: {message}")]
    Parse { path: String, message: String },
    #[error("invalid config: {0}")]
    Invalid(String),
}

/// The whole deployment file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub limits: Limits,
    /// Retention, text keeping and durability of the store (`[store]`).
    pub store: crate::store::StoreOptions,
    pub rooms: Vec<RoomConfig>,
}

/// Where `serve` listens (the `--listen` flag overrides it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address and port; loopback by default so nothing is exposed by accident.
    pub listen: String,
    /// When set, `GET /metrics` needs this token (`Authorization: Bearer` or `?token=`).
    pub metrics_token: Option<String>,
    /// Origins (`https://studio.example.com`) whose pages may open WebSockets and post events
    /// besides this server's own. Empty (the default): only same-origin browser pages and
    /// clients that send no `Origin` (sources, scripts) are let in.
    pub allowed_origins: Vec<String>,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            listen: DEFAULT_LISTEN.into(),
            metrics_token: None,
            allowed_origins: Vec::new(),
        }
    }
}

/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8686";

/// Bounds on what clients may send. Every limit has a default.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest WebSocket message accepted, in bytes; larger ones close the connection (1009).
    pub max_frame_bytes: usize,
    /// Largest HTTP request body (`POST /api/rooms/R/events`), in bytes.
    pub max_body_bytes: usize,
    /// Events per second one ingest connection may send on average...
    pub events_per_s: u32,
    /// ...with bursts up to this many; beyond it the connection is closed (1008).
    pub events_burst: u32,
    /// Frames per second one connection may send on average (any kind), with a burst of
    /// twice as many.
    pub frames_per_s: u32,
    /// Source message ids remembered per room to drop duplicates.
    pub dedupe_ids: usize,
    /// Seconds a client may take to accept one message before it is cut off.
    pub send_timeout_s: u64,
    /// Open TCP connections (HTTP and WebSocket together). When full, the oldest connection
    /// that is not a WebSocket is closed to make room; when every one is a WebSocket, the new
    /// connection is closed.
    pub max_connections: usize,
    /// Seconds a new connection may take to send its first request (slowloris).
    pub handshake_timeout_s: u64,
    /// Seconds a WebSocket may stay silent (not even a pong) before it is closed with 1001;
    /// the server pings after half of it.
    pub idle_timeout_s: u64,
    /// Events per second one room takes from all its ingest connections and HTTP posts
    /// together, on average...
    pub room_events_per_s: u32,
    /// ...with bursts up to this many; a frame beyond it is refused (`rate_limited`, with
    /// `retry_after_ms`), and the connection stays open.
    pub room_events_burst: u32,
    /// Seconds ingest keeps retrying a store that cannot write (disk full, I/O errors) before
    /// it refuses the frame with `store_unavailable`; meanwhile the connection waits
    /// (backpressure).
    pub store_retry_s: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_frame_bytes: 64 * 1024,
            max_body_bytes: 1024 * 1024,
            events_per_s: 5_000,
            events_burst: 20_000,
            frames_per_s: 500,
            dedupe_ids: 100_000,
            send_timeout_s: 10,
            max_connections: 4096,
            handshake_timeout_s: 10,
            idle_timeout_s: 60,
            room_events_per_s: 20_000,
            room_events_burst: 100_000,
            store_retry_s: 5,
        }
    }
}

/// One live room: who may write and read it, what it sells, and what the streamer can say.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoomConfig {
    /// Room id used in URLs (`/ws/room/<id>`); letters, digits, `-` and `_`.
    pub id: String,
    /// Human-readable name shown on the pages.
    pub name: String,
    /// When set, ingest (WebSocket and HTTP) must present this token.
    pub ingest_token: Option<String>,
    /// When set, overlay, console and report must present this token.
    pub view_token: Option<String>,
    /// When set, the console (`role=console`, the only role that sends commands) needs this
    /// token and the view token no longer opens it; the console token also opens everything
    /// the view token does.
    pub console_token: Option<String>,
    /// The catalog, in the order the products are planned to be pitched.
    pub products: Vec<Product>,
    /// Extra domain words for segmentation in this room (brand names, slang of the community).
    pub words: Vec<String>,
    /// Room-wide scripts that are not about one product.
    pub scripts: RoomScripts,
    /// Thresholds of the suggestion rules.
    pub rules: Rules,
    /// The room's platform sources (`[[rooms.sources]]`, see `crate::sources`).
    pub sources: Vec<crate::sources::SourceConfig>,
    /// Viewer profiles and audience segments (`[rooms.audience]`).
    pub audience: crate::audience::AudienceConfig,
    /// How script variants are chosen and judged (`[rooms.experiment]`).
    pub experiment: crate::experiment::ExperimentConfig,
}

impl Config {
    /// Reads and validates a TOML file.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::from_toml(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.display().to_string(),
                message,
            },
            other => other,
        })
    }

    /// Parses and validates TOML text.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: "<text>".into(),
            message: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// The room with this id.
    pub fn room(&self, id: &str) -> Option<&RoomConfig> {
        self.rooms.iter().find(|r| r.id == id)
    }

    /// Checks what serde cannot: unique, well-formed ids and known topics.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let sources: Vec<crate::sources::RoomSources<'_>> = self
            .rooms
            .iter()
            .map(|r| crate::sources::RoomSources {
                id: &r.id,
                products: r.products.iter().map(|p| p.id.as_str()).collect(),
                sources: &r.sources,
            })
            .collect();
        crate::sources::validate(&sources).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        let mut seen = std::collections::HashSet::new();
        for room in &self.rooms {
            if !valid_id(&room.id) {
                return Err(ConfigError::Invalid(format!(
                    "room id {:?} must be 1-64 letters, digits, '-' or '_'",
                    room.id
                )));
            }
            if !seen.insert(room.id.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "room {:?} is defined twice",
                    room.id
                )));
            }
            room.validate()?;
        }
        Ok(())
    }
}

impl RoomConfig {
    /// What the room's live state starts from. `returning`: pseudonyms of viewers seen in the
    /// room's earlier sessions.
    pub fn setup<'a>(
        &'a self,
        returning: &'a rustc_hash::FxHashSet<u64>,
    ) -> crate::room::Setup<'a> {
        crate::room::Setup {
            id: &self.id,
            name: &self.name,
            products: &self.products,
            scripts: &self.scripts,
            audience: &self.audience,
            experiment: &self.experiment,
            returning,
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let mut seen = std::collections::HashSet::new();
        for product in &self.products {
            if !valid_id(&product.id) {
                return Err(ConfigError::Invalid(format!(
                    "room {:?}: product id {:?} must be 1-64 letters, digits, '-' or '_'",
                    self.id, product.id
                )));
            }
            if !seen.insert(product.id.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "room {:?}: product {:?} is defined twice",
                    self.id, product.id
                )));
            }
            let topics = product
                .faq
                .keys()
                .chain(product.points.iter().map(|p| &p.topic));
            for topic in topics {
                if !topic.is_empty()
                    && let Err(e) = crate::catalog::check_topic(topic)
                {
                    return Err(ConfigError::Invalid(format!(
                        "room {:?}, product {:?}: {e}",
                        self.id, product.id
                    )));
                }
            }
        }
        let invalid = |e: String| ConfigError::Invalid(format!("room {:?}: {e}", self.id));
        self.audience.validate().map_err(invalid)?;
        self.experiment.validate().map_err(invalid)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_protocol_example() {
        let config = Config::from_toml(
            r#"
            [[rooms]]
            id = "r1"
            name = "冬季女装专场"
            [[rooms.products]]
            id = "1"
            name = "白鸭绒羽绒服"
            aliases = ["羽绒服", "白色外套"]
            price = 399.0
            [rooms.products.faq]
            size = "160/100斤选M"
            [[rooms.products.points]]
            topic = "quality"
            text = "{product}用的是90白鸭绒"
            "#,
        )
        .unwrap();
        let room = config.room("r1").unwrap();
        assert_eq!(room.products[0].aliases.len(), 2);
        assert_eq!(room.products[0].faq["size"], "160/100斤选M");
    }

    #[test]
    fn refuses_unknown_keys_and_duplicates() {
        assert!(Config::from_toml("[[rooms]]\nid='a'\ncolour='x'").is_err());
        assert!(Config::from_toml("[[rooms]]\nid='a'\n[[rooms]]\nid='a'").is_err());
        assert!(Config::from_toml("[[rooms]]\nid='a b'").is_err());
        let err = Config::from_toml(
            "[[rooms]]\nid='a'\n[[rooms.products]]\nid='1'\n[rooms.products.faq]\ncolor='x'",
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown topic"), "{err}");
    }
}
