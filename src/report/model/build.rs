//! [`build`]: reads a session from the store and assembles its [`Review`]: the small tables
//! (minutes, words, cues, actions, gaps), then the one [`Pass`] over comments and events, then
//! the summary, products, question clusters and peak minutes from what the pass gathered.

use std::collections::HashMap;

use super::cues::{Prefix, cue_review, variants};
use super::pass::{Pass, PeakSamples};
use super::timeline::{pitch_spans, timeline, top_minutes};
use super::types::{
    Count, CueReview, GapReview, Peak, QuestionReview, Review, RoomRef, SessionInfo,
};
use super::{SCHEMA, TOP_QUESTIONS, TOP_WORDS, mean, round2, sorted_counts};
use crate::catalog::Product;
use crate::report::{Progress, ReportError};
use crate::store::{ActionRow, CueRow, INTENTS, Reader};

/// Builds the review of a room's session (`session` id, or the room's latest).
pub fn build(
    reader: &Reader,
    room: &str,
    session: Option<&str>,
    tz_offset_min: i32,
    progress: &mut dyn FnMut(Progress),
) -> Result<Review, ReportError> {
    let s = reader
        .session(room, session)?
        .ok_or_else(|| ReportError::NoSession {
            room: room.to_owned(),
            session: session.map(str::to_owned),
        })?;
    let counts = reader.counts(&s)?;
    let catalog: Vec<Product> = serde_json::from_str(&s.catalog).unwrap_or_default();
    let start = s.started_at;
    let end = s.end().max(start);
    let minutes = reader.minutes(&s)?;
    let actions = reader.actions(&s)?;
    let cue_rows = reader.cues(&s)?;
    let pitching = pitch_spans(&actions, start, end);
    let answers = answer_times(&actions, &cue_rows);
    let mut cue_at: HashMap<String, i64> = HashMap::new();
    for c in &cue_rows {
        if c.kind == "answer_question"
            && let Some(key) = c.evidence.get("key").and_then(|k| k.as_str())
        {
            cue_at
                .entry(key.to_owned())
                .and_modify(|t| *t = (*t).min(c.created_at))
                .or_insert(c.created_at);
        }
    }
    let peak_minutes = top_minutes(&minutes);
    let mut pass = Pass::new(&s, &catalog, &answers, &peak_minutes);
    progress(Progress {
        done: 0,
        total: counts.comments,
    });
    let mut seen = 0u64;
    reader.for_each_comment(&s, |c| {
        pass.comment(c);
        seen += 1;
        if seen % 100_000 == 0 {
            progress(Progress {
                done: seen,
                total: counts.comments,
            });
        }
    })?;
    progress(Progress {
        done: seen,
        total: counts.comments,
    });
    reader.for_each_event(&s, |e| pass.event(e))?;
    let words = reader.words(&s, TOP_WORDS)?;
    let audience = crate::report::audience::audience(&reader.profiles(&s)?, end);
    let experiments = crate::report::audience::experiments(reader.exposures(&s)?);
    let source_gaps: Vec<GapReview> = reader
        .gaps(&s)?
        .into_iter()
        .map(|g| gap_review(g, tz_offset_min))
        .collect();

    let timeline = timeline(&minutes, start, end);
    let seconds = Prefix::new(&pass.seconds);
    let cues: Vec<CueReview> = cue_rows
        .iter()
        .map(|c| cue_review(c, &seconds, start, end))
        .collect();
    let variants = variants(&cues);

    let mut summary = pass.summary.clone();
    summary.order_amount = round2(summary.order_amount);
    summary.gift_value = round2(summary.gift_value);
    summary.unique_viewers = pass.viewers.len() as u64;
    let peak = minutes
        .iter()
        .max_by(|a, b| a.comments.cmp(&b.comments).then(b.at.cmp(&a.at)));
    summary.peak_rate_per_min = peak.map_or(0, |m| m.comments);
    summary.peak_minute = peak.filter(|m| m.comments > 0).map(|m| m.at);
    let duration_min = ((end - start) as f64 / 60_000.0).max(1.0);
    summary.mean_rate_per_min = round2(summary.comments as f64 / duration_min);
    summary.sentiment.mean = mean(pass.sentiment_sum, summary.comments);
    summary.cues = cues.len() as u64;
    summary.cues_acted = cues
        .iter()
        .filter(|c| matches!(c.outcome, "acted" | "pinned"))
        .count() as u64;
    summary.cues_dismissed = cues.iter().filter(|c| c.outcome == "dismissed").count() as u64;
    summary.cues_expired = cues.iter().filter(|c| c.outcome == "expired").count() as u64;
    summary.super_chat_value = round2(summary.super_chat_value);
    summary.source_gaps = source_gaps.len() as u64;
    summary.source_gap_s = round2(source_gaps.iter().map(|g| g.duration_s).sum());
    let fan_medals = pass.medals();

    let intents = INTENTS
        .iter()
        .zip(pass.intents.iter())
        .filter(|(_, n)| **n > 0)
        .map(|(l, n)| Count {
            name: (*l).to_owned(),
            count: *n,
        })
        .collect();
    let complaints = sorted_counts(pass.complaint_topics.clone());

    let mut products = pass.products_in_order(&catalog);
    for p in &mut products {
        p.pitched_s = pitching
            .iter()
            .filter(|span| span.product.as_deref() == Some(p.id.as_str()))
            .map(|span| (span.to - span.from) as f64 / 1000.0)
            .sum();
        p.pitched_s = round2(p.pitched_s);
    }

    let mut questions: Vec<QuestionReview> = pass
        .clusters
        .into_iter()
        .map(|(key, c)| {
            let answered_at = answers.get(&key).copied();
            QuestionReview {
                topic: key.split(':').next().unwrap_or("").to_owned(),
                product: key
                    .split_once(':')
                    .map(|(_, p)| p)
                    .filter(|p| *p != "_")
                    .map(str::to_owned),
                asks: c.asks,
                askers: c.askers.len() as u64 + c.anonymous,
                first_at: c.first_at,
                last_at: c.last_at,
                cue_at: cue_at.get(&key).copied(),
                answered_at,
                answer_s: answered_at.map(|a| round2((a - c.first_at).max(0) as f64 / 1000.0)),
                asks_after_answer: c.after_answer,
                samples: c.samples,
                key,
            }
        })
        .collect();
    questions.sort_by(|a, b| b.asks.cmp(&a.asks).then_with(|| a.key.cmp(&b.key)));
    questions.truncate(TOP_QUESTIONS);

    let peaks = peak_minutes
        .iter()
        .filter_map(|at| minutes.iter().find(|m| m.at == *at))
        .map(|m| Peak {
            at: m.at,
            comments: m.comments,
            questions: m.questions,
            purchase: m.purchase,
            sentiment: mean(m.sentiment_sum, m.comments),
            pitching: pitching
                .iter()
                .find(|span| span.from <= m.at && m.at < span.to)
                .or_else(|| pitching.iter().rev().find(|span| span.from <= m.at))
                .and_then(|span| span.product.clone()),
            samples: pass
                .peak_samples
                .remove(&m.at)
                .map(PeakSamples::take)
                .unwrap_or_default(),
        })
        .collect();

    Ok(Review {
        schema: SCHEMA,
        generated_at: crate::clock::now_ms(),
        tz_offset_min,
        room: RoomRef {
            id: s.room.clone(),
            name: s.room_name.clone(),
        },
        session: SessionInfo {
            id: s.id.clone(),
            started_at: start,
            ended_at: end,
            duration_s: round2((end - start) as f64 / 1000.0),
            status: match (s.ended_at, s.clean_end) {
                (Some(_), true) => "ended",
                (Some(_), false) => "ended_unclean",
                (None, _) => "open",
            },
            resumed: s.resumed,
            keep_text: s.keep_text,
            dropped: s.dropped,
        },
        summary,
        timeline,
        intents,
        complaints,
        pitching,
        products,
        questions,
        hot_words: words
            .into_iter()
            .map(|(name, count)| Count { name, count })
            .collect(),
        peaks,
        cues,
        variants,
        actions,
        source_gaps,
        super_chats: pass.super_chats,
        fan_medals,
        audience,
        experiments,
    })
}

