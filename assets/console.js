// The operator's console (场控台): the live picture of a room and its controls.
//
// Everything shown comes from the room stream (client.js); every action is a documented
// console command sent on the same WebSocket (set_pitching, reorder, ack_cue, dismiss_cue,
// pin_cue, mark_answered, set_faq, set_points). Nothing changes locally until the server
// broadcasts the effect, so what this console shows is what every other console and overlay
// shows too.
//
// URL parameters: room (default demo), token. `#library` opens the script library tab.

import {
  INTENTS,
  RoomClient,
  TOPICS,
  fill,
  intentName,
  kindLabel,
  mood,
  pageParams,
  price,
  topicName,
} from "/assets/client.js";
import { bucket, niceMax, timeChart } from "/assets/charts.js";
import { copyText, h, keyed, setClass, setText } from "/assets/dom.js";
import { exportLibrary, parseImport, MAX_TEXT } from "/assets/library.js";

const params = pageParams();
const $ = (id) => document.getElementById(id);

// ------------------------------------------------------------------ history (charts)

/** Longest chart range, and how much history the page keeps. */
const HISTORY_MS = 30 * 60_000;

/**
 * Comment rate and sentiment over the last 30 minutes. The server sends the last 300 s of
 * comments per second with every `stats`; the page keeps its own longer history, and saves it
 * in localStorage (per room and room start) so a reload keeps the charts.
 */
class History {
  constructor(room) {
    this.room = room;
    this.key = null;
    this.rate = new Map(); // second -> comments
    this.mood = []; // [ms, mean of the last 10 s, comments in the last 10 s]
    this.savedAt = 0;
  }

  /** Called on every snapshot: a new life of the room starts a new history. */
  start(info) {
    const key = `livecue:history:${this.room}:${info.started_at}`;
    if (key === this.key) return;
    this.key = key;
    this.rate = new Map();
    this.mood = [];
    try {
      for (let i = localStorage.length - 1; i >= 0; i--) {
        const k = localStorage.key(i);
        if (k && k.startsWith(`livecue:history:${this.room}:`) && k !== key) localStorage.removeItem(k);
      }
      const saved = JSON.parse(localStorage.getItem(key) || "null");
      if (saved && Array.isArray(saved.rate) && Array.isArray(saved.mood)) {
        this.rate = new Map(saved.rate);
        this.mood = saved.mood;
      }
    } catch (_) {
      // No storage (private mode, quota): history lives in memory only.
    }
  }

  add(stats) {
    const series = stats.rate_series || [];
    const nowSec = Math.floor(stats.now / 1000);
    series.forEach((v, i) => this.rate.set(nowSec - (series.length - 1 - i), v));
    const w = stats["10s"];
    const last = this.mood[this.mood.length - 1];
    if (!last || stats.now - last[0] >= 900) this.mood.push([stats.now, w.sentiment.mean, w.comments]);
    const oldest = stats.now - HISTORY_MS - 60_000;
    for (const sec of this.rate.keys()) {
      if (sec * 1000 < oldest) this.rate.delete(sec);
      else break; // Map keeps insertion order: oldest first.
    }
    while (this.mood.length && this.mood[0][0] < oldest) this.mood.shift();
    if (stats.now - this.savedAt > 10_000 && this.key) {
      this.savedAt = stats.now;
      try {
        localStorage.setItem(this.key, JSON.stringify({ rate: [...this.rate], mood: this.mood }));
      } catch (_) {
        // Storage full or refused: keep going without it.
      }
    }
  }

  ratePoints() {
    return [...this.rate.entries()].sort((a, b) => a[0] - b[0]).map(([s, v]) => [s * 1000, v]);
  }

  moodPoints() {
    // A 10-second window with no comment has no mood: leave a gap rather than a fake 0.
    return this.mood.filter((m) => m[2] > 0).map(([t, v]) => [t, v]);
  }
}

// ------------------------------------------------------------------ state of the page

const hist = new History(params.room);
const ui = {
  rangeMin: 5,
  cueFilter: "active",
  dragging: null,
  feedPaused: false,
  libProduct: null,
  drafts: new Map(), // product id -> { faq: {topic: text}, dirtyFaq: Set, points: [...], dirtyPoints: bool }
  importPlan: null,
};

const client = new RoomClient({ room: params.room, role: "console", token: params.token, onRender: render });
client.onMessage((m) => {
  if (m.type === "snapshot") hist.start(m.room);
  if ((m.type === "snapshot" || m.type === "stats") && client.stats) hist.add(client.stats);
  if (m.type === "script") scriptChanged(m.product.id);
});
client.connect();
// The review of the running session (and, once it ends, of the last one) is one click away.
{
  const q = new URLSearchParams({ format: "html" });
  if (params.token) q.set("token", params.token);
  document.getElementById("report-link").href =
    "/api/rooms/" + encodeURIComponent(params.room) + "/report?" + q.toString();
}
setInterval(() => client.mark("tick"), 1000);
window.addEventListener("resize", () => client.mark("stats"));
window.livecue = client;

// ------------------------------------------------------------------ commands

/** Sends a command; errors become a toast. Returns whether it was applied. */
async function act(command, done) {
  try {
    await client.send(command);
    if (done) toast(done, "ok");
    return true;
  } catch (e) {
    toast(`${commandName(command.type)}失败: ${e.message}`, "error");
    return false;
  }
}

function commandName(type) {
  return (
    {
      set_pitching: "设置正在讲",
      reorder: "调整排期",
      ack_cue: "处理提示",
      dismiss_cue: "忽略提示",
      pin_cue: "置顶提示",
      mark_answered: "标记已答",
      set_faq: "保存回答",
      set_points: "保存卖点",
      forget: "遗忘观众",
    }[type] || type
  );
}

function toast(text, kind) {
  const t = h("div", { className: `toast ${kind || ""}` }, text);
  $("toasts").appendChild(t);
  setTimeout(() => t.classList.add("gone"), 2600);
  setTimeout(() => t.remove(), 3200);
}

// ------------------------------------------------------------------ render

function render(dirty) {
  if (dirty.has("status")) renderStatus();
  if (dirty.has("room")) renderRoom();
  if (dirty.has("catalog") || dirty.has("room")) renderProductPickers();
  if (dirty.has("stats") || dirty.has("pitching")) renderTotals();
  if (dirty.has("stats")) renderCharts();
  if (dirty.has("stats") || dirty.has("queue") || dirty.has("pitching") || dirty.has("catalog") || dirty.has("cues")) {
    renderProducts();
  }
  if (dirty.has("stats") || dirty.has("queue") || dirty.has("catalog")) renderIntents();
  if (dirty.has("stats")) renderWords();
  if (dirty.has("questions") || dirty.has("catalog")) renderQuestions();
  if (dirty.has("cues") || dirty.has("tick") || dirty.has("catalog") || dirty.has("pitching")) renderCues();
  if (dirty.has("pitching") || dirty.has("catalog") || dirty.has("room")) renderReplies();
  if (dirty.has("comments")) renderFeed();
  if (dirty.has("stats")) renderMix();
  if (dirty.has("variants")) renderVariants();
  if (dirty.has("comments") || dirty.has("tick")) renderPaid();
  if (dirty.has("catalog") || dirty.has("room") || dirty.has("pitching") || dirty.has("library")) renderLibrary();
}

