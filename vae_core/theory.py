"""Numerical illustrations of the seed's theorems (seed §变分推断, §重参数化技巧).

Everything here is pure torch (float64 wherever precision matters) and knows
nothing of Streamlit, so the app, a notebook and the tests share one source of
truth:

* :class:`LinearGaussianModel` -- a latent model in which *everything* is
  tractable, so Thm 1.1 (ELBO), Thm 1.2 (log p(x) = ELBO + KL(q || p(z|x))) and
  Cor 1.2 (the gap vanishes iff q is the posterior) can be checked to ~1e-12.
* :func:`reparam_grad_samples` / :func:`score_function_grad_samples` /
  :func:`estimator_variance_curve` -- the gradient problem of seed §梯度问题 and
  its resolution by the reparameterisation trick (Thm 2.1), against REINFORCE.
* :func:`mc_kl_vs_closed_form` -- the closed-form KL (seed §KL散度闭式解) against
  its Monte-Carlo estimate.
* :func:`jensen_gap` / :func:`iwae_curve` -- Thm 1.3 (Jensen): mean log w <=
  log mean w, and the importance-weighted bounds L_k rising with k.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from .objectives import gaussian_kl, iwae_log_weights, mc_kl

LOG2PI = math.log(2 * math.pi)
DTYPE = torch.float64

__all__ = [
    "INTEGRANDS", "Integrand", "LinearGaussianModel", "estimator_variance_curve", "iwae_curve", "jensen_gap",
    "mc_kl_vs_closed_form", "quadratic", "reparam_grad_samples", "resolve_integrand", "score_function_grad_samples",
]


def _t(v) -> torch.Tensor:
    return torch.as_tensor(v, dtype=DTYPE)


def _chol_logdet(m: torch.Tensor) -> torch.Tensor:
    """log det of a (batch of) symmetric positive-definite matrices."""
    return 2.0 * torch.log(torch.diagonal(torch.linalg.cholesky(m), dim1=-2, dim2=-1)).sum(-1)


# ===================================================== linear-Gaussian model
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


# ======================================================= gradient estimators
@dataclass(frozen=True)
class Integrand:
    """A test function f(z) (elementwise torch op) and, where known, the exact gradient of E_{N(mu, sigma^2)}[f]."""

    name: str
    f: Callable[[torch.Tensor], torch.Tensor]
    grad: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None = None
    expectation: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None

    def true_grad(self, mu, sigma) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(d/dmu, d/dsigma) of E_q[f(z)], or None when no closed form is registered."""
        return None if self.grad is None else self.grad(_t(mu), _t(sigma))


def quadratic(c: float = 2.0) -> Integrand:
    """f(z) = (z - c)^2:  E = (mu - c)^2 + sigma^2,  d/dmu = 2 (mu - c),  d/dsigma = 2 sigma."""
    c = float(c)
    return Integrand(f"(z-{c:g})^2", lambda z: (z - c) ** 2,
                     lambda mu, s: (2 * (mu - c), 2 * s),
                     lambda mu, s: (mu - c) ** 2 + s ** 2)


INTEGRANDS: dict[str, Integrand] = {
    "(z-2)^2": Integrand("(z-2)^2", lambda z: (z - 2.0) ** 2,
                         lambda mu, s: (2 * (mu - 2.0), 2 * s),
                         lambda mu, s: (mu - 2.0) ** 2 + s ** 2),
    # E sin(3z) = sin(3 mu) exp(-9 sigma^2 / 2)
    "sin(3z)": Integrand("sin(3z)", lambda z: torch.sin(3 * z),
                         lambda mu, s: (3 * torch.cos(3 * mu) * torch.exp(-4.5 * s ** 2),
                                        -9 * s * torch.sin(3 * mu) * torch.exp(-4.5 * s ** 2)),
                         lambda mu, s: torch.sin(3 * mu) * torch.exp(-4.5 * s ** 2)),
    # E z^4 = mu^4 + 6 mu^2 sigma^2 + 3 sigma^4
    "z^4": Integrand("z^4", lambda z: z ** 4,
                     lambda mu, s: (4 * mu ** 3 + 12 * mu * s ** 2, 12 * mu ** 2 * s + 12 * s ** 3),
                     lambda mu, s: mu ** 4 + 6 * mu ** 2 * s ** 2 + 3 * s ** 4),
}


