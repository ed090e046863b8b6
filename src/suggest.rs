//! The suggestion engine: rules over a room's windows that turn numbers into cues.
//!
//! [`Suggester::evaluate`] runs on the room's tick (every 250 ms) and reads the
//! [`RoomState`]. Each rule says what to do and why, with evidence (counts and masked sample
//! comments) an operator can check, and a cooldown per (kind, product, key) so the overlay
//! never flickers or repeats itself:
//!
//! - `answer_question`: enough distinct viewers ask the same thing → the product's FAQ answer.
//! - `product_order`: another product's demand overtakes the pitched one's → "下一个讲 N号".
//! - `talking_point`: the pitched product's next selling point, chosen by what viewers ask.
//! - `sentiment_alert`: negative share jumps or complaints cluster → a calming line.
//! - `surge`: the comment rate doubles its baseline → a conversion push.
//!
//! Pure: no clocks (time comes in as `now`), no I/O, so rules are unit-tested with made-up
//! windows.

use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::analyze::Topic;
use crate::catalog::Product;
use crate::room::RoomState;
pub use crate::room::{Cue, CueKind, CueState, Evidence, Rank, Trial};

/// When the suggestion engine speaks up. Every field has a default; times are in seconds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    /// `answer_question`: this many distinct viewers asking the same thing...
    pub answer_min_askers: u32,
    /// ...within this many seconds.
    pub answer_window_s: u32,
    /// At most one new `answer_question` cue this often, so the overlay stays calm.
    pub answer_gap_s: u32,
    /// `product_order`: a product's demand must exceed the pitched one's by this factor...
    pub order_factor: f32,
    /// ...and reach at least this score (questions 1, purchase signals 2, link requests 3).
    pub order_min_score: f32,
    /// `sentiment_alert`: share of negative comments in the last minute at least this...
    pub alert_negative_share: f32,
    /// ...and this much above the 5-minute baseline share...
    pub alert_rise: f32,
    /// ...with at least this many negative comments; or this many complaints on one topic.
    pub alert_min_negative: u32,
    /// `surge`: the 10-second comment rate at least this multiple of the 5-minute baseline...
    pub surge_factor: f32,
    /// ...and at least this many comments per second.
    pub surge_min_rate: f32,
    /// `talking_point`: suggest the pitched product's next selling point this often.
    pub talking_point_every_s: u32,
    /// How long a cue stays on the overlay.
    pub cue_ttl_s: u32,
    /// A cue with the same kind, product and key is not repeated within this time.
    pub cooldown_s: u32,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules {
            answer_min_askers: 5,
            answer_window_s: 60,
            answer_gap_s: 8,
            order_factor: 1.3,
            order_min_score: 8.0,
            alert_negative_share: 0.3,
            alert_rise: 0.15,
            alert_min_negative: 6,
            surge_factor: 2.0,
            surge_min_rate: 2.0,
            talking_point_every_s: 60,
            cue_ttl_s: 45,
            cooldown_s: 120,
        }
    }
}

/// Fills `{product}`, `{price}` and `{count}`.
pub fn fill(template: &str, product: Option<&Product>, count: u32) -> String {
    let name = product.map_or("这款", |p| p.name.as_str());
    let price = product
        .and_then(|p| p.price)
        .map(|p| {
            if p.fract() == 0.0 {
                format!("{p:.0}")
            } else {
                format!("{p:.2}")
            }
        })
        .unwrap_or_else(|| "优惠价".into());
    template
        .replace("{product}", name)
        .replace("{price}", &price)
        .replace("{count}", &count.to_string())
}

/// Calming line when a room configured none for the topic.
const DEFAULT_CALM: &str = "大家的问题我们都看到了, 有问题的家人私信客服, 一定给大家处理好";
/// Conversion push when a room configured none.
const DEFAULT_SURGE: &str = "人气上来了! {product} 现在下单最划算, 库存不多抓紧拍";

