// modes/map.js -- mode "map" (ui/live.py live_latent_map, the Latent Map page): hover the scatter of test means
// and the decoder's output under the pointer is drawn every animation frame by the family's renderer
// (an image, or a ranked list); a click sends that z to Python (the "click" trigger).

function mountMap(inst, data, m, api) {
  const root = inst.root, d = m.d, plane = planeOf(data, d);
  root.setAttribute("data-testid", "live-latent-map");
  const row = el("div", { class: "vl-row" }, root);
  const mv = new MapView(row, data.size || 460);
  mv.setData(data.map);
  const side = el("div", { class: "vl-side" }, row);
  el("div", { class: "vl-label" }, side, "decoded under the pointer");
  const out = RENDERERS[m.renderer].create(side, m, { px: data.digit_px || 168, role: "digit" });
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
    out.draw(decode(m, z, y));
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

MODES.map = mountMap;
