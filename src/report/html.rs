//! The review as one self-contained HTML page: inline CSS, inline SVG charts, no script and no
//! network, so it can be mailed, archived or opened offline. Chinese renders with the system's
//! CJK fonts (the same font stack as the console). Every text that came from viewers, the
//! catalog or the operator is escaped.

use std::borrow::Cow;
use std::fmt::Write as _;

use super::model::{CueReview, MinutePoint, Review, Window};
use super::{clock, local_time, offset_label};

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

macro_rules! w {
    ($h:expr, $($arg:tt)*) => {
        let _ = write!($h, $($arg)*);
    };
}

mod audience;

const CSS: &str = r#"
:root{--font:"Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC","PingFang SC","Hiragino Sans GB","Microsoft YaHei","WenQuanYi Micro Hei",system-ui,sans-serif;
--text:#1d2233;--muted:#5d6680;--faint:#8b93ad;--line:#e3e6ef;--bg:#f6f7fb;--panel:#fff;--accent:#2f6fde;
--pos:#1f9d6b;--neu:#8b93ad;--neg:#d94848;--q:#1d3f8f;--c:#6d9eeb;--o:#e59a1c;
--k-answer_question:#1f9d6b;--k-product_order:#2f7fd8;--k-talking_point:#8a5cf0;--k-sentiment_alert:#e04848;--k-surge:#e09400}
*{box-sizing:border-box}
body{margin:0;font-family:var(--font);background:var(--bg);color:var(--text);line-height:1.5;font-size:14px}
main{max-width:1040px;margin:0 auto;padding:24px 20px 48px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:0 0 12px}
h2 small,.sub{color:var(--muted);font-weight:normal;font-size:13px}
section{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:18px 20px;margin:16px 0;break-inside:avoid}
.meta{color:var(--muted)}
.note{background:#fff6e0;border:1px solid #f3d58a;border-radius:8px;padding:8px 12px;margin:8px 0;color:#6b4e00}
.note.gap{background:#fdeeee;border-color:#eab3b3;color:#7a2020}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.card b{display:block;font-size:22px;font-variant-numeric:tabular-nums}
.card>span{color:var(--muted);font-size:12px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600;white-space:nowrap}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.chip{display:inline-block;border-radius:10px;padding:0 7px;margin:1px 2px;font-size:12px;background:#eef1f8;color:var(--text);white-space:nowrap}
.kind{color:#fff}
.pos{color:var(--pos)}.neg{color:var(--neg)}.neu{color:var(--neu)}
.up{color:var(--pos)}.down{color:var(--neg)}
.bar{display:flex;height:14px;border-radius:7px;overflow:hidden;background:#eef1f8;min-width:160px}
.bar i{display:block;height:100%}
.hbar{background:#eef1f8;border-radius:4px;height:12px;min-width:80px}.hbar i{display:block;height:100%;border-radius:4px;background:var(--c)}
.words{line-height:2.1}
.words span{margin:0 8px 0 0;white-space:nowrap;color:var(--q)}
.words em{font-style:normal;color:var(--faint);font-size:11px;margin-left:2px}
.peaks{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:10px}
.peak{border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.peak ul{margin:6px 0 0;padding-left:18px}.peak li{margin:2px 0}
.samples{color:var(--muted);font-size:12px}
.legend{display:flex;flex-wrap:wrap;gap:14px;font-size:12px;color:var(--muted);margin-top:6px}
.legend i{display:inline-block;width:12px;height:12px;border-radius:3px;margin-right:4px;vertical-align:-2px}
svg{display:block;max-width:100%;height:auto}
svg text{font-family:var(--font);font-size:11px;fill:var(--muted)}
details summary{cursor:pointer;color:var(--accent)}
footer{color:var(--faint);font-size:12px;margin-top:24px}
@media print{body{background:#fff}section{border-color:#ccc}}
"#;

fn intent_name(label: &str) -> &'static str {
    match label {
        "ask_price" => "问价格",
        "ask_discount" => "问优惠",
        "ask_size" => "问尺码",
        "ask_spec" => "问规格",
        "ask_stock" => "问库存",
        "ask_shipping" => "问发货",
        "ask_link" => "要链接",
        "ask_quality" => "问质量",
        "ask_usage" => "问用法",
        "ask_aftersale" => "问售后",
        "request_demo" => "要求展示",
        "compare" => "对比",
        "purchase" => "已下单",
        "praise" => "夸赞",
        "complaint" => "抱怨",
        "chatter" => "闲聊",
        "spam" => "广告/刷屏",
        _ => "其他",
    }
}

fn kind_name(kind: &str) -> &'static str {
    match kind {
        "answer_question" => "回答提问",
        "product_order" => "换品建议",
        "talking_point" => "卖点话术",
        "sentiment_alert" => "情绪预警",
        "surge" => "人气高峰",
        _ => "提示",
    }
}

fn kind_color(kind: &str) -> &'static str {
    match kind {
        "answer_question" => "#1f9d6b",
        "product_order" => "#2f7fd8",
        "talking_point" => "#8a5cf0",
        "sentiment_alert" => "#e04848",
        "surge" => "#e09400",
        _ => "#5d6680",
    }
}

fn outcome_name(outcome: &str) -> &'static str {
    match outcome {
        "acted" => "已采纳",
        "pinned" => "已置顶",
        "dismissed" => "已忽略",
        "expired" => "已过期",
        _ => "已展示",
    }
}

fn topic_name(topic: &str) -> &'static str {
    match topic {
        "general" => "综合",
        t => crate::analyze::Topic::parse(t).map_or("问题", crate::analyze::Topic::name),
    }
}

const PALETTE: [&str; 8] = [
    "#dbe7ff", "#d9f2e6", "#f3e3ff", "#ffe9cc", "#ffdede", "#d7f0f7", "#f0f0c8", "#e8e1d9",
];

/// `2小时05分`, `10分20秒`, `45秒`.
fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}小时{:02}分", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{}分{:02}秒", s / 60, s % 60)
    } else {
        format!("{s}秒")
    }
}

fn sentiment_class(x: Option<f64>) -> &'static str {
    match x {
        Some(v) if v >= 0.1 => "pos",
        Some(v) if v <= -0.1 => "neg",
        _ => "neu",
    }
}

