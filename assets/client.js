// The room stream client shared by the overlay and the console.
//
// Connects to `WS /ws/room/R?role=…`, keeps the room's picture (catalog, pitching product,
// queue, cues, statistics, recent comments) up to date from `snapshot`, `cue`, `cue_update`,
// `stats`, `pitching`, `queue`, `script` and `question` messages, and reconnects by itself
// with `?since=<last seq>` so a short drop costs nothing. Pages never redraw per message:
// changes are collected and handed to the page once per animation frame.

/** Kinds of cue: Chinese label and colour class (colours live in livecue.css). */
export const KINDS = {
  answer_question: { label: "答疑", icon: "?" },
  product_order: { label: "换品", icon: "⇄" },
  talking_point: { label: "卖点", icon: "✦" },
  sentiment_alert: { label: "情绪", icon: "!" },
  surge: { label: "热度", icon: "↑" },
};

export function kindLabel(kind) {
  return (KINDS[kind] && KINDS[kind].label) || kind;
}

/** Question / script topics (config.rs TOPICS) and their Chinese names (suggest.rs topic_name). */
export const TOPICS = [
  ["price", "价格"],
  ["discount", "优惠"],
  ["size", "尺码"],
  ["spec", "规格"],
  ["stock", "库存"],
  ["shipping", "发货"],
  ["link", "链接"],
  ["quality", "质量"],
  ["usage", "用法"],
  ["aftersale", "售后"],
  ["demo", "试穿/展示"],
  ["general", "通用"],
  ["service", "服务"],
];
const TOPIC_NAMES = new Map(TOPICS);
TOPIC_NAMES.set("compare", "对比");

export function topicName(topic) {
  return TOPIC_NAMES.get(topic) || topic || "问题";
}

/** Intent labels (PROTOCOL.md) in Chinese, in a stable display order. */
export const INTENTS = [
  ["ask_price", "问价"],
  ["ask_discount", "问优惠"],
  ["ask_size", "问尺码"],
  ["ask_spec", "问规格"],
  ["ask_stock", "问库存"],
  ["ask_shipping", "问发货"],
  ["ask_link", "要链接"],
  ["ask_quality", "问质量"],
  ["ask_usage", "问用法"],
  ["ask_aftersale", "问售后"],
  ["request_demo", "要展示"],
  ["compare", "对比"],
  ["purchase", "已拍"],
  ["praise", "夸赞"],
  ["complaint", "抱怨"],
  ["chatter", "闲聊"],
  ["spam", "刷屏"],
];
const INTENT_NAMES = new Map(INTENTS);

export function intentName(intent) {
  return INTENT_NAMES.get(intent) || intent;
}

/** Recent comments kept by the client (the server sends at most 50 in a snapshot). */
const MAX_COMMENTS = 200;
/** No message for this long (stats come every second) means the connection is dead. */
const SILENCE_MS = 6000;
/** Reconnect delays, growing; the last one repeats. */
const BACKOFF_MS = [250, 500, 1000, 2000, 3000, 5000];
/** A command unanswered for this long is reported as failed. */
const COMMAND_TIMEOUT_MS = 5000;

/** Reads the page's URL parameters the pages share. */
export function pageParams() {
  const p = new URLSearchParams(location.search);
  return {
    room: p.get("room") || "demo",
    token: p.get("token") || null,
    get: (name) => p.get(name),
  };
}

export class RoomClient {
  /**
   * @param {{room: string, role: "overlay"|"console", token?: string|null,
   *          onRender: (dirty: Set<string>, client: RoomClient) => void}} options
   */
  constructor({ room, role, token, onRender }) {
    this.room = room;
    this.role = role;
    this.token = token || null;
    this.onRender = onRender;
    this.ws = null;
    this.seq = 0;
    this.attempts = 0;
    this.status = "connecting"; // connecting | live | reconnecting
    this.everConnected = false;
    this.info = null; // { id, name, started_at }
    this.catalog = [];
    this.byId = new Map();
    this.pitching = null;
    this.pitchingSince = null;
    this.queue = [];
    this.cues = new Map();
    this.stats = null;
    this.comments = [];
    /** The closed loop's variant table (`variants` messages and the snapshot). */
    this.variants = { variants: [], verdicts: [], pending: 0 };
    this.commentCounter = 0;
    this.clockOffset = 0;
    this.lastMessage = 0;
    this.pending = new Map();
    this.reqCounter = 0;
    this.dirty = new Set();
    this.frame = 0;
    this.listeners = [];
    this.watchdog = setInterval(() => this.checkSilence(), 1000);
  }

  /** Server time now, in ms since the epoch (the pages' clocks may differ from the server's). */
  now() {
    return Date.now() + this.clockOffset;
  }

  product(id) {
    return id === null || id === undefined ? null : this.byId.get(String(id)) || null;
  }

