// modes/interpolate.js -- mode "interp" (ui/live.py live_interpolation, the Interpolation page): scrub t along
// lerp / slerp between z0 and z1 (latent.js), a strip of frames decoded along the path, the path on the map;
// t and the method are reported on release ("scrub" state).

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
  const out = RENDERERS[m.renderer].create(side, m, { px: data.digit_px || 168, role: "digit" });
  const read = el("div", { class: "vl-read", "data-role": "readout" }, side);
  const n = data.steps || 10;
  const strip = el("div", { class: "vl-strip", "data-role": "strip" }, root);
  const thumbs = [];
  for (let k = 0; k < n; k++) thumbs.push(RENDERERS[m.renderer].create(strip, m, { px: data.thumb_px || 56, role: "frame", k: 3 }));
  const cursor = el("div", { class: "vl-cursor" }, strip);
  const scrub = el("input", { type: "range", min: 0, max: 1, step: 0.001, "data-role": "scrub", class: "vl-scrub" }, root);
  scrub.value = String(t);
  const at = (tt) => (method === "slerp" ? slerpAt(z0, z1, tt) : lerpAt(z0, z1, tt));
  const pathPts = () => { const pts = []; for (let k = 0; k <= 40; k++) pts.push(plane.toXY(at(k / 40))); return pts; };
  let pathCache = null;
  function drawStrip() {
    for (let k = 0; k < n; k++) thumbs[k].draw(decode(m, at(n > 1 ? k / (n - 1) : 0), y));
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
    out.draw(decode(m, z, y));
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

MODES.interp = mountInterp;
