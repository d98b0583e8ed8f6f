"""vae_core: the Streamlit-free engine of the VAE latent-space explorer.

Models, the ELBO and its bounds, data, training, checkpoints, latent-space
utilities and analysis.  Usable from a notebook, the CLI
(``python -m vae_core.train``) and the app alike.
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
