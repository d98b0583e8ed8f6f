"""Pixel likelihoods p(x|z) for the decoder, named for what they are.

The decoder outputs one logit eta per pixel; ``model.decode(z)`` returns lambda = sigmoid(eta) in (0, 1) for
every model, and lambda is the parameter of whichever likelihood the model was trained with.  Three numbers
can be computed from the same lambda, and only two of them are log-likelihoods:

* **Bernoulli cross-entropy on grey pixels** — ``bernoulli_cross_entropy``:
  H(x, lambda) = -sum_i [x_i log lambda_i + (1 - x_i) log(1 - lambda_i)] in nats.  MNIST's pixels are grey
  (about 17 % lie strictly between 0 and 1) and a Bernoulli distribution only puts mass on {0, 1}, so for grey
  x this is a *cross-entropy* between two distributions on each pixel, not -log of a probability or density
  of x.  It is never below the pixels' own entropy sum_i H(x_i) (``pixel_entropy``), reached at lambda = x.
  It is the loss the seed's notes (``F.binary_cross_entropy``) and most tutorials train with.
* **Continuous Bernoulli log-density** — ``continuous_bernoulli_log_density`` (Loaiza-Ganem & Cunningham
  2019): p(x|lambda) = C(lambda) lambda^x (1 - lambda)^(1-x) on x in [0, 1], a proper density, so
  log p(x|z) = -H(x, lambda) + sum_i log C(lambda_i).  Being a density it can exceed 1, and its log is
  positive for sharp decoders (C(lambda) grows like |eta| when lambda -> 0 or 1).  Its mean is *not* lambda
  (``continuous_bernoulli_mean``).
* **Bernoulli log-likelihood of binarised pixels** — ``bernoulli_log_likelihood``: for x in {0, 1}^784
  (binarised MNIST, the benchmark of Burda et al. 2016 and most of the literature) the same formula
  sum_i [x_i log lambda_i + (1 - x_i) log(1 - lambda_i)] *is* log p(x|z), a log-probability <= 0.

Log-normaliser: C(lambda) = 2 artanh(1 - 2 lambda) / (1 - 2 lambda) for lambda != 1/2 and C(1/2) = 2.  With
eta = logit(lambda), 1 - 2 lambda = -tanh(eta / 2) and artanh(1 - 2 lambda) = -eta / 2, so

    C = eta / tanh(eta / 2),    log C = log|eta| - log tanh(|eta| / 2)

which is computed here from the logits (no 1 - 2 lambda cancellation).  The formula is 0/0 at eta = 0
(lambda = 1/2), so in a window |eta| < ``CB_TAYLOR_WINDOW`` a Taylor expansion is used instead, as
pytorch/examples' VAE and ``torch.distributions.ContinuousBernoulli`` do (torch expands in (lambda - 1/2)^2
inside 0.499 < lambda < 0.501; here in u = eta / 2):

    log C = log 2 + u^2 / 3 - 7 u^4 / 90 + 62 u^6 / 2835 + O(u^8)

Both branches agree to float32 precision at the window's edge (tests/vae_core/test_likelihoods.py), the result
matches torch's ``ContinuousBernoulli.log_prob`` and numerical integration of the density gives 1.

Caution on MNIST: most pixels are exactly 0, and the continuous-Bernoulli density at x = 0 is
C(lambda)(1 - lambda) ~ |eta| as eta -> -inf, so the log-likelihood of MNIST under it is unbounded above: an
unconstrained CB-trained decoder keeps pushing the logits of always-black pixels down (a 30-epoch run reached
eta ~ -3e6, lambda = sigmoid(eta) underflowed to exactly 0 in float32 for ~69 % of pixels, and its test
log-density mostly rewarded those exact zeros).  The shipped mnist-z20-cb therefore bounds its logits
(``models.LogitRange``, ``logit_range = (-80, 15)``): lambda stays inside (0, 1), each pixel's log-density is at
most log C(sigmoid(-80)) ~ log 80 = 4.38 nats, and its test log-density is a finite density value of that
model.  Likelihoods are computed from ``decode_logits`` (eta); lambda = decode(z) in float32 determines eta to
float precision for lambda <= 1/2, and to within ~0.2 at the upper bound eta = 15 (1 - lambda = 3e-7 is near
float32's spacing below 1), so a tool given only lambda reproduces these numbers closely (tested).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LIKELIHOODS = ("bernoulli", "continuous_bernoulli")
LIKELIHOOD_LABELS = {
    "bernoulli": "Bernoulli (BCE; a log-likelihood only on binarised pixels)",
    "continuous_bernoulli": "continuous Bernoulli (a density on [0, 1])",
}
CB_TAYLOR_WINDOW = 0.25  # |eta| below this uses the Taylor expansion of log C
LOG2 = math.log(2.0)


def check_likelihood(name: str) -> str:
    if name not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {LIKELIHOODS}, not {name!r}")
    return name


# --------------------------------------------------------------- continuous Bernoulli normaliser
def cb_log_norm(logits: torch.Tensor) -> torch.Tensor:
    """log C(lambda) of the continuous Bernoulli, elementwise, from logits eta = logit(lambda).

    Finite with finite gradients everywhere, including eta = 0 (lambda = 1/2, C = 2).
    """
    a = logits.abs()
    small = a < CB_TAYLOR_WINDOW
    safe = torch.where(small, torch.full_like(a, CB_TAYLOR_WINDOW), a)  # no 0/0 in the unused branch
    e = torch.exp(-safe)  # tanh(a/2) = (1 - e^-a) / (1 + e^-a)
    exact = torch.log(safe) - torch.log1p(-e) + torch.log1p(e)
    u2 = (0.5 * logits) ** 2
    taylor = LOG2 + u2 * (1.0 / 3.0 + u2 * (-7.0 / 90.0 + u2 * (62.0 / 2835.0)))
    return torch.where(small, taylor, exact)


def cb_log_norm_from_probs(probs: torch.Tensor) -> torch.Tensor:
    """log C(lambda) from lambda in (0, 1) (clamped away from 0 and 1 as torch does)."""
    eps = torch.finfo(probs.dtype).eps
    p = probs.clamp(eps, 1 - eps)
    return cb_log_norm(torch.log(p) - torch.log1p(-p))


def cb_log_norm_grad(logits: torch.Tensor) -> torch.Tensor:
    """d log C / d eta = 1/eta - 1/sinh(eta), elementwise (Taylor eta/6 - 7 eta^3/360 + 31 eta^5/15120 near 0)."""
    a = logits.abs()
    small = a < CB_TAYLOR_WINDOW
    safe = torch.where(small, torch.full_like(logits, CB_TAYLOR_WINDOW), logits)
    exact = 1.0 / safe - 1.0 / torch.sinh(safe)
    exact = torch.where(a > 80, 1.0 / safe, exact)  # sinh overflows; 1/sinh is 0 there anyway
    e2 = logits * logits
    taylor = logits * (1.0 / 6.0 + e2 * (-7.0 / 360.0 + e2 * (31.0 / 15120.0)))
    return torch.where(small, taylor, exact)


def continuous_bernoulli_mean(logits: torch.Tensor) -> torch.Tensor:
    """E[x] under CB(lambda) = lambda / (2 lambda - 1) + 1 / (2 artanh(1 - 2 lambda)), from logits.

    = sigmoid(eta) / tanh(eta / 2) - 1 / eta; near eta = 0: 1/2 + eta / 12 - eta^3 / 720 + eta^5 / 30240.
    """
    a = logits.abs()
    small = a < CB_TAYLOR_WINDOW
    safe = torch.where(small, torch.full_like(logits, CB_TAYLOR_WINDOW), logits)
    exact = torch.sigmoid(safe) / torch.tanh(0.5 * safe) - 1.0 / safe
    taylor = 0.5 + logits / 12.0 - logits ** 3 / 720.0 + logits ** 5 / 30240.0
    return torch.where(small, taylor, exact)


# --------------------------------------------------------------- per-image terms (summed over pixels)
def bernoulli_cross_entropy(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """H(x, lambda) = -sum_i [x_i log lambda_i + (1-x_i) log(1-lambda_i)], (N,) nats, for x in [0, 1].

    A cross-entropy, not -log p(x) unless every x_i is 0 or 1 (then it equals -bernoulli_log_likelihood).
    """
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=-1)


def pixel_entropy(x: torch.Tensor) -> torch.Tensor:
    """sum_i H(x_i) = -sum_i [x_i log x_i + (1-x_i) log(1-x_i)], (N,) nats: the floor of the cross-entropy."""
    x = x.to(torch.float64)
    h = -(torch.special.xlogy(x, x) + torch.special.xlogy(1 - x, 1 - x))
    return h.sum(dim=-1).to(torch.float32)


def is_binary(x: torch.Tensor) -> bool:
    return bool(((x == 0) | (x == 1)).all())


def bernoulli_log_likelihood(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log p(x|z) = sum_i [x_i log lambda_i + (1-x_i) log(1-lambda_i)], (N,) nats, for binary x only.

    Raises ValueError on grey pixels: there it would be a cross-entropy, not a log-probability.
    """
    if not is_binary(x):
        raise ValueError("a Bernoulli log-likelihood needs binary pixels (0 or 1); for grey pixels use "
                         "bernoulli_cross_entropy (a cross-entropy) or continuous_bernoulli_log_density")
    return -bernoulli_cross_entropy(logits, x)


