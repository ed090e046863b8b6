//! Metrics of a set of predictions against the labels, and the decision thresholds chosen on
//! the dev split.

use crate::analyze::model::{INTENTS, Model, Probs, QUESTION};
use crate::analyze::{Analysis, Intent, IntentSet, Label};

use super::corpus::Row;

/// True and false positives and false negatives of one label.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub tp: u32,
    pub fp: u32,
    pub fn_: u32,
}

fn ratio(a: u32, b: u32) -> f64 {
    if b == 0 {
        0.0
    } else {
        f64::from(a) / f64::from(b)
    }
}

impl Counts {
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
    pub fn support(&self) -> u32 {
        self.tp + self.fn_
    }
    fn add(&mut self, truth: bool, predicted: bool) {
        match (truth, predicted) {
            (true, true) => self.tp += 1,
            (false, true) => self.fp += 1,
            (true, false) => self.fn_ += 1,
            (false, false) => {}
        }
    }
}

/// Every metric of one set of predictions.
#[derive(Debug, Default, Clone)]
pub struct Metrics {
    pub rows: usize,
    pub intents: [Counts; INTENTS],
    pub exact: usize,
    pub question: Counts,
    pub question_right: usize,
    pub sentiment_right: usize,
    /// Rows: labelled positive, neutral, negative; columns: predicted.
    pub sentiment_confusion: [[u32; 3]; 3],
    pub product_right: usize,
    /// Entertainment rows labelled `chatter`, and those given a commerce intent.
    pub chatter_rows: usize,
    pub chatter_commerce: usize,
    /// For each intent, how often each other intent was predicted on its misses (label → the
    /// predicted labels of rows where it was missed).
    pub missed_as: [[u32; INTENTS]; INTENTS],
}

fn class(label: Label) -> usize {
    match label {
        Label::Positive => 0,
        Label::Neutral => 1,
        Label::Negative => 2,
    }
}

impl Metrics {
    pub fn of<'a>(pairs: impl IntoIterator<Item = (&'a Row, &'a Analysis)>) -> Metrics {
        let mut m = Metrics::default();
        for (row, a) in pairs {
            m.rows += 1;
            for intent in Intent::ALL {
                let truth = row.intents.contains(intent);
                m.intents[intent as usize].add(truth, a.intents.contains(intent));
                if truth && !a.intents.contains(intent) {
                    for p in a.intents.iter() {
                        m.missed_as[intent as usize][p as usize] += 1;
                    }
                }
            }
            m.exact += usize::from(row.intents == a.intents);
            m.question.add(row.question, a.question);
            m.question_right += usize::from(row.question == a.question);
            m.sentiment_right += usize::from(row.sentiment == a.sentiment.label);
            m.sentiment_confusion[class(row.sentiment)][class(a.sentiment.label)] += 1;
            m.product_right += usize::from(row.product.as_deref() == a.product.as_deref());
            if row.kind == "entertainment" && row.intents == IntentSet::from_iter([Intent::Chatter])
            {
                m.chatter_rows += 1;
                m.chatter_commerce += usize::from(
                    a.intents
                        .iter()
                        .any(|i| !matches!(i, Intent::Chatter | Intent::Spam)),
                );
            }
        }
        m
    }

    pub fn macro_f1(&self) -> f64 {
        self.intents.iter().map(Counts::f1).sum::<f64>() / INTENTS as f64
    }
    fn share(&self, n: usize) -> f64 {
        if self.rows == 0 {
            0.0
        } else {
            n as f64 / self.rows as f64
        }
    }
    pub fn question_accuracy(&self) -> f64 {
        self.share(self.question_right)
    }
    pub fn sentiment_accuracy(&self) -> f64 {
        self.share(self.sentiment_right)
    }
    pub fn product_accuracy(&self) -> f64 {
        self.share(self.product_right)
    }
    pub fn exact_share(&self) -> f64 {
        self.share(self.exact)
    }
    pub fn chatter_commerce_rate(&self) -> f64 {
        if self.chatter_rows == 0 {
            0.0
        } else {
            self.chatter_commerce as f64 / self.chatter_rows as f64
        }
    }
}

/// A scored dev or test row: the rules' analysis and the model's probabilities.
pub struct Scored<'a> {
    pub row: &'a Row,
    pub rules: Analysis,
    pub probs: Probs,
}

const GRID: std::ops::RangeInclusive<u32> = 2..=38;

fn grid(step: u32) -> f32 {
    step as f32 * 0.025
}

fn f1_at(dev: &[Scored<'_>], intent: Intent, threshold: f32, guard: bool) -> f64 {
    let mut c = Counts::default();
    let i = intent as usize;
    for s in dev {
        let predicted =
            s.probs.intents[i] >= threshold || (guard && s.rules.intents.contains(intent));
        c.add(s.row.intents.contains(intent), predicted);
    }
    c.f1()
}

/// The thresholds (intents, then question) and guard intents that do best on `dev`: per
/// intent the threshold of best F1, with the rule's intent OR-ed in when that does better;
/// for the question, the threshold of best accuracy. Ties go to the lower threshold.
pub fn choose(dev: &[Scored<'_>]) -> ([f32; INTENTS + 1], IntentSet) {
    let mut thresholds = [0.5f32; INTENTS + 1];
    let mut guards = IntentSet::default();
    for intent in Intent::ALL {
        let best = |guard: bool| {
            GRID.map(|s| (f1_at(dev, intent, grid(s), guard), grid(s)))
                .fold((-1.0, 0.5), |best, c| if c.0 > best.0 { c } else { best })
        };
        let (plain, t_plain) = best(false);
        // Chatter is what is left: the rules' chatter is no guard.
        let (guarded, t_guarded) = if intent == Intent::Chatter || intent == Intent::Spam {
            (-1.0, 0.5)
        } else {
            best(true)
        };
        if guarded > plain + 0.002 {
            thresholds[intent as usize] = t_guarded;
            guards.insert(intent);
        } else {
            thresholds[intent as usize] = t_plain;
        }
    }
    let accuracy = |t: f32| {
        dev.iter()
            .filter(|s| (s.probs.question >= t) == s.row.question)
            .count()
    };
    let (_, tq) = GRID
        .map(|s| (accuracy(grid(s)), grid(s)))
        .fold((0, 0.5), |best, c| if c.0 > best.0 { c } else { best });
    thresholds[QUESTION] = tq;
    (thresholds, guards)
}

/// The combined analyses of scored rows under `model`'s decision.
pub fn combined(model: &Model, scored: &[Scored<'_>]) -> Vec<Analysis> {
    scored
        .iter()
        .map(|s| {
            let mut a = s.rules.clone();
            model.decide(&mut a, &s.probs);
            a
        })
        .collect()
}