/// What the review says about one gap.
fn gap_review(g: crate::store::GapRow, tz: i32) -> GapReview {
    let (from, to) = (g.from, g.to.max(g.from));
    let why = match (g.reason.as_str(), g.missing) {
        ("sequence", Some(n)) => format!("{n} numbered messages skipped"),
        ("sequence", None) => "numbered messages skipped".to_owned(),
        ("not_connected", _) => "not connected".to_owned(),
        (other, _) => other.to_owned(),
    };
    GapReview {
        note: format!(
            "messages may be missing {}–{} ({}: {why})",
            crate::report::clock(from, tz),
            crate::report::clock(to, tz),
            g.source
        ),
        duration_s: round2((to - from) as f64 / 1000.0),
        source: g.source,
        kind: g.kind,
        from,
        to,
        reason: g.reason,
        missing: g.missing,
    }
}

/// When each question key was answered: `mark_answered`, or an `answer_question` cue acked.
fn answer_times(actions: &[ActionRow], cues: &[CueRow]) -> HashMap<String, i64> {
    let cue_key = |id: &str| -> Option<String> {
        cues.iter()
            .rev()
            .find(|c| c.id == id && c.kind == "answer_question")
            .and_then(|c| c.evidence.get("key")?.as_str().map(str::to_owned))
    };
    let mut answered: HashMap<String, i64> = HashMap::new();
    let mut note = |key: String, at: i64| {
        answered
            .entry(key)
            .and_modify(|t| *t = (*t).min(at))
            .or_insert(at);
    };
    for a in actions {
        match (a.kind.as_str(), &a.target) {
            ("mark_answered", Some(key)) => note(key.clone(), a.at),
            ("ack_cue", Some(id)) => {
                if let Some(key) = cue_key(id) {
                    note(key, a.at);
                }
            }
            _ => {}
        }
    }
    // An ack whose action record was lost still shows in the cue's state.
    for c in cues {
        if c.kind == "answer_question"
            && c.state == "acked"
            && let (Some(at), Some(key)) =
                (c.state_at, c.evidence.get("key").and_then(|k| k.as_str()))
        {
            note(key.to_owned(), at);
        }
    }
    answered
}
