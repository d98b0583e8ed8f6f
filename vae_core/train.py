"""Training: one fast in-memory loop shared by the CLI, the notebook and the app.

The whole dataset lives in one float tensor; each epoch draws a seeded random
permutation and slices index batches from it (no DataLoader, no per-sample
ToTensor).  The loss works on decoder logits (stable, fused BCE) and Adam runs
its fused CPU kernel; together that is ~4-5x the seed's DataLoader loop
(see ``bench/train_throughput.py``).

Usage::

    python -m vae_core.train --latent-dim 2 --epochs 30 --out checkpoints/my-model
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import torch

from .models import VAE, build_model
from .objectives import KLSchedule, vae_loss


@dataclass
class TrainConfig:
    latent_dim: int = 2
    hidden_dims: tuple[int, ...] = (512, 256)
    activation: str = "relu"
    conditional: bool = False
    beta: float = 1.0
    kl_schedule: str = "constant"  # constant | linear | cyclical
    warmup_steps: int = 0  # linear: steps to reach beta; cyclical: steps per cycle
    free_bits: float = 0.0  # nats per latent dimension (0 = off)
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    lr_schedule: str = "constant"  # constant | cosine
    seed: int = 0
    log_every: int = 50  # steps between step reports
    num_threads: int = 0  # 0 = leave torch's setting alone

    def __post_init__(self) -> None:
        self.hidden_dims = tuple(int(h) for h in self.hidden_dims)
        errors = []
        if self.latent_dim < 1:
            errors.append("latent_dim must be >= 1")
        if not self.hidden_dims or min(self.hidden_dims) < 1:
            errors.append("hidden_dims must be positive sizes")
        if not (math.isfinite(self.beta) and self.beta >= 0):
            errors.append("beta must be a finite number >= 0")
        if self.epochs < 1:
            errors.append("epochs must be >= 1")
        if self.batch_size < 1:
            errors.append("batch_size must be >= 1")
        if not (math.isfinite(self.lr) and self.lr > 0):
            errors.append("lr must be a finite number > 0")
        if self.free_bits < 0:
            errors.append("free_bits must be >= 0")
        if self.lr_schedule not in ("constant", "cosine"):
            errors.append("lr_schedule must be 'constant' or 'cosine'")
        if errors:
            raise ValueError("; ".join(errors))
        self.schedule  # validates kl_schedule

    @property
    def schedule(self) -> KLSchedule:
        return KLSchedule(self.kl_schedule, self.beta, self.warmup_steps)

    def model_config(self, input_dim: int = 784, num_classes: int = 10) -> dict:
        return {
            "kind": "cvae" if self.conditional else "vae",
            "latent_dim": self.latent_dim,
            "hidden_dims": list(self.hidden_dims),
            "input_dim": input_dim,
            "activation": self.activation,
            "num_classes": num_classes if self.conditional else 0,
        }

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["hidden_dims"] = list(self.hidden_dims)
        return d


@dataclass
class Report:
    """What the callback receives, every ``log_every`` steps and at each epoch's end."""

    kind: str  # "step" | "epoch"
    step: int
    epoch: int  # 1-based epoch the report belongs to
    epochs: int
    progress: float  # fraction of all steps done, 0..1
    loss: float  # mean objective since the last report (nats / image)
    recon: float  # mean -log p(x|z) since the last report
    kl: float  # mean KL(q||p) since the last report (without free bits)
    kl_per_dim: list[float]
    kl_weight: float  # the current beta after annealing
    samples_per_s: float  # training throughput since the start (steps only)
    elapsed_s: float


@dataclass
class TrainResult:
    model: VAE
    history: list[Report] = field(default_factory=list)
    epochs_done: int = 0
    steps: int = 0
    stopped: bool = False  # cooperative stop honoured
    diverged: bool = False  # NaN/Inf guard fired
    message: str = ""
    samples_per_s: float = 0.0
    train_seconds: float = 0.0  # time spent in optimisation steps only
    wall_seconds: float = 0.0

    @property
    def epoch_reports(self) -> list[Report]:
        return [r for r in self.history if r.kind == "epoch"]


class TrainingDiverged(RuntimeError):
    pass


def _should_stop(stop) -> bool:
    if stop is None:
        return False
    if hasattr(stop, "is_set"):
        return bool(stop.is_set())
    return bool(stop())