function renderStatus() {
  const conn = $("conn");
  const text = { live: "● 实时", connecting: "连接中…", reconnecting: "重连中…" }[client.status];
  setText(conn, text);
  conn.className = "conn " + client.status;
  setClass(document.body, "stale", client.status !== "live" && client.everConnected);
}

function renderRoom() {
  if (!client.info) return;
  setText($("room-name"), client.info.name || client.info.id);
  setText($("room-id"), client.info.id);
  document.title = `${client.info.name || client.info.id} · LiveCue 场控台`;
}

function renderProductPickers() {
  for (const [id, first] of [
    ["pitch-select", "（无）"],
    ["reply-product", "跟随正在讲"],
  ]) {
    const sel = $(id);
    const want = [["", first], ...client.catalog.map((p) => [p.id, `${p.id}号 ${p.name}`])];
    const have = [...sel.options].map((o) => [o.value, o.textContent]);
    if (JSON.stringify(want) !== JSON.stringify(have)) {
      const value = sel.value;
      sel.replaceChildren(...want.map(([v, t]) => h("option", { value: v }, t)));
      sel.value = value;
    }
  }
  setText($("topic-list"), TOPICS.map(([k, n]) => `${n}(${k})`).join(" · "));
}

function renderTotals() {
  const s = client.stats;
  const sel = $("pitch-select");
  if (document.activeElement !== sel) sel.value = client.pitching || "";
  if (!s) return;
  const w10 = s["10s"];
  const w60 = s["60s"];
  setText($("t-rate"), w10.rate.toFixed(1));
  const m = w60.sentiment.mean;
  setText($("t-mood"), (m > 0 ? "+" : "") + m.toFixed(2));
  $("t-mood").className = mood(m);
  setText($("t-comments"), big(s.totals.comments));
  setText($("t-orders"), big(s.totals.orders));
  setText($("t-gmv"), "¥" + big(Math.round(s.totals.order_amount)));
  setText($("t-gifts"), "¥" + big(Math.round(s.totals.gift_value)));
}

function renderCharts() {
  if ($("live").hidden || !client.stats) return;
  const t1 = client.stats.now;
  const range = ui.rangeMin * 60_000;
  const t0 = t1 - range;
  const step = ui.rangeMin <= 5 ? 2000 : ui.rangeMin <= 15 ? 5000 : 10_000;
  const rate = bucket(
    hist.ratePoints().filter(([t]) => t >= t0 - step),
    step,
  );
  const rateMax = niceMax(Math.max(1, ...rate.map((p) => p[1])) * 1.1);
  timeChart($("rate-chart"), {
    t0,
    t1,
    yMin: 0,
    yMax: rateMax,
    yTicks: [0, rateMax / 2, rateMax],
    fmtY: (v) => (v >= 10 ? String(Math.round(v)) : String(Math.round(v * 10) / 10)),
    series: [{ pts: rate, cls: "rate-line", area: true }],
    empty: "等待数据…",
  });
  const moodPts = bucket(
    hist.moodPoints().filter(([t]) => t >= t0 - step),
    step,
  );
  const extent = Math.max(0.2, Math.ceil(Math.max(0, ...moodPts.map((p) => Math.abs(p[1]))) * 10) / 10);
  timeChart($("mood-chart"), {
    t0,
    t1,
    yMin: -extent,
    yMax: extent,
    yTicks: [-extent, 0, extent],
    fmtY: (v) => (v > 0 ? "+" : "") + v.toFixed(1),
    series: [{ pts: moodPts, cls: "mood-line", area: "split" }],
    empty: "打开控制台后开始记录情绪",
  });
  const w10 = client.stats["10s"];
  setText($("rate-now"), `现在 ${w10.rate.toFixed(1)} 条/秒 · 5分钟均值 ${client.stats["5m"].rate.toFixed(1)}`);
  const m = w10.sentiment;
  setText($("mood-now"), `正面 ${m.positive} · 中性 ${m.neutral} · 负面 ${m.negative}`);
}

// ---------- products: demand table, pitching, queue

function renderProducts() {
  if (ui.dragging) return; // Don't move rows under the operator's pointer.
  const stats = new Map(((client.stats && client.stats.products) || []).map((p) => [p.id, p]));
  const order = client.queue.filter((id) => client.product(id));
  for (const p of client.catalog) if (!order.includes(p.id)) order.push(p.id);
  const maxScore = Math.max(1, ...[...stats.values()].map((p) => p.score));
  const next = client.nextProduct();
  const suggested = new Set(
    client
      .activeCues()
      .filter((c) => c.kind === "product_order" && c.product)
      .map((c) => c.product),
  );
  keyed(
    $("products"),
    order,
    (id) => id,
    (id) => productRow(id),
    (tr, id, i) => {
      const p = client.product(id);
      const s = stats.get(id);
      const d = s ? s.demand_60s : null;
      setText(tr.querySelector(".pid"), `${id}号`);
      setText(tr.querySelector(".pname"), p.name);
      tr.querySelector(".pname").title = p.name;
      setText(tr.querySelector(".pprice"), price(p.price));
      const pitching = client.pitching === id;
      setClass(tr, "pitching", pitching);
      setClass(tr, "is-next", !!next && next.id === id && !pitching);
      setClass(tr, "suggested", suggested.has(id));
      const badge = tr.querySelector(".badge");
      setText(badge, pitching ? "在讲" : suggested.has(id) ? "建议换" : next && next.id === id ? "下一个" : "");
      badge.hidden = !badge.textContent;
      const score = s ? s.score : 0;
      setText(tr.querySelector(".score b"), score >= 100 ? Math.round(score) : score.toFixed(1).replace(/\.0$/, ""));
      tr.querySelector(".score i").style.width = ((100 * score) / maxScore).toFixed(1) + "%";
      setText(tr.querySelector(".c-mentions"), d ? d.mentions : 0);
      const questions = s ? Object.values(s.questions).reduce((a, b) => a + b, 0) : 0;
      const qcell = tr.querySelector(".c-questions");
      setText(qcell, questions);
      qcell.title = s
        ? Object.entries(s.questions)
            .map(([t, n]) => `${topicName(t)} ${n}`)
            .join(" · ") || "没有提问"
        : "";
      setText(tr.querySelector(".c-want"), d ? d.purchase : 0);
      const d5 = s ? s.demand_5m : null;
      setText(tr.querySelector(".c-orders"), d5 && d5.orders ? `${d5.orders} · ¥${big(Math.round(d5.order_amount))}` : "0");
      const dot = tr.querySelector(".mood-dot");
      dot.className = "mood-dot " + (d && d.mentions ? mood(s.sentiment) : "none");
      dot.title = d && d.mentions ? `情绪均值 ${s.sentiment.toFixed(2)}` : "没有数据";
      tr.querySelector("[data-action=up]").disabled = i === 0;
      tr.querySelector("[data-action=down]").disabled = i === order.length - 1;
      const pitch = tr.querySelector("[data-action=pitch]");
      pitch.disabled = pitching;
      setText(pitch, pitching ? "讲解中" : "开讲");
    },
  );
}

