// Browser checks of the overlay and the console, in Debian's headless Chromium driven by
// playwright-core. Started by tests/browser.rs, which runs `livecue serve --demo` on an
// ephemeral loopback port and passes its address.
//
// Environment:
//   LIVECUE_URL       the server, e.g. http://127.0.0.1:41234/   (required)
//   LIVECUE_SHOTS     folder for screenshots (default: no screenshots)
//   LIVECUE_CHROMIUM  the browser (default /usr/bin/chromium)
//
// Protocol with the Rust side (for the reconnect check): this script prints a line `RESTART`
// on stdout and waits for a line `RESTARTED` on stdin; meanwhile the server is killed and
// started again on the same address.
//
// Every wait is bounded; nothing leaves loopback. The last line is `N passed, 0 failed`.

import { mkdirSync } from "node:fs";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const BASE = process.env.LIVECUE_URL;
const SHOTS = process.env.LIVECUE_SHOTS || "";
const CHROMIUM = process.env.LIVECUE_CHROMIUM || "/usr/bin/chromium";
const ROOM = "demo";
/** Longest wait for anything to show up in a page. */
const WAIT_MS = 15_000;
if (!BASE) {
  console.error("LIVECUE_URL is not set");
  process.exit(2);
}
if (SHOTS) mkdirSync(SHOTS, { recursive: true });

const RUN = Date.now().toString(36);
let passed = 0;
let eventCounter = 0;

const stdin = createInterface({ input: process.stdin });
const stdinLines = [];
let stdinWaiter = null;
stdin.on("line", (line) => {
  if (stdinWaiter) {
    const w = stdinWaiter;
    stdinWaiter = null;
    w(line);
  } else stdinLines.push(line);
});

function nextStdinLine(timeoutMs) {
  if (stdinLines.length) return Promise.resolve(stdinLines.shift());
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      stdinWaiter = null;
      reject(new Error("no answer from the test harness"));
    }, timeoutMs);
    stdinWaiter = (line) => {
      clearTimeout(t);
      resolve(line);
    };
  });
}

function check(cond, message) {
  if (!cond) throw new Error(message);
}

async function step(name, fn) {
  const t0 = Date.now();
  process.stdout.write(`step ${name} … `);
  await fn();
  passed += 1;
  console.log(`ok (${Date.now() - t0} ms)`);
}

/** POSTs ingest events to the demo room; returns the ack. */
async function ingest(events) {
  const res = await fetch(`${BASE}api/rooms/${ROOM}/events`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(events),
  });
  const ack = await res.json();
  check(res.ok && ack.type === "ack", `ingest refused: ${res.status} ${JSON.stringify(ack)}`);
  check(ack.accepted === events.length, `ingest accepted ${ack.accepted} of ${events.length}: ${JSON.stringify(ack.rejected)}`);
  return ack;
}

/** `n` distinct viewers each saying `text`. */
/** Opens a product in the console's script library and waits until the editor shows it: it
 * is redrawn on the next frame, and typing before that goes into the textarea being replaced
 * (an operator sees it switch first). */
async function openInLibrary(page, id) {
  await page.locator(`.lib-product[data-key="${id}"]`).click();
  await page.waitForFunction((want) => document.getElementById("lib-editor").dataset.product === want, id);
}

