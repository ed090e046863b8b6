//! Who in the demo audience says what, and when: the behaviour over time.
//!
//! An [`Audience`] keeps a *scene* (surge, complaint wave, hot product, question cluster, rate
//! drift) that moves on with the time each [`Audience::tick`] is given, and draws that tick's
//! events from it with a seeded RNG: comments rendered from `super::traffic` templates, gifts,
//! likes, enters, follows and orders. Every count per tick is a capped Poisson draw, so a tick's
//! output is bounded whatever the data.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::traffic::{Category, DemoProduct, Theme, Traffic};
use super::{BASE_RATE, DemoError, TICK_MS, TRAFFIC, VIEWERS};
use crate::config::Product;
use crate::ingest::{
    CommentEvent, Envelope, GiftEvent, IngestEvent, LikeEvent, OrderEvent, UserEvent,
};

/// The first viewers of the pool are regulars (老粉) who come back again and again.
const REGULARS: u32 = 40;
/// Share of events that come from a regular.
const REGULAR_SHARE: f64 = 0.35;
/// Extra complaints per second during a complaint wave (on top of normal traffic).
const WAVE_RATE: f64 = 3.5;
/// Mean rates of the other event kinds, per second.
const GIFT_RATE: f64 = 0.5;
const LIKE_RATE: f64 = 1.5;
const ENTER_RATE: f64 = 2.0;
const FOLLOW_RATE: f64 = 0.15;
const ORDER_RATE: f64 = 0.3;
/// Extra purchase comments per second per unit of response lift ([`Audience::respond`]).
const RESPONSE_PURCHASE_RATE: f64 = 0.6;
/// Most events of one kind in one tick (a Poisson draw is capped here).
const MAX_PER_TICK: u32 = 1000;

/// A group of viewers asking the same question about one product.
#[derive(Debug)]
struct Cluster {
    category: usize,
    product: usize,
    remaining: u32,
    until_ms: i64,
}

/// Time-dependent state: what is happening in the room right now.
#[derive(Debug)]
struct Scene {
    /// Slow multiplicative noise on the comment rate, around 1.
    drift: f64,
    surge_from: i64,
    surge_until: i64,
    surge_mult: f64,
    hot: Option<usize>,
    hot_until: i64,
    wave_from: i64,
    wave_until: i64,
    wave_theme: Theme,
    cluster: Option<Cluster>,
    next_cluster_at: i64,
    /// Clusters started so far.
    clusters: u32,
}

/// The simulated audience of a room: call [`Audience::tick`] every [`TICK_MS`] and feed what it
/// appends to the room.
#[derive(Debug)]
pub struct Audience {
    traffic: Traffic,
    products: Vec<DemoProduct>,
    complaint: Option<usize>,
    /// Complaint templates by wave theme (indices into the complaint category).
    wave_templates: [Vec<usize>; 2],
    ask_size: Option<usize>,
    /// Categories a question cluster is drawn from, with weights.
    cluster_categories: Vec<(usize, f64)>,
    purchase: Option<usize>,
    rng: SmallRng,
    next_id: u64,
    scene: Option<Scene>,
    /// How the audience is responding to what the streamer just said: a lift on purchase
    /// comments and orders, until a time (ms).
    response: (f64, i64),
}

impl Audience {
    /// An audience for a room selling `products`, talking as the embedded `demo/traffic.toml`
    /// says. The same seed gives the same audience.
    pub fn new(products: &[Product], seed: u64) -> Result<Audience, DemoError> {
        Audience::with_traffic(TRAFFIC, products, seed)
    }

