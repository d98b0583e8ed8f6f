// modes/draw.js -- mode "draw" (ui/live.py live_drawing, the Drawing Board): strokes on a canvas, the canvas
// preprocessed as vae_core.digits.drawing does (preprocess.js) and encoded every frame (mu, the 1-sigma / 2-sigma
// ellipses on the map, the reconstruction decode(mu)); the finished canvas goes to Python ("ink" state).

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
  const inCv = imageCanvas(mid, 28, data.digit_px || 84, "input");  // the 28x28 input is always an image
  el("div", { class: "vl-label" }, mid, "decoded \u03bc");
  const out = RENDERERS[m.renderer].create(mid, m, { px: data.digit_px || 84, role: "digit" });
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
      inCv.getContext("2d").clearRect(0, 0, 28, 28); out.clear();
      root.removeAttribute("data-mu"); root.removeAttribute("data-logvar");
      read.textContent = "Draw a digit.";
      record(root, performance.now() - t0);
      return;
    }
    drawImage(inCv, x);
    const { mu, logvar } = encode(m, x, y);
    out.draw(decode(m, mu, y));
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

MODES.draw = mountDraw;
