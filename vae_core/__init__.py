"""vae_core: the Streamlit-free engine of the VAE latent-space explorer.

Usable from a notebook, the command line (``python -m vae_core train|sample|evaluate|import-model``) and the app
alike.  The top level is the ground every model family shares:

* ``command`` (+ ``__main__``) -- the one command line: shared flags parsed once, each family's own from the registry;
* ``families``    -- THE registry of model families: loader, saver, validator, sampler, metrics, train and flags;
* ``objectives``  -- the ELBO's terms, ``vae_loss``, free bits, KL schedules, IWAE log-weights and bounds;
* ``likelihoods`` -- the pixel likelihoods p(x|z);
* ``latent``      -- encodings, projections (PCA), lattices, interpolation, ellipses, neighbours, active units;
* ``images`` / ``runtime`` -- images as rows and grids; per-run seeds and thread counts;
* ``pair_read`` / ``pair_io`` -- the checkpoint pair (safetensors + JSON): safe reader, validator helpers,
  atomic writer and the one metadata builder;
* ``jobs``        -- background trainings on a Dask cluster.

One folder per model family (each ``__init__`` says what lives there): ``digits`` (``mlp-vae``: MLP VAEs / CVAEs
on 28x28 digits or a user's images, with the β/KL Lab, FID / IS and the applications), ``sequence`` (``seq-vae``:
words and SMILES), ``sprites`` (``sprites-vae``: β-VAEs scored for disentanglement), ``recommender``
(``mult-vae``: MovieLens); ``theory`` holds the statements checked numerically, by topic.

``load_checkpoint(path) -> (model, meta)`` loads a checkpoint of any family (the registry picks the loader from
the JSON's ``family``; the digit family's own loader, which refuses the others, is
:func:`vae_core.digits.checkpoint.load_checkpoint`).  Re-exported for the common case (digit models):
``save_checkpoint``, ``VAE``, ``CVAE``, ``build_model``, ``load_dataset``, ``vae_loss``, ``iwae_bound``, ...;
``TrainConfig`` / ``Trainer`` / ``train``
are in :mod:`vae_core.digits.train`.
"""

__version__ = "0.1.0"

from .digits.checkpoint import CheckpointError, list_checkpoints, save_checkpoint  # noqa: E402
from .digits.data import DataUnavailable, DigitData, load_dataset  # noqa: E402
from .digits.model import CVAE, VAE, build_model  # noqa: E402
from .families import load as load_checkpoint  # noqa: E402  (any family: its JSON picks the loader)
from .objectives import elbo_terms, evaluate, gaussian_kl, gaussian_kl_per_dim, iwae_bound, vae_loss  # noqa: E402


def __getattr__(name):  # lazy: importing vae_core does not import the trainer
    if name in ("Report", "TrainConfig", "TrainResult", "Trainer"):
        import importlib

        return getattr(importlib.import_module(".digits.train", __name__), name)
    raise AttributeError(name)


__all__ = [
    "CVAE", "VAE", "CheckpointError", "DataUnavailable", "DigitData", "Report", "TrainConfig", "TrainResult", "Trainer",
    "build_model", "elbo_terms", "evaluate", "gaussian_kl", "gaussian_kl_per_dim", "iwae_bound", "list_checkpoints",
    "load_checkpoint", "load_dataset", "save_checkpoint", "vae_loss",
]
