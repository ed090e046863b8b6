//! The review page's audience and closed-loop sections.

use std::fmt::Write as _;

use super::{Review, esc, local_time};

/// 观众分群: segment counts, and the clustering compared with them.
pub(super) fn audience(h: &mut String, r: &Review) {
    let a = &r.audience;
    if a.viewers == 0 {
        return;
    }
    w!(
        h,
        "<section id=\"audience\"><h2>观众分群 <small>Audience · {} 位观众有画像, 回头客 {} 位 \
         (仅本直播间行为, 假名)</small></h2>\
         <table><tr><th>分群</th><th class=\"n\">观众</th><th class=\"n\">占比</th></tr>",
        a.viewers,
        a.returning
    );
    for s in &a.segments {
        w!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{:.1}%</td></tr>",
            esc(&s.name),
            s.viewers,
            s.share * 100.0
        );
    }
    h.push_str("</table>");
    match (&a.clustering, &a.clustering_note) {
        (Some(c), _) => {
            w!(
                h,
                "<p>聚类 (k-means, 按轮廓系数选 k={}, 轮廓系数 {:.2}, 聚了 {} / {} 位): {}</p>\
                 <table><tr><th>聚类</th><th class=\"n\">人数</th><th>突出特征</th><th>主要分群</th></tr>",
                c.clustering.k,
                c.clustering.silhouette,
                c.clustering.clustered,
                c.clustering.viewers,
                esc(&c.reading)
            );
            for (i, cl) in c.clustering.clusters.iter().enumerate() {
                let traits: Vec<String> = cl
                    .traits
                    .iter()
                    .take(3)
                    .map(|(name, d)| format!("{name} {d:+.2}"))
                    .collect();
                let leading = cl
                    .leading_segment
                    .and_then(|i| c.segment_names.get(i))
                    .map_or("—".to_owned(), |n| esc(n).into_owned());
                w!(
                    h,
                    "<tr><td>#{}</td><td class=\"n\">{}</td><td>{}</td><td>{leading}</td></tr>",
                    i + 1,
                    cl.size,
                    traits.join(", ")
                );
            }
            h.push_str("</table>");
        }
        (None, Some(note)) => {
            w!(h, "<p>没有聚类: {}</p>", esc(note));
        }
        (None, None) => {}
    }
    h.push_str("</section>");
}

/// 话术实验: each variant's exposures, mean reward and interval, and the verdicts.
pub(super) fn experiments(h: &mut String, r: &Review, tz: i32) {
    let e = &r.experiments;
    if e.exposures == 0 {
        return;
    }
    w!(
        h,
        "<section id=\"experiments\"><h2>话术实验 <small>Closed loop · {} 次采纳/展示, \
         回报 0.5 = 无变化, 区间为 95%</small></h2>",
        e.exposures
    );
    if e.verdicts.is_empty() {
        h.push_str("<p>数据还不足以判断哪个版本更好 (没有哪个版本的区间完全高于其他版本).</p>");
    } else {
        h.push_str("<ul>");
        for v in &e.verdicts {
            w!(h, "<li>{}</li>", esc(v));
        }
        h.push_str("</ul>");
    }
    h.push_str(
        "<table><tr><th>话术</th><th>观众</th><th>版本</th><th class=\"n\">次数</th>\
         <th class=\"n\">平均回报</th><th class=\"n\">区间</th></tr>",
    );
    for v in &e.variants {
        w!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{:.2}–{:.2}</td></tr>",
            esc(&v.slot),
            esc(&v.context),
            esc(&v.variant),
            v.exposures,
            v.mean_reward.map_or("—".to_owned(), |m| format!("{m:.2}")),
            v.interval.0,
            v.interval.1
        );
    }
    h.push_str("</table>");
    if let (Some(first), Some(last)) = (e.log.first(), e.log.last()) {
        w!(
            h,
            "<p><small>第一次 {} · 最后一次 {}</small></p>",
            local_time(first.at, tz),
            local_time(last.at, tz)
        );
    }
    h.push_str("</section>");
}
