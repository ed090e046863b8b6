//! What the server said about the frames sent, as every command's summary shares it: the
//! counts, unanswered frames, latency percentiles and samples.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use super::{ConnectionEnd, Counters, SAMPLES};

/// What the server said about the frames sent: the part of a summary every command shares
/// (flattened into it, so the JSON keys sit at the top level).
#[derive(Debug, Default, Serialize)]
pub(in crate::cli) struct AckCounts {
    /// Events sent.
    pub sent: u64,
    /// Frames sent.
    pub frames: u64,
    /// Events the server accepted.
    pub acked: u64,
    /// Events the server had already seen (a second run with the same ids).
    pub duplicates: u64,
    /// Events the server refused.
    pub rejected: u64,
    /// Frames answered with an `error`.
    pub errors: u64,
    /// Frames that got no answer.
    pub unanswered_frames: u64,
    pub latency_ms: LatencySummary,
    /// The first [`SAMPLES`] rejections, with where the event came from.
    pub rejected_samples: Vec<String>,
    /// The first [`SAMPLES`] `error` answers, with the frame they answered.
    pub error_samples: Vec<String>,
}

impl AckCounts {
    /// The totals in `counters`; connections are booked with [`AckCounts::add_connection`].
    pub fn from_counters(counters: &Counters) -> AckCounts {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        AckCounts {
            sent: load(&counters.sent),
            frames: load(&counters.frames),
            acked: load(&counters.accepted),
            duplicates: load(&counters.duplicates),
            rejected: load(&counters.rejected),
            errors: load(&counters.errors),
            unanswered_frames: 0,
            latency_ms: counters.latency.summary(),
            rejected_samples: Vec::new(),
            error_samples: Vec::new(),
        }
    }

    /// Books how one connection ended: its unanswered frames and its samples.
    pub fn add_connection(&mut self, end: &ConnectionEnd) {
        self.unanswered_frames += end.frames.saturating_sub(end.answered);
        for (into, from) in [
            (&mut self.rejected_samples, &end.rejected_samples),
            (&mut self.error_samples, &end.error_samples),
        ] {
            let room = SAMPLES.saturating_sub(into.len());
            into.extend(from.iter().take(room).cloned());
        }
    }

    /// Every event sent was acknowledged (accepted or a duplicate) and no frame went wrong.
    pub fn all_acknowledged(&self) -> bool {
        self.acked + self.duplicates == self.sent
            && self.rejected == 0
            && self.errors == 0
            && self.unanswered_frames == 0
    }

    /// The `answers` and `ack latency` lines of a text summary.
    pub fn write_answers(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        writeln!(
            out,
            "answers     {} accepted, {} duplicates, {} rejected; {} error replies, {} frames unanswered",
            self.acked, self.duplicates, self.rejected, self.errors, self.unanswered_frames
        )?;
        let l = &self.latency_ms;
        writeln!(
            out,
            "ack latency p50 {}  p90 {}  p99 {}  max {}",
            format_ms(l.p50),
            format_ms(l.p90),
            format_ms(l.p99),
            format_ms(l.max)
        )
    }

    /// The `rejected` and `error` sample lines of a text summary.
    pub fn write_samples(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        for r in &self.rejected_samples {
            writeln!(out, "rejected    {r}")?;
        }
        for e in &self.error_samples {
            writeln!(out, "error       {e}")?;
        }
        Ok(())
    }
}

/// Ack latency percentiles in milliseconds (null when nothing was answered).
#[derive(Debug, Default, Serialize)]
pub(in crate::cli) struct LatencySummary {
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

/// Formats an optional millisecond value for people.
fn format_ms(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:.2} ms"))
}
