"""Unit tests for vae_core.digits.train (and its fast_step and cli): learning, the plain and the fast path, determinism
and isolation from process state, reports, cooperative stop, the NaN guard, the CLI."""

from __future__ import annotations

import dataclasses
import math
import re
import threading

import pytest
import torch

from vae_core import load_checkpoint, load_dataset
from vae_core.digits.cli import main
from vae_core.digits.fast_step import ReluMLPStep
from vae_core.digits.model import CVAE, VAE, build_model
from vae_core.digits.train import TrainConfig, Trainer, train
from vae_core.objectives import evaluate, vae_loss
from vae_core.runtime import stream_seed, torch_threads

SMALL = dict(latent_dim=2, hidden_dims=(64,), batch_size=128, seed=0)


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def digits():
    return load_dataset("mnist", "train").subset(2000, seed=0)  # 16 steps per epoch at batch 128


@pytest.fixture(scope="module")
def held_out():
    return load_dataset("mnist", "test").subset(500, seed=1)


def _weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# ------------------------------------------------------------------ learning
def test_short_run_lowers_the_loss(digits, held_out):
    cfg = TrainConfig(**SMALL, epochs=2, log_every=4)
    torch.manual_seed(cfg.seed)
    untrained = build_model(cfg.model_config())
    before = evaluate(untrained, held_out.images)["neg_elbo"]
    res = train(digits.images, cfg)
    assert not res.diverged and not res.stopped
    assert res.epochs_done == 2 and res.steps == 32
    assert res.message == "finished 2 epochs (32 steps)"
    eps = res.epoch_reports
    assert [r.epoch for r in eps] == [1, 2]
    assert eps[1].loss < eps[0].loss
    assert eps[1].loss < 0.75 * res.history[0].loss, (res.history[0].loss, eps[1].loss)
    after = evaluate(res.model, held_out.images)["neg_elbo"]
    assert after < before - 100, (before, after)
    assert not res.model.training
    assert res.samples_per_s > 0 and res.train_seconds > 0 and res.wall_seconds >= res.train_seconds


def test_seeded_runs_are_reproducible(digits):
    cfg = TrainConfig(**SMALL, epochs=1, log_every=4)
    a, b = train(digits.images, cfg), train(digits.images, cfg)
    wa, wb = _weights(a.model), _weights(b.model)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert [r.loss for r in a.history] == [r.loss for r in b.history]
    c = train(digits.images, TrainConfig(**{**SMALL, "seed": 1}, epochs=1))
    assert not torch.equal(wa["fc_out.weight"], c.model.state_dict()["fc_out.weight"])


def test_cvae_trains_with_labels(digits):
    cfg = TrainConfig(**SMALL, conditional=True, epochs=2, log_every=0)
    res = train(digits.images, cfg, labels=digits.labels)
    assert isinstance(res.model, CVAE) and res.model.num_classes == 10
    eps = res.epoch_reports
    assert not res.diverged and eps[1].loss < eps[0].loss
    # the decoder really uses the label: the same z decodes differently for different classes
    with torch.no_grad():
        imgs = res.model.decode(torch.zeros(10, 2), torch.arange(10))
    assert float((imgs[1] - imgs[0]).abs().mean()) > 1e-3
    with pytest.raises(ValueError, match="labels"):
        Trainer(digits.images, cfg)


def test_non_relu_models_take_the_plain_path(digits):
    cfg = TrainConfig(**{**SMALL, "hidden_dims": (32,)}, activation="elu", epochs=2, log_every=0)
    t = Trainer(digits.images, cfg)
    assert t.fast is None
    while t.step():
        pass
    eps = t.result.epoch_reports
    assert not t.result.diverged and eps[1].loss < eps[0].loss


