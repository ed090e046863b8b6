// Hand-written SVG time charts for the console: a few dozen lines instead of a vendored chart
// library (see README.md, "Why no chart library"). Redrawn at most once a second with at most
// a few hundred points, which SVG handles without effort.

import { svg } from "/assets/dom.js";

const PAD = { left: 40, right: 8, top: 8, bottom: 20 };

/**
 * Draws a time chart into `el` (an <svg>), sized to its box.
 *
 * opts: {
 *   t0, t1: time range in ms;
 *   yMin, yMax: value range; yTicks: values to label; fmtY(v) → label;
 *   series: [{ pts: [[t, v], ...], cls, area?: boolean | "split" }]
 *     area: fill down to 0; "split": fill above 0 and below 0 with `cls-pos` / `cls-neg`.
 *   empty: text shown when there is nothing to draw.
 * }
 */
export function timeChart(el, opts) {
  const W = Math.max(120, Math.round(el.clientWidth || el.parentElement.clientWidth || 300));
  const H = Math.max(60, Math.round(el.clientHeight || 120));
  el.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const x0 = PAD.left;
  const x1 = W - PAD.right;
  const y0 = H - PAD.bottom;
  const y1 = PAD.top;
  const span = Math.max(1, opts.t1 - opts.t0);
  const X = (t) => x0 + ((t - opts.t0) / span) * (x1 - x0);
  const Y = (v) => y0 - ((v - opts.yMin) / (opts.yMax - opts.yMin || 1)) * (y0 - y1);
  const nodes = [];

  for (const v of opts.yTicks || []) {
    const y = Y(v).toFixed(1);
    nodes.push(svg("line", { x1: x0, x2: x1, y1: y, y2: y, class: v === 0 ? "axis zero" : "grid" }));
    nodes.push(svg("text", { x: x0 - 6, y: Number(y) + 4, class: "ylabel", "text-anchor": "end" }, opts.fmtY ? opts.fmtY(v) : String(v)));
  }
  // Clock labels: every minute for short ranges, every 5 minutes for long ones.
  const step = span <= 6 * 60_000 ? 60_000 : span <= 16 * 60_000 ? 180_000 : 300_000;
  for (let t = Math.ceil(opts.t0 / step) * step; t <= opts.t1; t += step) {
    const x = X(t);
    if (x < x0 + 14 || x > x1 - 14) continue;
    const d = new Date(t);
    const label = `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
    nodes.push(svg("line", { x1: x.toFixed(1), x2: x.toFixed(1), y1: y0, y2: y0 + 4, class: "axis" }));
    nodes.push(svg("text", { x: x.toFixed(1), y: H - 5, class: "xlabel", "text-anchor": "middle" }, label));
  }

  let drawn = 0;
  for (const s of opts.series) {
    const pts = s.pts.filter(([t]) => t >= opts.t0 && t <= opts.t1);
    if (pts.length < 2) continue;
    drawn += 1;
    const line = pts.map(([t, v]) => `${X(t).toFixed(1)},${Y(v).toFixed(1)}`).join(" ");
    const base = Y(Math.max(opts.yMin, Math.min(opts.yMax, 0))).toFixed(1);
    const first = X(pts[0][0]).toFixed(1);
    const last = X(pts[pts.length - 1][0]).toFixed(1);
    if (s.area === "split") {
      const pos = pts.map(([t, v]) => `${X(t).toFixed(1)},${Y(Math.max(0, v)).toFixed(1)}`).join(" ");
      const neg = pts.map(([t, v]) => `${X(t).toFixed(1)},${Y(Math.min(0, v)).toFixed(1)}`).join(" ");
      nodes.push(svg("polygon", { points: `${first},${base} ${pos} ${last},${base}`, class: `${s.cls}-pos` }));
      nodes.push(svg("polygon", { points: `${first},${base} ${neg} ${last},${base}`, class: `${s.cls}-neg` }));
    } else if (s.area) {
      nodes.push(svg("polygon", { points: `${first},${base} ${line} ${last},${base}`, class: `${s.cls}-area` }));
    }
    nodes.push(svg("polyline", { points: line, class: s.cls }));
  }
  if (!drawn && opts.empty) {
    nodes.push(svg("text", { x: (x0 + x1) / 2, y: (y0 + y1) / 2, class: "empty", "text-anchor": "middle" }, opts.empty));
  }
  el.replaceChildren(...nodes);
}

/**
 * Averages `[t, v]` points into buckets of `ms` (keeps a long, noisy per-second series calm
 * and the SVG small).
 */
export function bucket(pts, ms) {
  if (ms <= 1000) return pts;
  const out = [];
  let key = null;
  let sum = 0;
  let n = 0;
  for (const [t, v] of pts) {
    const k = Math.floor(t / ms);
    if (k !== key && n) {
      out.push([key * ms + ms / 2, sum / n]);
      sum = 0;
      n = 0;
    }
    key = k;
    sum += v;
    n += 1;
  }
  if (n) out.push([key * ms + ms / 2, sum / n]);
  return out;
}

/** A "nice" upper bound for an axis: 1, 2, 5 × 10^k at or above `v`. */
export function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
