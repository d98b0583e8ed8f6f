// The VAE running in the page: a hand-written MLP on Float32Array weights, for ui/live.py.
//
// Python (ui/live.py) mounts this one component in four modes -- "map" (hover to decode), "decoder"
// (sliders and a 2-D pad), "interp" (scrub between two codes) and "draw" (encode while drawing).
// A model's weights arrive once per browser session (base64, float16 or float32, each weight matrix
// transposed to (in, out)) and are cached in window.__vaeLive.models under the model's key; later
// mounts send only the key. If a mount finds neither, it asks Python for them with the "need" trigger.
// Nothing here talks to the network; the server hears from the page only on clicks, releases and
// finished strokes, never per pointer move.

const G = (window.__vaeLive = window.__vaeLive || { models: {}, requested: {} });
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const STATS_MAX = 4000;

// ------------------------------------------------------------------ weights
function b64bytes(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

let HALF = null;
function halfTable() {  // every IEEE-754 binary16 bit pattern -> its value
  if (HALF) return HALF;
  HALF = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
    let v;
    if (e === 0) v = f * Math.pow(2, -24);
    else if (e === 31) v = f ? NaN : Infinity;
    else v = (1 + f / 1024) * Math.pow(2, e - 15);
    HALF[h] = sign * v;
  }
  return HALF;
}

function floats(b64, dtype) {
  const bytes = b64bytes(b64);
  if (dtype === "float16") {
    const u = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length >> 1);
    const t = halfTable(), out = new Float32Array(u.length);
    for (let i = 0; i < u.length; i++) out[i] = t[u[i]];
    return out;
  }
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2);
}

function layer(p, dtype) {
  return { nin: p.in, nout: p.out, WT: floats(p.wt, dtype), b: floats(p.b, dtype), act: p.act || { name: "identity" } };
}

function buildModel(p) {
  const m = {
    key: p.key, d: p.latent_dim, c: p.num_classes || 0, D: p.input_dim, titles: p.titles || null, points: p.points || null,
    enc: p.encoder.map((l) => layer(l, p.dtype)), mu: layer(p.mu, p.dtype), logvar: layer(p.logvar, p.dtype),
    dec: p.decoder.map((l) => layer(l, p.dtype)), out: layer(p.out, p.dtype),
  };
  m.side = Math.round(Math.sqrt(m.D));
  m.shape = p.image_shape || [m.side, m.side];  // [H, W]: a user's data set (#19); digits are square
  let w = m.D + m.c;
  for (const l of [...m.enc, ...m.dec, m.out, m.mu, m.logvar]) w = Math.max(w, l.nout, l.nin);
  m.bufA = new Float64Array(w);
  m.bufB = new Float64Array(w);
  m.pix = new Float32Array(m.D);
  return m;
}

// ------------------------------------------------------------------ the MLP
// erf with |error| < 1.2e-7 (Numerical Recipes' erfc, Chebyshev fit), for the exact GELU.
function erf(x) {
  const z = Math.abs(x), t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
    t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1 - r : r - 1;
}

function activate(act, y, n) {
  switch (act.name) {
    case "relu": for (let i = 0; i < n; i++) if (y[i] < 0) y[i] = 0; break;
    case "tanh": for (let i = 0; i < n; i++) y[i] = Math.tanh(y[i]); break;
    case "sigmoid": for (let i = 0; i < n; i++) y[i] = 1 / (1 + Math.exp(-y[i])); break;
    case "elu": { const a = act.alpha; for (let i = 0; i < n; i++) if (y[i] <= 0) y[i] = a * Math.expm1(y[i]); break; }
    case "softplus": {
      const b = act.beta, th = act.threshold;
      for (let i = 0; i < n; i++) { const v = y[i] * b; if (v <= th) y[i] = Math.log1p(Math.exp(v)) / b; }
      break;
    }
    case "gelu":
      if (act.approximate === "tanh") {
        const k = Math.sqrt(2 / Math.PI);
        for (let i = 0; i < n; i++) { const x = y[i]; y[i] = 0.5 * x * (1 + Math.tanh(k * (x + 0.044715 * x * x * x))); }
      } else {
        for (let i = 0; i < n; i++) y[i] = 0.5 * y[i] * (1 + erf(y[i] / Math.SQRT2));
      }
      break;
    case "identity": break;
    case "range": {  // models.LogitRange: logits mapped onto (lo, hi) = c -/+ h
      const c = act.c, h = act.h;
      for (let i = 0; i < n; i++) y[i] = c + h * Math.tanh((y[i] - c) / h);
      break;
    }
    default: throw new Error("unsupported activation " + act.name);
  }
}

// y = b + x W (W stored transposed, (in, out) row-major); zero inputs are skipped (ReLU outputs,
// one-hot labels and blank pixels are mostly zeros).
function dense(L, x, y) {
  const nin = L.nin, nout = L.nout, W = L.WT, b = L.b;
  for (let o = 0; o < nout; o++) y[o] = b[o];
  for (let i = 0; i < nin; i++) {
    const xi = x[i];
    if (xi === 0) continue;
    const off = i * nout;
    for (let o = 0; o < nout; o++) y[o] += xi * W[off + o];
  }
  activate(L.act, y, nout);
}

function mlp(m, layers, x) {  // x: Float64Array in m.bufA; returns the buffer holding the output
  let a = x, b = a === m.bufA ? m.bufB : m.bufA;
  for (const L of layers) { dense(L, a, b); const t = a; a = b; b = t; }
  return a;
}

function setInput(m, v, n, y) {  // [v, one_hot(y)] into bufA
  const x = m.bufA;
  for (let i = 0; i < n; i++) x[i] = v[i];
  for (let k = 0; k < m.c; k++) x[n + k] = k === y ? 1 : 0;
  return x;
}

