//! The closed loop: which script variant a cue used, what the room did after the streamer acted
//! on it, and which variant to use next time.
//!
//! - A variant is chosen per *slot* (one script: a product's selling point, the surge script)
//!   and *context* (the audience's leading segment), by [`bandit::choose`].
//! - An *exposure* is recorded when the streamer acts on a cue: the operator acknowledges it,
//!   or the overlay showed it for [`ExperimentConfig::shown_s`].
//! - Its *outcome* compares the [`ExperimentConfig::outcome_s`] seconds after the exposure with
//!   as many seconds before it ([`reward`]). When several exposures' windows overlap, each
//!   second's lift is split evenly among the exposures covering it.

pub mod bandit;

use std::collections::{BTreeMap, VecDeque};

use rand::SeedableRng;
use rand::rngs::SmallRng;
use serde::{Deserialize, Serialize};

use crate::audience::{Mix, SegmentDef};
pub use bandit::{ArmStats, Policy};

/// `[rooms.experiment]`: how variants are chosen and judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExperimentConfig {
    /// `thompson` (default), `ucb`, or `ab` for a plain even split.
    pub policy: Policy,
    /// Share of choices made uniformly at random (not for `ab`), so no variant is written off
    /// too early.
    pub min_explore: f64,
    /// Seconds after an exposure its outcome is measured over (and as many before it).
    pub outcome_s: u32,
    /// An overlay cue shown this many seconds counts as acted on.
    pub shown_s: u32,
    pub reward: RewardWeights,
}

impl Default for ExperimentConfig {
    fn default() -> ExperimentConfig {
        ExperimentConfig {
            policy: Policy::Thompson,
            min_explore: 0.1,
            outcome_s: 120,
            shown_s: 20,
            reward: RewardWeights::default(),
        }
    }
}

impl ExperimentConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.min_explore) {
            return Err(format!(
                "experiment.min_explore = {}: 0 to 1",
                self.min_explore
            ));
        }
        if !(10..=120).contains(&self.outcome_s) {
            return Err(format!(
                "experiment.outcome_s = {}: 10 to 120 seconds (the room keeps 5 minutes of history)",
                self.outcome_s
            ));
        }
        if !(1..=600).contains(&self.shown_s) {
            return Err(format!("experiment.shown_s = {}: 1 to 600", self.shown_s));
        }
        let w = &self.reward;
        if [w.purchase, w.orders, w.link, w.rate, w.sentiment]
            .iter()
            .any(|x| !x.is_finite() || *x < 0.0)
            || !(w.scale.is_finite() && w.scale > 0.0)
        {
            return Err("experiment.reward: weights must be ≥ 0 and scale > 0".into());
        }
        Ok(())
    }
}

/// Weights of the outcome measures in the reward.
///
/// `raw = purchase·Δpurchase + orders·Δorders + link·Δlink + rate·Δrate + sentiment·Δsentiment`
/// where Δpurchase, Δorders and Δlink are the change in purchase signals, orders and link
/// requests per minute (after minus before), Δrate the relative change of the comment rate
/// ((after − before) / max(before, 1 a minute)) and Δsentiment the change of the mean comment
/// sentiment (−2…2). The reward is `1 / (1 + e^(−raw/scale))`: 0.5 when nothing changed, towards
/// 1 for a clear lift, towards 0 for a drop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RewardWeights {
    pub purchase: f64,
    pub orders: f64,
    pub link: f64,
    pub rate: f64,
    pub sentiment: f64,
    pub scale: f64,
}

impl Default for RewardWeights {
    fn default() -> RewardWeights {
        RewardWeights {
            purchase: 1.0,
            orders: 2.0,
            link: 0.5,
            rate: 1.0,
            sentiment: 1.0,
            scale: 2.0,
        }
    }
}

/// What the room did in one second.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Activity {
    pub comments: u32,
    pub purchase: u32,
    pub orders: u32,
    pub link: u32,
    pub sentiment_sum: f32,
}