/// Per-room rule memory: cooldowns, which selling points were used, the cue counter.
#[derive(Debug, Default)]
pub struct Suggester {
    cooldowns: FxHashMap<(CueKind, Option<Arc<str>>, String), i64>,
    used_points: FxHashMap<Arc<str>, Vec<bool>>,
    last_point: Option<(Arc<str>, i64)>,
    next_surge: usize,
    counter: u64,
    last_answer: Option<i64>,
    /// The room's thresholds (`[rooms.rules]`).
    rules: Rules,
}

impl Suggester {
    /// A room's rule memory with its thresholds.
    pub fn new(rules: Rules) -> Suggester {
        Suggester {
            rules,
            ..Suggester::default()
        }
    }

    /// The thresholds the rules run with.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Runs every rule; new cues are added to `state.cues` and returned (to be broadcast).
    /// Cues past their expiry are marked expired.
    pub fn evaluate(&mut self, state: &mut RoomState, now: i64) -> Vec<Cue> {
        for cue in state.cues.iter_mut() {
            if cue.state == CueState::Active && now >= cue.expires_at {
                cue.state = CueState::Expired;
            }
        }
        let mut new = Vec::new();
        self.answer_questions(state, now, &mut new);
        self.product_order(state, now, &mut new);
        self.sentiment_alert(state, now, &mut new);
        self.surge(state, now, &mut new);
        self.talking_point(state, now, &mut new);
        for cue in &new {
            state.push_cue(cue.clone());
        }
        new
    }

    fn cooling(
        &self,
        kind: CueKind,
        product: &Option<Arc<str>>,
        key: &str,
        now: i64,
        cooldown_ms: i64,
    ) -> bool {
        self.cooldowns
            .get(&(kind, product.clone(), key.to_owned()))
            .is_some_and(|at| now - at < cooldown_ms)
    }

    fn cue(
        &mut self,
        state: &RoomState,
        kind: CueKind,
        product: Option<Arc<str>>,
        key: &str,
        now: i64,
    ) -> Cue {
        self.cooldowns
            .insert((kind, product.clone(), key.to_owned()), now);
        self.counter += 1;
        Cue {
            id: format!("{}-{}", state.id, self.counter),
            kind,
            text: String::new(),
            product,
            priority: 50,
            reason: String::new(),
            evidence: Evidence::default(),
            created_at: now,
            expires_at: now + i64::from(self.rules.cue_ttl_s) * 1000,
            state: CueState::Active,
            variant: None,
            trial: None,
        }
    }

    fn answer_questions(&mut self, state: &RoomState, now: i64, out: &mut Vec<Cue>) {
        let rules = self.rules;
        let window_ms = i64::from(rules.answer_window_s) * 1000;
        let cooldown = i64::from(rules.cooldown_s) * 1000;
        let mut ready: Vec<(u32, String)> = state
            .clusters
            .iter()
            .filter(|c| c.topic != Topic::Link)
            .map(|c| (c.askers(now, window_ms), c.key.clone()))
            .filter(|(n, _)| *n >= rules.answer_min_askers)
            .collect();
        ready.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        // The overlay shows few cues: at most one new answer every `answer_gap_s`, the most
        // asked question first; the others wait their turn (their askers keep counting).
        let gap = i64::from(rules.answer_gap_s) * 1000;
        if self.last_answer.is_some_and(|at| now - at < gap) {
            return;
        }
        for (askers, key) in ready {
            let Some(cluster) = state.clusters.get(&key) else {
                continue;
            };
            // Answered recently: the streamer has dealt with it.
            if cluster.answered_at.is_some_and(|a| now - a < cooldown) {
                continue;
            }
            let product = cluster.product.clone();
            if self.cooling(CueKind::AnswerQuestion, &product, &key, now, cooldown) {
                continue;
            }
            let topic = cluster.topic;
            let info = product.as_deref().and_then(|p| state.product(p));
            let label = product
                .as_deref()
                .map(|p| format!("{p}号"))
                .unwrap_or_default();
            let answer = info
                .and_then(|p| p.faq.get(topic.as_str()))
                .map(|a| fill(a, info, askers))
                .unwrap_or_else(|| format!("讲一下{}", topic.name()));
            let samples = cluster.samples.iter().cloned().collect();
            let mut cue = self.cue(state, CueKind::AnswerQuestion, product, &key, now);
            cue.text = format!("{askers}人问{label}{} → {answer}", topic.name());
            cue.reason = format!("{askers} 人在问 {label}{}", topic.name());
            cue.priority = (60 + askers.min(39)) as u8;
            cue.evidence = Evidence {
                count: askers,
                window_s: rules.answer_window_s,
                samples,
                key: Some(key),
                topic: Some(topic.as_str()),
                ..Evidence::default()
            };
            out.push(cue);
            self.last_answer = Some(now);
            return;
        }
    }