    /// As [`Audience::new`], with templates from `traffic_toml` (same format as
    /// `demo/traffic.toml`).
    pub fn with_traffic(
        traffic_toml: &str,
        products: &[Product],
        seed: u64,
    ) -> Result<Audience, DemoError> {
        let traffic = Traffic::parse(traffic_toml)?;
        if products.is_empty() {
            return Err(DemoError::NoProducts);
        }
        let complaint = traffic.find("complaint");
        Ok(Audience {
            products: products.iter().map(DemoProduct::from_catalog).collect(),
            complaint,
            wave_templates: complaint.map_or_else(Default::default, |c| traffic.wave_templates(c)),
            ask_size: traffic.find("ask_size"),
            purchase: traffic.find("purchase"),
            cluster_categories: traffic.cluster_categories(),
            traffic,
            rng: SmallRng::seed_from_u64(seed),
            next_id: 0,
            scene: None,
            response: (0.0, 0),
        })
    }

    /// The streamer said something that moves this audience: from now until `until_ms`,
    /// purchase comments come [`RESPONSE_PURCHASE_RATE`]`·lift` a second more often and orders
    /// `1 + lift` times as often (a lift of 0 changes nothing). The demo uses it to give script
    /// variants their true effects.
    pub fn respond(&mut self, lift: f64, until_ms: i64) {
        self.response = (lift.clamp(0.0, 5.0), until_ms);
    }

    /// Appends the events of the [`TICK_MS`] ending at `now_ms` (milliseconds since the epoch)
    /// to `out`. `pitching` is the id of the product being pitched, if any; comments, orders and
    /// question clusters follow it, and the hot product is always another one.
    pub fn tick(&mut self, now_ms: i64, pitching: Option<&str>, out: &mut Vec<IngestEvent>) {
        let pitched = pitching.and_then(|id| self.products.iter().position(|p| p.id == id));
        self.advance_scene(now_ms, pitched);
        let Some(scene) = self.scene.as_ref() else {
            return;
        };
        let surging = (scene.surge_from..scene.surge_until).contains(&now_ms);
        let waving = (scene.wave_from..scene.wave_until).contains(&now_ms);
        let surge_mult = if surging { scene.surge_mult } else { 1.0 };
        let rate = BASE_RATE * scene.drift * surge_mult;
        let hot = scene.hot;
        let theme = scene.wave_theme;
        let secs = TICK_MS as f64 / 1000.0;

        for _ in 0..self.poisson(rate * secs) {
            let category = self.pick_category(surging);
            let product = self.pick_product(category, pitched, hot);
            let template = self.pick_template(category, product, pitched);
            self.comment(now_ms, category, template, product, out);
        }
        if waving && let Some(c) = self.complaint {
            for _ in 0..self.poisson(WAVE_RATE * secs) {
                let list = &self.wave_templates[theme as usize];
                let template = list[self.rng.random_range(0..list.len())];
                let product = self.pick_product(c, pitched, hot);
                self.comment(now_ms, c, template, product, out);
            }
        }
        self.cluster_comments(now_ms, pitched, out);
        let lift = if now_ms < self.response.1 {
            self.response.0
        } else {
            0.0
        };
        if let Some(c) = self.purchase.filter(|_| lift > 0.0) {
            for _ in 0..self.poisson(RESPONSE_PURCHASE_RATE * lift * secs) {
                let product = self.pick_product(c, pitched, hot);
                let template = self.pick_template(c, product, pitched);
                self.comment(now_ms, c, template, product, out);
            }
        }

        for _ in 0..self.poisson(GIFT_RATE * secs * if surging { 2.0 } else { 1.0 }) {
            self.gift(now_ms, out);
        }
        for _ in 0..self.poisson(LIKE_RATE * secs) {
            let count = self.rng.random_range(1..=if surging { 60 } else { 30 });
            let viewer = self.viewer();
            let env = self.envelope(now_ms, viewer);
            out.push(IngestEvent::Like(LikeEvent { env, count }));
        }
        for _ in 0..self.poisson(ENTER_RATE * secs * surge_mult.sqrt()) {
            // Newcomers mostly: draw from the whole pool, not the regulars.
            let viewer = self.rng.random_range(0..VIEWERS);
            let env = self.envelope(now_ms, viewer);
            out.push(IngestEvent::Enter(UserEvent { env }));
        }
        for _ in 0..self.poisson(FOLLOW_RATE * secs) {
            let viewer = self.rng.random_range(REGULARS.min(VIEWERS - 1)..VIEWERS);
            let env = self.envelope(now_ms, viewer);
            out.push(IngestEvent::Follow(UserEvent { env }));
        }
        let order_rate = ORDER_RATE * (1.0 + lift) * if surging { 4.0 } else { 1.0 };
        for _ in 0..self.poisson(order_rate * secs) {
            self.order(now_ms, pitched, hot, out);
        }
    }

