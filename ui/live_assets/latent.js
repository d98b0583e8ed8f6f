// latent.js -- paths and planes in latent space, as vae_core.latent computes them: lerp / slerp (the
// interpolation), the map's plane (z itself for d <= 2, mean + a*u + b*v on the PCA plane of the test
// means for d > 2) and the posterior's ellipse projected on that plane (projected_ellipse).

function lerpAt(z0, z1, t) { return z0.map((a, i) => (1 - t) * a + t * z1[i]); }
function slerpAt(z0, z1, t) {
  const n0 = Math.hypot(...z0), n1 = Math.hypot(...z1);
  if (n0 < 1e-12 || n1 < 1e-12) return lerpAt(z0, z1, t);
  let dot = 0; for (let i = 0; i < z0.length; i++) dot += z0[i] * z1[i];
  const cos = Math.min(Math.max(dot / (n0 * n1), -1), 1), om = Math.acos(cos);
  if (Math.abs(Math.sin(om)) < 1e-6) return lerpAt(z0, z1, t);
  const a = Math.sin((1 - t) * om) / Math.sin(om), b = Math.sin(t * om) / Math.sin(om);
  return z0.map((v, i) => a * v + b * z1[i]);
}

// The plane the map shows: z directly (d <= 2) or mean + a*u + b*v (PCA of the test means, d > 2).
function planeOf(data, d) {
  const p = data.plane;
  if (!p) return { d, toZ: (a, b) => (d === 1 ? [a] : [a, b]), toXY: (z) => [z[0], d > 1 ? z[1] : 0], u: null };
  const { mean, u, v } = p;
  return {
    d, u, v, mean,
    toZ: (a, b) => mean.map((m, i) => m + a * u[i] + b * v[i]),
    toXY: (z) => { let a = 0, b = 0; for (let i = 0; i < d; i++) { a += (z[i] - mean[i]) * u[i]; b += (z[i] - mean[i]) * v[i]; } return [a, b]; },
  };
}

// 1-sigma ellipse of N(mu, diag(exp(logvar))) pushed through the map's plane (vae_core.latent.projected_ellipse).
function ellipsePts(plane, mu, logvar, nStd, n) {
  const d = mu.length, c = plane.toXY(mu);
  let a, b, cc;
  if (!plane.u) { a = Math.exp(logvar[0]); cc = d > 1 ? Math.exp(logvar[1]) : 0; b = 0; }
  else {
    a = 0; b = 0; cc = 0;
    for (let i = 0; i < d; i++) {
      const v = Math.exp(logvar[i]);
      a += plane.u[i] * plane.u[i] * v; b += plane.u[i] * plane.v[i] * v; cc += plane.v[i] * plane.v[i] * v;
    }
  }
  const tr = (a + cc) / 2, disc = Math.sqrt(((a - cc) / 2) ** 2 + b * b);
  const l1 = tr + disc, l2 = Math.max(tr - disc, 0);
  let e1 = Math.abs(b) > 1e-15 ? [l1 - cc, b] : (a >= cc ? [1, 0] : [0, 1]);
  const nn = Math.hypot(e1[0], e1[1]); e1 = [e1[0] / nn, e1[1] / nn];
  const e2 = [-e1[1], e1[0]], r1 = nStd * Math.sqrt(l1), r2 = nStd * Math.sqrt(l2), pts = [];
  for (let k = 0; k <= n; k++) {
    const t = 2 * Math.PI * k / n, p = r1 * Math.cos(t), q = r2 * Math.sin(t);
    pts.push([c[0] + p * e1[0] + q * e2[0], c[1] + p * e1[1] + q * e2[1]]);
  }
  return pts;
}