    fn product_order(&mut self, state: &RoomState, now: i64, out: &mut Vec<Cue>) {
        let rules = self.rules;
        let mut scores = state.demand_scores(now, 60);
        scores.sort_by(|a, b| b.1.total_cmp(&a.1));
        let pitched = state.pitching();
        let pitched_score = scores
            .iter()
            .find(|(id, ..)| Some(id) == pitched.as_ref())
            .map_or(0.0, |s| s.1);
        let Some((top, top_score, demand)) = scores
            .iter()
            .find(|(id, ..)| Some(id) != pitched.as_ref())
            .cloned()
        else {
            return;
        };
        if top_score < rules.order_min_score || top_score <= pitched_score * rules.order_factor {
            return;
        }
        let product = Some(top.clone());
        let cooldown = i64::from(rules.cooldown_s) * 1000;
        if self.cooling(CueKind::ProductOrder, &product, "", now, cooldown) {
            return;
        }
        let name = state
            .product(&top)
            .map_or("", |p| p.name.as_str())
            .to_owned();
        let ranking = scores
            .iter()
            .take(3)
            .map(|(p, s, _)| Rank {
                product: p.clone(),
                score: (s * 10.0).round() / 10.0,
            })
            .collect();
        let mut cue = self.cue(state, CueKind::ProductOrder, product, "", now);
        cue.text = format!("下一个讲 {top}号 {name}");
        cue.reason = match &pitched {
            Some(p) => format!("{top}号热度 {top_score:.0} 超过在讲的 {p}号 {pitched_score:.0}"),
            None => format!("{top}号热度最高 ({top_score:.0})"),
        };
        cue.priority = 70;
        cue.evidence = Evidence {
            count: demand.question_total() + demand.purchase,
            window_s: 60,
            ranking,
            ..Evidence::default()
        };
        out.push(cue);
    }

    fn sentiment_alert(&mut self, state: &RoomState, now: i64, out: &mut Vec<Cue>) {
        let rules = self.rules;
        let last = state.windows.sum(now, 60);
        let before = state.windows.sum_range(now, 60, 240);
        let share = last.negative_share();
        let rise = share - before.negative_share();
        let complaints: Vec<&crate::room::RecentComment> = state
            .recent
            .iter()
            .filter(|c| now - c.ts < 60_000 && c.intents.contains(&"complaint"))
            .collect();
        let mut by_topic: FxHashMap<Topic, u32> = FxHashMap::default();
        for c in &complaints {
            *by_topic
                .entry(c.complaint_topic.unwrap_or(Topic::General))
                .or_default() += 1;
        }
        let top_topic = by_topic
            .iter()
            .max_by_key(|(t, n)| (**n, std::cmp::Reverse(t.as_str())))
            .map(|(t, n)| (*t, *n));
        let share_rule = last.negative >= rules.alert_min_negative
            && share >= rules.alert_negative_share
            && rise >= rules.alert_rise;
        let cluster_rule = top_topic.is_some_and(|(_, n)| n >= rules.alert_min_negative);
        if !share_rule && !cluster_rule {
            return;
        }
        let topic = top_topic.map_or(Topic::General, |(t, _)| t);
        let cooldown = i64::from(rules.cooldown_s) * 1000;
        if self.cooling(
            CueKind::SentimentAlert,
            &None,
            topic.as_str(),
            now,
            cooldown,
        ) {
            return;
        }
        let calm = state
            .calm
            .get(topic.as_str())
            .or_else(|| state.calm.get("general"))
            .map_or(DEFAULT_CALM, String::as_str)
            .to_owned();
        let samples: Vec<String> = complaints
            .iter()
            .rev()
            .filter(|c| c.complaint_topic.unwrap_or(Topic::General) == topic)
            .take(3)
            .map(|c| c.text.clone())
            .collect();
        let mut cue = self.cue(state, CueKind::SentimentAlert, None, topic.as_str(), now);
        let what = if topic == Topic::General {
            "情绪"
        } else {
            topic.name()
        };
        cue.text = format!("负面情绪上升: {what} → {calm}");
        cue.reason = format!(
            "60秒内 {} 条负面 ({:.0}%), 主要是{what}",
            last.negative,
            share * 100.0
        );
        cue.priority = 90;
        cue.evidence = Evidence {
            count: last.negative,
            window_s: 60,
            samples,
            rate: Some((share * 1000.0).round() / 1000.0),
            baseline: Some((before.negative_share() * 1000.0).round() / 1000.0),
            topic: Some(topic.as_str()),
            ..Evidence::default()
        };
        out.push(cue);
    }

