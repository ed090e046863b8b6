//! A room's catalog and script library (话术库): the products it sells with their selling
//! points, tone variants and FAQ answers, and the room-wide calming and surge lines.
//!
//! Plain data, read from the deployment file and edited live from the console. Topics are
//! spelled as [`Topic`] wire names and checked against it ([`check_topic`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analyze::{Listing, Topic};

/// A product of the room's catalog.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Product {
    /// The number viewers use: `1号`, `1号链接`, `#1`.
    pub id: String,
    pub name: String,
    /// Other names viewers use for it (`羽绒服`, `白色外套`).
    pub aliases: Vec<String>,
    /// Price in yuan, used for the `{price}` placeholder.
    pub price: Option<f64>,
    /// Selling points (卖点) in the order the streamer would normally tell them.
    pub points: Vec<SellingPoint>,
    /// Short answers to common questions, keyed by question topic
    /// (`price`, `discount`, `size`, `spec`, `stock`, `shipping`, `link`, `quality`, `usage`,
    /// `aftersale`, `demo`).
    pub faq: BTreeMap<String, String>,
}

/// One selling point with its tone variants.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SellingPoint {
    /// The audience interest it answers (a question topic, or `general`).
    pub topic: String,
    /// Default wording; placeholders `{product}`, `{price}`, `{count}`.
    pub text: String,
    pub variants: Vec<Variant>,
}

/// An alternative wording of a script for a tone or audience segment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Variant {
    /// Tone or segment tag, e.g. `优惠先行`, `材质细节`, `亲切活泼`.
    pub tone: String,
    pub text: String,
}

/// Scripts for the whole room.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoomScripts {
    /// Calming lines (安抚话术) for when sentiment turns, keyed by complaint topic
    /// (`shipping`, `quality`, `price`, `aftersale`, `service`, `general`).
    pub calm: BTreeMap<String, String>,
    /// Conversion pushes (限时/福袋) for comment surges; placeholders as for selling points.
    pub surge: Vec<String>,
}

/// Checks a FAQ or selling-point topic: any of [`Topic::SCRIPTS`].
pub fn check_topic(topic: &str) -> Result<Topic, String> {
    Topic::parse(topic).ok_or_else(|| {
        format!(
            "unknown topic {topic:?} (known: {})",
            Topic::list(&Topic::SCRIPTS)
        )
    })
}

impl Listing for Product {
    fn id(&self) -> &str {
        &self.id
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}
