//! Cues: what the overlay shows the streamer, with the reason and evidence behind each. The
//! room state holds the cues on screen; the rules (`crate::suggest`) make them.

use std::sync::Arc;

use serde::Serialize;

/// What a cue asks the streamer to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CueKind {
    AnswerQuestion,
    ProductOrder,
    TalkingPoint,
    SentimentAlert,
    Surge,
}

impl CueKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CueKind::AnswerQuestion => "answer_question",
            CueKind::ProductOrder => "product_order",
            CueKind::TalkingPoint => "talking_point",
            CueKind::SentimentAlert => "sentiment_alert",
            CueKind::Surge => "surge",
        }
    }
}

/// Where a cue is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CueState {
    Active,
    /// The operator pinned it to the overlay: it stays until dismissed.
    Pinned,
    Acked,
    Dismissed,
    Expired,
}

impl CueState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            CueState::Active => "active",
            CueState::Pinned => "pinned",
            CueState::Acked => "acked",
            CueState::Dismissed => "dismissed",
            CueState::Expired => "expired",
        }
    }
}

/// Why a cue was made: the numbers behind it.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Evidence {
    /// The count the rule fired on (askers, negative comments, comments per 10 s …).
    pub count: u32,
    pub window_s: u32,
    /// Up to three masked sample comments.
    pub samples: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// For `product_order`: products by demand score, highest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ranking: Vec<Rank>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rank {
    pub product: Arc<str>,
    pub score: f32,
}

/// One suggestion for the streamer.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Cue {
    pub id: String,
    pub kind: CueKind,
    /// What the streamer reads: short.
    pub text: String,
    pub product: Option<Arc<str>>,
    /// 1 (nice to know) to 100 (say it now).
    pub priority: u8,
    /// One line on why, for the overlay ("12 人在问").
    pub reason: String,
    pub evidence: Evidence,
    pub created_at: i64,
    pub expires_at: i64,
    pub state: CueState,
    /// The script variant (tone) chosen, when the script has variants.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The experiment this cue is a trial in (talking points with variants).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trial: Option<Trial>,
}

/// A cue's place in the closed loop: which script (slot) it tried, in which audience context,
/// with which variant (`""`: the default text), and whether its exposure is recorded yet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trial {
    pub slot: String,
    pub context: String,
    pub variant: String,
    #[serde(skip)]
    pub exposed: bool,
}

impl Cue {
    /// Shown on the overlay (not acknowledged, dismissed or expired).
    pub fn is_active(&self) -> bool {
        matches!(self.state, CueState::Active | CueState::Pinned)
    }
}
