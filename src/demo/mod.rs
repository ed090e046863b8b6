//! The built-in demo room: its catalog and its simulated audience.
//!
//! `serve --demo` needs no configuration file and no platform: it loads [`demo_config`] (room
//! `demo`, seven products, scripts) and feeds the room from an [`Audience`], which turns the
//! templates of `demo/traffic.toml` into a stream of ingest events (comments, gifts, likes,
//! enters, follows, orders) one 250 ms tick at a time. `simulate` reuses the audience for
//! realistic load.
//!
//! Two parts: `traffic` parses and checks the templates and renders a comment from one (what
//! viewers say); `audience` decides who says what when (surges, hot products, question
//! clusters, complaint waves).
//!
//! The audience is shaped so that every kind of cue shows up within a few minutes:
//!
//! - a base of about [`BASE_RATE`] comments a second with slowly drifting noise;
//! - a *surge* about every 90 s: the rate goes up 3-4× for about 15 s, heavy on `purchase` and
//!   `ask_link` (→ `surge` cue);
//! - drifting demand: every 60-120 s another product than the one being pitched turns *hot* and
//!   draws most product questions (→ `product_order` cue, "下一个讲 N号");
//! - clusters of one question: 8-15 viewers ask the same thing (mostly size) about the pitched
//!   product within half a minute or so, the first of them about size (→ `answer_question` cue);
//! - a complaint wave every 2-3 minutes: about 20 s of shipping or quality complaints (物流慢,
//!   假货) (→ `sentiment_alert` cue);
//! - gifts, batched likes, enters, follows, and orders mostly for the pitched and the hot product.
//!
//! Pure and deterministic: no I/O, no clock. The caller passes the time, so the same seed and the
//! same sequence of `tick` calls give the same events (tests rely on it).

mod audience;
mod effects;
mod traffic;

use thiserror::Error;

use crate::config::{Config, ConfigError};

pub use audience::Audience;
pub use effects::{BASE_LIFT, variant_lift};

/// The demo room's configuration file (`demo/demo.toml`), embedded at build time.
pub const DEMO_CONFIG: &str = include_str!("../../demo/demo.toml");
/// The comment templates of the simulated audience (`demo/traffic.toml`), embedded at build time.
pub const TRAFFIC: &str = include_str!("../../demo/traffic.toml");
/// The id of the demo room.
pub const DEMO_ROOM: &str = "demo";

/// Length of one [`Audience::tick`], in milliseconds.
pub const TICK_MS: i64 = 250;
/// Mean comment rate outside surges and waves, in comments per second.
pub const BASE_RATE: f64 = 8.0;
/// Size of the viewer pool; ids run `v0` … `v399`.
pub const VIEWERS: u32 = 400;
/// Longest comment text produced, in characters.
pub const MAX_TEXT_CHARS: usize = 200;

/// Why the demo data cannot be used. The embedded data is checked by the unit tests, so these
/// only happen with edited data.
#[derive(Debug, Error)]
pub enum DemoError {
    /// The traffic TOML does not parse, or a value is out of range.
    #[error("demo traffic data is not valid: {0}")]
    Traffic(String),
    /// A list the simulator draws from is empty.
    #[error("demo traffic data has no {0}")]
    Empty(&'static str),
    /// A template uses a placeholder other than `{n}`, `{alias}`, `{cn}`, `{size}`, `{color}`.
    #[error(
        "demo traffic category {category:?}: template {template:?}: unknown placeholder {{{placeholder}}}"
    )]
    Placeholder {
        category: String,
        template: String,
        placeholder: String,
    },
    /// A category without products has a template that names one.
    #[error(
        "demo traffic category {category:?} has `product = false` but template {template:?} names a product"
    )]
    ProductInNonProductCategory { category: String, template: String },
    /// The audience was given an empty catalog.
    #[error("the demo audience needs at least one product")]
    NoProducts,
    /// The embedded demo catalog does not load.
    #[error("demo catalog: {0}")]
    Catalog(#[from] ConfigError),
}

/// The demo room's configuration, parsed from [`DEMO_CONFIG`].
pub fn demo_config() -> Result<Config, DemoError> {
    Ok(Config::from_toml(DEMO_CONFIG)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_data_is_valid() {
        let config = demo_config().unwrap();
        let products = &config.room(DEMO_ROOM).unwrap().products;
        assert_eq!(products.len(), 7);
        Audience::new(products, 1).unwrap();
    }
}
