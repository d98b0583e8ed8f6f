"""vae_core.jobs on the Dask engine: one job per owner, owners that vanish, a maximum run time, bounded sizes, slots
freed on every path (a raise, a worker over its memory limit, a worker killed with kill -9), trainings in worker
processes at a lower priority, live reports about once a second, Stop within a step, and two app servers (two
managers on one engine) seeing the same jobs.  All tests share the process's one embedded cluster."""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest
import torch

from vae_core import jobs
from vae_core.digits.train import TrainConfig
from vae_core.jobs import CapacityError, DataSpec, JobManager, OwnerBusyError, parse_hidden_dims


@pytest.fixture(scope="module")
def digits() -> torch.Tensor:
    return torch.rand(2048, 784, generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def client():
    c = jobs.engine()  # the embedded cluster, started once per test process
    c.wait_for_workers(jobs.n_workers(), timeout=60)
    return c


def _mgr(**kw) -> JobManager:
    return JobManager(namespace=f"test-{uuid.uuid4().hex[:8]}", **kw)  # each test its own board on the engine


def _cfg(epochs: int = 200, **kw) -> TrainConfig:
    kw.setdefault("hidden_dims", (16,))
    return TrainConfig(latent_dim=2, epochs=epochs, batch_size=32, log_every=5, **kw)


def _wait(job, timeout: float = 60.0) -> None:
    assert job.wait(timeout), "the job did not end"


def _wait_reports(job, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not job.members[0].reports and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job.members[0].reports, job.message


def test_one_active_job_per_owner_and_the_first_keeps_running(digits, client):  # noqa: ARG001
    mgr = _mgr(max_running=4)
    first = mgr.submit("a", [("a", _cfg())], digits, owner="S1", kind="train_job")
    try:
        with pytest.raises(OwnerBusyError, match="already training 'a'"):
            mgr.submit("b", [("b", _cfg())], digits, owner="S1", kind="train_job")
        assert isinstance(OwnerBusyError("x"), CapacityError)  # pages that catch CapacityError show it
        assert first.active and mgr.active_for("S1") is first
        assert mgr.latest_for("S1", "train_job") is first and mgr.latest_for("S1", "lab_job") is None
        other = mgr.submit("c", [("c", _cfg(epochs=1))], digits, owner="S2")  # another owner may train
        _wait(other)
    finally:
        first.stop()
        _wait(first)
    assert first.status == "stopped" and "stopped by request" in first.message
    again = mgr.submit("d", [("d", _cfg(epochs=1))], digits, owner="S1", kind="train_job")  # slot free again
    _wait(again)
    assert again.status == "done" and mgr.latest_for("S1", "train_job") is again
    snap = again.snapshot()  # a finished job keeps its curves, result and weights
    m = snap["members"][0]
    assert m["reports"] and m["result"].steps == 64 and m["model"] is not None and m["model"].latent_dim == 2


def test_server_cap_still_applies(digits, client):  # noqa: ARG001
    mgr = _mgr(max_running=1)
    j = mgr.submit("a", [("a", _cfg())], digits, owner="S1")
    try:
        with pytest.raises(CapacityError, match="limit is 1"):
            mgr.submit("b", [("b", _cfg())], digits, owner="S2")
    finally:
        j.stop()
        _wait(j)
    assert mgr.running() == []


def test_job_of_a_vanished_owner_stops_itself(digits, client):  # noqa: ARG001
    mgr = _mgr(max_running=2, owner_ttl_s=0.5)
    job = mgr.submit("a", [("a", _cfg())], digits, owner="gone")  # the session was there at the start only
    _wait(job, timeout=30)
    assert job.status == "stopped" and "browser session was closed" in job.message
    assert job.members[0].model is None and job.members[0].reports  # nobody is left: weights not kept


def test_job_of_a_present_owner_keeps_running(digits, client):  # noqa: ARG001
    mgr = _mgr(max_running=2, owner_ttl_s=0.5)
    job = mgr.submit("a", [("a", _cfg())], digits, owner="here")
    try:
        for _ in range(15):
            mgr.touch("here")
            time.sleep(0.1)
        assert job.active
    finally:
        job.stop()
        _wait(job)


def test_maximum_run_time(digits, client):  # noqa: ARG001
    mgr = _mgr(max_running=2, max_seconds=0.5)
    job = mgr.submit("a", [("a", _cfg())], digits, owner="S")
    _wait(job, timeout=30)
    assert job.status == "stopped" and "maximum run time" in job.message


def test_training_runs_in_a_worker_process_at_lower_priority_with_live_reports_and_a_quick_stop(digits, client):  # noqa: ARG001
    mgr = _mgr(max_running=2)
    job = mgr.submit("a", [("a", _cfg())], digits, owner="S", live_weights=True)
    _wait_reports(job)
    head = job.refresh(force=True)
    assert head["pid"] != os.getpid()  # the training's CPU time is spent in another process
    assert os.getpriority(os.PRIO_PROCESS, head["pid"]) >= 10  # niceness 10 (the web server's is what it was)
    counts = []
    for _ in range(3):  # the curves grow about once a second
        time.sleep(1.0)
        counts.append(len(job.members[0].reports))
    assert counts[0] < counts[1] < counts[2], counts
    deadline = time.monotonic() + 10
    while job.snapshot()["members"][0]["live_model"] is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job.snapshot()["members"][0]["live_model"] is not None  # the Lab's live views get the moving weights
    t0 = time.monotonic()
    job.stop()
    _wait(job, 10)
    assert time.monotonic() - t0 < 2.0  # watcher every 0.2 s + one step + the last publish
    assert job.status == "stopped"


def test_the_worker_loads_the_training_data_itself(client):  # noqa: ARG001
    mgr = _mgr(max_running=2)
    job = mgr.submit("d", [("d", _cfg(epochs=1, hidden_dims=(32,)))], owner="S", data=DataSpec("mnist", 500))
    _wait(job, 120)
    snap = job.snapshot()
    assert job.status == "done", job.message
    assert snap["n_train"] == 500 and "subset of 500" in snap["data"]
    assert snap["members"][0]["test_metrics"]["neg_elbo"] > 0  # the worker loaded the test split too


def test_slot_freed_when_the_training_raises(digits, client):  # noqa: ARG001
    mgr = _mgr(max_running=1)
    job = mgr.submit("a", [("a", _cfg(conditional=True))], digits, owner="S")  # no labels: Trainer raises
    _wait(job)
    assert job.status == "failed" and "conditional model needs labels" in job.message
    assert mgr.running() == [] and mgr.active_for("S") is None
    assert job.snapshot()["members"][0]["model"] is None


def test_slot_freed_when_the_training_goes_over_its_memory_limit(digits, client):
    client.run(lambda: setattr(jobs, "MEMORY_GUARD", 0.001))  # any RSS is over 0.1 % of the worker's limit
    try:
        mgr = _mgr(max_running=1)
        job = mgr.submit("a", [("a", _cfg())], digits, owner="S")
        _wait(job)
    finally:
        client.run(lambda: setattr(jobs, "MEMORY_GUARD", 0.85))
    assert job.status == "failed" and "MemoryError" in job.message and "memory limit" in job.message
    assert mgr.running() == []


def test_a_worker_killed_with_kill_9_fails_the_job_and_frees_its_slot(digits, client, tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_USER_MODELS", str(tmp_path))
    mgr = _mgr(max_running=1)
    job = mgr.submit("a", [("a", _cfg())], digits, owner="S")
    _wait_reports(job)
    os.kill(job.refresh(force=True)["pid"], signal.SIGKILL)
    _wait(job, 30)
    assert job.status == "failed" and "worker process died" in job.message, job.message
    assert mgr.running() == [] and mgr.active_for("S") is None
    assert list(tmp_path.iterdir()) == []  # workers never write saved models: nothing half-written
    client.wait_for_workers(jobs.n_workers(), timeout=60)  # the nanny starts a new worker
    again = mgr.submit("b", [("b", _cfg(epochs=1))], digits, owner="S")  # the slot is free
    _wait(again)
    assert again.status == "done"


def test_two_app_servers_see_the_same_jobs(digits, client):  # noqa: ARG001
    ns = f"test-{uuid.uuid4().hex[:8]}"
    a, b = JobManager(max_running=2, namespace=ns), JobManager(max_running=2, namespace=ns)
    job = a.submit("a", [("a", _cfg())], digits, owner="tok", kind="train_job")
    try:
        seen = b.latest_for("tok", "train_job")
        assert seen is not None and seen.id == job.id and seen is not job and seen.active
        with pytest.raises(OwnerBusyError):  # one job per owner across servers
            b.submit("b", [("b", _cfg())], digits, owner="tok")
        seen.stop()
        _wait(job, 10)
    finally:
        job.stop()
    assert job.status == "stopped" and b.get(job.id).status == "stopped"


@pytest.mark.parametrize(("cfg", "words"), [
    (dict(hidden_dims=(20000, 20000)), "at most 4 layers of at most 1,024 units"),
    (dict(hidden_dims=(64,) * 5), "at most 4 layers"),
    (dict(latent_dim=1000), "latent size 1000"),
    (dict(epochs=100_000), "100000 epochs"),
])
def test_oversized_models_refused_before_anything_is_built(digits, client, cfg, words):  # noqa: ARG001
    mgr = _mgr(max_running=2)
    base = dict(latent_dim=2, hidden_dims=(16,), epochs=1)
    base.update(cfg)
    with pytest.raises(ValueError, match=words):
        mgr.submit("x", [("x", TrainConfig(**base))], digits, owner="S")
    assert mgr.jobs == {}


@pytest.mark.parametrize(("text", "dims"), [("512,256", (512, 256)), (" 64 , 32 ", (64, 32)), ("1024", (1024,))])
def test_parse_hidden_dims_accepts(text, dims):
    assert parse_hidden_dims(text) == dims


@pytest.mark.parametrize(("text", "words"), [
    ("20000,20000", "1 to 1,024 units"), ("", "whole numbers"), ("512,,256", "whole numbers"), ("-5", "whole numbers"),
    ("1e9", "whole numbers"), ("0", "1 to 1,024"), ("8,8,8,8,8", "1 to 4 hidden layers"), ("9" * 5000, "whole numbers"),
    ("512;256", "whole numbers"),
])
def test_parse_hidden_dims_refuses(text, words):
    with pytest.raises(ValueError, match=words):
        parse_hidden_dims(text)


def test_a_lone_job_gets_the_machines_cores_and_two_jobs_share_them(client, monkeypatch):
    """job_threads: every core for a lone training, the cores split between trainings running at once (this test
    machine: 2 cores, 2 worker slots); VAE_WORKER_THREADS fixes it."""
    from distributed import Event, get_client, get_worker

    def threads():
        return jobs.job_threads(get_client(), get_worker())

    def hold(name):
        Event(name, client=get_client()).wait(30)

    cores = os.cpu_count() or 1
    deadline = time.monotonic() + 60  # jobs of earlier tests still ending
    while any(client.processing().values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert client.submit(threads, pure=False).result(30) == cores  # alone on the machine
    ev = Event(f"threads-{uuid.uuid4().hex[:8]}", client=client)
    held = client.submit(hold, ev.name, pure=False)  # another training is running
    try:
        deadline = time.monotonic() + 10
        while not any(client.processing().values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.submit(threads, pure=False).result(30) == max(1, cores // 2)
    finally:
        ev.set()
        held.result(30)
    monkeypatch.setenv("VAE_WORKER_THREADS", "3")
    assert jobs.job_threads(None, None) == 3
