//! Training: one-vs-rest logistic outputs for the intents and the question and a softmax for
//! sentiment, all over the same sparse rows, by AdaGrad with L2 on the rows an example touches,
//! a few epochs in a seeded order; then per-output quantization to signed bytes.

use crate::analyze::model::features::{self, SIGNALS};
use crate::analyze::model::{Model, OUTPUTS, QUESTION, SENTIMENT, logits_to_probs};
use crate::analyze::{Analysis, Intent, IntentSet, Label};

/// Training settings.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    pub bits: u32,
    pub epochs: usize,
    pub learning_rate: f32,
    pub l2: f32,
    pub seed: u64,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            bits: 16,
            epochs: 8,
            learning_rate: 0.3,
            l2: 1e-6,
            seed: 20261208,
        }
    }
}

/// One training example: its features (row, value) and labels.
#[derive(Debug, Clone)]
pub struct Example {
    pub features: Vec<(u32, f32)>,
    pub intents: IntentSet,
    pub question: bool,
    /// Index into [`features::SENTIMENTS`].
    pub sentiment: usize,
    pub weight: f32,
}

impl Example {
    /// The example of the rules' analysis of a labelled comment.
    pub fn new(
        rules: &Analysis,
        bits: u32,
        intents: IntentSet,
        question: bool,
        sentiment: Label,
        weight: f32,
    ) -> Example {
        let mut found = Vec::new();
        let mut n = [0usize; 3];
        features::for_each(rules, bits, |row, group, _| {
            n[group as usize] += 1;
            found.push((row as u32, group as usize));
        });
        let values = features::values((n[0], n[1]));
        Example {
            features: found.into_iter().map(|(r, g)| (r, values[g])).collect(),
            intents,
            question,
            sentiment: features::SENTIMENTS
                .iter()
                .position(|l| *l == sentiment)
                .unwrap_or(1),
            weight,
        }
    }
}

/// splitmix64: a small, fixed generator, so the order of examples depends on the seed alone.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Trains the float weights (`rows × OUTPUTS`), reporting each epoch's mean loss.
pub fn train(
    examples: &[Example],
    params: Params,
    mut progress: impl FnMut(usize, f32),
) -> Vec<f32> {
    let rows = (1usize << params.bits) + SIGNALS;
    let mut w = vec![0f32; rows * OUTPUTS];
    let mut g2 = vec![1e-6f32; rows * OUTPUTS];
    let mut order: Vec<usize> = (0..examples.len()).collect();
    let mut rng = Rng(params.seed);
    for epoch in 0..params.epochs {
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i + 1));
        }
        let mut loss = 0f64;
        for &e in &order {
            let ex = &examples[e];
            let mut z = [0f32; OUTPUTS];
            for &(row, v) in &ex.features {
                let r = &w[row as usize * OUTPUTS..][..OUTPUTS];
                for (z, w) in z.iter_mut().zip(r) {
                    *z += w * v;
                }
            }
            let p = logits_to_probs(&z);
            let mut err = [0f32; OUTPUTS];
            for (i, intent) in Intent::ALL.into_iter().enumerate() {
                let y = f32::from(u8::from(ex.intents.contains(intent)));
                err[i] = p.intents[i] - y;
                loss -= f64::from(
                    (if y > 0.5 {
                        p.intents[i]
                    } else {
                        1.0 - p.intents[i]
                    })
                    .max(1e-7)
                    .ln(),
                );
            }
            let yq = f32::from(u8::from(ex.question));
            err[QUESTION] = p.question - yq;
            for c in 0..3 {
                let y = f32::from(u8::from(ex.sentiment == c));
                err[SENTIMENT + c] = p.sentiment[c] - y;
            }
            loss -= f64::from(p.sentiment[ex.sentiment].max(1e-7).ln());
            for &(row, v) in &ex.features {
                let at = row as usize * OUTPUTS;
                let (wr, gr) = (&mut w[at..at + OUTPUTS], &mut g2[at..at + OUTPUTS]);
                for o in 0..OUTPUTS {
                    let g = err[o] * v * ex.weight + params.l2 * wr[o];
                    gr[o] += g * g;
                    wr[o] -= params.learning_rate * g / gr[o].sqrt();
                }
            }
        }
        progress(epoch + 1, (loss / examples.len().max(1) as f64) as f32);
    }
    w
}

/// Signed bytes with one scale per output (the largest weight maps to ±127).
pub fn quantize(weights: &[f32], bits: u32) -> Model {
    let mut scale = [0f32; OUTPUTS];
    for row in weights.chunks_exact(OUTPUTS) {
        for (s, w) in scale.iter_mut().zip(row) {
            *s = s.max(w.abs());
        }
    }
    for s in &mut scale {
        *s = if *s > 0.0 { *s / 127.0 } else { 1.0 };
    }
    let q = weights
        .chunks_exact(OUTPUTS)
        .flat_map(|row| {
            row.iter()
                .zip(scale)
                .map(|(w, s)| (w / s).round().clamp(-127.0, 127.0) as i8)
        })
        .collect();
    Model::from_parts(bits, q, scale)
}