    fn surge(&mut self, state: &RoomState, now: i64, out: &mut Vec<Cue>) {
        let rules = self.rules;
        let recent = state.windows.sum(now, 10).comments as f32 / 10.0;
        let history_s = ((now - state.started_at) / 1000).clamp(0, 290) as usize;
        if history_s < 60 {
            return; // no baseline yet
        }
        let base = state.windows.sum_range(now, 10, history_s).comments as f32 / history_s as f32;
        if base <= 0.0 || recent < rules.surge_min_rate || recent < base * rules.surge_factor {
            return;
        }
        let cooldown = i64::from(rules.cooldown_s) * 1000;
        // One surge is one moment, whichever product is pitched: cool down on the room.
        if self.cooling(CueKind::Surge, &None, "", now, cooldown) {
            return;
        }
        self.cooldowns
            .insert((CueKind::Surge, None, String::new()), now);
        let pitched = state.pitching();
        let info = pitched.as_deref().and_then(|p| state.product(p));
        let template = if state.surge_scripts.is_empty() {
            DEFAULT_SURGE.to_owned()
        } else {
            let t = state.surge_scripts[self.next_surge % state.surge_scripts.len()].clone();
            self.next_surge += 1;
            t
        };
        let count = state.windows.sum(now, 10).comments;
        let mut cue = self.cue(state, CueKind::Surge, pitched, "", now);
        cue.text = fill(&template, info, count);
        cue.reason = format!("弹幕激增: {recent:.1}/秒, 是平时的 {:.1} 倍", recent / base);
        cue.priority = 80;
        cue.evidence = Evidence {
            count,
            window_s: 10,
            rate: Some((recent * 10.0).round() / 10.0),
            baseline: Some((base * 10.0).round() / 10.0),
            ..Evidence::default()
        };
        out.push(cue);
    }

