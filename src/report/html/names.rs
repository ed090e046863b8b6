//! What the page calls things (labels, cue kinds, outcomes, topics, actions, gap reasons, in
//! Chinese) and how it writes numbers (durations, signed means, money, products).

use super::esc;
use crate::report::model::Review;

pub(super) fn intent_name(label: &str) -> &'static str {
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

pub(super) fn kind_name(kind: &str) -> &'static str {
    match kind {
        "answer_question" => "回答提问",
        "product_order" => "换品建议",
        "talking_point" => "卖点话术",
        "sentiment_alert" => "情绪预警",
        "surge" => "人气高峰",
        _ => "提示",
    }
}

pub(super) fn kind_color(kind: &str) -> &'static str {
    match kind {
        "answer_question" => "#1f9d6b",
        "product_order" => "#2f7fd8",
        "talking_point" => "#8a5cf0",
        "sentiment_alert" => "#e04848",
        "surge" => "#e09400",
        _ => "#5d6680",
    }
}

pub(super) fn outcome_name(outcome: &str) -> &'static str {
    match outcome {
        "acted" => "已采纳",
        "pinned" => "已置顶",
        "dismissed" => "已忽略",
        "expired" => "已过期",
        _ => "已展示",
    }
}

pub(super) fn topic_name(topic: &str) -> &'static str {
    match topic {
        "general" => "综合",
        t => crate::analyze::Topic::parse(t).map_or("问题", crate::analyze::Topic::name),
    }
}

pub(super) fn action_name(kind: &str) -> &'static str {
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

pub(super) fn gap_reason(reason: &str, missing: Option<u64>) -> String {
    match (reason, missing) {
        ("disconnected", _) => "断线".into(),
        ("not_connected", _) => "未连上".into(),
        ("sequence", Some(n)) => format!("序号跳过 {n} 条"),
        ("sequence", None) => "序号跳过".into(),
        (other, _) => esc(other).into_owned(),
    }
}

/// `2小时05分`, `10分20秒`, `45秒`.
pub(super) fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}小时{:02}分", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{}分{:02}秒", s / 60, s % 60)
    } else {
        format!("{s}秒")
    }
}

pub(super) fn sentiment_class(x: Option<f64>) -> &'static str {
    match x {
        Some(v) if v >= 0.1 => "pos",
        Some(v) if v <= -0.1 => "neg",
        _ => "neu",
    }
}

pub(super) fn signed(x: Option<f64>) -> String {
    x.map_or_else(|| "–".into(), |v| format!("{v:+.2}"))
}

pub(super) fn money(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("¥{x:.0}")
    } else {
        format!("¥{x:.2}")
    }
}

/// `2号 白鸭绒羽绒服`, escaped.
pub(super) fn product_label(r: &Review, id: Option<&str>) -> String {
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
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_chinese() {
        assert_eq!(duration(620.0), "10分20秒");
        assert_eq!(duration(7_500.0), "2小时05分");
        assert_eq!(duration(45.2), "45秒");
    }
}
