"""Mult-VAE (Liang et al. 2018): L2-normalised input, dropout, [n_items -> hidden -> z] tanh encoder,
mirrored decoder; ``likelihood`` "multinomial" (log-softmax) or "bernoulli" (sigmoid, the notes' choice)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..objectives import gaussian_kl


class MultVAE(nn.Module):
    def __init__(self, n_items: int, hidden: int = 600, latent_dim: int = 200, dropout: float = 0.5,
                 likelihood: str = "multinomial"):
        super().__init__()
        if likelihood not in ("multinomial", "bernoulli"):
            raise ValueError("likelihood must be multinomial or bernoulli")
        self.n_items, self.hidden, self.latent_dim = n_items, hidden, latent_dim
        self.dropout_p, self.likelihood = dropout, likelihood
        self.enc = nn.Linear(n_items, hidden)
        self.enc_mu = nn.Linear(hidden, latent_dim)
        self.enc_logvar = nn.Linear(hidden, latent_dim)
        self.dec = nn.Linear(latent_dim, hidden)
        self.dec_out = nn.Linear(hidden, n_items)

    def config(self) -> dict:
        return {"family": "mult-vae", "n_items": self.n_items, "hidden": self.hidden,
                "latent_dim": self.latent_dim, "dropout": self.dropout_p, "likelihood": self.likelihood}

    @classmethod
    def from_config(cls, cfg: dict) -> MultVAE:
        return cls(int(cfg["n_items"]), int(cfg["hidden"]), int(cfg["latent_dim"]), float(cfg["dropout"]),
                   str(cfg["likelihood"]))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(users x items) 0/1 -> (mu, logvar); dropout only in training mode."""
        h = F.normalize(x, dim=1)
        h = F.dropout(h, self.dropout_p, training=self.training)
        h = torch.tanh(self.enc(h))
        return self.enc_mu(h), self.enc_logvar(h)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.dec_out(torch.tanh(self.dec(z)))

    def forward(self, x):
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if self.training else mu
        return self.decode_logits(z), mu, logvar

    def nll(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Per-user negative log-likelihood (nats): multinomial -sum x log softmax, or Bernoulli BCE."""
        if self.likelihood == "multinomial":
            return -(F.log_softmax(logits, dim=1) * x).sum(dim=1)
        return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1)

    def loss(self, x: torch.Tensor, beta: float) -> torch.Tensor:
        logits, mu, logvar = self(x)
        return (self.nll(logits, x) + beta * gaussian_kl(mu, logvar)).mean()

    @torch.no_grad()
    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """Ranking scores for fold-in rows x (logits at the posterior mean)."""
        was = self.training
        self.eval()
        mu, _ = self.encode(x)
        out = self.decode_logits(mu)
        self.train(was)
        return out
