//! The learned model beside the rules: linear classifiers over hashed sparse features
//! ([`features`]), trained by `livecue train` on `corpus/` and embedded in the binary.
//!
//! Outputs: 17 intents (one-vs-rest logistic), question (logistic) and sentiment (3-class
//! softmax: positive, neutral, negative). A weight row per feature holds one signed byte per
//! output, times a per-output scale; inference adds the rows of the features as they are
//! hashed (three `i32` accumulators per output, one per feature group), so nothing is
//! allocated. [`Model::apply`] is the combined decision (models/README.md):
//!
//! - rule spam stays spam, and the rules' product, masking and text stand as they are;
//! - an intent is on when its probability reaches its threshold (chosen on the dev split), or
//!   when it is a *guard*: a rule intent that, OR-ed in, raised dev F1;
//! - praise and complaint exclude each other (the more probable stays); model spam stands
//!   alone; when nothing is on, `chatter`, except that a comment naming a
//!   catalog product that the model is not sure is chatter keeps the rules' intents;
//! - question: the probability against its threshold;
//! - the score is `p(positive) − p(negative)`, labelled by the rules' thresholds;
//! - the question key's topic: the rules' first asking intent if it is still on, else the most
//!   probable asking intent on.

pub mod explain;
pub mod features;
mod format;

use std::borrow::Cow;

pub use format::{FORMAT_VERSION, MAGIC, ModelError, fnv1a};

use super::labels::{Analysis, Intent, IntentSet, QuestionKey, Sentiment};
use super::sentiment;

/// Intent outputs, then the question output, then the three sentiment outputs.
pub const INTENTS: usize = 17;
pub const QUESTION: usize = INTENTS;
pub const SENTIMENT: usize = INTENTS + 1;
pub const OUTPUTS: usize = INTENTS + 1 + 3;

/// The model as `models/analysis.bin` when the binary was built (empty before the first
/// `livecue train`: then [`Model::embedded`] is `None`).
static EMBEDDED: &[u8] = include_bytes!("../../../models/analysis.bin");

/// A trained model: weights, scales, the thresholds chosen on dev, the guard intents.
#[derive(Clone)]
pub struct Model {
    pub(crate) bits: u32,
    /// `rows × OUTPUTS` signed bytes (stored as `u8`), row-major.
    pub(crate) weights: Cow<'static, [u8]>,
    pub(crate) scale: [f32; OUTPUTS],
    /// Intent thresholds, then the question threshold.
    pub(crate) thresholds: [f32; INTENTS + 1],
    /// Rule intents kept whatever the model says.
    pub(crate) guards: IntentSet,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("bits", &self.bits)
            .field("rows", &self.rows())
            .field("guards", &self.guards)
            .finish_non_exhaustive()
    }
}

/// Which model an analyzer decides with.
#[derive(Debug, Clone, Default)]
pub enum ModelChoice {
    /// The model embedded at build time (none if the build had none).
    #[default]
    Embedded,
    /// No model: the rules decide everything.
    RulesOnly,
    /// This one (`--model FILE`).
    Given(Model),
}

impl ModelChoice {
    pub fn load(self) -> Result<Option<Model>, ModelError> {
        match self {
            ModelChoice::Embedded => Model::embedded().transpose(),
            ModelChoice::RulesOnly => Ok(None),
            ModelChoice::Given(model) => Ok(Some(model)),
        }
    }
}

/// What the model says of one comment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Probs {
    pub intents: [f32; INTENTS],
    pub question: f32,
    /// Positive, neutral, negative.
    pub sentiment: [f32; 3],
}

impl Probs {
    /// Probability of a label: an intent's index, [`QUESTION`], or `SENTIMENT + class`.
    pub fn get(&self, output: usize) -> f32 {
        match output {
            o if o < INTENTS => self.intents[o],
            QUESTION => self.question,
            o => self.sentiment.get(o - SENTIMENT).copied().unwrap_or(0.0),
        }
    }
}

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

impl Model {
    /// The model embedded at build time, or `None` when the build had none.
    pub fn embedded() -> Option<Result<Model, ModelError>> {
        (!EMBEDDED.is_empty()).then(|| Model::from_static(EMBEDDED))
    }

    /// Reads a model from bytes that live as long as the program (no copy of the weights).
    pub fn from_static(bytes: &'static [u8]) -> Result<Model, ModelError> {
        format::decode(bytes, Cow::Borrowed)
    }

    /// Reads a model from bytes (copies the weights).
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, ModelError> {
        format::decode(bytes, |w| Cow::Owned(w.to_vec()))
    }