    /// Starts and ends surges, waves, hot products and clusters as time passes.
    fn advance_scene(&mut self, now: i64, pitched: Option<usize>) {
        let scene = match self.scene.take() {
            Some(scene) => scene,
            None => {
                // The first surge and wave come sooner than later ones, so a demo shows them early.
                let surge_from = now + self.secs(40, 80);
                let wave_from = now + self.secs(70, 130);
                Scene {
                    drift: 1.0,
                    surge_from,
                    surge_until: surge_from + self.secs(12, 18),
                    surge_mult: 3.5,
                    hot: None,
                    hot_until: now,
                    wave_from,
                    wave_until: wave_from + self.secs(18, 24),
                    wave_theme: Theme::Shipping,
                    cluster: None,
                    next_cluster_at: now + self.secs(15, 30),
                    clusters: 0,
                }
            }
        };
        let mut s = scene;
        // Mean-reverting random walk, kept within ±30 %.
        s.drift =
            (s.drift + 0.02 * (1.0 - s.drift) + self.rng.random_range(-0.03..0.03)).clamp(0.7, 1.3);
        if now >= s.surge_until {
            s.surge_from = now + self.secs(75, 105);
            s.surge_until = s.surge_from + self.secs(12, 18);
            s.surge_mult = self.rng.random_range(3.0..4.0);
        }
        if now >= s.wave_until {
            s.wave_from = now + self.secs(120, 180);
            s.wave_until = s.wave_from + self.secs(18, 24);
            s.wave_theme = if self.rng.random_bool(0.5) {
                Theme::Shipping
            } else {
                Theme::Quality
            };
        }
        if now >= s.hot_until || (s.hot.is_some() && s.hot == pitched) {
            s.hot = self.pick_hot(pitched, s.hot);
            s.hot_until = now + self.secs(60, 120);
        }
        if s.cluster
            .as_ref()
            .is_some_and(|c| c.remaining == 0 || now >= c.until_ms)
        {
            s.cluster = None;
            s.next_cluster_at = now + self.secs(20, 40);
        }
        if s.cluster.is_none() && now >= s.next_cluster_at {
            // About the product on screen; with nothing pitched, about the hot one.
            // The first cluster asks about size, the classic; later ones vary.
            let category = if s.clusters == 0 {
                self.ask_size.or_else(|| self.cluster_category())
            } else {
                self.cluster_category()
            };
            if let (Some(product), Some(category)) = (pitched.or(s.hot), category) {
                s.clusters += 1;
                s.cluster = Some(Cluster {
                    category,
                    product,
                    remaining: self.rng.random_range(10..=15),
                    until_ms: now + self.secs(30, 50),
                });
            } else {
                s.next_cluster_at = now + self.secs(20, 40);
            }
        }
        self.scene = Some(s);
    }

    /// A new hot product: neither the pitched one nor the current hot one when there is a choice.
    fn pick_hot(&mut self, pitched: Option<usize>, current: Option<usize>) -> Option<usize> {
        let n = self.products.len();
        let eligible = |i: usize| Some(i) != pitched && (Some(i) != current || n <= 2);
        let count = (0..n).filter(|&i| eligible(i)).count();
        if count == 0 {
            return None;
        }
        let k = self.rng.random_range(0..count);
        (0..n).filter(|&i| eligible(i)).nth(k)
    }

