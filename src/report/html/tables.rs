//! The page's tables and lists: intents, products, top questions, hot words, peak moments,
//! super chats and fan medals, source gaps, and the operator's actions.

use std::fmt::Write as _;

use super::esc;
use super::names::{
    action_name, duration, gap_reason, intent_name, money, product_label, sentiment_class, signed,
    topic_name,
};
use crate::report::model::Review;
use crate::report::{clock, local_time};

pub(super) fn intents(h: &mut String, r: &Review) {
    if r.intents.is_empty() {
        return;
    }
    h.push_str("<section id=\"intents\"><h2>意图分布 <small>Intents</small></h2><table>");
    let max = r.intents.iter().map(|c| c.count).max().unwrap_or(1).max(1) as f64;
    let total = r.summary.comments.max(1) as f64;
    for c in &r.intents {
        w!(
            h,
            "<tr><td style=\"width:120px\">{}</td><td class=\"n\" style=\"width:70px\">{}</td>\
             <td class=\"n\" style=\"width:60px\">{:.1}%</td><td><div class=\"hbar\"><i style=\"width:{:.1}%\"></i></div></td></tr>",
            intent_name(&c.name),
            c.count,
            c.count as f64 * 100.0 / total,
            c.count as f64 * 100.0 / max
        );
    }
    h.push_str("</table></section>");
}

pub(super) fn products(h: &mut String, r: &Review) {
    h.push_str(
        "<section id=\"products\"><h2>商品 <small>Products · 讲解时长、提及、提问、购买信号、订单、抱怨、情绪</small></h2>",
    );
    if r.products.is_empty() {
        h.push_str("<p class=\"meta\">没有商品数据。</p></section>");
        return;
    }
    h.push_str(
        "<table><tr><th>商品</th><th class=\"n\">讲解</th><th class=\"n\">提及</th><th>提问 (按主题)</th>\
         <th class=\"n\">购买信号</th><th class=\"n\">订单</th><th class=\"n\">抱怨</th><th class=\"n\">情绪</th></tr>",
    );
    for p in &r.products {
        w!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>",
            product_label(r, Some(&p.id)),
            duration(p.pitched_s),
            p.mentions
        );
        let mut topics: Vec<(&String, &u64)> = p.questions.iter().collect();
        topics.sort_by(|a, b| b.1.cmp(a.1));
        for (topic, n) in topics {
            w!(h, "<span class=\"chip\">{} {n}</span>", topic_name(topic));
        }
        w!(
            h,
            "</td><td class=\"n\">{}</td><td class=\"n\">{} <span class=\"sub\">{}</span></td>\
             <td class=\"n\">{}</td><td class=\"n {}\">{}</td></tr>",
            p.purchase_signals,
            p.order_quantity,
            money(p.order_amount),
            p.complaints,
            sentiment_class(p.sentiment),
            signed(p.sentiment)
        );
    }
    h.push_str("</table></section>");
}

pub(super) fn questions(h: &mut String, r: &Review, tz: i32) {
    h.push_str(
        "<section id=\"questions\"><h2>高频问题 <small>Top questions · 是否回答, 用时</small></h2>",
    );
    if r.questions.is_empty() {
        h.push_str("<p class=\"meta\">没有提问。</p></section>");
        return;
    }
    h.push_str(
        "<table><tr><th>问题</th><th class=\"n\">次数</th><th class=\"n\">人数</th><th class=\"n\">首次</th>\
         <th class=\"n\">提示</th><th>回答</th><th class=\"n\">答后仍问</th><th>样例</th></tr>",
    );
    for q in r.questions.iter().take(20) {
        let answered = match (q.answered_at, q.answer_s) {
            (Some(at), Some(s)) => format!(
                "<span class=\"up\">✓ {}</span> <span class=\"sub\">用时 {}</span>",
                clock(at, tz),
                duration(s)
            ),
            _ => "<span class=\"down\">✗ 未回答</span>".into(),
        };
        w!(
            h,
            "<tr><td>{} · {}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td>{answered}</td><td class=\"n\">{}</td><td class=\"samples\">",
            product_label(r, q.product.as_deref()),
            topic_name(&q.topic),
            q.asks,
            q.askers,
            clock(q.first_at, tz),
            q.cue_at.map_or_else(|| "—".into(), |t| clock(t, tz)),
            q.asks_after_answer
        );
        for (i, s) in q.samples.iter().enumerate() {
            if i > 0 {
                h.push_str(" · ");
            }
            h.push_str(&esc(s));
        }
        h.push_str("</td></tr>");
    }
    h.push_str("</table></section>");
}

