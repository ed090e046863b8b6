//! The one pass over a session's comments and events ([`Pass`]): rows streamed from the store,
//! text borrowed, and everything the review counts tallied on the way (summary, intents,
//! products, question clusters, peak-minute samples, per-second sums, super chats, medals).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault};

use rustc_hash::FxHasher;

use super::cues::Second;
use super::types::{MedalReview, ProductReview, Summary, SuperChatReview};
use super::{MAX_SECONDS, MAX_SUPER_CHATS, PEAK_SAMPLES, SAMPLES, TOP_MEDALS, mean, round2};
use crate::catalog::Product;
use crate::store::{SessionRow, intent_bit};

type Fx = BuildHasherDefault<FxHasher>;

fn hash(s: &str) -> u64 {
    Fx::default().hash_one(s)
}

pub(super) struct Cluster {
    pub(super) asks: u64,
    pub(super) askers: HashSet<u64, Fx>,
    pub(super) anonymous: u64,
    pub(super) first_at: i64,
    pub(super) last_at: i64,
    pub(super) after_answer: u64,
    pub(super) samples: Vec<String>,
}

#[derive(Default)]
pub(super) struct PeakSamples {
    primary: Vec<String>,
    chatter: Vec<String>,
}

impl PeakSamples {
    pub(super) fn take(mut self) -> Vec<String> {
        self.primary.extend(self.chatter);
        self.primary.truncate(PEAK_SAMPLES);
        self.primary
    }
}

#[derive(Default)]
struct ProductAcc {
    review: ProductReview,
    sentiment_sum: f64,
}

/// The one pass over comments and events.
pub(super) struct Pass<'a> {
    start: i64,
    answers: &'a HashMap<String, i64>,
    pub(super) summary: Summary,
    pub(super) sentiment_sum: f64,
    pub(super) viewers: HashSet<u64, Fx>,
    pub(super) intents: [u64; 17],
    pub(super) complaint_topics: HashMap<String, u64>,
    products: HashMap<String, ProductAcc>,
    pub(super) clusters: HashMap<String, Cluster>,
    pub(super) peak_samples: HashMap<i64, PeakSamples>,
    pub(super) seconds: Vec<Second>,
    bits: Bits,
    pub(super) super_chats: Vec<SuperChatReview>,
    medals: HashMap<String, MedalAcc>,
}

#[derive(Default)]
struct MedalAcc {
    comments: u64,
    viewers: HashSet<u64, Fx>,
    max_level: u32,
    level_sum: u64,
}

struct Bits {
    purchase: u32,
    complaint: u32,
    chatter: u32,
    spam: u32,
}

