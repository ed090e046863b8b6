//! Room state: the live picture of one room, updated by every analyzed event.
//!
//! [`RoomState`] is plain data owned by the room's task (see [`crate::push`]), so it needs no
//! lock: windows of 10 s / 60 s / 5 min ([`window`]), question clusters ([`clusters`]), hot
//! words ([`hot`]), the product being pitched, the queue order, the cues on screen, and the
//! editable script library. Memory is bounded whatever the stream's length: windows are a
//! fixed ring, clusters and hot words are capped, recent comments are a short ring.

mod clusters;
mod cue;
mod event;
mod hot;
mod trials;
mod window;

use std::collections::VecDeque;
use std::sync::Arc;

use serde::Serialize;

use crate::analyze::{Intent, RoomCatalog, Topic};
use crate::audience::AudienceConfig;
use crate::audience::{Audience, CommentFacts};
use crate::catalog::{Product, RoomScripts};
use crate::experiment::ExperimentConfig;
use crate::experiment::Experiments;
use crate::ingest::{CommentEvent, IngestEvent, Medal};
use crate::privacy::Pseudonym;

pub use clusters::{ClusterView, Clusters, MAX_CLUSTERS};
pub use cue::{Cue, CueKind, CueState, Evidence, Rank, Trial};
pub use event::{Pitch, Reading, RoomEvent, attribute};
pub use hot::{HotWord, HotWords};
pub use trials::ActedBy;
pub use window::{Counts, Demand, HISTORY_S, Windows};

/// Recent comments kept for the console's feed.
pub const RECENT_COMMENTS: usize = 50;
/// Cues kept (active and recently ended) for the snapshot.
pub const MAX_CUES: usize = 30;
/// Super chats kept for the snapshot (the newest; expired ones are not sent).
pub const MAX_SUPER_CHATS: usize = 20;

/// A comment as the console sees it: masked text and what the analysis found.
#[derive(Debug, Clone, Serialize)]
pub struct RecentComment {
    pub ts: i64,
    /// Short form of the pseudonym, for display.
    pub viewer: String,
    /// The full pseudonym (16 hex digits), what `forget` takes.
    pub viewer_id: String,
    pub text: String,
    pub label: &'static str,
    pub score: f32,
    pub intents: Vec<&'static str>,
    pub product: Option<Arc<str>>,
    pub key: Option<Arc<str>>,
    /// For complaints: what about (`shipping`, `quality` …, or `general`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complaint_topic: Option<Topic>,
    /// The fan medal the viewer wore (name masked like comment text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medal: Option<Medal>,
    /// A paid comment (醒目留言): what it cost and until when it stays on top.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub super_chat: Option<PaidComment>,
}

/// A super chat as the console shows it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PaidComment {
    pub price_cny: f64,
    /// Kept above the other comments until then (ms).
    pub until: i64,
}

/// Totals since the room started.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub comments: u64,
    pub questions: u64,
    pub gifts: u64,
    pub gift_value: f64,
    pub likes: u64,
    pub enters: u64,
    pub follows: u64,
    pub orders: u64,
    pub order_amount: f64,
    /// Paid comments (also counted in `comments`; their money also in `gift_value` when the
    /// source sends the gift too, as the Bilibili adapters do).
    pub super_chats: u64,
    pub super_chat_value: f64,
}

/// What a room starts from: its configuration's parts the room state keeps.
#[derive(Debug, Clone, Copy)]
pub struct Setup<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub products: &'a [Product],
    pub scripts: &'a RoomScripts,
    pub audience: &'a AudienceConfig,
    pub experiment: &'a ExperimentConfig,
    /// Pseudonyms of viewers seen in the room's earlier sessions.
    pub returning: &'a rustc_hash::FxHashSet<u64>,
}

/// The live state of a room.
#[derive(Debug)]
pub struct RoomState {
    pub id: Arc<str>,
    pub name: String,
    pub catalog: Arc<RoomCatalog>,
    /// The catalog with its editable scripts (console edits land here).
    pub products: Vec<Product>,
    pub calm: std::collections::BTreeMap<String, String>,
    pub surge_scripts: Vec<String>,
    pub windows: Windows,
    pub hot: HotWords,
    pub clusters: Clusters,
    /// The product being pitched (shared with ingest, which reads it; see [`Pitch`]).
    pub pitch: Pitch,
    pub queue: Vec<Arc<str>>,
    pub cues: VecDeque<Cue>,
    pub recent: VecDeque<RecentComment>,
    /// The newest super chats (at most [`MAX_SUPER_CHATS`]).
    pub super_chats: VecDeque<RecentComment>,
    pub totals: Totals,
    pub started_at: i64,
    /// Viewer profiles and segments (`[rooms.audience]`).
    pub audience: Audience,
    /// Script-variant experiments (`[rooms.experiment]`).
    pub experiments: Experiments,
    /// Comments without a viewer id so far (each counts as its own viewer).
    anonymous: u64,
}

