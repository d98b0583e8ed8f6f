// preprocess.js -- the drawing's MNIST-style preprocessing, the same numbers as vae_core/drawing.py
// (preprocess_drawing -> fit_to_mnist, with Pillow's Lanczos resampling re-implemented); tests/browser/
// test_live.py compares the page's 28x28 input with vae_core's for the same canvas.

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