@pytest.mark.parametrize("conditional", [False, True])
def test_fast_path_trains_like_the_plain_path(digits, conditional):
    cfg = TrainConfig(**{**SMALL, "hidden_dims": (48, 24)}, conditional=conditional, epochs=1, log_every=1,
                      free_bits=0.05)
    fast = Trainer(digits.images, cfg, digits.labels)
    plain = Trainer(digits.images, dataclasses.replace(cfg, fast=False), digits.labels)
    assert fast.fast is not None and plain.fast is None
    for _ in range(10):  # interleaved: each draws its noise from its own generator
        fast.step()
        plain.step()
    # same eps draws, same data order; only floating-point summation order differs
    for (k, a), b in zip(fast.model.state_dict().items(), plain.model.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=k)
    assert len(fast.result.history) == len(plain.result.history) == 10
    for ra, rb in zip(fast.result.history, plain.result.history, strict=True):
        assert ra.loss == pytest.approx(rb.loss, rel=1e-5)
        assert ra.kl_per_dim == pytest.approx(rb.kl_per_dim, rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("make", [lambda: VAE(3, (40, 20)), lambda: CVAE(4, (24,))], ids=["vae", "cvae"])
def test_fast_step_equals_the_plain_path_on_the_same_batch_and_noise(make):
    """ReluMLPStep's loss and hand-written gradients == Trainer's plain path (model(x) + vae_loss + backward) on
    the same batch with the same noise, incl. a free-bits mask that cuts some dims."""
    model = make()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():  # weights independent of the tests that ran before; spread the per-dimension KLs
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.05)
        model.fc_mu.weight[0].mul_(50)
        model.fc_mu.bias[1] = 2.0
    x = torch.rand(40, 784, generator=g)
    y = torch.randint(0, 10, (40,), generator=g) if model.conditional else None
    step = ReluMLPStep(model)
    assert ReluMLPStep.supports(model)
    with torch.no_grad():
        out = model(x, y, generator=torch.Generator().manual_seed(1))
        kl_dims = vae_loss(out.logits, x, out.mu, out.logvar).kl_per_dim.sort().values
    floor = float(kl_dims[0] + kl_dims[1]) / 2  # between the two smallest: the floor cuts exactly one dimension
    for beta, free_bits in ((1.0, 0.0), (3.0, floor)):
        stats = step.forward(x, y, beta, free_bits, torch.Generator().manual_seed(1))
        step.backward()
        fast = {k: p.grad.clone() for k, p in model.named_parameters()}
        model.zero_grad(set_to_none=True)
        out = model(x, y, generator=torch.Generator().manual_seed(1))
        terms = vae_loss(out.logits, x, out.mu, out.logvar, beta, free_bits)
        if free_bits:
            mask = terms.kl_per_dim >= free_bits
            assert mask.any() and not mask.all(), terms.kl_per_dim  # the floor really is active on some dims
        terms.loss.backward()
        assert stats[0].item() == pytest.approx(terms.loss.item(), rel=1e-6)
        assert stats[1].item() == pytest.approx(terms.recon.item(), rel=1e-6)
        assert stats[2].item() == pytest.approx(terms.kl.item(), rel=1e-5)
        torch.testing.assert_close(stats[3:], terms.kl_per_dim, rtol=1e-5, atol=1e-7)
        for k, p in model.named_parameters():
            assert float(p.grad.abs().max()) > 0, k  # a real gradient, not two zeros agreeing
            torch.testing.assert_close(fast[k], p.grad, rtol=1e-4, atol=1e-6, msg=k)
        model.zero_grad(set_to_none=True)
    with pytest.raises(RuntimeError, match="forward"):
        step.backward()  # the saved activations are used once


