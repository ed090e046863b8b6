//! The timeline chart: one inline SVG of the session minute by minute (the pitching band,
//! comment bars over hatched source gaps, the sentiment line, order bars, cue markers across
//! every panel, the time axis) and its legend.

use std::fmt::Write as _;

use super::esc;
use super::names::{kind_color, kind_name, money, outcome_name, product_label, signed};
use crate::report::clock;
use crate::report::model::{MinutePoint, Review};

/// The chart's width, its left and right margins, and its height.
const W: f64 = 960.0;
const L: f64 = 46.0;
const R: f64 = 14.0;
const H: f64 = 372.0;
/// Each panel's top and height (the cue markers' row: its top).
const BAND: (f64, f64) = (4.0, 18.0);
const MARK: f64 = 32.0;
const BARS: (f64, f64) = (44.0, 150.0);
const SENT: (f64, f64) = (214.0, 80.0);
const ORD: (f64, f64) = (316.0, 36.0);

const PALETTE: [&str; 8] = [
    "#dbe7ff", "#d9f2e6", "#f3e3ff", "#ffe9cc", "#ffdede", "#d7f0f7", "#f0f0c8", "#e8e1d9",
];

/// Tick spacing in minutes for about a dozen labels.
fn tick_step(minutes: usize) -> i64 {
    const STEPS: [i64; 14] = [1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 240, 360, 720, 1440];
    STEPS
        .into_iter()
        .find(|s| minutes as i64 / s <= 12)
        .unwrap_or(2880)
}

/// Where a time falls on the chart, and how wide one minute's bar is.
struct Scale {
    t0: i64,
    span: f64,
    /// The plot's width (between the margins).
    plot: f64,
    /// One minute's width, and the space left between bars.
    bw: f64,
    gap: f64,
}

impl Scale {
    fn new(points: &[MinutePoint]) -> Scale {
        let plot = W - L - R;
        let t0 = points[0].at;
        let t1 = points[points.len() - 1].at + 60_000;
        let span = (t1 - t0).max(60_000) as f64;
        let bw = plot / points.len() as f64;
        let gap = if bw > 4.0 { 1.0 } else { 0.0 };
        Scale {
            t0,
            span,
            plot,
            bw,
            gap,
        }
    }

    fn x(&self, t: i64) -> f64 {
        L + ((t - self.t0) as f64 / self.span).clamp(0.0, 1.0) * self.plot
    }
}

pub(super) fn timeline_svg(h: &mut String, r: &Review) {
    let points: &[MinutePoint] = &r.timeline;
    if points.is_empty() {
        h.push_str("<p class=\"meta\">本场没有数据。</p>");
        return;
    }
    let tz = r.tz_offset_min;
    let sc = Scale::new(points);
    w!(
        h,
        "<svg viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\" \
         aria-label=\"每分钟弹幕数、提问数、情绪均值与订单数, 以及提示标记\">"
    );
    pitching_band(h, r, &sc, tz);
    source_gaps(h, r, &sc);
    comment_bars(h, points, &sc, tz);
    sentiment_line(h, points, &sc);
    order_bars(h, points, &sc, tz);
    cue_markers(h, r, &sc, tz);
    time_axis(h, points, &sc, tz);
    legend(h);
}

/// What was pitched when, one colour per product; then the two top rows' labels.
fn pitching_band(h: &mut String, r: &Review, sc: &Scale, tz: i32) {
    let mut ids: Vec<&str> = r.products.iter().map(|p| p.id.as_str()).collect();
    for span in &r.pitching {
        let Some(id) = span.product.as_deref() else {
            continue;
        };
        if !ids.contains(&id) {
            ids.push(id);
        }
        let i = ids.iter().position(|p| *p == id).unwrap_or(0);
        let (x0, x1) = (sc.x(span.from), sc.x(span.to));
        w!(
            h,
            "<rect x=\"{x0:.1}\" y=\"{}\" width=\"{:.1}\" height=\"{}\" fill=\"{}\"><title>讲解 {} · {}–{}</title></rect>",
            BAND.0,
            (x1 - x0).max(0.5),
            BAND.1,
            PALETTE[i % PALETTE.len()],
            product_label(r, Some(id)),
            clock(span.from, tz),
            clock(span.to, tz)
        );
        if x1 - x0 > 30.0 {
            w!(
                h,
                "<text x=\"{:.1}\" y=\"{}\" style=\"fill:#1d2233\">{}号</text>",
                x0 + 4.0,
                BAND.0 + 13.0,
                esc(id)
            );
        }
    }
    w!(h, "<text x=\"2\" y=\"{}\">讲解</text>", BAND.0 + 13.0);
    w!(h, "<text x=\"2\" y=\"{}\">提示</text>", MARK + 4.0);
}