function decode(m, z, y) {  // -> m.pix, Bernoulli means sigmoid(logits)
  const h = mlp(m, [...m.dec, m.out], setInput(m, z, m.d, y));
  const p = m.pix;
  for (let i = 0; i < m.D; i++) p[i] = 1 / (1 + Math.exp(-h[i]));
  return p;
}

function encode(m, x, y) {  // -> {mu, logvar} (Float64Array)
  const h = mlp(m, m.enc, setInput(m, x, m.D, y));
  const hid = Float64Array.from(h.subarray(0, m.enc[m.enc.length - 1].nout));
  const mu = new Float64Array(m.d), lv = new Float64Array(m.d);
  dense(m.mu, hid, mu);
  dense(m.logvar, hid, lv);
  return { mu, logvar: lv };
}

// ------------------------------------------------- MNIST-style preprocessing (vae_core/drawing.py)
function pyRound(x) {  // Python's round(): halves go to the even neighbour
  const f = x - Math.floor(x);
  if (f === 0.5) return 2 * Math.round(x / 2);
  return Math.round(x);
}

function lanczos(x) {
  const sinc = (v) => { if (v === 0) return 1; v *= Math.PI; return Math.sin(v) / v; };
  return (-3 <= x && x < 3) ? sinc(x) * sinc(x / 3) : 0;
}

function coeffs(inSize, outSize) {  // Pillow's precompute_coeffs (Resample.c), box = (0, inSize)
  let scale = inSize / outSize, fs = scale < 1 ? 1 : scale;
  const support = 3 * fs, ss = 1 / fs;
  const ks = Math.ceil(support) * 2 + 1;
  const kk = new Float64Array(outSize * ks), bounds = new Int32Array(outSize * 2);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5); if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5); if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) { const w = lanczos((x + xmin - center + 0.5) * ss); kk[xx * ks + x] = w; ww += w; }
    if (ww !== 0) for (let x = 0; x < xmax; x++) kk[xx * ks + x] /= ww;
    bounds[2 * xx] = xmin; bounds[2 * xx + 1] = xmax;
  }
  return { kk, bounds, ks };
}

// Image.fromarray(float32 (h, w)).resize((nw, nh), LANCZOS): horizontal pass, then vertical, float32 between.
function resizeLanczos(src, w, h, nw, nh) {
  if (nw === w && nh === h) return Float32Array.from(src);
  let cur = src, cw = w, ch = h;
  if (nw !== w) {
    const { kk, bounds, ks } = coeffs(w, nw);
    const out = new Float32Array(nw * h);
    for (let y = 0; y < h; y++) {
      const row = y * w;
      for (let xx = 0; xx < nw; xx++) {
        const xmin = bounds[2 * xx], xmax = bounds[2 * xx + 1];
        let s = 0;
        for (let x = 0; x < xmax; x++) s += cur[row + x + xmin] * kk[xx * ks + x];
        out[y * nw + xx] = s;
      }
    }
    cur = out; cw = nw;
  }
  if (nh !== h) {
    const { kk, bounds, ks } = coeffs(h, nh);
    const out = new Float32Array(cw * nh);
    for (let yy = 0; yy < nh; yy++) {
      const ymin = bounds[2 * yy], ymax = bounds[2 * yy + 1];
      for (let x = 0; x < cw; x++) {
        let s = 0;
        for (let y = 0; y < ymax; y++) s += cur[(y + ymin) * cw + x] * kk[yy * ks + y];
        out[yy * cw + x] = s;
      }
    }
    cur = out; ch = nh;
  }
  return cur;
}

function centerOfMass(a, w, h) {
  let total = 0, sr = 0, sc = 0;
  for (let r = 0; r < h; r++) {
    let rs = 0;
    for (let c = 0; c < w; c++) { const v = a[r * w + c]; rs += v; }
    total += rs; sr += rs * r;
  }
  if (total <= 0) return null;
  for (let c = 0; c < w; c++) {
    let cs = 0;
    for (let r = 0; r < h; r++) cs += a[r * w + c];
    sc += cs * c;
  }
  return [sr / total, sc / total];
}

// preprocess_drawing(grey uint8 (h, w)) with its defaults: ink = grey/255, flipped if the median is
// bright; None below min_ink; fit_to_mnist (crop to ink > 5% of the max, fit 20x20 keeping the aspect
// ratio with Lanczos, paste with the centre of mass at (13.5, 13.5) on whole pixels, never off the
// field; brightest pixel -> 1). Returns Float32Array(784) or null.
export function preprocessGrey(grey, w, h) {
  const n = w * h, hist = new Uint32Array(256);
  for (let i = 0; i < n; i++) hist[grey[i]]++;
  const kth = (k) => { let acc = 0; for (let v = 0; v < 256; v++) { acc += hist[v]; if (acc > k) return v; } return 255; };
  const median = n % 2 ? kth((n - 1) / 2) / 255 : (kth(n / 2 - 1) / 255 + kth(n / 2) / 255) / 2;
  const flip = median > 0.5;
  const ink = new Float64Array(n);
  let total = 0, amax = 0;
  for (let i = 0; i < n; i++) {
    let v = grey[i] / 255;
    if (flip) v = 1 - v;
    ink[i] = v; total += v; if (v > amax) amax = v;
  }
  if (n === 0 || total < Math.max(5e-4 * n, 1e-6)) return null;
  if (amax <= 0) return null;
  const thr = 0.05 * amax;
  let top = h, left = w, bottom = -1, right = -1;
  for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) if (ink[r * w + c] > thr) {
    if (r < top) top = r; if (r > bottom) bottom = r; if (c < left) left = c; if (c > right) right = c;
  }
  if (bottom < 0) return null;
  bottom += 1; right += 1;
  const ch = bottom - top, cw = right - left;
  const crop = new Float32Array(ch * cw);
  for (let r = 0; r < ch; r++) for (let c = 0; c < cw; c++) crop[r * cw + c] = ink[(r + top) * w + c + left];
  const s = 20 / Math.max(ch, cw);
  const nh = Math.max(1, pyRound(ch * s)), nw = Math.max(1, pyRound(cw * s));
  const small32 = resizeLanczos(crop, cw, ch, nw, nh);
  const small = new Float64Array(nw * nh);
  let smax = 0;
  for (let i = 0; i < small.length; i++) { const v = Math.max(small32[i], 0); small[i] = v; if (v > smax) smax = v; }
  if (smax <= 0) return null;
  const [cy, cx] = centerOfMass(small, nw, nh);
  const oy = Math.min(Math.max(pyRound(13.5 - cy), 0), 28 - nh);
  const ox = Math.min(Math.max(pyRound(13.5 - cx), 0), 28 - nw);
  const out = new Float64Array(784);
  for (let r = 0; r < nh; r++) for (let c = 0; c < nw; c++) out[(r + oy) * 28 + c + ox] = small[r * nw + c];
  let omax = 0;
  for (let i = 0; i < 784; i++) if (out[i] > omax) omax = out[i];
  const res = new Float32Array(784);
  for (let i = 0; i < 784; i++) res[i] = Math.min(Math.max(omax > 0 ? out[i] / omax : out[i], 0), 1);
  return res;
}

