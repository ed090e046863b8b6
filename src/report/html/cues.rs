//! The cue log (each cue, what the operator did with it, and the windows before and after it)
//! and the script variants compared.

use std::fmt::Write as _;

use super::esc;
use super::names::{duration, kind_color, kind_name, outcome_name, product_label, signed};
use crate::report::clock;
use crate::report::model::{CueReview, Review, Window};

fn change(before: f64, after: f64, digits: usize) -> String {
    let arrow = if after > before {
        "<span class=\"up\">▲</span>"
    } else if after < before {
        "<span class=\"down\">▼</span>"
    } else {
        ""
    };
    format!("{before:.digits$} → {after:.digits$} {arrow}")
}

fn window_cells(b: &Window, a: &Window) -> String {
    let sentiment = match (b.sentiment, a.sentiment) {
        (Some(x), Some(y)) => change(x, y, 2),
        _ => format!("{} → {}", signed(b.sentiment), signed(a.sentiment)),
    };
    format!(
        "<td class=\"n\">{}</td><td class=\"n\">{sentiment}</td><td class=\"n\">{}</td>",
        change(b.rate_per_min, a.rate_per_min, 1),
        change(b.purchase_signals as f64, a.purchase_signals as f64, 0),
    )
}

pub(super) fn cues(h: &mut String, r: &Review, tz: i32) {
    w!(
        h,
        "<section id=\"cues\"><h2>提示记录 <small>Cue log · 展示 / 采纳 / 忽略, 以及提示前后各 {} 秒的变化</small></h2>",
        crate::report::model::EFFECT_WINDOW_S
    );
    if r.cues.is_empty() {
        h.push_str("<p class=\"meta\">本场没有提示。</p></section>");
        return;
    }
    h.push_str(
        "<table><tr><th class=\"n\">时间</th><th>类型</th><th>提示</th><th>结果</th>\
         <th class=\"n\">弹幕/分 前→后</th><th class=\"n\">情绪 前→后</th><th class=\"n\">购买信号 前→后</th></tr>",
    );
    for c in &r.cues {
        cue_row(h, r, c, tz);
    }
    h.push_str("</table></section>");
}

fn cue_row(h: &mut String, r: &Review, c: &CueReview, tz: i32) {
    let response = c
        .response_s
        .map(|s| format!(" <span class=\"sub\">{}后</span>", duration(s)))
        .unwrap_or_default();
    w!(
        h,
        "<tr><td class=\"n\">{}</td><td><span class=\"chip kind\" style=\"background:{}\">{}</span><div class=\"sub\">{}</div></td>\
         <td>{}{}<div class=\"sub\">{}</div></td><td>{}{response}</td>{}</tr>",
        clock(c.created_at, tz),
        kind_color(&c.kind),
        kind_name(&c.kind),
        if c.product.is_some() {
            product_label(r, c.product.as_deref())
        } else {
            String::new()
        },
        esc(&c.text),
        c.variant
            .as_deref()
            .map(|v| format!(" <span class=\"chip\">{}</span>", esc(v)))
            .unwrap_or_default(),
        esc(&c.reason),
        outcome_name(c.outcome),
        window_cells(&c.before, &c.after),
    );
}

pub(super) fn variants(h: &mut String, r: &Review) {
    if r.variants.is_empty() {
        return;
    }
    h.push_str(
        "<section id=\"variants\"><h2>话术版本 <small>Script variants · 各版本提示后的平均变化</small></h2>\
         <table><tr><th>类型</th><th>版本</th><th class=\"n\">展示</th><th class=\"n\">采纳</th><th class=\"n\">忽略</th>\
         <th class=\"n\">弹幕/分 变化</th><th class=\"n\">情绪 变化</th><th class=\"n\">购买信号 变化</th></tr>",
    );
    for v in &r.variants {
        let variant = if v.variant == "default" {
            "默认".to_owned()
        } else {
            esc(&v.variant).into_owned()
        };
        w!(
            h,
            "<tr><td>{}</td><td>{variant}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            kind_name(&v.kind),
            v.shown,
            v.acted,
            v.dismissed,
            signed(v.rate_change),
            signed(v.sentiment_change),
            signed(v.purchase_change)
        );
    }
    h.push_str("</table></section>");
}