pub(super) fn hot_words(h: &mut String, r: &Review) {
    if r.hot_words.is_empty() {
        return;
    }
    h.push_str("<section id=\"words\"><h2>热词 <small>Hot words</small></h2><div class=\"words\">");
    let max = r
        .hot_words
        .iter()
        .map(|w| w.count)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    for word in &r.hot_words {
        let size = 12.0 + 16.0 * (word.count as f64 / max).sqrt();
        w!(
            h,
            "<span style=\"font-size:{size:.0}px\">{}<em>{}</em></span> ",
            esc(&word.name),
            word.count
        );
    }
    h.push_str("</div></section>");
}

pub(super) fn peaks(h: &mut String, r: &Review, tz: i32) {
    if r.peaks.is_empty() {
        return;
    }
    h.push_str("<section id=\"peaks\"><h2>高峰时刻 <small>Peak moments · 弹幕最多的 5 分钟</small></h2><div class=\"peaks\">");
    for p in &r.peaks {
        w!(
            h,
            "<div class=\"peak\"><b>{}</b> · 弹幕 {} · 提问 {} · 购买信号 {} · 情绪 <span class=\"{}\">{}</span>\
             <div class=\"sub\">讲解中: {}</div><ul>",
            clock(p.at, tz),
            p.comments,
            p.questions,
            p.purchase,
            sentiment_class(p.sentiment),
            signed(p.sentiment),
            product_label(r, p.pitching.as_deref())
        );
        for s in &p.samples {
            w!(h, "<li>{}</li>", esc(s));
        }
        h.push_str("</ul></div>");
    }
    h.push_str("</div></section>");
}

pub(super) fn super_chats(h: &mut String, r: &Review, tz: i32) {
    if r.super_chats.is_empty() && r.fan_medals.is_empty() {
        return;
    }
    let s = &r.summary;
    w!(
        h,
        "<section id=\"paid\"><h2>醒目留言与粉丝牌 <small>Super chats · {} 条, {} · 戴粉丝牌的弹幕 {} 条</small></h2>",
        s.super_chats,
        money(s.super_chat_value),
        s.medal_comments
    );
    if !r.super_chats.is_empty() {
        h.push_str(
            "<table><tr><th class=\"n\">时间</th><th class=\"n\">金额</th><th>内容</th><th>商品</th><th>粉丝牌</th></tr>",
        );
        for c in &r.super_chats {
            w!(
                h,
                "<tr><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                clock(c.at, tz),
                money(c.price_cny),
                esc(c.text.as_deref().unwrap_or("—")),
                product_label(r, c.product.as_deref()),
                match (&c.medal, c.medal_level) {
                    (Some(m), Some(l)) => format!("{} {l}", esc(m)),
                    (Some(m), None) => esc(m).into_owned(),
                    _ => String::new(),
                }
            );
        }
        h.push_str("</table>");
    }
    if !r.fan_medals.is_empty() {
        h.push_str("<p style=\"margin:12px 0 0\">粉丝牌 ");
        for m in &r.fan_medals {
            w!(
                h,
                "<span class=\"chip\">{} · {} 条 · {} 人 · 最高 {} 级</span>",
                esc(&m.name),
                m.comments,
                m.viewers,
                m.max_level
            );
        }
        h.push_str("</p>");
    }
    h.push_str("</section>");
}

pub(super) fn source_gaps(h: &mut String, r: &Review, tz: i32) {
    if r.source_gaps.is_empty() {
        return;
    }
    w!(
        h,
        "<section id=\"gaps\"><h2>数据来源缺口 <small>Source gaps · {} 处, 共 {}</small></h2><table>\
         <tr><th>来源</th><th>从</th><th>到</th><th class=\"n\">时长</th><th>原因</th></tr>",
        r.source_gaps.len(),
        duration(r.summary.source_gap_s)
    );
    for g in &r.source_gaps {
        w!(
            h,
            "<tr><td>{} <span class=\"sub\">{}</span></td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td>{}</td></tr>",
            esc(&g.source),
            esc(&g.kind),
            local_time(g.from, tz),
            local_time(g.to, tz),
            duration(g.duration_s),
            gap_reason(&g.reason, g.missing)
        );
    }
    h.push_str("</table></section>");
}

pub(super) fn actions(h: &mut String, r: &Review, tz: i32) {
    if r.actions.is_empty() {
        return;
    }
    w!(
        h,
        "<section id=\"actions\"><h2>操作记录 <small>Operator actions · {} 条</small></h2><details><summary>展开</summary><table>",
        r.actions.len()
    );
    for a in &r.actions {
        w!(
            h,
            "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
            local_time(a.at, tz),
            action_name(&a.kind),
            esc(a.target.as_deref().unwrap_or(""))
        );
    }
    h.push_str("</table></details></section>");
}