/// Where a source may have lost messages: hatched behind the bars.
fn source_gaps(h: &mut String, r: &Review, sc: &Scale) {
    for g in &r.source_gaps {
        let (x0, x1) = (sc.x(g.from), sc.x(g.to));
        w!(
            h,
            "<rect x=\"{x0:.1}\" y=\"{}\" width=\"{:.1}\" height=\"{}\" fill=\"#e8b4b4\" \
             fill-opacity=\"0.45\"><title>{}</title></rect>",
            BARS.0,
            (x1 - x0).max(1.0),
            BARS.1,
            esc(&g.note)
        );
    }
}

/// Comment bars, questions inside, and their axis.
fn comment_bars(h: &mut String, points: &[MinutePoint], sc: &Scale, tz: i32) {
    let (bw, gap) = (sc.bw, sc.gap);
    let max_c = points.iter().map(|p| p.comments).max().unwrap_or(0).max(1) as f64;
    for p in points {
        if p.comments == 0 {
            continue;
        }
        let bx = sc.x(p.at) + gap / 2.0;
        let bh = p.comments as f64 / max_c * BARS.1;
        let qh = p.questions as f64 / max_c * BARS.1;
        let base = BARS.0 + BARS.1;
        w!(
            h,
            "<rect x=\"{bx:.1}\" y=\"{:.1}\" width=\"{:.2}\" height=\"{bh:.1}\" fill=\"#9dbcf2\">\
             <title>{} · 弹幕 {} · 提问 {} · 情绪 {}</title></rect>",
            base - bh,
            (bw - gap).max(0.4),
            clock(p.at, tz),
            p.comments,
            p.questions,
            signed(p.sentiment)
        );
        if qh > 0.0 {
            w!(
                h,
                "<rect x=\"{bx:.1}\" y=\"{:.1}\" width=\"{:.2}\" height=\"{qh:.1}\" fill=\"#2f5fb8\"/>",
                base - qh,
                (bw - gap).max(0.4)
            );
        }
    }
    w!(
        h,
        "<line x1=\"{L}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#c9cfdf\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>\
         <text x=\"2\" y=\"{}\">弹幕/分</text>",
        W - R,
        BARS.0 + BARS.1,
        BARS.0 + BARS.1,
        L - 4.0,
        BARS.0 + 10.0,
        max_c as u64,
        L - 4.0,
        BARS.0 + BARS.1,
        BARS.0 + 48.0,
    );
}

/// Sentiment: tinted halves, zero line, the mean as a line broken at silent minutes.
fn sentiment_line(h: &mut String, points: &[MinutePoint], sc: &Scale) {
    let plot = sc.plot;
    let smax = points
        .iter()
        .filter_map(|p| p.sentiment)
        .fold(0.0f64, |m, v| m.max(v.abs()));
    let smax = ((smax * 4.0).ceil() / 4.0).clamp(0.25, 1.0);
    let mid = SENT.0 + SENT.1 / 2.0;
    let sy = |v: f64| mid - (v / smax).clamp(-1.0, 1.0) * SENT.1 / 2.0;
    w!(
        h,
        "<rect x=\"{L}\" y=\"{}\" width=\"{plot}\" height=\"{}\" fill=\"#eef8f2\"/>\
         <rect x=\"{L}\" y=\"{mid}\" width=\"{plot}\" height=\"{}\" fill=\"#fcefef\"/>\
         <line x1=\"{L}\" x2=\"{}\" y1=\"{mid}\" y2=\"{mid}\" stroke=\"#c9cfdf\" stroke-dasharray=\"3 3\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">+{smax:.2}</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">−{smax:.2}</text><text x=\"2\" y=\"{}\">情绪</text>",
        SENT.0,
        SENT.1 / 2.0,
        SENT.1 / 2.0,
        W - R,
        L - 4.0,
        SENT.0 + 9.0,
        L - 4.0,
        mid + 4.0,
        L - 4.0,
        SENT.0 + SENT.1,
        SENT.0 + 28.0,
    );
    let mut run: Vec<(f64, f64)> = Vec::new();
    for p in points {
        match p.sentiment {
            Some(v) => run.push((sc.x(p.at) + sc.bw / 2.0, sy(v))),
            None => flush_run(h, &mut run),
        }
    }
    flush_run(h, &mut run);
}