fn signed(x: Option<f64>) -> String {
    x.map_or_else(|| "–".into(), |v| format!("{v:+.2}"))
}

fn money(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("¥{x:.0}")
    } else {
        format!("¥{x:.2}")
    }
}

/// `2号 白鸭绒羽绒服`, escaped.
fn product_label(r: &Review, id: Option<&str>) -> String {
    match id {
        None => "—".into(),
        Some(id) => {
            let name = r
                .products
                .iter()
                .find(|p| p.id == id)
                .map_or("", |p| p.name.as_str());
            if name.is_empty() {
                format!("{}号", esc(id))
            } else {
                format!("{}号 {}", esc(id), esc(name))
            }
        }
    }
}

/// The whole page.
pub fn render(r: &Review) -> String {
    let mut h = String::with_capacity(128 * 1024);
    let tz = r.tz_offset_min;
    let title = if r.room.name.is_empty() {
        r.room.id.clone()
    } else {
        r.room.name.clone()
    };
    w!(
        h,
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>复盘 · {} · {}</title><style>{CSS}</style></head><body><main>",
        esc(&title),
        esc(&r.session.id)
    );
    header(&mut h, r, &title, tz);
    summary(&mut h, r);
    w!(
        h,
        "<section id=\"timeline\"><h2>时间线 <small>Timeline · 每分钟弹幕与情绪, 提示标记</small></h2>"
    );
    timeline_svg(&mut h, r);
    h.push_str("</section>");
    intents(&mut h, r);
    products(&mut h, r);
    questions(&mut h, r, tz);
    hot_words(&mut h, r);
    peaks(&mut h, r, tz);
    super_chats(&mut h, r, tz);
    cues(&mut h, r, tz);
    variants(&mut h, r);
    audience::experiments(&mut h, r, tz);
    audience::audience(&mut h, r);
    source_gaps(&mut h, r, tz);
    actions(&mut h, r, tz);
    w!(
        h,
        "<footer>LiveCue 复盘报告 · schema {} · 生成于 {} ({}) · 时间为 UTC{} · \
         提示前后对比: 提示前后各 {} 秒; 购买信号 = “已下单”类弹幕 + 订单件数. \
         观众为假名 (keyed hash), 弹幕已脱敏.</footer></main></body></html>\n",
        r.schema,
        local_time(r.generated_at, tz),
        offset_label(tz),
        offset_label(tz),
        super::model::EFFECT_WINDOW_S,
    );
    h
}

