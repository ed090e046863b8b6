//! Why the combined analysis said what it said (`livecue analyze --explain`): what the rules
//! found, and per output the model's probability with its strongest features.

use serde::Serialize;

use super::features::{self, Feature, Group};
use super::{Model, OUTPUTS, Probs, QUESTION, output_name};
use crate::analyze::{Analysis, Intent};

/// How many features each output lists.
pub const TOP: usize = 5;

/// One feature's share of one output's logit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    /// `gram:多少`, `token:多少钱`, `rule:ask_price`, `bias` …
    pub feature: String,
    pub weight: f32,
}

/// One output of the model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelExplanation {
    pub label: &'static str,
    pub probability: f32,
    /// The decision threshold (intents and question; sentiment is labelled from the score).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f32>,
    /// The rules have this intent and it is a guard, kept whatever the model says.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub guard: bool,
    pub features: Vec<Contribution>,
}

/// What the rules found, what the model says, and the combined result.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub rules: Analysis,
    pub combined: Analysis,
    pub labels: Vec<LabelExplanation>,
}

impl Model {
    /// Explains the model's outputs on the rules' analysis of a comment (allocates: not for
    /// the hot path).
    pub fn explain(&self, rules: &Analysis) -> Explanation {
        let probs = self.probs(rules);
        let mut combined = rules.clone();
        self.decide(&mut combined, &probs);
        // Features and their values, merged by name.
        let mut found: Vec<(String, usize, Group)> = Vec::new();
        let mut n = [0usize; 3];
        features::for_each(rules, self.bits, |row, group, feature| {
            n[group as usize] += 1;
            let name = match feature {
                Feature::Gram { text } => format!("gram:{text}"),
                Feature::Token { text } => format!("token:{text}"),
                Feature::Signal(s) => features::signal_name(s),
            };
            found.push((name, row, group));
        });
        let values = features::values((n[0], n[1]));
        let labels = (0..OUTPUTS)
            .map(|o| {
                let mut by_name: Vec<Contribution> = Vec::new();
                for (name, row, group) in &found {
                    let w = self.weight(*row, o) * values[*group as usize];
                    match by_name.iter_mut().find(|c| &c.feature == name) {
                        Some(c) => c.weight += w,
                        None => by_name.push(Contribution {
                            feature: name.clone(),
                            weight: w,
                        }),
                    }
                }
                by_name.sort_by(|a, b| {
                    b.weight
                        .abs()
                        .total_cmp(&a.weight.abs())
                        .then_with(|| a.feature.cmp(&b.feature))
                });
                by_name.truncate(TOP);
                let intent = Intent::ALL.get(o).copied();
                LabelExplanation {
                    label: output_name(o),
                    probability: Probs::get(&probs, o),
                    threshold: (o <= QUESTION).then(|| self.thresholds[o]),
                    guard: intent
                        .is_some_and(|i| self.guards.contains(i) && rules.intents.contains(i)),
                    features: by_name,
                }
            })
            .collect();
        Explanation {
            rules: rules.clone(),
            combined,
            labels,
        }
    }
}