/// The change an exposure was credited with, per minute (see [`RewardWeights`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Lift {
    pub purchase: f64,
    pub orders: f64,
    pub link: f64,
    pub rate: f64,
    pub sentiment: f64,
}

/// The reward of one exposure: `before` and `after` are the seconds before and after it,
/// `shares[i]` the share of second `after[i]` credited to it (1 / exposures covering it).
pub fn reward(
    before: &[Activity],
    after: &[Activity],
    shares: &[f64],
    w: &RewardWeights,
) -> (f64, Lift) {
    let per_s = |f: fn(&Activity) -> f64, xs: &[Activity]| {
        if xs.is_empty() {
            0.0
        } else {
            xs.iter().map(f).sum::<f64>() / xs.len() as f64
        }
    };
    // Credited lift per second, against the before window's mean, in units a minute.
    let lift = |f: fn(&Activity) -> f64| {
        if after.is_empty() {
            return 0.0;
        }
        let base = per_s(f, before);
        let sum: f64 = after
            .iter()
            .zip(shares.iter().chain(std::iter::repeat(&1.0)))
            .map(|(a, share)| share * (f(a) - base))
            .sum();
        sum / after.len() as f64 * 60.0
    };
    let base_rate = per_s(|a| f64::from(a.comments), before) * 60.0;
    let sentiment = |xs: &[Activity]| {
        let n: u32 = xs.iter().map(|a| a.comments).sum();
        if n == 0 {
            0.0
        } else {
            xs.iter().map(|a| f64::from(a.sentiment_sum)).sum::<f64>() / f64::from(n)
        }
    };
    let mean_share = if shares.is_empty() {
        1.0
    } else {
        shares.iter().sum::<f64>() / shares.len() as f64
    };
    let l = Lift {
        purchase: lift(|a| f64::from(a.purchase)),
        orders: lift(|a| f64::from(a.orders)),
        link: lift(|a| f64::from(a.link)),
        rate: lift(|a| f64::from(a.comments)) / base_rate.max(1.0),
        sentiment: (sentiment(after) - sentiment(before)) * mean_share,
    };
    let raw = w.purchase * l.purchase
        + w.orders * l.orders
        + w.link * l.link
        + w.rate * l.rate
        + w.sentiment * l.sentiment;
    (1.0 / (1.0 + (-raw / w.scale).exp()), l)
}

/// A variant choice and why, in words an operator understands.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub index: usize,
    /// The context the choice was made in: the leading segment, or `全体`.
    pub context: String,
    pub reason: String,
}

/// A cue the streamer acted on, waiting for its outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exposure {
    pub cue: String,
    pub slot: String,
    pub context: String,
    pub variant: String,
    /// The audience mix when it was shown: (segment, share).
    pub mix: Vec<(String, f32)>,
    pub at: i64,
    /// `ack` (operator) or `shown` (stayed on the overlay).
    pub by: &'static str,
}

/// An exposure with its measured outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settled {
    #[serde(flatten)]
    pub exposure: Exposure,
    pub reward: f64,
    pub lift: Lift,
}

/// One line of the variant table (console and review).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantRow {
    pub slot: String,
    pub context: String,
    pub variant: String,
    pub exposures: u32,
    pub mean_reward: Option<f64>,
    pub interval: (f64, f64),
}

/// Settled exposures kept for the console and the review.
const SETTLED_KEPT: usize = 2_000;
/// Pending exposures at most (a flood of acks cannot grow memory).
const PENDING_MAX: usize = 1_000;

/// A room's variant experiments.
#[derive(Debug)]
pub struct Experiments {
    config: ExperimentConfig,
    arms: BTreeMap<(String, String, String), ArmStats>,
    pending: VecDeque<Exposure>,
    /// Times of recent exposures (pending or settled within two outcome windows), for credit
    /// sharing.
    recent: VecDeque<i64>,
    settled: VecDeque<Settled>,
    rng: SmallRng,
}