def continuous_bernoulli_log_density(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log p(x|z) under the continuous Bernoulli, (N,) nats; a log-*density* on [0, 1]^D (may be > 0)."""
    return -bernoulli_cross_entropy(logits, x) + cb_log_norm(logits).sum(dim=-1)


def neg_log_likelihood(logits: torch.Tensor, x: torch.Tensor, likelihood: str = "bernoulli") -> torch.Tensor:
    """The reconstruction term -log p(x|z) a model with ``likelihood`` trains on, (N,) nats.

    For ``bernoulli`` this is the cross-entropy H(x, lambda) on whatever pixels are given (grey or binary;
    it is -log p(x|z) only for binary ones); for ``continuous_bernoulli`` it is -log density.
    """
    if likelihood == "bernoulli":
        return bernoulli_cross_entropy(logits, x)
    if likelihood == "continuous_bernoulli":
        return -continuous_bernoulli_log_density(logits, x)
    raise ValueError(f"likelihood must be one of {LIKELIHOODS}, not {likelihood!r}")


# --------------------------------------------------------------- one digit under each likelihood
@torch.no_grad()
def digit_likelihood_terms(model, x_grey: torch.Tensor, x_binary: torch.Tensor, y: torch.Tensor | None = None,
                           n_samples: int = 64, iwae_k: int = 256, seed: int = 0) -> dict[str, dict[str, float]]:
    """The same digit's numbers under each reading of the decoder's output lambda (nats per image).

    ``x_grey`` is one (784,) or (1, 784) image in [0, 1]; ``x_binary`` its binarisation (0/1).  Returns one
    dict per reading, each with ``recon`` (E_q[-term], ``n_samples`` reparameterised draws), ``kl`` (closed
    form), ``objective`` = recon + KL, ``iwae`` (one estimate of the IWAE bound L_k with k = ``iwae_k``; for a
    true likelihood this estimates a lower bound on log p(x), in expectation), ``kind`` and ``name``:

    * ``bce_grey``: Bernoulli cross-entropy on the grey digit — recon + KL is the BCE objective, *not* an
      upper bound on any -log p(x) (``iwae`` is reported as NaN: there is no likelihood to bound);
    * ``cb_grey``: continuous-Bernoulli log-density of the grey digit — objective = -ELBO >= -log p(x), a
      density value (may be negative);
    * ``bern_binary``: Bernoulli log-likelihood of the binarised digit (encoder sees the binarised digit) —
      objective = -ELBO >= -log P(x), a probability value.
    The floor of the cross-entropy, ``pixel_entropy`` of the grey digit, is returned as ``entropy_floor``.
    """
    from .objectives import gaussian_kl, gaussian_log_density, standard_normal_log_density

    xg = torch.as_tensor(x_grey).reshape(1, -1).to(torch.float32)
    xb = torch.as_tensor(x_binary).reshape(1, -1).to(torch.float32)
    if not is_binary(xb):
        raise ValueError("x_binary must hold only 0 and 1")
    if y is not None:
        y = torch.as_tensor(y).long().reshape(1)
    g = torch.Generator().manual_seed(seed)
    out: dict[str, dict[str, float]] = {}
    readings = (
        ("bce_grey", xg, lambda lg, x: -bernoulli_cross_entropy(lg, x),
         "Bernoulli cross-entropy (grey pixels): not a log-likelihood"),
        ("cb_grey", xg, continuous_bernoulli_log_density,
         "continuous-Bernoulli log-density (grey pixels)"),
        ("bern_binary", xb, bernoulli_log_likelihood,
         "Bernoulli log-likelihood (binarised pixels)"),
    )
    for key, x, term, name in readings:
        mu, logvar = model.encode(x, y) if model.conditional else model.encode(x)
        kl = float(gaussian_kl(mu, logvar)[0])

        def log_px(z, x=x, term=term):
            yy = None if y is None else y.expand(z.shape[0])
            lg = model.decode_logits(z, yy) if model.conditional else model.decode_logits(z)
            return term(lg, x.expand(z.shape[0], -1))

        eps = torch.randn(n_samples, mu.shape[1], generator=g)
        z = mu + eps * torch.exp(0.5 * logvar)
        recon = float(-log_px(z).mean())
        iw = float("nan")
        if key != "bce_grey":
            eps = torch.randn(iwae_k, mu.shape[1], generator=g)
            z = mu + eps * torch.exp(0.5 * logvar)
            lw = log_px(z) + standard_normal_log_density(z) - gaussian_log_density(z, mu, logvar)
            iw = float(torch.logsumexp(lw, 0) - math.log(iwae_k))
        out[key] = {"recon": recon, "kl": kl, "objective": recon + kl, "iwae": iw, "name": name,
                    "kind": "cross-entropy" if key == "bce_grey" else
                    ("log-density" if key == "cb_grey" else "log-probability")}
    out["entropy_floor"] = {"value": float(pixel_entropy(xg)[0]),
                            "name": "sum of the grey pixels' own entropies (floor of the cross-entropy)"}
    return out


# --------------------------------------------------------------- naming a checkpoint's stored test figures
def metric_labels(meta: dict) -> dict[str, str]:
    """What a checkpoint's ``test_metrics`` ``neg_elbo`` and ``iwae_nll`` are, as labels for a page or a table.

    Depends on the metadata's ``likelihood`` and ``binarization``: only a continuous-Bernoulli model (on grey
    test digits) or a Bernoulli model evaluated on binary test digits has a -log p(x) to bound; the grey-pixel
    Bernoulli figures are a cross-entropy objective.  Values are nats per image.
    """
    lik = meta.get("likelihood", "bernoulli")
    binar = meta.get("binarization", "none")
    k = (meta.get("test_metrics") or {}).get("iwae_k")
    ks = f"k = {k:,}" if isinstance(k, int) else "k importance samples"
    if lik == "continuous_bernoulli":
        return {"neg_elbo": "test −ELBO, continuous Bernoulli (≥ −log p(x), a density; nats/image)",
                "iwae_nll": f"test −log p(x) ≤ (IWAE bound, {ks}; continuous-Bernoulli density, nats/image)",
                "kind": "log-density"}
    if binar != "none" or (meta.get("evaluation") or {}).get("test_pixels") == "binarized":
        return {"neg_elbo": "test −ELBO on binarised digits (≥ −log P(x); nats/image)",
                "iwae_nll": f"test −log P(x) ≤ (IWAE bound, {ks}; binarised test digits, nats/image)",
                "kind": "log-probability"}
    return {"neg_elbo": "test BCE objective: cross-entropy + KL on grey pixels (not a −log p(x); nats/image)",
            "iwae_nll": f"test importance-weighted BCE objective ({ks}; grey pixels, not a −log p(x); nats/image)",
            "kind": "cross-entropy"}
