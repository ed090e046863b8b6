//! The page's top: the header (room, session, times, and every note on what the numbers
//! depend on: an unclean end, restarts, dropped records, no text kept, source gaps) and the
//! summary cards with the sentiment split and complaint topics.

use std::fmt::Write as _;

use super::esc;
use super::names::{duration, gap_reason, money, sentiment_class, signed, topic_name};
use crate::report::model::Review;
use crate::report::{clock, local_time, offset_label};

pub(super) fn header(h: &mut String, r: &Review, title: &str, tz: i32) {
    let s = &r.session;
    w!(
        h,
        "<header><h1>直播复盘 · {}</h1><div class=\"meta\">房间 <b>{}</b> · 场次 <b>{}</b> · \
         {} – {} (UTC{}) · 时长 {}</div>",
        esc(title),
        esc(&r.room.id),
        esc(&s.id),
        local_time(s.started_at, tz),
        clock(s.ended_at, tz),
        offset_label(tz),
        duration(s.duration_s),
    );
    match s.status {
        "ended_unclean" => {
            w!(
                h,
                "<div class=\"note\">本场未正常结束 (进程中断), 结束时间按最后一条记录计算。</div>"
            );
        }
        "open" => {
            w!(
                h,
                "<div class=\"note\">本场尚未结束: 报告为截至 {} 的数据。</div>",
                local_time(s.ended_at, tz)
            );
        }
        _ => {}
    }
    if s.resumed > 0 {
        w!(
            h,
            "<div class=\"note\">服务中途重启 {} 次, 本场在重启后继续记录。</div>",
            s.resumed
        );
    }
    if s.dropped > 0 {
        w!(
            h,
            "<div class=\"note\">有 {} 条记录因写入队列已满而未保存 (提示、提示状态或操作记录; \
             已确认接收的弹幕和事件不会丢失)。</div>",
            s.dropped
        );
    }
    if !s.keep_text {
        w!(
            h,
            "<div class=\"note\">本场未保存弹幕原文 (keep_text = false): 统计完整, 样例弹幕为空。</div>"
        );
    }
    // Where a platform source may have lost messages: said up front, every number after
    // depends on it.
    for g in r.source_gaps.iter().take(GAP_NOTES) {
        w!(
            h,
            "<div class=\"note gap\">弹幕可能缺失 {}–{} ({}: {}) · {}</div>",
            clock(g.from, tz),
            clock(g.to, tz),
            esc(&g.source),
            gap_reason(&g.reason, g.missing),
            esc(&g.note)
        );
    }
    if r.source_gaps.len() > GAP_NOTES {
        w!(
            h,
            "<div class=\"note gap\">另有 {} 处可能缺失, 见“数据来源缺口”。</div>",
            r.source_gaps.len() - GAP_NOTES
        );
    }
    h.push_str("</header>");
}

/// Gap notes in the header at most (the section lists them all).
const GAP_NOTES: usize = 5;

fn card(h: &mut String, value: &str, label: &str) {
    w!(
        h,
        "<div class=\"card\"><b>{value}</b><span>{label}</span></div>"
    );
}

pub(super) fn summary(h: &mut String, r: &Review) {
    let s = &r.summary;
    h.push_str("<section id=\"summary\"><h2>概览 <small>Summary</small></h2><div class=\"cards\">");
    card(h, &duration(r.session.duration_s), "时长 Duration");
    card(h, &s.comments.to_string(), "弹幕 Comments");
    card(h, &s.unique_viewers.to_string(), "互动观众 Unique viewers");
    card(
        h,
        &format!("{} <small class=\"sub\">/分</small>", s.peak_rate_per_min),
        "峰值 Peak rate",
    );
    card(
        h,
        &format!(
            "{:.1} <small class=\"sub\">/分</small>",
            s.mean_rate_per_min
        ),
        "平均 Mean rate",
    );
    card(h, &s.questions.to_string(), "提问 Questions");
    card(
        h,
        &format!(
            "<span class=\"{}\">{}</span>",
            sentiment_class(s.sentiment.mean),
            signed(s.sentiment.mean)
        ),
        "整体情绪 Sentiment",
    );
    card(
        h,
        &format!(
            "{} <small class=\"sub\">{}</small>",
            s.orders,
            money(s.order_amount)
        ),
        "订单 Orders",
    );
    card(
        h,
        &s.purchase_signals.to_string(),
        "购买信号 Purchase signals",
    );
    card(h, &s.complaints.to_string(), "抱怨 Complaints");
    card(
        h,
        &format!(
            "{} <small class=\"sub\">{}</small>",
            s.gifts,
            money(s.gift_value)
        ),
        "礼物 Gifts",
    );
    card(h, &s.likes.to_string(), "点赞 Likes");
    card(h, &s.enters.to_string(), "进场 Enters");
    card(h, &s.follows.to_string(), "关注 Follows");
    card(
        h,
        &format!(
            "{} <small class=\"sub\">采纳 {} · 忽略 {}</small>",
            s.cues, s.cues_acted, s.cues_dismissed
        ),
        "提示 Cues",
    );
    h.push_str("</div>");
    let total = (s.sentiment.positive + s.sentiment.neutral + s.sentiment.negative).max(1) as f64;
    let pct = |n: u64| n as f64 * 100.0 / total;
    w!(
        h,
        "<p style=\"margin:14px 0 4px\">情绪分布 <span class=\"pos\">正面 {} ({:.0}%)</span> · \
         <span class=\"neu\">中性 {} ({:.0}%)</span> · <span class=\"neg\">负面 {} ({:.0}%)</span></p>\
         <div class=\"bar\"><i style=\"width:{:.2}%;background:var(--pos)\"></i>\
         <i style=\"width:{:.2}%;background:#c9cfdf\"></i><i style=\"width:{:.2}%;background:var(--neg)\"></i></div>",
        s.sentiment.positive,
        pct(s.sentiment.positive),
        s.sentiment.neutral,
        pct(s.sentiment.neutral),
        s.sentiment.negative,
        pct(s.sentiment.negative),
        pct(s.sentiment.positive),
        pct(s.sentiment.neutral),
        pct(s.sentiment.negative),
    );
    if !r.complaints.is_empty() {
        h.push_str("<p style=\"margin:12px 0 0\">抱怨主题 ");
        for c in &r.complaints {
            w!(
                h,
                "<span class=\"chip\">{} {}</span>",
                topic_name(&c.name),
                c.count
            );
        }
        h.push_str("</p>");
    }
    h.push_str("</section>");
}
