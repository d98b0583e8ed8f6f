"""vae_core: the Streamlit-free engine of the VAE latent-space explorer.

Usable from a notebook, the CLI (``python -m vae_core.train``) and the app alike.  The digit VAE,
module by module:

* ``models``      -- :class:`VAE` / :class:`CVAE` (encode, decode, reparameterise, sample; the label rules);
* ``objectives``  -- the ELBO's terms, ``vae_loss``, free bits, KL schedules, IWAE bounds, ``evaluate``;
* ``likelihoods`` -- the pixel likelihoods p(x|z);
* ``train``       -- ``TrainConfig``, ``Trainer`` (the plain path and the hand-written ``fast_step``),
  ``train()``; ``cli`` is its command line, ``runtime`` the per-run seeds and thread count;
* ``data`` / ``drawing`` / ``images`` -- where digits come from, a drawing as a digit, images as rows and grids;
* ``checkpoints`` (over the generic ``pair_io``) and ``jobs`` -- saved models and background trainings;
* ``user_data`` / ``import_model`` -- a user's own data set (.npz / .npy / .zip of class folders, checked and
  capped) and a VAE trained elsewhere imported from its safetensors state dict (#19);
* ``latent``      -- encodings, projections, lattices, interpolation, ellipses, neighbours;
* ``analysis``    -- the β/KL Lab: rate and distortion, active units (the one definition), posterior collapse;
* ``applications`` (package) -- anomaly scores and OOD sets, inpainting, editing, compression, q(z|x) of one
  image, CVAE helpers;
* ``theory`` (package) -- the theorems checked numerically: linear-Gaussian model, gradient estimators, bounds.

Other model families live beside it (``sequence``, ``sprites`` / ``sprites_vae``, ``truth``, ``evaluation``,
``quality``, ``disentangle``), each module's docstring says what it holds.
"""

__version__ = "0.1.0"

from .checkpoints import CheckpointError, list_checkpoints, load_checkpoint, save_checkpoint  # noqa: E402
from .data import DataUnavailable, DigitData, load_dataset  # noqa: E402
from .models import CVAE, VAE, build_model  # noqa: E402
from .objectives import elbo_terms, evaluate, gaussian_kl, gaussian_kl_per_dim, iwae_bound, vae_loss  # noqa: E402


def __getattr__(name):  # lazy, so that `python -m vae_core.train` imports the module only once
    if name in ("Report", "TrainConfig", "TrainResult", "Trainer"):
        import importlib

        return getattr(importlib.import_module(".train", __name__), name)
    raise AttributeError(name)


__all__ = [
    "CVAE", "VAE", "CheckpointError", "DataUnavailable", "DigitData", "Report", "TrainConfig", "TrainResult", "Trainer",
    "build_model", "elbo_terms", "evaluate", "gaussian_kl", "gaussian_kl_per_dim", "iwae_bound", "list_checkpoints",
    "load_checkpoint", "load_dataset", "save_checkpoint", "vae_loss",
]