def test_trainer_paths_compute_the_same_first_step(digits):
    """Trainer._forward/_backward of the two paths on the same first batch and noise: same stats, same grads."""
    cfg = TrainConfig(**{**SMALL, "hidden_dims": (32, 16)}, epochs=1, beta=2.0)
    grads = {}
    stats = {}
    for fast in (True, False):
        t = Trainer(digits.images, dataclasses.replace(cfg, fast=fast))
        xb = t.images.index_select(0, t.perm[:t.bs])
        s, loss = t._forward(xb, None, cfg.beta)
        t._backward(loss)
        stats[fast] = s
        grads[fast] = {k: p.grad.clone() for k, p in t.model.named_parameters()}
    torch.testing.assert_close(stats[True], stats[False], rtol=1e-5, atol=1e-6)
    for k in grads[True]:
        torch.testing.assert_close(grads[True][k], grads[False][k], rtol=1e-4, atol=1e-6, msg=k)


def test_interleaved_trainers_match_each_trained_alone(digits):
    """The β/KL Lab steps several trainers in lockstep: each must end exactly where it ends when trained alone,
    and training must leave torch's global RNG, grad mode and thread count as it found them."""
    cfgs = [TrainConfig(**SMALL, epochs=2, log_every=4, beta=b, fast=f) for b, f in ((0.5, True), (4.0, False))]
    alone = [train(digits.images, c) for c in cfgs]
    threads = torch.get_num_threads()
    together = [Trainer(digits.images, c) for c in cfgs]
    with torch.no_grad():  # a caller's grad mode must not stop the plain path from learning
        while not all(t.done for t in together):
            for t in together:
                t.step()
            torch.randn(3)  # someone else using the global RNG between steps changes nothing
    for a, t in zip(alone, together, strict=True):
        wa, wt = _weights(a.model), _weights(t.model)
        assert all(torch.equal(wa[k], wt[k]) for k in wa)
        assert [r.loss for r in a.history] == [r.loss for r in t.result.history]
    assert not torch.equal(_weights(alone[0].model)["fc_out.weight"], _weights(alone[1].model)["fc_out.weight"])
    assert torch.is_grad_enabled() and torch.get_num_threads() == threads
    for c in cfgs:  # building and stepping a trainer draws nothing from torch's global RNG
        torch.manual_seed(123)
        want = torch.randn(3)
        torch.manual_seed(123)
        t = Trainer(digits.images, c)
        t.step()
        t.step()
        assert torch.equal(torch.randn(3), want)


def test_thread_count_is_set_per_step_and_restored(digits):
    before = torch.get_num_threads()
    want = 2 if before == 1 else 1
    seen = []
    t = Trainer(digits.images, TrainConfig(**SMALL, epochs=1, log_every=1, num_threads=want),
                callback=lambda r: seen.append(torch.get_num_threads()))
    assert torch.get_num_threads() == before
    t.step()
    assert seen == [want] and torch.get_num_threads() == before
    with torch_threads(0):
        assert torch.get_num_threads() == before


def test_noise_stream_seeds_are_distinct_and_stable():
    assert stream_seed(0, "noise") == stream_seed(0, "noise")
    assert len({stream_seed(s, k) for s in range(5) for k in ("noise", "data")}) == 10
    assert 0 <= stream_seed(2**40, "noise") < 2**63


def test_fast_path_only_for_plain_relu_models():
    assert ReluMLPStep.supports(VAE(2, (8,))) and ReluMLPStep.supports(CVAE(2, (8,)))
    assert not ReluMLPStep.supports(VAE(2, (8,), activation="tanh"))
    assert not ReluMLPStep.supports(VAE(2, (8,)).double())

    class Custom(VAE):
        pass

    assert not ReluMLPStep.supports(Custom(2, (8,)))
    with pytest.raises(ValueError, match="ReLU"):
        ReluMLPStep(VAE(2, (8,), activation="elu"))