// ------------------------------------------------------------------ latent paths (vae_core.latent)
function lerpAt(z0, z1, t) { return z0.map((a, i) => (1 - t) * a + t * z1[i]); }
function slerpAt(z0, z1, t) {
  const n0 = Math.hypot(...z0), n1 = Math.hypot(...z1);
  if (n0 < 1e-12 || n1 < 1e-12) return lerpAt(z0, z1, t);
  let dot = 0; for (let i = 0; i < z0.length; i++) dot += z0[i] * z1[i];
  const cos = Math.min(Math.max(dot / (n0 * n1), -1), 1), om = Math.acos(cos);
  if (Math.abs(Math.sin(om)) < 1e-6) return lerpAt(z0, z1, t);
  const a = Math.sin((1 - t) * om) / Math.sin(om), b = Math.sin(t * om) / Math.sin(om);
  return z0.map((v, i) => a * v + b * z1[i]);
}

// ------------------------------------------------------------------ drawing helpers
function el(tag, attrs, parent, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}

function digitCanvas(parent, side, css, role) {  // side: a square's side, or [H, W]; css: the longer side, px
  const h = Array.isArray(side) ? side[0] : side, w = Array.isArray(side) ? side[1] : side, big = Math.max(h, w);
  const c = el("canvas", { "data-role": role || "digit", class: "vl-digit", width: w, height: h }, parent);
  c.style.width = Math.round(css * w / big) + "px"; c.style.height = Math.round(css * h / big) + "px";
  c._img = c.getContext("2d").createImageData(w, h);
  return c;
}

function drawDigit(canvas, p) {  // grey = round(255 p), opaque
  const img = canvas._img, d = img.data;
  for (let i = 0, j = 0; i < p.length; i++, j += 4) {
    const g = Math.round(255 * p[i]);
    d[j] = g; d[j + 1] = g; d[j + 2] = g; d[j + 3] = 255;
  }
  canvas.getContext("2d").putImageData(img, 0, 0);
}

function fmtNum(v, nd) { const s = v.toFixed(nd === undefined ? 2 : nd); return s.replace("-", "\u2212"); }
function vecText(v, nd, max) {
  max = max || 8;
  const parts = Array.from(v.slice(0, max), (x) => fmtNum(x, nd));
  return "(" + parts.join(", ") + (v.length > max ? ", \u2026" : "") + ")";
}

function niceTicks(lo, hi, n) {
  const span = hi - lo, raw = span / Math.max(n, 1), mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => span / s <= n) || 10 * mag;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(Math.abs(v) < 1e-12 ? 0 : v);
  return out;
}

