"""AppTest of the β/KL Lab: the shipped sweep loads with its plots; a tiny sweep trains in the background and
shows up; stop works; the collapse pair trains; the capacity message shows when the server is full."""

from __future__ import annotations

import json
import time

import pytest
from apptest_helpers import open_page
from streamlit.testing.v1 import AppTest

PAGE = "app_pages/beta_lab.py"
TRAIN = "Train a sweep here"


def _open(source: str | None = None) -> AppTest:
    return open_page(PAGE, "mnist-z2", **({"lab_source": source} if source else {}))


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _wait(job, timeout: float = 90.0) -> None:
    deadline = time.time() + timeout
    while job.active and time.time() < deadline:
        time.sleep(0.1)
    assert not job.active, "training did not finish in time"


@pytest.fixture
def manager():
    from vae_core.jobs import get_manager

    mgr = get_manager()
    yield mgr
    for j in list(mgr.jobs.values()):
        if j.owner and j.active and j.title.startswith(("β sweep", "collapse")):
            j.stop()


def test_shipped_sweep_loads_with_plots():
    at = _open()
    _ok(at)
    table = at.dataframe[0].value  # the numbers shown: one row per shipped β
    assert list(table["β"]) == [0.5, 1.0, 4.0, 16.0]
    rates, dists = list(table["rate R (KL)"]), list(table["distortion D"])
    assert rates == sorted(rates, reverse=True) and dists == sorted(dists)  # the β trade-off, as shown
    gap = table["−ELBO = D + R"] - table["distortion D"] - table["rate R (KL)"]
    assert all(abs(r) <= 0.011 for r in gap)  # each column rounded to 2 decimals
    charts = at.get("plotly_chart")
    assert {"shipped_rd", "shipped_kl", "shipped_scatter"} <= {c.key for c in charts}  # R-D plane, KL bars, maps
    rd = json.loads(charts[0].proto.spec)
    assert {"β = 0.5", "β = 16"} <= {t.get("name") for t in rd["data"]}
    assert len(at.get("image")) == 9  # the test digits, then reconstructions and samples of 4 models
    assert len(at.get("latex")) >= 4  # β-ELBO, D + βR, active units, and the numbers of one model


def test_train_a_tiny_sweep_then_stop_another(manager):
    at = _open(TRAIN)
    _ok(at)
    assert not any(b.key == "lab_stop" for b in at.button)
    at.multiselect(key="lab_betas").set_value([0.0, 4.0])
    at.select_slider(key="lab_subset").set_value(1000)
    at.number_input(key="lab_epochs").set_value(1)
    at.button(key="lab_start").click().run()
    _ok(at)
    job = manager.get(at.session_state["lab_job"])
    assert job is not None and [m.label for m in job.members] == ["β=0", "β=4"]
    assert job.members[0].config.hidden_dims == (256,)
    _wait(job)
    assert job.status == "done", job.message
    at.run()
    _ok(at)
    assert len(at.get("plotly_chart")) >= 3
    assert at.success  # the end of the training is reported
    assert not any(b.key == "lab_stop" for b in at.button)  # nothing to stop any more

    # a longer one (50 epochs x 16 steps x 2 models), stopped from the page
    at.select_slider(key="lab_subset").set_value(2000)
    at.number_input(key="lab_epochs").set_value(50)
    at.button(key="lab_start").click().run()
    _ok(at)
    job2 = manager.get(at.session_state["lab_job"])
    assert job2 is not job and job2.active
    at.button(key="lab_stop").click().run()
    _ok(at)
    _wait(job2, 30)
    assert job2.status == "stopped", job2.status
    at.run()
    _ok(at)
    assert at.success and not any(b.key == "lab_stop" for b in at.button)


def test_collapse_pair_trains(manager):
    at = _open(TRAIN)
    at.select_slider(key="col_subset").set_value(1000)
    at.number_input(key="col_epochs").set_value(1)
    at.toggle(key="col_anneal").set_value(True)
    at.button(key="col_start").click().run()
    _ok(at)
    job = manager.get(at.session_state["collapse_job"])
    assert len(job.members) == 2
    fixed = job.members[1].config
    assert fixed.free_bits > 0 and fixed.kl_schedule == "linear" and fixed.warmup_steps > 0
    assert job.members[0].config.free_bits == 0 and job.members[0].config.kl_schedule == "constant"
    _wait(job)
    at.run()
    _ok(at)
    labels = [m.label for m in at.metric]
    assert labels.count("active units") >= 2
    assert len(at.get("plotly_chart")) >= 2


def test_capacity_message(manager, monkeypatch):
    class Busy:
        active = True
        owner = "someone-else"
        created = 0.0

    monkeypatch.setattr(manager, "max_running", 1)
    monkeypatch.setattr(manager, "running", lambda: [Busy()])  # another session's training holds the one slot
    at = _open(TRAIN)
    at.select_slider(key="lab_subset").set_value(1000)
    at.button(key="lab_start").click().run()
    _ok(at)
    assert "lab_job" not in at.session_state
    msg = " ".join(w.value for w in at.warning)
    assert "already running" in msg and "limit is 1" in msg
    at.button(key="col_start").click().run()
    _ok(at)
    assert "collapse_job" not in at.session_state
    assert "already running" in " ".join(w.value for w in at.warning)
