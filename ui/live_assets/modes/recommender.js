// modes/recommender.js -- mode "items" (ui/live_items.py live_items_map, the Recommender page): the users' mu
// on a map, the family's output (head "softmax", renderer "items": a ranked list) under the pointer, and "You".
//
// Hover: z under the pointer (z itself on a 2-D model, mean + a*u + b*v on the PCA plane of a larger one),
// or, within SNAP_PX of a user's dot, that user's own mu (all d dimensions, from the payload's points)
// -> decode (logits, pi = softmax(logits)) -> the 10 largest -- every animation frame, nothing sent to the
// server. "You": the picked columns (sent by Python when the multiselect changes) are encoded here (the
// payload's input_norm "l2": x / ||x||_2) -> (mu, logvar); mu and its 1-sigma / 2-sigma ellipses go on the
// map, and the 10 largest logits at mu among the movies not picked are listed.

const SNAP_PX = 6;

function pointsOf(m) {  // the users' mu, (n, d) float32, decoded once per model
  if (!m.points) return null;
  if (!m._pmu) m._pmu = floats(m.points.mu, "float32");
  return { n: m.points.n, ids: m.points.ids, mu: m._pmu };
}

function encodePicks(m, picks) {  // MultVAE.encode of the 0/1 row with ones at picks (eval: no dropout; mlp.js
  const x = new Float64Array(m.D);  // encode divides by ||x||_2, the family's input_norm "l2")
  for (const p of picks) x[p] = 1;
  return encode(m, x, 0);
}