/// One unbroken stretch of the sentiment line: a dot when it is one minute long.
fn flush_run(h: &mut String, run: &mut Vec<(f64, f64)>) {
    match run.len() {
        0 => {}
        1 => {
            w!(
                h,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2\" fill=\"#1d2233\"/>",
                run[0].0,
                run[0].1
            );
        }
        _ => {
            h.push_str("<polyline fill=\"none\" stroke=\"#1d2233\" stroke-width=\"1.5\" points=\"");
            for (px, py) in run.iter() {
                w!(h, "{px:.1},{py:.1} ");
            }
            h.push_str("\"/>");
        }
    }
    run.clear();
}

/// Ordered quantity per minute, and its axis.
fn order_bars(h: &mut String, points: &[MinutePoint], sc: &Scale, tz: i32) {
    let (bw, gap) = (sc.bw, sc.gap);
    let max_o = points.iter().map(|p| p.orders).max().unwrap_or(0);
    for p in points {
        if p.orders == 0 {
            continue;
        }
        let oh = p.orders as f64 / max_o.max(1) as f64 * ORD.1;
        w!(
            h,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.2}\" height=\"{oh:.1}\" fill=\"#e59a1c\">\
             <title>{} · 订单 {} 件 · {}</title></rect>",
            sc.x(p.at) + gap / 2.0,
            ORD.0 + ORD.1 - oh,
            (bw - gap).max(0.4),
            clock(p.at, tz),
            p.orders,
            money(p.order_amount)
        );
    }
    w!(
        h,
        "<line x1=\"{L}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#c9cfdf\"/><text x=\"2\" y=\"{}\">订单</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{max_o}</text>",
        W - R,
        ORD.0 + ORD.1,
        ORD.0 + ORD.1,
        ORD.0 + 22.0,
        L - 4.0,
        ORD.0 + 10.0,
    );
}

/// Cue markers across every panel: filled when the operator acted on the cue.
fn cue_markers(h: &mut String, r: &Review, sc: &Scale, tz: i32) {
    for c in &r.cues {
        let cx = sc.x(c.created_at);
        let color = kind_color(&c.kind);
        let filled = matches!(c.outcome, "acted" | "pinned");
        w!(
            h,
            "<g><title>{} {} · {} · {} · 弹幕/分 {:.1}→{:.1}</title>\
             <line x1=\"{cx:.1}\" x2=\"{cx:.1}\" y1=\"{}\" y2=\"{}\" stroke=\"{color}\" stroke-opacity=\"0.45\" stroke-dasharray=\"2 2\"/>\
             <path d=\"M{:.1},{} l5,-9 l-10,0 z\" fill=\"{}\" stroke=\"{color}\" stroke-width=\"1.5\"/></g>",
            clock(c.created_at, tz),
            kind_name(&c.kind),
            esc(&c.text),
            outcome_name(c.outcome),
            c.before.rate_per_min,
            c.after.rate_per_min,
            MARK + 6.0,
            ORD.0 + ORD.1,
            cx,
            MARK + 6.0,
            if filled { color } else { "#fff" },
        );
    }
}

/// The time axis: a tick and a local time every [`tick_step`] minutes.
fn time_axis(h: &mut String, points: &[MinutePoint], sc: &Scale, tz: i32) {
    let step = tick_step(points.len());
    for p in points {
        let local = (p.at / 60_000) + i64::from(tz);
        if local.rem_euclid(step) == 0 {
            let tx = sc.x(p.at);
            w!(
                h,
                "<line x1=\"{tx:.1}\" x2=\"{tx:.1}\" y1=\"{}\" y2=\"{}\" stroke=\"#c9cfdf\"/>\
                 <text x=\"{tx:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                ORD.0 + ORD.1,
                ORD.0 + ORD.1 + 4.0,
                ORD.0 + ORD.1 + 16.0,
                clock(p.at, tz)
            );
        }
    }
}

/// Closes the chart and writes its legend.
fn legend(h: &mut String) {
    h.push_str(
        "</svg><div class=\"legend\">\
        <span><i style=\"background:#9dbcf2\"></i>弹幕/分</span>\
        <span><i style=\"background:#2f5fb8\"></i>其中提问</span>\
        <span><i style=\"background:#1d2233;height:2px;vertical-align:3px\"></i>情绪均值</span>\
        <span><i style=\"background:#e59a1c\"></i>订单件数</span>",
    );
    for kind in [
        "answer_question",
        "product_order",
        "talking_point",
        "sentiment_alert",
        "surge",
    ] {
        w!(
            h,
            "<span><i style=\"background:{}\"></i>{}</span>",
            kind_color(kind),
            kind_name(kind)
        );
    }
    h.push_str("<span>▼ 实心: 已采纳 · 空心: 忽略/过期</span></div>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_stay_readable() {
        assert_eq!(tick_step(10), 1);
        assert_eq!(tick_step(60), 5);
        assert_eq!(tick_step(240), 20);
        assert_eq!(tick_step(600), 60);
    }
}