  /** "2号 羊毛针织开衫" or just "2号" when the catalog lacks it. */
  productLabel(id) {
    const p = this.product(id);
    return p ? `${p.id}号 ${p.name}` : `${id}号`;
  }

  /** Listens to every raw message (after it was applied). */
  onMessage(fn) {
    this.listeners.push(fn);
  }

  connect() {
    const q = new URLSearchParams({ role: this.role });
    if (this.seq > 0) q.set("since", String(this.seq));
    if (this.token) q.set("token", this.token);
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const url = `${scheme}${location.host}/ws/room/${encodeURIComponent(this.room)}?${q}`;
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (_) {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.lastMessage = Date.now();
    ws.onopen = () => {
      this.attempts = 0;
    };
    ws.onmessage = (ev) => {
      this.lastMessage = Date.now();
      let m;
      try {
        m = JSON.parse(ev.data);
      } catch (_) {
        return;
      }
      this.apply(m);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.failPending("连接已断开");
      this.scheduleReconnect();
    };
    ws.onerror = () => {
      // onclose follows and reconnects.
    };
  }

  scheduleReconnect() {
    this.setStatus(this.everConnected ? "reconnecting" : "connecting");
    const base = BACKOFF_MS[Math.min(this.attempts, BACKOFF_MS.length - 1)];
    this.attempts += 1;
    const delay = base * (0.8 + Math.random() * 0.4);
    setTimeout(() => this.connect(), delay);
  }

  /** Drops the connection and starts again; `fresh` forgets `since` (gets a snapshot). */
  restart(fresh) {
    if (fresh) this.seq = 0;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      try {
        ws.close();
      } catch (_) {
        // Already closing.
      }
    }
    this.failPending("连接已重置");
    this.setStatus(this.everConnected ? "reconnecting" : "connecting");
    this.attempts = 0;
    setTimeout(() => this.connect(), 50);
  }

  checkSilence() {
    if (this.ws && this.ws.readyState === WebSocket.OPEN && Date.now() - this.lastMessage > SILENCE_MS) {
      // A half-open connection (laptop slept, proxy dropped it): start over with `since`.
      this.restart(false);
    }
  }

  setStatus(status) {
    if (this.status !== status) {
      this.status = status;
      this.mark("status");
    }
  }

