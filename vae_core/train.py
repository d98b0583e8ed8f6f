"""Training: one fast in-memory loop shared by the CLI, the notebook and the app.

The whole dataset lives in one float tensor; each epoch draws a seeded random
permutation and slices index batches from it (no DataLoader, no per-sample
ToTensor).  The loss works on decoder logits (stable BCE-with-logits); for ReLU
models the forward and backward pass are written out by hand (no autograd graph,
gradients written straight into ``.grad``), other models use one fused autograd
node for the loss; Adam runs its fused CPU kernel, and Adam's moments are kept out
of the float32 subnormal range, which otherwise slows every step ~1.6x after ~700
steps.  On the 2-core CI machine that is ~3.1-3.4x the seed's DataLoader loop for
the seed's 784-400-20 model (``bench/train_throughput.py``).

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
import torch.nn.functional as F

from .models import CVAE, VAE, build_model
from .objectives import KLSchedule

SNAPSHOT_EVERY = 100  # steps between copies of the last weights known to give a finite loss
# Adam's moments of weights whose gradient is exactly 0 (the columns of MNIST's always-black border pixels,
# dead ReLU units) decay geometrically into the float32 subnormal range after ~700 steps, and arithmetic on
# subnormals is ~100x slower on x86: the optimizer step alone then took longer than the rest of the step
# (throughput fell from ~33k to ~20k samples/s mid-epoch).  Every TINY_EVERY steps moments below TINY are
# set to 0, as flush-to-zero hardware mode would, but without changing the process's FP mode.  A moment
# below 1e-30 moves a weight by < lr * 1e-30 / eps = 1e-25: no effect on training.
TINY, TINY_EVERY = 1e-30, 100


class _NegELBO(torch.autograd.Function):
    """The training objective of :func:`vae_core.objectives.vae_loss` as one autograd node.

    Forward: ``recon + beta * penalty`` with the same BCE-with-logits kernel and closed-form KL
    (``penalty`` is the KL, or the free-bits sum of ``max(lambda, KL_j)``).  Backward writes the
    analytic gradients directly, d/dlogits = (sigmoid(logits) - x) / N, d/dmu = c mu,
    d/dlogvar = c (exp(logvar) - 1) / 2 with c = beta / N (times the free-bits mask), instead of
    replaying ~25 small autograd nodes and a broadcast of the scalar gradient over the image.
    Also returns the batch statistics ``[loss, recon, kl, kl_per_dim...]`` (no gradient), so the
    trainer reads everything it reports with one tensor.
    """

    @staticmethod
    def forward(ctx, logits, x, mu, logvar, beta: float, free_bits: float):
        n = x.shape[0]
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum").div_(n)
        var = logvar.exp()
        kl_per_dim = (mu * mu).add_(var).sub_(logvar).sub_(1.0).mean(0).mul_(0.5)
        kl = kl_per_dim.sum()
        mask = None
        if free_bits > 0:
            mask = kl_per_dim >= free_bits  # torch.clamp's gradient passes where input >= min
            penalty = kl_per_dim.clamp(min=free_bits).sum()
        else:
            penalty = kl
        loss = recon + beta * penalty
        stats = torch.cat([torch.stack([loss, recon, kl]), kl_per_dim])
        ctx.save_for_backward(logits, x, mu, var, mask)
        ctx.beta = beta
        ctx.mark_non_differentiable(stats)
        return loss, stats

    @staticmethod
    def backward(ctx, grad_loss, _grad_stats):
        logits, x, mu, var, mask = ctx.saved_tensors
        scale = grad_loss / x.shape[0]
        g_logits = torch.sigmoid(logits).sub_(x).mul_(scale)
        c = scale * ctx.beta
        if mask is not None:
            c = c * mask
        g_mu = mu * c
        g_logvar = (var - 1.0).mul_(0.5 * c)
        return g_logits, None, g_mu, g_logvar, None, None


def neg_elbo_with_stats(logits, x, mu, logvar, beta: float = 1.0,
                        free_bits: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Fused training loss: ``(loss, stats)`` with ``loss`` equal to ``vae_loss(...).loss`` (same value and
    gradients) and ``stats = [loss, recon, kl, kl_per_dim...]`` detached."""
    return _NegELBO.apply(logits, x, mu, logvar, float(beta), float(free_bits))


