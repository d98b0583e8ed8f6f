"""Recommender bench: trains the three shipped Mult-VAE checkpoints and measures them against popularity
and EASE (lambda tuned on validation NDCG@100) on the same test users, in one run; every number goes into
the checkpoints' JSON ("metrics").

    nice -n 10 python -m bench.recommender            # ~2 min on 2 cores
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import torch

from vae_core.recommender import data as D
from vae_core.recommender.baselines import ease_weights, popularity_scores, tune_ease
from vae_core.recommender.checkpoint import save_multvae
from vae_core.recommender.metrics import all_metrics
from vae_core.recommender.train import test_metrics, train

RUNS = {
    "movielens-multvae-z200": dict(latent_dim=200, likelihood="multinomial", epochs=100, anneal_to=0.4),
    "movielens-multvae-z2": dict(latent_dim=2, likelihood="multinomial", epochs=100, anneal_to=0.4),
    "movielens-bernoulli-z200": dict(latent_dim=200, likelihood="bernoulli", epochs=100, fixed_beta=1.0),
}


def main(argv=None) -> int:
    out_dir = (argv or sys.argv[1:] or ["checkpoints"])[0]
    torch.set_num_threads(2)
    sp = D.split(D.load_ratings())
    pop = all_metrics(popularity_scores(sp.train, sp.test_in), sp.test_in, sp.test_out)
    lam, lam_curve = tune_ease(sp.train, sp.vad_in, sp.vad_out)
    ease = all_metrics(sp.test_in.astype(np.float64) @ ease_weights(sp.train, lam), sp.test_in, sp.test_out)
    baselines = {"popularity": pop, "ease": {**ease, "lambda": lam, "val_ndcg@100_by_lambda": lam_curve}}
    print("popularity", pop)
    print("EASE lambda", lam, ease)
    for name, kw in RUNS.items():
        t0 = time.time()
        model, info = train(sp, **kw, log=None)
        m = test_metrics(model, sp)
        print(name, m, f"{time.time() - t0:.0f} s")
        meta = {"dataset": "MovieLens-100k", "source": D.SOURCE, "item_ids": [int(i) for i in sp.item_ids],
                "test_users": [int(u) for u in sp.test_users],
                "validation_users": [int(u) for u in sp.vad_users],
                "rating_threshold": D.RATING_THRESHOLD, "split_seed": D.SPLIT_SEED, "heldout_fraction": 0.2,
                "metrics": {"test": m, "best_val_ndcg@100": info["best_val_ndcg@100"], "baselines": baselines,
                            "ndcg@100_vs_popularity": m["ndcg@100"] / pop["ndcg@100"],
                            "ndcg@100_vs_ease": m["ndcg@100"] / ease["ndcg@100"]},
                "beta_curve": info["beta_curve"], "beta_at_best": info["beta_at_best"],
                "recipe": {"command": "python -m bench.recommender", **{k: v for k, v in kw.items()},
                           "hidden": 600, "lr": 1e-3, "batch": 100, "dropout": 0.5, "seed": 0,
                           "seconds": round(time.time() - t0, 1)}}
        save_multvae(f"{out_dir}/{name}", model, meta, dtype="float32")
    print(json.dumps(baselines["ease"]["val_ndcg@100_by_lambda"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