function productRow(id) {
  const tr = h(
    "tr",
    { draggable: true },
    h(
      "td",
      { className: "c-order" },
      h("span", { className: "handle", title: "拖动调整排期" }, "⋮⋮"),
      h("button", { type: "button", className: "icon", title: "上移", data: { action: "up" } }, "▲"),
      h("button", { type: "button", className: "icon", title: "下移", data: { action: "down" } }, "▼"),
    ),
    h(
      "td",
      { className: "c-product" },
      h("div", { className: "p-line" }, h("span", { className: "pid" }), h("span", { className: "pname" })),
      h("div", { className: "p-sub" }, h("span", { className: "pprice" }), h("span", { className: "badge", hidden: true })),
    ),
    h("td", { className: "num score" }, h("b"), h("span", { className: "bar" }, h("i"))),
    h("td", { className: "num c-mentions" }),
    h("td", { className: "num c-questions" }),
    h("td", { className: "num c-want" }),
    h("td", { className: "num c-orders" }),
    h("td", { className: "c-mood" }, h("i", { className: "mood-dot" })),
    h("td", { className: "c-act" }, h("button", { type: "button", className: "pitch", data: { action: "pitch" } }, "开讲")),
  );
  tr.dataset.id = id;
  return tr;
}

function currentOrder() {
  return [...$("products").children].map((tr) => tr.dataset.key);
}

$("products").addEventListener("click", (ev) => {
  const btn = ev.target.closest("button[data-action]");
  if (!btn) return;
  const id = btn.closest("tr").dataset.key;
  const order = currentOrder();
  const i = order.indexOf(id);
  if (btn.dataset.action === "pitch") {
    act({ type: "set_pitching", product: id }, `正在讲: ${client.productLabel(id)}`);
  } else if (btn.dataset.action === "up" && i > 0) {
    [order[i - 1], order[i]] = [order[i], order[i - 1]];
    act({ type: "reorder", order });
  } else if (btn.dataset.action === "down" && i < order.length - 1) {
    [order[i + 1], order[i]] = [order[i], order[i + 1]];
    act({ type: "reorder", order });
  }
});

// Drag to reorder (HTML5 drag and drop on the rows).
$("products").addEventListener("dragstart", (ev) => {
  const tr = ev.target.closest("tr");
  if (!tr) return;
  ui.dragging = tr.dataset.key;
  tr.classList.add("dragging");
  ev.dataTransfer.effectAllowed = "move";
  ev.dataTransfer.setData("text/plain", tr.dataset.key);
});
$("products").addEventListener("dragover", (ev) => {
  if (!ui.dragging) return;
  ev.preventDefault();
  const over = ev.target.closest("tr");
  const moving = $("products").querySelector("tr.dragging");
  if (!over || !moving || over === moving) return;
  const r = over.getBoundingClientRect();
  const after = ev.clientY > r.top + r.height / 2;
  $("products").insertBefore(moving, after ? over.nextSibling : over);
});
$("products").addEventListener("drop", (ev) => {
  if (!ui.dragging) return;
  ev.preventDefault();
  const order = currentOrder();
  finishDrag();
  if (order.join() !== client.queue.join()) act({ type: "reorder", order });
});
$("products").addEventListener("dragend", () => {
  if (ui.dragging) finishDrag();
});

function finishDrag() {
  ui.dragging = null;
  for (const tr of $("products").querySelectorAll("tr.dragging")) tr.classList.remove("dragging");
  client.mark("queue");
}

$("sort-by-score").addEventListener("click", () => {
  const scores = new Map(((client.stats && client.stats.products) || []).map((p) => [p.id, p.score]));
  const rest = client.queue.filter((id) => id !== client.pitching);
  rest.sort((a, b) => (scores.get(b) || 0) - (scores.get(a) || 0));
  const order = client.pitching && client.queue.includes(client.pitching) ? [client.pitching, ...rest] : rest;
  act({ type: "reorder", order }, "已按热度重排 (正在讲的保持第一)");
});

$("pitch-select").addEventListener("change", (ev) => {
  const v = ev.target.value;
  act({ type: "set_pitching", product: v || null }, v ? `正在讲: ${client.productLabel(v)}` : "已清除正在讲");
});

// ---------- intents

/** Intents and question topics, grouped into a few colours an operator can tell apart. */
const GROUPS = [
  { key: "g-price", label: "价格/优惠", topics: ["price", "discount"], intents: ["ask_price", "ask_discount"] },
  { key: "g-fit", label: "尺码/规格", topics: ["size", "spec"], intents: ["ask_size", "ask_spec"] },
  { key: "g-buy", label: "库存/链接", topics: ["stock", "link"], intents: ["ask_stock", "ask_link"] },
  { key: "g-service", label: "发货/售后", topics: ["shipping", "aftersale"], intents: ["ask_shipping", "ask_aftersale"] },
  { key: "g-quality", label: "质量", topics: ["quality"], intents: ["ask_quality"] },
  { key: "g-other", label: "用法/展示/对比", topics: ["usage", "demo", "compare"], intents: ["ask_usage", "request_demo", "compare"] },
  { key: "g-purchase", label: "已拍/想买", topics: [], intents: ["purchase"] },
  { key: "g-praise", label: "夸赞", topics: [], intents: ["praise"] },
  { key: "g-complaint", label: "抱怨", topics: [], intents: ["complaint"] },
  { key: "g-chatter", label: "闲聊/刷屏", topics: [], intents: ["chatter", "spam"] },
];

function stackBar(segments, total, widthPct) {
  return h(
    "span",
    { className: "stack", style: { width: widthPct.toFixed(1) + "%" } },
    segments
      .filter((s) => s.n > 0)
      .map((s) =>
        h("i", {
          className: s.key,
          style: { width: ((100 * s.n) / total).toFixed(2) + "%" },
          title: `${s.label} ${s.n}${s.detail ? " (" + s.detail + ")" : ""}`,
        }),
      ),
  );
}

function renderIntents() {
  const s = client.stats;
  if (!s) return;
  const intents = s["60s"].intents || {};
  const roomSegs = GROUPS.map((g) => ({
    key: g.key,
    label: g.label,
    n: g.intents.reduce((a, i) => a + (intents[i] || 0), 0),
    detail: g.intents
      .filter((i) => intents[i])
      .map((i) => `${intentName(i)} ${intents[i]}`)
      .join(", "),
  }));
  const roomTotal = roomSegs.reduce((a, x) => a + x.n, 0);
  const top = INTENTS.filter(([k]) => intents[k])
    .sort((a, b) => intents[b[0]] - intents[a[0]])
    .slice(0, 6)
    .map(([k, n]) => `${n} ${intents[k]}`)
    .join(" · ");
  $("intent-room").replaceChildren(
    h("div", { className: "intent-row room" }, h("span", { className: "label" }, "全场"), roomTotal ? stackBar(roomSegs, roomTotal, 100) : h("span", { className: "none" }, "暂无")),
    h("div", { className: "intent-top" }, top || ""),
  );
  const products = new Map((s.products || []).map((p) => [p.id, p]));
  const rows = [];
  let max = 1;
  const order = client.queue.length ? client.queue : client.catalog.map((p) => p.id);
  for (const id of order) {
    const p = products.get(id);
    if (!p) continue;
    const segs = GROUPS.filter((g) => g.topics.length || g.key === "g-purchase" || g.key === "g-complaint").map((g) => ({
      key: g.key,
      label: g.label,
      n:
        g.key === "g-purchase"
          ? p.demand_60s.purchase
          : g.key === "g-complaint"
            ? p.demand_60s.complaints
            : g.topics.reduce((a, t) => a + (p.questions[t] || 0), 0),
      detail: g.topics
        .filter((t) => p.questions[t])
        .map((t) => `${topicName(t)} ${p.questions[t]}`)
        .join(", "),
    }));
    const total = segs.reduce((a, x) => a + x.n, 0);
    max = Math.max(max, total);
    rows.push({ id, segs, total });
  }
  keyed(
    $("intent-products"),
    rows,
    (r) => r.id,
    () => h("div", { className: "intent-row" }, h("span", { className: "label" }), h("span", { className: "track" }), h("span", { className: "n" })),
    (row, r) => {
      setText(row.children[0], `${r.id}号`);
      row.children[0].title = client.productLabel(r.id);
      setClass(row, "pitching", client.pitching === r.id);
      row.children[1].replaceChildren(r.total ? stackBar(r.segs, r.total, (100 * r.total) / max) : h("span", { className: "none" }, "—"));
      setText(row.children[2], r.total || "");
    },
  );
  if (!$("intent-legend").childElementCount) {
    $("intent-legend").replaceChildren(...GROUPS.map((g) => h("span", {}, h("i", { className: g.key }), g.label)));
  }
}

