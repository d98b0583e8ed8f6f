"""A latent model in which everything is tractable: Thm 1.1 (ELBO), Thm 1.2
(log p(x) = ELBO + KL(q || p(z|x))) and Cor 1.2 (the gap vanishes iff q is the posterior), checked
to ~1e-12 in float64, plus the helpers of the Exact Identity page (a demo model, ELBO sweeps, the
mean-field optimum).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..objectives import LOG2PI
from ._common import DTYPE, _chol_logdet, _t

__all__ = ["LinearGaussianModel", "elbo_sweep", "identity_demo", "mean_field_optimum"]


@dataclass
class LinearGaussianModel:
    """z ~ N(0, I_d),  x | z ~ N(W z + b, s^2 I_D): the tractable testbed of Thm 1.1 / 1.2.

    Marginal   x ~ N(b, W W^T + s^2 I)
    Posterior  p(z|x) = N(m_p, S_p),  S_p = (I + W^T W / s^2)^-1,  m_p = S_p W^T (x - b) / s^2

    Shapes: ``x`` is (D,) or (N, D); a variational q(z) = N(m, S) is given by
    ``q_mean`` (d,) or (N, d) together with ``q_cov`` that is either *diagonal
    variances* (same number of dimensions as ``q_mean``) or a *full covariance*
    (one more dimension: (d, d) or (N, d, d)).  For d = 1 plain floats work too.
    All results are float64 tensors with the batch shape of the inputs
    (0-d for a single x).
    """

    W: torch.Tensor  # (D, d)
    b: torch.Tensor  # (D,)
    noise_std: float  # s

    def __post_init__(self) -> None:
        self.W = _t(self.W)
        if self.W.ndim == 1:
            self.W = self.W[:, None]
        if self.W.ndim != 2:
            raise ValueError("W must be a (D, d) matrix")
        self.b = _t(self.b).reshape(-1)
        if self.b.shape[0] != self.W.shape[0]:
            raise ValueError(f"b has {self.b.shape[0]} entries but W has {self.W.shape[0]} rows")
        self.noise_std = float(self.noise_std)
        if not math.isfinite(self.noise_std) or self.noise_std <= 0:
            raise ValueError("noise_std must be a finite number > 0")

    @classmethod
    def random(cls, d: int = 2, D: int = 3, noise_std: float = 0.5, seed: int = 0,
               scale: float = 1.0) -> LinearGaussianModel:
        """W ~ scale * N(0, 1) entries, b ~ 0.5 N(0, 1), reproducible from ``seed``."""
        if d < 1 or D < 1:
            raise ValueError("d and D must be >= 1")
        g = torch.Generator().manual_seed(int(seed))
        W = scale * torch.randn(D, d, generator=g, dtype=DTYPE)
        b = 0.5 * torch.randn(D, generator=g, dtype=DTYPE)
        return cls(W, b, noise_std)

    # ------------------------------------------------------------ basics
    @property
    def d(self) -> int:
        return self.W.shape[1]

    @property
    def D(self) -> int:
        return self.W.shape[0]

    @property
    def s2(self) -> float:
        return self.noise_std ** 2

    def marginal_cov(self) -> torch.Tensor:
        """W W^T + s^2 I, (D, D)."""
        return self.W @ self.W.T + self.s2 * torch.eye(self.D, dtype=DTYPE)

    def posterior_precision(self) -> torch.Tensor:
        """S_p^-1 = I + W^T W / s^2, (d, d) (independent of x)."""
        return torch.eye(self.d, dtype=DTYPE) + self.W.T @ self.W / self.s2

    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Ancestral sampling: returns (z (n, d), x (n, D))."""
        z = torch.randn(n, self.d, generator=generator, dtype=DTYPE)
        x = z @ self.W.T + self.b + self.noise_std * torch.randn(n, self.D, generator=generator, dtype=DTYPE)
        return z, x

    def _x(self, x) -> torch.Tensor:
        x = _t(x)
        if x.ndim == 0 or x.shape[-1] != self.D:
            raise ValueError(f"x must have last dimension D = {self.D}, got shape {tuple(x.shape)}")
        return x

    def _q(self, q_mean, q_cov) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalise (q_mean, q_cov) to (m (..., d), S (..., d, d))."""
        m, c = _t(q_mean), _t(q_cov)
        if m.ndim == 0:
            m = m.reshape(1)
        if c.ndim == 0:
            c = c.reshape(1)
        if m.shape[-1] != self.d:
            raise ValueError(f"q_mean must have last dimension d = {self.d}, got shape {tuple(m.shape)}")
        if c.ndim == m.ndim:  # diagonal variances
            if torch.any(c <= 0):
                raise ValueError("q variances must be > 0")
            S = torch.diag_embed(c)
        elif c.ndim == m.ndim + 1:  # full covariance
            S = c
        else:
            raise ValueError("q_cov must be diagonal variances (like q_mean) or full covariances (one more dim)")
        if S.shape[-2:] != (self.d, self.d):
            raise ValueError(f"q covariance must be {self.d}x{self.d}, got shape {tuple(S.shape)}")
        return m, S

    # ---------------------------------------------------------- densities
    def log_likelihood(self, x, z) -> torch.Tensor:
        """log p(x|z) = log N(x; W z + b, s^2 I), broadcast over leading dims."""
        x, z = self._x(x), _t(z)
        r = x - (z @ self.W.T + self.b)
        return -0.5 * self.D * (LOG2PI + math.log(self.s2)) - 0.5 * r.pow(2).sum(-1) / self.s2

    def log_joint(self, x, z) -> torch.Tensor:
        """log p(x, z) = log p(x|z) + log N(z; 0, I)."""
        z = _t(z)
        return self.log_likelihood(x, z) - 0.5 * (LOG2PI * self.d + z.pow(2).sum(-1))

    def log_marginal(self, x) -> torch.Tensor:
        """Exact evidence log p(x) = log N(x; b, W W^T + s^2 I) (the quantity Thm 1.1 bounds)."""
        x = self._x(x)
        C = self.marginal_cov()
        L = torch.linalg.cholesky(C)
        r = (x - self.b).unsqueeze(-1)
        sol = torch.linalg.solve_triangular(L, r, upper=False).squeeze(-1)
        return -0.5 * (self.D * LOG2PI + _chol_logdet(C) + sol.pow(2).sum(-1))

    def posterior(self, x) -> tuple[torch.Tensor, torch.Tensor]:
        """Exact p(z|x) = N(mean, cov): mean (..., d), cov (..., d, d) (broadcast to the batch of x)."""
        x = self._x(x)
        P = self.posterior_precision()
        S = torch.cholesky_inverse(torch.linalg.cholesky(P))
        S = 0.5 * (S + S.T)
        mean = ((x - self.b) @ self.W / self.s2) @ S
        return mean, S.expand(*mean.shape[:-1], self.d, self.d).clone()

    # --------------------------------------------------------------- ELBO
    def elbo(self, x, q_mean, q_cov) -> dict[str, torch.Tensor]:
        """Closed-form ELBO of q(z) = N(m, S) (Thm 1.1).

        expected_log_lik = E_q log p(x|z) = -D/2 log(2 pi s^2) - (||x - W m - b||^2 + tr(W S W^T)) / (2 s^2)
        kl_prior         = KL(q || N(0, I)) = 1/2 (tr S + ||m||^2 - d - log det S)
        elbo             = expected_log_lik - kl_prior

        Returns a dict with keys ``elbo``, ``expected_log_lik``, ``kl_prior``.
        """
        x = self._x(x)
        m, S = self._q(q_mean, q_cov)
        r = x - (m @ self.W.T + self.b)
        tr_wsw = torch.einsum("ij,...jk,ik->...", self.W, S, self.W)
        ell = -0.5 * self.D * (LOG2PI + math.log(self.s2)) - 0.5 * (r.pow(2).sum(-1) + tr_wsw) / self.s2
        kl = 0.5 * (torch.diagonal(S, dim1=-2, dim2=-1).sum(-1) + m.pow(2).sum(-1) - self.d - _chol_logdet(S))
        return {"elbo": ell - kl, "expected_log_lik": ell, "kl_prior": kl}

    def kl_to_posterior(self, x, q_mean, q_cov) -> torch.Tensor:
        """KL(q || p(z|x)) between Gaussians in closed form -- the gap of Thm 1.2 (>= 0, Cor 1.1).

        = 1/2 (tr(P S) + (m_p - m)^T P (m_p - m) - d - log det S - log det P),  P = S_p^-1.
        """
        m, S = self._q(q_mean, q_cov)
        mp, _ = self.posterior(x)
        P = self.posterior_precision()
        diff = mp - m
        quad = torch.einsum("...i,ij,...j->...", diff, P, diff)
        tr = torch.einsum("ij,...ji->...", P, S)
        return 0.5 * (tr + quad - self.d - _chol_logdet(S) - _chol_logdet(P))

    def identity_check(self, x, q_mean, q_cov) -> dict[str, torch.Tensor]:
        """Thm 1.2: log p(x) = ELBO(q) + KL(q || p(z|x)) for any q.

        Returns ``log_px``, ``elbo``, ``kl_posterior``, ``residual`` (= log_px - elbo - kl_posterior, ~1e-12
        in float64), plus the ELBO's two terms ``expected_log_lik`` and ``kl_prior``.
        """
        log_px = self.log_marginal(x)
        e = self.elbo(x, q_mean, q_cov)
        kl = self.kl_to_posterior(x, q_mean, q_cov)
        return {"log_px": log_px, "elbo": e["elbo"], "kl_posterior": kl, "residual": log_px - e["elbo"] - kl,
                "expected_log_lik": e["expected_log_lik"], "kl_prior": e["kl_prior"]}

    def importance_log_weights(self, x, q_mean, q_cov, k: int,
                               generator: torch.Generator | None = None) -> torch.Tensor:
        """log w_i = log p(x, z_i) - log q(z_i) for k draws z_i ~ q; shape (k, *batch).

        Feed to :func:`jensen_gap` to watch L_k rise towards the exact :meth:`log_marginal`.
        """
        x = self._x(x)
        m, S = self._q(q_mean, q_cov)
        L = torch.linalg.cholesky(S)
        batch = torch.broadcast_shapes(x.shape[:-1], m.shape[:-1], S.shape[:-2])
        eps = torch.randn(k, *batch, self.d, generator=generator, dtype=DTYPE)
        z = m + (L @ eps.unsqueeze(-1)).squeeze(-1)
        sol = torch.linalg.solve_triangular(L, (z - m).unsqueeze(-1), upper=False).squeeze(-1)
        log_q = -0.5 * (self.d * LOG2PI + _chol_logdet(S) + sol.pow(2).sum(-1))
        return self.log_joint(x, z) - log_q


def identity_demo(d: int = 1, n_x: int = 4, seed: int = 7, D: int = 3, noise_std: float = 0.8,
                  max_abs_mean: float = 2.5) -> tuple[LinearGaussianModel, torch.Tensor]:
    """A small LinearGaussianModel (d latent, D observed dims) and ``n_x`` observations x (n_x, D) drawn from it,
    chosen so that every posterior mean lies within +-``max_abs_mean`` (handy for slider ranges).  The defaults give
    posterior variances around 0.3 and, for d = 2, a clearly correlated posterior (rho ~ 0.7)."""
    lgm = LinearGaussianModel.random(d=d, D=D, noise_std=noise_std, seed=seed)
    g = torch.Generator().manual_seed(int(seed) + 1)
    xs: list[torch.Tensor] = []
    while len(xs) < n_x:
        _, x = lgm.sample(4 * n_x, g)
        mp, _ = lgm.posterior(x)
        xs += list(x[(mp.abs() <= max_abs_mean).all(-1)])
    return lgm, torch.stack(xs[:n_x])


def elbo_sweep(lgm: LinearGaussianModel, x, q_mean, q_cov, dim: int, values) -> dict:
    """ELBO and KL(q || p(z|x)) as coordinate ``dim`` of q's mean runs over ``values`` (everything else fixed).

    Returns lists ``values``, ``elbo``, ``kl_posterior`` and the constant ``log_px`` (float), nats.
    """
    vals = _t(values).reshape(-1)
    m, S = lgm._q(q_mean, q_cov)
    if m.ndim != 1:
        raise ValueError("elbo_sweep takes one q (q_mean of shape (d,))")
    ms = m.expand(len(vals), lgm.d).clone()
    ms[:, int(dim)] = vals
    Ss = S.expand(len(vals), lgm.d, lgm.d)
    r = lgm.identity_check(_t(x), ms, Ss)
    return {"values": vals.tolist(), "elbo": r["elbo"].tolist(), "kl_posterior": r["kl_posterior"].tolist(),
            "log_px": float(lgm.log_marginal(x))}


def mean_field_optimum(lgm: LinearGaussianModel, x) -> tuple[torch.Tensor, torch.Tensor]:
    """The best *diagonal* (mean-field) Gaussian q for p(z|x) = N(m_p, P^-1) under KL(q || p(z|x)):
    mean m_p and variances 1 / diag(P).  Returns (mean (d,), diagonal covariance (d, d)).  Its gap
    KL = 1/2 (sum_j log P_jj - log det P) is > 0 whenever the posterior is correlated."""
    mp, _ = lgm.posterior(x)
    P = lgm.posterior_precision()
    return mp, torch.diag(1.0 / torch.diagonal(P))