    fn cluster_category(&mut self) -> Option<usize> {
        let total: f64 = self.cluster_categories.iter().map(|c| c.1).sum();
        let mut x = self.rng.random_range(0.0..total.max(f64::MIN_POSITIVE));
        for &(category, weight) in &self.cluster_categories {
            if x < weight {
                return Some(category);
            }
            x -= weight;
        }
        self.cluster_categories
            .last()
            .map(|c| c.0)
            .or(self.ask_size)
    }

    /// The comments of the running question cluster that fall in this tick.
    fn cluster_comments(&mut self, now: i64, pitched: Option<usize>, out: &mut Vec<IngestEvent>) {
        let Some(cluster) = self.scene.as_ref().and_then(|s| s.cluster.as_ref()) else {
            return;
        };
        let (category, product, remaining) = (cluster.category, cluster.product, cluster.remaining);
        let ticks_left = ((cluster.until_ms - now) / TICK_MS).max(1);
        let n = self
            .poisson(f64::from(remaining) / ticks_left as f64)
            .min(remaining);
        for _ in 0..n {
            // Mostly naming the product, so the question is linked even off screen.
            let named = &self.traffic.categories[category].named;
            let template = if !named.is_empty() && self.rng.random_bool(0.85) {
                named[self.rng.random_range(0..named.len())]
            } else {
                self.pick_template(category, Some(product), pitched)
            };
            self.comment(now, category, template, Some(product), out);
        }
        if let Some(c) = self.scene.as_mut().and_then(|s| s.cluster.as_mut()) {
            c.remaining -= n;
        }
    }

    fn pick_category(&mut self, surging: bool) -> usize {
        let categories = &self.traffic.categories;
        let weight = |c: &Category| c.weight * if surging { c.surge_boost } else { 1.0 };
        let total: f64 = categories.iter().map(weight).sum();
        let mut x = self.rng.random_range(0.0..total.max(f64::MIN_POSITIVE));
        for (i, c) in categories.iter().enumerate() {
            let w = weight(c);
            if x < w {
                return i;
            }
            x -= w;
        }
        categories.len() - 1
    }

    /// Questions follow the hot product; purchases, praise and complaints follow the pitched one.
    fn pick_product(
        &mut self,
        category: usize,
        pitched: Option<usize>,
        hot: Option<usize>,
    ) -> Option<usize> {
        if !self.traffic.categories[category].product {
            return None;
        }
        let (p_hot, p_pitched) = if self.traffic.categories[category].question {
            (0.5, 0.25)
        } else {
            (0.15, 0.55)
        };
        let x: f64 = self.rng.random();
        let chosen = if x < p_hot {
            hot
        } else if x < p_hot + p_pitched {
            pitched
        } else {
            None
        };
        Some(chosen.unwrap_or_else(|| self.rng.random_range(0..self.products.len())))
    }

    /// A template of `category`; one that names the product when it is not the pitched one.
    fn pick_template(
        &mut self,
        category: usize,
        product: Option<usize>,
        pitched: Option<usize>,
    ) -> usize {
        let named = &self.traffic.categories[category].named;
        if product.is_some() && product != pitched && !named.is_empty() {
            return named[self.rng.random_range(0..named.len())];
        }
        self.rng
            .random_range(0..self.traffic.categories[category].templates.len())
    }

    fn comment(
        &mut self,
        now: i64,
        category: usize,
        template: usize,
        product: Option<usize>,
        out: &mut Vec<IngestEvent>,
    ) {
        let product = product.map(|i| &self.products[i]);
        let text = self
            .traffic
            .render(category, template, product, &mut self.rng);
        let viewer = self.viewer();
        let env = self.envelope(now, viewer);
        out.push(IngestEvent::Comment(CommentEvent::new(env, text)));
    }