impl RoomState {
    pub fn new(setup: Setup<'_>, catalog: Arc<RoomCatalog>, now: i64) -> RoomState {
        let queue: Vec<Arc<str>> = catalog.ids().to_vec();
        RoomState {
            id: setup.id.into(),
            name: setup.name.to_owned(),
            products: setup.products.to_vec(),
            calm: setup.scripts.calm.clone(),
            surge_scripts: setup.scripts.surge.clone(),
            windows: Windows::new(catalog.ids().len()),
            hot: HotWords::default(),
            clusters: Clusters::default(),
            pitch: Pitch::new(queue.first().cloned(), now),
            queue,
            cues: VecDeque::new(),
            recent: VecDeque::new(),
            super_chats: VecDeque::new(),
            totals: Totals::default(),
            started_at: now,
            audience: Audience::new(setup.audience.clone(), setup.returning.clone()),
            // Seeded from the clock: each session explores in its own order.
            experiments: Experiments::new(setup.experiment.clone(), now as u64),
            anonymous: 0,
            catalog,
        }
    }

    /// Index of a product in the catalog.
    pub fn product_index(&self, id: &str) -> Option<usize> {
        self.products.iter().position(|p| p.id == id)
    }

    pub fn product(&self, id: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.id == id)
    }

    /// The product pitched now.
    pub fn pitching(&self) -> Option<Arc<str>> {
        self.pitch.product()
    }

    /// Records a read comment from `viewer` at `now`. A comment without a viewer id counts
    /// as its own viewer for distinct askers and gets no profile.
    pub fn comment(&mut self, reading: &Reading, viewer: Option<Pseudonym>, now: i64) {
        let analysis = &reading.analysis;
        let known = viewer.is_some();
        let viewer = viewer.map_or_else(
            || {
                self.anonymous += 1;
                u64::MAX - self.anonymous
            },
            Pseudonym::as_u64,
        );
        let intents: Vec<Intent> = analysis.intents.iter().collect();
        let product = reading.product.clone();
        let index = product.as_deref().and_then(|p| self.product_index(p));
        let bucket = self.windows.at(now);
        bucket.comment(
            analysis.sentiment.score,
            analysis.sentiment.label,
            analysis.question,
            &intents,
        );
        if let Some(i) = index
            && let Some(d) = bucket.products.get_mut(i)
        {
            d.mentions += 1;
            d.sentiment_sum += analysis.sentiment.score;
            if let Some(t) = analysis.key.as_ref().and_then(|k| k.topic.question_index()) {
                d.questions[t] += 1;
            }
            d.purchase += u32::from(analysis.intents.contains(Intent::Purchase));
            d.complaints += u32::from(analysis.intents.contains(Intent::Complaint));
        }
        self.totals.comments += 1;
        self.totals.questions += u64::from(analysis.question);
        if let (Some(key), Some(cluster)) = (&analysis.key, &reading.key) {
            self.clusters.ask(
                key.topic,
                cluster,
                product.clone(),
                viewer,
                &analysis.text,
                now,
            );
        }
        for word in reading.hot_words() {
            self.hot.add(word, now);
        }
        let facts = CommentFacts {
            topic: analysis.key.as_ref().map(|k| k.topic),
            product: product.as_deref(),
            sentiment: analysis.sentiment.score,
            question: analysis.question,
            purchase: analysis.intents.contains(Intent::Purchase),
            complaint: reading.complaint.is_some(),
            price_complaint: reading.complaint == Some(Topic::Price),
        };
        if known {
            self.audience.comment(viewer, &facts, now);
        }
        if self.recent.len() >= RECENT_COMMENTS {
            self.recent.pop_front();
        }
        self.recent.push_back(RecentComment {
            ts: now,
            viewer: format!("v{:08x}", viewer >> 32),
            viewer_id: if known {
                Pseudonym::from_u64(viewer).to_string()
            } else {
                String::new()
            },
            text: analysis.text.clone(),
            label: analysis.sentiment.label.as_str(),
            score: (analysis.sentiment.score * 100.0).round() / 100.0,
            intents: intents.iter().map(|i| i.as_str()).collect(),
            product,
            key: reading.key.clone(),
            complaint_topic: reading.complaint,
            medal: None,
            super_chat: None,
        });
    }

    /// Records an analyzed comment event: [`RoomState::comment`], plus the viewer's fan medal
    /// and, for a paid comment, the place on top it holds for its time (`super_chats`).
    pub fn comment_event(
        &mut self,
        reading: &Reading,
        event: &CommentEvent,
        viewer: Option<Pseudonym>,
        now: i64,
    ) {
        self.comment(reading, viewer, now);
        if let (Some(medal), Some(viewer)) = (&event.env.medal, viewer) {
            self.audience.profile(viewer.as_u64(), now).fan_level =
                Some(medal.level.min(255) as u8);
        }
        let Some(last) = self.recent.back_mut() else {
            return;
        };
        last.medal = event.env.medal.as_ref().map(|m| Medal {
            name: crate::privacy::mask(&m.name).0.into_owned(),
            level: m.level,
        });
        if let Some(paid) = &event.super_chat {
            last.super_chat = Some(PaidComment {
                price_cny: paid.price_cny,
                until: now.saturating_add(i64::from(paid.shown_for_s()) * 1000),
            });
            self.totals.super_chats += 1;
            self.totals.super_chat_value += paid.price_cny;
            if self.super_chats.len() >= MAX_SUPER_CHATS {
                self.super_chats.pop_front();
            }
            self.super_chats.push_back(last.clone());
        }
    }

    /// The super chats still on top at `now`: the dearest first, then the newest.
    pub fn pinned_super_chats(&self, now: i64) -> Vec<&RecentComment> {
        let mut pinned: Vec<&RecentComment> = self
            .super_chats
            .iter()
            .filter(|c| c.super_chat.is_some_and(|p| p.until > now))
            .collect();
        pinned.sort_by(|a, b| {
            let price = |c: &RecentComment| c.super_chat.map_or(0.0, |p| p.price_cny);
            price(b).total_cmp(&price(a)).then(b.ts.cmp(&a.ts))
        });
        pinned
    }

    /// Records a non-comment event (gift, like, enter, follow, order), from `viewer` (a
    /// pseudonym) when the source named one.
    pub fn event(&mut self, event: &IngestEvent, viewer: Option<Pseudonym>, now: i64) {
        if let Some(viewer) = viewer {
            let profile = self.audience.profile(viewer.as_u64(), now);
            match event {
                IngestEvent::Gift(g) => profile.gift(g.count, g.value, now),
                IngestEvent::Like(l) => profile.like(l.count, now),
                IngestEvent::Follow(_) => profile.followed = true,
                IngestEvent::Order(o) => profile.order(o.quantity, o.amount.unwrap_or(0.0), now),
                IngestEvent::Enter(_) | IngestEvent::Comment(_) => {}
            }
            if let Some(medal) = &event.envelope().medal {
                profile.fan_level = Some(medal.level.min(255) as u8);
            }
        }
        let bucket = self.windows.at(now);
        match event {
            IngestEvent::Gift(g) => {
                bucket.gifts += g.count;
                bucket.gift_value += g.value;
                self.totals.gifts += u64::from(g.count);
                self.totals.gift_value += g.value;
            }
            IngestEvent::Like(l) => {
                bucket.likes += u64::from(l.count);
                self.totals.likes += u64::from(l.count);
            }
            IngestEvent::Enter(_) => {
                bucket.enters += 1;
                self.totals.enters += 1;
            }
            IngestEvent::Follow(_) => {
                bucket.follows += 1;
                self.totals.follows += 1;
            }
            IngestEvent::Order(o) => {
                let amount = o.amount.unwrap_or(0.0);
                bucket.orders += o.quantity;
                bucket.order_amount += amount;
                self.totals.orders += u64::from(o.quantity);
                self.totals.order_amount += amount;
                if let Some(i) = self.products.iter().position(|p| p.id == o.product)
                    && let Some(d) = bucket.products.get_mut(i)
                {
                    d.orders += o.quantity;
                    d.order_amount += amount;
                }
            }
            IngestEvent::Comment(_) => {}
        }
    }

    /// Demand score of each product over the last `seconds`: questions 1, purchase signals 2,
    /// link requests 3 (a link request is the strongest sign someone wants to buy), mentions
    /// 0.5, with the last 10 seconds counted twice.
    pub fn demand_scores(&self, now: i64, seconds: usize) -> Vec<(Arc<str>, f32, Demand)> {
        let window = self.windows.sum(now, seconds);
        let recent = self.windows.sum(now, 10);
        let link = Topic::Link.question_index().unwrap_or(0);
        let score = |d: &Demand| {
            let questions = d.question_total() - d.questions[link];
            questions as f32
                + 2.0 * d.purchase as f32
                + 3.0 * d.questions[link] as f32
                + 0.5 * d.mentions as f32
        };
        self.products
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let d = window.products.get(i).copied().unwrap_or_default();
                let r = recent.products.get(i).copied().unwrap_or_default();
                (Arc::<str>::from(p.id.as_str()), score(&d) + score(&r), d)
            })
            .collect()
    }

    /// Adds a cue, dropping the oldest when over [`MAX_CUES`].
    pub fn push_cue(&mut self, cue: Cue) {
        if self.cues.len() >= MAX_CUES {
            // Prefer dropping ended cues; fall back to the oldest.
            let pos = self.cues.iter().position(|c| !c.is_active()).unwrap_or(0);
            self.cues.remove(pos);
        }
        self.cues.push_back(cue);
    }

    pub fn cue_mut(&mut self, id: &str) -> Option<&mut Cue> {
        self.cues.iter_mut().find(|c| c.id == id)
    }

    /// The window statistics as sent in `stats` and `snapshot` messages.
    pub fn stats(&self, now: i64) -> Stats {
        let window = |seconds: usize| {
            let c = self.windows.sum(now, seconds);
            WindowStats::from_counts(&c, seconds)
        };
        let per_product = self.demand_scores(now, 60);
        let five = self.windows.sum(now, 300);
        Stats {
            now,
            w10s: window(10),
            w60s: window(60),
            w5m: window(300),
            rate_series: self.windows.rate_series(now, 300),
            products: per_product
                .into_iter()
                .enumerate()
                .map(|(i, (id, score, d60))| {
                    let d5 = five.products.get(i).copied().unwrap_or_default();
                    ProductStats {
                        questions: Topic::QUESTIONS
                            .iter()
                            .zip(d60.questions)
                            .filter(|(_, n)| *n > 0)
                            .map(|(t, n)| (t.as_str(), n))
                            .collect(),
                        sentiment: if d60.mentions > 0 {
                            d60.sentiment_sum / d60.mentions as f32
                        } else {
                            0.0
                        },
                        id,
                        score: (score * 10.0).round() / 10.0,
                        demand_60s: d60,
                        demand_5m: d5,
                    }
                })
                .collect(),
            hot_words: self.hot.top(now, 20),
            questions: self.clusters.top(now, 12),
            totals: self.totals.clone(),
            audience: self.audience.mix(now),
        }
    }
}

