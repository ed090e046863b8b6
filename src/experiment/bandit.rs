//! Choosing among script variants: Thompson sampling, UCB1, or a fixed A/B split, with a
//! minimum share of uniform exploration.
//!
//! Rewards are in [0, 1] (0.5: nothing changed; see [`super::reward`]). Thompson sampling keeps
//! a Beta posterior per arm updated with fractional successes (`α += r`, `β += 1 − r`); a
//! variant whose tone suits the leading segment starts from a slightly better prior
//! ([`TONE_PRIOR`]) that a few exposures outweigh.

use rand::Rng;
use rand_distr::{Beta, Distribution};
use serde::{Deserialize, Serialize};

/// How variants are chosen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Thompson sampling over Beta posteriors.
    #[default]
    Thompson,
    /// UCB1: the best mean plus an optimism bonus that shrinks with exposures.
    Ucb,
    /// A plain A/B test: the variant with the fewest exposures next (an even split); no
    /// learning in the choice.
    Ab,
}

/// Prior mean of a variant written for the leading segment (others start at 0.5).
pub const TONE_PRIOR: f64 = 0.6;
/// Weight of the prior, in exposures.
const PRIOR_WEIGHT: f64 = 2.0;

/// What is known about one variant in one context.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ArmStats {
    pub exposures: u32,
    pub reward_sum: f64,
    pub reward_sq: f64,
}

impl ArmStats {
    pub fn record(&mut self, reward: f64) {
        let r = reward.clamp(0.0, 1.0);
        self.exposures += 1;
        self.reward_sum += r;
        self.reward_sq += r * r;
    }

    pub fn mean(&self) -> Option<f64> {
        (self.exposures > 0).then(|| self.reward_sum / f64::from(self.exposures))
    }

    /// A 95% interval for the mean reward (normal approximation, clipped to [0, 1]); the
    /// whole range with fewer than two exposures.
    pub fn interval(&self) -> (f64, f64) {
        let n = f64::from(self.exposures);
        if self.exposures < 2 {
            return (0.0, 1.0);
        }
        let mean = self.reward_sum / n;
        let var = ((self.reward_sq - n * mean * mean) / (n - 1.0)).max(0.0);
        let half = 1.96 * (var / n).sqrt();
        ((mean - half).max(0.0), (mean + half).min(1.0))
    }
}

/// One variant the choice is among.
#[derive(Debug, Clone, Copy)]
pub struct Candidate {
    pub stats: ArmStats,
    /// Written for the leading segment's tone.
    pub suited: bool,
}

/// How a choice was made, for the cue's reason.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum How {
    /// Uniform exploration (the minimum exploration share).
    Explore,
    /// Thompson sampling drew this value for it, the highest.
    Sampled(f64),
    /// UCB1 score, the highest.
    Ucb(f64),
    /// Fewest exposures (A/B split).
    Balanced,
}