impl Experiments {
    pub fn new(config: ExperimentConfig, seed: u64) -> Experiments {
        Experiments {
            config,
            arms: BTreeMap::new(),
            pending: VecDeque::new(),
            recent: VecDeque::new(),
            settled: VecDeque::new(),
            rng: SmallRng::seed_from_u64(seed),
        }
    }

    pub fn config(&self) -> &ExperimentConfig {
        &self.config
    }

    /// Chooses among variants of `slot` whose tones are `tones` (`""` for the default text).
    /// `tones` must not be empty.
    pub fn choose(
        &mut self,
        slot: &str,
        tones: &[&str],
        mix: &Mix,
        segments: &[SegmentDef],
    ) -> Choice {
        let leading = mix.leading(segments);
        let context = leading.map_or("全体".to_string(), |(s, _)| s.name.clone());
        let candidates: Vec<bandit::Candidate> = tones
            .iter()
            .map(|tone| bandit::Candidate {
                stats: self.stats(slot, &context, tone),
                suited: leading.is_some_and(|(s, _)| s.tones.iter().any(|t| t == tone)),
            })
            .collect();
        let (index, how) = bandit::choose(
            self.config.policy,
            self.config.min_explore,
            &candidates,
            &mut self.rng,
        );
        let tone = tones.get(index).copied().unwrap_or_default();
        let label = if tone.is_empty() {
            "默认话术"
        } else {
            tone
        };
        let audience = match leading {
            Some((s, share)) => format!("{}观众占 {:.0}%", s.name, share * 100.0),
            None => "观众分群未明".to_string(),
        };
        let stats = candidates.get(index).map(|c| c.stats).unwrap_or_default();
        let evidence = match (how, stats.mean()) {
            (bandit::How::Explore, _) => "随机试一试, 保证每个版本都有机会".to_string(),
            (bandit::How::Balanced, _) => format!("A/B 均分, 已用 {} 次", stats.exposures),
            (_, Some(mean)) => format!("已试 {} 次, 平均回报 {:.2}", stats.exposures, mean),
            (_, None) if candidates.get(index).is_some_and(|c| c.suited) => {
                "对这群观众首选".to_string()
            }
            (_, None) => "还没试过".to_string(),
        };
        Choice {
            index,
            context,
            reason: format!("{audience} → {label} ({evidence})"),
        }
    }

    fn stats(&self, slot: &str, context: &str, variant: &str) -> ArmStats {
        self.arms
            .get(&(slot.to_string(), context.to_string(), variant.to_string()))
            .copied()
            .unwrap_or_default()
    }

    /// Records that the streamer acted on a cue; a second exposure of the same cue is ignored.
    /// False when it was ignored.
    pub fn expose(&mut self, exposure: Exposure) -> bool {
        if self.pending.iter().any(|e| e.cue == exposure.cue)
            || self.settled.iter().any(|s| s.exposure.cue == exposure.cue)
        {
            return false;
        }
        if self.pending.len() >= PENDING_MAX {
            self.pending.pop_front();
        }
        self.recent.push_back(exposure.at);
        self.pending.push_back(exposure);
        true
    }

