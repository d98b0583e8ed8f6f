"""Latent Map: the digits a selection shows, their reconstructions and posteriors, σ outlines on the map,
the square the manifold tab decodes, and the unused dimensions (the engine's active-unit definition)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vae_core.digits.analysis import active_mask
from vae_core.latent import PCA, ellipse_points, pca_head, pca_plane, projected_ellipse, rate_nats

SQUARE = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]], dtype=np.float64)


@dataclass
class SelectionView:
    """The selected test digits a page shows in detail."""

    n_selected: int
    shown: list[int]  # test indices shown (all of them, or a random sample of show_max ordered by label)
    counts: np.ndarray  # (10,) selected digits per label
    mu: np.ndarray  # (k, d) posterior means of the shown digits
    sigma: np.ndarray  # (k, d) posterior standard deviations
    kl: np.ndarray  # (k,) KL(q(z|x) ‖ p(z)) of each shown digit, nats
    recon: np.ndarray  # (k, 784) decode(μ)


def select_digits(model, sel: list[int], mu: np.ndarray, logvar: np.ndarray, labels: np.ndarray,
                  show_max: int = 8) -> SelectionView:
    """The selection ``sel`` (test indices) summarised: when it holds more than ``show_max`` digits, a fixed
    random sample of them (seeded by the selection's size) ordered by label; the μ, σ, KL and decode(μ) of those.
    A CVAE decodes each digit with its own label."""
    from vae_core.latent import decode_np

    sel = [int(i) for i in sel]
    if len(sel) > show_max:
        pick = np.random.default_rng(len(sel)).choice(len(sel), show_max, replace=False)
        shown = sorted((sel[k] for k in pick), key=lambda i: (labels[i], i))
    else:
        shown = list(sel)
    y = model.condition(labels[shown])
    return SelectionView(
        n_selected=len(sel), shown=shown, counts=np.bincount(labels[sel], minlength=10), mu=mu[shown],
        sigma=np.exp(0.5 * logvar[shown]), kl=rate_nats(mu[shown], logvar[shown]),
        recon=decode_np(model, mu[shown], y))


def sigma_outlines(mu: np.ndarray, logvar: np.ndarray, idx: np.ndarray, pca: PCA | None) -> list[np.ndarray]:
    """1σ outlines of q(z|x) of the digits ``idx`` in map coordinates: ellipses for d = 2, their projection
    through the first two principal axes for d > 2, a bar along z₁ for d = 1."""
    d = mu.shape[1]
    if d == 2:
        sigma = np.exp(0.5 * logvar)
        return [ellipse_points(mu[i], sigma[i]) for i in idx]
    if d > 2:
        p2 = pca_head(pca, 2)
        return [projected_ellipse(mu[i], logvar[i], p2) for i in idx]
    sigma = np.exp(0.5 * logvar)
    return [np.c_[mu[i, 0] + sigma[i, 0] * np.array([-1.0, 1.0]), np.zeros(2)] for i in idx]


def ellipse_sample(n_points: int, n_ellipses: int, seed: int = 0) -> np.ndarray:
    """Which of the first ``n_points`` digits get a σ outline: a fixed random sample, sorted."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_points, size=min(n_ellipses, n_points), replace=False))


def manifold_square(d: int, r: float, pca: PCA | None) -> np.ndarray:
    """The corners (closed, (5, d)) of the square of codes the manifold tab decodes: [−r, r]² in z for d = 2;
    for d > 2 the plane of the first two principal axes through the means' centre, ±r of each axis' std."""
    if d == 2:
        return SQUARE * r
    origin, u, v = pca_plane(pca)
    corners = SQUARE * r
    return origin + corners[:, :1] * u + corners[:, 1:] * v


def unused_dimensions(mu_all: np.ndarray) -> int:
    """How many latent dimensions are inactive units over the whole test set (vae_core's definition)."""
    active = active_mask(mu_all)
    return int(np.size(active) - np.sum(active))


def map_note(d: int, conditional: bool, agree: float, method: str, median_sigma: float | None) -> str:
    """What to notice on the map, from the measured class agreement (share of dots whose nearest neighbour has
    the same label), the projection ``method`` and, when σ outlines are drawn, their median σ."""
    how = (f"On this map {agree:.0%} of the dots have a nearest neighbour of the same digit (a map that ignored "
           "the class would score about 10%). ")
    if conditional:
        note = ("**What to notice:** in a CVAE the digit's label is handed to the encoder and the decoder, so z does "
                "not need to encode it — the classes mix and z holds *style* (slant, width, thickness). " + how)
    elif agree >= 0.7:
        note = ("**What to notice:** digits of one class form clusters, though similar-looking classes (4/9, 3/5/8) "
                "touch. " + how)
    elif agree >= 0.35:
        note = ("**What to notice:** the classes form clusters that overlap a lot: the code separates some digits "
                "but mixes look-alikes. " + how)
    elif d > 2 and method == "pca":
        note = "**What to notice:** the classes overlap heavily in this 2-D shadow. " + how
    else:
        note = ("**What to notice:** the classes are mixed together — this map barely separates digits (see the "
                "model's β and KL in the sidebar: a strong KL term squeezes the information out of z). " + how)
    if method == "tsne":
        note += ("t-SNE keeps neighbours together but distorts distances: gaps and cluster sizes here are not latent "
                 "distances. ")
    elif d > 2:
        note += (f"This is a linear shadow of {d}-D space: clusters that overlap here may still be apart in the other "
                 "directions (try t-SNE). ")
    else:
        note += ("The KL term pulls every code towards the prior, so the clusters pack around the origin instead of "
                 "drifting apart. ")
    if median_sigma is not None:
        r = median_sigma
        if r < 0.5:
            note += (f"The σ ellipses (median σ = {r:.2f} latent units) are far smaller than the prior's unit circle: "
                     "each image pins its code down precisely (zoom in with the chart's zoom tool to see them). ")
        elif r < 0.9:
            note += (f"The σ ellipses (median σ = {r:.2f} latent units) are smaller than the prior's unit circle but "
                     "overlap a lot: the encoder is only moderately sure where each code lies. ")
        else:
            note += (f"The σ ellipses (median σ = {r:.2f} latent units) are as large as the prior's unit circle: in "
                     "these directions the encoder is no surer than the prior — z carries little information here "
                     "(posterior collapse). ")
    return note
