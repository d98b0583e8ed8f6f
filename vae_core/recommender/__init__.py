"""Mult-VAE recommender family (no Streamlit) over MovieLens-100k (Liang et al. 2018).

``data`` (locating and parsing ml-100k, implicit clicks, the strong-generalisation split),
``model`` (:class:`MultVAE`: multinomial or Bernoulli likelihood), ``metrics`` (Recall@K, NDCG@K),
``baselines`` (popularity, EASE), ``train`` (annealed training, NDCG-vs-beta curve; ``run`` is
``python -m vae_core train --family mult-vae``) and ``checkpoint`` (family "mult-vae" in the one checkpoint
format).
"""
