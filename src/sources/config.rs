//! What `[[rooms.sources]]` may say: one [`SourceConfig`] per source, its [`Secret`]s, and the
//! checks across a room's sources ([`validate`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::*;

/// One configured source of a room: `[[rooms.sources]]` with its `kind`.
///
/// Every endpoint is configuration (no platform address is built in), so tests and relays can
/// point a source anywhere. Secrets are [`Secret`]s: never printed, serialized as `***`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
// Read once at start, a few per room: boxing the big variant would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum SourceConfig {
    Bilibili(bilibili::BilibiliConfig),
    BilibiliOpen(bilibili_open::BilibiliOpenConfig),
    Douyin(douyin::DouyinConfig),
    DouyinOpen(douyin_open::DouyinOpenConfig),
    Json(json_map::JsonConfig),
}

impl SourceConfig {
    /// The `kind` tag.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceConfig::Bilibili(_) => "bilibili",
            SourceConfig::BilibiliOpen(_) => "bilibili_open",
            SourceConfig::Douyin(_) => "douyin",
            SourceConfig::DouyinOpen(_) => "douyin_open",
            SourceConfig::Json(_) => "json",
        }
    }

    /// The configured `name`, if any.
    pub fn name(&self) -> Option<&str> {
        match self {
            SourceConfig::Bilibili(c) => c.name.as_deref(),
            SourceConfig::BilibiliOpen(c) => c.name.as_deref(),
            SourceConfig::Douyin(c) => c.name.as_deref(),
            SourceConfig::DouyinOpen(c) => c.name.as_deref(),
            SourceConfig::Json(c) => c.name.as_deref(),
        }
    }

    fn set_name(&mut self, name: String) {
        let slot = match self {
            SourceConfig::Bilibili(c) => &mut c.name,
            SourceConfig::BilibiliOpen(c) => &mut c.name,
            SourceConfig::Douyin(c) => &mut c.name,
            SourceConfig::DouyinOpen(c) => &mut c.name,
            SourceConfig::Json(c) => &mut c.name,
        };
        *slot = Some(name);
    }

    /// `url`: the platform address we connect to, or the webhook path we listen on.
    pub fn url(&self) -> &str {
        match self {
            SourceConfig::Bilibili(c) => c.endpoint(),
            SourceConfig::BilibiliOpen(c) => c.endpoint(),
            SourceConfig::Douyin(c) => &c.url,
            SourceConfig::DouyinOpen(c) => &c.url,
            SourceConfig::Json(c) => &c.url,
        }
    }

    /// The path this source listens on, for the webhook kinds.
    pub fn webhook_path(&self) -> Option<&str> {
        match self {
            SourceConfig::DouyinOpen(c) => Some(&c.url),
            SourceConfig::Json(c) if c.is_webhook() => Some(&c.url),
            _ => None,
        }
    }

    /// Checks one source on its own (see [`validate`] for what spans sources).
    pub fn validate(&self) -> Result<(), String> {
        if let Some(name) = self.name()
            && !crate::ingest::valid_id(name)
        {
            return Err(format!(
                "name {name:?} must be 1-64 letters, digits, '-' or '_'"
            ));
        }
        match self {
            SourceConfig::Bilibili(c) => c.validate(),
            SourceConfig::BilibiliOpen(c) => c.validate(),
            SourceConfig::Douyin(c) => c.validate(),
            SourceConfig::DouyinOpen(c) => c.validate(),
            SourceConfig::Json(c) => c.validate(),
        }
    }
}

/// A secret from the configuration (key, token, signing secret, cookie): kept out of `Debug`
/// output and serialized as `***`.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "***" })
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.0.is_empty() { "" } else { "***" })
    }
}

/// Why sources could not start.
#[derive(Debug, Error, PartialEq)]
pub enum SourceError {
    #[error("room {room:?}, source {source_name:?}: {problem}")]
    Config {
        room: String,
        source_name: String,
        problem: String,
    },
    #[error("room {0:?} has sources but is not open")]
    RoomNotOpen(String),
}

/// A room's sources as [`validate`] checks them: the room's id, its catalog's product ids and
/// its `[[rooms.sources]]`.
#[derive(Debug, Clone)]
pub struct RoomSources<'a> {
    pub id: &'a str,
    pub products: Vec<&'a str>,
    pub sources: &'a [SourceConfig],
}

/// Checks every room's sources: each on its own, names unique in a room, webhook paths unique
/// (several `douyin_open` sources may share one path when each names its `room_id`: the
/// platform's `x-roomid` header picks the source).
pub fn validate<'a>(rooms: &[RoomSources<'a>]) -> Result<(), SourceError> {
    let mut paths: BTreeMap<&str, Vec<(&str, &SourceConfig)>> = BTreeMap::new();
    for room in rooms {
        let named = named(room.sources);
        let mut names = std::collections::HashSet::new();
        for config in &named {
            let name = config.name().unwrap_or_default().to_owned();
            let fail = |problem: String| SourceError::Config {
                room: room.id.to_owned(),
                source_name: name.clone(),
                problem,
            };
            config.validate().map_err(fail)?;
            if !names.insert(name.clone()) {
                return Err(fail("two sources of this room have this name".into()));
            }
            if let SourceConfig::Douyin(c) = config
                && let Some((promotion, product)) = c
                    .products
                    .iter()
                    .find(|(_, p)| !room.products.iter().any(|rp| rp == *p))
            {
                return Err(fail(format!(
                    "products: {promotion:?} maps to {product:?}, which is not in the room's catalog"
                )));
            }
        }
        for config in room.sources {
            if let Some(path) = config.webhook_path() {
                paths.entry(path).or_default().push((room.id, config));
            }
        }
    }
    for (path, users) in &paths {
        if users.len() < 2 {
            continue;
        }
        let conflict = |problem: &str| {
            let (room, config) = users[1];
            SourceError::Config {
                room: room.to_owned(),
                source_name: config.name().unwrap_or(config.kind()).to_owned(),
                problem: format!("webhook path {path:?}: {problem}"),
            }
        };
        let mut platform_rooms = std::collections::HashSet::new();
        for (_, config) in users {
            match config {
                SourceConfig::DouyinOpen(c) => match &c.room_id {
                    Some(id) if platform_rooms.insert(id.as_str()) => {}
                    Some(_) => {
                        return Err(conflict(
                            "two douyin_open sources on one path name the same room_id",
                        ));
                    }
                    None => {
                        return Err(conflict(
                            "douyin_open sources sharing a path must each set room_id",
                        ));
                    }
                },
                _ => return Err(conflict("another source already listens on it")),
            }
        }
    }
    Ok(())
}

/// The room's sources with a name each: the configured one, else the kind (`kind-2`, `kind-3`
/// … when a kind repeats).
pub(crate) fn named(sources: &[SourceConfig]) -> Vec<SourceConfig> {
    let taken: std::collections::HashSet<&str> =
        sources.iter().filter_map(SourceConfig::name).collect();
    let mut used = std::collections::HashSet::new();
    sources
        .iter()
        .map(|config| {
            let mut config = config.clone();
            if config.name().is_none() {
                let kind = config.kind();
                let mut name = kind.to_owned();
                let mut n = 1;
                while taken.contains(name.as_str()) || used.contains(&name) {
                    n += 1;
                    name = format!("{kind}-{n}");
                }
                used.insert(name.clone());
                config.set_name(name);
            }
            config
        })
        .collect()
}
