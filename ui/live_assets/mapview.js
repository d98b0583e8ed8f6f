// mapview.js -- the scatter of codes on a canvas (MapView): a static layer (points coloured by class, axes,
// ticks, a legend) drawn once per data change and an overlay (pointer, markers, paths, ellipses) redrawn per
// frame; px() / data() convert between the map's coordinates and the canvas's pixels.
//
// Colours: classes 0-9 the ten of matplotlib's tab10 (the digit pages' colours), classes 10-99 a palette of
// 90 more (golden-angle hues at three lightnesses), so a user's data set of up to 100 classes is coloured
// class by class; a label outside 0-99 is grey, and the legend says how many points are.

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const MAX_CLASSES = 100;
const PALETTE = COLORS.concat(Array.from({ length: MAX_CLASSES - COLORS.length }, (_, i) => {
  const k = i + COLORS.length;
  return `hsl(${((k * 137.508) % 360).toFixed(1)}, 65%, ${[42, 57, 32][Math.floor(k / 10) % 3]}%)`;
}));
const OTHER = "#888";

function classColor(k) { return Number.isInteger(k) && k >= 0 && k < MAX_CLASSES ? PALETTE[k] : OTHER; }

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
      const names = map.label_names || [], present = new Set(map.labels);
      let other = 0;
      for (const lab of map.labels) if (classColor(lab) === OTHER) other += 1;
      for (let k = 0; k < MAX_CLASSES; k++) {
        if (!present.has(k)) continue;
        const item = el("span", { class: "vl-key" }, this.legend);
        el("span", { class: "vl-swatch" }, item).style.background = PALETTE[k];
        item.appendChild(document.createTextNode(names[k] !== undefined ? String(names[k]) : String(k)));
      }
      if (other) {
        const item = el("span", { class: "vl-key", "data-role": "legend-other" }, this.legend);
        el("span", { class: "vl-swatch" }, item).style.background = OTHER;
        item.appendChild(document.createTextNode(`${other} point${other === 1 ? "" : "s"} of a class beyond the first ${MAX_CLASSES} (grey)`));
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
    const buckets = Array.from({ length: MAX_CLASSES + 1 }, () => []);  // [grey, class 0, ..., class 99]
    for (let i = 0; i < xs.length; i++) {
      const lab = labs.length ? labs[i] : -1;
      buckets[classColor(lab) === OTHER ? 0 : lab + 1].push(i);
    }
    buckets.forEach((idx, j) => {
      ctx.fillStyle = j ? PALETTE[j - 1] : OTHER;
      for (const i of idx) { const [X, Y] = this.px(xs[i], ys[i]); ctx.fillRect(X - 1.5, Y - 1.5, 3, 3); }
    });
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