    /// Exposures whose outcome window has passed at `now`, measured on `activity(second)` (the
    /// room's activity in the second starting at that many milliseconds), and booked to their
    /// variants.
    pub fn settle(&mut self, now: i64, activity: impl Fn(i64) -> Activity) -> Vec<Settled> {
        let window = i64::from(self.config.outcome_s) * 1000;
        let mut done = Vec::new();
        while let Some(e) = self.pending.front() {
            if e.at + window > now {
                break;
            }
            let Some(e) = self.pending.pop_front() else {
                break;
            };
            let seconds = i64::from(self.config.outcome_s);
            let before: Vec<Activity> = (1..=seconds)
                .rev()
                .map(|s| activity(e.at - s * 1000))
                .collect();
            let after: Vec<Activity> = (0..seconds).map(|s| activity(e.at + s * 1000)).collect();
            let shares: Vec<f64> = (0..seconds)
                .map(|s| {
                    let t = e.at + s * 1000;
                    let covering = self
                        .recent
                        .iter()
                        .filter(|&&at| at <= t && t < at + window)
                        .count();
                    1.0 / covering.max(1) as f64
                })
                .collect();
            let (r, lift) = reward(&before, &after, &shares, &self.config.reward);
            self.arms
                .entry((e.slot.clone(), e.context.clone(), e.variant.clone()))
                .or_default()
                .record(r);
            let settled = Settled {
                exposure: e,
                reward: r,
                lift,
            };
            if self.settled.len() >= SETTLED_KEPT {
                self.settled.pop_front();
            }
            self.settled.push_back(settled.clone());
            done.push(settled);
        }
        while self.recent.front().is_some_and(|&at| at + 2 * window < now) {
            self.recent.pop_front();
        }
        done
    }

    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    pub fn settled(&self) -> impl Iterator<Item = &Settled> {
        self.settled.iter()
    }

    /// Every variant tried, by slot and context.
    pub fn table(&self) -> Vec<VariantRow> {
        self.arms
            .iter()
            .map(|((slot, context, variant), stats)| VariantRow::new(slot, context, variant, stats))
            .collect()
    }
}

impl VariantRow {
    /// A line of the table; `variant` `""` is the default text (`默认话术`).
    pub fn new(slot: &str, context: &str, variant: &str, stats: &ArmStats) -> VariantRow {
        VariantRow {
            slot: slot.to_owned(),
            context: context.to_owned(),
            variant: if variant.is_empty() {
                "默认话术".to_owned()
            } else {
                variant.to_owned()
            },
            exposures: stats.exposures,
            mean_reward: stats.mean(),
            interval: stats.interval(),
        }
    }
}

/// The verdicts ([`verdict`]) of every slot and context in `rows`, in table order.
pub fn verdicts(rows: &[VariantRow]) -> Vec<String> {
    let mut groups: BTreeMap<(&str, &str), Vec<&VariantRow>> = BTreeMap::new();
    for r in rows {
        groups.entry((&r.slot, &r.context)).or_default().push(r);
    }
    groups
        .into_iter()
        .filter_map(|((slot, _), rows)| verdict(&rows).map(|v| format!("{slot} · {v}")))
        .collect()
}