// The scatter of test means on a canvas: a static layer (points, axes) drawn once per data change and
// an overlay (pointer, markers, paths, ellipses) redrawn per frame.
class MapView {
  constructor(parent, size) {
    this.size = size;
    this.col = el("div", { class: "vl-col" }, parent);
    this.wrap = el("div", { "data-role": "map", class: "vl-map" }, this.col);
    this.legend = el("div", { class: "vl-legend" }, this.col);
    this.wrap.style.width = size + "px"; this.wrap.style.height = size + "px";
    const dpr = window.devicePixelRatio || 1;
    this.base = el("canvas", { class: "vl-layer" }, this.wrap);
    this.over = el("canvas", { class: "vl-layer" }, this.wrap);
    for (const c of [this.base, this.over]) {
      c.width = Math.round(size * dpr); c.height = Math.round(size * dpr);
      c.style.width = size + "px"; c.style.height = size + "px";
      c.getContext("2d").setTransform(dpr, 0, 0, dpr, 0, 0);
    }
    this.m = { l: 44, r: 8, t: 8, b: 34 };
  }
  setData(map) {
    this.map = map;
    this.legend.replaceChildren();
    if (map.labels && map.labels.length) {
      const names = map.label_names || [];
      for (let k = 0; k < 10; k++) {
        if (!map.labels.includes(k)) continue;
        const item = el("span", { class: "vl-key" }, this.legend);
        el("span", { class: "vl-swatch" }, item).style.background = COLORS[k];
        item.appendChild(document.createTextNode(names[k] !== undefined ? String(names[k]) : String(k)));
      }
    }
    const [x0, x1, y0, y1] = map.extent;
    this.ext = { x0, x1, y0, y1 };
    this.drawBase();
  }
  px(x, y) {
    const { l, r, t, b } = this.m, W = this.size - l - r, H = this.size - t - b, e = this.ext;
    return [l + (x - e.x0) / (e.x1 - e.x0) * W, t + (1 - (y - e.y0) / (e.y1 - e.y0)) * H];
  }
  data(px, py) {
    const { l, r, t, b } = this.m, W = this.size - l - r, H = this.size - t - b, e = this.ext;
    const x = e.x0 + (px - l) / W * (e.x1 - e.x0), y = e.y0 + (1 - (py - t) / H) * (e.y1 - e.y0);
    return [Math.min(Math.max(x, e.x0), e.x1), Math.min(Math.max(y, e.y0), e.y1)];
  }
  eventData(ev) {
    // The box is measured once per pointer entry / scroll / resize, not per event: a fresh
    // getBoundingClientRect after each frame's text update would force a layout of the whole page.
    if (!this.rect) {
      this.rect = this.wrap.getBoundingClientRect();
      if (!this.watching) {
        this.watching = true;
        const drop = () => { this.rect = null; };
        this.wrap.addEventListener("pointerenter", drop);
        window.addEventListener("resize", drop);
        document.addEventListener("scroll", drop, { capture: true, passive: true });
      }
    }
    const r = this.rect;
    return this.data(ev.clientX - r.left, ev.clientY - r.top);
  }
  drawBase() {
    const ctx = this.base.getContext("2d"), S = this.size, { l, r, t, b } = this.m, map = this.map;
    ctx.clearRect(0, 0, S, S);
    ctx.fillStyle = "#ffffff"; ctx.fillRect(l, t, S - l - r, S - t - b);
    ctx.strokeStyle = "#d0d0d0"; ctx.lineWidth = 1; ctx.fillStyle = "#444"; ctx.font = "11px sans-serif";
    const e = this.ext;
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    for (const v of niceTicks(e.x0, e.x1, 6)) {
      const [X] = this.px(v, e.y0);
      ctx.beginPath(); ctx.moveTo(X, t); ctx.lineTo(X, S - b); ctx.stroke();
      ctx.fillText(fmtNum(v, Math.abs(v) < 10 && v % 1 ? 1 : 0), X, S - b + 3);
    }
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    for (const v of niceTicks(e.y0, e.y1, 6)) {
      const [, Y] = this.px(e.x0, v);
      ctx.beginPath(); ctx.moveTo(l, Y); ctx.lineTo(S - r, Y); ctx.stroke();
      ctx.fillText(fmtNum(v, Math.abs(v) < 10 && v % 1 ? 1 : 0), l - 4, Y);
    }
    ctx.textAlign = "center"; ctx.textBaseline = "bottom";
    ctx.fillText((map.axes && map.axes[0]) || "", l + (S - l - r) / 2, S - 1);
    ctx.save(); ctx.translate(11, t + (S - t - b) / 2); ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = "middle"; ctx.fillText((map.axes && map.axes[1]) || "", 0, 0); ctx.restore();
    ctx.save();
    ctx.beginPath(); ctx.rect(l, t, S - l - r, S - t - b); ctx.clip();
    const xs = map.x || [], ys = map.y || [], labs = map.labels || [];
    ctx.globalAlpha = 0.55;
    for (let k = -1; k < 10; k++) {
      ctx.fillStyle = k < 0 ? "#888" : COLORS[k];
      for (let i = 0; i < xs.length; i++) {
        const lab = labs.length ? labs[i] : -1;
        if ((k < 0 && (lab < 0 || lab > 9)) || lab === k) {
          const [X, Y] = this.px(xs[i], ys[i]);
          ctx.fillRect(X - 1.5, Y - 1.5, 3, 3);
        }
      }
    }
    ctx.restore();
    ctx.strokeStyle = "#999"; ctx.strokeRect(l, t, S - l - r, S - t - b);
  }
  clear() {
    const ctx = this.over.getContext("2d");
    ctx.clearRect(0, 0, this.size, this.size);
    return ctx;
  }
  marker(ctx, x, y, color, r, cross) {
    const [X, Y] = this.px(x, y);
    ctx.strokeStyle = color || "#000"; ctx.lineWidth = 2;
    ctx.beginPath();
    if (cross) { ctx.moveTo(X - r, Y - r); ctx.lineTo(X + r, Y + r); ctx.moveTo(X - r, Y + r); ctx.lineTo(X + r, Y - r); }
    else ctx.arc(X, Y, r || 6, 0, 2 * Math.PI);
    ctx.stroke();
  }
  path(ctx, pts, color, width, dash) {
    if (!pts.length) return;
    ctx.strokeStyle = color || "#000"; ctx.lineWidth = width || 2; ctx.setLineDash(dash || []);
    ctx.beginPath();
    pts.forEach(([x, y], i) => { const [X, Y] = this.px(x, y); if (i) ctx.lineTo(X, Y); else ctx.moveTo(X, Y); });
    ctx.stroke(); ctx.setLineDash([]);
  }
  overlays(ctx, list) {
    for (const o of list || []) {
      if (o.type === "marker") this.marker(ctx, o.xy[0], o.xy[1], o.color, o.size || 7, o.cross);
      else if (o.type === "path") this.path(ctx, o.xy, o.color, o.width, o.dash);
    }
  }
}

// The plane the map shows: z directly (d <= 2) or mean + a*u + b*v (PCA of the test means, d > 2).
function planeOf(data, d) {
  const p = data.plane;
  if (!p) return { d, toZ: (a, b) => (d === 1 ? [a] : [a, b]), toXY: (z) => [z[0], d > 1 ? z[1] : 0], u: null };
  const { mean, u, v } = p;
  return {
    d, u, v, mean,
    toZ: (a, b) => mean.map((m, i) => m + a * u[i] + b * v[i]),
    toXY: (z) => { let a = 0, b = 0; for (let i = 0; i < d; i++) { a += (z[i] - mean[i]) * u[i]; b += (z[i] - mean[i]) * v[i]; } return [a, b]; },
  };
}