// ---------- hot words

function renderWords() {
  const words = (client.stats && client.stats.hot_words) || [];
  if (!words.length) return;
  const max = Math.max(...words.map((w) => w.score), 0.001);
  keyed(
    $("words"),
    words,
    (w) => w.word,
    (w) => h("span", { className: "word" }, w.word),
    (el, w, i) => {
      const r = Math.sqrt(w.score / max);
      el.style.fontSize = (13 + 19 * r).toFixed(1) + "px";
      el.style.opacity = (0.55 + 0.45 * r).toFixed(2);
      setClass(el, "top", i < 3);
      el.title = `热度 ${w.score.toFixed(1)}`;
    },
  );
}

// ---------- question clusters

function renderQuestions() {
  const list = (client.stats && client.stats.questions) || [];
  const box = $("questions");
  if (!list.length) {
    if (!box.querySelector(".empty")) box.replaceChildren(h("li", { className: "empty" }, "还没有重复的问题。"));
    return;
  }
  keyed(
    box,
    list,
    (q) => q.key,
    () =>
      h(
        "li",
        { className: "question" },
        h("div", { className: "q-count" }, h("b"), h("small", {}, "人/60秒")),
        h(
          "div",
          { className: "q-body" },
          h("div", { className: "q-title" }, h("span", { className: "q-topic" }), h("span", { className: "q-product" }), h("span", { className: "q-answered" }, "已答")),
          h("div", { className: "q-meta" }),
          h("ul", { className: "q-samples" }),
          h("div", { className: "q-faq" }),
        ),
        h(
          "div",
          { className: "q-actions" },
          h("button", { type: "button", data: { action: "answered" } }, "标记已答"),
          h("button", { type: "button", className: "ghost", data: { action: "copy" } }, "复制回答"),
        ),
      ),
    (li, q) => {
      li.dataset.keyName = q.key;
      setText(li.querySelector(".q-count b"), q.askers_60s);
      setText(li.querySelector(".q-topic"), topicName(q.topic));
      setText(li.querySelector(".q-product"), q.product ? client.productLabel(q.product) : "未指明商品");
      setText(li.querySelector(".q-meta"), `5分钟 ${q.askers_5m} 人 · 累计 ${q.total} 次 · ${ago(q.last_seen)}`);
      setClass(li, "answered", q.answered);
      li.querySelector(".q-answered").hidden = !q.answered;
      const samples = li.querySelector(".q-samples");
      const want = q.samples.slice().reverse();
      if ([...samples.children].map((x) => x.textContent).join("\n") !== want.join("\n")) {
        samples.replaceChildren(...want.map((t) => h("li", {}, t)));
      }
      const answer = faqAnswer(q.product, q.topic);
      setText(li.querySelector(".q-faq"), answer ? "→ " + answer : "话术库里没有这个问题的回答");
      setClass(li.querySelector(".q-faq"), "missing", !answer);
      const mark = li.querySelector("[data-action=answered]");
      mark.disabled = q.answered;
      setText(mark, q.answered ? "已答 ✓" : "标记已答");
      li.querySelector("[data-action=copy]").hidden = !answer;
    },
  );
}

function faqAnswer(productId, topic) {
  const p = client.product(productId || client.pitching);
  return p && p.faq && p.faq[topic] ? fill(p.faq[topic], p) : null;
}

$("questions").addEventListener("click", async (ev) => {
  const btn = ev.target.closest("button[data-action]");
  if (!btn) return;
  const li = btn.closest("li");
  const key = li.dataset.key;
  const q = ((client.stats && client.stats.questions) || []).find((x) => x.key === key);
  if (btn.dataset.action === "answered") {
    act({ type: "mark_answered", key });
  } else if (btn.dataset.action === "copy" && q) {
    const answer = faqAnswer(q.product, q.topic);
    if (answer) toast((await copyText(answer)) ? "已复制回答" : "复制失败, 请手动选中", "ok");
  }
});

// ---------- cue stream

function renderCues() {
  const all = [...client.cues.values()].sort((a, b) => b.created_at - a.created_at);
  const active = client.activeCues();
  const activeIds = new Set(active.map((c) => c.id));
  const list = ui.cueFilter === "active" ? active : all.slice(0, 50);
  setText($("cue-count"), `${active.length} 条进行中 · 共 ${client.cues.size}`);
  const box = $("cues");
  if (!list.length) {
    if (!box.querySelector(".empty")) {
      box.replaceChildren(h("li", { className: "empty" }, ui.cueFilter === "active" ? "现在没有进行中的提示。" : "还没有提示。"));
    }
    return;
  }
  const now = client.now();
  keyed(box, list, (c) => c.id, cueItem, (li, c) => {
    const on = activeIds.has(c.id);
    const state = c.state === "active" && !on ? "expired" : c.state;
    li.className = `cue-item k-${c.kind} s-${state}`;
    setText(li.querySelector(".state"), stateName(state));
    const left = Math.max(0, Math.round((c.expires_at - now) / 1000));
    setText(li.querySelector(".when"), `${clock(c.created_at)}${state === "active" ? ` · 剩 ${left} 秒` : ""}`);
    li.querySelector("[data-action=ack_cue]").disabled = !on;
    li.querySelector("[data-action=dismiss_cue]").disabled = !on;
    li.querySelector("[data-action=pin_cue]").disabled = state !== "active";
    for (const b of li.querySelectorAll("[data-action^=adopt]")) b.disabled = !on || c.product === client.pitching;
  });
}

function stateName(s) {
  return { active: "进行中", pinned: "已置顶", acked: "已处理", dismissed: "已忽略", expired: "已过期" }[s] || s;
}