fn header(h: &mut String, r: &Review, title: &str, tz: i32) {
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

fn gap_reason(reason: &str, missing: Option<u64>) -> String {
    match (reason, missing) {
        ("disconnected", _) => "断线".into(),
        ("not_connected", _) => "未连上".into(),
        ("sequence", Some(n)) => format!("序号跳过 {n} 条"),
        ("sequence", None) => "序号跳过".into(),
        (other, _) => esc(other).into_owned(),
    }
}

fn source_gaps(h: &mut String, r: &Review, tz: i32) {
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

fn super_chats(h: &mut String, r: &Review, tz: i32) {
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

fn card(h: &mut String, value: &str, label: &str) {
    w!(
        h,
        "<div class=\"card\"><b>{value}</b><span>{label}</span></div>"
    );
}

fn summary(h: &mut String, r: &Review) {
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

/// Tick spacing in minutes for about a dozen labels.
fn tick_step(minutes: usize) -> i64 {
    const STEPS: [i64; 14] = [1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 240, 360, 720, 1440];
    STEPS
        .into_iter()
        .find(|s| minutes as i64 / s <= 12)
        .unwrap_or(2880)
}

fn timeline_svg(h: &mut String, r: &Review) {
    let points: &[MinutePoint] = &r.timeline;
    if points.is_empty() {
        h.push_str("<p class=\"meta\">本场没有数据。</p>");
        return;
    }
    let tz = r.tz_offset_min;
    const W: f64 = 960.0;
    const L: f64 = 46.0;
    const R: f64 = 14.0;
    const BAND: (f64, f64) = (4.0, 18.0);
    const MARK: f64 = 32.0;
    const BARS: (f64, f64) = (44.0, 150.0);
    const SENT: (f64, f64) = (214.0, 80.0);
    const ORD: (f64, f64) = (316.0, 36.0);
    const H: f64 = 372.0;
    let plot = W - L - R;
    let t0 = points[0].at;
    let t1 = points[points.len() - 1].at + 60_000;
    let span = (t1 - t0).max(60_000) as f64;
    let x = |t: i64| L + ((t - t0) as f64 / span).clamp(0.0, 1.0) * plot;
    let bw = plot / points.len() as f64;
    let gap = if bw > 4.0 { 1.0 } else { 0.0 };
    w!(
        h,
        "<svg viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\" \
         aria-label=\"每分钟弹幕数、提问数、情绪均值与订单数, 以及提示标记\">"
    );
    // Pitching band.
    let mut ids: Vec<&str> = r.products.iter().map(|p| p.id.as_str()).collect();
    for span in &r.pitching {
        let Some(id) = span.product.as_deref() else {
            continue;
        };
        if !ids.contains(&id) {
            ids.push(id);
        }
        let i = ids.iter().position(|p| *p == id).unwrap_or(0);
        let (x0, x1) = (x(span.from), x(span.to));
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
    // Where a source may have lost messages: hatched behind the bars.
    for g in &r.source_gaps {
        let (x0, x1) = (x(g.from), x(g.to));
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
    // Comment bars, questions inside.
    let max_c = points.iter().map(|p| p.comments).max().unwrap_or(0).max(1) as f64;
    for p in points {
        if p.comments == 0 {
            continue;
        }
        let bx = x(p.at) + gap / 2.0;
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
    // Sentiment: tinted halves, zero line, the mean as a line broken at silent minutes.
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
    let flush = |h: &mut String, run: &mut Vec<(f64, f64)>| {
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
                h.push_str(
                    "<polyline fill=\"none\" stroke=\"#1d2233\" stroke-width=\"1.5\" points=\"",
                );
                for (px, py) in run.iter() {
                    w!(h, "{px:.1},{py:.1} ");
                }
                h.push_str("\"/>");
            }
        }
        run.clear();
    };
    for p in points {
        match p.sentiment {
            Some(v) => run.push((x(p.at) + bw / 2.0, sy(v))),
            None => flush(h, &mut run),
        }
    }
    flush(h, &mut run);
    // Orders.
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
            x(p.at) + gap / 2.0,
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
    // Cue markers across every panel.
    for c in &r.cues {
        let cx = x(c.created_at);
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
    // Time axis.
    let step = tick_step(points.len());
    for p in points {
        let local = (p.at / 60_000) + i64::from(tz);
        if local.rem_euclid(step) == 0 {
            let tx = x(p.at);
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

fn intents(h: &mut String, r: &Review) {
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

fn products(h: &mut String, r: &Review) {
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

fn questions(h: &mut String, r: &Review, tz: i32) {
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

fn hot_words(h: &mut String, r: &Review) {
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

fn peaks(h: &mut String, r: &Review, tz: i32) {
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

fn cues(h: &mut String, r: &Review, tz: i32) {
    w!(
        h,
        "<section id=\"cues\"><h2>提示记录 <small>Cue log · 展示 / 采纳 / 忽略, 以及提示前后各 {} 秒的变化</small></h2>",
        super::model::EFFECT_WINDOW_S
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

fn variants(h: &mut String, r: &Review) {
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

fn action_name(kind: &str) -> &'static str {
    match kind {
        "session_start" => "开播",
        "session_resume" => "重启后继续",
        "set_pitching" => "切换讲解商品",
        "reorder" => "调整商品顺序",
        "ack_cue" => "采纳提示",
        "dismiss_cue" => "忽略提示",
        "pin_cue" => "置顶提示",
        "mark_answered" => "标记已回答",
        "set_faq" => "编辑问答",
        "set_points" => "编辑卖点",
        _ => "操作",
    }
}

fn actions(h: &mut String, r: &Review, tz: i32) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(esc("2号<b>"), "2号&lt;b&gt;");
        assert_eq!(esc("a&\"'"), "a&amp;&quot;&#39;");
        assert!(matches!(esc("普通弹幕"), Cow::Borrowed(_)));
    }

    #[test]
    fn durations_read_in_chinese() {
        assert_eq!(duration(620.0), "10分20秒");
        assert_eq!(duration(7_500.0), "2小时05分");
        assert_eq!(duration(45.2), "45秒");
    }

    #[test]
    fn ticks_stay_readable() {
        assert_eq!(tick_step(10), 1);
        assert_eq!(tick_step(60), 5);
        assert_eq!(tick_step(240), 20);
        assert_eq!(tick_step(600), 60);
    }
}