function crowd(n, text, tag) {
  return Array.from({ length: n }, (_, i) => ({
    type: "comment",
    id: `bt-${RUN}-${tag}-${++eventCounter}`,
    user: `bt-${RUN}-${tag}-${i}`,
    name: `测试观众${i}`,
    text,
  }));
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  // The flags that work on this project's machines (see .ci/run): no sandbox as root, no GPU,
  // and none of Chromium's own network traffic.
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

/** Problems a page reported: script errors, console errors (CSP violations land there), dialogs. */
const problems = [];
let dialogs = 0;

async function open(path, viewport, label) {
  const context = await browser.newContext({
    viewport,
    deviceScaleFactor: 1,
    permissions: ["clipboard-read", "clipboard-write"],
  });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  page.on("pageerror", (e) => problems.push(`${label}: page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !/WebSocket connection to .* failed|ERR_CONNECTION_REFUSED/.test(m.text())) {
      problems.push(`${label}: console error: ${m.text()}`);
    }
  });
  page.on("dialog", async (d) => {
    dialogs += 1;
    problems.push(`${label}: a dialog opened: ${d.message()}`);
    await d.dismiss();
  });
  await page.goto(BASE + path.replace(/^\//, ""));
  return page;
}

async function shot(page, name, options) {
  if (!SHOTS) return;
  await page.screenshot({ path: `${SHOTS}/${name}.png`, ...options });
}

/** Waits until the page's room client has had its snapshot. */
async function live(page) {
  await page.waitForFunction(() => window.livecue && window.livecue.status === "live" && window.livecue.catalog.length > 0);
}

let exitCode = 0;
try {
  let overlay;
  let consoleA;
  let consoleB;
  let priceAnswer;
  let cueId;

  await step("pages load, connect and use only their own assets", async () => {
    const index = await (await fetch(BASE)).text();
    check(index.includes("/overlay?room=demo") && index.includes("/console?room=demo"), "index lists the demo room");
    overlay = await open(`/overlay?room=${ROOM}`, { width: 1920, height: 1080 }, "overlay");
    consoleA = await open(`/console?room=${ROOM}`, { width: 1920, height: 1080 }, "console A");
    consoleB = await open(`/console?room=${ROOM}`, { width: 1600, height: 1000 }, "console B");
    await Promise.all([live(overlay), live(consoleA), live(consoleB)]);
    const res = await fetch(`${BASE}overlay?room=${ROOM}`);
    const csp = res.headers.get("content-security-policy") || "";
    check(csp.includes("script-src 'self'"), `pages carry a CSP, got ${JSON.stringify(csp)}`);
    const unknown = await fetch(`${BASE}console?room=no-such-room`);
    check(unknown.status === 404 && (await unknown.text()).includes("没有这个直播间"), "an unknown room gets a 404 page");
  });

  await step("Chinese fonts are installed and used", async () => {
    const ok = await consoleA.evaluate(async () => {
      await document.fonts.ready;
      return document.fonts.check('16px "Noto Sans CJK SC"', "直播带货");
    });
    check(ok, 'the font "Noto Sans CJK SC" is not available (install fonts-noto-cjk)');
    const family = await overlay.evaluate(() => getComputedStyle(document.body).fontFamily);
    check(family.includes("Noto Sans CJK SC"), `overlay font stack starts with Noto Sans CJK SC: ${family}`);
  });

  await step("60 viewers asking 2号多少钱 put an answer cue on the overlay, in large type", async () => {
    priceAnswer = await overlay.evaluate(() => window.livecue.product("2").faq.price);
    check(priceAnswer, "demo product 2 has a price answer");
    await ingest(crowd(60, "2号多少钱", "price2"));
    const card = overlay.locator(".cue.k-answer_question", { hasText: priceAnswer }).first();
    await card.waitFor({ state: "visible" });
    cueId = await card.getAttribute("data-id");
    const size = await card.locator(".cue-text").evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
    check(size >= 48, `cue text is large at 1920×1080 (got ${size}px)`);
    const reason = await card.locator(".cue-reason").textContent();
    check(/人/.test(reason), `cue shows its reason, got ${JSON.stringify(reason)}`);
    await shot(overlay, "overlay-1920x1080");
  });

  await step("console shows products, the question cluster with its count, hot words and the cue", async () => {
    await consoleA.locator("#products tr").nth(6).waitFor();
    const rows = await consoleA.locator("#products tr").count();
    const catalog = await consoleA.evaluate(() => window.livecue.catalog.length);
    check(rows === catalog, `one row per product (${rows} rows, ${catalog} products)`);
    const name2 = await consoleA.evaluate(() => window.livecue.product("2").name);
    await consoleA.locator("#products tr", { hasText: name2 }).waitFor();
    const cluster = consoleA.locator('#questions li[data-key="price:2"]');
    await cluster.waitFor();
    await consoleA.waitForFunction(() => {
      const b = document.querySelector('#questions li[data-key="price:2"] .q-count b');
      return b && Number(b.textContent) >= 60;
    });
    await consoleA.locator("#words .word").first().waitFor();
    await consoleA.locator(`#cues li[data-key="${cueId}"]`).waitFor();
    await consoleA.locator(`#cues li[data-key="${cueId}"] .evidence summary`).click();
    await consoleA.locator(`#cues li[data-key="${cueId}"] .evidence .samples li`).first().waitFor();
  });

  await step("a <script> comment is shown as text and never runs", async () => {
    const evil = `<script>window.__pwned=1;alert(1)</script><img src=x onerror="window.__pwned=2">`;
    await consoleA.evaluate(() => {
      window.__pwned = 0;
    });
    // The stats message carries at most 20 new comments a second; send it a few times so a
    // burst of demo traffic cannot crowd it out.
    for (let i = 0; i < 4; i++) {
      await ingest([{ type: "comment", id: `bt-${RUN}-xss-${i}`, user: `bt-${RUN}-xss-${i}`, text: `2号 ${evil}` }]);
      await consoleA.waitForTimeout(600);
    }
    const line = consoleA.locator("#feed .c-text", { hasText: "<script>window.__pwned=1" }).first();
    await line.waitFor();
    const text = await line.textContent();
    check(text.includes("<img src=x"), `the markup is shown as text: ${text}`);
    const pwned = await consoleA.evaluate(() => window.__pwned);
    check(pwned === 0, `no script ran (window.__pwned = ${pwned})`);
    const injected = await consoleA.evaluate(() => document.querySelectorAll("#feed script, #feed img, #questions img").length);
    check(injected === 0, "no element was created from a comment");
    check(dialogs === 0, "no alert dialog opened");
  });

  await step("a super chat is pinned above the feed, as text, with its medal; the sources panel answers", async () => {
    const text = `<b>主播</b>看看我 ${RUN}`;
    await ingest([
      {
        type: "comment",
        id: `bt-${RUN}-sc`,
        user: `bt-${RUN}-sc`,
        text,
        medal: { name: "粉丝牌", level: 21 },
        super_chat: { price_cny: 30, duration_s: 600 },
      },
    ]);
    const item = consoleA.locator("#paid .paid-item", { hasText: RUN }).first();
    await item.waitFor();
    check((await item.locator(".sc-price").textContent()) === "¥30", "the price is shown");
    check((await item.locator(".c-medal").textContent()) === "粉丝牌 21", "the medal is shown");
    check((await item.locator(".c-text").textContent()).includes("<b>主播</b>"), "markup stays text");
    check((await consoleA.locator("#paid b").count()) === 0, "no element was created from it");
    // A console that connects later gets it from the snapshot.
    await consoleB.reload();
    await live(consoleB);
    await consoleB.locator("#paid .paid-item", { hasText: RUN }).first().waitFor();
    // The demo room has no platform sources: the panel says so (from GET /api/rooms/R/sources).
    await consoleA.locator("#sources li.empty", { hasText: "没有配置平台来源" }).waitFor();
  });

  await step("the audience mix shows the segments; forgetting a viewer clears their comments on every console", async () => {
    await consoleA.waitForFunction(() => document.querySelectorAll("#mix .mix-row").length >= 6);
    const names = await consoleA.locator("#mix .mix-name").allTextContents();
    check(names.includes("价格敏感") && names.includes("新客"), `segments shown: ${names.join(" ")}`);
    const text = `3号多少钱 ${RUN}-forget`;
    const line = (page) => page.locator("#feed li", { hasText: `${RUN}-forget` }).first();
    // A stats message carries the room's last 20 comments of its second, and the demo room's
    // own feed surges now and then, so one comment can miss every console: the viewer says it
    // again (at most 20 times, 600 ms apart) until both consoles show it.
    for (let i = 0; i < 20; i++) {
      await ingest([{ type: "comment", id: `bt-${RUN}-forget-${i}`, user: `bt-${RUN}-forget`, text }]);
      await consoleA.waitForTimeout(600);
      if ((await line(consoleA).isVisible()) && (await line(consoleB).isVisible())) break;
    }
    await line(consoleA).waitFor();
    await line(consoleB).waitFor();
    // This very button, not a locator: a later copy of the comment may arrive on top of the
    // feed between the clicks, and the confirmation belongs to the button that was clicked.
    const button = await line(consoleA).locator(".c-forget").elementHandle();
    await button.click();
    check((await button.textContent()) === "确认遗忘?", "the first click asks for confirmation");
    await button.click();
    for (const page of [consoleA, consoleB]) {
      await page.waitForFunction(
        (marker) => ![...document.querySelectorAll("#feed .c-text")].some((e) => e.textContent.includes(marker)),
        `${RUN}-forget`,
      );
    }
  });

  await step("ack on console A reaches console B, the overlay and the question cluster", async () => {
    await consoleA.locator(`#cues li[data-key="${cueId}"] [data-action=ack_cue]`).click();
    await consoleB.locator('#cue-filter [data-filter="all"]').click();
    await consoleB.locator(`#cues li[data-key="${cueId}"].s-acked`).waitFor();
    await overlay.waitForFunction((id) => !document.querySelector(`.cue[data-id="${id}"]:not(.leaving)`), cueId);
    await consoleB.locator('#questions li[data-key="price:2"].answered').waitFor();
  });

  await step("mark answered on console A reaches console B", async () => {
    await ingest(crowd(30, "7号发货快吗", "ship7"));
    const row = consoleA.locator('#questions li[data-key="shipping:7"]');
    await row.waitFor();
    await row.locator("[data-action=answered]").click();
    await consoleB.locator('#questions li[data-key="shipping:7"].answered').waitFor();
    await consoleA.locator('#questions li[data-key="shipping:7"] [data-action=answered]:disabled').waitFor();
  });

  await step("pin then dismiss on console A: the overlay keeps, then drops the cue", async () => {
    const answer3 = await overlay.evaluate(() => window.livecue.product("3").faq.price);
    await ingest(crowd(60, "3号多少钱", "price3"));
    const card = overlay.locator(".cue.k-answer_question", { hasText: answer3 }).first();
    await card.waitFor({ state: "visible" });
    const id = await card.getAttribute("data-id");
    await consoleA.locator(`#cues li[data-key="${id}"] [data-action=pin_cue]`).click();
    await overlay.locator(`.cue.pinned[data-id="${id}"] .pin`).waitFor({ state: "visible" });
    await consoleB.locator(`#cues li[data-key="${id}"].s-pinned`).waitFor();
    await consoleA.locator(`#cues li[data-key="${id}"] [data-action=dismiss_cue]`).click();
    await consoleB.locator(`#cues li[data-key="${id}"].s-dismissed`).waitFor();
    await overlay.waitForFunction((cid) => !document.querySelector(`.cue[data-id="${cid}"]:not(.leaving)`), id);
  });

  await step("set pitching and reorder on console A show on the overlay and console B", async () => {
    const name3 = await consoleA.evaluate(() => window.livecue.product("3").name);
    await consoleA.locator('#products tr[data-key="3"] [data-action=pitch]').click();
    await overlay.locator("#now-id", { hasText: "3号" }).waitFor();
    await overlay.locator("#now-name", { hasText: name3 }).waitFor();
    await consoleB.waitForFunction(() => document.getElementById("pitch-select").value === "3");
    await consoleB.locator('#products tr.pitching[data-key="3"]').waitFor();
    // Move 6 up until it follows 3 (the queue starts 1…7): two clicks of ▲.
    for (let i = 0; i < 2; i++) {
      const before = await consoleA.evaluate(() => window.livecue.queue.join());
      await consoleA.locator('#products tr[data-key="6"] [data-action=up]').click();
      await consoleA.waitForFunction((b) => window.livecue.queue.join() !== b, before);
    }
    const queue = await consoleA.evaluate(() => window.livecue.queue.slice());
    check(queue.indexOf("6") === queue.indexOf("3") + 1, `6 follows 3 in ${queue}`);
    await overlay.locator("#next-id", { hasText: "6号" }).waitFor();
    await consoleB.waitForFunction(
      (q) => [...document.querySelectorAll("#products tr")].map((tr) => tr.dataset.key).join() === q.join(),
      queue,
    );
  });

  await step("following a 换品 cue from the console queues its product next", async () => {
    // Link requests weigh most in demand: this makes products 6 and 7 outrank the pitched one.
    await ingest([...crowd(60, "7号链接在哪", "link7"), ...crowd(60, "6号链接在哪", "link6")]);
    const handle = await consoleA.waitForFunction(() => {
      const c = window.livecue;
      const cue = c.activeCues().find((x) => x.kind === "product_order" && x.product && x.product !== c.pitching);
      return cue && document.querySelector(`#cues li[data-key="${cue.id}"] [data-action=adopt_next]:not(:disabled)`) ? cue.id : null;
    });
    const id = await handle.jsonValue();
    const product = await consoleA.evaluate((cid) => window.livecue.cues.get(cid).product, id);
    await consoleA.locator(`#cues li[data-key="${id}"] [data-action=adopt_next]`).click();
    await consoleB.waitForFunction((p) => {
      const c = window.livecue;
      return c.queue[c.queue.indexOf(c.pitching) + 1] === p;
    }, product);
    await consoleB.locator(`#cues li[data-key="${id}"].s-acked`).waitFor();
  });

  await step("drag a row to reorder", async () => {
    const first = await consoleA.evaluate(() => window.livecue.queue[0]);
    const last = await consoleA.evaluate(() => window.livecue.queue[window.livecue.queue.length - 1]);
    await consoleA
      .locator(`#products tr[data-key="${last}"] .handle`)
      .dragTo(consoleA.locator(`#products tr[data-key="${first}"]`), { targetPosition: { x: 20, y: 4 } });
    await consoleB.waitForFunction((id) => window.livecue.queue[0] === id, last);
    await consoleB.waitForFunction((id) => document.querySelector("#products tr").dataset.key === id, last);
  });

  await step("script library: bulk import and the FAQ editor reach every console", async () => {
    await consoleA.locator('.tab[data-tab="library"]').click();
    await consoleB.locator('.tab[data-tab="library"]').click();
    // A line with an error blocks the whole import.
    await consoleA.locator("#import-text").fill("9 | 尺码 | 没有这个商品\n2 | 颜值 | 不认识的话题");
    await consoleA.locator("#import-preview").click();
    await consoleA.locator("#import-result .err", { hasText: "第 1 行" }).waitFor();
    await consoleA.locator("#import-result .err", { hasText: "第 2 行" }).waitFor();
    check(await consoleA.locator("#import-apply").isDisabled(), "import is disabled while lines have errors");
    const size = `均码 ${RUN}，90-130斤都能穿 <b>粗体</b>`;
    await consoleA
      .locator("#import-text")
      .fill(
        [
          "# 测试导入",
          `2 | 尺码 | ${size}`,
          `#3 | 卖点 | 质量 | 测试卖点 ${RUN}`,
          `3号 | 变体 | 亲切活泼 | 测试变体 ${RUN}`,
          `3 | 卖点 | price | 第二个卖点 {price}`,
        ].join("\n"),
      );
    await consoleA.locator("#import-preview").click();
    await consoleA.locator("#import-result .ok").first().waitFor();
    await consoleA.locator("#import-apply").click();
    await consoleA.locator("#import-result .done").waitFor();
    await consoleB.waitForFunction((s) => window.livecue.product("2").faq.size === s, size);
    await consoleB.waitForFunction((r) => {
      const p = window.livecue.product("3").points;
      return p.length === 2 && p[0].text === `测试卖点 ${r}` && p[0].variants[0].tone === "亲切活泼";
    }, RUN);
    // Console B's editor shows the new answer for product 2, as text.
    await openInLibrary(consoleB, "2");
    await consoleB.waitForFunction((s) => document.querySelector('#faq-rows textarea[data-topic="size"]').value === s, size);
    // The FAQ editor: change one answer on A, save, see it on B.
    await openInLibrary(consoleA, "2");
    const edited = `到手价测试 ${RUN}`;
    await consoleA.locator('#faq-rows textarea[data-topic="price"]').fill(edited);
    await consoleA.locator("#faq-save").click();
    await consoleB.waitForFunction((s) => document.querySelector('#faq-rows textarea[data-topic="price"]').value === s, edited);
    await consoleA.waitForFunction(() => document.getElementById("lib-note").textContent === "已同步");
    // The selling-point editor: add a tone variant to product 3's first point, save, see it on B.
    await openInLibrary(consoleA, "3");
    const point = consoleA.locator("#points li.point").first();
    await point.locator("[data-pact=vadd]").click();
    const variant = consoleA.locator("#points li.point").first().locator(".variant").last();
    await variant.locator(".v-tone").fill("简洁专业");
    await variant.locator(".v-text").fill(`编辑器变体 ${RUN}`);
    await consoleA.locator("#points-save").click();
    await consoleB.waitForFunction(
      (r) => window.livecue.product("3").points[0].variants.some((v) => v.text === `编辑器变体 ${r}` && v.tone === "简洁专业"),
      RUN,
    );
    await consoleA.waitForFunction(() => document.getElementById("lib-note").textContent === "已同步");
    await consoleA.locator('.lib-product[data-key="2"]').click();
    await shot(consoleA, "console-library");
    // The import syntax round-trips: export, parse, same commands as the catalog holds.
    const roundTrip = await consoleA.evaluate(async () => {
      const lib = await import("/assets/library.js");
      const text = lib.exportLibrary(window.livecue.catalog);
      const plan = lib.parseImport(text, window.livecue.catalog);
      const faq = plan.commands.filter((c) => c.type === "set_faq").length;
      const want = window.livecue.catalog.reduce((n, p) => n + Object.keys(p.faq).length, 0);
      return { errors: plan.errors.length, faq, want };
    });
    check(roundTrip.errors === 0 && roundTrip.faq === roundTrip.want, `export → import round trip: ${JSON.stringify(roundTrip)}`);
    await consoleA.locator('.tab[data-tab="live"]').click();
    await consoleB.locator('.tab[data-tab="live"]').click();
  });

  await step("quick replies show the pitching product's answers, ready to copy", async () => {
    await consoleA.selectOption("#reply-product", "2");
    await consoleA.locator("#replies .reply", { hasText: `到手价测试 ${RUN}` }).waitFor();
    const n = await consoleA.locator("#replies .reply button").count();
    check(n > 3, `replies have copy buttons (${n})`);
    await consoleA.locator("#replies .reply", { hasText: `到手价测试 ${RUN}` }).locator("button").click();
    await consoleA.waitForFunction(
      async (want) => (await navigator.clipboard.readText()) === want,
      `到手价测试 ${RUN}`,
    );
  });

  await step("overlay at 1080×1920 (vertical) fits without scrollbars and shows the cue", async () => {
    await ingest(crowd(60, "5号多少钱", "price5"));
    const vertical = await open(`/overlay?room=${ROOM}`, { width: 1080, height: 1920 }, "overlay 1080x1920");
    await live(vertical);
    const answer5 = await vertical.evaluate(() => window.livecue.product("5").faq.price);
    const card = vertical.locator(".cue.k-answer_question", { hasText: answer5 }).first();
    await card.waitFor({ state: "visible" });
    await vertical.waitForTimeout(700); // let the entry animation finish
    const box = await card.boundingBox();
    check(box && box.y >= 0 && box.y + box.height <= 1920 && box.x >= 0 && box.x + box.width <= 1080, `cue inside the screen: ${JSON.stringify(box)}`);
    const m = await vertical.evaluate(() => ({
      sw: document.documentElement.scrollWidth,
      sh: document.documentElement.scrollHeight,
      w: innerWidth,
      h: innerHeight,
      overflow: getComputedStyle(document.documentElement).overflow,
    }));
    check(m.sw <= m.w && m.sh <= m.h, `no scrolling at 1080×1920: ${JSON.stringify(m)}`);
    check(m.overflow === "hidden", "the overlay never shows scrollbars");
    await shot(vertical, "overlay-1080x1920");
    await vertical.context().close();
  });

  await step("transparent mode for OBS, and scale=1.5 still fits 1920×1080", async () => {
    const obs = await open(`/overlay?room=${ROOM}&transparent=1&scale=1.5`, { width: 1920, height: 1080 }, "overlay transparent");
    await live(obs);
    const bg = await obs.evaluate(() => [getComputedStyle(document.documentElement).backgroundColor, getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).backgroundImage]);
    check(bg[0] === "rgba(0, 0, 0, 0)" && bg[1] === "rgba(0, 0, 0, 0)" && bg[2] === "none", `transparent background: ${bg}`);
    const m = await obs.evaluate(() => [document.documentElement.scrollHeight <= innerHeight, document.documentElement.scrollWidth <= innerWidth]);
    check(m[0] && m[1], "no scrolling with scale=1.5");
    await obs.locator(".cue").first().waitFor({ state: "visible" });
    await shot(obs, "overlay-transparent", { omitBackground: true });
    await obs.context().close();
  });

  await step("console screenshot", async () => {
    await consoleA.evaluate(() => window.scrollTo(0, 0));
    await consoleA.waitForTimeout(1200);
    await shot(consoleA, "console-1920x1080");
  });

  await step("the review (复盘) opens as one self-contained page with its charts", async () => {
    const href = await consoleA.locator("#report-link").getAttribute("href");
    check(href && href.startsWith(`/api/rooms/${ROOM}/report?format=html`), `the console links the review: ${href}`);
    const report = await open(href, { width: 1100, height: 1400 }, "report");
    const r = await report.evaluate(() => ({
      svgs: document.querySelectorAll("svg").length,
      scripts: document.querySelectorAll("script").length,
      external: [...document.querySelectorAll("link[href], img[src]")].filter((e) => !/^data:/.test(e.getAttribute("href") || e.getAttribute("src") || "")).length,
      text: document.body.innerText,
    }));
    check(r.svgs >= 1, `the report draws its charts as SVG (${r.svgs})`);
    check(r.scripts === 0 && r.external === 0, `the report needs no script and no other file: ${JSON.stringify({ scripts: r.scripts, external: r.external })}`);
    check(r.text.includes("复盘") && r.text.includes("2号"), "the report names the session and its products");
    check(!r.text.includes("<script>alert"), "viewer markup never runs in the report");
    await shot(report, "report-demo", { fullPage: true });
    await report.context().close();
  });

  await step("server restart: discreet reconnecting state, never blank, then a fresh picture", async () => {
    await consoleA.locator('#products tr[data-key="4"] [data-action=pitch]').click();
    await overlay.locator("#now-id", { hasText: "4号" }).waitFor();
    console.log("\nRESTART");
    await overlay.locator("#status.reconnecting").waitFor({ timeout: 10_000 });
    const during = await overlay.evaluate(() => ({
      now: document.getElementById("now-name").textContent,
      visible: document.getElementById("stage").getBoundingClientRect().height,
      status: document.getElementById("status").textContent,
    }));
    check(during.now.length > 0 && during.visible > 0, `overlay keeps its picture while reconnecting: ${JSON.stringify(during)}`);
    await shot(overlay, "overlay-reconnecting");
    const answer = await nextStdinLine(60_000);
    check(answer === "RESTARTED", `harness said ${answer}`);
    // The new server's demo room starts over: pitching product 1 again.
    await overlay.locator("#status.live").waitFor({ state: "attached", timeout: 20_000 });
    await overlay.locator("#now-id", { hasText: "1号" }).waitFor({ timeout: 20_000 });
    await consoleA.locator("#conn.live").waitFor({ timeout: 20_000 });
    await consoleA.waitForFunction(() => document.getElementById("pitch-select").value === "1");
  });

  await step("no page errors, console errors or dialogs", async () => {
    check(problems.length === 0, problems.join("\n"));
  });
} catch (e) {
  exitCode = 1;
  console.log("FAILED");
  console.log(String(e && e.stack ? e.stack : e));
  if (problems.length) console.log("page problems:\n" + problems.join("\n"));
} finally {
  await browser.close().catch(() => {});
  stdin.close();
}
console.log(`${passed} passed, ${exitCode} failed`);
process.exit(exitCode);