    fn gift(&mut self, now: i64, out: &mut Vec<IngestEvent>) {
        // Cheap gifts are common: halve the weight with each step up the list.
        let n = self.traffic.gifts.len().min(16);
        let total: u32 = (0..n).map(|i| (1u32 << 15) >> i).sum();
        let mut x = self.rng.random_range(0..total);
        let mut pick = n - 1;
        for i in 0..n {
            let w = (1u32 << 15) >> i;
            if x < w {
                pick = i;
                break;
            }
            x -= w;
        }
        let count = if pick < 2 && self.rng.random_bool(0.3) {
            self.rng.random_range(2..=10)
        } else {
            1
        };
        let gift = &self.traffic.gifts[pick];
        let (name, value) = (gift.name.clone(), gift.value * f64::from(count));
        let viewer = self.viewer();
        let env = self.envelope(now, viewer);
        out.push(IngestEvent::Gift(GiftEvent {
            env,
            gift: name,
            count,
            value: (value * 100.0).round() / 100.0,
        }));
    }

    fn order(
        &mut self,
        now: i64,
        pitched: Option<usize>,
        hot: Option<usize>,
        out: &mut Vec<IngestEvent>,
    ) {
        let x: f64 = self.rng.random();
        let chosen = if x < 0.65 {
            pitched
        } else if x < 0.9 {
            hot
        } else {
            None
        };
        let index = chosen.unwrap_or_else(|| self.rng.random_range(0..self.products.len()));
        let quantity = match self.rng.random_range(0..20) {
            0 => 3,
            1..=3 => 2,
            _ => 1,
        };
        let product = &self.products[index];
        let (id, amount) = (
            product.id.clone(),
            product.price.map(|p| p * f64::from(quantity)),
        );
        let viewer = self.viewer();
        let env = self.envelope(now, viewer);
        out.push(IngestEvent::Order(OrderEvent {
            env,
            product: id,
            quantity,
            amount,
        }));
    }

    /// A viewer of the pool; regulars come back far more often than the rest.
    fn viewer(&mut self) -> u32 {
        if self.rng.random_bool(REGULAR_SHARE) {
            self.rng.random_range(0..REGULARS)
        } else {
            self.rng.random_range(0..VIEWERS)
        }
    }

    fn envelope(&mut self, now: i64, viewer: u32) -> Envelope {
        self.next_id += 1;
        let names = &self.traffic.names;
        Envelope {
            id: Some(format!("demo-{}", self.next_id)),
            room: None,
            ts: Some(now),
            user: Some(format!("v{viewer}")),
            name: Some(names[viewer as usize % names.len()].clone()),
            medal: None,
        }
    }

    /// A random span between `lo` and `hi` seconds, in milliseconds.
    fn secs(&mut self, lo: i64, hi: i64) -> i64 {
        self.rng.random_range(lo * 1000..=hi * 1000)
    }

    /// A Poisson-distributed count with mean `mean` (Knuth's method; means here are small).
    fn poisson(&mut self, mean: f64) -> u32 {
        if mean.is_nan() || mean <= 0.0 {
            return 0;
        }
        let limit = (-mean.min(60.0)).exp();
        let mut product: f64 = self.rng.random();
        let mut k = 0;
        while product > limit && k < MAX_PER_TICK {
            product *= self.rng.random::<f64>();
            k += 1;
        }
        k
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashSet};

    use super::super::{DEMO_ROOM, MAX_TEXT_CHARS, demo_config};
    use super::*;

    const START: i64 = 1_763_900_000_000;
    const PITCHED: &str = "2";

    fn products() -> Vec<Product> {
        let config = demo_config().unwrap();
        config.room(DEMO_ROOM).unwrap().products.clone()
    }

