// The streamer's overlay: up to three cues in very large type, the product being pitched and
// the next one, and a small pulse (comment rate, mood). Nothing to click.
//
// URL parameters: room (default demo), token, scale (0.5–3, default 1), transparent=1 (OBS
// browser source), cues (1–3, default 3), align (top | center | bottom).

import { RoomClient, kindLabel, mood, pageParams, price } from "/assets/client.js";
import { h, setClass, setText, svg } from "/assets/dom.js";

const params = pageParams();
const scale = clamp(parseFloat(params.get("scale") || "1") || 1, 0.5, 3);
const maxCues = clamp(parseInt(params.get("cues") || "3", 10) || 3, 1, 3);
const transparent = params.get("transparent") === "1" || params.get("transparent") === "true";
const align = params.get("align");

document.body.style.setProperty("--scale", String(scale));
if (transparent) document.documentElement.classList.add("transparent");
if (align === "center" || align === "bottom") document.body.classList.add("align-" + align);

const $ = (id) => document.getElementById(id);
const el = {
  cues: $("cues"),
  idle: $("idle"),
  nowId: $("now-id"),
  nowName: $("now-name"),
  nowPrice: $("now-price"),
  next: $("next"),
  nextId: $("next-id"),
  nextName: $("next-name"),
  rate: $("rate"),
  spark: $("spark"),
  moodDot: $("mood-dot"),
  moodPos: $("mood-pos"),
  moodNeu: $("mood-neu"),
  moodNeg: $("mood-neg"),
  status: $("status"),
};

/** Cards on screen, by cue id. */
const cards = new Map();
let fitKey = "";

const client = new RoomClient({ room: params.room, role: "overlay", token: params.token, onRender: render });
client.connect();
// Cue lives run down and end even when no message arrives.
setInterval(() => client.mark("tick"), 1000);
window.addEventListener("resize", () => {
  fitKey = "";
  client.mark("resize");
});
// For tests and for a person debugging a browser source.
window.livecue = client;

function render(dirty) {
  if (dirty.has("status")) renderStatus();
  if (dirty.has("pitching") || dirty.has("queue") || dirty.has("catalog") || dirty.has("cues") || dirty.has("tick")) {
    renderNowNext();
  }
  if (dirty.has("stats")) renderPulse();
  renderCues();
  fit();
}

function renderStatus() {
  const text = { live: "实时", connecting: "连接中…", reconnecting: "重连中…" }[client.status];
  setText(el.status, text);
  el.status.className = "status " + client.status;
  setClass(document.body, "stale", client.status !== "live" && client.everConnected);
  if (!client.everConnected) setText(el.idle, `LiveCue 提示屏 · 正在连接 ${params.room}…`);
}

function renderNowNext() {
  const now = client.product(client.pitching);
  if (now) {
    setText(el.nowId, now.id + "号");
    setText(el.nowName, now.name);
    setText(el.nowPrice, price(now.price));
  } else if (client.everConnected) {
    setText(el.nowId, "–");
    setText(el.nowName, "未设置");
    setText(el.nowPrice, "");
  }
  const next = client.nextProduct();
  const nextProduct = next && client.product(next.id);
  el.next.hidden = !nextProduct;
  if (nextProduct) {
    setText(el.nextId, nextProduct.id + "号");
    setText(el.nextName, nextProduct.name);
  }
}

function renderPulse() {
  const s = client.stats;
  if (!s) return;
  const w10 = s["10s"];
  const w60 = s["60s"];
  setText(el.rate, w10.rate >= 10 ? Math.round(w10.rate) : w10.rate.toFixed(1));
  const m = mood(w60.sentiment.mean);
  el.moodDot.className = "dot " + m;
  const total = w60.sentiment.positive + w60.sentiment.neutral + w60.sentiment.negative;
  const share = (n) => (total ? (100 * n) / total : 0).toFixed(1) + "%";
  el.moodPos.style.width = total ? share(w60.sentiment.positive) : "0%";
  el.moodNeu.style.width = total ? share(w60.sentiment.neutral) : "100%";
  el.moodNeg.style.width = share(w60.sentiment.negative);
  // Sparkline of the last minute's comments per second.
  const series = (s.rate_series || []).slice(-60);
  if (series.length > 1) {
    const max = Math.max(1, ...series);
    const pts = series.map((v, i) => `${((i / (series.length - 1)) * 120).toFixed(1)},${(27 - (v / max) * 25).toFixed(1)}`);
    el.spark.replaceChildren(
      svg("polygon", { points: `0,28 ${pts.join(" ")} 120,28` }),
      svg("polyline", { points: pts.join(" ") }),
    );
  }
}

