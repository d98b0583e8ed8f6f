"""vae_core.digits.analysis: rate/distortion, equal-ELBO lines, active units, per-dimension KL, the seed's two fixes and
the collapse diagnosis — on synthetic inputs with known answers, on the shipped β sweep (evaluated on real test
digits), and on short real trainings (collapse and its fix; the lab's live timing)."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from vae_core.digits import analysis as A
from vae_core.digits.model import build_model
from vae_core.digits.train import Report, TrainConfig
from vae_core.objectives import evaluate, free_bits_kl

ROOT = Path(__file__).resolve().parents[3]
CKPT = Path(os.environ.get("VAE_CHECKPOINT_DIR", ROOT / "checkpoints"))
SWEEP = [(0.5, "mnist-z2-beta0.5"), (1.0, "mnist-z2"), (4.0, "mnist-z2-beta4"), (16.0, "mnist-z2-beta16")]


def shipped(name: str) -> Path:
    """Path stem of a shipped checkpoint; fails (not skips) when it is missing — they are part of the repo."""
    p = CKPT / name
    assert p.with_name(p.name + ".safetensors").is_file(), f"shipped checkpoint {name} is missing"
    return p


def _full(split: str):
    from vae_core.digits.data import load_dataset

    data = load_dataset("mnist", split)
    if data.is_sample:
        if os.environ.get("CI"):
            pytest.fail("CI must run with the full MNIST (VAE_DATA_DIR), not the offline sample")
        pytest.skip("full MNIST not available (only the offline sample)")
    return data


def _tiny(d: int = 3, seed: int = 0):
    torch.manual_seed(seed)
    return build_model({"kind": "vae", "latent_dim": d, "hidden_dims": [32], "input_dim": 784,
                        "activation": "relu", "num_classes": 0})


@pytest.fixture(scope="module")
def test_digits():
    return _full("test")


@pytest.fixture(scope="module")
def train_digits():
    return _full("train")


# ------------------------------------------------------------------ model_stats
def test_model_stats_matches_objectives_evaluate():
    model = _tiny(4)
    x = torch.rand(300, 784)
    s = A.model_stats(model, x, batch_size=2000, seed=3)
    ref = evaluate(model, x, batch_size=2000, seed=3)
    assert s.rate == pytest.approx(ref["kl"], rel=1e-5)
    assert s.distortion == pytest.approx(ref["recon"], rel=1e-5)
    assert s.neg_elbo == pytest.approx(ref["neg_elbo"], rel=1e-5)
    assert s.kl_per_dim.shape == (4,)
    assert s.kl_per_dim.sum() == pytest.approx(s.rate, rel=1e-9)
    assert (s.kl_per_dim >= 0).all()
    assert s.mu.shape == (300, 4) and s.logvar.shape == (300, 4)
    assert s.beta_loss(4.0) == pytest.approx(s.distortion + 4.0 * s.rate)
    # per-dimension KL is the closed form averaged over images
    with torch.no_grad():
        mu, lv = model.encode(x)
    closed = (0.5 * (mu.pow(2) + lv.exp() - lv - 1)).mean(0).numpy()
    np.testing.assert_allclose(A.kl_per_dim(model, x), closed, rtol=1e-5, atol=1e-7)


def test_model_stats_is_batch_size_independent_for_rate_and_leaves_mode_alone():
    model = _tiny(2)
    model.train()
    x = torch.rand(250, 784)
    a = A.model_stats(model, x, batch_size=64)
    b = A.model_stats(model, x, batch_size=1000)
    assert model.training, "model_stats must not switch a training model to eval mode"
    assert a.rate == pytest.approx(b.rate, rel=1e-5)
    np.testing.assert_allclose(a.mu, b.mu, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError):
        A.model_stats(model, x[:0])


# ------------------------------------------------------------------ active units
def test_active_units_counts_dimensions_whose_mean_moves():
    rng = np.random.default_rng(0)
    mu = np.c_[rng.normal(0, 1.0, 2000), rng.normal(0, 0.5, 2000), rng.normal(0, 0.03, 2000),
               np.full(2000, 0.7), rng.normal(0, 0.2, 2000)]
    n, var = A.active_units(mu)
    assert n == 3  # std 1, 0.5, 0.2 -> var 1, 0.25, 0.04 > 0.01; std 0.03 and a constant are inactive
    np.testing.assert_allclose(var, mu.var(0, ddof=1), atol=1e-12)  # the documented ddof
    n_t, var_t = A.active_units(torch.as_tensor(mu, dtype=torch.float32))  # torch input, same rule
    assert n_t == n
    np.testing.assert_allclose(var_t, var, rtol=1e-5, atol=1e-9)
    assert A.active_units(mu, threshold=0.1)[0] == 2
    np.testing.assert_array_equal(A.active_mask(mu), [True, True, False, False, True])
    stats = A.ModelStats(1.0, 1.0, np.ones(5), mu, mu)  # the lab's per-model view uses the same definition
    np.testing.assert_array_equal(stats.active, A.active_mask(mu))
    assert stats.n_active == n
    np.testing.assert_array_equal(A.latent_variance(mu[:1]), np.zeros(5))  # one row: no variance, nothing active


# ------------------------------------------------------------------ the R-D plane
def test_equal_elbo_lines_have_slope_minus_one_and_stay_in_the_box():
    box_r, box_d = (0.0, 12.0), (120.0, 180.0)
    lines = A.equal_elbo_lines(box_r, box_d, n=8)
    assert len(lines) >= 6
    cs = [c for c, _ in lines]
    assert cs == sorted(cs)
    steps = np.diff(cs)
    np.testing.assert_allclose(steps, steps[0])  # evenly spaced round values
    assert steps[0] == 10.0
    for c, seg in lines:
        assert seg.shape == (2, 2)
        np.testing.assert_allclose(seg.sum(1), c)  # R + D = c at both ends
        assert (seg[:, 0] >= box_r[0] - 1e-9).all() and (seg[:, 0] <= box_r[1] + 1e-9).all()
        assert (seg[:, 1] >= box_d[0] - 1e-9).all() and (seg[:, 1] <= box_d[1] + 1e-9).all()
        dr, dd = seg[1] - seg[0]
        assert dr > 0 and dd / dr == pytest.approx(-1.0)
        assert box_r[0] + box_d[0] < c < box_r[1] + box_d[1]
    with pytest.raises(ValueError):
        A.equal_elbo_lines((1, 0), (0, 1))


def test_nice_step_is_1_2_5():
    assert A.nice_step(60, 6) == 10
    assert A.nice_step(7, 6) == 2
    assert A.nice_step(0.3, 6) == pytest.approx(0.05)
    assert A.nice_step(0, 6) == 1.0


def _report(step, kl, recon, kind="step", w=1.0, d=2):
    return Report(kind, step, 1, 1, step / 100, recon + kl, recon, kl, [kl / d] * d, w, 0.0, 0.0)


def test_rd_trajectory_and_points_from_reports():
    reps = [_report(5, 1.0, 300.0), _report(10, 2.0, 200.0), _report(10, 2.5, 190.0, kind="epoch"),
            _report(15, 3.0, 150.0)]
    tr = A.rd_trajectory(reps)
    np.testing.assert_allclose(tr, [[5, 1, 300], [10, 2, 200], [15, 3, 150]])
    assert A.rd_trajectory(reps, "epoch").shape == (1, 3)
    assert A.rd_trajectory(reps, "all").shape == (4, 3)
    assert A.rd_trajectory([]).shape == (0, 3)
    assert A.rd_point(reps[1]) == (2.0, 200.0)


def test_beta_elbo_and_ema_and_focus_range():
    assert A.beta_elbo(130.0, 5.0, 4.0) == pytest.approx(150.0)
    np.testing.assert_allclose(A.beta_elbo(np.array([1.0, 2.0]), np.array([1.0, 1.0]), 0.5), [1.5, 2.5])
    np.testing.assert_allclose(A.ema([3.0, 3.0, 3.0]), 3.0)
    np.testing.assert_allclose(A.ema([0.0, 10.0], alpha=0.5), [0.0, 5.0])
    np.testing.assert_allclose(A.ema([1.0, 5.0, 2.0], alpha=1.0), [1.0, 5.0, 2.0])
    # an untrained start (540 nats) must not decide the range of a curve that settles near 130-140
    series = [np.r_[540.0, 400.0, np.linspace(150, 130, 30)], np.linspace(160, 140, 30)]
    lo, hi = A.focus_range(series, tail=0.7)
    assert 120 < lo < 135 and 155 < hi < 175
    assert A.focus_range([]) == (0.0, 1.0)
    assert A.focus_range([np.array([5.0, 5.0])], floor=4.9)[0] >= 4.9


def test_sweep_trend():
    assert A.sweep_trend([4, 1, 16], [5, 7, 1.5], [135, 131, 168]) == {"rate_falls": True, "distortion_rises": True}
    assert not A.sweep_trend([1, 4], [5, 7], [131, 135])["rate_falls"]
    assert A.is_monotone([1, 2, 2], strict=False) and not A.is_monotone([1, 2, 2])


# ------------------------------------------------------------------ the seed's two fixes
def test_free_bits_penalty_matches_the_training_loss():
    assert A.free_bits_penalty([0.1, 2.0, 0.0], 0.5) == pytest.approx(3.0)
    assert A.free_bits_penalty([0.1, 2.0, 0.0], 0.0) == pytest.approx(2.1)
    kl_dims = torch.rand(64, 6) * 0.8
    lam = 0.3
    assert A.free_bits_penalty(kl_dims.mean(0).numpy(), lam) == pytest.approx(float(free_bits_kl(kl_dims, lam)),
                                                                                rel=1e-6)


def test_kl_weight_schedules():
    assert A.kl_weight("constant", 123, 4.0, 0) == 4.0
    assert A.kl_weight("linear", 50, 8.0, 100) == pytest.approx(4.0)
    assert A.kl_weight("linear", 500, 8.0, 100) == pytest.approx(8.0)
    assert A.kl_weight("cyclical", 125, 2.0, 100) == pytest.approx(1.0)  # 25 steps into a cycle, ramp 50
    assert A.kl_weight("cyclical", 180, 2.0, 100) == pytest.approx(2.0)
    steps, w = A.kl_weight_curve("linear", 16.0, 200, 400)
    assert steps[0] == 0 and steps[-1] == 400
    assert w[0] == 0.0 and w[-1] == pytest.approx(16.0)
    assert (np.diff(w) >= 0).all()
    _, wc = A.kl_weight_curve("cyclical", 1.0, 100, 400, n=401)
    assert wc.max() == pytest.approx(1.0) and (wc[::100] == 0).all()  # back to 0 at each cycle start


# ------------------------------------------------------------------ collapse diagnosis
def test_diagnose_collapse_verdicts():
    rng = np.random.default_rng(1)
    d = 6
    dead_mu = rng.normal(0, 0.01, (500, d))
    dg = A.diagnose_collapse(np.full(d, 0.01), dead_mu)
    assert dg.verdict == "collapsed" and dg.n_active == 0 and dg.inactive_dims == list(range(d))
    np.testing.assert_array_equal(dg.active, A.active_mask(dead_mu))  # the one active-units definition
    assert dg.rate == pytest.approx(0.06) and f"{dg.rate:.2f} nats" in dg.message  # the shown figure is computed
    mu = dead_mu.copy()
    mu[:, :2] = rng.normal(0, 1, (500, 2))
    dg = A.diagnose_collapse([2.0, 1.5, 0.01, 0.0, 0.0, 0.0], mu)
    assert dg.verdict == "partial" and dg.n_active == 2 and dg.inactive_dims == [2, 3, 4, 5]
    assert dg.rate == pytest.approx(3.51) and f"{dg.n_active} of {d}" in dg.message
    dg = A.diagnose_collapse(np.full(d, 1.0), rng.normal(0, 1, (500, d)))
    assert dg.verdict == "healthy" and dg.n_active == d
    # without means: KL per dimension decides
    assert A.diagnose_collapse([3.0, 0.001]).n_active == 1
    # many dimensions that wiggle a little but carry almost no KL in total: still collapsed
    assert A.diagnose_collapse(np.full(20, 0.01), rng.normal(0, 0.2, (500, 20))).verdict == "collapsed"


# ------------------------------------------------------------------ the shipped β sweep, evaluated on test digits
@pytest.fixture(scope="module")
def sweep_stats(test_digits):
    from vae_core import load_checkpoint

    out = {}
    for beta, name in SWEEP:
        model, meta = load_checkpoint(shipped(name))
        assert float(meta["beta"]) == beta
        out[beta] = A.model_stats(model, test_digits.images[:2000], test_digits.labels[:2000])
    return out


def test_shipped_sweep_rate_falls_and_distortion_rises_with_beta(sweep_stats):
    betas = sorted(sweep_stats)
    rates = [sweep_stats[b].rate for b in betas]
    dists = [sweep_stats[b].distortion for b in betas]
    assert A.is_monotone(rates, increasing=False), rates
    assert A.is_monotone(dists, increasing=True), dists
    assert A.sweep_trend(betas, rates, dists) == {"rate_falls": True, "distortion_rises": True}
    # clear gaps, not noise: β = 16 spends a small fraction of β = 0.5's rate and loses > 25 nats of distortion
    assert rates[-1] < 0.4 * rates[0]
    assert dists[-1] - dists[0] > 25
    # each β model is best (among the sweep) at its own objective D + βR on most comparisons
    for b in (0.5, 16.0):
        own = sweep_stats[b].beta_loss(b)
        assert all(own <= sweep_stats[o].beta_loss(b) + 1.0 for o in betas), b


def test_shipped_sweep_per_dim_kl_and_active_units(sweep_stats):
    for b, s in sweep_stats.items():
        assert s.kl_per_dim.shape == (2,)
        assert s.n_active == 2, (b, s.latent_var)  # z = 2: both dimensions are used even at β = 16
        assert A.diagnose_collapse(s.kl_per_dim, s.mu).verdict == "healthy"
    # the posterior means crowd towards the origin as β grows
    spread = [float(np.sqrt((sweep_stats[b].mu ** 2).sum(1)).mean()) for b in sorted(sweep_stats)]
    assert spread[-1] < spread[0]


def test_shipped_z20_has_inactive_units(test_digits):
    from vae_core import load_checkpoint

    model, _ = load_checkpoint(shipped("mnist-z20"))
    s = A.model_stats(model, test_digits.images[:2000])
    dg = A.diagnose_collapse(s.kl_per_dim, s.mu)
    assert 5 <= dg.n_active < 20 and dg.verdict == "partial"
    # inactive units carry (almost) no KL, active ones carry most of it
    assert s.kl_per_dim[~s.active].sum() < 0.05 * s.rate


# ------------------------------------------------------------------ real trainings: collapse, the fix, live timing
def test_collapse_preset_collapses_and_free_bits_fix_it(train_digits, test_digits):
    from vae_core.digits.train import Trainer

    data = train_digits.subset(2000, seed=0)
    base = dict(latent_dim=A.COLLAPSE_LATENT, hidden_dims=A.LAB_HIDDEN, beta=A.COLLAPSE_BETA, epochs=2,
                log_every=0, seed=0)
    plain = Trainer(data.images, TrainConfig(**base))
    fixed = Trainer(data.images, TrainConfig(**base, free_bits=A.COLLAPSE_FREE_BITS))
    while not (plain.done and fixed.done):
        plain.step()
        fixed.step()
    x = test_digits.images[:1000]
    sp, sf = A.model_stats(plain.model, x), A.model_stats(fixed.model, x)
    dp, df = A.diagnose_collapse(sp.kl_per_dim, sp.mu), A.diagnose_collapse(sf.kl_per_dim, sf.mu)
    assert dp.verdict == "collapsed", dp.message
    assert sp.rate < 0.5
    assert df.verdict != "collapsed", df.message
    assert sf.rate > 10 * sp.rate
    assert df.n_active > dp.n_active
    assert sf.distortion < sp.distortion - 5  # the code is used: reconstructions improve


def test_lab_job_reports_every_model_and_its_live_weights(train_digits):
    """The lab's default sweep (5 β, lab architecture, lab log_every) in a background Job on the engine: every
    model has a step report — a point in the R-D plane — and live weights for the Lab's views soon after the
    submit.  How soon is measured by ``python -m bench.lab_epoch`` (first report), not asserted here: a timed
    assertion fails on a loaded machine."""
    from vae_core.jobs import JobManager

    data = train_digits.subset(10_000, seed=0)
    mgr = JobManager(max_running=1, namespace=f"lab-timing-{time.time_ns()}")
    cfgs = [(f"β={b:g}", TrainConfig(latent_dim=2, hidden_dims=A.LAB_HIDDEN, beta=b, epochs=20,  # stopped below
                                     log_every=A.LAB_LOG_EVERY)) for b in A.LAB_BETAS]
    t0 = time.perf_counter()
    job = mgr.submit("timing", cfgs, data.images, data.labels, live_weights=True)  # as the Lab page submits
    try:
        while time.perf_counter() - t0 < 60:
            snap = job.snapshot()
            if all(m["reports"] for m in snap["members"]):
                break
            time.sleep(0.02)
        snap = job.snapshot()
        assert all(m["reports"] for m in snap["members"]), "no report after 60 s"
        deadline = time.perf_counter() + 30  # the worker publishes the weights in training after its first step
        while time.perf_counter() < deadline and not all(m["live_model"] is not None for m in snap["members"]):
            time.sleep(0.1)
            snap = job.snapshot()
        assert all(m["live_model"] is not None for m in snap["members"]), "no live weights for the Lab's views"
        r = snap["members"][0]["reports"][0]
        assert math.isfinite(r.kl) and math.isfinite(r.recon)
    finally:
        job.stop()
        job.wait(30)
    assert job.status in ("stopped", "done")
