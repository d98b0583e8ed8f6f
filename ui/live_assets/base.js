// base.js -- first of the in-page model's files (ui/live.py joins them, in the order of its LIVE_JS, into the
// one module of the "vae_live" component; no build step, nothing fetched). It holds what every other file
// uses: the page-wide model cache, the three registries the later files fill in -- HEADS (mlp.js: the
// decoder's output map), RENDERERS (render/*.js: how an output is shown) and MODES (modes/*.js: the views)
// -- and small DOM / text helpers. main.js, last, is the component's entry point.
//
// Nothing here talks to the network; the server hears from the page only on clicks, releases and finished
// strokes, never per pointer move.

const G = (window.__vaeLive = window.__vaeLive || { models: {}, requested: {} });
const HEADS = {};  // name -> { decode(m, logits) -> output }            (mlp.js)
const RENDERERS = {};  // name -> { create(parent, m, opts) -> { el, draw(output) } }   (render/*.js)
const MODES = {};  // name -> mount(inst, data, m, api)                   (modes/*.js)
const STATS_MAX = 4000;

// ------------------------------------------------------------------ DOM and text helpers
function el(tag, attrs, parent, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}

function fmtNum(v, nd) { const s = v.toFixed(nd === undefined ? 2 : nd); return s.replace("-", "\u2212"); }
function vecText(v, nd, max) {
  max = max || 8;
  const parts = Array.from(v.slice(0, max), (x) => fmtNum(x, nd));
  return "(" + parts.join(", ") + (v.length > max ? ", \u2026" : "") + ")";
}

// The CVAE's class buttons.
function classPicker(parent, n, names, current, onPick) {
  const box = el("div", { class: "vl-classes", "data-role": "classes" }, parent);
  el("span", { class: "vl-label" }, box, "class y:");
  const btns = [];
  for (let k = 0; k < n; k++) {
    const b = el("button", { type: "button", "data-role": "class", "data-class": String(k), class: "vl-class" }, box,
      names && names[k] !== undefined ? String(names[k]) : String(k));
    b.onclick = () => { btns.forEach((x, j) => x.classList.toggle("vl-on", j === k)); onPick(k); };
    btns.push(b);
  }
  btns.forEach((x, j) => x.classList.toggle("vl-on", j === current));
  return box;
}

function record(root, ms) {  // per-frame timings for bench/live_fps.py
  const s = root.__live || (root.__live = { ms: [], stamps: [], frames: 0 });
  s.frames += 1;
  s.ms.push(ms); s.stamps.push(performance.now());
  if (s.ms.length > STATS_MAX) { s.ms.splice(0, s.ms.length - STATS_MAX); s.stamps.splice(0, s.stamps.length - STATS_MAX); }
  root.setAttribute("data-frames", String(s.frames));
  root.setAttribute("data-decode-ms", ms.toFixed(3));
}

function zAttr(z) { return JSON.stringify(Array.from(z, (v) => +v.toPrecision(7))); }