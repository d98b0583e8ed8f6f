"""β/KL Lab speed: several β models trained in lockstep (exactly as the lab's background Job does), one epoch on
a 10k MNIST subset with the lab's default architecture.  Prints seconds per model-epoch and the time from
"start" to the first step report of every model (what the lab's live plots wait for).

    VAE_DATA_DIR=/work/shared/datasets .venv/bin/python -m bench.lab_epoch [--betas 0,0.5,1,4,16]
        [--hidden 256] [--latent 2] [--subset 10000] [--epochs 1] [--log-every N]

Run from the repository root.  No assertions: the figures go in the report / README.  The budget is < 5 s per
model-epoch and < 2 s to the first report on the 2-core CPU box.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from vae_core.digits.analysis import LAB_HIDDEN, LAB_LOG_EVERY
from vae_core.digits.data import load_dataset
from vae_core.digits.train import TrainConfig, Trainer


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--betas", default="0,0.5,1,4,16")
    ap.add_argument("--hidden", default=",".join(str(h) for h in LAB_HIDDEN))
    ap.add_argument("--latent", type=int, default=2)
    ap.add_argument("--subset", type=int, default=10_000)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--log-every", type=int, default=LAB_LOG_EVERY)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    betas = [float(b) for b in args.betas.split(",")]
    hidden = tuple(int(h) for h in args.hidden.split(","))

    t = time.perf_counter()
    data = load_dataset("mnist", "train").subset(args.subset, seed=0)
    print(f"data: {data.description} (loaded in {time.perf_counter() - t:.2f} s)")

    first: dict[int, float] = {}
    t0 = time.perf_counter()
    trainers = []
    for i, b in enumerate(betas):
        cfg = TrainConfig(latent_dim=args.latent, hidden_dims=hidden, beta=b, epochs=args.epochs,
                          log_every=args.log_every, seed=0)

        def cb(_report, i=i) -> None:  # the Trainer passes each report; only its time matters here
            first.setdefault(i, time.perf_counter() - t0)

        trainers.append(Trainer(data.images, cfg, data.labels, callback=cb))
    t_build = time.perf_counter() - t0
    while not all(tr.done for tr in trainers):  # the Job's lockstep loop
        for tr in trainers:
            tr.step()
    wall = time.perf_counter() - t0
    model_epochs = len(betas) * args.epochs
    print(f"architecture: 784-{'-'.join(map(str, hidden))}-{args.latent} (decoder mirrors), batch 128, "
          f"log_every {args.log_every}, torch threads {torch.get_num_threads()}")
    print(f"{len(betas)} models (β = {', '.join(f'{b:g}' for b in betas)}) x {args.epochs} epoch(s) on "
          f"{len(data):,} images in lockstep: {wall:.2f} s wall (model build {t_build:.2f} s)")
    print(f"seconds per model-epoch: {wall / model_epochs:.2f}")
    print(f"time to first report: first model {min(first.values()):.2f} s, all models {max(first.values()):.2f} s")
    for b, tr in zip(betas, trainers, strict=True):
        last = tr.result.epoch_reports[-1]
        print(f"  β={b:<5g} train recon {last.recon:7.2f}  KL {last.kl:6.2f} nats/image  "
              f"({tr.result.samples_per_s:,.0f} img/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