/// A plain-language verdict on the variants of one slot in one context, only where the data
/// supports one: a variant whose interval lies wholly above every other's.
pub fn verdict(rows: &[&VariantRow]) -> Option<String> {
    if rows.len() < 2 {
        return None;
    }
    let best = rows.iter().max_by(|a, b| {
        a.mean_reward
            .unwrap_or(0.0)
            .total_cmp(&b.mean_reward.unwrap_or(0.0))
    })?;
    let clear = rows
        .iter()
        .filter(|r| !std::ptr::eq(**r, *best))
        .all(|r| best.interval.0 > r.interval.1);
    clear.then(|| {
        format!(
            "{}: 「{}」明显更好 (平均回报 {:.2}, {} 次)",
            best.context,
            best.variant,
            best.mean_reward.unwrap_or(0.0),
            best.exposures
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audience::{Share, default_segments};

    fn busy(comments: u32, purchase: u32) -> Activity {
        Activity {
            comments,
            purchase,
            sentiment_sum: comments as f32 * 0.2,
            ..Activity::default()
        }
    }

    #[test]
    fn no_change_is_a_half_and_a_lift_is_more() {
        let w = RewardWeights::default();
        let same = vec![busy(5, 1); 60];
        let (r, lift) = reward(&same, &same, &[1.0; 60], &w);
        assert!((r - 0.5).abs() < 1e-9, "{r} {lift:?}");
        let more = vec![busy(8, 2); 60];
        let (up, lift) = reward(&same, &more, &[1.0; 60], &w);
        assert!(up > 0.9, "{up}");
        assert!((lift.purchase - 60.0).abs() < 1e-9);
        assert!((lift.rate - 0.6).abs() < 1e-9);
        let (down, _) = reward(&more, &same, &[1.0; 60], &w);
        assert!(down < 0.1, "{down}");
        // Half the credit for a lift shared with another exposure.
        let (half, lift) = reward(&same, &more, &[0.5; 60], &w);
        assert!(half > 0.5 && half < up);
        assert!((lift.purchase - 30.0).abs() < 1e-9);
    }

    fn mix(price: f32) -> Mix {
        Mix {
            active: 100,
            shares: default_segments()
                .iter()
                .map(|s| Share {
                    segment: s.name.clone(),
                    viewers: if s.name == "价格敏感" {
                        (price * 100.0) as u32
                    } else {
                        10
                    },
                    share: if s.name == "价格敏感" { price } else { 0.1 },
                })
                .collect(),
        }
    }

    #[test]
    fn the_reason_names_the_audience_and_the_evidence() {
        let mut ex = Experiments::new(
            ExperimentConfig {
                min_explore: 0.0,
                ..ExperimentConfig::default()
            },
            1,
        );
        let segments = default_segments();
        let choice = ex.choose("point:1:0", &["", "优惠先行"], &mix(0.46), &segments);
        assert_eq!(choice.context, "价格敏感");
        assert!(
            choice.reason.starts_with("价格敏感观众占 46% → "),
            "{}",
            choice.reason
        );
    }

    #[test]
    fn exposures_settle_after_their_window_and_share_overlaps() {
        let mut ex = Experiments::new(ExperimentConfig::default(), 1);
        let exposure = |cue: &str, at: i64, variant: &str| Exposure {
            cue: cue.into(),
            slot: "s".into(),
            context: "价格敏感".into(),
            variant: variant.into(),
            mix: vec![],
            at,
            by: "ack",
        };
        assert!(ex.expose(exposure("c1", 200_000, "优惠先行")));
        assert!(!ex.expose(exposure("c1", 201_000, "优惠先行")));
        assert!(ex.expose(exposure("c2", 260_000, "")));
        // Quiet before 200 s, busy after: both exposures see a lift.
        let activity = |t: i64| if t >= 200_000 { busy(6, 2) } else { busy(2, 0) };
        assert!(ex.settle(319_999, activity).is_empty());
        let first = ex.settle(320_000, activity);
        assert_eq!(first.len(), 1);
        let second = ex.settle(380_000, activity);
        assert_eq!(second.len(), 1);
        // c1 shares its last 60 seconds with c2, so it is credited less per second than a
        // lone exposure would be.
        assert!(first[0].lift.purchase < 120.0 && first[0].lift.purchase > 60.0);
        assert!(first[0].reward > 0.9);
        let table = ex.table();
        assert_eq!(table.len(), 2);
        assert_eq!(table[0].variant, "默认话术");
        assert_eq!(ex.pending(), 0);
    }

    #[test]
    fn a_verdict_needs_separated_intervals() {
        let row = |variant: &str, mean: f64, lo: f64, hi: f64| VariantRow {
            slot: "s".into(),
            context: "价格敏感".into(),
            variant: variant.into(),
            exposures: 30,
            mean_reward: Some(mean),
            interval: (lo, hi),
        };
        let a = row("优惠先行", 0.7, 0.62, 0.78);
        let b = row("默认话术", 0.5, 0.42, 0.58);
        assert!(verdict(&[&a, &b]).unwrap().contains("优惠先行"));
        let c = row("默认话术", 0.6, 0.5, 0.7);
        assert_eq!(verdict(&[&a, &c]), None);
        assert_eq!(verdict(&[&a]), None);
    }

    #[test]
    fn config_is_checked() {
        assert!(ExperimentConfig::default().validate().is_ok());
        let bad = ExperimentConfig {
            min_explore: 2.0,
            ..ExperimentConfig::default()
        };
        assert!(bad.validate().is_err());
    }
}
