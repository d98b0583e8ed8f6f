"""What a class-conditional VAE (CVAE) does with its label: one style written as every digit
(:func:`class_swap`), prior samples of one class (:func:`class_samples`), and the class that
explains an unlabelled image best (:func:`best_class`).
"""

from __future__ import annotations

import numpy as np
import torch

from .anomaly import anomaly_scores

__all__ = ["best_class", "class_samples", "class_swap"]


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


@torch.no_grad()
def best_class(model, x, seed: int = 0) -> torch.Tensor:
    """For a CVAE and unlabelled images (N, 784): the class c whose one-sample -ELBO of x given c is
    lowest, (N,) long -- the ``label`` of :func:`~vae_core.digits.applications.anomaly.anomaly_scores`, with its
    draws seeded by ``seed`` (so the same image always gets the same class)."""
    if not model.conditional:
        raise ValueError("best_class needs a conditional model (CVAE)")
    return anomaly_scores(model, x, generator=torch.Generator().manual_seed(int(seed)))["label"]
