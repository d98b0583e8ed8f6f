"""What a trained VAE is good for (seed §实际应用案例).

* anomaly / out-of-distribution detection from the -ELBO and the reconstruction
  error (§3), with a numpy ROC curve and some ready-made OOD sets;
* inpainting by iterated encode-decode, the seed's ``ImageInpaintingVAE.inpaint``
  run to a fixed point (§2): ``x_t = mask * recon + (1 - mask) * x_known``;
* latent editing ``z' = z + alpha * dz`` along a class-mean or a style direction (§5);
* compression: the latent rate KL(q(z|x) || p(z)) against 8-bit pixel storage (§4).

Every function takes a :class:`~vae_core.models.VAE` or a CVAE; a CVAE needs the
labels ``y`` wherever the model is run (the exceptions are documented).
Masks use 1 / True for a MISSING pixel.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F

from .drawing import fit_to_mnist
from .objectives import gaussian_kl

PIXELS = 784
SIDE = 28
LN2 = math.log(2.0)


# ------------------------------------------------------------------ helpers
def _labels(model, y, n: int) -> torch.Tensor | None:
    """Labels for ``n`` rows: None for a plain VAE, an (n,) long tensor for a CVAE."""
    if not model.conditional:
        if y is not None:
            raise ValueError("this model is not conditional: do not pass labels")
        return None
    if y is None:
        raise ValueError("a CVAE needs class labels y")
    y = torch.as_tensor(y).long().reshape(-1)
    if y.numel() == 1:
        y = y.expand(n)
    if y.numel() != n:
        raise ValueError(f"got {y.numel()} labels for {n} images")
    return y


def _rows(x) -> torch.Tensor:
    x = torch.as_tensor(x)
    return x.reshape(1, -1) if x.dim() == 1 else x.reshape(x.shape[0], -1)


def _enc(model, x, y):
    return model.encode(x, y) if y is not None else model.encode(x)


def _dec(model, z, y, logits: bool = False):
    f = model.decode_logits if logits else model.decode
    return f(z, y) if y is not None else f(z)


# ======================================================= anomaly detection
@torch.no_grad()
def _scores_given_labels(model, x, y, generator):
    mu, logvar = _enc(model, x, y)
    kl = gaussian_kl(mu, logvar)
    z = model.reparameterize(mu, logvar, generator)
    nll = F.binary_cross_entropy_with_logits(_dec(model, z, y, logits=True), x, reduction="none").sum(1)
    mean_logits = _dec(model, mu, y, logits=True)
    recon_bce = F.binary_cross_entropy_with_logits(mean_logits, x, reduction="none").sum(1)
    recon_mse = (torch.sigmoid(mean_logits) - x).pow(2).mean(1)
    return {"neg_elbo": nll + kl, "kl": kl, "recon_bce": recon_bce, "recon_mse": recon_mse}


@torch.no_grad()
def anomaly_scores(model, x, y=None, batch_size: int = 1000,
                   generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Per-image anomaly scores (higher = more anomalous), each an (N,) float tensor.

    * ``neg_elbo``  -- one-sample -ELBO = -E_q log p(x|z) + KL, nats / image (an upper bound on -log p(x));
    * ``kl``        -- KL(q(z|x) || p(z)), nats;
    * ``recon_bce`` -- BCE of the *mean* reconstruction decode(mu) against x, **summed** over the
      784 pixels (nats / image; deterministic);
    * ``recon_mse`` -- squared error of decode(mu), **averaged** over the 784 pixels.

    For a CVAE without ``y`` (an OOD image has no label) every class is tried: ``neg_elbo`` is the
    bound on -log p(x) under a uniform label prior, -log(1/K sum_c exp(ELBO_c)), and the other scores
    come from the class with the best ELBO, returned as ``label``.
    """
    model.eval()
    x = _rows(x).float()
    n = x.shape[0]
    keys = ("neg_elbo", "kl", "recon_bce", "recon_mse")
    out: dict[str, list] = {k: [] for k in keys}
    marginal = model.conditional and y is None
    if marginal:
        out["label"] = []
    else:
        y = _labels(model, y, n)
    for s in range(0, n, batch_size):
        xb = x[s:s + batch_size]
        if not marginal:
            t = _scores_given_labels(model, xb, None if y is None else y[s:s + batch_size], generator)
            for k in keys:
                out[k].append(t[k])
            continue
        per = [_scores_given_labels(model, xb, torch.full((xb.shape[0],), c, dtype=torch.long), generator)
               for c in range(model.num_classes)]
        ne = torch.stack([p["neg_elbo"] for p in per])  # (K, B)
        best = ne.argmin(0)
        cols = torch.arange(xb.shape[0])
        out["neg_elbo"].append(-(torch.logsumexp(-ne, 0) - math.log(model.num_classes)))
        for k in ("kl", "recon_bce", "recon_mse"):
            out[k].append(torch.stack([p[k] for p in per])[best, cols])
        out["label"].append(best)
    return {k: torch.cat(v) if v else torch.empty(0) for k, v in out.items()}