def train(
    images: torch.Tensor,
    config: TrainConfig,
    labels: torch.Tensor | None = None,
    model: VAE | None = None,
    callback: Callable[[Report], object] | None = None,
    stop=None,
) -> TrainResult:
    """Train ``model`` (or a new one built from ``config``) on ``images`` (N, 784) in [0, 1].

    ``callback(report)`` is called every ``config.log_every`` steps and at each
    epoch's end.  ``stop`` is a ``threading.Event`` or a callable; when it
    becomes true the loop ends after the current step.  A non-finite loss stops
    training, restores the last weights that gave a finite loss, and sets
    ``diverged`` with a message; it never raises for that.
    """
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    images = images.reshape(images.shape[0], -1).to(torch.float32).contiguous()
    n = images.shape[0]
    if n == 0:
        raise ValueError("no training images")
    if config.conditional and labels is None:
        raise ValueError("a conditional model needs labels")
    torch.manual_seed(config.seed)
    if model is None:
        model = build_model(config.model_config(images.shape[1]))
    cond = model.conditional
    if cond:
        labels = labels.to(torch.long).contiguous()
    model.train()
    try:
        opt = torch.optim.Adam(model.parameters(), lr=config.lr, fused=True)
    except (RuntimeError, TypeError):  # platforms without the fused kernel
        opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    bs = min(config.batch_size, n)
    steps_per_epoch = math.ceil(n / bs)
    total_steps = steps_per_epoch * config.epochs
    sched = None
    if config.lr_schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps, eta_min=config.lr * 0.05)
    g = torch.Generator().manual_seed(config.seed)
    schedule = config.schedule
    result = TrainResult(model=model)

    def snapshot():
        return [p.detach().clone() for p in model.parameters()]

    good = snapshot()
    t_wall = time.perf_counter()
    t_steps = 0.0
    samples = 0
    step = 0
    acc = torch.zeros(3)
    acc_kl = torch.zeros(model.latent_dim)
    acc_n = 0
    ep_acc = torch.zeros(3)
    ep_kl = torch.zeros(model.latent_dim)
    ep_n = 0

    def emit(kind, epoch, a, akl, count, w):
        a = (a / max(count, 1)).tolist()
        r = Report(kind, step, epoch, config.epochs, step / total_steps, a[0], a[1], a[2],
                   (akl / max(count, 1)).tolist(), w, samples / t_steps if t_steps else 0.0,
                   time.perf_counter() - t_wall)
        result.history.append(r)
        if callback is not None:
            callback(r)

    for epoch in range(1, config.epochs + 1):
        perm = torch.randperm(n, generator=g)
        for b in range(steps_per_epoch):
            if _should_stop(stop):
                result.stopped = True
                result.message = f"stopped by request after {step} steps (epoch {epoch})"
                break
            t0 = time.perf_counter()
            idx = perm[b * bs:(b + 1) * bs]
            xb = images.index_select(0, idx)
            w = schedule.weight(step)
            if cond:
                yb = labels.index_select(0, idx)
                out = model(xb, yb)
            else:
                out = model(xb)
            terms = vae_loss(out.logits, xb, out.mu, out.logvar, w, config.free_bits)
            loss = terms.loss
            if not bool(torch.isfinite(loss)):
                with torch.no_grad():
                    for p, q in zip(model.parameters(), good):
                        p.copy_(q)
                result.diverged = True
                result.message = (
                    f"training diverged at step {step} (epoch {epoch}): the loss became "
                    f"{float(loss)}. The weights were restored to the last step with a finite loss. "
                    f"Try a smaller learning rate (now {config.lr:g})."
                )
                break
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            t_steps += time.perf_counter() - t0
            samples += xb.shape[0]
            step += 1
            with torch.no_grad():
                vals = torch.stack([loss.detach(), terms.recon.detach(), terms.kl.detach()])
                acc += vals
                acc_kl += terms.kl_per_dim.detach()
                ep_acc += vals
                ep_kl += terms.kl_per_dim.detach()
            acc_n += 1
            ep_n += 1
            if step % 100 == 0:
                good = snapshot()
            if config.log_every and step % config.log_every == 0:
                emit("step", epoch, acc, acc_kl, acc_n, w)
                acc.zero_()
                acc_kl.zero_()
                acc_n = 0
        if ep_n:
            emit("epoch", epoch, ep_acc, ep_kl, ep_n, schedule.weight(max(step - 1, 0)))
            if not (result.stopped or result.diverged):
                result.epochs_done = epoch
        ep_acc.zero_()
        ep_kl.zero_()
        ep_n = 0
        if result.stopped or result.diverged:
            break
    # params may have become non-finite on the very last update
    if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
        with torch.no_grad():
            for p, q in zip(model.parameters(), good):
                p.copy_(q)
        result.diverged = True
        result.message = result.message or "training diverged on the last step; last good weights restored"
    model.eval()
    result.steps = step
    result.train_seconds = t_steps
    result.wall_seconds = time.perf_counter() - t_wall
    result.samples_per_s = samples / t_steps if t_steps else 0.0
    if not result.message:
        result.message = f"finished {result.epochs_done} epochs ({step} steps)"
    return result


# ---------------------------------------------------------------------- CLI
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
    from tqdm import tqdm

    from .checkpoints import save_checkpoint, training_metadata
    from .data import load_dataset
    from .objectives import evaluate

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


if __name__ == "__main__":
    sys.exit(main())