function mountItems(inst, data, m, api) {
  const root = inst.root, d = m.d, plane = planeOf(data, d), k = data.k || 10;
  root.setAttribute("data-testid", "live-items");
  if (m.head !== "softmax" || m.renderer !== "items") {  // the family registry says how this model's output looks
    root.textContent = `This view ranks items; this model's output is ${m.head} / ${m.renderer}.`;
    return;
  }
  for (const a of ["data-top", "data-you-top", "data-picks", "data-ellipse", "data-user"]) root.removeAttribute(a);
  const row = el("div", { class: "vl-row" }, root);
  const mv = new MapView(row, data.size || 400);
  mv.setData(data.map);
  const hov = el("div", { class: "vl-side vl-items" }, row);
  el("div", { class: "vl-label" }, hov, "top " + k + " under the pointer (\u03c0 = softmax of the logits)");
  const hlist = RENDERERS[m.renderer].create(hov, m, { role: "hover-list", k });
  const read = el("div", { class: "vl-read vl-read-items", "data-role": "readout" }, hov, "Move the pointer over the map.");
  const you = el("div", { class: "vl-you" }, hov);
  el("div", { class: "vl-label" }, you, "You: top " + k + " among the movies you did not pick");
  const picks = (data.picks || []).filter((p) => Number.isInteger(p) && p >= 0 && p < m.D);
  const ylist = RENDERERS[m.renderer].create(you, m, { role: "you-list", k, exclude: new Set(picks) });
  const yread = el("div", { class: "vl-read vl-read-items", "data-role": "you-readout" }, you);
  root.setAttribute("data-picks", JSON.stringify(picks));
  let yours = null;
  if (picks.length) {
    const t0 = performance.now();
    const { mu, logvar } = encodePicks(m, picks);
    const top = ylist.draw(decode(m, mu, 0));
    const c = plane.toXY(mu);
    yours = { c, e1: ellipsePts(plane, mu, logvar, 1, 64), e2: ellipsePts(plane, mu, logvar, 2, 64) };
    root.setAttribute("data-mu", zAttr(mu));
    root.setAttribute("data-logvar", zAttr(logvar));
    root.setAttribute("data-you-top", JSON.stringify(top));
    root.setAttribute("data-ellipse", JSON.stringify(yours.e1.slice(0, 16).map((p) => p.map((v) => +v.toPrecision(7)))));
    const sig = Array.from(logvar, (v) => Math.exp(0.5 * v));
    yread.textContent = `${picks.length} picked, encoded in this page (${(performance.now() - t0).toFixed(1)} ms):\n` +
      (plane.u ? `PC1 = ${fmtNum(c[0])}, PC2 = ${fmtNum(c[1])}\n` : "") +
      `\u03bc = ${vecText(mu, 2, 4)}\n\u03c3 = ${vecText(sig, 2, 4)}`;
  } else {
    yread.textContent = "Pick movies you like in the list above the map.";
  }
  const drawOver = (cross) => {
    const ctx = mv.clear();
    mv.overlays(ctx, data.overlays);
    if (yours) {
      mv.path(ctx, yours.e2, "#111", 1.5, [4, 3]);
      mv.path(ctx, yours.e1, "#111", 2.5);
      mv.marker(ctx, yours.c[0], yours.c[1], "#111", 7, false);
    }
    if (cross) mv.marker(ctx, cross[0], cross[1], "#000", cross[2] ? 5 : 6, !cross[2]);
  };
  const pts = pointsOf(m), xs = data.map.x || [], ys = data.map.y || [];
  const usable = pts && pts.n === xs.length && pts.mu.length === pts.n * d;
  let pxs = null;
  const nearest = (a, b) => {  // the user whose dot is within SNAP_PX of the pointer, else -1
    if (!usable) return -1;
    if (!pxs) { pxs = new Float64Array(2 * xs.length); xs.forEach((x, i) => { const [X, Y] = mv.px(x, ys[i]); pxs[2 * i] = X; pxs[2 * i + 1] = Y; }); }
    const [X0, Y0] = mv.px(a, b);
    let best = -1, bd = SNAP_PX * SNAP_PX;
    for (let i = 0; i < xs.length; i++) {
      const dx = pxs[2 * i] - X0, dy = pxs[2 * i + 1] - Y0, dd = dx * dx + dy * dy;
      if (dd <= bd) { bd = dd; best = i; }
    }
    return best;
  };
  const show = (z, a, b, user) => {
    const t0 = performance.now();
    const top = hlist.draw(decode(m, z, 0));
    drawOver([a, b, user >= 0]);
    record(root, performance.now() - t0);
    root.setAttribute("data-z", zAttr(z));
    root.setAttribute("data-top", JSON.stringify(top));
    if (user >= 0) root.setAttribute("data-user", String(pts.ids[user])); else root.removeAttribute("data-user");
    read.textContent = (user >= 0 ? `user ${pts.ids[user]}: their own \u03bc\n` :
      (plane.u ? `PC1 = ${fmtNum(a)}, PC2 = ${fmtNum(b)}\n` : "")) + `z = ${vecText(z, 2, 4)}` + (d > 4 ? ` (${d} dims)` : "");
  };
  let pending = null, raf = 0;
  const frame = () => {
    raf = 0;
    if (!pending) return;
    const [a, b] = pending; pending = null;
    const u = nearest(a, b);
    if (u >= 0) show(Float64Array.from(pts.mu.subarray(u * d, (u + 1) * d)), xs[u], ys[u], u);
    else show(plane.toZ(a, b), a, b, -1);
  };
  mv.wrap.addEventListener("pointermove", (ev) => {
    pending = mv.eventData(ev);
    if (!raf) raf = requestAnimationFrame(frame);
  });
  // Test hook: root.__setZ(z) decodes any z (of the model's dimension) as if it were under the pointer.
  root.__setZ = (z) => { const zz = Float64Array.from(z), [a, b] = plane.toXY(zz); show(zz, a, b, -1); };
  // Test hook: the client coordinates of user i's dot.
  root.__pointPx = (i) => { const r = mv.wrap.getBoundingClientRect(), [X, Y] = mv.px(xs[i], ys[i]); return [r.left + X, r.top + Y]; };
  drawOver(null);
  inst.cleanup = () => { if (raf) cancelAnimationFrame(raf); };
}

MODES.items = mountItems;
