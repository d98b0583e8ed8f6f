// render/image.js -- the "image" renderer (Family.renderer of the image families): a sigmoid head's
// Bernoulli means drawn as an H x W grey picture, grey = round(255 p), opaque, one canvas pixel per image
// pixel (scaled up by CSS, pixelated). H x W is the model's image_shape (a user's data set, #19), else square.

function imageCanvas(parent, side, css, role) {  // side: a square's side, or [H, W]; css: the longer side, px
  const h = Array.isArray(side) ? side[0] : side, w = Array.isArray(side) ? side[1] : side, big = Math.max(h, w);
  const c = el("canvas", { "data-role": role || "digit", class: "vl-digit", width: w, height: h }, parent);
  c.style.width = Math.round(css * w / big) + "px"; c.style.height = Math.round(css * h / big) + "px";
  c._img = c.getContext("2d").createImageData(w, h);
  return c;
}

function drawImage(canvas, p) {  // grey = round(255 p), opaque
  const img = canvas._img, d = img.data;
  for (let i = 0, j = 0; i < p.length; i++, j += 4) {
    const g = Math.round(255 * p[i]);
    d[j] = g; d[j + 1] = g; d[j + 2] = g; d[j + 3] = 255;
  }
  canvas.getContext("2d").putImageData(img, 0, 0);
}

RENDERERS.image = {
  // opts: { px: the longer side in CSS px, role: the canvas's data-role ("digit", "frame", ...) }
  create(parent, m, opts) {
    const c = imageCanvas(parent, m.shape, opts.px, opts.role);
    return { el: c, draw: (p) => drawImage(c, p), clear: () => c.getContext("2d").clearRect(0, 0, c.width, c.height) };
  },
};
