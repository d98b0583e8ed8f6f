"""VAE and CVAE models (seed §VAE架构, §Conditional VAE).

The models know nothing of training (nanoGPT style): they map pixels to the
posterior parameters and latent codes to Bernoulli pixel means.  Every variant
shares one interface (AntixK/PyTorch-VAE style):

* ``encode(x[, y]) -> (mu, logvar)``  with ``x`` a float tensor ``(N, 784)`` in [0, 1]
* ``decode(z[, y]) -> (N, 784)``      Bernoulli means (pixel probabilities) in [0, 1]
* ``decode_logits(z[, y])``           the same before the sigmoid (numerically stable losses)
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

    def __init__(
        self,
        latent_dim: int = 2,
        hidden_dims: Sequence[int] = (512, 256),
        input_dim: int = 784,
        activation: str = "relu",
        num_classes: int = 0,
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

    # ------------------------------------------------------------------ config
    def config(self) -> dict:
        return {
            "kind": self.kind,
            "latent_dim": self.latent_dim,
            "hidden_dims": list(self.hidden_dims),
            "input_dim": self.input_dim,
            "activation": self.activation,
            "num_classes": self.num_classes,
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
        return self.fc_out(self.decoder(self._cond(z, y)))

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """z -> Bernoulli pixel means in [0, 1], shape (N, input_dim)."""
        return torch.sigmoid(self.decode_logits(z, y))

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
                 activation: str = "relu", num_classes: int = 10) -> None:
        if num_classes < 2:
            raise ValueError("a CVAE needs num_classes >= 2")
        super().__init__(latent_dim, hidden_dims, input_dim, activation, num_classes)


def build_model(config: dict) -> VAE:
    """Create an untrained model from :meth:`VAE.config` output."""
    kind = config.get("kind", "vae")
    kwargs = dict(
        latent_dim=int(config["latent_dim"]),
        hidden_dims=[int(h) for h in config["hidden_dims"]],
        input_dim=int(config.get("input_dim", 784)),
        activation=str(config.get("activation", "relu")),
    )
    if kind == "vae":
        return VAE(**kwargs)
    if kind == "cvae":
        return CVAE(num_classes=int(config.get("num_classes", 10)), **kwargs)
    raise ValueError(f"unknown model kind {kind!r}")
