"""Train a Mult-VAE on MovieLens-100k clicks; beta annealed linearly 0 -> anneal_to, the validation
NDCG@100 recorded at every epoch with its beta (the paper's Fig. 1), the best-validation weights kept.

    nice -n 10 python -m vae_core train --family mult-vae --latent-dim 200 --out checkpoints/movielens-multvae-z200
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from ..families import Flag
from . import data as D
from .metrics import all_metrics, ndcg_at_k
from .model import MultVAE

# the family's own flags (the shared ones -- --latent-dim, --hidden-dims, --beta, --epochs, --lr, --seed, --threads,
# --save-dtype, --name, --out -- are declared once in vae_core.command.SHARED)
FLAGS = (
    Flag("--likelihood", "str", "multinomial", choices=("multinomial", "bernoulli")),
    Flag("--anneal-to", "float", 0.4, "beta grows linearly 0 -> this over the run (unless --beta fixes it)"),
)
# the flags of python -m vae_core.recommender.train before #17 -> the shared names
_OLD_FLAGS = {"--latent": "--latent-dim", "--hidden": "--hidden-dims", "--dtype": "--save-dtype"}


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
    """Alias of ``python -m vae_core train --family mult-vae ARGV`` (also takes the old --latent, --hidden, --dtype)."""
    from ..command import train as train_command

    argv = list(sys.argv[1:] if argv is None else argv)
    for i, a in enumerate(argv):
        key, eq, val = a.partition("=")
        if key in _OLD_FLAGS:
            argv[i] = _OLD_FLAGS[key] + eq + val
    return train_command(argv, "mult-vae")


def run(a: argparse.Namespace) -> int:
    """Train, evaluate and save with parsed flags (``python -m vae_core train --family mult-vae`` calls this)."""
    from ..pair_io import checkpoint_metadata
    from .checkpoint import save_multvae

    if len(a.hidden_dims) != 1:
        raise SystemExit("a Mult-VAE has one hidden layer: --hidden-dims N")
    hidden = a.hidden_dims[0]
    torch.set_num_threads(max(1, a.threads))
    try:
        r = D.load_ratings()
    except D.DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sp = D.split(r)
    t0 = time.time()
    model, info = train(sp, a.latent_dim, hidden, a.likelihood, a.epochs, a.anneal_to, a.lr, batch=a.batch_size,
                        seed=a.seed, fixed_beta=a.beta)
    m = test_metrics(model, sp)
    print("test", m, f"{time.time() - t0:.0f} s")
    recipe = {"command": a.command, "latent_dim": a.latent_dim, "hidden": hidden, "likelihood": a.likelihood,
              "epochs": a.epochs, "anneal_to": a.anneal_to, "beta": a.beta, "lr": a.lr, "batch": a.batch_size,
              "dropout": 0.5, "seed": a.seed, "seconds": round(time.time() - t0, 1)}
    meta = checkpoint_metadata(
        "mult-vae", name=a.name, recipe=recipe, command=a.command, seed=a.seed, dataset="MovieLens-100k",
        source=D.SOURCE, item_ids=[int(i) for i in sp.item_ids],
        test_users=[int(u) for u in sp.test_users], validation_users=[int(u) for u in sp.vad_users],
        rating_threshold=D.RATING_THRESHOLD, split_seed=D.SPLIT_SEED, heldout_fraction=0.2,
        metrics={"test": m, "best_val_ndcg@100": info["best_val_ndcg@100"]},
        beta_curve=info["beta_curve"], beta_at_best=info["beta_at_best"], test_metrics=m)
    save_multvae(a.out, model, meta, dtype=a.save_dtype)
    print("wrote", a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
