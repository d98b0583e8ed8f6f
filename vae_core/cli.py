"""The command line: ``python -m vae_core.train --latent-dim 2 --epochs 30 --out checkpoints/my-model``.

Trains with :func:`vae_core.train.train` (progress bar on stderr), evaluates the
test −ELBO and IWAE bound on exactly the weights it stores (after a float16
round trip with ``--save-dtype float16``), writes ``OUT.safetensors`` + ``OUT.json``
and prints the test figures and the training throughput.  Exit status 1 if the
training diverged.
"""

from __future__ import annotations

import argparse
import math
import os
import sys

import torch
from tqdm import tqdm

from .checkpoints import save_checkpoint, training_metadata
from .data import load_dataset
from .objectives import evaluate
from .train import Report, TrainConfig, torch_threads, train

__all__ = ["build_parser", "main"]


def _parse_hidden(s: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(p) for p in s.replace(",", " ").split())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--hidden-dims wants sizes like '512,256', got {s!r}") from None
    if not dims or min(dims) < 1:
        raise argparse.ArgumentTypeError("--hidden-dims wants positive sizes")
    return dims


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m vae_core.train", description="Train a VAE on digits.")
    p.add_argument("--latent-dim", type=int, default=2)
    p.add_argument("--hidden-dims", type=_parse_hidden, default=(512, 256), help="e.g. 512,256 (decoder mirrors)")
    p.add_argument("--activation", default="relu")
    p.add_argument("--conditional", action="store_true", help="train a class-conditional VAE (CVAE)")
    p.add_argument("--beta", type=float, default=1.0)
    p.add_argument("--kl-schedule", choices=["constant", "linear", "cyclical"], default="constant")
    p.add_argument("--warmup-steps", type=int, default=0)
    p.add_argument("--free-bits", type=float, default=0.0, help="nats per latent dimension")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--lr-schedule", choices=["constant", "cosine"], default="constant")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dataset", default="mnist", choices=["mnist", "fashion-mnist", "kmnist"])
    p.add_argument("--data-dir", default=os.environ.get("VAE_DATA_DIR"), help="default: $VAE_DATA_DIR")
    p.add_argument("--subset", type=int, default=0, help="train on a random subset of this size (0 = all)")
    p.add_argument("--iwae-k", type=int, default=1000, help="importance samples for the test IWAE bound (0 = skip)")
    p.add_argument("--save-dtype", choices=["float32", "float16"], default="float32")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    p.add_argument("--name", default=None, help="display name stored in the metadata")
    p.add_argument("--out", required=True, help="writes OUT.safetensors and OUT.json")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with torch_threads(args.threads):  # training and evaluation alike; restored when the command returns
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    cfg = TrainConfig(
        latent_dim=args.latent_dim, hidden_dims=args.hidden_dims, activation=args.activation,
        conditional=args.conditional, beta=args.beta, kl_schedule=args.kl_schedule,
        warmup_steps=args.warmup_steps, free_bits=args.free_bits, epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, lr_schedule=args.lr_schedule, seed=args.seed,
        num_threads=args.threads,
    )
    train_data = load_dataset(args.dataset, "train", root=args.data_dir)
    test_data = load_dataset(args.dataset, "test", root=args.data_dir)
    if train_data.is_sample:
        print("note:", train_data.description, file=sys.stderr)
    train_data = train_data.subset(args.subset or None, seed=args.seed)
    print(f"data: {train_data.description}", file=sys.stderr)
    steps_per_epoch = math.ceil(len(train_data) / min(cfg.batch_size, len(train_data)))
    bar = tqdm(total=steps_per_epoch * cfg.epochs, unit="step", file=sys.stderr)
    last = [0]

    def on_report(r: Report) -> None:
        bar.update(r.step - last[0])
        last[0] = r.step
        bar.set_postfix(epoch=r.epoch, loss=f"{r.loss:.2f}", recon=f"{r.recon:.2f}", kl=f"{r.kl:.2f}")
        if r.kind == "epoch":
            bar.write(f"epoch {r.epoch}/{r.epochs}: loss {r.loss:.3f} recon {r.recon:.3f} "
                      f"kl {r.kl:.3f} nats/image, {r.samples_per_s:,.0f} samples/s")

    res = train(train_data.images, cfg, labels=train_data.labels, callback=on_report)
    bar.close()
    model = res.model
    if res.diverged:
        print("error:", res.message, file=sys.stderr)
    if args.save_dtype == "float16":  # evaluate exactly what is stored
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.half().float())
    metrics = evaluate(model, test_data.images, test_data.labels, iwae_k=args.iwae_k)
    meta = training_metadata(model, cfg, res, train_data, test_data, metrics, name=args.name)
    paths = save_checkpoint(args.out, model, meta, dtype=args.save_dtype)
    print(f"test -ELBO: {metrics['neg_elbo']:.2f} nats/image (recon {metrics['recon']:.2f}, KL {metrics['kl']:.2f})")
    if "iwae_nll" in metrics:
        print(f"test IWAE bound (k={args.iwae_k}): -log p(x) <= {metrics['iwae_nll']:.2f} nats/image")
    print(f"saved: {paths[0]} and {paths[1]}")
    print(f"throughput: {res.samples_per_s:.0f} samples/s")
    return 1 if res.diverged else 0