def resolve_integrand(f: str | Integrand | Callable[[torch.Tensor], torch.Tensor]) -> Integrand:
    """A name from :data:`INTEGRANDS`, an :class:`Integrand`, or any elementwise torch callable (no true gradient)."""
    if isinstance(f, Integrand):
        return f
    if isinstance(f, str):
        if f not in INTEGRANDS:
            raise ValueError(f"unknown integrand {f!r}; choose from {sorted(INTEGRANDS)}")
        return INTEGRANDS[f]
    if callable(f):
        return Integrand(getattr(f, "__name__", "f"), f)
    raise TypeError("f must be a name, an Integrand or a callable")


def _mu_sigma(mu, sigma) -> tuple[torch.Tensor, torch.Tensor]:
    mu, sigma = torch.broadcast_tensors(_t(mu), _t(sigma))
    if torch.any(sigma <= 0):
        raise ValueError("sigma must be > 0")
    return mu, sigma


def reparam_grad_samples(f, mu, sigma, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Per-sample reparameterisation gradients of E_{N(mu, sigma^2)}[f(z)] (Thm 2.1).

    z = mu + sigma * eps, eps ~ N(0, 1):  d/dmu = f'(z),  d/dsigma = f'(z) * eps, with f' from autograd.
    ``mu``/``sigma`` are scalars or broadcastable tensors (f acts elementwise); returns (n, *mu.shape, 2),
    i.e. (n, 2) for scalars, last axis = (d/dmu, d/dsigma).
    """
    fn = resolve_integrand(f).f
    mu, sigma = _mu_sigma(mu, sigma)
    eps = torch.randn(n, *mu.shape, generator=generator, dtype=DTYPE)
    with torch.enable_grad():
        z = (mu + sigma * eps).detach().requires_grad_(True)
        (df,) = torch.autograd.grad(fn(z).sum(), z)
    return torch.stack([df, df * eps], dim=-1).detach()


def score_function_grad_samples(f, mu, sigma, n: int, generator: torch.Generator | None = None,
                                baseline: float = 0.0) -> torch.Tensor:
    """Per-sample score-function (REINFORCE) gradients -- the naive answer to seed §梯度问题.

    (f(z) - baseline) * d/dtheta log q(z), z ~ N(mu, sigma^2), with
    d/dmu log q = (z - mu) / sigma^2 = eps / sigma and d/dsigma log q = (eps^2 - 1) / sigma.
    Unbiased for any constant ``baseline`` (E[score] = 0).  Shape (n, *mu.shape, 2) like
    :func:`reparam_grad_samples`.
    """
    fn = resolve_integrand(f).f
    mu, sigma = _mu_sigma(mu, sigma)
    eps = torch.randn(n, *mu.shape, generator=generator, dtype=DTYPE)
    with torch.no_grad():
        fz = fn(mu + sigma * eps) - float(baseline)
    return torch.stack([fz * eps / sigma, fz * (eps ** 2 - 1) / sigma], dim=-1)


def estimator_variance_curve(f, mu: float, sigma: float, sample_sizes: Sequence[int] = tuple(2 ** i for i in range(11)),
                             repeats: int = 200, seed: int = 0) -> dict:
    """Mean and variance (over ``repeats`` runs) of the n-sample average gradient, for both estimators.

    Scalar ``mu``/``sigma``.  Returns a plain dict of lists (JSON/plot friendly):

    * ``n``: the sample sizes; ``param_names``: ["mu", "sigma"]
    * ``mean_reparam``, ``var_reparam``, ``mean_score``, ``var_score``: one [d/dmu, d/dsigma] pair per n
      (variances are unbiased, ddof = 1; both fall as 1/n, reparameterisation usually far lower)
    * ``true_grad``: [d/dmu, d/dsigma] in closed form, or None for a callable without one
    * ``f``, ``mu``, ``sigma``, ``repeats``, ``seed``: the inputs

    The two estimators use independent draws from one generator seeded with ``seed``.
    """
    integrand = resolve_integrand(f)
    if repeats < 2:
        raise ValueError("repeats must be >= 2 to estimate a variance")
    g = torch.Generator().manual_seed(int(seed))
    mu_t, sigma_t = _t(float(mu)), _t(float(sigma))
    out: dict = {"n": [], "mean_reparam": [], "var_reparam": [], "mean_score": [], "var_score": []}
    for n in sample_sizes:
        n = int(n)
        if n < 1:
            raise ValueError("sample sizes must be >= 1")
        rep = reparam_grad_samples(integrand, mu_t.expand(repeats), sigma_t.expand(repeats), n, g).mean(0)
        sco = score_function_grad_samples(integrand, mu_t.expand(repeats), sigma_t.expand(repeats), n, g).mean(0)
        out["n"].append(n)
        out["mean_reparam"].append(rep.mean(0).tolist())
        out["var_reparam"].append(rep.var(0, unbiased=True).tolist())
        out["mean_score"].append(sco.mean(0).tolist())
        out["var_score"].append(sco.var(0, unbiased=True).tolist())
    tg = integrand.true_grad(mu_t, sigma_t)
    out.update(true_grad=None if tg is None else [float(tg[0]), float(tg[1])], param_names=["mu", "sigma"],
               f=integrand.name, mu=float(mu), sigma=float(sigma), repeats=int(repeats), seed=int(seed))
    return out


# ============================================================== KL and IWAE
def mc_kl_vs_closed_form(mu, logvar, n_samples: int = 1000, seed: int = 0) -> dict[str, torch.Tensor]:
    """Closed-form KL(N(mu, diag exp(logvar)) || N(0, I)) (seed §KL散度闭式解) against objectives.mc_kl.

    ``mu``/``logvar``: (N, d) for N distributions, (d,) or a scalar for one.  Returns float64 tensors
    ``closed_form``, ``mc_estimate``, ``stderr``, ``z_score`` (= (mc - closed) / stderr; 0 when both are
    exactly equal, e.g. q = prior), each of shape (N,) -- or 0-d for a single distribution.
    """
    mu, logvar = torch.broadcast_tensors(_t(mu), _t(logvar))
    single = mu.ndim < 2
    mu2, lv2 = mu.reshape(1, -1) if single else mu, logvar.reshape(1, -1) if single else logvar
    g = torch.Generator().manual_seed(int(seed))
    est, se = mc_kl(mu2, lv2, int(n_samples), g)
    closed = gaussian_kl(mu2, lv2)
    diff = est - closed
    z = torch.where(se > 0, diff / se.clamp_min(1e-300), torch.zeros_like(diff))
    out = {"closed_form": closed, "mc_estimate": est, "stderr": se, "z_score": z}
    return {k: v.reshape(()) for k, v in out.items()} if single else out


def jensen_gap(log_w: torch.Tensor, ks: Sequence[int]) -> dict:
    """Thm 1.3 (Jensen) on importance log-weights ``log_w`` of shape (M, *batch) (M draws per example).

    * ``elbo``: mean of all M log-weights, the ELBO estimate E[log w]  -- shape ``batch``
    * ``bounds``: (len(ks), *batch); row i estimates L_k = E[log (1/k) sum_j w_j] for k = ks[i] by splitting
      the *first* floor(M / k) * k draws into disjoint groups of k and averaging log-mean-exp over groups
    * ``gap``: bounds - elbo (>= 0 on average; exactly >= 0 when k divides M);  ``k``: list(ks)

    All k share the same draws, so along a divisor chain (k | k', both | M) the estimates are non-decreasing
    for *every* draw -- Jensen applied group by group -- not merely in expectation.
    """
    log_w = torch.as_tensor(log_w)
    M = log_w.shape[0]
    bounds = []
    for k in ks:
        k = int(k)
        if not 1 <= k <= M:
            raise ValueError(f"k = {k} needs 1 <= k <= {M} (the number of draws)")
        groups = log_w[: (M // k) * k].reshape(M // k, k, *log_w.shape[1:])
        bounds.append((torch.logsumexp(groups, dim=1) - math.log(k)).mean(0))
    elbo = log_w.mean(0)
    b = torch.stack(bounds)
    return {"k": [int(k) for k in ks], "elbo": elbo, "bounds": b, "gap": b - elbo}


@torch.no_grad()
def iwae_curve(model, x: torch.Tensor, ks: Sequence[int] = (1, 2, 5, 10, 50), generator: torch.Generator | None = None,
               y: torch.Tensor | None = None, n_draws: int | None = None, shared: bool = True,
               chunk: int = 100) -> dict:
    """Importance-weighted bounds L_k (Burda et al. 2016) for each k, averaged over the batch ``x``.

    Draws come from :func:`vae_core.objectives.iwae_log_weights`; ``n_draws`` (default max(ks)) per example.

    * ``shared=True``: one pool of ``n_draws`` log-weights per example serves every k (via
      :func:`jensen_gap`); cheap, and monotone in k along divisor chains for every draw when k | n_draws.
    * ``shared=False``: each k gets its own independent pool of ``n_draws`` draws (honest, independent
      estimates; monotone only in expectation).

    Returns ``k`` (list), ``bound`` (list of floats: batch-mean L_k, nats per image, <= log p(x)),
    ``bound_per_x`` ((len(ks), N) tensor), ``elbo`` (float: batch-mean of all log-weights = ELBO estimate
    with a Monte-Carlo KL), ``gap`` (list: bound - elbo), ``n_draws``, ``shared``.
    """
    ks = [int(k) for k in ks]
    if not ks or min(ks) < 1:
        raise ValueError("ks must be a non-empty list of integers >= 1")
    M = int(n_draws or max(ks))
    if M < max(ks):
        raise ValueError("n_draws must be >= max(ks)")

    def pool() -> torch.Tensor:
        parts, done = [], 0
        while done < M:
            m = min(chunk, M - done)
            parts.append(iwae_log_weights(model, x, m, y, generator).double())
            done += m
        return torch.cat(parts, 0)

    if shared:
        res = jensen_gap(pool(), ks)
        per_x, elbo = res["bounds"], res["elbo"]
    else:
        rows, elbos = [], []
        for k in ks:
            res = jensen_gap(pool(), [k])
            rows.append(res["bounds"][0])
            elbos.append(res["elbo"])
        per_x, elbo = torch.stack(rows), torch.stack(elbos).mean(0)
    bound = per_x.mean(1)
    e = float(elbo.mean())
    return {"k": ks, "bound": bound.tolist(), "bound_per_x": per_x, "elbo": e, "gap": (bound - e).tolist(),
            "n_draws": M, "shared": shared}


# ============================================= helpers for the theory pages
# (appended: ELBO on one digit with standard errors, Gaussian drawing helpers, the identity demo,
#  ELBO sweeps over q's mean, reparameterised draws and an estimator summary table)
@torch.no_grad()
def elbo_estimate(model, x: torch.Tensor, y: torch.Tensor | None = None, n_samples: int = 16,
                  generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """The ELBO of Thm 1.1 for a batch ``x`` (N, 784), with a Monte-Carlo reconstruction term and its standard error.

    recon_ll = (1/S) sum_s log p(x | z_s), z_s = mu + sigma * eps_s  (estimates E_q[log p(x|z)], nats)
    kl       = closed-form KL(q(z|x) || N(0, I))                    (seed §KL散度闭式解, nats)
    elbo     = recon_ll - kl

    Returns float64 tensors of shape (N,): ``recon_ll``, ``recon_se`` (std of the S log-likelihoods / sqrt(S); 0
    for S = 1), ``kl``, ``elbo``; plus ``kl_per_dim`` (N, d), ``mu``, ``logvar`` (N, d) and ``n_samples``.
    """
    from .objectives import bernoulli_nll, gaussian_kl_per_dim

    S = int(n_samples)
    if S < 1:
        raise ValueError("n_samples must be >= 1")
    mu, logvar = model.encode(x, y) if model.conditional else model.encode(x)
    lls = []
    for _ in range(S):
        z = model.reparameterize(mu, logvar, generator)
        logits = model.decode_logits(z, y) if model.conditional else model.decode_logits(z)
        lls.append(-bernoulli_nll(logits, x).double())
    ll = torch.stack(lls)  # (S, N)
    se = ll.std(0, unbiased=True) / math.sqrt(S) if S > 1 else torch.zeros_like(ll[0])
    kl_dims = gaussian_kl_per_dim(mu.double(), logvar.double())
    kl = kl_dims.sum(1)
    return {"recon_ll": ll.mean(0), "recon_se": se, "kl": kl, "elbo": ll.mean(0) - kl, "kl_per_dim": kl_dims,
            "mu": mu.double(), "logvar": logvar.double(), "n_samples": S}


def gaussian_pdf(z, mean: float, var: float) -> torch.Tensor:
    """Density of N(mean, var) at the points ``z`` (1-D), float64."""
    z = _t(z)
    var = float(var)
    if var <= 0:
        raise ValueError("var must be > 0")
    return torch.exp(-0.5 * (z - float(mean)) ** 2 / var) / math.sqrt(2 * math.pi * var)


def gaussian_ellipse(mean, cov, n_std: float = 1.0, n: int = 100) -> torch.Tensor:
    """(n, 2) points of the n_std-sigma contour {z : (z - m)^T cov^-1 (z - m) = n_std^2} of a 2-D Gaussian
    (any full covariance), closed (first point repeated at the end)."""
    m, C = _t(mean).reshape(2), _t(cov).reshape(2, 2)
    L = torch.linalg.cholesky(0.5 * (C + C.T))
    t = torch.linspace(0, 2 * math.pi, n, dtype=DTYPE)
    circle = torch.stack([torch.cos(t), torch.sin(t)], 1)
    return m + float(n_std) * circle @ L.T


def cov_from_params(log_vars, rho: float = 0.0) -> torch.Tensor:
    """Covariance (d, d) from log-variances (d,) and, for d = 2, a correlation ``rho`` in (-1, 1)."""
    lv = _t(log_vars).reshape(-1)
    sd = torch.exp(0.5 * lv)
    R = torch.eye(lv.shape[0], dtype=DTYPE)
    if lv.shape[0] == 2:
        if not -1 < float(rho) < 1:
            raise ValueError("rho must lie in (-1, 1)")
        R[0, 1] = R[1, 0] = float(rho)
    elif float(rho) != 0.0:
        raise ValueError("a correlation needs d = 2")
    return sd[:, None] * R * sd[None, :]


def cov_to_params(cov) -> tuple[list[float], float]:
    """Inverse of :func:`cov_from_params`: (log-variances as a list, correlation; 0 for d = 1)."""
    C = _t(cov)
    C = C.reshape(1, 1) if C.ndim < 2 else C
    v = torch.diagonal(C)
    rho = float(C[0, 1] / torch.sqrt(v[0] * v[1])) if C.shape[0] == 2 else 0.0
    return torch.log(v).tolist(), rho


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


def reparam_draws(mu, sigma, n: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """Thm 2.1: ``eps`` ~ N(0, I) of shape (n, d) and ``z`` = mu + sigma * eps (elementwise), float64.

    ``mu``/``sigma`` are scalars or (d,) vectors (sigma > 0)."""
    mu_t, sd = _t(mu).reshape(-1), _t(sigma).reshape(-1)
    mu_t, sd = torch.broadcast_tensors(mu_t, sd)
    if torch.any(sd <= 0):
        raise ValueError("sigma must be > 0")
    g = torch.Generator().manual_seed(int(seed))
    eps = torch.randn(int(n), mu_t.shape[0], generator=g, dtype=DTYPE)
    return {"eps": eps, "z": mu_t + sd * eps}


def estimator_summary(curve: dict, param: int = 0) -> dict:
    """Summary of :func:`estimator_variance_curve` for parameter ``param`` (0: d/dmu, 1: d/dsigma).

    The means over ``repeats`` runs of the n-sample estimate at the largest n, with standard errors
    sqrt(var / repeats); the per-sample variances (n = 1 scale: n * var_n, averaged over n) and their ratio
    score / reparam (> 1: reparameterisation is better).  Plain floats.
    """
    p = int(param)
    R = int(curve["repeats"])
    ns = curve["n"]
    i = len(ns) - 1
    rep_mean, sco_mean = curve["mean_reparam"][i][p], curve["mean_score"][i][p]
    rep_se = math.sqrt(curve["var_reparam"][i][p] / R)
    sco_se = math.sqrt(curve["var_score"][i][p] / R)
    per_rep = sum(n * v[p] for n, v in zip(ns, curve["var_reparam"], strict=True)) / len(ns)
    per_sco = sum(n * v[p] for n, v in zip(ns, curve["var_score"], strict=True)) / len(ns)
    tg = curve.get("true_grad")
    return {"n": int(ns[i]), "true": None if tg is None else float(tg[p]),
            "reparam_mean": rep_mean, "reparam_se": rep_se, "score_mean": sco_mean, "score_se": sco_se,
            "reparam_var1": per_rep, "score_var1": per_sco, "ratio": per_sco / per_rep if per_rep > 0 else math.inf}


def mean_field_optimum(lgm: LinearGaussianModel, x) -> tuple[torch.Tensor, torch.Tensor]:
    """The best *diagonal* (mean-field) Gaussian q for p(z|x) = N(m_p, P^-1) under KL(q || p(z|x)):
    mean m_p and variances 1 / diag(P).  Returns (mean (d,), diagonal covariance (d, d)).  Its gap
    KL = 1/2 (sum_j log P_jj - log det P) is > 0 whenever the posterior is correlated."""
    mp, _ = lgm.posterior(x)
    P = lgm.posterior_precision()
    return mp, torch.diag(1.0 / torch.diagonal(P))