def _finite_1d(a, name: str) -> np.ndarray:
    a = np.asarray(a.detach().cpu() if hasattr(a, "detach") else a, dtype=np.float64).reshape(-1)
    if a.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return a


def roc_curve(scores_normal, scores_anomalous) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC of the rule "anomalous if score >= threshold" (anomalies are the positive class).

    Returns ``(fpr, tpr, thresholds)``: one point per distinct score, thresholds decreasing, with a
    first point (0, 0) at threshold +inf and a last point (1, 1).  Tied scores form one point, so the
    trapezoidal area counts a normal/anomalous tie as 1/2 (the Mann-Whitney convention).
    """
    neg = _finite_1d(scores_normal, "scores_normal")
    pos = _finite_1d(scores_anomalous, "scores_anomalous")
    scores = np.concatenate([pos, neg])
    is_pos = np.concatenate([np.ones(pos.size), np.zeros(neg.size)])
    order = np.argsort(-scores, kind="mergesort")
    scores, is_pos = scores[order], is_pos[order]
    last = np.r_[np.flatnonzero(np.diff(scores) != 0), scores.size - 1]  # end of each tie group
    tps = np.cumsum(is_pos)[last]
    fps = (last + 1) - tps
    tpr = np.r_[0.0, tps / pos.size]
    fpr = np.r_[0.0, fps / neg.size]
    thresholds = np.r_[np.inf, scores[last]]
    return fpr, tpr, thresholds


def roc_auc(scores_normal, scores_anomalous) -> float:
    """Area under :func:`roc_curve` = P(score_anomalous > score_normal) + 1/2 P(tie)."""
    fpr, tpr, _ = roc_curve(scores_normal, scores_anomalous)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))


# ---------------------------------------------------------------- OOD sets
def uniform_noise(n: int, seed: int = 0) -> torch.Tensor:
    """(n, 784) i.i.d. U(0, 1) pixels."""
    return torch.rand(n, PIXELS, generator=torch.Generator().manual_seed(seed))


def inverted(x) -> torch.Tensor:
    """Photographic negative 1 - x (dark digits on a white background)."""
    return 1.0 - _rows(x).float()


def rotated(x, degrees: float) -> torch.Tensor:
    """Rotate each 28x28 image anticlockwise by ``degrees`` about its centre (bilinear, zero fill)."""
    from scipy import ndimage

    x = _rows(x).float()
    if float(degrees) % 360.0 == 0.0:
        return x.clone()
    imgs = x.reshape(-1, SIDE, SIDE).numpy()
    out = ndimage.rotate(imgs, float(degrees), axes=(2, 1), reshape=False, order=1, mode="constant", cval=0.0)
    return torch.from_numpy(np.clip(out, 0.0, 1.0).reshape(-1, PIXELS).astype(np.float32))


def sklearn_digits_upscaled(n: int | None = None, seed: int = 0, return_labels: bool = False):
    """scikit-learn's 8x8 digits (UCI, 1,797 images, values 0..16) made MNIST-like.

    Each digit is scaled to [0, 1], its ink cropped and resized to fit 20x20 (aspect kept) and placed
    in a 28x28 field with its centre of mass at the centre (:func:`vae_core.drawing.fit_to_mnist`).
    Same digits, different writers and a blocky resampling: a "near" OOD set.  ``n`` draws a seeded
    random subset.  Returns (n, 784) float32, plus (n,) labels with ``return_labels``.
    """
    from sklearn.datasets import load_digits

    d = load_digits()
    images = d.images.astype(np.float64) / 16.0
    labels = d.target.astype(np.int64)
    idx = np.arange(len(images))
    if n is not None and n < len(images):
        idx = np.sort(np.random.default_rng(seed).choice(len(images), size=n, replace=False))
    rows = []
    for i in idx:
        img = fit_to_mnist(images[i], resample="bilinear")
        rows.append(np.zeros(PIXELS, np.float32) if img is None else img.reshape(-1))
    x = torch.from_numpy(np.stack(rows)) if rows else torch.zeros(0, PIXELS)
    return (x, torch.from_numpy(labels[idx])) if return_labels else x


def ood_sets(test_images, n: int = 500, seed: int = 0) -> OrderedDict[str, torch.Tensor]:
    """Named out-of-distribution sets, each (<= n, 784) float in [0, 1], for the ROC comparison.

    Built from a seeded subset of ``test_images`` (the in-distribution test set) where relevant:
    uniform noise, inverted digits, digits rotated by 90 and 180 degrees, sklearn's upscaled 8x8 digits.
    """
    x = _rows(test_images).float()
    g = torch.Generator().manual_seed(seed)
    sub = x[torch.randperm(x.shape[0], generator=g)[:n]]
    return OrderedDict([
        ("uniform noise", uniform_noise(n, seed)),
        ("inverted", inverted(sub)),
        ("rotated 90°", rotated(sub, 90)),
        ("rotated 180°", rotated(sub, 180)),
        ("sklearn 8×8 digits, upscaled", sklearn_digits_upscaled(n, seed)),
    ])


# ================================================================ inpainting
MASKS = ("top", "bottom", "left", "right", "centre", "random box", "random pixels")


def make_mask(kind, seed: int | None = None, box: tuple[int, int, int, int] | None = None) -> torch.Tensor:
    """A (784,) float32 mask with 1 = MISSING pixel, 0 = known.

    ``kind`` is one of :data:`MASKS` -- the "top"/"bottom"/"left"/"right" half, the "centre" 14x14
    square, a "random box" (``box=(top, left, height, width)``, else a seeded random box of 8..16
    pixels a side), "random pixels" (each pixel missing with probability 1/2, seeded) -- or a
    user-supplied (28, 28) / (784,) array whose non-zero entries are missing.
    """
    if not isinstance(kind, str):
        a = np.asarray(kind.detach().cpu() if hasattr(kind, "detach") else kind)
        if a.size != PIXELS:
            raise ValueError(f"a mask array needs 784 entries (28 x 28), got shape {a.shape}")
        return torch.from_numpy((a.reshape(-1) != 0).astype(np.float32))
    m = torch.zeros(SIDE, SIDE)
    rng = np.random.default_rng(seed)
    half = SIDE // 2
    if kind == "top":
        m[:half] = 1
    elif kind == "bottom":
        m[half:] = 1
    elif kind == "left":
        m[:, :half] = 1
    elif kind == "right":
        m[:, half:] = 1
    elif kind == "centre":
        m[7:21, 7:21] = 1
    elif kind == "random box":
        if box is None:
            h, w = (int(v) for v in rng.integers(8, 17, size=2))
            top, left = int(rng.integers(0, SIDE - h + 1)), int(rng.integers(0, SIDE - w + 1))
        else:
            top, left, h, w = (int(v) for v in box)
        m[max(top, 0):max(top + h, 0), max(left, 0):max(left + w, 0)] = 1
    elif kind == "random pixels":
        m = torch.from_numpy((rng.random((SIDE, SIDE)) < 0.5).astype(np.float32))
    else:
        raise ValueError(f"unknown mask kind {kind!r}; choose one of {MASKS} or pass a 28x28 array")
    return m.reshape(-1)


@torch.no_grad()
def inpaint(model, x, mask, n_iter: int = 50, n_samples: int = 8, y=None, generator: torch.Generator | None = None,
            tol: float = 1e-4, fill: float | str = 0.0, stochastic_steps: int | None = None,
            final: str = "mean") -> dict:
    """Fill the missing pixels of one image by iterating the seed's ``ImageInpaintingVAE.inpaint``.

    ``n_samples`` independent chains start from ``x`` with its missing pixels set to ``fill`` (a
    number, or ``"random"`` for U(0, 1) noise drawn per chain).  Each step encodes the current image,
    takes a z, decodes, and replaces ONLY the missing pixels::

        x_{t+1} = where(mask, decode(z), x_known),   z ~ q(z | x_t)  (first ``stochastic_steps`` steps)
                                                     z = mu(x_t)     (the steps after those)

    * Sampled steps (the default: ``stochastic_steps = n_iter``) are the pseudo-Gibbs chain of Rezende
      et al. (2014): every chain draws its own z, so the completions differ -- the diversity the seed
      promises.  Their step-to-step change stays at a noise floor unless q(z|x) is very sharp.
    * Deterministic steps (z = mu) are a fixed-point iteration: the change falls geometrically and the
      chain stops early, but chains tend to merge into the same completion (with a 2-D latent space
      they typically all do).  ``stochastic_steps=0`` runs only these; a mix explores, then settles.

    A chain stops as soon as the mean absolute change of its missing pixels is below ``tol``.
    ``final="mean"`` finishes every chain with one extra deterministic step (missing pixels =
    decode(mu(x_T)), the Bernoulli-mean image rather than one noisy draw; not counted in
    ``iterations``); ``final="sample"`` returns x_T as it is.  ``n_iter=1, final="sample"`` is the
    seed's one-shot inpainting.  Known pixels are copied with ``torch.where``, so they are bit-for-bit
    those of ``x`` (in x's dtype).

    Returns a dict: ``completions`` (n_samples, 784); ``iterations`` (n_samples,) steps each chain
    ran (<= n_iter); ``converged`` (n_samples,) bool, True if the chain stopped on ``tol``;
    ``trace`` (T,) mean change over the chains still running at each step, T = max(iterations);
    ``chain_trace`` (T, n_samples), NaN after a chain has stopped; ``mask`` (784,) bool (True =
    missing); ``masked`` (784,) x with the missing pixels set to ``fill`` (0.5 shown for "random").
    """
    if n_iter < 1 or n_samples < 1:
        raise ValueError("n_iter and n_samples must be >= 1")
    if final not in ("mean", "sample"):
        raise ValueError("final must be 'mean' or 'sample'")
    model.eval()
    x = torch.as_tensor(x).reshape(-1)
    if x.numel() != model.input_dim:
        raise ValueError(f"inpaint takes one image of {model.input_dim} pixels, got {tuple(x.shape)}")
    miss = torch.as_tensor(mask).reshape(-1) != 0
    if miss.numel() != x.numel():
        raise ValueError("mask and image sizes differ")
    yy = _labels(model, y, n_samples)
    known = x.unsqueeze(0).expand(n_samples, -1)
    if isinstance(fill, str):
        if fill != "random":
            raise ValueError("fill must be a number or 'random'")
        noise = torch.rand(n_samples, x.numel(), generator=generator).to(x.dtype)
        cur = torch.where(miss, noise, known)
        start = torch.where(miss, torch.full_like(x, 0.5), x)
    else:
        start = torch.where(miss, torch.full_like(x, float(fill)), x)
        cur = start.unsqueeze(0).expand(n_samples, -1).clone()
    stochastic_steps = n_iter if stochastic_steps is None else max(0, int(stochastic_steps))
    iterations = torch.zeros(n_samples, dtype=torch.long)
    active = torch.ones(n_samples, dtype=torch.bool)
    converged = torch.zeros(n_samples, dtype=torch.bool)
    chain_trace: list[torch.Tensor] = []
    n_miss = int(miss.sum())
    for t in range(1, n_iter + 1):
        idx = active.nonzero().reshape(-1)
        if idx.numel() == 0:
            break
        yb = None if yy is None else yy[idx]
        mu, logvar = _enc(model, cur[idx].float(), yb)
        z = model.reparameterize(mu, logvar, generator) if t <= stochastic_steps else mu
        new = torch.where(miss, _dec(model, z, yb).to(x.dtype), known[idx])
        change = (new - cur[idx]).abs()[:, miss].mean(1) if n_miss else torch.zeros(idx.numel())
        cur[idx] = new
        iterations[idx] = t
        row = torch.full((n_samples,), float("nan"))
        row[idx] = change.float()
        chain_trace.append(row)
        done = change < tol
        converged[idx[done]] = True
        active[idx[done]] = False
    if final == "mean":
        mu, _ = _enc(model, cur.float(), yy)
        cur = torch.where(miss, _dec(model, mu, yy).to(x.dtype), known)
    ct = torch.stack(chain_trace)
    return {"completions": cur, "iterations": iterations, "converged": converged, "trace": torch.nanmean(ct, dim=1),
            "chain_trace": ct, "mask": miss, "masked": start}


# ============================================================ latent editing
def class_mean_direction(mu, labels, src, dst) -> torch.Tensor:
    """dz = mean posterior mean of class ``dst`` - that of class ``src``, shape (d,)."""
    mu = torch.as_tensor(mu).float()
    labels = torch.as_tensor(labels).reshape(-1)
    a, b = labels == int(src), labels == int(dst)
    if not a.any() or not b.any():
        missing = [c for c, m in ((src, a), (dst, b)) if not m.any()]
        raise ValueError(f"no examples of class {missing} among the labels")
    return mu[b].mean(0) - mu[a].mean(0)


FEATURES = ("ink", "thickness", "slant", "width", "height")


def image_features(x, threshold: float = 0.5, box_threshold: float = 0.1) -> dict[str, torch.Tensor]:
    """Simple handwriting-style measurements of (N, 784) images in [0, 1], each an (N,) float tensor.

    * ``ink``       -- sum of pixel intensities (pixels' worth of ink);
    * ``thickness`` -- stroke-width proxy 2 * area / perimeter of the binarised (> ``threshold``)
      strokes (a stroke of length L >> w has area L w and perimeter ~ 2 L); 0 for no stroke;
    * ``slant``     -- shear of the ink distribution from its second central moments,
      -mu11 / mu02 with mu11 = cov(row, col) and mu02 = var(row): > 0 for a digit leaning right
      ("/" like italics), < 0 leaning left;
    * ``width`` / ``height`` -- the bounding box (> ``box_threshold``) in pixels.
    """
    x = _rows(x).double().clamp(0, 1)
    n = x.shape[0]
    img = x.reshape(n, SIDE, SIDE)
    ink = img.sum((1, 2))
    rows = torch.arange(SIDE, dtype=torch.float64).reshape(1, SIDE, 1)
    cols = torch.arange(SIDE, dtype=torch.float64).reshape(1, 1, SIDE)
    w = ink.clamp_min(1e-12)
    r0 = (img * rows).sum((1, 2)) / w
    c0 = (img * cols).sum((1, 2)) / w
    dr, dc = rows - r0.reshape(-1, 1, 1), cols - c0.reshape(-1, 1, 1)
    mu02 = (img * dr * dr).sum((1, 2)) / w
    mu11 = (img * dr * dc).sum((1, 2)) / w
    slant = torch.where(mu02 > 1e-9, -mu11 / mu02.clamp_min(1e-9), torch.zeros_like(mu02))
    on = F.pad((img > threshold).double(), (1, 1, 1, 1))
    area = on.sum((1, 2))
    perim = (on[:, 1:, :] != on[:, :-1, :]).sum((1, 2)) + (on[:, :, 1:] != on[:, :, :-1]).sum((1, 2))
    thickness = torch.where(perim > 0, 2 * area / perim.clamp_min(1), torch.zeros_like(area))
    box = img > box_threshold
    anyr, anyc = box.any(2), box.any(1)
    idx = torch.arange(SIDE)

    def extent(m):
        first = torch.where(m, idx, SIDE).min(1).values
        last = torch.where(m, idx, -1).max(1).values
        return (last - first + 1).clamp_min(0).double()

    return {k: v.float() for k, v in {"ink": ink, "thickness": thickness, "slant": slant,
                                      "width": extent(anyc), "height": extent(anyr)}.items()}


def style_direction(mu, features, feature_name: str | None = None) -> torch.Tensor:
    """Latent direction of a style feature by least squares, shape (d,).

    Standardise the feature, s = (f - mean f) / std f, and regress each latent coordinate on it,
    mu_j ~ a_j + b_j s.  The slope vector b is returned: moving z by ``strength * b`` is the change
    in posterior mean that accompanies a ``strength``-standard-deviation increase of the feature.
    ``features`` is a dict from :func:`image_features` (pick with ``feature_name``) or an (N,) array.
    """
    mu = torch.as_tensor(mu).double()
    if isinstance(features, dict):
        if feature_name is None:
            raise ValueError(f"pass feature_name, one of {sorted(features)}")
        f = features[feature_name]
    else:
        f = features
    f = torch.as_tensor(f).double().reshape(-1)
    if f.numel() != mu.shape[0]:
        raise ValueError(f"{f.numel()} feature values for {mu.shape[0]} latent codes")
    sd = f.std(unbiased=False)
    if not torch.isfinite(sd) or sd <= 0:
        raise ValueError("the feature is constant: no direction to estimate")
    s = (f - f.mean()) / sd
    b = ((mu - mu.mean(0)) * s.unsqueeze(1)).sum(0) / (s * s).sum()
    return b.float()


@torch.no_grad()
def edit(model, z, direction, strengths, y=None) -> torch.Tensor:
    """Decode z + alpha * direction for every alpha in ``strengths``: (len(strengths), 784) in [0, 1]."""
    model.eval()
    z = torch.as_tensor(z).float().reshape(1, -1)
    d = torch.as_tensor(direction).float().reshape(1, -1)
    a = torch.as_tensor(list(strengths) if not torch.is_tensor(strengths) else strengths).float().reshape(-1, 1)
    zs = z + a * d
    return _dec(model, zs, _labels(model, y, zs.shape[0]))


# =============================================================== compression
@torch.no_grad()
def compression_report(model, x, y=None, bits_per_pixel: int = 8) -> dict:
    """How much a latent code "costs" compared with storing the pixels (seed §4).

    Per image (N,) tensors: ``rate_nats`` = KL(q(z|x) || p(z)) -- the bits-back rate of sending z --
    and ``rate_bits`` = rate_nats / ln 2; ``ratio`` = pixel_bits / rate_bits; ``recon`` (N, 784) =
    decode(mu); ``recon_bce`` (nats, summed over pixels) and ``recon_mse`` (mean over pixels) of it;
    ``total_bits`` = (KL + BCE of decode(mu)) / ln 2, roughly a lossless code length.
    Scalars: ``latent_dim`` d, ``pixel_bits`` = 784 * 8 = 6272, ``pixel_bytes`` = 784,
    ``dim_ratio`` = 784 / d (the seed's H*W*C / d) and ``float32_ratio`` = 6272 / (32 d), storing mu as floats.
    """
    model.eval()
    x = _rows(x).float()
    yy = _labels(model, y, x.shape[0])
    mu, logvar = _enc(model, x, yy)
    rate = gaussian_kl(mu, logvar)
    logits = _dec(model, mu, yy, logits=True)
    recon = torch.sigmoid(logits)
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
    d = int(model.latent_dim)
    pixel_bits = x.shape[1] * int(bits_per_pixel)
    rate_bits = rate / LN2
    return {
        "latent_dim": d,
        "pixel_bytes": x.shape[1] * int(bits_per_pixel) // 8,
        "pixel_bits": pixel_bits,
        "dim_ratio": x.shape[1] / d,
        "float32_ratio": pixel_bits / (32 * d),
        "rate_nats": rate,
        "rate_bits": rate_bits,
        "ratio": pixel_bits / rate_bits.clamp_min(1e-12),
        "recon": recon,
        "recon_bce": bce,
        "recon_mse": (recon - x).pow(2).mean(1),
        "total_bits": (rate + bce) / LN2,
    }


# ====================================== helpers for the Conditional / Anomaly / Inpainting pages
def as_image_rows(x) -> torch.Tensor:
    """One image (784,) / (28, 28) or a batch (N, 784) / (N, 28, 28) as (N, 784) float32 in [0, 1]."""
    a = torch.as_tensor(np.asarray(x.detach().cpu() if hasattr(x, "detach") else x, dtype=np.float32))
    if a.numel() % PIXELS:
        raise ValueError(f"expected images of 784 pixels (28 x 28), got shape {tuple(a.shape)}")
    if a.dim() in (1, 2) and a.numel() == PIXELS:
        a = a.reshape(1, PIXELS)
    return a.reshape(-1, PIXELS).clamp(0.0, 1.0)


@torch.no_grad()
def mean_reconstruction(model, x, y=None) -> torch.Tensor:
    """decode(mu(x)) for (N, 784) images, (N, 784) in [0, 1].

    A CVAE without ``y`` uses, per image, the class with the lowest one-sample -ELBO (the ``label``
    that :func:`anomaly_scores` returns; pass that as ``y`` to reuse it)."""
    model.eval()
    x = as_image_rows(x)
    if model.conditional and y is None:
        g = torch.Generator().manual_seed(0)
        y = anomaly_scores(model, x, generator=g)["label"]
    yy = _labels(model, y, x.shape[0])
    mu, _ = _enc(model, x, yy)
    return _dec(model, mu, yy)


def threshold_rates(scores_normal, scores_sets: dict, threshold: float) -> dict:
    """Rates of the rule "anomalous if score >= threshold" (the rule of :func:`roc_curve`).

    Returns ``{"false_positive_rate": fraction of normal scores flagged, "detection_rate": {name:
    fraction of that set flagged}}``, fractions in [0, 1].
    """
    neg = _finite_1d(scores_normal, "scores_normal")
    out = {"false_positive_rate": float(np.mean(neg >= threshold)), "detection_rate": {}}
    for name, s in scores_sets.items():
        a = _finite_1d(s, name)
        out["detection_rate"][name] = float(np.mean(a >= threshold))
    return out


def top_k(scores, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores, highest first (ties: lower index first)."""
    a = _finite_1d(scores, "scores")
    k = max(0, min(int(k), a.size))
    return np.argsort(-a, kind="mergesort")[:k]


def score_bins(scores_sets: dict, n_bins: int = 60, log: bool = True) -> np.ndarray:
    """Common histogram bin edges (n_bins + 1,) spanning every set's scores.

    ``log=True`` spaces them geometrically (scores must then be > 0): -ELBO of noise or inverted
    digits is 10-30x that of a normal digit, so linear bins would squash the normal digits into one bar.
    """
    allv = np.concatenate([_finite_1d(s, name) for name, s in scores_sets.items()])
    lo, hi = float(allv.min()), float(allv.max())
    if log:
        if lo <= 0:
            raise ValueError("log-spaced bins need positive scores")
        if hi <= lo:
            lo, hi = lo / 1.01, hi * 1.01
        return np.geomspace(lo, hi * (1 + 1e-9), n_bins + 1)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi + 1e-9 * max(1.0, abs(hi)), n_bins + 1)


def score_histograms(scores_sets: dict, edges) -> dict[str, np.ndarray]:
    """Fraction of each set's scores per bin (each sums to 1 over the bins) for overlaid histograms of
    sets of different sizes."""
    edges = np.asarray(edges, dtype=np.float64)
    out = {}
    for name, s in scores_sets.items():
        a = _finite_1d(s, name)
        counts, _ = np.histogram(a, bins=edges)
        out[name] = counts / a.size
    return out


@torch.no_grad()
def class_swap(model, z, classes=None) -> torch.Tensor:
    """Decode every latent code with every class: (n_z, n_classes, 784) in [0, 1].

    With a CVAE, q(z|x,y) is *given* the label, so z need not encode which digit it is; what it
    keeps is the rest (slant, width, thickness).  Row i of the result is one such "style" written as
    each digit in turn."""
    if not model.conditional:
        raise ValueError("class_swap needs a conditional model (CVAE)")
    model.eval()
    z = torch.as_tensor(np.asarray(z, dtype=np.float32)).reshape(-1, model.latent_dim)
    classes = list(range(model.num_classes)) if classes is None else [int(c) for c in classes]
    nz, k = z.shape[0], len(classes)
    zz = z.repeat_interleave(k, dim=0)
    yy = torch.tensor(classes, dtype=torch.long).repeat(nz)
    return model.decode(zz, yy).reshape(nz, k, -1)


@torch.no_grad()
def class_samples(model, y: int, n: int, seed: int = 0) -> torch.Tensor:
    """n draws z ~ N(0, I) decoded with class y, (n, 784) Bernoulli means; reproducible from ``seed``."""
    if not model.conditional:
        raise ValueError("class_samples needs a conditional model (CVAE)")
    model.eval()
    return model.sample(int(n), int(y), generator=torch.Generator().manual_seed(int(seed)))


def mask_from_canvas(rgba, side: int = SIDE, coverage: float = 0.2) -> torch.Tensor:
    """A (side*side,) float32 mask (1 = MISSING) from a drawn canvas image.

    ``rgba`` is the (H, W, 4) uint8 canvas (strokes opaque, background transparent; H and W
    multiples of ``side`` work best).  Each cell of the side x side grid is missing when the mean
    stroke opacity over it is at least ``coverage`` (0-1).  Without an alpha channel the brightness
    of an (H, W) / (H, W, 3) image is used."""
    a = np.asarray(rgba, dtype=np.float64)
    if a.ndim == 3 and a.shape[2] == 4:
        ink = a[..., 3]
    elif a.ndim == 3:
        ink = a[..., :3].mean(2)
    elif a.ndim == 2:
        ink = a
    else:
        raise ValueError(f"expected an (H, W) or (H, W, C) image, got shape {a.shape}")
    ink = ink / 255.0 if ink.max(initial=0.0) > 1.0 else ink
    h, w = ink.shape
    if h < side or w < side:
        raise ValueError(f"canvas {h}x{w} is smaller than {side}x{side}")
    rows = np.linspace(0, h, side + 1).round().astype(int)
    cols = np.linspace(0, w, side + 1).round().astype(int)
    cells = np.add.reduceat(np.add.reduceat(ink, rows[:-1], axis=0), cols[:-1], axis=1)
    area = np.outer(np.diff(rows), np.diff(cols))
    return torch.from_numpy((cells / area >= coverage).astype(np.float32).reshape(-1))


def known_pixel_change(completions, x, mask) -> float:
    """max |completion - x| over the KNOWN pixels (mask == 0) of every completion; 0.0 if none known.

    Inpainting copies the known pixels, so this is exactly 0."""
    c = torch.as_tensor(completions).reshape(-1, PIXELS).double()
    xx = torch.as_tensor(x).reshape(1, PIXELS).double()
    known = torch.as_tensor(mask).reshape(-1) == 0
    if not bool(known.any()):
        return 0.0
    return float((c[:, known] - xx[:, known]).abs().max())


def missing_pixel_error(completions, x, mask) -> torch.Tensor:
    """Mean |completion - x| over the MISSING pixels, per completion (N,) -- against the truth, which
    the chains never saw; NaN if nothing is missing."""
    c = torch.as_tensor(completions).reshape(-1, PIXELS).float()
    xx = torch.as_tensor(x).reshape(1, PIXELS).float()
    miss = torch.as_tensor(mask).reshape(-1) != 0
    if not bool(miss.any()):
        return torch.full((c.shape[0],), float("nan"))
    return (c[:, miss] - xx[:, miss]).abs().mean(1)


def completion_spread(completions, mask) -> float:
    """How much the completions disagree: the pixel-wise standard deviation across completions,
    averaged over the missing pixels (0 = all identical; NaN if nothing is missing)."""
    c = torch.as_tensor(completions).reshape(-1, PIXELS).double()
    miss = torch.as_tensor(mask).reshape(-1) != 0
    if not bool(miss.any()):
        return float("nan")
    if c.shape[0] < 2:
        return 0.0
    return float(c[:, miss].std(0, unbiased=False).mean())


def mask_overlay(x, mask, color=(0.85, 0.2, 0.2)) -> np.ndarray:
    """An (28, 28, 3) RGB picture of what the model is given: the known pixels in grey levels and
    every missing pixel painted ``color`` (RGB in [0, 1]) so the hole is visible on any background."""
    g = np.clip(np.asarray(as_image_rows(x)).reshape(SIDE, SIDE), 0.0, 1.0)
    miss = np.asarray(torch.as_tensor(mask).reshape(SIDE, SIDE) != 0)
    rgb = np.repeat(g[..., None], 3, axis=2).astype(np.float32)
    rgb[miss] = np.asarray(color, dtype=np.float32)
    return rgb


# ================================ helpers for the Drawing Board / Latent Editing / Compression pages
@torch.no_grad()
def encode_one(model, x, y=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior q(z|x) of ONE image (784,) / (28, 28): its mean and log-variance, each (d,)."""
    model.eval()
    xx = as_image_rows(x)[:1]
    mu, logvar = _enc(model, xx, _labels(model, y, 1))
    return mu[0], logvar[0]


@torch.no_grad()
def posterior_samples(model, x, k: int, y=None, generator: torch.Generator | None = None) -> dict:
    """What q(z|x) says about one image: ``mu``, ``logvar`` (d,), ``sigma`` (d,), ``recon`` (784,) =
    decode(mu), ``z`` (k, d) draws z = mu + sigma * eps (reparameterisation, eps ~ N(0, I)) and ``samples``
    (k, 784) = decode(z), Bernoulli means in [0, 1]."""
    if k < 1:
        raise ValueError("k must be >= 1")
    model.eval()
    mu, logvar = encode_one(model, x, y)
    sigma = torch.exp(0.5 * logvar)
    eps = torch.randn(int(k), mu.numel(), generator=generator)
    z = mu.unsqueeze(0) + sigma.unsqueeze(0) * eps
    yk = _labels(model, y, int(k))
    y1 = _labels(model, y, 1)
    return {"mu": mu, "logvar": logvar, "sigma": sigma, "recon": _dec(model, mu.unsqueeze(0), y1)[0],
            "z": z, "samples": _dec(model, z, yk)}


@torch.no_grad()
def sample_near(model, center, radius: float, k: int, y=None,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode k draws z ~ N(center, radius^2 I): "sample the prior near here".  Returns (z (k, d),
    images (k, 784)).  ``radius = 0`` decodes ``center`` k times; radius 1 around 0 is the prior itself."""
    if radius < 0:
        raise ValueError("radius must be >= 0")
    if k < 1:
        raise ValueError("k must be >= 1")
    model.eval()
    c = torch.as_tensor(np.asarray(center, dtype=np.float32)).reshape(1, -1)
    if c.shape[1] != model.latent_dim:
        raise ValueError(f"center has {c.shape[1]} coordinates, the model's latent space {model.latent_dim}")
    z = c + float(radius) * torch.randn(int(k), c.shape[1], generator=generator)
    return z, _dec(model, z, _labels(model, y, int(k)))


FEATURE_UNITS = {"ink": "px", "thickness": "px", "slant": "shear", "width": "px", "height": "px"}
FEATURE_LABELS = {"ink": "ink amount", "thickness": "stroke thickness", "slant": "slant", "width": "width",
                  "height": "height"}


def format_feature(name: str, value: float) -> str:
    """A measured feature with its unit, e.g. ``ink: 112 px``, ``slant: 0.21 (shear)``."""
    v = float(value)
    if name == "ink":
        return f"ink: {v:.0f} px"
    if name == "slant":
        return f"slant: {v:+.2f} (shear)"
    if name == "thickness":
        return f"thickness: {v:.1f} px"
    return f"{name}: {v:.0f} px"


@torch.no_grad()
def edit_sweep(model, z, direction, strengths, y=None) -> dict:
    """:func:`edit` plus the measured features of every edited image: ``strengths`` (n,),
    ``images`` (n, 784) and ``features`` {name: (n,) tensor} from :func:`image_features`."""
    a = torch.as_tensor(np.asarray(list(strengths), dtype=np.float32)).reshape(-1)
    imgs = edit(model, z, direction, a, y=y)
    return {"strengths": a, "images": imgs, "features": image_features(imgs)}


def feature_std(features: dict) -> dict[str, float]:
    """Standard deviation (population) of every feature over the data: the unit of a
    :func:`style_direction` strength (strength 1 = one standard deviation)."""
    return {k: float(torch.as_tensor(v).double().std(unbiased=False)) for k, v in features.items()}


def rate_summary(rate_nats, bits_per_pixel: int = 8, pixels: int = PIXELS) -> dict:
    """Average rate over a data set from per-image KL values (nats): ``mean_nats``, ``mean_bits``,
    ``median_bits``, ``p10_bits``/``p90_bits``, ``n`` and ``ratio`` = pixel bits / mean bits."""
    r = _finite_1d(rate_nats, "rate_nats")
    bits = r / LN2
    pixel_bits = pixels * int(bits_per_pixel)
    return {"n": int(r.size), "mean_nats": float(r.mean()), "mean_bits": float(bits.mean()),
            "median_bits": float(np.median(bits)), "p10_bits": float(np.percentile(bits, 10)),
            "p90_bits": float(np.percentile(bits, 90)), "pixel_bits": pixel_bits,
            "ratio": pixel_bits / max(float(bits.mean()), 1e-12)}


def trend(strengths, values) -> float:
    """Spearman rank correlation between edit strengths and a measured feature, in [-1, 1]: +1 when the feature
    rises steadily with the strength, near 0 when it wanders (NaN if either is constant)."""
    a = _finite_1d(strengths, "strengths")
    b = _finite_1d(values, "values")
    if a.size != b.size:
        raise ValueError("strengths and values differ in length")
    ra = np.argsort(np.argsort(a, kind="mergesort"), kind="mergesort").astype(np.float64)
    rb = np.argsort(np.argsort(b, kind="mergesort"), kind="mergesort").astype(np.float64)
    if ra.std() == 0 or rb.std() == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])
