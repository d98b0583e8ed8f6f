// mlp.js -- the model's numerics, which must match Python (ui/live_export.py and ui/items_export.py replay the
// same payload in float64 numpy and check it against torch): the weights (base64, float16 or float32, each
// weight matrix transposed to (in, out)), the MLP forward with its activations (relu, tanh, sigmoid, elu,
// softplus, exact / tanh GELU, and "range", models.LogitRange), the encoder (with the family's input
// normalisation: "l2" = x / ||x||_2 for the recommender) and the decoder's output head, named by the family
// registry (vae_core/families.py: Family.head) and sent in the payload:
//   "sigmoid"  one Bernoulli mean per pixel, p = sigmoid(logits)            -> Float32Array(D)
//   "softmax"  one probability per item or token, pi = softmax(logits)     -> { logits, probs }
// topItems ranks a softmax output (the k largest logits; softmax keeps the order).

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
  const head = p.head || "sigmoid", renderer = p.renderer || "image";
  if (!HEADS[head]) throw new Error("this page has no output head " + JSON.stringify(head));
  if (!RENDERERS[renderer]) throw new Error("this page has no renderer " + JSON.stringify(renderer));
  const m = {
    key: p.key, d: p.latent_dim, c: p.num_classes || 0, D: p.input_dim, titles: p.titles || null, points: p.points || null,
    head, renderer, inputNorm: p.input_norm || null,
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

function decodeLogits(m, z, y) {  // the decoder's logits (a view of the MLP's buffer, valid until the next call)
  return mlp(m, [...m.dec, m.out], setInput(m, z, m.d, y)).subarray(0, m.D);
}

function decode(m, z, y) {  // the decoder's output through the family's head (HEADS below)
  return HEADS[m.head].decode(m, decodeLogits(m, z, y));
}

function encode(m, x, y) {  // -> {mu, logvar} (Float64Array)
  if (m.inputNorm === "l2") {  // MultVAE.encode: x / ||x||_2 (ui/items_export.py reference_item_encode)
    let s = 0;
    for (let i = 0; i < m.D; i++) s += x[i] * x[i];
    const n = Math.max(Math.sqrt(s), 1e-12), v = new Float64Array(m.D);
    for (let i = 0; i < m.D; i++) v[i] = x[i] / n;
    x = v;
  }
  const h = mlp(m, m.enc, setInput(m, x, m.D, y));
  const hid = Float64Array.from(h.subarray(0, m.enc[m.enc.length - 1].nout));
  const mu = new Float64Array(m.d), lv = new Float64Array(m.d);
  dense(m.mu, hid, mu);
  dense(m.logvar, hid, lv);
  return { mu, logvar: lv };
}

// ------------------------------------------------------------------ output heads
function softmaxOf(l) {  // pi_i = exp(l_i - max) / sum_j exp(l_j - max)
  let mx = -Infinity;
  for (let i = 0; i < l.length; i++) if (l[i] > mx) mx = l[i];
  const p = new Float64Array(l.length);
  let s = 0;
  for (let i = 0; i < l.length; i++) { p[i] = Math.exp(l[i] - mx); s += p[i]; }
  for (let i = 0; i < l.length; i++) p[i] /= s;
  return p;
}

function topItems(l, k, exclude) {  // columns of the k largest logits, descending, ties by column
  const idx = [];
  for (let i = 0; i < l.length; i++) if (!exclude || !exclude.has(i)) idx.push(i);
  idx.sort((a, b) => (l[b] - l[a]) || (a - b));
  return idx.slice(0, k);
}

HEADS.sigmoid = {  // Bernoulli means, into m.pix (reused: draw it before the next decode)
  decode(m, h) { const p = m.pix; for (let i = 0; i < m.D; i++) p[i] = 1 / (1 + Math.exp(-h[i])); return p; },
};
HEADS.softmax = {  // a categorical over the D outputs (items, tokens)
  decode(m, h) { const logits = Float64Array.from(h); return { logits, probs: softmaxOf(logits) }; },
};
