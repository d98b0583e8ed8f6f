// render/items.js -- the "items" renderer (Family.renderer of the recommender, mult-vae): a softmax head's
// output shown as the ranked list of the k items with the largest logits, each with its title (the
// payload's titles, in column order) and pi_i = softmax(logits)_i in per cent.

function renderItems(ol, cols, probs, titles) {
  ol.replaceChildren();
  for (const c of cols) {
    const li = el("li", { "data-col": String(c) }, ol);
    el("span", { class: "vl-title" }, li, titles ? titles[c] : "item " + c);
    el("span", { class: "vl-prob" }, li, (100 * probs[c]).toFixed(2) + " %");
  }
}

RENDERERS.items = {
  // opts: { role: the list's data-role, k: how many (10), exclude: a Set of columns not to list }
  create(parent, m, opts) {
    const ol = el("ol", { class: "vl-list", "data-role": opts.role || "list" }, parent);
    const k = opts.k || 10;
    return {
      el: ol,
      draw: (out) => { const top = topItems(out.logits, k, opts.exclude || null); renderItems(ol, top, out.probs, m.titles); return top; },
      clear: () => ol.replaceChildren(),
    };
  },
};