/// One window's statistics.
#[derive(Debug, Clone, Serialize)]
pub struct WindowStats {
    pub seconds: usize,
    pub comments: u32,
    /// Comments per second.
    pub rate: f32,
    pub sentiment: SentimentStats,
    pub questions: u32,
    /// Comments per intent label (labels with none are left out).
    pub intents: std::collections::BTreeMap<&'static str, u32>,
    pub gifts: u32,
    pub gift_value: f64,
    pub likes: u64,
    pub enters: u32,
    pub orders: u32,
    pub order_amount: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SentimentStats {
    pub mean: f32,
    pub positive: u32,
    pub neutral: u32,
    pub negative: u32,
}

impl WindowStats {
    fn from_counts(c: &Counts, seconds: usize) -> WindowStats {
        WindowStats {
            seconds,
            comments: c.comments,
            rate: ((c.comments as f32 / seconds as f32) * 100.0).round() / 100.0,
            sentiment: SentimentStats {
                mean: (c.sentiment_mean() * 1000.0).round() / 1000.0,
                positive: c.positive,
                neutral: c.neutral,
                negative: c.negative,
            },
            questions: c.questions,
            intents: Intent::ALL
                .iter()
                .zip(c.intents)
                .filter(|(_, n)| *n > 0)
                .map(|(i, n)| (i.as_str(), n))
                .collect(),
            gifts: c.gifts,
            gift_value: c.gift_value,
            likes: c.likes,
            enters: c.enters,
            orders: c.orders,
            order_amount: c.order_amount,
        }
    }
}

/// Per-product picture for the console's demand table.
#[derive(Debug, Clone, Serialize)]
pub struct ProductStats {
    pub id: Arc<str>,
    /// Demand score over the last 60 s (what `product_order` ranks by).
    pub score: f32,
    pub sentiment: f32,
    pub questions: std::collections::BTreeMap<&'static str, u32>,
    pub demand_60s: Demand,
    pub demand_5m: Demand,
}

/// The `stats` message body (also part of a snapshot).
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub now: i64,
    #[serde(rename = "10s")]
    pub w10s: WindowStats,
    #[serde(rename = "60s")]
    pub w60s: WindowStats,
    #[serde(rename = "5m")]
    pub w5m: WindowStats,
    /// Comments per second over the last 5 minutes, oldest first.
    pub rate_series: Vec<u32>,
    pub products: Vec<ProductStats>,
    pub hot_words: Vec<HotWord>,
    pub questions: Vec<ClusterView>,
    pub totals: Totals,
    /// The audience mix: each segment's share of the viewers active in the last
    /// `audience.active_s` seconds.
    pub audience: crate::audience::Mix,
}
