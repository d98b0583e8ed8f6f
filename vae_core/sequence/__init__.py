"""The sequence family (``seq-vae``, no Streamlit): character-level words and SMILES molecules.

``vocab`` (token vocabularies), ``model`` (:class:`SeqVAE`: GRU encoder → Gaussian z →
autoregressive GRU decoder), ``train`` (annealed training, evaluation), ``words`` (wordfreq
corpus), ``smiles`` (RDKit NCI corpus, validity, properties, drawings), ``metrics`` (the JSON's
``test_metrics``), ``checkpoint`` (family "seq-vae" in the one checkpoint format), ``explore``
(what the pages compute), ``cli`` (``python -m vae_core train --family seq-vae``) and ``sample``
(``python -m vae_core sample``).  KL, KL schedules and PCA are the shared ones (:mod:`vae_core.objectives`,
:mod:`vae_core.latent`).
"""

from .model import SeqVAE
from .vocab import Vocab, smiles_tokens

__all__ = ["SeqVAE", "Vocab", "smiles_tokens"]