/// Picks one of `candidates` (not empty).
pub fn choose<R: Rng>(
    policy: Policy,
    min_explore: f64,
    candidates: &[Candidate],
    rng: &mut R,
) -> (usize, How) {
    let n = candidates.len().max(1);
    if policy != Policy::Ab && n > 1 && rng.random::<f64>() < min_explore {
        return (rng.random_range(0..n), How::Explore);
    }
    let prior = |c: &Candidate| if c.suited { TONE_PRIOR } else { 0.5 };
    match policy {
        Policy::Thompson => {
            let mut best = (0, How::Sampled(f64::MIN));
            for (i, c) in candidates.iter().enumerate() {
                let alpha = 1.0 + PRIOR_WEIGHT * prior(c) + c.stats.reward_sum;
                let beta = 1.0
                    + PRIOR_WEIGHT * (1.0 - prior(c))
                    + (f64::from(c.stats.exposures) - c.stats.reward_sum).max(0.0);
                let draw = Beta::new(alpha, beta).map_or(0.5, |b| b.sample(rng));
                if matches!(best.1, How::Sampled(v) if draw > v) {
                    best = (i, How::Sampled(draw));
                }
            }
            best
        }
        Policy::Ucb => {
            if let Some(i) = candidates.iter().position(|c| c.stats.exposures == 0) {
                return (i, How::Ucb(f64::INFINITY));
            }
            let total: f64 = candidates
                .iter()
                .map(|c| f64::from(c.stats.exposures))
                .sum();
            let mut best = (0, How::Ucb(f64::MIN));
            for (i, c) in candidates.iter().enumerate() {
                let n = f64::from(c.stats.exposures);
                let score = c.stats.reward_sum / n + (2.0 * total.ln() / n).sqrt();
                if matches!(best.1, How::Ucb(v) if score > v) {
                    best = (i, How::Ucb(score));
                }
            }
            best
        }
        Policy::Ab => {
            let i = candidates
                .iter()
                .enumerate()
                .min_by_key(|(_, c)| c.stats.exposures)
                .map_or(0, |(i, _)| i);
            (i, How::Balanced)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    /// Plays `rounds` rounds against arms paying 1 with the given probabilities; returns how
    /// often each arm was chosen and the regret against always playing the best.
    fn play(policy: Policy, truth: &[f64], rounds: usize, seed: u64) -> (Vec<u32>, f64) {
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut arms = vec![ArmStats::default(); truth.len()];
        let best = truth.iter().copied().fold(0.0, f64::max);
        let mut regret = 0.0;
        for _ in 0..rounds {
            let candidates: Vec<Candidate> = arms
                .iter()
                .map(|&stats| Candidate {
                    stats,
                    suited: false,
                })
                .collect();
            let (i, _) = choose(policy, 0.1, &candidates, &mut rng);
            let reward = if rng.random::<f64>() < truth[i] {
                1.0
            } else {
                0.0
            };
            arms[i].record(reward);
            regret += best - truth[i];
        }
        (arms.iter().map(|a| a.exposures).collect(), regret)
    }

    /// Seeded and bounded (30 runs of 600 rounds): the learning policies find the truly better
    /// variant in most runs, with far less regret than an even split.
    #[test]
    fn learning_policies_find_the_better_variant() {
        let truth = [0.45, 0.62, 0.5];
        for policy in [Policy::Thompson, Policy::Ucb] {
            let (mut found, mut regret, mut ab_regret) = (0, 0.0, 0.0);
            for seed in 0..30 {
                let (counts, r) = play(policy, &truth, 600, seed);
                let top = (0..counts.len()).max_by_key(|&i| counts[i]).unwrap();
                found += usize::from(top == 1);
                regret += r;
                ab_regret += play(Policy::Ab, &truth, 600, seed).1;
            }
            eprintln!(
                "{policy:?}: best variant most chosen in {found}/30 runs; mean regret {:.1} vs {:.1} for an even split",
                regret / 30.0,
                ab_regret / 30.0
            );
            assert!(found >= 24, "{policy:?} found the best in {found}/30 runs");
            assert!(
                regret < ab_regret * 0.6,
                "{policy:?}: {regret} vs {ab_regret}"
            );
        }
    }

    #[test]
    fn ab_splits_evenly_and_explores_nothing() {
        let (counts, _) = play(Policy::Ab, &[0.1, 0.9, 0.5], 300, 1);
        assert_eq!(counts, [100, 100, 100]);
    }

    #[test]
    fn exploration_keeps_trying_every_variant() {
        // A variant that looks hopeless still gets about a third of the 10% exploration share.
        let (counts, _) = play(Policy::Thompson, &[0.0, 1.0], 3_000, 5);
        assert!(counts[0] >= 60, "{counts:?}");
    }

    #[test]
    fn a_suited_tone_starts_ahead_but_evidence_wins() {
        let mut rng = SmallRng::seed_from_u64(9);
        let fresh = [
            Candidate {
                stats: ArmStats::default(),
                suited: true,
            },
            Candidate {
                stats: ArmStats::default(),
                suited: false,
            },
        ];
        let suited = (0..2_000)
            .filter(|_| choose(Policy::Thompson, 0.0, &fresh, &mut rng).0 == 0)
            .count();
        // Beta(2.2, 1.8) against Beta(2, 2): ahead a little over half the time.
        assert!(suited > 1_040, "{suited}");
        let mut poor = ArmStats::default();
        let mut good = ArmStats::default();
        for _ in 0..40 {
            poor.record(0.3);
            good.record(0.7);
        }
        let tried = [
            Candidate {
                stats: poor,
                suited: true,
            },
            Candidate {
                stats: good,
                suited: false,
            },
        ];
        let suited = (0..2_000)
            .filter(|_| choose(Policy::Thompson, 0.0, &tried, &mut rng).0 == 0)
            .count();
        assert!(suited < 100, "{suited}");
    }

    #[test]
    fn intervals_narrow_with_exposures() {
        let mut a = ArmStats::default();
        assert_eq!(a.interval(), (0.0, 1.0));
        for i in 0..100 {
            a.record(if i % 2 == 0 { 0.4 } else { 0.6 });
        }
        let (lo, hi) = a.interval();
        assert!(lo > 0.45 && hi < 0.55, "{lo} {hi}");
        assert!((a.mean().unwrap() - 0.5).abs() < 1e-9);
    }
}