// 1-sigma ellipse of N(mu, diag(exp(logvar))) pushed through the map's plane (vae_core.latent.projected_ellipse).
function ellipsePts(plane, mu, logvar, nStd, n) {
  const d = mu.length, c = plane.toXY(mu);
  let a, b, cc;
  if (!plane.u) { a = Math.exp(logvar[0]); cc = d > 1 ? Math.exp(logvar[1]) : 0; b = 0; }
  else {
    a = 0; b = 0; cc = 0;
    for (let i = 0; i < d; i++) {
      const v = Math.exp(logvar[i]);
      a += plane.u[i] * plane.u[i] * v; b += plane.u[i] * plane.v[i] * v; cc += plane.v[i] * plane.v[i] * v;
    }
  }
  const tr = (a + cc) / 2, disc = Math.sqrt(((a - cc) / 2) ** 2 + b * b);
  const l1 = tr + disc, l2 = Math.max(tr - disc, 0);
  let e1 = Math.abs(b) > 1e-15 ? [l1 - cc, b] : (a >= cc ? [1, 0] : [0, 1]);
  const nn = Math.hypot(e1[0], e1[1]); e1 = [e1[0] / nn, e1[1] / nn];
  const e2 = [-e1[1], e1[0]], r1 = nStd * Math.sqrt(l1), r2 = nStd * Math.sqrt(l2), pts = [];
  for (let k = 0; k <= n; k++) {
    const t = 2 * Math.PI * k / n, p = r1 * Math.cos(t), q = r2 * Math.sin(t);
    pts.push([c[0] + p * e1[0] + q * e2[0], c[1] + p * e1[1] + q * e2[1]]);
  }
  return pts;
}

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

// ------------------------------------------------------------------ modes
function mountMap(inst, data, m, api) {
  const root = inst.root, d = m.d, plane = planeOf(data, d);
  root.setAttribute("data-testid", "live-latent-map");
  const row = el("div", { class: "vl-row" }, root);
  const mv = new MapView(row, data.size || 460);
  mv.setData(data.map);
  const side = el("div", { class: "vl-side" }, row);
  el("div", { class: "vl-label" }, side, "decoded under the pointer");
  const cv = digitCanvas(side, m.shape, data.digit_px || 168);
  const read = el("div", { class: "vl-read", "data-role": "readout" }, side, "Move the pointer over the map.");
  let y = data.y === null || data.y === undefined ? 0 : data.y;
  if (m.c) classPicker(side, m.c, data.class_names, y, (k) => { y = k; if (inst.last) schedule(); });
  el("div", { class: "vl-hint" }, side, "Click to keep this z" + (data.click_hint ? " \u2014 " + data.click_hint : "") + ".");
  let pending = null, raf = 0;
  const frame = () => {
    raf = 0;
    if (!pending) return;
    const t0 = performance.now();
    const [a, b] = pending; pending = null;
    const z = plane.toZ(a, b);
    drawDigit(cv, decode(m, z, y));
    const ctx = mv.clear();
    mv.overlays(ctx, data.overlays);
    mv.marker(ctx, a, b, "#000", 6, true);
    inst.last = { a, b, z };
    const t1 = performance.now();
    record(root, t1 - t0);
    root.setAttribute("data-z", zAttr(z));
    read.textContent = (plane.u ? `PC1 = ${fmtNum(a)}, PC2 = ${fmtNum(b)}\n` : "") +
      `z = ${vecText(z, 2, 6)}` + (d > 6 ? ` (${d} dims)` : "") + (m.c ? `\ny = ${y}` : "");
  };
  const schedule = () => { if (!pending && inst.last) pending = [inst.last.a, inst.last.b]; if (!raf) raf = requestAnimationFrame(frame); };
  let lastPx = null;
  mv.wrap.addEventListener("pointermove", (ev) => {
    pending = mv.eventData(ev); lastPx = [ev.clientX, ev.clientY];
    if (!raf) raf = requestAnimationFrame(frame);
  });
  mv.wrap.addEventListener("click", (ev) => {
    // The z shown is the one kept: a click's coordinates are whole pixels, the pointer's are not.
    const near = lastPx && inst.last && Math.hypot(ev.clientX - lastPx[0], ev.clientY - lastPx[1]) < 1.5;
    const [a, b] = near ? [inst.last.a, inst.last.b] : mv.eventData(ev), z = plane.toZ(a, b);
    api.setTriggerValue("click", { z, xy: [a, b], y: m.c ? y : null });
  });
  mv.overlays(mv.clear(), data.overlays);
  inst.cleanup = () => { if (raf) cancelAnimationFrame(raf); };
}