function cueItem(c) {
  const e = c.evidence || {};
  const facts = [];
  if (e.count) facts.push(`${e.count}${c.kind === "answer_question" ? " 人" : ""}`);
  if (e.window_s) facts.push(`${e.window_s} 秒窗口`);
  if (e.topic) facts.push(`话题 ${topicName(e.topic)}`);
  if (e.key) facts.push(`问题 ${e.key}`);
  if (e.rate !== undefined && e.rate !== null) facts.push(`速率 ${e.rate}/秒`);
  if (e.baseline !== undefined && e.baseline !== null) facts.push(`基线 ${e.baseline}/秒`);
  if (c.variant) facts.push(`语气 ${c.variant}`);
  facts.push(`优先级 ${c.priority}`);
  const ranking = (e.ranking || []).map((r) => `${r.product}号 ${r.score}`).join(" > ");
  return h(
    "li",
    { className: `cue-item k-${c.kind}` },
    h(
      "div",
      { className: "cue-head" },
      h("span", { className: "kind" }, kindLabel(c.kind)),
      c.product ? h("span", { className: "product" }, client.productLabel(c.product)) : null,
      h("span", { className: "state" }),
      h("span", { className: "when" }),
    ),
    h("div", { className: "cue-text" }, c.text),
    h("div", { className: "cue-reason" }, c.reason),
    h(
      "details",
      { className: "evidence" },
      h("summary", {}, "依据 · ", facts.join(" · ")),
      ranking ? h("div", { className: "ranking" }, "热度排名: ", ranking) : null,
      e.samples && e.samples.length ? h("ul", { className: "samples" }, e.samples.map((s) => h("li", {}, s))) : null,
    ),
    h(
      "div",
      { className: "cue-actions" },
      h("button", { type: "button", data: { action: "ack_cue" }, title: "已经讲了 (答疑类会同时标记问题已答)" }, "✓ 已处理"),
      h("button", { type: "button", data: { action: "pin_cue" }, title: "一直留在提示屏上, 直到忽略" }, "◆ 置顶"),
      h("button", { type: "button", className: "ghost", data: { action: "dismiss_cue" }, title: "从提示屏撤下" }, "✕ 忽略"),
      c.kind === "product_order" && c.product
        ? [
            h("span", { className: "spacer" }),
            h("button", { type: "button", data: { action: "adopt_next" }, title: "把这个商品排到正在讲的后面, 并标记已处理" }, "排到下一个"),
            h("button", { type: "button", data: { action: "adopt_pitch" }, title: "现在就讲这个商品, 并标记已处理" }, "现在开讲"),
          ]
        : null,
    ),
  );
}

$("cues").addEventListener("click", async (ev) => {
  const btn = ev.target.closest("button[data-action]");
  if (!btn) return;
  const id = btn.closest("li").dataset.key;
  const cue = client.cues.get(id);
  const action = btn.dataset.action;
  if (action === "adopt_next" && cue) {
    // Follow a 换品 cue: the product goes right after the one being pitched.
    const order = client.queue.filter((p) => p !== cue.product);
    order.splice(order.indexOf(client.pitching) + 1, 0, cue.product);
    if (await act({ type: "reorder", order }, `${client.productLabel(cue.product)} 排到下一个`)) act({ type: "ack_cue", id });
  } else if (action === "adopt_pitch" && cue) {
    if (await act({ type: "set_pitching", product: cue.product }, `正在讲: ${client.productLabel(cue.product)}`)) {
      act({ type: "ack_cue", id });
    }
  } else {
    act({ type: action, id });
  }
});

// ---------- quick replies

function renderReplies() {
  const chosen = $("reply-product").value || client.pitching;
  const p = client.product(chosen);
  const items = [];
  if (p) {
    for (const [topic] of TOPICS) {
      if (p.faq && p.faq[topic]) items.push({ key: `${p.id}:${topic}`, topic, text: fill(p.faq[topic], p) });
    }
  }
  const box = $("replies");
  if (!items.length) {
    box.replaceChildren(h("li", { className: "empty" }, p ? "这个商品还没有常见问题回答, 去话术库添加。" : "选择一个商品。"));
    return;
  }
  keyed(
    box,
    items,
    (r) => r.key,
    () => h("li", { className: "reply" }, h("span", { className: "r-topic" }), h("span", { className: "r-text" }), h("button", { type: "button", className: "ghost", data: { action: "copy" } }, "复制")),
    (li, r) => {
      setText(li.querySelector(".r-topic"), topicName(r.topic));
      setText(li.querySelector(".r-text"), r.text);
      li.dataset.text = r.text;
    },
  );
}

$("reply-product").addEventListener("change", () => renderReplies());
$("replies").addEventListener("click", async (ev) => {
  const btn = ev.target.closest("button[data-action=copy]");
  if (!btn) return;
  const li = btn.closest("li");
  const ok = await copyText(li.dataset.text);
  setText(btn, ok ? "已复制" : "失败");
  setTimeout(() => setText(btn, "复制"), 1500);
});

// ---------- comment feed

function renderFeed() {
  if (ui.feedPaused) return;
  const list = client.comments.slice(-80).reverse();
  keyed(
    $("feed"),
    list,
    (c) => c._n,
    (c) =>
      h(
        "li",
        { className: `comment ${c.label}${c.super_chat ? " sc" : ""}` },
        h("span", { className: "c-time" }, clock(c.ts)),
        c.super_chat ? h("span", { className: "sc-price" }, money(c.super_chat.price_cny)) : null,
        medalChip(c.medal),
        h("span", { className: "c-text" }, c.text),
        c.product ? h("span", { className: "c-prod" }, `${c.product}号`) : null,
        (c.intents || [])
          .filter((i) => i !== "chatter")
          .map((i) => h("span", { className: `c-intent i-${i}` }, intentName(i))),
        c.viewer_id
          ? h(
              "button",
              {
                className: "c-who",
                title: `观众 ${c.viewer} 的画像和标签`,
                on: { click: () => showViewer(c) },
              },
              "画像",
            )
          : null,
        c.viewer_id
          ? h(
              "button",
              {
                className: "c-forget",
                title: `遗忘观众 ${c.viewer}: 删除其画像和已存的弹幕`,
                on: { click: (e) => forgetViewer(c, e.currentTarget) },
              },
              "遗忘",
            )
          : null,
      ),
    () => {},
  );
}

/** A viewer's tags (static, dynamic, derived) and RFM scores, from the room, as a toast. */
async function showViewer(c) {
  try {
    const headers = params.token ? { Authorization: `Bearer ${params.token}` } : {};
    const url = `/api/rooms/${encodeURIComponent(params.room)}/viewers/${encodeURIComponent(c.viewer_id)}`;
    const res = await fetch(url, { headers });
    const reply = await res.json();
    if (!res.ok) throw new Error(reply.message || `HTTP ${res.status}`);
    const t = reply.tags || {};
    const tags = [...(t.derived || []), ...(t.static || []), ...(t.dynamic || [])];
    const [r, f, m] = reply.rfm || [];
    toast(
      `${c.viewer}: ${tags.length ? tags.join(" · ") : "暂无标签"} · ${reply.profile.comments} 条弹幕 · RFM ${r}/${f}/${m}`,
      "ok",
    );
  } catch (e) {
    toast(`读取画像失败: ${e.message}`, "error");
  }
}

/**
 * A viewer asked to be forgotten: their profile and stored comments go, everywhere. The first
 * click arms the button (确认?) for a few seconds, the second sends: no dialog (OBS docks and
 * some kiosks block them).
 */
function forgetViewer(c, button) {
  if (!button.classList.contains("armed")) {
    button.classList.add("armed");
    button.textContent = "确认遗忘?";
    setTimeout(() => {
      button.classList.remove("armed");
      button.textContent = "遗忘";
    }, 4000);
    return;
  }
  act({ type: "forget", viewer: c.viewer_id }, `已遗忘 ${c.viewer}: 画像和已存弹幕已删除`);
}

// ---------- audience mix and the script-variant experiments

