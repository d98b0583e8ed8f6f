"""Reparameterisation page: REINFORCE with a leave-one-out baseline is unbiased (its mean agrees with the
closed-form gradient within 4 standard errors) and, for f = (z - 2)², has a lower variance than REINFORCE
without a baseline (both estimators from vae_core.theory / vae_core.theory.estimators, truth from the closed form).
"""

from __future__ import annotations

import math

from vae_core.theory import estimator_variance_curve
from vae_core.theory.estimators import baseline_variance_curve


def test_baseline_unbiased_and_quieter():
    b = baseline_variance_curve("(z-2)^2", 0.2, 0.4, [4, 64], repeats=400, seed=0)
    c = estimator_variance_curve("(z-2)^2", 0.2, 0.4, [4, 64], repeats=400, seed=0)
    for i in range(2):
        for p in range(2):
            se = math.sqrt(b["var_baseline"][i][p] / 400)
            assert abs(b["mean_baseline"][i][p] - b["true_grad"][p]) < 4 * se + 1e-12
            assert b["var_baseline"][i][p] < c["var_score"][i][p]