    /// Ticks of simulated traffic, each tick's events in one Vec.
    fn run(seed: u64, ticks: i64) -> Vec<Vec<IngestEvent>> {
        let mut audience = Audience::new(&products(), seed).unwrap();
        (1..=ticks)
            .map(|i| {
                let mut out = Vec::new();
                audience.tick(START + i * TICK_MS, Some(PITCHED), &mut out);
                out
            })
            .collect()
    }

    fn texts(events: &[IngestEvent]) -> impl Iterator<Item = &str> {
        events.iter().filter_map(|e| match e {
            IngestEvent::Comment(c) => Some(c.text.as_str()),
            _ => None,
        })
    }

    /// The product a text names, by number or alias (how the test tells them apart).
    fn mentioned(text: &str, products: &[Product]) -> Option<String> {
        products
            .iter()
            .find(|p| {
                let cn = DemoProduct::from_catalog(p).cn;
                text.contains(&format!("{}号", p.id))
                    || text.contains(&format!("#{}", p.id))
                    || text.contains(&format!("{cn}号"))
                    || p.aliases.iter().any(|a| text.contains(a.as_str()))
            })
            .map(|p| p.id.clone())
    }

    #[test]
    fn deterministic_for_a_seed() {
        assert_eq!(run(7, 400), run(7, 400));
        assert_ne!(run(7, 400), run(8, 400));
    }