function renderMix() {
  const mix = client.stats && client.stats.audience;
  if (!mix) return;
  setText($("audience-note"), `最近活跃 ${mix.active} 人`);
  keyed(
    $("mix"),
    mix.shares || [],
    (s) => s.segment,
    (s) =>
      h(
        "li",
        { className: "mix-row" },
        h("span", { className: "mix-name" }, s.segment),
        h("span", { className: "mix-bar" }, h("span", { className: "mix-fill" })),
        h("span", { className: "mix-pct" }),
      ),
    (el, s) => {
      const pct = Math.round((s.share || 0) * 100);
      el.querySelector(".mix-fill").style.width = `${pct}%`;
      setText(el.querySelector(".mix-pct"), `${pct}% · ${s.viewers}`);
    },
  );
}

function renderVariants() {
  const v = client.variants || { variants: [], verdicts: [], pending: 0 };
  keyed(
    $("verdicts"),
    v.verdicts || [],
    (t) => t,
    (t) => h("li", null, t),
    () => {},
  );
  const rows = v.variants || [];
  keyed(
    $("variants").querySelector("tbody"),
    rows,
    (r) => `${r.slot}|${r.context}|${r.variant}`,
    () => h("tr", null, h("td"), h("td"), h("td"), h("td", { className: "n" }), h("td", { className: "n" }), h("td")),
    (el, r) => {
      const cells = el.children;
      setText(cells[0], r.slot);
      setText(cells[1], r.context);
      setText(cells[2], r.variant);
      setText(cells[3], r.exposures);
      setText(cells[4], r.mean_reward === null || r.mean_reward === undefined ? "—" : r.mean_reward.toFixed(2));
      setText(cells[5], `${r.interval[0].toFixed(2)}–${r.interval[1].toFixed(2)}`);
    },
  );
  setText(
    $("variants-note"),
    rows.length
      ? `回报 0.5 = 无变化; 区间 95%. 等待结果: ${v.pending} 次`
      : `还没有结果: 带版本的卖点提示被采纳或展示后 2 分钟出结果${v.pending ? ` (等待中 ${v.pending} 次)` : ""}`,
  );
}

function medalChip(medal) {
  if (!medal || !medal.name) return null;
  return h("span", { className: "c-medal", title: "粉丝牌" }, `${medal.name} ${medal.level || 0}`);
}

function money(yuan) {
  const n = Number(yuan) || 0;
  return `¥${Number.isInteger(n) ? n : n.toFixed(2)}`;
}

// ---------- paid comments (醒目留言): on top of the feed while they last, dearest first

/** Paid comments seen (snapshot and stats), by a key of time and text. */
const paid = new Map();
const MAX_PAID = 50;

client.onMessage((m) => {
  if (m.type === "snapshot") {
    paid.clear();
    for (const c of m.super_chats || []) paid.set(`${c.ts}|${c.text}`, c);
  }
  if (m.type === "snapshot" || m.type === "stats") {
    for (const c of m.comments || []) if (c.super_chat) paid.set(`${c.ts}|${c.text}`, c);
    while (paid.size > MAX_PAID) paid.delete(paid.keys().next().value);
  }
});

function renderPaid() {
  const now = client.now();
  for (const [k, c] of paid) if (!c.super_chat || c.super_chat.until <= now) paid.delete(k);
  const list = [...paid.entries()].sort(
    (a, b) => b[1].super_chat.price_cny - a[1].super_chat.price_cny || b[1].ts - a[1].ts,
  );
  keyed(
    $("paid"),
    list,
    ([k]) => k,
    ([, c]) =>
      h(
        "li",
        { className: "paid-item", title: "醒目留言: 置顶到 " + clock(c.super_chat.until) },
        h("span", { className: "sc-price" }, money(c.super_chat.price_cny)),
        medalChip(c.medal),
        h("span", { className: "c-text" }, c.text),
        c.product ? h("span", { className: "c-prod" }, `${c.product}号`) : null,
        h("span", { className: "c-time" }, " " + clock(c.ts)),
      ),
    () => {},
  );
}

// ---------- platform sources: health, polled from GET /api/rooms/R/sources

const SOURCES_EVERY_MS = 3000;
const STATE_NAMES = {
  connected: "已连接",
  connecting: "连接中",
  backoff: "等待重连",
  listening: "接收推送",
  stopped: "已停止",
};
const GAP_REASONS = { disconnected: "断线", sequence: "序号跳过", not_connected: "未连上" };

async function pollSources() {
  try {
    const headers = params.token ? { Authorization: `Bearer ${params.token}` } : {};
    const res = await fetch(`/api/rooms/${encodeURIComponent(params.room)}/sources`, { headers });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const reply = await res.json();
    renderSources(reply);
  } catch (e) {
    setText($("sources-note"), `读取失败 (${e.message})`);
  }
}

function renderSources(reply) {
  const sources = reply.sources || [];
  const now = reply.now || client.now();
  setText($("sources-note"), sources.length ? `${sources.length} 个` : "");
  if (!sources.length) {
    const ul = $("sources");
    ul.replaceChildren(h("li", { className: "empty" }, "没有配置平台来源; 弹幕来自 ingest 接口。"));
    return;
  }
  keyed(
    $("sources"),
    sources,
    (s) => s.name,
    () => h("li", { className: "source" }),
    (li, s) => li.replaceChildren(...sourceLines(s, now)),
  );
}

function sourceLines(s, now) {
  const age = (t) => {
    const sec = Math.max(0, Math.round((now - t) / 1000));
    return sec < 60 ? `${sec} 秒前` : sec < 3600 ? `${Math.round(sec / 60)} 分钟前` : `${Math.round(sec / 3600)} 小时前`;
  };
  const errors = Object.values(s.decode_errors || {}).reduce((a, b) => a + b, 0);
  const lines = [
    h(
      "div",
      null,
      h("span", { className: "s-name" }, s.name),
      h("span", { className: "s-kind" }, s.kind),
      h("span", { className: `s-state ${s.state}` }, STATE_NAMES[s.state] || s.state),
    ),
    h(
      "div",
      { className: "s-line" },
      `最后消息 ${s.last_message_at ? age(s.last_message_at) : "—"} · 重连 ${s.reconnects} · 解码错误 ${errors} · 缺口 ${s.gaps_total}`,
    ),
  ];
  if (s.gap_open_since) {
    lines.push(h("div", { className: "s-line warn" }, `${clock(s.gap_open_since)} 起弹幕可能缺失 (尚未连上)`));
  }
  const last = (s.gaps || [])[s.gaps.length - 1];
  if (last) {
    const why = GAP_REASONS[last.reason] || last.reason;
    const n = last.missing ? ` ${last.missing} 条` : "";
    lines.push(h("div", { className: "s-line" }, `上次缺口 ${clock(last.from)}–${clock(last.to)} (${why}${n})`));
  }
  if (s.pitching_hint && s.pitching_hint.promotion) {
    const p = s.pitching_hint.product ? client.productLabel(s.pitching_hint.product) : `商品 ${s.pitching_hint.promotion}`;
    lines.push(h("div", { className: "s-line" }, `平台讲解中: ${p}`));
  }
  if (s.shelf && s.shelf.total !== null && s.shelf.total !== undefined) {
    lines.push(h("div", { className: "s-line" }, `货架 ${s.shelf.total} 件${s.shelf.note ? " · " + s.shelf.note : ""}`));
  }
  if (s.state !== "connected" && s.state !== "listening" && s.last_error) {
    lines.push(h("div", { className: "s-line warn" }, s.last_error));
  }
  return lines;
}

