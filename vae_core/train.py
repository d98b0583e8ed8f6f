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
from collections.abc import Callable
from dataclasses import dataclass, field

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
        _ = self.schedule  # validates kl_schedule

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


class Trainer:
    """The training loop as an object that advances one optimisation step at a time.

    ``train()`` drives one Trainer to the end; the app's job manager interleaves
    several (the β/KL Lab trains its models in lockstep in one thread).
    """

    def __init__(self, images: torch.Tensor, config: TrainConfig, labels: torch.Tensor | None = None,
                 model: VAE | None = None, callback: Callable[[Report], object] | None = None) -> None:
        if config.num_threads:
            torch.set_num_threads(config.num_threads)
        images = images.reshape(images.shape[0], -1).to(torch.float32).contiguous()
        self.n = images.shape[0]
        if self.n == 0:
            raise ValueError("no training images")
        if config.conditional and labels is None:
            raise ValueError("a conditional model needs labels")
        self.images, self.config, self.callback = images, config, callback
        torch.manual_seed(config.seed)
        self.model = model if model is not None else build_model(config.model_config(images.shape[1]))
        self.cond = self.model.conditional
        self.labels = labels.to(torch.long).contiguous() if self.cond else None
        self.model.train()
        try:
            self.opt = torch.optim.Adam(self.model.parameters(), lr=config.lr, fused=True)
        except (RuntimeError, TypeError):  # platforms without the fused kernel
            self.opt = torch.optim.Adam(self.model.parameters(), lr=config.lr)
        self.bs = min(config.batch_size, self.n)
        self.steps_per_epoch = math.ceil(self.n / self.bs)
        self.total_steps = self.steps_per_epoch * config.epochs
        self.sched = None
        if config.lr_schedule == "cosine":
            self.sched = torch.optim.lr_scheduler.CosineAnnealingLR(
                self.opt, T_max=self.total_steps, eta_min=config.lr * 0.05)
        self.g = torch.Generator().manual_seed(config.seed)
        self.schedule = config.schedule
        self.result = TrainResult(model=self.model)
        self.good = self._snapshot()
        self.t_wall = time.perf_counter()
        self.t_steps = 0.0
        self.samples = 0
        self.step_no = 0
        self.epoch = 1
        self.batch = 0
        self.perm = torch.randperm(self.n, generator=self.g)
        d = self.model.latent_dim
        self.acc, self.acc_kl, self.acc_n = torch.zeros(3), torch.zeros(d), 0
        self.ep_acc, self.ep_kl, self.ep_n = torch.zeros(3), torch.zeros(d), 0
        self.done = False

    def _snapshot(self) -> list[torch.Tensor]:
        return [p.detach().clone() for p in self.model.parameters()]

    def _restore(self) -> None:
        with torch.no_grad():
            for p, q in zip(self.model.parameters(), self.good):
                p.copy_(q)

    def _emit(self, kind: str, a: torch.Tensor, akl: torch.Tensor, count: int, w: float) -> None:
        a = (a / max(count, 1)).tolist()
        r = Report(kind, self.step_no, self.epoch, self.config.epochs, self.step_no / self.total_steps,
                   a[0], a[1], a[2], (akl / max(count, 1)).tolist(), w,
                   self.samples / self.t_steps if self.t_steps else 0.0, time.perf_counter() - self.t_wall)
        self.result.history.append(r)
        if self.callback is not None:
            self.callback(r)

    def stop(self, message: str | None = None) -> None:
        """Cooperative stop: finish now, keeping the weights of the last step."""
        if self.done:
            return
        self.result.stopped = True
        self.result.message = message or f"stopped by request after {self.step_no} steps (epoch {self.epoch})"
        self._end_epoch(partial=True)
        self._finish()

    def step(self) -> bool:
        """Run one optimisation step; returns False once training has ended."""
        if self.done:
            return False
        cfg = self.config
        t0 = time.perf_counter()
        idx = self.perm[self.batch * self.bs:(self.batch + 1) * self.bs]
        xb = self.images.index_select(0, idx)
        w = self.schedule.weight(self.step_no)
        out = self.model(xb, self.labels.index_select(0, idx)) if self.cond else self.model(xb)
        terms = vae_loss(out.logits, xb, out.mu, out.logvar, w, cfg.free_bits)
        loss = terms.loss
        if not bool(torch.isfinite(loss)):
            self._restore()
            self.result.diverged = True
            self.result.message = (
                f"training diverged at step {self.step_no} (epoch {self.epoch}): the loss became {float(loss)}. "
                f"The weights were restored to the last step with a finite loss. "
                f"Try a smaller learning rate (now {cfg.lr:g}).")
            self._end_epoch(partial=True)
            self._finish()
            return False
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        if self.sched is not None:
            self.sched.step()
        self.t_steps += time.perf_counter() - t0
        self.samples += xb.shape[0]
        self.step_no += 1
        with torch.no_grad():
            vals = torch.stack([loss.detach(), terms.recon.detach(), terms.kl.detach()])
            kd = terms.kl_per_dim.detach()
            self.acc += vals
            self.acc_kl += kd
            self.ep_acc += vals
            self.ep_kl += kd
        self.acc_n += 1
        self.ep_n += 1
        if self.step_no % 100 == 0:
            self.good = self._snapshot()
        if cfg.log_every and self.step_no % cfg.log_every == 0:
            self._emit("step", self.acc, self.acc_kl, self.acc_n, w)
            self.acc.zero_()
            self.acc_kl.zero_()
            self.acc_n = 0
        self.batch += 1
        if self.batch >= self.steps_per_epoch:
            self._end_epoch()
            if self.epoch > cfg.epochs:
                self._finish()
                return False
        return True

    def _end_epoch(self, partial: bool = False) -> None:
        if self.ep_n:
            self._emit("epoch", self.ep_acc, self.ep_kl, self.ep_n, self.schedule.weight(max(self.step_no - 1, 0)))
        if not partial:
            self.result.epochs_done = self.epoch
            self.epoch += 1
            self.batch = 0
            self.perm = torch.randperm(self.n, generator=self.g)
        self.ep_acc.zero_()
        self.ep_kl.zero_()
        self.ep_n = 0

    def _finish(self) -> None:
        # parameters may have become non-finite on the very last update
        if not all(bool(torch.isfinite(p).all()) for p in self.model.parameters()):
            self._restore()
            self.result.diverged = True
            self.result.message = self.result.message or "training diverged; last good weights restored"
        self.model.eval()
        r = self.result
        r.steps = self.step_no
        r.train_seconds = self.t_steps
        r.wall_seconds = time.perf_counter() - self.t_wall
        r.samples_per_s = self.samples / self.t_steps if self.t_steps else 0.0
        if not r.message:
            r.message = f"finished {r.epochs_done} epochs ({self.step_no} steps)"
        self.done = True


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
    trainer = Trainer(images, config, labels, model, callback)
    while not trainer.done:
        if _should_stop(stop):
            trainer.stop()
            break
        trainer.step()
    return trainer.result


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
