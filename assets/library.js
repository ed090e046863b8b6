// The script library's bulk-import line syntax: parse text into console commands
// (`set_faq`, `set_points`) and write a catalog back out in the same syntax. Pure functions,
// no DOM, so they can be checked in isolation. The syntax is documented in README.md
// ("Bulk import syntax") and on the console's 话术库 tab.
//
//   # a comment                          blank lines and lines starting with # are skipped
//                                        (except `#2 | …`, which names product 2)
//   2 | 尺码 | 160/100斤选M…              FAQ answer: product | topic | answer
//   2 | 尺码 | -                         "-" removes that FAQ answer
//   2 | 卖点 | 质量 | 一半是绵羊毛…         selling point: product | 卖点 | topic | text
//   2 | 变体 | 亲切活泼 | 软糯到想抱着睡…   variant (tone | text) of the point on the line above
//
// Products are named by id (`2`), `2号`, `#2` or exact name; topics by key (`size`) or Chinese
// name (`尺码`). The last field may itself contain `|`. Selling points are replaced per
// product: a product with 卖点 lines gets exactly those points, in order.

import { TOPICS } from "/assets/client.js";

/** Longest script text the server accepts (live.rs `check_text`). */
export const MAX_TEXT = 500;

const TOPIC_BY_NAME = new Map();
for (const [key, name] of TOPICS) {
  TOPIC_BY_NAME.set(key, key);
  TOPIC_BY_NAME.set(name, key);
}
for (const [alias, key] of [
  ["试穿", "demo"],
  ["展示", "demo"],
  ["尺寸", "size"],
  ["码数", "size"],
  ["价钱", "price"],
  ["活动", "discount"],
  ["物流", "shipping"],
  ["快递", "shipping"],
  ["退换", "aftersale"],
  ["材质", "spec"],
]) {
  TOPIC_BY_NAME.set(alias, key);
}

const POINT_WORDS = new Set(["卖点", "point", "points"]);
const VARIANT_WORDS = new Set(["变体", "variant", "语气"]);

/** The topic key for a key or Chinese name, or null. */
export function topicKey(word) {
  return TOPIC_BY_NAME.get(word.trim().toLowerCase()) || TOPIC_BY_NAME.get(word.trim()) || null;
}

/** The catalog product a line names, or null. */
export function findProduct(catalog, word) {
  const w = word.trim().replace(/^#/, "").replace(/号(链接)?$/, "");
  return catalog.find((p) => p.id === w) || catalog.find((p) => p.name === word.trim()) || null;
}

/**
 * Parses bulk-import text against a catalog.
 *
 * Returns { commands, errors, summary }: `commands` are ready to send, in order (FAQ answers
 * first, then one `set_points` per product); `errors` are `{ line, text, message }` (nothing
 * should be sent while there are any); `summary` lists what will change, per product.
 */
export function parseImport(text, catalog) {
  const errors = [];
  const faq = [];
  const points = new Map(); // product id -> points
  const lastPoint = new Map(); // product id -> the point variants attach to
  const lines = String(text).split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    const n = i + 1;
    // `#2 | …` names product 2; any other line starting with # is a comment.
    if (!line || (line.startsWith("#") && !/^#[0-9A-Za-z_-]+\s*[|｜]/.test(line))) return;
    const fail = (message) => errors.push({ line: n, text: raw, message });
    const parts = line.split(/[|｜]/).map((p) => p.trim());
    if (parts.length < 3) return fail("至少要三段: 商品 | 话题 | 回答");
    const product = findProduct(catalog, parts[0]);
    if (!product) return fail(`没有商品 “${parts[0]}”`);
    const word = parts[1];
    if (POINT_WORDS.has(word.toLowerCase())) {
      if (parts.length < 4) return fail("卖点要四段: 商品 | 卖点 | 话题 | 文案");
      const topic = topicKey(parts[2]);
      if (!topic) return fail(`不认识的话题 “${parts[2]}”`);
      const body = parts.slice(3).join("|").trim();
      if (!body) return fail("卖点文案是空的");
      if ([...body].length > MAX_TEXT) return fail(`文案超过 ${MAX_TEXT} 字`);
      const point = { topic, text: body, variants: [] };
      if (!points.has(product.id)) points.set(product.id, []);
      points.get(product.id).push(point);
      lastPoint.set(product.id, point);
      return;
    }
    if (VARIANT_WORDS.has(word.toLowerCase())) {
      if (parts.length < 4) return fail("变体要四段: 商品 | 变体 | 语气 | 文案");
      const point = lastPoint.get(product.id);
      if (!point) return fail("变体前面要先有这个商品的卖点行");
      const tone = parts[2];
      const body = parts.slice(3).join("|").trim();
      if (!tone) return fail("语气是空的");
      if (!body) return fail("变体文案是空的");
      if ([...body].length > MAX_TEXT) return fail(`文案超过 ${MAX_TEXT} 字`);
      point.variants.push({ tone, text: body });
      return;
    }
    const topic = topicKey(word);
    if (!topic) return fail(`不认识的话题 “${word}” (可用: ${TOPICS.map((t) => t[1]).join(" ")} 或 卖点 / 变体)`);
    const body = parts.slice(2).join("|").trim();
    if (!body) return fail("回答是空的 (删除请写 -)");
    if ([...body].length > MAX_TEXT) return fail(`回答超过 ${MAX_TEXT} 字`);
    faq.push({ type: "set_faq", product: product.id, topic, text: body === "-" ? "" : body });
  });
  const commands = [...faq];
  for (const [product, list] of points) commands.push({ type: "set_points", product, points: list });
  const summary = [];
  for (const p of catalog) {
    const answers = faq.filter((c) => c.product === p.id);
    const pts = points.get(p.id);
    if (!answers.length && !pts) continue;
    summary.push({
      product: p.id,
      faqSet: answers.filter((c) => c.text).length,
      faqRemoved: answers.filter((c) => !c.text).length,
      points: pts ? pts.length : null,
      pointsBefore: (p.points || []).length,
    });
  }
  return { commands, errors, summary };
}

/** Writes a catalog's scripts in the import syntax (import(export(x)) gives x back). */
export function exportLibrary(catalog) {
  const name = new Map(TOPICS);
  const out = ["# LiveCue 话术库 · 商品 | 话题 | 回答 · 商品 | 卖点 | 话题 | 文案 · 商品 | 变体 | 语气 | 文案"];
  for (const p of catalog) {
    out.push("", `# ${p.id}号 ${p.name}`);
    for (const [key] of TOPICS) {
      if (p.faq && p.faq[key]) out.push(`${p.id} | ${name.get(key)} | ${oneLine(p.faq[key])}`);
    }
    for (const pt of p.points || []) {
      out.push(`${p.id} | 卖点 | ${name.get(pt.topic) || pt.topic || "通用"} | ${oneLine(pt.text)}`);
      for (const v of pt.variants || []) out.push(`${p.id} | 变体 | ${oneLine(v.tone)} | ${oneLine(v.text)}`);
    }
  }
  return out.join("\n") + "\n";
}

function oneLine(s) {
  return String(s).replace(/\s*\r?\n\s*/g, " ").trim();
}
