"""vae_core.jobs hardening: one job per owner, owners that vanish, a maximum run time, bounded sizes, slots freed
on every path."""

from __future__ import annotations

import time

import pytest
import torch

from vae_core.jobs import CapacityError, JobManager, OwnerBusyError, parse_hidden_dims
from vae_core.train import TrainConfig


@pytest.fixture(scope="module")
def digits() -> torch.Tensor:
    return torch.rand(2048, 784, generator=torch.Generator().manual_seed(0))


def _cfg(epochs: int = 200, **kw) -> TrainConfig:
    kw.setdefault("hidden_dims", (16,))
    return TrainConfig(latent_dim=2, epochs=epochs, batch_size=32, num_threads=1, **kw)


def _wait(job, timeout: float = 60.0) -> None:
    job.thread.join(timeout)
    assert not job.thread.is_alive(), "the job did not end"


def test_one_active_job_per_owner_and_the_first_keeps_running(digits):
    mgr = JobManager(max_running=4)
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


def test_server_cap_still_applies(digits):
    mgr = JobManager(max_running=1)
    j = mgr.submit("a", [("a", _cfg())], digits, owner="S1")
    try:
        with pytest.raises(CapacityError, match="limit is 1"):
            mgr.submit("b", [("b", _cfg())], digits, owner="S2")
    finally:
        j.stop()
        _wait(j)
    assert mgr.running() == []


def test_job_of_a_vanished_owner_stops_itself(digits):
    mgr = JobManager(max_running=2, owner_ttl_s=0.3)
    job = mgr.submit("a", [("a", _cfg())], digits, owner="gone")
    mgr.touch("gone")  # the session was there at the start, then never again
    _wait(job, timeout=30)
    assert job.status == "stopped" and "browser session was closed" in job.message
    # nobody is left to use the weights: they are released, the reports stay (tests/attacks/test_memory_sessions)
    assert job.members[0].model is None and job.members[0].reports


def test_job_of_a_present_owner_keeps_running(digits):
    mgr = JobManager(max_running=2, owner_ttl_s=0.3)
    job = mgr.submit("a", [("a", _cfg())], digits, owner="here")
    try:
        for _ in range(8):
            mgr.touch("here")
            time.sleep(0.1)
        assert job.active
    finally:
        job.stop()
        _wait(job)


def test_maximum_run_time(digits):
    mgr = JobManager(max_running=2, max_seconds=0.2)
    job = mgr.submit("a", [("a", _cfg())], digits, owner="S")
    _wait(job, timeout=30)
    assert job.status == "stopped" and "maximum run time" in job.message


def test_slot_freed_when_the_training_raises(digits, monkeypatch):
    import vae_core.jobs as jobs

    class Boom:
        def __init__(self, *a, **k):
            raise MemoryError("simulated")  # not an Exception subclass the job expects; still freed

    monkeypatch.setattr(jobs, "Trainer", Boom)
    mgr = JobManager(max_running=1)
    job = mgr.submit("a", [("a", _cfg())], digits, owner="S")
    _wait(job)
    assert job.status == "error" and "MemoryError" in job.message
    assert mgr.running() == [] and mgr.active_for("S") is None
    assert job.images is None  # the job's copy of the data is released


def test_slot_freed_when_no_thread_can_start(digits, monkeypatch):
    import threading

    def no_start(self):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", no_start)
    mgr = JobManager(max_running=1)
    with pytest.raises(CapacityError, match="could not start"):
        mgr.submit("a", [("a", _cfg())], digits, owner="S")
    assert mgr.jobs == {} and mgr.running() == []


@pytest.mark.parametrize(("cfg", "words"), [
    (dict(hidden_dims=(20000, 20000)), "at most 4 layers of at most 1,024 units"),
    (dict(hidden_dims=(64,) * 5), "at most 4 layers"),
    (dict(latent_dim=1000), "latent size 1000"),
    (dict(epochs=100_000), "100000 epochs"),
])
def test_oversized_models_refused_before_anything_is_built(digits, cfg, words):
    mgr = JobManager(max_running=2)
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
