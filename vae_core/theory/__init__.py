"""Numerical illustrations of the seed's theorems (seed §变分推断, §重参数化技巧), one module per idea.

Pure torch (float64 wherever precision matters), no Streamlit, so the app, a notebook and the tests
share one source of truth:

* :mod:`.linear_gaussian` -- :class:`LinearGaussianModel`, where log p(x), p(z|x) and the ELBO are exact:
  Thm 1.1, Thm 1.2 (log p(x) = ELBO + KL(q || p(z|x))) and Cor 1.2 to ~1e-12; the Exact Identity page's
  demo model, ELBO sweeps and the mean-field optimum;
* :mod:`.estimators`      -- the gradient problem and Thm 2.1: reparameterisation vs score-function
  (REINFORCE) gradients, their variance curves and summary, reparameterised draws;
* :mod:`.bounds`          -- the ELBO of a digit with standard errors, closed-form vs Monte-Carlo KL,
  Jensen's gap (Thm 1.3) and the IWAE bounds L_k rising with k;
* :mod:`.gaussians`       -- densities, ellipses and covariance parameters for drawing Gaussians;

and the independent checks of what the pages teach (issue #11; the tests that check the statements are
``tests/truth/``):

* :mod:`.quadrature`      -- exact log ∫ p(x|z) p(z) dz for 1-D / 2-D latents by a grid over z (no encoder, no
  sampling) and the β-bound check (E_q[log p(x|z)] - β·KL bounds log p(x) only for β >= 1);
* :mod:`.bounds` also holds single IWAE estimates against that exact value (:func:`~.bounds.iwae_vs_exact`);
* :mod:`.estimators` also holds REINFORCE with a leave-one-out baseline;
* :mod:`.elbo`            -- the two forms of the ELBO on a digit, the Gaussian decoder's loss with its 1/(2σ²)
  and constant, Cor. 1.3 failing over θ, the EM reading (E-step / M-step) on a linear-Gaussian model;
* :mod:`.coding`          -- lossless baselines (zlib, PNG) and the cost of sending z ~ q(z|x);
* :mod:`.collapse`        -- the best collapsed solution of the β-objective (Σ_i H_b(x̄_i));
* :mod:`.floors`          -- the entropy floor of the BCE "reconstruction error" and the all-black image.

The seed's theorems are re-exported here (``from vae_core import theory; theory.iwae_curve(...)``); the checks
are imported from their modules (``from vae_core.theory.quadrature import ...``: some need Pillow or a digit
model).
"""

from .bounds import elbo_estimate, iwae_curve, jensen_gap, mc_kl_vs_closed_form
from .estimators import (
    INTEGRANDS,
    Integrand,
    estimator_summary,
    estimator_variance_curve,
    quadratic,
    reparam_draws,
    reparam_grad_samples,
    resolve_integrand,
    score_function_grad_samples,
)
from .gaussians import cov_from_params, cov_to_params, gaussian_ellipse, gaussian_pdf
from .linear_gaussian import LinearGaussianModel, elbo_sweep, identity_demo, mean_field_optimum

__all__ = [
    "INTEGRANDS", "Integrand", "LinearGaussianModel", "cov_from_params", "cov_to_params", "elbo_estimate",
    "elbo_sweep", "estimator_summary", "estimator_variance_curve", "gaussian_ellipse", "gaussian_pdf",
    "identity_demo", "iwae_curve", "jensen_gap", "mc_kl_vs_closed_form", "mean_field_optimum", "quadratic",
    "reparam_draws", "reparam_grad_samples", "resolve_integrand", "score_function_grad_samples",
]