# ------------------------------------------------------------------ reports
def test_callback_receives_step_and_epoch_reports(digits):
    got = []
    cfg = TrainConfig(**{**SMALL, "latent_dim": 3}, epochs=2, log_every=5)
    res = train(digits.images, cfg, callback=got.append)
    assert got == res.history
    steps = [r for r in got if r.kind == "step"]
    epochs = [r for r in got if r.kind == "epoch"]
    assert [r.step for r in steps] == [5, 10, 15, 20, 25, 30]
    assert [(r.step, r.epoch) for r in epochs] == [(16, 1), (32, 2)]
    assert [r.epoch for r in steps] == [1, 1, 1, 2, 2, 2]
    for r in got:
        assert len(r.kl_per_dim) == 3 and all(v >= 0 for v in r.kl_per_dim)
        assert r.kl == pytest.approx(sum(r.kl_per_dim), rel=1e-5)
        assert r.loss == pytest.approx(r.recon + r.kl, rel=1e-5)  # beta = 1, no free bits
        assert r.epochs == 2 and r.kl_weight == 1.0 and r.samples_per_s > 0 and r.elapsed_s > 0
        assert 0 < r.progress <= 1
    assert epochs[-1].progress == 1.0


def test_report_averages_are_exact_means_of_the_steps(digits):
    """Step and epoch reports average exactly the steps they cover, also across an epoch boundary."""
    base = {**SMALL, "epochs": 2}
    per_step = train(digits.images, TrainConfig(**base, log_every=1)).history
    losses = {r.step: r.loss for r in per_step if r.kind == "step"}
    kls = {r.step: r.kl_per_dim for r in per_step if r.kind == "step"}
    assert sorted(losses) == list(range(1, 33))
    grouped = train(digits.images, TrainConfig(**base, log_every=5)).history
    for r in grouped:
        covered = range(r.step - 15, r.step + 1) if r.kind == "epoch" else range(r.step - 4, r.step + 1)
        assert r.loss == pytest.approx(sum(losses[s] for s in covered) / len(covered), rel=1e-5), r
        want = [sum(kls[s][j] for s in covered) / len(covered) for j in range(2)]
        assert r.kl_per_dim == pytest.approx(want, rel=1e-4)


def test_annealing_weight_is_reported(digits):
    cfg = TrainConfig(**SMALL, epochs=1, log_every=4, kl_schedule="linear", warmup_steps=8, beta=2.0)
    res = train(digits.images, cfg)
    steps = [r for r in res.history if r.kind == "step"]
    # the weight used by step s (0-based) is 2 * min(1, s / 8): steps 3, 7, 11, 15 end the reports
    assert [r.kl_weight for r in steps] == [0.75, 1.75, 2.0, 2.0]


# ------------------------------------------------------------------ cooperative stop
def test_cooperative_stop_with_an_event(digits):
    stop = threading.Event()

    def cb(r):
        if r.kind == "step" and r.step >= 7:
            stop.set()

    cfg = TrainConfig(**SMALL, epochs=5, log_every=1)
    res = train(digits.images, cfg, callback=cb, stop=stop)
    assert res.stopped and not res.diverged
    assert res.steps == 7 and res.epochs_done == 0
    assert "stopped" in res.message
    last = res.history[-1]
    assert last.kind == "epoch" and last.step == 7  # the partial epoch is reported
    assert all(torch.isfinite(p).all() for p in res.model.parameters())


def test_cooperative_stop_with_a_callable_and_an_already_set_event(digits):
    n = {"calls": 0}

    def should_stop():
        n["calls"] += 1
        return n["calls"] > 3

    res = train(digits.images, TrainConfig(**SMALL, epochs=2), stop=should_stop)
    assert res.stopped and res.steps == 3
    ev = threading.Event()
    ev.set()
    res = train(digits.images, TrainConfig(**SMALL, epochs=2), stop=ev)
    assert res.stopped and res.steps == 0 and res.history == []


