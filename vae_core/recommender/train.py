"""Train a Mult-VAE on MovieLens-100k clicks; beta annealed linearly 0 -> anneal_to, the validation
NDCG@100 recorded at every epoch with its beta (the paper's Fig. 1), the best-validation weights kept.

    nice -n 10 python -m vae_core.recommender.train --latent 200 --out checkpoints/movielens-multvae-z200
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from . import data as D
from .metrics import all_metrics, ndcg_at_k
from .model import MultVAE

FLAGS = ("--latent", "--hidden", "--likelihood", "--epochs", "--anneal-to", "--lr", "--seed", "--out")


def train(sp: D.Split, latent_dim=200, hidden=600, likelihood="multinomial", epochs=200, anneal_to=0.4,
          lr=1e-3, batch=100, seed=0, fixed_beta=None, log=print):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    n_items = sp.train.shape[1]
    model = MultVAE(n_items, hidden, latent_dim, 0.5, likelihood)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=0.0)
    x = torch.from_numpy(sp.train)
    steps_per_epoch = int(np.ceil(len(x) / batch))
    total = epochs * steps_per_epoch
    step, best, best_state, curve = 0, -1.0, None, []
    vin = torch.from_numpy(sp.vad_in)
    for ep in range(epochs):
        model.train()
        for idx in np.array_split(rng.permutation(len(x)), steps_per_epoch):
            beta = fixed_beta if fixed_beta is not None else anneal_to * min(1.0, step / total)
            loss = model.loss(x[idx], beta)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
        v = float(ndcg_at_k(model.scores(vin).numpy(), sp.vad_in, sp.vad_out, 100).mean())
        curve.append({"epoch": ep + 1, "beta": round(float(beta), 5), "val_ndcg@100": round(v, 5)})
        if v > best:
            best, best_state, best_beta = v, {k: t.clone() for k, t in model.state_dict().items()}, beta
        if log and (ep + 1) % 25 == 0:
            log(f"epoch {ep + 1}: beta {beta:.3f} val NDCG@100 {v:.4f} (best {best:.4f})")
    model.load_state_dict(best_state)
    model.eval()
    return model, {"beta_curve": curve, "best_val_ndcg@100": best, "beta_at_best": float(best_beta)}


def test_metrics(model: MultVAE, sp: D.Split) -> dict:
    s = model.scores(torch.from_numpy(sp.test_in)).numpy()
    return all_metrics(s, sp.test_in, sp.test_out)


def main(argv=None) -> int:
    from .checkpoint import save_multvae
    p = argparse.ArgumentParser(prog="python -m vae_core.recommender.train")
    p.add_argument("--latent", type=int, default=200)
    p.add_argument("--hidden", type=int, default=600)
    p.add_argument("--likelihood", choices=["multinomial", "bernoulli"], default="multinomial")
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--anneal-to", type=float, default=0.4, help="beta grows linearly 0 -> this over the run")
    p.add_argument("--beta", type=float, default=None, help="fixed beta instead of annealing (notes: 1)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", choices=["float32", "float16"], default="float32")
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    torch.set_num_threads(2)
    try:
        r = D.load_ratings()
    except D.DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sp = D.split(r)
    t0 = time.time()
    model, info = train(sp, a.latent, a.hidden, a.likelihood, a.epochs, a.anneal_to, a.lr, seed=a.seed,
                        fixed_beta=a.beta)
    m = test_metrics(model, sp)
    print("test", m, f"{time.time() - t0:.0f} s")
    meta = {"dataset": "MovieLens-100k", "source": D.SOURCE, "item_ids": [int(i) for i in sp.item_ids],
            "test_users": [int(u) for u in sp.test_users], "validation_users": [int(u) for u in sp.vad_users],
            "rating_threshold": D.RATING_THRESHOLD, "split_seed": D.SPLIT_SEED, "heldout_fraction": 0.2,
            "metrics": {"test": m, "best_val_ndcg@100": info["best_val_ndcg@100"]},
            "beta_curve": info["beta_curve"], "beta_at_best": info["beta_at_best"],
            "recipe": {"command": "python -m vae_core.recommender.train " + " ".join(sys.argv[1:] if argv is None
                                                                                else argv),
                       "latent_dim": a.latent, "hidden": a.hidden, "likelihood": a.likelihood, "epochs": a.epochs,
                       "anneal_to": a.anneal_to, "beta": a.beta, "lr": a.lr, "batch": 100, "dropout": 0.5,
                       "seed": a.seed, "seconds": round(time.time() - t0, 1)}}
    save_multvae(a.out, model, meta, dtype=a.dtype)
    print("wrote", a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