  /** Sends a console command; resolves with the reply, rejects with the error message. */
  send(command) {
    return new Promise((resolve, reject) => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
        reject(new Error("未连接, 请稍候重试"));
        return;
      }
      const req = ++this.reqCounter;
      const timer = setTimeout(() => {
        this.pending.delete(req);
        reject(new Error("服务器没有回应"));
      }, COMMAND_TIMEOUT_MS);
      this.pending.set(req, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ ...command, req }));
    });
  }

  failPending(why) {
    for (const { reject, timer } of this.pending.values()) {
      clearTimeout(timer);
      reject(new Error(why));
    }
    this.pending.clear();
  }

  apply(m) {
    if (m.type === "reply" || m.type === "error") {
      const p = m.req !== undefined ? this.pending.get(m.req) : undefined;
      if (p) {
        this.pending.delete(m.req);
        clearTimeout(p.timer);
        if (m.type === "reply") p.resolve(m);
        else p.reject(new Error(m.message || m.code || "error"));
      }
      return;
    }
    if (typeof m.seq === "number") this.seq = m.seq;
    switch (m.type) {
      case "snapshot":
        this.applySnapshot(m);
        break;
      case "cue":
        this.cues.set(m.cue.id, m.cue);
        this.trimCues();
        this.mark("cues");
        break;
      case "cue_update": {
        const cue = this.cues.get(m.id);
        if (cue) {
          cue.state = m.state;
          cue.updated_at = this.now();
          this.mark("cues");
        }
        break;
      }
      case "stats":
        this.applyStats(m);
        break;
      case "pitching":
        this.pitching = m.product;
        this.pitchingSince = m.since;
        this.mark("pitching");
        break;
      case "queue":
        this.queue = m.order.slice();
        this.mark("queue");
        break;
      case "script":
        this.setProduct(m.product);
        this.mark("catalog");
        this.mark("script:" + m.product.id);
        break;
      case "question":
        if (this.stats) {
          for (const q of this.stats.questions) {
            if (q.key === m.key) {
              q.answered = m.answered;
              q.answered_at = this.now();
            }
          }
        }
        this.mark("questions");
        break;
      case "variants":
        this.variants = { variants: m.variants, verdicts: m.verdicts, pending: m.pending };
        this.mark("variants");
        break;
      case "forgotten":
        this.comments = this.comments.filter((c) => c.viewer_id !== m.viewer);
        this.mark("comments");
        break;
      default:
        break;
    }
    for (const fn of this.listeners) fn(m);
  }

  applySnapshot(m) {
    this.info = m.room;
    this.catalog = m.catalog.slice();
    this.byId = new Map(this.catalog.map((p) => [p.id, p]));
    this.pitching = m.pitching;
    this.queue = m.queue.slice();
    this.cues = new Map(m.cues.map((c) => [c.id, c]));
    this.stats = m.stats;
    this.clockOffset = m.stats.now - Date.now();
    this.comments = [];
    this.pushComments(m.comments);
    this.variants = m.variants || { variants: [], verdicts: [], pending: 0 };
    this.everConnected = true;
    this.attempts = 0;
    this.setStatus("live");
    for (const k of ["room", "catalog", "pitching", "queue", "cues", "stats", "comments", "questions", "snapshot", "variants"]) {
      this.mark(k);
    }
  }

  applyStats(m) {
    const prev = this.stats;
    // Totals only grow within one life of a room: smaller ones mean the server restarted
    // and our `since` named a message of the old life. Start over with a snapshot.
    if (prev && m.totals && prev.totals && m.totals.comments < prev.totals.comments) {
      this.restart(true);
      return;
    }
    const { type: _t, seq: _s, comments, ...stats } = m;
    this.stats = stats;
    this.clockOffset = stats.now - Date.now();
    this.pushComments(comments || []);
    if (this.status !== "live") {
      this.everConnected = true;
      this.setStatus("live");
    }
    this.mark("stats");
    this.mark("questions");
    if (comments && comments.length) this.mark("comments");
  }

  pushComments(list) {
    for (const c of list) {
      c._n = ++this.commentCounter;
      this.comments.push(c);
    }
    if (this.comments.length > MAX_COMMENTS) this.comments.splice(0, this.comments.length - MAX_COMMENTS);
  }

  setProduct(product) {
    const i = this.catalog.findIndex((p) => p.id === product.id);
    if (i >= 0) this.catalog[i] = product;
    else this.catalog.push(product);
    this.byId.set(product.id, product);
  }

  /** Keeps the cue map bounded: ended cues beyond the newest 60 are forgotten. */
  trimCues() {
    if (this.cues.size <= 80) return;
    const ended = [...this.cues.values()]
      .filter((c) => c.state !== "active" && c.state !== "pinned")
      .sort((a, b) => a.created_at - b.created_at);
    for (const c of ended.slice(0, this.cues.size - 60)) this.cues.delete(c.id);
  }

  /**
   * The cues on screen now: pinned first, then active ones by priority, newest first.
   * Active cues past `expires_at` count as ended even before the server says so.
   */
  activeCues() {
    const now = this.now();
    return [...this.cues.values()]
      .filter((c) => c.state === "pinned" || (c.state === "active" && c.expires_at > now))
      .sort(
        (a, b) =>
          (b.state === "pinned") - (a.state === "pinned") || b.priority - a.priority || b.created_at - a.created_at,
      );
  }

  /**
   * The product planned after the one being pitched: the next in the queue (the operator's
   * plan; a `product_order` cue suggesting another one is shown as a cue of its own).
   */
  nextProduct() {
    if (!this.queue.length) return null;
    const at = this.queue.indexOf(this.pitching);
    const next = at < 0 ? this.queue[0] : this.queue[at + 1];
    return next === undefined || next === this.pitching ? null : { id: next };
  }

  mark(what) {
    this.dirty.add(what);
    if (this.frame) return;
    // requestAnimationFrame batches a burst of messages into one redraw; the timer covers
    // hidden tabs and browser sources where frames are throttled.
    const run = () => {
      if (!this.frame) return;
      cancelAnimationFrame(this.frame);
      clearTimeout(this.frameTimer);
      this.frame = 0;
      const dirty = this.dirty;
      this.dirty = new Set();
      this.onRender(dirty, this);
    };
    this.frame = requestAnimationFrame(run);
    this.frameTimer = setTimeout(run, 250);
  }
}

/** "¥399" / "¥12.5" */
export function price(p) {
  if (p === null || p === undefined) return "";
  return "¥" + (Number.isInteger(p) ? String(p) : p.toFixed(2).replace(/0$/, ""));
}

/** Fills `{product}`, `{price}` and `{count}` as the server does (suggest.rs `fill`). */
export function fill(template, product, count) {
  const name = product ? product.name : "这款";
  const pr = product && product.price !== null && product.price !== undefined ? price(product.price).slice(1) : "优惠价";
  return String(template)
    .replaceAll("{product}", name)
    .replaceAll("{price}", pr)
    .replaceAll("{count}", String(count === undefined ? "" : count));
}

/** Sentiment label of a mean score in [-1, 1]. */
export function mood(mean) {
  if (mean >= 0.15) return "pos";
  if (mean <= -0.15) return "neg";
  return "neu";
}
