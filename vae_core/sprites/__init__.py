"""The sprites family (``sprites-vae``): β-VAEs on procedurally generated 64x64 sprites, scored for disentanglement.

* ``data``        -- the sprites and their five factors (shape, scale, rotation, x, y), train / test split;
* ``model``       -- the family's checkpoint (validator, save / load), metrics, traversals and the β sweep
  (the network itself is the digit family's MLP :class:`vae_core.digits.model.VAE` with 4096 inputs);
* ``disentangle`` -- the mutual information gap (MIG);
* ``cli``         -- ``python -m vae_core train --family sprites-vae`` (trained by :mod:`vae_core.digits.train`);
* ``sample``      -- prior samples as a PNG grid (``python -m vae_core sample``).
"""