    /// Reads a model file.
    pub fn from_file(path: &std::path::Path) -> Result<Model, ModelError> {
        let bytes = std::fs::read(path).map_err(|source| ModelError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Model::from_bytes(&bytes)
    }

    /// The model file's bytes (see models/README.md for the format).
    pub fn to_bytes(&self) -> Vec<u8> {
        format::encode(self)
    }

    /// A model from trained parts: `weights` is `rows × OUTPUTS` quantized weights with
    /// `rows = 2^bits + SIGNALS`. Thresholds start at 0.5 and no guards.
    pub fn from_parts(bits: u32, weights: Vec<i8>, scale: [f32; OUTPUTS]) -> Model {
        Model {
            bits,
            weights: Cow::Owned(weights.into_iter().map(|w| w as u8).collect()),
            scale,
            thresholds: [0.5; INTENTS + 1],
            guards: IntentSet::default(),
        }
    }

    /// Sets the decision thresholds (intents, then question) and guard intents.
    pub fn set_decision(&mut self, thresholds: [f32; INTENTS + 1], guards: IntentSet) {
        self.thresholds = thresholds;
        self.guards = guards;
    }

    pub fn thresholds(&self) -> &[f32; INTENTS + 1] {
        &self.thresholds
    }

    pub fn guards(&self) -> IntentSet {
        self.guards
    }

    pub fn bits(&self) -> u32 {
        self.bits
    }

    fn rows(&self) -> usize {
        self.weights.len() / OUTPUTS
    }

    /// The weight of `row` for `output`, unscaled.
    pub(crate) fn weight(&self, row: usize, output: usize) -> f32 {
        self.weights
            .get(row * OUTPUTS + output)
            .map_or(0.0, |&w| f32::from(w as i8))
            * self.scale[output]
    }

    /// The model's probabilities for the rules' analysis of a comment. Allocation-free: the
    /// weight rows are summed as the features are hashed.
    pub fn probs(&self, rules: &Analysis) -> Probs {
        let mut acc = [[0i32; OUTPUTS]; 3];
        let mut n = [0usize; 3];
        let weights = &*self.weights;
        features::for_each(rules, self.bits, |row, group, _| {
            let g = group as usize;
            n[g] += 1;
            let start = row * OUTPUTS;
            if let Some(r) = weights.get(start..start + OUTPUTS) {
                let acc = &mut acc[g];
                for (a, &w) in acc.iter_mut().zip(r) {
                    *a += i32::from(w as i8);
                }
            }
        });
        let values = features::values((n[0], n[1]));
        let mut z = [0f32; OUTPUTS];
        for (o, z) in z.iter_mut().enumerate() {
            let sum: f32 = (0..3).map(|g| acc[g][o] as f32 * values[g]).sum();
            *z = sum * self.scale[o];
        }
        logits_to_probs(&z)
    }

    /// The combined decision (see the module documentation), on the rules' analysis.
    pub fn apply(&self, analysis: &mut Analysis) {
        if analysis.intents.contains(Intent::Spam) {
            return;
        }
        let probs = self.probs(analysis);
        self.decide(analysis, &probs);
    }

    /// [`Model::apply`] with the probabilities already known.
    pub fn decide(&self, analysis: &mut Analysis, probs: &Probs) {
        if analysis.intents.contains(Intent::Spam) {
            return;
        }
        let rules = analysis.intents;
        let mut intents = IntentSet::default();
        for intent in Intent::ALL {
            if intent == Intent::Chatter {
                continue;
            }
            let i = intent as usize;
            if probs.intents[i] >= self.thresholds[i]
                || (self.guards.contains(intent) && rules.contains(intent))
            {
                intents.insert(intent);
            }
        }
        // Praise and complaint together (2 of 22,884 corpus rows): the more probable stays, as
        // the rules keep the one their score agrees with (不是很好看 is a complaint).
        if intents.contains(Intent::Praise) && intents.contains(Intent::Complaint) {
            if probs.intents[Intent::Praise as usize] >= probs.intents[Intent::Complaint as usize] {
                intents.remove(Intent::Complaint);
            } else {
                intents.remove(Intent::Praise);
            }
        }
        if intents.contains(Intent::Spam) {
            intents = IntentSet::from_iter([Intent::Spam]);
        }
        if intents.is_empty() {
            // Nothing passed its threshold. A comment that names a catalog product and that the
            // model is not sure is chatter keeps the rules' reading (`2号什么尺码` behind
            // markup the corpus never had); everything else is chatter, so off-topic talk
            // that the rules mistook for commerce stays out of the counts.
            let chatter = Intent::Chatter as usize;
            if analysis.product.is_some() && probs.intents[chatter] < self.thresholds[chatter] {
                intents = rules;
            } else {
                intents.insert(Intent::Chatter);
            }
        }
        let rule_topic = analysis.key.as_ref().map(|k| k.topic);
        let topic = rule_topic
            .filter(|t| intents.iter().any(|i| i.topic() == Some(*t)))
            .or_else(|| {
                intents
                    .iter()
                    .filter(|i| i.topic().is_some())
                    .max_by(|a, b| {
                        probs.intents[*a as usize].total_cmp(&probs.intents[*b as usize])
                    })
                    .and_then(Intent::topic)
            });
        let score = (probs.sentiment[0] - probs.sentiment[2]).clamp(-1.0, 1.0);
        analysis.intents = intents;
        analysis.question = probs.question >= self.thresholds[QUESTION];
        analysis.sentiment = Sentiment {
            score,
            label: sentiment::label(score),
        };
        analysis.key = topic.map(|topic| QuestionKey {
            topic,
            product: analysis.product.clone(),
        });
    }
}

/// Sigmoids for the intents and the question, a softmax for sentiment.
pub fn logits_to_probs(z: &[f32; OUTPUTS]) -> Probs {
    let mut intents = [0f32; INTENTS];
    for (p, &z) in intents.iter_mut().zip(z) {
        *p = sigmoid(z);
    }
    let s = &z[SENTIMENT..];
    let max = s.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e = [(s[0] - max).exp(), (s[1] - max).exp(), (s[2] - max).exp()];
    let total = e[0] + e[1] + e[2];
    Probs {
        intents,
        question: sigmoid(z[QUESTION]),
        sentiment: [e[0] / total, e[1] / total, e[2] / total],
    }
}

/// The label of an output, for reports and explanations.
pub fn output_name(output: usize) -> &'static str {
    match output {
        o if o < INTENTS => Intent::ALL[o].as_str(),
        QUESTION => "question",
        o if o == SENTIMENT => "positive",
        o if o == SENTIMENT + 1 => "neutral",
        _ => "negative",
    }
}

#[cfg(test)]
mod tests;
