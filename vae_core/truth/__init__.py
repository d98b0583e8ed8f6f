"""Independent checks of what the app teaches (issue #11), one module per page topic.

* :mod:`.quadrature` -- exact log ∫ p(x|z) p(z) dz for 1-D / 2-D latents by a grid over z (no encoder, no
  sampling) and the β-bound check (E_q[log p(x|z)] - β·KL is a bound on log p(x) only for β >= 1);
* :mod:`.bounds`     -- single IWAE estimates against the exact value; L_K - L_1 against the whole gap;
* :mod:`.elbo`       -- the two forms of the ELBO on a digit, the Gaussian decoder's loss with its 1/(2σ²)
  and constant, Cor. 1.3 failing over θ, the EM reading (E-step / M-step) on a linear-Gaussian model;
* :mod:`.coding`     -- lossless baselines (zlib, PNG) and the cost of sending z ~ q(z|x);
* :mod:`.collapse`   -- the best collapsed solution of the β-objective (Σ_i H_b(x̄_i));
* :mod:`.floors`     -- the entropy floor of the BCE "reconstruction error" and the all-black image;
* :mod:`.gradients`  -- REINFORCE with a leave-one-out baseline.

The modules are imported on demand (``from vae_core.truth.quadrature import ...``): some need scipy or Pillow.
"""
