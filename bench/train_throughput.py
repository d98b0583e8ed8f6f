"""Training throughput: the seed's DataLoader loop vs ``vae_core.digits.train.Trainer``.

Both train the seed's 784-400-20 VAE on MNIST with batch size 128, Adam lr 1e-3,
the same torch thread count and the same number of samples per measurement.
The two loops are measured alternately (``--repeats`` rounds, each after a
short warm-up) and the median samples/s of each is reported with the ratio.

The seed's loop is reproduced faithfully: ``datasets.MNIST(..., transform=
transforms.ToTensor())`` read through ``DataLoader(batch_size=128, shuffle=True)``,
sigmoid outputs with ``F.binary_cross_entropy(reduction='sum')`` plus the KL,
and ``total_loss += loss.item()`` every step.  Ours gets the same images as one
in-memory float tensor.

Each round runs the loops back to back in alternating order, so a neighbour's load
hits both alike; the ratio reported is the median over rounds of the per-round ratio
(with the medians and the best round of each loop).  ``--plain`` also times
``TrainConfig(fast=False)`` (``model(x)`` + ``vae_loss`` + ``backward()``) and prints
the fast path's speed-up over it.  ``--worker`` also trains the same model as a background job on the training
engine (``vae_core.jobs``: a Dask worker process at lower priority that loads the data itself, as the app's
trainings run) and prints its throughput against the same Trainer in this process (where the app's trainings
ran before the engine), one epoch each, alternating.  Run from the repository root:

    VAE_DATA_DIR=/work/shared/datasets .venv/bin/python -m bench.train_throughput [--steps 200] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

from vae_core.digits.data import load_dataset
from vae_core.digits.train import TrainConfig, Trainer

BATCH = 128


# ------------------------------------------------------------- the seed's loop
class SeedVAE(nn.Module):
    def __init__(self, input_dim=784, hidden_dim=400, latent_dim=20):
        super().__init__()
        self.fc1 = nn.Linear(input_dim, hidden_dim)
        self.fc_mu = nn.Linear(hidden_dim, latent_dim)
        self.fc_logvar = nn.Linear(hidden_dim, latent_dim)
        self.fc3 = nn.Linear(latent_dim, hidden_dim)
        self.fc4 = nn.Linear(hidden_dim, input_dim)

    def encode(self, x):
        h = F.relu(self.fc1(x))
        return self.fc_mu(h), self.fc_logvar(h)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def seed_loss(x_recon, x, mu, logvar):
    bce = F.binary_cross_entropy(x_recon, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


class SeedRunner:
    def __init__(self, root: str):
        from torch.utils.data import DataLoader
        from torchvision import datasets, transforms

        ds = datasets.MNIST(root, train=True, download=False, transform=transforms.ToTensor())
        self.loader = DataLoader(ds, batch_size=BATCH, shuffle=True)
        self.it = iter(self.loader)
        torch.manual_seed(0)
        self.model = SeedVAE()
        self.model.train()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.total_loss = 0.0

    def _batch(self):
        try:
            return next(self.it)
        except StopIteration:  # a new epoch: the seed's `for data, _ in train_loader` restarts
            self.it = iter(self.loader)
            return next(self.it)

    def run(self, steps: int) -> int:
        n = 0
        for _ in range(steps):
            data, _ = self._batch()
            self.opt.zero_grad()
            x_recon, mu, logvar = self.model(data)
            loss = seed_loss(x_recon, data, mu, logvar)
            loss.backward()
            self.total_loss += loss.item()
            self.opt.step()
            n += data.shape[0]
        return n


# ------------------------------------------------------------------ ours
class OursRunner:
    def __init__(self, images: torch.Tensor, fast: bool = True):
        cfg = TrainConfig(latent_dim=20, hidden_dims=(400,), batch_size=BATCH, epochs=1000, seed=0, fast=fast)
        self.trainer = Trainer(images, cfg)

    def run(self, steps: int) -> int:
        t = self.trainer
        before = t.samples
        for _ in range(steps):
            t.step()
        return t.samples - before


def measure(runner, steps: int) -> float:
    t0 = time.perf_counter()
    n = runner.run(steps)
    return n / (time.perf_counter() - t0)


def worker_rounds(images: torch.Tensor, repeats: int, threads: int) -> None:
    """One epoch of the 784-400-20 model per round, in this process and as a job on the engine, alternating.
    ``threads`` (0: each side's default, as the app runs: torch's default here, the engine's per worker there)."""
    from vae_core.jobs import DataSpec, JobManager

    cfg = TrainConfig(latent_dim=20, hidden_dims=(400,), batch_size=BATCH, epochs=1, seed=0, num_threads=threads,
                      log_every=1000)
    mgr = JobManager(max_running=1, namespace=f"bench-throughput-{time.time_ns()}")
    mgr.client.wait_for_workers(1, timeout=120)
    time.sleep(5)  # the workers' torch warm-up (vae_core.jobs.dask_setup) is not this bench's business
    here, there = [], []
    for r in range(-1, repeats):  # round 0 (printed as "warm-up") is not counted
        for where in (("here", "engine") if r % 2 == 0 else ("engine", "here")):
            if where == "here":
                t = Trainer(images, cfg)
                while not t.done:
                    t.step()
                here.append(t.result.samples_per_s)
            else:
                job = mgr.submit("throughput", [("m", cfg)], data=DataSpec("mnist", test=False))
                job.wait(600)
                assert job.status == "done", job.message
                there.append(job.members[0].result.samples_per_s)
        print(f"round {r + 1 if r >= 0 else 'warm-up'}: in this process {here[-1]:,.0f}, job on the engine "
              f"{there[-1]:,.0f} samples/s")
        if r < 0:
            here.clear()
            there.clear()
    ratios = [b / a for a, b in zip(here, there, strict=True)]
    print(f"job on the engine / in-process: {statistics.median(ratios):.2f}x (median of per-round ratios; "
          f"range {min(ratios):.2f}-{max(ratios):.2f}x); medians {statistics.median(there):,.0f} vs "
          f"{statistics.median(here):,.0f} samples/s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", default=os.environ.get("VAE_DATA_DIR"), help="folder holding MNIST/raw/")
    ap.add_argument("--steps", type=int, default=200, help="optimisation steps per measurement")
    ap.add_argument("--warmup", type=int, default=20, help="untimed steps before each measurement")
    ap.add_argument("--repeats", type=int, default=5, help="alternating rounds")
    ap.add_argument("--threads", type=int, default=0, help="torch threads for every loop (0 = torch default)")
    ap.add_argument("--plain", action="store_true", help="also time TrainConfig(fast=False), the autograd path")
    ap.add_argument("--worker", action="store_true",
                    help="only compare one epoch in this process with one epoch as a job on the training engine")
    ap.add_argument("--flush-denormal", action="store_true",
                    help="torch.set_flush_denormal(True) for every loop (the seed's Adam also slows down once its "
                         "moments turn subnormal, after ~700 steps)")
    args = ap.parse_args(argv)
    if args.flush_denormal:
        torch.set_flush_denormal(True)  # before any parallel op, so that the worker threads inherit it
    if not args.data_dir:
        ap.error("give --data-dir or set VAE_DATA_DIR to a folder holding MNIST/raw/")
    if args.threads:
        torch.set_num_threads(args.threads)

    data = load_dataset("mnist", "train", root=args.data_dir, download=False, allow_sample=False)
    if args.worker:
        worker_rounds(data.images, args.repeats, args.threads)
        return 0
    runners = {"seed": SeedRunner(args.data_dir), "ours": OursRunner(data.images)}
    if args.plain:
        runners["ours-plain"] = OursRunner(data.images, fast=False)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}, flush denormal {args.flush_denormal}; "
          f"model 784-400-20, batch {BATCH}, Adam 1e-3; "
          f"{args.steps} steps ({args.steps * BATCH:,} samples) per measurement, {args.repeats} rounds")
    rates: dict[str, list[float]] = {k: [] for k in runners}
    names = list(runners)
    for r in range(args.repeats):
        for name in (names if r % 2 == 0 else names[::-1]):
            runners[name].run(args.warmup)
            rates[name].append(measure(runners[name], args.steps))
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:,.0f}" for k, v in rates.items()) + " samples/s")
    ratios = [o / s for o, s in zip(rates["ours"], rates["seed"], strict=True)]
    for k, v in rates.items():
        label = {"seed": "seed DataLoader loop", "ours": "vae_core Trainer"}.get(k, "Trainer, fast=False")
        print(f"{label:22s} {statistics.median(v):>8,.0f} samples/s median, {max(v):>8,.0f} best round")
    print(f"ratio ours/seed: {statistics.median(ratios):.2f}x (median of per-round ratios; "
          f"range {min(ratios):.2f}-{max(ratios):.2f}x); best/best {max(rates['ours']) / max(rates['seed']):.2f}x")
    if args.plain:
        ag = [o / a for o, a in zip(rates["ours"], rates["ours-plain"], strict=True)]
        print(f"fast path / plain path: {statistics.median(ag):.2f}x (median of per-round ratios; "
              f"range {min(ag):.2f}-{max(ag):.2f}x)")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