function mountDecoder(inst, data, m, api) {
  const root = inst.root, d = m.d, plane = planeOf(data, d);
  root.setAttribute("data-testid", "live-decoder");
  const z = Float64Array.from(data.z0 || new Array(d).fill(0));
  let y = data.y === null || data.y === undefined ? 0 : data.y;
  const row = el("div", { class: "vl-row" }, root);
  const mv = data.map ? new MapView(row, data.size || 380) : null;
  if (mv) { mv.setData(data.map); mv.wrap.setAttribute("data-role", "pad"); }
  const side = el("div", { class: "vl-side" }, row);
  const cv = digitCanvas(side, m.shape, data.digit_px || 168);
  const read = el("div", { class: "vl-read", "data-role": "readout" }, side);
  if (m.c) classPicker(side, m.c, data.class_names, y, (k) => { y = k; schedule(); report(); });
  const lim = data.limit || 4;
  const sl = el("div", { class: "vl-sliders" }, root);
  const inputs = [], vals = [];
  for (let i = 0; i < d; i++) {
    const r = el("label", { class: "vl-slider" }, sl);
    el("span", { class: "vl-name" }, r, `z${i + 1}`);
    const inp = el("input", { type: "range", min: -lim, max: lim, step: 0.01, "data-role": "slider", "data-dim": String(i) }, r);
    inp.value = String(z[i]);
    const v = el("span", { class: "vl-val" }, r, fmtNum(z[i]));
    inp.addEventListener("input", () => { z[i] = parseFloat(inp.value); vals[i].textContent = fmtNum(z[i]); schedule(); });
    inp.addEventListener("change", () => report());
    inputs.push(inp); vals.push(v);
  }
  let raf = 0, timer = 0;
  const report = () => {
    if (data.report === false) return;
    clearTimeout(timer);
    timer = setTimeout(() => api.setStateValue("z", { z: Array.from(z), y: m.c ? y : null }), 150);
  };
  const syncSliders = () => { for (let i = 0; i < d; i++) { inputs[i].value = String(z[i]); vals[i].textContent = fmtNum(z[i]); } };
  const frame = () => {
    raf = 0;
    const t0 = performance.now();
    drawDigit(cv, decode(m, z, y));
    const [a, b] = plane.toXY(z);
    if (mv) { const ctx = mv.clear(); mv.overlays(ctx, data.overlays); mv.marker(ctx, a, b, "#000", 7, true); }
    record(root, performance.now() - t0);
    root.setAttribute("data-z", zAttr(z));
    read.textContent = (plane.u ? `PC1 = ${fmtNum(a)}, PC2 = ${fmtNum(b)}\n` : "") + `z = ${vecText(z, 2, 6)}` + (m.c ? `\ny = ${y}` : "");
  };
  const schedule = () => { if (!raf) raf = requestAnimationFrame(frame); };
  if (mv) {
    let drag = false;
    const setFrom = (ev) => {
      const [a, b] = mv.eventData(ev);
      if (!plane.u) { z[0] = a; if (d > 1) z[1] = b; }
      else {
        const [a0, b0] = plane.toXY(z);
        for (let i = 0; i < d; i++) z[i] += (a - a0) * plane.u[i] + (b - b0) * plane.v[i];
      }
      syncSliders(); schedule();
    };
    mv.wrap.addEventListener("pointerdown", (ev) => { drag = true; mv.wrap.setPointerCapture(ev.pointerId); setFrom(ev); });
    mv.wrap.addEventListener("pointermove", (ev) => { if (drag) setFrom(ev); });
    mv.wrap.addEventListener("pointerup", () => { if (drag) { drag = false; report(); } });
  }
  // Test hook: root.__setZ(z[, y]) sets the code (and class) as if the sliders had been moved.
  root.__setZ = (nz, ny) => { for (let i = 0; i < d; i++) z[i] = nz[i]; if (m.c && ny !== undefined) y = ny; syncSliders(); schedule(); };
  schedule();
  inst.cleanup = () => { if (raf) cancelAnimationFrame(raf); clearTimeout(timer); };
}

function mountInterp(inst, data, m, api) {
  const root = inst.root, d = m.d, plane = planeOf(data, d);
  root.setAttribute("data-testid", "live-interpolation");
  root.setAttribute("data-z0", JSON.stringify(data.z0)); root.setAttribute("data-z1", JSON.stringify(data.z1));
  const z0 = data.z0, z1 = data.z1, y = data.y === null || data.y === undefined ? 0 : data.y;
  let method = data.method === "slerp" ? "slerp" : "lerp", t = data.t === undefined ? 0.5 : data.t;
  const bar = el("div", { class: "vl-bar" }, root);
  const radios = {};
  for (const [k, label] of [["lerp", "linear (lerp)"], ["slerp", "spherical (slerp)"]]) {
    const lab = el("label", { class: "vl-radio" }, bar);
    const r = el("input", { type: "radio", name: inst.id + "-method", value: k, "data-role": "method" }, lab);
    r.checked = k === method;
    el("span", {}, lab, " " + label);
    r.addEventListener("change", () => { if (r.checked) { method = k; drawStrip(); schedule(); report(); } });
    radios[k] = r;
  }
  const formula = el("div", { class: "vl-formula" }, root);
  const row = el("div", { class: "vl-row" }, root);
  const mv = data.map ? new MapView(row, data.size || 340) : null;
  if (mv) mv.setData(data.map);
  const side = el("div", { class: "vl-side" }, row);
  const cv = digitCanvas(side, m.shape, data.digit_px || 168);
  const read = el("div", { class: "vl-read", "data-role": "readout" }, side);
  const n = data.steps || 10;
  const strip = el("div", { class: "vl-strip", "data-role": "strip" }, root);
  const thumbs = [];
  for (let k = 0; k < n; k++) thumbs.push(digitCanvas(strip, m.shape, data.thumb_px || 56, "frame"));
  const cursor = el("div", { class: "vl-cursor" }, strip);
  const scrub = el("input", { type: "range", min: 0, max: 1, step: 0.001, "data-role": "scrub", class: "vl-scrub" }, root);
  scrub.value = String(t);
  const at = (tt) => (method === "slerp" ? slerpAt(z0, z1, tt) : lerpAt(z0, z1, tt));
  const pathPts = () => { const pts = []; for (let k = 0; k <= 40; k++) pts.push(plane.toXY(at(k / 40))); return pts; };
  let pathCache = null;
  function drawStrip() {
    for (let k = 0; k < n; k++) drawDigit(thumbs[k], decode(m, at(n > 1 ? k / (n - 1) : 0), y));
    pathCache = mv ? pathPts() : null;
    formula.textContent = method === "slerp"
      ? "z(t) = sin((1\u2212t)\u03c9)/sin \u03c9 \u00b7 z\u2080 + sin(t\u03c9)/sin \u03c9 \u00b7 z\u2081,  cos \u03c9 = z\u2080\u00b7z\u2081 / (|z\u2080| |z\u2081|)"
      : "z(t) = (1\u2212t) \u00b7 z\u2080 + t \u00b7 z\u2081";
  }
  let raf = 0, timer = 0;
  const report = () => {
    if (data.report === false) return;
    clearTimeout(timer);
    timer = setTimeout(() => api.setStateValue("scrub", { t, method }), 150);
  };
  const frame = () => {
    raf = 0;
    const t0 = performance.now();
    const z = at(t);
    drawDigit(cv, decode(m, z, y));
    if (mv) {
      const ctx = mv.clear(); mv.overlays(ctx, data.overlays);
      mv.path(ctx, pathCache, "#000", 2);
      const a = plane.toXY(z0), b = plane.toXY(z1), c = plane.toXY(z);
      mv.marker(ctx, a[0], a[1], "#111", 6); mv.marker(ctx, b[0], b[1], "#111", 6); mv.marker(ctx, c[0], c[1], "#d62728", 7, true);
    }
    cursor.style.left = `calc(${(((n > 1 ? t * (n - 1) : 0) + 0.5) / n * 100).toFixed(2)}% - 1px)`;
    record(root, performance.now() - t0);
    root.setAttribute("data-z", zAttr(z));
    root.setAttribute("data-t", t.toFixed(4));
    root.setAttribute("data-method", method);
    read.textContent = `t = ${t.toFixed(3)}\nz(t) = ${vecText(z, 2, 6)}`;
  };
  const schedule = () => { if (!raf) raf = requestAnimationFrame(frame); };
  scrub.addEventListener("input", () => { t = parseFloat(scrub.value); schedule(); });
  scrub.addEventListener("change", () => report());
  let drag = false;
  const fromStrip = (ev) => {
    const r = strip.getBoundingClientRect();
    const u = (ev.clientX - r.left) / r.width * n - 0.5;  // thumbnail k is centred on t = k / (n - 1)
    t = Math.min(Math.max(n > 1 ? u / (n - 1) : 0, 0), 1);
    scrub.value = String(t); schedule();
  };
  strip.addEventListener("pointerdown", (ev) => { drag = true; strip.setPointerCapture(ev.pointerId); fromStrip(ev); });
  strip.addEventListener("pointermove", (ev) => { if (drag) fromStrip(ev); });
  strip.addEventListener("pointerup", () => { if (drag) { drag = false; report(); } });
  drawStrip(); schedule();
  inst.cleanup = () => { if (raf) cancelAnimationFrame(raf); clearTimeout(timer); };
}