# ------------------------------------------------------------------ the NaN guard
@pytest.mark.parametrize("fast", [True, False])
def test_nan_guard_on_an_absurd_learning_rate(digits, fast):
    cfg = TrainConfig(**SMALL, epochs=3, lr=1e6, log_every=1, fast=fast)
    torch.manual_seed(cfg.seed)
    init = _weights(build_model(cfg.model_config()))
    t = Trainer(digits.images, cfg)
    assert (t.fast is not None) is fast
    while t.step():
        pass
    res = t.result
    assert res.diverged and not res.stopped
    assert 0 < res.steps < 48, res.steps  # it stopped early, without raising
    assert "diverged" in res.message and "learning rate" in res.message and "1e+06" in res.message
    assert all(torch.isfinite(p).all() for p in res.model.parameters())
    # fewer than 100 steps: the last weights known to give a finite loss are the initial ones
    assert t.good_step == 0
    assert all(torch.equal(v, init[k]) for k, v in res.model.state_dict().items())
    with torch.no_grad():
        assert math.isfinite(evaluate(res.model, digits.images[:256])["neg_elbo"])
    assert not res.model.training


def test_nan_guard_restores_the_last_snapshot_with_a_finite_loss(digits):
    """Train normally past a snapshot, then blow the learning rate up: the restored weights are exactly the
    ones the guard saved at a step whose loss it had just checked to be finite."""
    seen = {}
    t = Trainer(digits.images, TrainConfig(**SMALL, epochs=20, log_every=1),
                callback=lambda r: seen.setdefault(r.step, _weights(t.model)) if r.kind == "step" else None)
    for _ in range(130):
        t.step()
    assert t.good_step == 100
    for group in t.opt.param_groups:
        group["lr"] = 1e10
    while t.step():
        pass
    assert t.result.diverged and "step 100" in t.result.message
    restored = _weights(t.model)
    # the report of step 100 is emitted after 100 updates: the weights that step 100 (0-based) started from
    assert all(torch.equal(restored[k], seen[100][k]) for k in restored)
    assert not all(torch.equal(restored[k], seen[130][k]) for k in restored)
    assert all(torch.isfinite(v).all() for v in restored.values())


# ------------------------------------------------------------------ config
@pytest.mark.parametrize("bad", [dict(lr=0), dict(lr=float("nan")), dict(epochs=0), dict(batch_size=0),
                                 dict(latent_dim=0), dict(hidden_dims=()), dict(beta=-1), dict(free_bits=-0.1),
                                 dict(kl_schedule="exp"), dict(lr_schedule="step")])
def test_invalid_config_raises(bad):
    with pytest.raises(ValueError):
        TrainConfig(**bad)


def test_trainer_rejects_empty_data():
    with pytest.raises(ValueError):
        Trainer(torch.zeros(0, 784), TrainConfig(**SMALL))


# ------------------------------------------------------------------ CLI
def test_cli_trains_evaluates_and_saves(tmp_path, capsys):
    out = tmp_path / "m"
    rc = main(["--latent-dim", "2", "--hidden-dims", "64", "--epochs", "1", "--subset", "1000", "--iwae-k", "10",
               "--out", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert (tmp_path / "m.safetensors").is_file() and (tmp_path / "m.json").is_file()
    assert "test -ELBO" in text and "IWAE bound (k=10)" in text
    m = re.search(r"throughput: (\d+) samples/s", text)
    assert m and int(m.group(1)) > 0, text
    neg_elbo = float(re.search(r"test -ELBO: ([\d.]+)", text).group(1))
    model, meta = load_checkpoint(out)
    assert model.latent_dim == 2 and model.hidden_dims == (64,)
    assert meta["dataset"]["n_train"] == 1000 and meta["epochs"] == 1 and meta["steps"] == 8
    tm = meta["test_metrics"]
    assert tm["iwae_k"] == 10 and tm["neg_elbo"] == pytest.approx(neg_elbo, abs=0.01)
    assert tm["iwae_nll"] <= tm["neg_elbo"] + 1.0  # the k=10 bound is at least as tight (up to MC noise)
    assert meta["training"]["diverged"] is False and meta["recipe"]["hidden_dims"] == [64]
