"""VAE and CVAE models (seed §VAE架构, §Conditional VAE).

The models know nothing of training (nanoGPT style): they map pixels to the
posterior parameters and latent codes to Bernoulli pixel means.  Every variant
shares one interface (AntixK/PyTorch-VAE style):

* ``encode(x[, y]) -> (mu, logvar)``  with ``x`` a float tensor ``(N, 784)`` in [0, 1]
* ``decode(z[, y]) -> (N, 784)``      the likelihood's parameter lambda = sigmoid(eta), in the open interval (0, 1)
                                      (Bernoulli means; the continuous Bernoulli's lambda, not its mean)
* ``decode_logits(z[, y])``           eta, the same before the sigmoid (numerically stable losses)
* ``reparameterize(mu, logvar)``      z = mu + sigma * eps  (Thm 2.1)
* ``forward(x[, y][, generator]) -> ForwardOutput(logits, mu, logvar, z)``
* ``sample(n[, y])``                  decode draws from the prior p(z) = N(0, I)
* ``condition(labels)``               the labels for a CVAE, None for a plain VAE
* ``check_labels(y, n)``              y as (n,) class indices for a CVAE (errors where labels are wrong)

A label ``y`` is an int or a tensor of N class indices; one label serves every row.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "elu": nn.ELU, "softplus": nn.Softplus, "tanh": nn.Tanh, "gelu": nn.GELU}

# The widest logit range a model may declare: sigmoid(-87) = 1.6e-38 is still a normal float32 number above 0,
# and sigmoid(16) = 1 - 1.1e-7 still rounds below 1, so lambda = decode(z) stays strictly inside (0, 1).
LOGIT_RANGE_LIMITS = (-87.0, 16.0)


def check_logit_range(logit_range) -> tuple[float, float]:
    """(lo, hi) as floats if ``LOGIT_RANGE_LIMITS[0] <= lo < hi <= LOGIT_RANGE_LIMITS[1]``, else ValueError naming
    the rule; the one check behind the model, the training config and the checkpoint schema."""
    lo_lim, hi_lim = LOGIT_RANGE_LIMITS
    rule = f"logit_range must be [lo, hi] with {lo_lim:g} <= lo < hi <= {hi_lim:g}"
    try:
        lo, hi = (float(v) for v in logit_range)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(rule) from None
    if not lo_lim <= lo < hi <= hi_lim:  # also False for NaN
        raise ValueError(f"{rule} (got {lo:g}, {hi:g})")
    return lo, hi


class LogitRange(nn.Module):
    """eta -> c + h tanh((eta - c) / h): a smooth, increasing map of the real line onto (lo, hi).

    Slope 1 at the centre c = (lo + hi) / 2, half-width h = (hi - lo) / 2.  A decoder ending in it cannot push
    lambda = sigmoid(eta) to 0 or 1, which a continuous-Bernoulli decoder otherwise does on MNIST's exactly-black
    pixels (its density there, ~|eta|, is unbounded; see vae_core.likelihoods)."""

    def __init__(self, lo: float, hi: float) -> None:
        super().__init__()
        self.lo, self.hi = check_logit_range((lo, hi))
        self.c, self.h = 0.5 * (lo + hi), 0.5 * (hi - lo)

    def forward(self, eta: torch.Tensor) -> torch.Tensor:
        return self.c + self.h * torch.tanh((eta - self.c) / self.h)

    def extra_repr(self) -> str:
        return f"lo={self.lo:g}, hi={self.hi:g}"


class ForwardOutput(NamedTuple):
    logits: torch.Tensor  # (N, D) decoder logits; sigmoid(logits) is the reconstruction
    mu: torch.Tensor  # (N, d_z)
    logvar: torch.Tensor  # (N, d_z)
    z: torch.Tensor  # (N, d_z) reparameterised sample


def _mlp(sizes: Sequence[int], activation: str) -> nn.Sequential:
    act = ACTIVATIONS[activation]
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(sizes):
        layers += [nn.Linear(a, b), act()]
    return nn.Sequential(*layers)


class VAE(nn.Module):
    """Gaussian-encoder / Bernoulli-decoder VAE with an MLP on both sides.

    ``hidden_dims=(400,)`` is the seed's 784-400-z network; the decoder mirrors
    the encoder.  ``num_classes > 0`` turns it into a CVAE (see :class:`CVAE`).
    """

    kind = "vae"
    image_shape: tuple[int, int] | None = None  # (H, W) of a user's data set (set on load, #19); None: square

    def __init__(
        self,
        latent_dim: int = 2,
        hidden_dims: Sequence[int] = (512, 256),
        input_dim: int = 784,
        activation: str = "relu",
        num_classes: int = 0,
        logit_range: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        if latent_dim < 1:
            raise ValueError("latent_dim must be >= 1")
        if not hidden_dims or any(int(h) < 1 for h in hidden_dims):
            raise ValueError("hidden_dims must be a non-empty list of positive sizes")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}")
        self.latent_dim = int(latent_dim)
        self.hidden_dims = tuple(int(h) for h in hidden_dims)
        self.input_dim = int(input_dim)
        self.activation = activation
        self.num_classes = int(num_classes)
        c = self.num_classes
        self.encoder = _mlp([self.input_dim + c, *self.hidden_dims], activation)
        self.fc_mu = nn.Linear(self.hidden_dims[-1], self.latent_dim)
        self.fc_logvar = nn.Linear(self.hidden_dims[-1], self.latent_dim)
        self.decoder = _mlp([self.latent_dim + c, *reversed(self.hidden_dims)], activation)
        self.fc_out = nn.Linear(self.hidden_dims[0], self.input_dim)
        # None: eta = fc_out(h) unbounded (every model before #11's continuous-Bernoulli fix); else (lo, hi)
        self.logit_range = None if logit_range is None else check_logit_range(logit_range)
        self.out_range = None if self.logit_range is None else LogitRange(*self.logit_range)

    # ------------------------------------------------------------------ config
    def config(self) -> dict:
        return {
            "kind": self.kind,
            "latent_dim": self.latent_dim,
            "hidden_dims": list(self.hidden_dims),
            "input_dim": self.input_dim,
            "activation": self.activation,
            "num_classes": self.num_classes,
            **({} if self.logit_range is None else {"logit_range": list(self.logit_range)}),
        }

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0

    def condition(self, y):
        """The labels to hand to this model: ``y`` for a CVAE, None for a plain VAE.

        For callers that hold labels for every image (a data set's) and run whichever model they are
        given: ``model.encode(x, model.condition(labels))``.  Passing labels to a plain VAE directly is
        an error (see :meth:`encode`), so that a caller who means to condition finds out."""
        return y if self.conditional else None

    def check_labels(self, y, n: int, device: torch.device | str | None = None) -> torch.Tensor | None:
        """The labels for ``n`` rows: None for a plain VAE (which must not be given any), an (n,) long
        tensor for a CVAE (which must be; one label serves all n rows)."""
        if not self.conditional:
            if y is not None:
                raise ValueError("this model is not conditional: do not pass labels")
            return None
        if y is None:
            raise ValueError("a CVAE needs class labels y of shape (N,)")
        y = torch.as_tensor(y, device=device).long().reshape(-1)
        if y.shape[0] == 1 and n > 1:
            y = y.expand(n)
        if y.shape[0] != n:
            raise ValueError(f"got {y.shape[0]} labels for {n} rows")
        return y

    def _cond(self, t: torch.Tensor, y) -> torch.Tensor:
        y = self.check_labels(y, t.shape[0], t.device)
        if y is None:
            return t
        return torch.cat([t, F.one_hot(y, self.num_classes).to(t.dtype)], dim=1)

    # ------------------------------------------------------------- interface
    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """x -> (mu, logvar) of q(z|x) (or q(z|x,y) for a CVAE)."""
        h = self.encoder(self._cond(x.reshape(x.shape[0], -1), y))
        return self.fc_mu(h), self.fc_logvar(h)

    def decode_logits(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        eta = self.fc_out(self.decoder(self._cond(z, y)))
        return eta if self.out_range is None else self.out_range(eta)

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """z -> lambda = sigmoid(eta) in the open interval (0, 1), shape (N, input_dim).

        For the Bernoulli likelihood lambda is the pixel mean; for the continuous Bernoulli it is the
        distribution's parameter (its mean is ``likelihoods.continuous_bernoulli_mean(decode_logits(z))``).
        A model with a ``logit_range`` keeps lambda inside (0, 1) by construction; for the others a sigmoid that
        rounds to exactly 0 or 1, or below the smallest normal number, in the tensor's dtype (eta below ~-87 or
        above ~17 in float32) is moved to the nearest normal number inside, so lambda is always a valid
        parameter.  Evaluate likelihoods from ``decode_logits``, which is exact."""
        lam = torch.sigmoid(self.decode_logits(z, y))
        if self.out_range is not None:
            return lam
        fi = torch.finfo(lam.dtype)
        return lam.clamp(fi.tiny, 1.0 - fi.eps / 2)

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor,
                       generator: torch.Generator | None = None) -> torch.Tensor:
        """Thm 2.1: z = mu + sigma * eps, eps ~ N(0, I)."""
        std = torch.exp(0.5 * logvar)
        eps = torch.randn(std.shape, generator=generator, dtype=std.dtype, device=std.device)
        return mu + eps * std

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> ForwardOutput:
        """Encode, draw one z ~ q(z|x) (eps from ``generator``, else torch's global one), decode to logits."""
        mu, logvar = self.encode(x, y)
        z = self.reparameterize(mu, logvar, generator)
        return ForwardOutput(self.decode_logits(z, y), mu, logvar, z)

    @torch.no_grad()
    def sample(
        self, n: int, y: torch.Tensor | int | None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Draw z ~ p(z) = N(0, I) and decode: (n, input_dim) pixel means."""
        z = torch.randn(n, self.latent_dim, generator=generator)
        if y is not None and not torch.is_tensor(y):
            y = torch.full((n,), int(y), dtype=torch.long)
        return self.decode(z, y)


class CVAE(VAE):
    """Class-conditional VAE (Sohn et al. 2015): q(z|x,y) and p(x|z,y)."""

    kind = "cvae"

    def __init__(self, latent_dim: int = 2, hidden_dims: Sequence[int] = (512, 256), input_dim: int = 784,
                 activation: str = "relu", num_classes: int = 10,
                 logit_range: Sequence[float] | None = None) -> None:
        if num_classes < 2:
            raise ValueError("a CVAE needs num_classes >= 2")
        super().__init__(latent_dim, hidden_dims, input_dim, activation, num_classes, logit_range)


def build_model(config: dict) -> VAE:
    """Create an untrained model from :meth:`VAE.config` output."""
    kind = config.get("kind", "vae")
    kwargs = dict(
        latent_dim=int(config["latent_dim"]),
        hidden_dims=[int(h) for h in config["hidden_dims"]],
        input_dim=int(config.get("input_dim", 784)),
        activation=str(config.get("activation", "relu")),
        logit_range=config.get("logit_range"),
    )
    if kind == "vae":
        return VAE(**kwargs)
    if kind == "cvae":
        return CVAE(num_classes=int(config.get("num_classes", 10)), **kwargs)
    raise ValueError(f"unknown model kind {kind!r}")