function renderCues() {
  const now = client.now();
  const shown = relevant(client.activeCues()).slice(0, maxCues);
  const keep = new Set(shown.map((c) => c.id));
  for (const [id, card] of cards) {
    if (!keep.has(id) && !card.classList.contains("leaving")) {
      // Fade out, then make room.
      card.classList.add("leaving");
      setTimeout(() => {
        card.remove();
        if (cards.get(id) === card) cards.delete(id);
        fitKey = "";
        client.mark("layout");
      }, 1200);
    }
  }
  let before = el.cues.firstElementChild;
  for (const cue of shown) {
    let card = cards.get(cue.id);
    if (!card || card.classList.contains("leaving")) {
      if (card) card.remove();
      card = makeCard(cue);
      cards.set(cue.id, card);
    }
    updateCard(card, cue, now);
    // Keep priority order; leaving cards stay where they are until gone.
    while (before && before !== card && (before.classList.contains("leaving") || before === el.idle)) {
      before = before.nextElementSibling;
    }
    if (before !== card) el.cues.insertBefore(card, before);
    else before = before.nextElementSibling;
  }
  el.idle.hidden = shown.length > 0;
  if (client.everConnected && shown.length === 0) {
    const p = client.product(client.pitching);
    setText(el.idle, p ? `暂无新提示 · 继续讲 ${p.id}号 ${p.name}` : "暂无新提示");
  }
}

/**
 * What is worth the streamer's eye among the active cues (pinned ones always are): one
 * "下一个讲 N号" at a time (the newest), none for the product already being pitched, and no
 * selling point of a product that is no longer being pitched. The console still lists them all.
 */
function relevant(cues) {
  let order = false;
  return cues.filter((c) => {
    if (c.state === "pinned") return true;
    if (c.kind === "product_order") {
      if (order || (c.product && c.product === client.pitching)) return false;
      order = true;
    }
    if (c.kind === "talking_point" && c.product && client.pitching && c.product !== client.pitching) return false;
    return true;
  });
}

function makeCard(cue) {
  const parts = splitLead(cue.text);
  return h(
    "article",
    { className: `cue k-${cue.kind}`, data: { id: cue.id, kind: cue.kind } },
    h(
      "div",
      { className: "cue-head" },
      h("span", { className: "kind" }, kindLabel(cue.kind)),
      cue.product ? h("span", { className: "product" }, client.productLabel(cue.product)) : null,
      h("span", { className: "pin", hidden: true }, "◆ 置顶"),
    ),
    h("div", { className: "cue-text" }, parts.lead ? h("span", { className: "lead" }, parts.lead) : null, parts.main),
    h("div", { className: "cue-reason" }, cue.reason || ""),
    h("div", { className: "cue-life" }, h("i")),
  );
}

function updateCard(card, cue, now) {
  const pinned = cue.state === "pinned";
  setClass(card, "pinned", pinned);
  card.querySelector(".pin").hidden = !pinned;
  const life = Math.max(1, cue.expires_at - cue.created_at);
  const left = Math.max(0, cue.expires_at - now);
  const frac = pinned ? 1 : Math.min(1, left / life);
  card.querySelector(".cue-life i").style.transform = `scaleX(${frac.toFixed(4)})`;
  setClass(card, "ending", !pinned && (left < 10_000 || frac < 0.2));
}

/** "5人问4号规格 → 含神经酰胺…": the question part is a lead-in, the answer is what to say. */
function splitLead(text) {
  const i = text.indexOf("→");
  if (i > 0 && i < 24) return { lead: text.slice(0, i).trim(), main: text.slice(i + 1).trim() };
  return { lead: "", main: text };
}

/**
 * Never a scrollbar, never a clipped cue: when the cues do not fit, shrink the type step by
 * step (down to 55 %), and past that show fewer cues.
 */
function fit() {
  const key = [...cards.keys()].join(",") + "|" + innerWidth + "x" + innerHeight;
  if (key === fitKey) return;
  fitKey = key;
  let f = 1;
  document.body.style.setProperty("--fit", "1");
  for (const c of el.cues.children) c.style.display = "";
  const overflowing = () => el.cues.scrollHeight > el.cues.clientHeight + 1 || document.documentElement.scrollHeight > innerHeight;
  while (overflowing() && f > 0.56) {
    f = Math.round((f - 0.07) * 100) / 100;
    document.body.style.setProperty("--fit", String(f));
  }
  const live = [...el.cues.querySelectorAll(".cue:not(.leaving)")];
  while (overflowing() && live.length > 1) live.pop().style.display = "none";
}

function clamp(v, lo, hi) {
  return Math.min(hi, Math.max(lo, v));
}
