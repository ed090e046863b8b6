//! The review as one self-contained HTML page: inline CSS, inline SVG charts, no script and no
//! network, so it can be mailed, archived or opened offline. Chinese renders with the system's
//! CJK fonts (the same font stack as the console). Every text that came from viewers, the
//! catalog or the operator is escaped.
//!
//! The parts: `header` (title, notes, summary cards), `timeline` (the SVG chart), `tables`
//! (intents, products, questions, hot words, peaks, super chats, gaps, actions), `cues` (the
//! cue log and script variants), `audience` (segments and the closed loop), and `names` (the
//! Chinese names of labels and the number formats they all share).

use std::fmt::Write as _;

use super::model::Review;
use super::{local_time, offset_label};

/// Escapes text for HTML element content and attribute values (the crate's one escaper).
pub use crate::html::esc;

macro_rules! w {
    ($h:expr, $($arg:tt)*) => {
        let _ = write!($h, $($arg)*);
    };
}

mod audience;
mod cues;
mod header;
mod names;
mod tables;
mod timeline;

use cues::{cues, variants};
use header::{header, summary};
use tables::{actions, hot_words, intents, peaks, products, questions, source_gaps, super_chats};
use timeline::timeline_svg;

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
