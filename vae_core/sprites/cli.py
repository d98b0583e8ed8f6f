"""Train a β-VAE on the procedurally generated sprites (:mod:`vae_core.sprites.data`) and score its disentanglement.

The model is the digit pages' MLP :class:`vae_core.digits.model.VAE` with a 4096-pixel input (64x64 binary sprites,
Bernoulli likelihood), trained by the same :class:`vae_core.digits.train.Trainer`.  After training it records the
test -ELBO, the KL per latent dimension and the MIG (:mod:`vae_core.sprites.disentangle`) of the posterior means of
all 27,648 factor combinations.

Usage (``python -m vae_core.sprites.cli`` is an alias)::

    python -m vae_core train --family sprites-vae --beta 4 --epochs 30 --out checkpoints/sprites-beta4
"""

from __future__ import annotations

import argparse
import sys

import torch

from ..digits.train import TrainConfig, train
from ..families import Flag
from ..pair_io import checkpoint_metadata
from . import data as sp
from .model import save_sprite_model, sprite_metrics

# the sprites family's own flags (the shared ones are declared once in vae_core.command.SHARED)
FLAGS = (
    Flag("--lr-schedule", "str", "cosine", choices=("constant", "cosine")),
    Flag("--subset", "int", 0, "train on this many training sprites (0 = all)"),
)


def main(argv: list[str] | None = None) -> int:
    """Alias of ``python -m vae_core train --family sprites-vae ARGV``."""
    from ..command import train

    return train(sys.argv[1:] if argv is None else list(argv), "sprites-vae")


def run(args: argparse.Namespace) -> int:
    """Train, score and save with parsed flags (``python -m vae_core train --family sprites-vae`` calls this)."""
    hidden = args.hidden_dims
    cfg = TrainConfig(latent_dim=args.latent_dim, hidden_dims=hidden, beta=args.beta, epochs=args.epochs,
                      batch_size=args.batch_size, lr=args.lr, lr_schedule=args.lr_schedule,
                      kl_schedule=args.kl_schedule, warmup_steps=args.warmup_steps, free_bits=args.free_bits,
                      seed=args.seed,
                      num_threads=args.threads, log_every=200)
    train_set, test_set = sp.split_sprites(0.1, seed=0)
    x = train_set.flat()
    if args.subset:
        g = torch.Generator().manual_seed(args.seed)
        x = x[torch.randperm(x.shape[0], generator=g)[:args.subset]]
    print(f"data: {x.shape[0]:,} training sprites, {len(test_set):,} test sprites", file=sys.stderr)

    def report(r) -> None:
        if r.kind == "epoch":
            print(f"epoch {r.epoch}/{r.epochs}: loss {r.loss:.2f} recon {r.recon:.2f} kl {r.kl:.2f} nats/image, "
                  f"{r.samples_per_s:,.0f} samples/s", file=sys.stderr, flush=True)

    res = train(x, cfg, callback=report)
    model = res.model
    if args.save_dtype == "float16":  # measure exactly what is stored
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.half().float())
    metrics = sprite_metrics(model, test_set)
    meta = checkpoint_metadata(
        "sprites-vae", name=args.name, recipe=cfg.to_dict(), command=args.command, seed=cfg.seed,
        beta=args.beta, kl_schedule=cfg.schedule.to_dict(), free_bits=float(cfg.free_bits),
        dataset={"name": "sprites", "source": "generated",
                 "description": (f"procedural 64x64 sprites (vae_core.sprites.data): {x.shape[0]:,} training and "
                                 f"{len(test_set):,} test images of {sp.N_COMBINATIONS:,} factor combinations"),
                 "n_train": int(x.shape[0]), "n_test": len(test_set),
                 "factors": {f: [float(v) for v in sp.FACTOR_VALUES[f]] for f in sp.FACTOR_NAMES}},
        epochs=res.epochs_done, steps=res.steps,
        test_metrics=metrics,
        training={"train_seconds": round(res.train_seconds, 2), "wall_seconds": round(res.wall_seconds, 2),
                  "samples_per_s": round(res.samples_per_s, 1), "diverged": res.diverged,
                  "message": res.message},
    )
    save_sprite_model(args.out, model, meta, args.save_dtype)
    print(f"test -ELBO {metrics['neg_elbo']:.2f} nats/image (recon {metrics['recon']:.2f}, KL {metrics['kl']:.2f}); "
          f"active units {metrics['active_units']}; MIG {metrics['mig']:.3f}")
    print("MIG per factor: " + ", ".join(f"{k} {v:.3f}" for k, v in metrics["mig_per_factor"].items()))
    print(f"throughput: {res.samples_per_s:.0f} samples/s")
    return 1 if res.diverged else 0


if __name__ == "__main__":
    sys.exit(main())
