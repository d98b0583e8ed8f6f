"""Is a collapsed code the optimum of the β-objective?  (The β/KL Lab's posterior-collapse tab.)

A collapsed VAE has q(z|x) = p(z) for every x: rate R = 0, and its decoder output cannot depend on x, so the
best it can do is one fixed λ per pixel.  Under the Bernoulli cross-entropy the average distortion over a
data set, (1/N) Σ_n Σ_i -[x_ni log λ_i + (1 - x_ni) log(1 - λ_i)], is linear in x, so it depends on the data
only through the mean image x̄ and is minimised at λ = x̄, where it equals Σ_i H_b(x̄_i) (binary entropy of
the mean image, nats).  Any collapsed solution therefore has D + β·R >= Σ_i H_b(x̄_i) on that data set.  A
trained model with D + β·R below this number beats every collapsed solution: if training still ends in
collapse, that is an optimisation effect, not the objective's optimum.
"""

from __future__ import annotations

import torch

from ..digits.analysis import model_stats

__all__ = ["beta_vs_collapsed", "collapsed_optimum"]


def collapsed_optimum(images: torch.Tensor) -> dict:
    """The best distortion of a decoder that ignores z: ``mean_image`` (784,) and ``distortion`` = Σ_i H_b(x̄_i)
    nats per image (float), for ``images`` (N, 784) in [0, 1]."""
    x = torch.as_tensor(images, dtype=torch.float64).reshape(images.shape[0], -1)
    m = x.mean(0)
    h = -(torch.special.xlogy(m, m) + torch.special.xlogy(1 - m, 1 - m))
    return {"mean_image": m.to(torch.float32), "distortion": float(h.sum()), "n": int(x.shape[0])}


def beta_vs_collapsed(model, images: torch.Tensor, beta: float, labels: torch.Tensor | None = None,
                      seed: int = 0) -> dict:
    """The model's D, R and D + β·R (nats per image, one z ~ q(z|x) per image for D) on ``images`` against the
    best collapsed solution's D + β·0.  ``margin`` = collapsed - model (> 0: the model beats every collapsed
    code on these images)."""
    s = model_stats(model, images, labels, seed=seed)
    col = collapsed_optimum(images)
    obj = s.distortion + float(beta) * s.rate
    return {"distortion": s.distortion, "rate": s.rate, "objective": obj, "collapsed": col["distortion"],
            "margin": col["distortion"] - obj, "beta": float(beta), "n": col["n"]}
