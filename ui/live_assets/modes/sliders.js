// modes/sliders.js -- mode "decoder" (ui/live.py live_decoder, the Decoder Sliders page): one range input per
// latent dimension (every input event decodes) and, with a map, a 2-D pad that moves z in the map's plane;
// the z (and class) is reported to Python on release ("z" state).

function mountDecoder(inst, data, m, api) {
  const root = inst.root, d = m.d, plane = planeOf(data, d);
  root.setAttribute("data-testid", "live-decoder");
  const z = Float64Array.from(data.z0 || new Array(d).fill(0));
  let y = data.y === null || data.y === undefined ? 0 : data.y;
  const row = el("div", { class: "vl-row" }, root);
  const mv = data.map ? new MapView(row, data.size || 380) : null;
  if (mv) { mv.setData(data.map); mv.wrap.setAttribute("data-role", "pad"); }
  const side = el("div", { class: "vl-side" }, row);
  const out = RENDERERS[m.renderer].create(side, m, { px: data.digit_px || 168, role: "digit" });
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
    out.draw(decode(m, z, y));
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

MODES.decoder = mountDecoder;