function mountDraw(inst, data, m, api) {
  const root = inst.root, d = m.d, plane = planeOf(data, d);
  root.setAttribute("data-testid", "live-drawing");
  const W = data.canvas || 280;
  let y = data.y === null || data.y === undefined ? 0 : data.y, brush = data.brush || 20;
  const row = el("div", { class: "vl-row" }, root);
  const left = el("div", { class: "vl-side" }, row);
  const pad = el("canvas", { "data-role": "draw", class: "vl-draw", width: W, height: W }, left);
  pad.style.width = W + "px"; pad.style.height = W + "px";
  const pctx = pad.getContext("2d", { willReadFrequently: true });
  const tools = el("div", { class: "vl-bar" }, left);
  const undo = el("button", { type: "button", "data-role": "undo" }, tools, "Undo");
  const clear = el("button", { type: "button", "data-role": "clear" }, tools, "Clear");
  const bl = el("label", { class: "vl-slider" }, tools);
  el("span", { class: "vl-name vl-wide" }, bl, "brush");
  const bw = el("input", { type: "range", min: 8, max: 40, step: 1, "data-role": "brush" }, bl);
  bw.value = String(brush);
  const bv = el("span", { class: "vl-val" }, bl, brush + " px");
  bw.addEventListener("input", () => { brush = parseInt(bw.value, 10); bv.textContent = brush + " px"; });
  if (m.c) classPicker(left, m.c, data.class_names, y, (k) => { y = k; dirty = true; schedule(); sendInk(); });
  const mid = el("div", { class: "vl-side" }, row);
  el("div", { class: "vl-label" }, mid, "28\u00d728 input");
  const inCv = digitCanvas(mid, 28, data.digit_px || 84, "input");
  el("div", { class: "vl-label" }, mid, "decoded \u03bc");
  const cv = digitCanvas(mid, m.side, data.digit_px || 84);
  const read = el("div", { class: "vl-read vl-read-wide", "data-role": "readout" }, root, "Draw a digit.");
  const mv = data.map ? new MapView(el("div", { class: "vl-row" }, root), data.size || 340) : null;
  if (mv) mv.setData(data.map);
  const strokes = [];
  let cur = null, dirty = false, raf = 0;
  const paintSeg = (s, i) => {
    pctx.strokeStyle = "#fff"; pctx.fillStyle = "#fff"; pctx.lineWidth = s.w; pctx.lineCap = "round"; pctx.lineJoin = "round";
    const p = s.pts;
    if (i === 0) { pctx.beginPath(); pctx.arc(p[0][0], p[0][1], s.w / 2, 0, 2 * Math.PI); pctx.fill(); return; }
    pctx.beginPath(); pctx.moveTo(p[i - 1][0], p[i - 1][1]); pctx.lineTo(p[i][0], p[i][1]); pctx.stroke();
  };
  const repaint = () => {
    pctx.fillStyle = "#000"; pctx.fillRect(0, 0, W, W);
    for (const s of strokes) for (let i = 0; i < s.pts.length; i++) paintSeg(s, i);
  };
  repaint();
  const grey = () => {
    const px = pctx.getImageData(0, 0, W, W).data, g = new Uint8Array(W * W);
    for (let i = 0, j = 0; i < g.length; i++, j += 4) g[i] = px[j];
    return g;
  };
  const frame = () => {
    raf = 0;
    if (!dirty) return;
    dirty = false;
    const t0 = performance.now();
    const x = preprocessGrey(grey(), W, W);
    const ctx = mv ? mv.clear() : null;
    if (ctx) mv.overlays(ctx, data.overlays);
    if (!x) {
      inCv.getContext("2d").clearRect(0, 0, 28, 28); cv.getContext("2d").clearRect(0, 0, m.side, m.side);
      root.removeAttribute("data-mu"); root.removeAttribute("data-logvar");
      read.textContent = "Draw a digit.";
      record(root, performance.now() - t0);
      return;
    }
    drawDigit(inCv, x);
    const { mu, logvar } = encode(m, x, y);
    drawDigit(cv, decode(m, mu, y));
    if (ctx) {
      const c = plane.toXY(mu);
      mv.path(ctx, ellipsePts(plane, mu, logvar, 2, 48), "#d62728", 1.5, [4, 3]);
      mv.path(ctx, ellipsePts(plane, mu, logvar, 1, 48), "#d62728", 2);
      mv.marker(ctx, c[0], c[1], "#d62728", 7, true);
    }
    record(root, performance.now() - t0);
    root.setAttribute("data-mu", zAttr(mu));
    root.setAttribute("data-logvar", zAttr(logvar));
    root.setAttribute("data-z", zAttr(mu));
    const sig = Array.from(logvar, (v) => Math.exp(0.5 * v));
    read.textContent = `in this page: \u03bc = ${vecText(mu, 2, 6)}\n\u03c3 = ${vecText(sig, 2, 6)}` +
      (m.c ? `, y = ${y}` : "");
  };
  const schedule = () => { if (!raf) raf = requestAnimationFrame(frame); };
  const pos = (ev) => { const r = pad.getBoundingClientRect(); return [(ev.clientX - r.left) * W / r.width, (ev.clientY - r.top) * W / r.height]; };
  const sendInk = () => {
    if (!strokes.length) { api.setStateValue("ink", { cleared: true }); return; }
    const g = grey();
    let s = "";
    for (let i = 0; i < g.length; i += 8192) s += String.fromCharCode.apply(null, g.subarray(i, i + 8192));
    api.setStateValue("ink", { w: W, h: W, grey: btoa(s), strokes: strokes.length, y: m.c ? y : null });
  };
  pad.addEventListener("pointerdown", (ev) => {
    pad.setPointerCapture(ev.pointerId);
    cur = { w: brush, pts: [pos(ev)] }; strokes.push(cur); paintSeg(cur, 0); dirty = true; schedule();
  });
  pad.addEventListener("pointermove", (ev) => {
    if (!cur) return;
    cur.pts.push(pos(ev)); paintSeg(cur, cur.pts.length - 1); dirty = true; schedule();
  });
  const end = () => { if (!cur) return; cur = null; dirty = true; schedule(); sendInk(); };
  pad.addEventListener("pointerup", end);
  pad.addEventListener("pointercancel", end);
  undo.onclick = () => { strokes.pop(); repaint(); dirty = true; schedule(); sendInk(); };
  clear.onclick = () => { strokes.length = 0; repaint(); dirty = true; schedule(); sendInk(); };
  if (mv) mv.overlays(mv.clear(), data.overlays);
  inst.cleanup = () => { if (raf) cancelAnimationFrame(raf); };
}

