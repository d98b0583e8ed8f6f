"""Exact Identity page statements, against independent computations.

* log-densities are not negative by nature: with noise s = 0.1 the linear-Gaussian model's log p(x) is
  positive (scipy's multivariate normal), with the page's s = 0.8 it is negative;
* Cor. 1.3 over q only: two decoders θ_a, θ_b and one fixed q where θ_b has the higher ELBO and the lower
  log p(x) (log p from scipy.stats.norm; ELBO by numerical integration of E_q[log p(x|z)] - KL).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate
from scipy.stats import multivariate_normal, norm

from vae_core.theory import identity_demo
from vae_core.theory.elbo import theta_counterexample


def test_log_density_sign_depends_on_noise_level():
    """The page's d = 1 model with the noise level s = 0.1 instead of 0.8: every log p(x) becomes positive."""
    for s, positive in ((0.1, True), (0.8, False)):
        lgm, xs = identity_demo(1, noise_std=s)
        ref = multivariate_normal(lgm.b.numpy(), lgm.marginal_cov().numpy()).logpdf(xs.numpy())
        assert np.allclose(lgm.log_marginal(xs).numpy(), ref, atol=1e-9)
        assert bool((ref > 0).all()) is positive and bool((ref < 0).all()) is not positive


def test_higher_elbo_with_lower_log_px_over_theta():
    r = theta_counterexample()
    x, m, v = r["x"], r["q_mean"], r["q_var"]
    for key in ("a", "b"):
        w, b, s = r[key]["theta"]
        assert abs(norm(b, math.sqrt(w * w + s * s)).logpdf(x) - r[key]["log_px"]) < 1e-9
        ell = integrate.quad(lambda z, w=w, b=b, s=s: norm(m, math.sqrt(v)).pdf(z) * norm(w * z + b, s).logpdf(x),
                             m - 12 * math.sqrt(v), m + 12 * math.sqrt(v), epsabs=1e-12)[0]
        kl = 0.5 * (v + m * m - 1 - math.log(v))
        assert abs(ell - kl - r[key]["elbo"]) < 1e-7
    assert r["b"]["elbo"] > r["a"]["elbo"] + 1.0
    assert r["b"]["log_px"] < r["a"]["log_px"] - 0.5