    #[test]
    fn five_minutes_show_every_pattern() {
        let products = products();
        let ticks = run(42, 1200);
        let all: Vec<&IngestEvent> = ticks.iter().flatten().collect();

        // Ids unique, envelopes filled, texts sane.
        let mut ids = HashSet::new();
        for e in &all {
            let env = e.envelope();
            assert!(
                ids.insert(env.id.clone().unwrap()),
                "duplicate id {:?}",
                env.id
            );
            assert!(env.room.is_none());
            assert!(env.user.as_deref().unwrap().starts_with('v'));
            assert!(!env.name.as_deref().unwrap().is_empty());
        }
        for text in all.iter().filter_map(|e| match e {
            IngestEvent::Comment(c) => Some(&c.text),
            _ => None,
        }) {
            assert!(!text.trim().is_empty());
            assert!(text.chars().count() <= MAX_TEXT_CHARS, "{text}");
            assert!(!text.contains('{') && !text.contains('}'), "{text}");
        }

        // Every category appears: generate the same comments again, recording the category.
        let traffic = Traffic::parse(TRAFFIC).unwrap();
        let mut by_category = vec![0usize; traffic.categories.len()];
        for text in ticks.iter().flat_map(|t| texts(t)) {
            for (i, c) in traffic.categories.iter().enumerate() {
                if c.templates.iter().any(|t| matches_template(t, text)) {
                    by_category[i] += 1;
                }
            }
        }
        for (i, c) in traffic.categories.iter().enumerate() {
            assert!(by_category[i] > 0, "category {} never appeared", c.name);
        }

        // A surge: some 10 s window with at least 2.5× the median rate.
        let per_tick: Vec<usize> = ticks.iter().map(|t| texts(t).count()).collect();
        let mut windows: Vec<usize> = per_tick.windows(40).map(|w| w.iter().sum()).collect();
        let peak = windows.iter().copied().max().unwrap();
        windows.sort_unstable();
        let median = windows[windows.len() / 2];
        assert!(
            peak as f64 >= 2.5 * median as f64,
            "peak {peak}, median {median}"
        );
        let total: usize = per_tick.iter().sum();
        assert!(
            (1500..5000).contains(&total),
            "{total} comments in 5 minutes"
        );

        // A hot product: in some minute another product than the pitched one leads the questions.
        let asks: HashSet<&str> = traffic
            .categories
            .iter()
            .filter(|c| c.name.starts_with("ask_"))
            .flat_map(|c| c.templates.iter().map(String::as_str))
            .collect();
        let leader = |from: usize| {
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            for text in ticks[from..from + 240].iter().flat_map(|t| texts(t)) {
                if asks.iter().any(|t| matches_template(t, text))
                    && let Some(p) = mentioned(text, &products)
                {
                    *counts.entry(p).or_default() += 1;
                }
            }
            counts.into_iter().max_by_key(|(_, n)| *n).map(|(p, _)| p)
        };
        let hot_minutes = (0..=960)
            .step_by(40)
            .filter_map(leader)
            .filter(|p| p != PITCHED)
            .count();
        assert!(hot_minutes > 0, "the pitched product always led");

        // Other kinds of events.
        for kind in ["gift", "like", "enter", "follow", "order"] {
            assert!(all.iter().any(|e| e.kind() == kind), "no {kind}");
        }
        for e in &all {
            if let IngestEvent::Order(o) = e {
                let p = products.iter().find(|p| p.id == o.product).unwrap();
                let expected = p.price.unwrap() * f64::from(o.quantity);
                assert!((o.amount.unwrap() - expected).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn complaint_waves_and_size_clusters() {
        let products = products();
        let ticks = run(3, 1200);
        // A complaint wave: some 20 s with many complaints.
        let complaints: Vec<usize> = ticks
            .iter()
            .map(|t| {
                texts(t)
                    .filter(|x| {
                        ["发货", "物流", "快递", "假货", "质量", "起球", "掉色"]
                            .iter()
                            .any(|m| x.contains(m))
                    })
                    .count()
            })
            .collect();
        let peak: usize = complaints
            .windows(80)
            .map(|w| w.iter().sum())
            .max()
            .unwrap();
        assert!(peak >= 30, "complaint peak {peak} in 20 s");
        // Clusters: the pitched product's questions come in groups well above background.
        let size_words = ["码", "尺码", "尺寸", "多大", "偏大", "偏小"];
        let asked: Vec<usize> = ticks
            .iter()
            .map(|t| {
                texts(t)
                    .filter(|x| {
                        size_words.iter().any(|w| x.contains(w))
                            && mentioned(x, &products).as_deref() == Some(PITCHED)
                    })
                    .count()
            })
            .collect();
        let peak: usize = asked.windows(240).map(|w| w.iter().sum()).max().unwrap();
        assert!(
            peak >= 8,
            "size questions on the pitched product peak at {peak} a minute"
        );
    }

    #[test]
    fn edited_traffic_data_is_used() {
        let traffic = "colors=['a']\nsizes=['b']\nnames=['c']\ngifts=[{name='g',value=1.0}]\n\
            [[categories]]\nname='x'\nweight=1\nproduct=true\ntemplates=['{cn}号{alias}']\n";
        assert!(matches!(
            Audience::with_traffic(traffic, &[], 1),
            Err(DemoError::NoProducts)
        ));
        let mut audience = Audience::with_traffic(traffic, &products(), 1).unwrap();
        let mut out = Vec::new();
        for i in 0..100 {
            audience.tick(START + i * TICK_MS, None, &mut out);
        }
        assert!(texts(&out).count() > 0);
        assert!(texts(&out).all(|t| t.contains('号')));
    }

    /// Whether `text` could have come from `template` (placeholders match anything).
    fn matches_template(template: &str, text: &str) -> bool {
        let mut parts = Vec::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            parts.push(&rest[..open]);
            let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
            rest = &rest[close..];
        }
        parts.push(rest);
        let wild = parts.len() > 1;
        if !wild {
            return template == text;
        }
        let (first, last) = (parts[0], parts[parts.len() - 1]);
        if !text.starts_with(first)
            || !text.ends_with(last)
            || text.len() < first.len() + last.len()
        {
            return false;
        }
        let mut at = first.len();
        let end = text.len() - last.len();
        for part in &parts[1..parts.len() - 1] {
            match text[at..end].find(part) {
                Some(i) => at += i + part.len(),
                None => return false,
            }
        }
        true
    }
}