const MODES = { map: mountMap, decoder: mountDecoder, interp: mountInterp, draw: mountDraw };
const INSTANCES = new WeakMap();
let NEXT_ID = 0;

export default function (component) {
  const { data, parentElement, setStateValue, setTriggerValue } = component;
  const api = { setStateValue, setTriggerValue };
  let inst = INSTANCES.get(parentElement);
  if (!inst) {
    inst = { id: "vl" + NEXT_ID++, root: document.createElement("div") };
    inst.root.className = "vae-live";
    parentElement.appendChild(inst.root);
    INSTANCES.set(parentElement, inst);
  }
  if (!data || !data.model) return;
  const key = data.model.key;
  if (data.model.weights && !G.models[key]) {
    try { G.models[key] = buildModel(data.model.weights); }
    catch (err) { inst.root.textContent = "This model could not be loaded in the page: " + err.message; return; }
  }
  const m = G.models[key];
  // Same model and the same view as before: nothing to rebuild (Python re-sends data on reruns).
  // A decoder view given only a new start code (z0) keeps its DOM and moves its z there.
  const { z0, ...rest } = data;
  const sig = JSON.stringify({ ...(data.mode === "decoder" ? rest : data), model: key });
  if (m && inst.sig === sig) {
    if (data.mode === "decoder" && JSON.stringify(z0) !== JSON.stringify(inst.z0) && inst.root.__setZ) {
      inst.z0 = z0;
      inst.root.__setZ(z0);
    }
    return () => inst.cleanup && inst.cleanup();
  }
  inst.z0 = z0;
  if (inst.cleanup) inst.cleanup();
  inst.cleanup = null;
  inst.root.replaceChildren();
  for (const a of ["data-frames", "data-z", "data-decode-ms", "data-mu", "data-logvar", "data-t", "data-method", "data-z0", "data-z1"]) inst.root.removeAttribute(a);
  if (!m) {
    inst.sig = null;
    inst.root.textContent = "Loading the model into the page\u2026";
    if (!G.requested[key]) { G.requested[key] = true; setTriggerValue("need", key); }
    return;
  }
  inst.sig = sig;
  inst.root.__live = null;
  inst.root.__setZ = null;
  inst.root.setAttribute("data-model", key);
  inst.root.setAttribute("data-frames", "0");
  MODES[data.mode](inst, data, m, api);
  return () => { if (inst.cleanup) inst.cleanup(); };
}
