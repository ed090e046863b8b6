// DOM helpers for the LiveCue pages.
//
// Everything that reaches the page from the room stream (comments, samples, hot words, even
// product names) is set as text: `h()` turns string children into text nodes and never parses
// HTML, and `setText()` writes `textContent`. Nothing here parses a string as markup.

/**
 * Creates an element. `props` sets properties (`className`, `title`, `value`, `disabled` ...),
 * `dataset` entries (`data: {id: "x"}`), attributes (`attrs: {...}`) and listeners (`on: {click}`).
 * Children may be nodes, strings (as text), numbers, arrays, or null/false (skipped).
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) applyProps(el, props);
  append(el, children);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** Creates an SVG element; `attrs` are attributes. */
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined && v !== false) el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function applyProps(el, props) {
  for (const [k, v] of Object.entries(props)) {
    if (v === null || v === undefined) continue;
    if (k === "data") Object.assign(el.dataset, v);
    else if (k === "attrs") for (const [a, av] of Object.entries(v)) el.setAttribute(a, String(av));
    else if (k === "on") for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === "style") Object.assign(el.style, v);
    else el[k] = v;
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Sets an element's text only when it changed (saves layout work on every stats tick). */
export function setText(el, text) {
  const t = text === null || text === undefined ? "" : String(text);
  if (el.textContent !== t) el.textContent = t;
}

/** Toggles a class only when needed. */
export function setClass(el, name, on) {
  if (el.classList.contains(name) !== !!on) el.classList.toggle(name, !!on);
}

/**
 * Keyed list rendering: makes `container`'s children match `items`, reusing the element made
 * for each key. Reusing matters on a page redrawn every second: a button that is replaced
 * between mousedown and mouseup never gets its click.
 *
 * `create(item)` returns a new element; `update(el, item, index)` refreshes it.
 */
export function keyed(container, items, key, create, update) {
  const old = new Map();
  for (const el of [...container.children]) {
    // Placeholders ("nothing yet") have no key and give way to the list.
    if (el.dataset.key === undefined) el.remove();
    else old.set(el.dataset.key, el);
  }
  let cursor = container.firstElementChild;
  items.forEach((item, i) => {
    const k = String(key(item));
    let el = old.get(k);
    if (el) old.delete(k);
    else {
      el = create(item);
      el.dataset.key = k;
    }
    update(el, item, i);
    if (el !== cursor) container.insertBefore(el, cursor);
    else cursor = cursor.nextElementSibling;
  });
  for (const el of old.values()) el.remove();
}

/** Copies text to the clipboard; falls back to a hidden textarea outside secure contexts. */
export async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch (_) {
    // Permission refused: try the old way.
  }
  const ta = h("textarea", { value: text, readOnly: true, className: "offscreen" });
  document.body.appendChild(ta);
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch (_) {
    ok = false;
  }
  ta.remove();
  return ok;
}