    fn talking_point(&mut self, state: &mut RoomState, now: i64, out: &mut Vec<Cue>) {
        let Some(pitched) = state.pitching() else {
            return;
        };
        let every = i64::from(self.rules.talking_point_every_s) * 1000;
        let due = match &self.last_point {
            Some((p, at)) => *p != pitched || now - at >= every,
            None => true,
        };
        // Give the room a moment after a switch, and let other cues speak first.
        if !due
            || now - state.pitch.since() < 3_000
            || state
                .cues
                .iter()
                .any(|c| c.is_active() && c.kind == CueKind::TalkingPoint)
        {
            return;
        }
        let Some(index) = state.product_index(&pitched) else {
            return;
        };
        let product = &state.products[index];
        if product.points.is_empty() {
            return;
        }
        // What the audience asks about this product decides which point comes next.
        let demand = state
            .windows
            .sum(now, 60)
            .products
            .get(index)
            .copied()
            .unwrap_or_default();
        let asked = demand
            .questions
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .max_by_key(|(_, n)| **n)
            .map(|(t, n)| (Topic::QUESTIONS[t], *n));
        let used = self
            .used_points
            .entry(pitched.clone())
            .or_insert_with(|| vec![false; product.points.len()]);
        if used.len() != product.points.len() {
            *used = vec![false; product.points.len()];
        }
        if used.iter().all(|u| *u) {
            used.iter_mut().for_each(|u| *u = false);
        }
        let by_topic = asked.and_then(|(topic, _)| {
            product
                .points
                .iter()
                .enumerate()
                .find(|(i, p)| !used[*i] && p.topic == topic.as_str())
                .map(|(i, _)| i)
        });
        let Some(choice) = by_topic.or_else(|| used.iter().position(|u| !u)) else {
            return;
        };
        used[choice] = true;
        let point = &product.points[choice];
        let count = asked.map_or(0, |(_, n)| n);
        let mut reason = match (by_topic, asked) {
            (Some(_), Some((topic, n))) => {
                format!("观众在问{} ({n}条) → 讲这个卖点", topic.name())
            }
            _ => format!("正在讲 {pitched}号, 下一个卖点"),
        };
        // With variants, the audience mix and what worked so far choose the wording.
        let mut trial = None;
        let mut template = &point.text;
        if !point.variants.is_empty() {
            let tones: Vec<&str> = std::iter::once("")
                .chain(point.variants.iter().map(|v| v.tone.as_str()))
                .collect();
            let slot = format!("{pitched}号 卖点{}", choice + 1);
            let mix = state.audience.mix(now);
            let picked = state
                .experiments
                .choose(&slot, &tones, &mix, state.audience.segments());
            if let Some(v) = picked
                .index
                .checked_sub(1)
                .and_then(|i| point.variants.get(i))
            {
                template = &v.text;
            }
            reason = format!("{reason}; {}", picked.reason);
            trial = Some(Trial {
                slot,
                context: picked.context,
                variant: tones.get(picked.index).copied().unwrap_or("").to_owned(),
                exposed: false,
            });
        }
        let text = fill(template, Some(product), count);
        let topic = Topic::question(&point.topic).map(|(t, _)| t.as_str());
        self.last_point = Some((pitched.clone(), now));
        let mut cue = self.cue(
            state,
            CueKind::TalkingPoint,
            Some(pitched),
            &choice.to_string(),
            now,
        );
        cue.text = text;
        cue.reason = reason;
        cue.variant = trial
            .as_ref()
            .filter(|t| !t.variant.is_empty())
            .map(|t| t.variant.clone());
        cue.trial = trial;
        cue.priority = 40;
        cue.evidence = Evidence {
            count,
            window_s: 60,
            topic,
            ..Evidence::default()
        };
        out.push(cue);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use super::*;
    use crate::analyze::{Analyzer, RoomCatalog};
    use crate::config::{Config, RoomConfig};

    static ANALYZER: LazyLock<Analyzer> = LazyLock::new(Analyzer::embedded);
    const T0: i64 = 1_763_900_000_000;

    fn room() -> (RoomConfig, RoomState) {
        let config = Config::from_toml(include_str!("../demo/demo.toml")).unwrap();
        let room = config.rooms[0].clone();
        let catalog = Arc::new(RoomCatalog::new(&room.products, &room.words).unwrap());
        let returning = Default::default();
        let state = RoomState::new(room.setup(&returning), catalog, T0);
        (room, state)
    }

    fn say(state: &mut RoomState, text: &str, viewer: u64, now: i64) {
        let a = ANALYZER.analyze(text, &state.catalog.clone());
        let reading = crate::room::Reading::new(&ANALYZER, a, state.pitching().as_ref());
        state.comment(
            &reading,
            Some(crate::privacy::Pseudonym::from_u64(viewer)),
            now,
        );
    }

    #[test]
    fn many_askers_make_an_answer_cue_once() {
        let (_, mut state) = room();
        let mut s = Suggester::default();
        for i in 0..60u64 {
            say(&mut state, "2号多少钱", i, T0 + 500 * i as i64);
        }
        let now = T0 + 30_000;
        let cues = s.evaluate(&mut state, now);
        let answer = cues
            .iter()
            .find(|c| c.kind == CueKind::AnswerQuestion)
            .expect("an answer_question cue");
        assert_eq!(answer.product.as_deref(), Some("2"));
        assert_eq!(answer.evidence.key.as_deref(), Some("price:2"));
        assert!(answer.evidence.count >= 5);
        assert!(!answer.evidence.samples.is_empty() && answer.evidence.samples.len() <= 3);
        assert!(answer.text.contains("价格"), "{}", answer.text);
        // Cooldown: the same question does not make a second cue right away.
        let again = s.evaluate(&mut state, now + 1_000);
        assert!(again.iter().all(|c| c.kind != CueKind::AnswerQuestion));
    }

    #[test]
    fn demand_for_another_product_makes_an_order_cue() {
        let (_, mut state) = room();
        state.pitch.set(Some("1".into()), state.pitch.since());
        let mut s = Suggester::default();
        for i in 0..20u64 {
            say(&mut state, "5号链接呢", i, T0 + 1000 * i as i64);
            say(&mut state, "5号多少钱", 100 + i, T0 + 1000 * i as i64);
        }
        let cues = s.evaluate(&mut state, T0 + 20_000);
        let order = cues
            .iter()
            .find(|c| c.kind == CueKind::ProductOrder)
            .expect("order cue");
        assert_eq!(order.product.as_deref(), Some("5"));
        assert_eq!(order.evidence.ranking[0].product.as_ref(), "5");
    }

    #[test]
    fn complaint_wave_makes_a_sentiment_alert_with_calm_script() {
        let (room, mut state) = room();
        let mut s = Suggester::default();
        for i in 0..40u64 {
            say(&mut state, "主播好美", i, T0 + 1000 * i as i64);
        }
        for i in 0..10u64 {
            say(
                &mut state,
                "物流太慢了 还没发货",
                200 + i,
                T0 + 250_000 + 1000 * i as i64,
            );
        }
        let cues = s.evaluate(&mut state, T0 + 260_000);
        let alert = cues
            .iter()
            .find(|c| c.kind == CueKind::SentimentAlert)
            .expect("alert");
        assert_eq!(alert.evidence.topic, Some("shipping"));
        let calm = &room.scripts.calm["shipping"];
        assert!(alert.text.contains(calm.as_str()), "{}", alert.text);
    }

    #[test]
    fn surge_against_baseline() {
        let (_, mut state) = room();
        let mut s = Suggester::default();
        for sec in 0..120i64 {
            say(&mut state, "好看", sec as u64, T0 + sec * 1000);
        }
        for k in 0..60i64 {
            say(
                &mut state,
                "冲冲冲",
                1000 + k as u64,
                T0 + 120_000 + k * 150,
            );
        }
        let cues = s.evaluate(&mut state, T0 + 129_000);
        assert!(cues.iter().any(|c| c.kind == CueKind::Surge), "{cues:?}");
    }

    #[test]
    fn talking_points_follow_what_viewers_ask() {
        let (_, mut state) = room();
        state.pitch.set(Some("1".into()), T0);
        let mut s = Suggester::default();
        let first = s.evaluate(&mut state, T0 + 5_000);
        assert!(first.iter().any(|c| c.kind == CueKind::TalkingPoint));
        // Product 1's points are quality, spec, price, discount: viewers asking about
        // discounts move the discount point ahead of spec and price.
        for i in 0..4u64 {
            say(&mut state, "1号有优惠券吗", i, T0 + 60_000);
        }
        state
            .cues
            .iter_mut()
            .for_each(|c| c.state = CueState::Acked);
        let next = s.evaluate(&mut state, T0 + 70_000);
        let point = next
            .iter()
            .find(|c| c.kind == CueKind::TalkingPoint)
            .expect("next point");
        assert_eq!(point.evidence.topic, Some("discount"), "{point:?}");
        assert!(
            !point.text.contains('{'),
            "placeholders filled: {}",
            point.text
        );
    }
}