pollSources();
setInterval(pollSources, SOURCES_EVERY_MS);

$("feed-pause").addEventListener("change", (ev) => {
  ui.feedPaused = ev.target.checked;
  if (!ui.feedPaused) renderFeed();
});

// ------------------------------------------------------------------ script library (话术库)

function draftOf(id) {
  let d = ui.drafts.get(id);
  if (!d) {
    const p = client.product(id);
    d = { faq: { ...(p.faq || {}) }, dirtyFaq: new Set(), points: clonePoints(p.points), dirtyPoints: false, stale: false };
    ui.drafts.set(id, d);
  }
  return d;
}

function clonePoints(points) {
  return (points || []).map((p) => ({ topic: p.topic || "general", text: p.text, variants: (p.variants || []).map((v) => ({ ...v })) }));
}

function samePoints(a, b) {
  const norm = (ps) => JSON.stringify(clonePoints(ps));
  return norm(a) === norm(b);
}

/** A `script` message: refresh the draft unless the operator is editing it. */
function scriptChanged(id) {
  const d = ui.drafts.get(id);
  const p = client.product(id);
  if (!d || !p) return;
  for (const topic of [...d.dirtyFaq]) {
    if ((p.faq[topic] || "") === (d.faq[topic] || "").trim()) d.dirtyFaq.delete(topic);
  }
  if (d.dirtyPoints && samePoints(d.points, p.points)) d.dirtyPoints = false;
  if (!d.dirtyFaq.size && !d.dirtyPoints) {
    ui.drafts.delete(id);
  } else {
    d.stale = true;
    // Take over what the operator did not touch.
    for (const [topic] of TOPICS) if (!d.dirtyFaq.has(topic)) d.faq[topic] = p.faq[topic] || "";
    if (!d.dirtyPoints) d.points = clonePoints(p.points);
  }
  if (ui.libProduct === id) ui.libRedraw = true;
  client.mark("library");
}

function renderLibrary() {
  if (!client.catalog.length) return;
  if (!ui.libProduct || !client.product(ui.libProduct)) ui.libProduct = client.pitching || client.catalog[0].id;
  keyed(
    $("lib-products"),
    client.catalog,
    (p) => p.id,
    () => h("button", { type: "button", className: "lib-product" }, h("b"), h("span"), h("i", { className: "dot", title: "有未保存的修改" })),
    (btn, p) => {
      setText(btn.children[0], `${p.id}号`);
      setText(btn.children[1], p.name);
      setClass(btn, "on", p.id === ui.libProduct);
      const d = ui.drafts.get(p.id);
      btn.children[2].hidden = !(d && (d.dirtyFaq.size || d.dirtyPoints));
    },
  );
  const shown = $("lib-editor").dataset.product;
  if (shown !== ui.libProduct || ui.libRedraw) {
    ui.libRedraw = false;
    drawEditor();
  }
  const d = ui.drafts.get(ui.libProduct);
  $("lib-stale").hidden = !(d && d.stale);
  updateLibNote();
}

function drawEditor() {
  const id = ui.libProduct;
  const p = client.product(id);
  const d = draftOf(id);
  $("lib-editor").dataset.product = id;
  setText($("lib-title"), `${id}号 ${p.name} ${price(p.price)}`);
  $("faq-rows").replaceChildren(
    ...TOPICS.map(([topic, name]) => {
      const ta = h("textarea", {
        rows: 1,
        value: d.faq[topic] || "",
        maxLength: MAX_TEXT,
        placeholder: "（未填写）",
        data: { topic },
      });
      const row = h("label", { className: "faq-row", data: { topic } }, h("span", { className: "faq-topic" }, name, h("small", {}, topic)), ta);
      setClass(row, "dirty", d.dirtyFaq.has(topic));
      autosize(ta);
      return row;
    }),
  );
  drawPoints();
}

function drawPoints() {
  const d = draftOf(ui.libProduct);
  const topicSelect = (value) =>
    h(
      "select",
      { className: "pt-topic", attrs: { "aria-label": "话题" } },
      TOPICS.map(([k, n]) => h("option", { value: k, selected: k === value }, n)),
    );
  $("points").replaceChildren(
    ...d.points.map((pt, i) =>
      h(
        "li",
        { className: "point", data: { index: i } },
        h(
          "div",
          { className: "pt-head" },
          h("span", { className: "pt-n" }, `卖点 ${i + 1}`),
          topicSelect(pt.topic),
          h("span", { className: "spacer" }),
          h("button", { type: "button", className: "icon", data: { pact: "up" }, disabled: i === 0, title: "上移" }, "▲"),
          h("button", { type: "button", className: "icon", data: { pact: "down" }, disabled: i === d.points.length - 1, title: "下移" }, "▼"),
          h("button", { type: "button", className: "icon danger", data: { pact: "remove" }, title: "删除卖点" }, "✕"),
        ),
        h("textarea", { className: "pt-text", rows: 2, value: pt.text, maxLength: MAX_TEXT, placeholder: "默认文案" }),
        h(
          "ul",
          { className: "variants" },
          pt.variants.map((v, j) =>
            h(
              "li",
              { className: "variant", data: { vindex: j } },
              h("input", { className: "v-tone", value: v.tone, placeholder: "语气 (如 亲切活泼)", maxLength: 40 }),
              h("textarea", { className: "v-text", rows: 1, value: v.text, maxLength: MAX_TEXT, placeholder: "这个语气的说法" }),
              h("button", { type: "button", className: "icon danger", data: { pact: "vremove" }, title: "删除变体" }, "✕"),
            ),
          ),
        ),
        h("button", { type: "button", className: "ghost small", data: { pact: "vadd" } }, "＋ 语气变体"),
      ),
    ),
  );
  for (const ta of $("points").querySelectorAll("textarea")) autosize(ta);
  setClass($("points"), "dirty", d.dirtyPoints);
}

function autosize(ta) {
  requestAnimationFrame(() => {
    ta.style.height = "auto";
    ta.style.height = ta.scrollHeight + 2 + "px";
  });
}

function updateLibNote() {
  const d = ui.drafts.get(ui.libProduct);
  const n = d ? d.dirtyFaq.size + (d.dirtyPoints ? 1 : 0) : 0;
  setText($("lib-note"), n ? `${n} 处未保存` : "已同步");
  setClass($("lib-note"), "dirty", n > 0);
  $("faq-save").disabled = !(d && d.dirtyFaq.size);
  $("points-save").disabled = !(d && d.dirtyPoints);
}

$("lib-products").addEventListener("click", (ev) => {
  const btn = ev.target.closest("button");
  if (!btn) return;
  ui.libProduct = btn.dataset.key;
  client.mark("library");
});

$("faq-rows").addEventListener("input", (ev) => {
  const ta = ev.target.closest("textarea");
  if (!ta) return;
  const d = draftOf(ui.libProduct);
  const topic = ta.dataset.topic;
  d.faq[topic] = ta.value;
  const saved = (client.product(ui.libProduct).faq || {})[topic] || "";
  if (ta.value.trim() === saved) d.dirtyFaq.delete(topic);
  else d.dirtyFaq.add(topic);
  setClass(ta.closest(".faq-row"), "dirty", d.dirtyFaq.has(topic));
  autosize(ta);
  client.mark("library");
});