impl<'a> Pass<'a> {
    pub(super) fn new(
        s: &SessionRow,
        catalog: &[Product],
        answers: &'a HashMap<String, i64>,
        peaks: &[i64],
    ) -> Pass<'a> {
        let len = ((s.end() - s.started_at).div_euclid(1000) + 1).clamp(1, MAX_SECONDS) as usize;
        let bit = |l| intent_bit(l).unwrap_or(0);
        let mut products = HashMap::new();
        for p in catalog {
            products.insert(
                p.id.clone(),
                ProductAcc {
                    review: ProductReview {
                        id: p.id.clone(),
                        name: p.name.clone(),
                        price: p.price,
                        ..ProductReview::default()
                    },
                    sentiment_sum: 0.0,
                },
            );
        }
        Pass {
            start: s.started_at,
            answers,
            summary: Summary::default(),
            sentiment_sum: 0.0,
            viewers: HashSet::default(),
            intents: [0; 17],
            complaint_topics: HashMap::new(),
            products,
            clusters: HashMap::new(),
            peak_samples: peaks
                .iter()
                .map(|at| (*at, PeakSamples::default()))
                .collect(),
            seconds: vec![Second::default(); len],
            bits: Bits {
                purchase: bit("purchase"),
                complaint: bit("complaint"),
                chatter: bit("chatter"),
                spam: bit("spam"),
            },
            super_chats: Vec::new(),
            medals: HashMap::new(),
        }
    }

    /// The fan medals, most comments first.
    pub(super) fn medals(&mut self) -> Vec<MedalReview> {
        let mut v: Vec<MedalReview> = self
            .medals
            .drain()
            .map(|(name, acc)| MedalReview {
                name,
                comments: acc.comments,
                viewers: acc.viewers.len() as u64,
                max_level: acc.max_level,
                mean_level: round2(acc.level_sum as f64 / acc.comments.max(1) as f64),
            })
            .collect();
        v.sort_by(|a, b| {
            b.comments
                .cmp(&a.comments)
                .then_with(|| a.name.cmp(&b.name))
        });
        v.truncate(TOP_MEDALS);
        v
    }

    fn second(&mut self, at: i64) -> &mut Second {
        let i = (at - self.start)
            .div_euclid(1000)
            .clamp(0, self.seconds.len() as i64 - 1);
        &mut self.seconds[i as usize]
    }

    fn product(&mut self, id: &str) -> &mut ProductAcc {
        self.products
            .entry(id.to_owned())
            .or_insert_with(|| ProductAcc {
                review: ProductReview {
                    id: id.to_owned(),
                    ..ProductReview::default()
                },
                sentiment_sum: 0.0,
            })
    }

    pub(super) fn comment(&mut self, c: &crate::store::CommentView<'_>) {
        let purchase = c.intents & self.bits.purchase != 0;
        let complaint = c.intents & self.bits.complaint != 0;
        let s = &mut self.summary;
        s.comments += 1;
        s.questions += u64::from(c.question);
        s.purchase_signals += u64::from(purchase);
        s.complaints += u64::from(complaint);
        match c.label {
            1 => s.sentiment.positive += 1,
            -1 => s.sentiment.negative += 1,
            _ => s.sentiment.neutral += 1,
        }
        self.sentiment_sum += f64::from(c.sentiment);
        if let Some(v) = c.viewer {
            self.viewers.insert(hash(v));
        }
        for (i, n) in self.intents.iter_mut().enumerate() {
            *n += u64::from(c.intents & (1 << i) != 0);
        }
        if complaint {
            *self
                .complaint_topics
                .entry(c.complaint.unwrap_or("general").to_owned())
                .or_default() += 1;
        }
        if let Some(price) = c.super_chat {
            s.super_chats += 1;
            s.super_chat_value += price;
            if self.super_chats.len() < MAX_SUPER_CHATS {
                self.super_chats.push(SuperChatReview {
                    at: c.at,
                    price_cny: round2(price),
                    text: c.text.map(str::to_owned),
                    viewer: c.viewer.map(str::to_owned),
                    product: c.product.map(str::to_owned),
                    key: c.key.map(str::to_owned),
                    medal: c.medal.map(str::to_owned),
                    medal_level: c.medal_level,
                });
            }
        }
        if let Some(name) = c.medal {
            self.summary.medal_comments += 1;
            let level = c.medal_level.unwrap_or(0);
            // Bounded: at most this many distinct medal names are tallied.
            if self.medals.len() < 1_000 || self.medals.contains_key(name) {
                let acc = self.medals.entry(name.to_owned()).or_default();
                acc.comments += 1;
                acc.max_level = acc.max_level.max(level);
                acc.level_sum += u64::from(level);
                if let Some(v) = c.viewer {
                    acc.viewers.insert(hash(v));
                }
            }
        }
        let second = self.second(c.at);
        second.comments += 1;
        second.sentiment += c.sentiment;
        second.purchase += u32::from(purchase);

        if let Some(id) = c.product {
            let p = self.product(id);
            p.review.mentions += 1;
            p.review.named += u64::from(c.named);
            p.review.purchase_signals += u64::from(purchase);
            p.review.complaints += u64::from(complaint);
            p.review.negative += u64::from(c.label < 0);
            p.sentiment_sum += f64::from(c.sentiment);
            if let Some(topic) = c.key.and_then(|k| k.split(':').next()) {
                *p.review.questions.entry(topic.to_owned()).or_default() += 1;
                p.review.questions_total += 1;
            }
        }

        if let Some(key) = c.key {
            let answered = self.answers.get(key).copied();
            let cluster = self
                .clusters
                .entry(key.to_owned())
                .or_insert_with(|| Cluster {
                    asks: 0,
                    askers: HashSet::default(),
                    anonymous: 0,
                    first_at: c.at,
                    last_at: c.at,
                    after_answer: 0,
                    samples: Vec::new(),
                });
            cluster.asks += 1;
            cluster.last_at = cluster.last_at.max(c.at);
            cluster.first_at = cluster.first_at.min(c.at);
            match c.viewer {
                Some(v) => {
                    cluster.askers.insert(hash(v));
                }
                None => cluster.anonymous += 1,
            }
            cluster.after_answer += u64::from(answered.is_some_and(|a| c.at > a));
            if let Some(text) = c.text
                && cluster.samples.len() < SAMPLES
                && !cluster.samples.iter().any(|t| t == text)
            {
                cluster.samples.push(text.to_owned());
            }
        }

        if !self.peak_samples.is_empty()
            && let Some(text) = c.text
            && c.intents & self.bits.spam == 0
            && let Some(p) = self
                .peak_samples
                .get_mut(&(c.at.div_euclid(60_000) * 60_000))
        {
            let list = if c.intents & !self.bits.chatter != 0 {
                &mut p.primary
            } else {
                &mut p.chatter
            };
            if list.len() < PEAK_SAMPLES && !list.iter().any(|t| t == text) {
                list.push(text.to_owned());
            }
        }
    }

    pub(super) fn event(&mut self, e: &crate::store::EventView<'_>) {
        if let Some(v) = e.viewer {
            self.viewers.insert(hash(v));
        }
        let count = u64::from(e.count);
        let s = &mut self.summary;
        match e.kind {
            "gift" => {
                s.gifts += count;
                s.gift_value += e.value;
            }
            "like" => s.likes += count,
            "enter" => s.enters += 1,
            "follow" => s.follows += 1,
            "order" => {
                s.orders += 1;
                s.order_quantity += count;
                s.order_amount += e.value;
                self.second(e.at).orders += e.count;
                if let Some(id) = e.product {
                    let p = self.product(id);
                    p.review.orders += 1;
                    p.review.order_quantity += count;
                    p.review.order_amount += e.value;
                }
            }
            _ => {}
        }
    }

    /// Catalog products in catalog order, then the others by id.
    pub(super) fn products_in_order(&mut self, catalog: &[Product]) -> Vec<ProductReview> {
        let finish = |mut acc: ProductAcc| {
            acc.review.sentiment = mean(acc.sentiment_sum, acc.review.mentions);
            acc.review.order_amount = round2(acc.review.order_amount);
            acc.review
        };
        let mut out = Vec::with_capacity(self.products.len());
        for p in catalog {
            if let Some(acc) = self.products.remove(&p.id) {
                out.push(finish(acc));
            }
        }
        let mut rest: Vec<ProductAcc> = self.products.drain().map(|(_, a)| a).collect();
        rest.sort_by(|a, b| a.review.id.cmp(&b.review.id));
        out.extend(rest.into_iter().map(finish));
        out
    }
}