_threshold_backward = torch.ops.aten.threshold_backward


class _ReluMLPStep:
    """Forward and backward of the negative β-ELBO for a ReLU :class:`VAE`/:class:`CVAE`, written out by hand.

    Same computation as ``model(x)`` + :func:`neg_elbo_with_stats` + ``loss.backward()`` (the same ops, the same
    draw of eps from torch's global generator), but without building an autograd graph: one ``addmm`` for
    ``fc_mu`` and ``fc_logvar`` together, ReLU backward from the saved outputs, and every gradient written
    straight into the parameters' ``.grad`` tensors (no zeroing, no accumulation).  At batch 128 the graph's
    bookkeeping costs about as much as the small layers; this path is ~8 % faster than autograd on 2 cores
    (``bench/train_throughput.py --autograd``).  :meth:`supports` says which models it handles; the others
    train through autograd with :class:`_NegELBO`.
    """

    def __init__(self, model: VAE) -> None:
        self.model = model
        enc = [m for m in model.encoder if isinstance(m, torch.nn.Linear)]
        dec = [m for m in model.decoder if isinstance(m, torch.nn.Linear)]
        self.enc = [(m.weight, m.bias) for m in enc]
        self.dec = [(m.weight, m.bias) for m in dec]
        self.mu_lv = (model.fc_mu.weight, model.fc_mu.bias, model.fc_logvar.weight, model.fc_logvar.bias)
        self.out = (model.fc_out.weight, model.fc_out.bias)
        self.params = list(model.parameters())
        self.d = model.latent_dim
        self.cond = model.conditional
        self.saved: tuple | None = None

    @staticmethod
    def supports(model: VAE) -> bool:
        if type(model) not in (VAE, CVAE) or model.activation != "relu":
            return False
        for seq in (model.encoder, model.decoder):
            kinds = [type(m) for m in seq]
            if kinds != [torch.nn.Linear, torch.nn.ReLU] * (len(kinds) // 2):
                return False
        return all(p.dtype == torch.float32 and p.requires_grad and not p.is_sparse for p in model.parameters())

    @torch.no_grad()
    def forward(self, x: torch.Tensor, y: torch.Tensor | None, beta: float, free_bits: float) -> torch.Tensor:
        """Loss statistics ``[loss, recon, kl, kl_per_dim...]``; keeps what :meth:`backward` needs."""
        n, d = x.shape[0], self.d
        onehot = F.one_hot(y, self.model.num_classes).to(x.dtype) if self.cond else None
        h = torch.cat([x, onehot], 1) if self.cond else x
        enc_h = [h]
        for w, b in self.enc:
            h = torch.addmm(b, h, w.t()).relu_()
            enc_h.append(h)
        wmu, bmu, wlv, blv = self.mu_lv
        w_ml = torch.cat([wmu, wlv])
        ml = torch.addmm(torch.cat([bmu, blv]), h, w_ml.t())
        mu, logvar = ml[:, :d], ml[:, d:]
        std = torch.exp(0.5 * logvar)
        eps = torch.randn(std.shape, dtype=std.dtype, device=std.device)  # as VAE.reparameterize
        z = mu + eps * std
        h = torch.cat([z, onehot], 1) if self.cond else z
        dec_h = [h]
        for w, b in self.dec:
            h = torch.addmm(b, h, w.t()).relu_()
            dec_h.append(h)
        logits = torch.addmm(self.out[1], h, self.out[0].t())
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum").div_(n)
        var = logvar.exp()
        kl_per_dim = (mu * mu).add_(var).sub_(logvar).sub_(1.0).mean(0).mul_(0.5)
        kl = kl_per_dim.sum()
        if free_bits > 0:
            penalty = kl_per_dim.clamp(min=free_bits).sum()
            c = (kl_per_dim >= free_bits).to(x.dtype).mul_(beta / n)  # torch.clamp's gradient mask
        else:
            penalty = kl
            c = torch.full((d,), beta / n, dtype=x.dtype)  # d KL-term / d KL_j for each dimension j
        loss = recon + beta * penalty
        self.saved = (x, enc_h, w_ml, mu, std, eps, var, c, dec_h, logits)
        return torch.cat([torch.stack([loss, recon, kl]), kl_per_dim])

    @torch.no_grad()
    def backward(self) -> None:
        """Write d loss / d parameter into every parameter's ``.grad``."""
        x, enc_h, w_ml, mu, std, eps, var, c, dec_h, logits = self.saved
        self.saved = None
        for p in self.params:
            if p.grad is None or p.grad.shape != p.shape:
                p.grad = torch.empty_like(p)
        n, d = x.shape[0], self.d
        g = torch.sigmoid(logits).sub_(x).div_(n)  # d loss / d logits
        w_out, b_out = self.out
        torch.mm(g.t(), dec_h[-1], out=w_out.grad)
        torch.sum(g, 0, out=b_out.grad)
        g = g.mm(w_out)
        for i in range(len(self.dec) - 1, -1, -1):
            w, b = self.dec[i]
            g = _threshold_backward(g, dec_h[i + 1], 0)
            torch.mm(g.t(), dec_h[i], out=w.grad)
            torch.sum(g, 0, out=b.grad)
            g = g.mm(w[:, :d]) if i == 0 else g.mm(w)
        # g = d recon / dz;  z = mu + eps * exp(logvar / 2);  KL' = c mu, c (var - 1) / 2
        g_ml = torch.empty(n, 2 * d, dtype=g.dtype)
        torch.addcmul(g, mu, c, out=g_ml[:, :d])
        g_lv = g_ml[:, d:]
        torch.mul(g, eps, out=g_lv)
        g_lv.mul_(std).add_((var - 1.0).mul_(c)).mul_(0.5)
        wmu, bmu, wlv, blv = self.mu_lv
        h = enc_h[-1]
        torch.mm(g_ml[:, :d].t(), h, out=wmu.grad)
        torch.mm(g_lv.t(), h, out=wlv.grad)
        torch.sum(g_ml[:, :d], 0, out=bmu.grad)
        torch.sum(g_lv, 0, out=blv.grad)
        g = g_ml.mm(w_ml)
        for i in range(len(self.enc) - 1, -1, -1):
            w, b = self.enc[i]
            g = _threshold_backward(g, enc_h[i + 1], 0)
            torch.mm(g.t(), enc_h[i], out=w.grad)
            torch.sum(g, 0, out=b.grad)
            if i:
                g = g.mm(w)


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
                 model: VAE | None = None, callback: Callable[[Report], object] | None = None,
                 fast: bool = True) -> None:
        if config.num_threads:
            torch.set_num_threads(config.num_threads)
        if images.shape[0] == 0 or images.numel() == 0:  # checked first: reshape(0, -1) raises its own error
            raise ValueError("no training images")
        images = images.reshape(images.shape[0], -1).to(torch.float32).contiguous()
        self.n = images.shape[0]
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
        # ReLU VAEs/CVAEs (the default) skip autograd; anything else trains through it (fast=False forces that)
        self.fast = _ReluMLPStep(self.model) if fast and _ReluMLPStep.supports(self.model) else None
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
            for q, p in zip(self.good, self.params):
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
            for p, q in zip(self.params, self.good):
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
        cfg = self.config
        t0 = time.perf_counter()
        idx = self.perm[self.batch * self.bs:(self.batch + 1) * self.bs]
        xb = self.images.index_select(0, idx)
        w = self.schedule.weight(self.step_no)
        yb = self.labels.index_select(0, idx) if self.cond else None
        if self.fast is not None:
            stats = self.fast.forward(xb, yb, w, cfg.free_bits)
        else:
            out = self.model(xb, yb) if self.cond else self.model(xb)
            loss, stats = neg_elbo_with_stats(out.logits, xb, out.mu, out.logvar, w, cfg.free_bits)
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
        if self.fast is not None:
            self.fast.backward()  # overwrites every .grad
        else:
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
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