$("faq-save").addEventListener("click", async () => {
  const id = ui.libProduct;
  const d = draftOf(id);
  const topics = [...d.dirtyFaq];
  let ok = 0;
  for (const topic of topics) {
    if (await act({ type: "set_faq", product: id, topic, text: (d.faq[topic] || "").trim() })) ok += 1;
  }
  if (ok) toast(`已保存 ${ok} 条回答`, "ok");
});

/** Reads the points editor back into the draft. */
function readPoints() {
  const d = draftOf(ui.libProduct);
  d.points = [...$("points").children].map((li) => ({
    topic: li.querySelector(".pt-topic").value,
    text: li.querySelector(".pt-text").value,
    variants: [...li.querySelectorAll(".variant")].map((v) => ({ tone: v.querySelector(".v-tone").value, text: v.querySelector(".v-text").value })),
  }));
  d.dirtyPoints = !samePoints(d.points, client.product(ui.libProduct).points);
  setClass($("points"), "dirty", d.dirtyPoints);
  return d;
}

$("points").addEventListener("input", (ev) => {
  readPoints();
  if (ev.target.tagName === "TEXTAREA") autosize(ev.target);
  client.mark("library");
});
$("points").addEventListener("change", () => {
  readPoints();
  client.mark("library");
});
$("points").addEventListener("click", (ev) => {
  const btn = ev.target.closest("button[data-pact]");
  if (!btn) return;
  const d = readPoints();
  const li = btn.closest("li.point");
  const i = Number(li.dataset.index);
  const act2 = btn.dataset.pact;
  if (act2 === "up" && i > 0) [d.points[i - 1], d.points[i]] = [d.points[i], d.points[i - 1]];
  else if (act2 === "down" && i < d.points.length - 1) [d.points[i + 1], d.points[i]] = [d.points[i], d.points[i + 1]];
  else if (act2 === "remove") d.points.splice(i, 1);
  else if (act2 === "vadd") d.points[i].variants.push({ tone: "", text: "" });
  else if (act2 === "vremove") d.points[i].variants.splice(Number(btn.closest("li.variant").dataset.vindex), 1);
  d.dirtyPoints = !samePoints(d.points, client.product(ui.libProduct).points);
  drawPoints();
  client.mark("library");
});
$("point-add").addEventListener("click", () => {
  const d = readPoints();
  d.points.push({ topic: "general", text: "", variants: [] });
  d.dirtyPoints = true;
  drawPoints();
  const last = $("points").lastElementChild;
  if (last) last.querySelector(".pt-text").focus();
  client.mark("library");
});
$("points-save").addEventListener("click", () => {
  const d = readPoints();
  const points = d.points
    .map((p) => ({
      topic: p.topic,
      text: p.text.trim(),
      variants: p.variants.filter((v) => v.text.trim()).map((v) => ({ tone: v.tone.trim() || "默认", text: v.text.trim() })),
    }))
    .filter((p) => p.text);
  // The draft becomes exactly what is sent, so the broadcast that follows matches it.
  d.points = clonePoints(points);
  d.dirtyPoints = !samePoints(d.points, client.product(ui.libProduct).points);
  drawPoints();
  act({ type: "set_points", product: ui.libProduct, points }, `已保存 ${points.length} 条卖点`);
});
$("lib-reload").addEventListener("click", () => {
  ui.drafts.delete(ui.libProduct);
  ui.libRedraw = true;
  client.mark("library");
});

// ---------- bulk import

function showPlan(plan) {
  const out = [];
  for (const e of plan.errors) {
    out.push(h("li", { className: "err" }, `第 ${e.line} 行: ${e.message}`, h("code", {}, e.text.trim())));
  }
  if (!plan.errors.length) {
    if (!plan.commands.length) out.push(h("li", {}, "没有要导入的内容。"));
    for (const s of plan.summary) {
      const bits = [];
      if (s.faqSet) bits.push(`写入 ${s.faqSet} 条回答`);
      if (s.faqRemoved) bits.push(`删除 ${s.faqRemoved} 条回答`);
      if (s.points !== null) bits.push(`卖点替换为 ${s.points} 条 (现有 ${s.pointsBefore} 条)`);
      out.push(h("li", { className: "ok" }, `${client.productLabel(s.product)}: ${bits.join(", ")}`));
    }
  }
  $("import-result").replaceChildren(...out);
  $("import-apply").disabled = !!plan.errors.length || !plan.commands.length;
}

$("import-preview").addEventListener("click", () => {
  ui.importPlan = parseImport($("import-text").value, client.catalog);
  showPlan(ui.importPlan);
});
$("import-text").addEventListener("input", () => {
  ui.importPlan = null;
  $("import-apply").disabled = true;
});
$("import-export").addEventListener("click", () => {
  $("import-text").value = exportLibrary(client.catalog);
  ui.importPlan = null;
  $("import-apply").disabled = true;
  $("import-result").replaceChildren(h("li", {}, "已导出当前话术库, 修改后点“预览”再“导入”。"));
});
$("import-apply").addEventListener("click", async () => {
  const plan = parseImport($("import-text").value, client.catalog);
  showPlan(plan);
  if (plan.errors.length || !plan.commands.length) return;
  $("import-apply").disabled = true;
  let done = 0;
  for (const command of plan.commands) {
    if (!(await act(command))) break;
    done += 1;
  }
  const all = done === plan.commands.length;
  toast(all ? `导入完成: ${done} 条指令` : `导入中断: 完成 ${done}/${plan.commands.length}`, all ? "ok" : "error");
  $("import-result").prepend(h("li", { className: all ? "ok done" : "err" }, all ? `✓ 已导入 (${done} 条指令)` : `只完成了 ${done}/${plan.commands.length} 条`));
});

// ------------------------------------------------------------------ tabs, filters

function showTab(name) {
  for (const b of document.querySelectorAll(".tab[data-tab]")) {
    const on = b.dataset.tab === name;
    setClass(b, "on", on);
    b.setAttribute("aria-selected", String(on));
  }
  $("live").hidden = name !== "live";
  $("library").hidden = name !== "library";
  if (name === "live") client.mark("stats");
  else client.mark("library");
}

for (const b of document.querySelectorAll(".tab[data-tab]")) {
  b.addEventListener("click", () => {
    window.history.replaceState(null, "", b.dataset.tab === "library" ? "#library" : location.pathname + location.search);
    showTab(b.dataset.tab);
  });
}
showTab(location.hash === "#library" ? "library" : "live");

$("range").addEventListener("click", (ev) => {
  const b = ev.target.closest("button");
  if (!b) return;
  ui.rangeMin = Number(b.dataset.min);
  for (const x of $("range").children) setClass(x, "on", x === b);
  renderCharts();
});
$("cue-filter").addEventListener("click", (ev) => {
  const b = ev.target.closest("button");
  if (!b) return;
  ui.cueFilter = b.dataset.filter;
  for (const x of $("cue-filter").children) setClass(x, "on", x === b);
  renderCues();
});

// ------------------------------------------------------------------ formatting

function big(n) {
  if (n >= 100_000_000) return (n / 100_000_000).toFixed(1) + "亿";
  if (n >= 10_000) return (n / 10_000).toFixed(1) + "万";
  return String(n);
}

function clock(ms) {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((x) => String(x).padStart(2, "0")).join(":");
}

function ago(ms) {
  const s = Math.max(0, Math.round((client.now() - ms) / 1000));
  if (s < 60) return `${s} 秒前`;
  return `${Math.round(s / 60)} 分钟前`;
}
