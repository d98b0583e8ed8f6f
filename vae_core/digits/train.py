"""Training: one in-memory loop shared by the CLI, the notebook and the app.

The whole dataset lives in one float tensor; each epoch draws a seeded random
permutation and slices index batches from it (no DataLoader, no per-sample
ToTensor).  Two interchangeable ways to compute a step, side by side as nanoGPT
keeps flash and manual attention:

* the **plain path** (``TrainConfig(fast=False)``, and any model the fast path does
  not handle): ``model(x)`` + :func:`vae_core.objectives.vae_loss` + ``backward()``;
* the **fast path** (default for ReLU MLP VAEs/CVAEs): :class:`vae_core.digits.fast_step.ReluMLPStep`,
  the same computation written out by hand without an autograd graph.  It implements the Bernoulli
  likelihood only; ``likelihood="continuous_bernoulli"`` always takes the plain path.

``likelihood`` picks p(x|z) (:mod:`vae_core.likelihoods`); ``binarization="dynamic"`` replaces every
training batch by a fresh draw x ~ Bernoulli(grey) from the trainer's own ``"binarize"`` generator
(binarised MNIST, as in Burda et al. 2016).

Both draw the reparameterisation noise from the trainer's own ``torch.Generator``
(seeded from the config), so the same config gives the same model whether it is
trained alone or interleaved with others (the β/KL Lab steps several in lockstep).
A trainer changes no process-wide state for longer than a step: the global RNG is
untouched (the initial weights come from a forked RNG), the thread count asked for
in the config is set for each step and restored after it (:mod:`vae_core.runtime`), and
grad mode is set locally.  Adam runs its fused CPU kernel, and Adam's moments are kept out of the
float32 subnormal range (see ``TINY``).  ``bench/train_throughput.py`` measures the
loop against the seed's DataLoader loop and the two paths against each other.

The command line is in :mod:`vae_core.digits.cli`; ``python -m vae_core train …`` runs it.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from ..likelihoods import LIKELIHOODS
from ..objectives import KLSchedule, vae_loss
from ..runtime import stream_seed, torch_threads
from .data import binarize_dynamic
from .fast_step import ReluMLPStep
from .model import VAE, build_model, check_logit_range

__all__ = ["Report", "TrainConfig", "TrainResult", "Trainer", "train"]

SNAPSHOT_EVERY = 100  # steps between copies of the last weights known to give a finite loss
# Adam's moments of weights whose gradient is exactly 0 (the columns of MNIST's always-black border pixels,
# dead ReLU units) decay geometrically into the float32 subnormal range after ~700 steps, and arithmetic on
# subnormals is far slower on x86 (the optimizer step alone then outweighed the rest of the step).  Every
# TINY_EVERY steps moments below TINY are set to 0, as flush-to-zero hardware mode would, but without changing
# the process's FP mode.  A moment below 1e-30 moves a weight by < lr * 1e-30 / eps = 1e-25: no effect.
TINY, TINY_EVERY = 1e-30, 100


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
    num_threads: int = 0  # torch threads during each step (0 = leave torch's setting alone)
    fast: bool = True  # the hand-written ReLU step where it applies; False = always model(x) + vae_loss + backward
    likelihood: str = "bernoulli"  # p(x|z): "bernoulli" | "continuous_bernoulli" (the latter: plain path only)
    binarization: str = "none"  # "none" (grey pixels) | "dynamic" (fresh x ~ Bernoulli(grey) every batch)
    logit_range: tuple[float, float] | None = None  # decoder logits mapped onto (lo, hi) (models.LogitRange)

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
        if self.likelihood not in LIKELIHOODS:
            errors.append(f"likelihood must be one of {', '.join(LIKELIHOODS)}")
        if self.binarization not in ("none", "dynamic"):
            errors.append("binarization must be 'none' or 'dynamic'")
        if self.logit_range is not None:
            try:
                self.logit_range = check_logit_range(self.logit_range)
            except ValueError as exc:
                errors.append(str(exc))
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
            **({} if self.logit_range is None else {"logit_range": list(self.logit_range)}),
        }

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["hidden_dims"] = list(self.hidden_dims)
        d["logit_range"] = None if self.logit_range is None else list(self.logit_range)
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
        if images.shape[0] == 0 or images.numel() == 0:  # checked first: reshape(0, -1) raises its own error
            raise ValueError("no training images")
        images = images.reshape(images.shape[0], -1).to(torch.float32).contiguous()
        self.n = images.shape[0]
        if config.conditional and labels is None:
            raise ValueError("a conditional model needs labels")
        self.images, self.config, self.callback = images, config, callback
        if model is None:
            with torch.random.fork_rng(devices=[]):  # seeded initial weights, global RNG left as it was
                torch.manual_seed(config.seed)
                model = build_model(config.model_config(images.shape[1]))
        self.model = model
        self.cond = self.model.conditional
        self.labels = labels.to(torch.long).contiguous() if self.cond else None
        self.model.train()
        try:
            self.opt = torch.optim.Adam(self.model.parameters(), lr=config.lr, fused=True)
        except (RuntimeError, TypeError):  # platforms without the fused kernel
            self.opt = torch.optim.Adam(self.model.parameters(), lr=config.lr)
        # the hand-written step for ReLU VAEs/CVAEs (the default); everything else takes the plain path
        # (Bernoulli only: a continuous-Bernoulli model trains through autograd)
        self.fast = (ReluMLPStep(self.model) if config.fast and config.likelihood == "bernoulli"
                     and ReluMLPStep.supports(self.model) else None)
        self.bs = min(config.batch_size, self.n)
        self.steps_per_epoch = math.ceil(self.n / self.bs)
        self.total_steps = self.steps_per_epoch * config.epochs
        self.sched = None
        if config.lr_schedule == "cosine":
            self.sched = torch.optim.lr_scheduler.CosineAnnealingLR(
                self.opt, T_max=self.total_steps, eta_min=config.lr * 0.05)
        self.g = torch.Generator().manual_seed(config.seed)  # data order
        self.noise = torch.Generator().manual_seed(stream_seed(config.seed, "noise"))  # eps of z = mu + sigma eps
        self.binarize_g = torch.Generator().manual_seed(stream_seed(config.seed, "binarize"))  # dynamic binarisation
        self.schedule = config.schedule
        self.result = TrainResult(model=self.model)
        self.params = list(self.model.parameters())
        self.good = [p.detach().clone() for p in self.params]  # last weights known to give a finite loss
        self.good_step = 0
        self.t_wall = time.perf_counter()
        self.t_steps = 0.0
        self.samples = 0
        self.step_no = 0
        self.epoch = 1
        self.batch = 0
        self.perm = torch.randperm(self.n, generator=self.g)
        # [loss, recon, kl, kl_per_dim...] summed over steps: since the last flush (updated every step),
        # since the last step report and since the epoch began (both updated only when flushed)
        width = 3 + self.model.latent_dim
        self.acc, self.acc_n = torch.zeros(width), 0
        self.rep_acc, self.rep_n = torch.zeros(width), 0
        self.ep_acc, self.ep_n = torch.zeros(width), 0
        self.done = False

    def _snapshot(self) -> None:
        with torch.no_grad():
            for q, p in zip(self.good, self.params, strict=True):
                q.copy_(p)
        self.good_step = self.step_no

    @torch.no_grad()
    def _flush_subnormal_moments(self) -> None:
        for st in self.opt.state.values():
            for key in ("exp_avg", "exp_avg_sq"):
                t = st.get(key)
                if t is not None:
                    t.masked_fill_(t.abs() < TINY, 0.0)

    def _restore(self) -> None:
        with torch.no_grad():
            for p, q in zip(self.params, self.good, strict=True):
                p.copy_(q)

    def _flush(self) -> None:
        if self.acc_n:
            self.rep_acc += self.acc
            self.ep_acc += self.acc
            self.rep_n += self.acc_n
            self.ep_n += self.acc_n
            self.acc.zero_()
            self.acc_n = 0

    def _emit(self, kind: str, acc: torch.Tensor, count: int, w: float) -> None:
        a = (acc / max(count, 1)).tolist()
        r = Report(kind, self.step_no, self.epoch, self.config.epochs, self.step_no / self.total_steps,
                   a[0], a[1], a[2], a[3:], w,
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
        with torch_threads(self.config.num_threads):
            return self._step()

    def _forward(self, xb: torch.Tensor, yb: torch.Tensor | None, w: float):
        """``(stats, loss)``: stats ``[loss, recon, kl, kl_per_dim...]`` (detached); ``loss`` is the tensor to
        differentiate on the plain path, None on the fast path."""
        if self.fast is not None:
            return self.fast.forward(xb, yb, w, self.config.free_bits, self.noise), None
        with torch.enable_grad():
            out = self.model(xb, yb, generator=self.noise)
            terms = vae_loss(out.logits, xb, out.mu, out.logvar, w, self.config.free_bits, self.config.likelihood)
        stats = torch.cat([torch.stack([terms.loss, terms.recon, terms.kl]), terms.kl_per_dim]).detach()
        return stats, terms.loss

    def _backward(self, loss: torch.Tensor | None) -> None:
        if self.fast is not None:
            self.fast.backward()  # overwrites every .grad
        else:
            self.opt.zero_grad(set_to_none=True)
            loss.backward()

    def _step(self) -> bool:
        cfg = self.config
        t0 = time.perf_counter()
        idx = self.perm[self.batch * self.bs:(self.batch + 1) * self.bs]
        xb = self.images.index_select(0, idx)
        if cfg.binarization == "dynamic":
            xb = binarize_dynamic(xb, self.binarize_g)
        w = self.schedule.weight(self.step_no)
        yb = self.labels.index_select(0, idx) if self.cond else None
        stats, loss = self._forward(xb, yb, w)
        loss_value = stats[0].item()
        if not math.isfinite(loss_value):
            self._restore()
            self.result.diverged = True
            self.result.message = (
                f"training diverged at step {self.step_no} (epoch {self.epoch}): the loss became {loss_value}. "
                f"The weights were restored to those of step {self.good_step}, the last saved weights that gave "
                f"a finite loss. Try a smaller learning rate (now {cfg.lr:g}).")
            self._end_epoch(partial=True)
            self._finish()
            return False
        if self.step_no - self.good_step >= SNAPSHOT_EVERY:
            self._snapshot()  # these weights just gave a finite loss
        self._backward(loss)
        self.opt.step()
        if self.sched is not None:
            self.sched.step()
        if self.step_no % TINY_EVERY == TINY_EVERY - 1:
            self._flush_subnormal_moments()
        self.t_steps += time.perf_counter() - t0
        self.samples += xb.shape[0]
        self.step_no += 1
        self.acc += stats
        self.acc_n += 1
        if cfg.log_every and self.step_no % cfg.log_every == 0:
            self._flush()
            self._emit("step", self.rep_acc, self.rep_n, w)
            self.rep_acc.zero_()
            self.rep_n = 0
        self.batch += 1
        if self.batch >= self.steps_per_epoch:
            self._end_epoch()
            if self.epoch > cfg.epochs:
                self._finish()
                return False
        return True

    def _end_epoch(self, partial: bool = False) -> None:
        self._flush()
        if self.ep_n:
            self._emit("epoch", self.ep_acc, self.ep_n, self.schedule.weight(max(self.step_no - 1, 0)))
        if not partial:
            self.result.epochs_done = self.epoch
            self.epoch += 1
            self.batch = 0
            self.perm = torch.randperm(self.n, generator=self.g)
        self.ep_acc.zero_()
        self.ep_n = 0

    def _finish(self) -> None:
        # parameters may have become non-finite on the very last update
        if not all(bool(torch.isfinite(p).all()) for p in self.params):
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
