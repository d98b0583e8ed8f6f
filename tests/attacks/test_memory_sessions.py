"""Memory of closed sessions goes back (issue #13, load: RSS after sessions close back near the level before).

What held it, found with bench/load.py and heap dumps of the server (see ui/memory.py): Streamlit's storage of
disconnected sessions keeps an expired session until its next write; the sessions are reference cycles that only
a full collection frees; a finished training kept its model for as long as the job was listed."""

from __future__ import annotations

import gc
import threading
import types
import uuid
import weakref

import pytest
import torch
from distributed import Client
from streamlit.runtime import memory_session_storage
from streamlit.runtime.caching.ttl_cache import TTLCache
from streamlit.runtime.session_manager import SessionInfo
from streamlit.runtime.websocket_session_manager import WebsocketSessionManager

from ui import memory
from vae_core.digits.train import TrainConfig
from vae_core.jobs import KEPT, RELEASED, JobManager


# ------------------------------------------------------------------ trainings
def _tensors_reachable(root, limit: int = 200_000) -> list[torch.Tensor]:
    """Every tensor reachable from ``root`` through Python references (modules, dataclasses, lists, closures; not
    through the training engine's client, which reaches everything in the process)."""
    seen, stack, found = set(), [root], []
    while stack and len(seen) < limit:
        obj = stack.pop()
        if id(obj) in seen or type(obj) in (type, types.ModuleType, threading.Thread) or isinstance(obj, Client):
            continue
        seen.add(id(obj))
        if isinstance(obj, torch.Tensor):
            found.append(obj)
            continue
        if isinstance(obj, types.FunctionType):  # its closure, not its module's globals
            stack.extend(c.cell_contents for c in obj.__closure__ or () if c.cell_contents is not None)
            continue
        stack.extend(gc.get_referents(obj))
    return found


@pytest.fixture(scope="module")
def digits() -> torch.Tensor:
    return torch.rand(512, 784, generator=torch.Generator().manual_seed(0))


def _manager(**kw) -> JobManager:
    """A manager of its own namespace on the engine: jobs left by other tests in the process are not its jobs."""
    return JobManager(namespace=f"mem-{uuid.uuid4().hex[:12]}", **kw)


def _cfg(epochs: int = 1) -> TrainConfig:
    return TrainConfig(latent_dim=2, hidden_dims=(64,), epochs=epochs, batch_size=64, num_threads=1)


def _run(mgr: JobManager, owner: str, digits, epochs: int = 1):
    job = mgr.submit("m", [("m", _cfg(epochs))], digits, owner=owner, test_images=digits[:64], kind="train_job")
    job.wait(60)
    assert not job.active
    return job


def test_finished_job_of_a_gone_session_holds_no_weights(digits):
    mgr = _manager(max_running=2, owner_ttl_s=3600)
    job = _run(mgr, "S1", digits)
    n_params = sum(p.numel() for p in job.members[0].model.parameters())
    assert job.status == "done" and max(t.numel() for t in _tensors_reachable(job)) >= 784 * 64  # weights held
    assert mgr.release_abandoned() == []  # the owner is still here: the model stays for its pages
    assert job.members[0].model is not None

    mgr.owner_ttl_s = 0.0  # the owner's session is gone
    mgr._alive.clear()  # (the last-seen time is cached for a second)
    assert mgr.release_abandoned() == [job] and mgr.release_abandoned() == []  # once
    held = _tensors_reachable(job)
    assert sum(t.numel() for t in held) < n_params / 100, [tuple(t.shape) for t in held]  # no weights, no data
    m = job.members[0]
    assert m.model is None and m.live_model is None and m.result.model is None
    # what the pages show stays: reports, the result's figures, the test metrics, the status and its message
    assert m.reports and m.result.samples_per_s > 0 and m.test_metrics["neg_elbo"] > 0
    assert job.status == "done" and job.message.endswith(RELEASED)


def test_job_stopped_because_its_session_closed_releases_its_weights(digits):
    mgr = _manager(max_running=2, owner_ttl_s=0.3)
    job = mgr.submit("m", [("m", _cfg(epochs=200))], digits, owner="gone")
    job.wait(60)
    assert job.status == "stopped" and "browser session was closed" in job.message
    assert KEPT not in job.message and job.message.endswith(RELEASED)
    assert job.members[0].model is None and job.members[0].reports


def test_running_job_keeps_its_model(digits):
    mgr = _manager(max_running=2, owner_ttl_s=3600)
    job = mgr.submit("m", [("m", _cfg(epochs=200))], digits, owner="S")
    try:
        assert job.release_models() is False and mgr.release_abandoned() == []
    finally:
        job.stop()
        job.wait(60)
    assert job.status == "stopped" and job.message.endswith(KEPT) and job.members[0].model is not None


# ------------------------------------------------------------------ sessions
class _Session:
    """Stands for an AppSession: an id, a cycle (as the real one has) and something big."""

    def __init__(self, sid: str) -> None:
        self.id = sid
        self.me = self
        self.state = {"train_subset": torch.zeros(10_000, 784)}


def _fake_runtime(monkeypatch, storage) -> WebsocketSessionManager:
    """A real Streamlit session manager around ``storage``, as the running server's (``runtime.get_instance()``).
    Use with the ``janitor_off`` fixture: the janitor thread would see this runtime too."""
    from streamlit import runtime

    mgr = WebsocketSessionManager(storage, uploaded_file_manager=None, script_cache=None,
                                  message_enqueued_callback=None)
    monkeypatch.setattr(runtime, "exists", lambda: True)
    monkeypatch.setattr(runtime, "get_instance", lambda: types.SimpleNamespace(_session_mgr=mgr))
    return mgr


@pytest.fixture
def janitor_off():
    """Hold off the janitor thread an earlier test in this process may have started (ui.memory.start_janitor from
    the sidebar): it would reap this test's sessions through the fake runtime before the test's own sweep."""
    with memory.janitor_lock:
        yield


def test_expired_sessions_are_reaped_and_collected(monkeypatch, janitor_off):
    clock = [0.0]
    storage = memory_session_storage.MemorySessionStorage(maxsize=8, ttl_seconds=10)
    storage._cache = TTLCache(maxsize=8, ttl=10, timer=lambda: clock[0])  # the same cache, on a clock we move
    _fake_runtime(monkeypatch, storage)
    gone = _Session("closed-tab")
    storage.save(SessionInfo(client=None, session=gone))
    ref = weakref.ref(gone)
    del gone

    clock[0] = 5.0  # still within the reconnect time: kept
    assert memory.reap_expired_sessions() == 0 and storage.get("closed-tab") is not None

    clock[0] = 11.0  # expired: Streamlit no longer returns it, but keeps it until its next write
    assert storage.get("closed-tab") is None and storage.list() == []
    gc.collect()
    assert ref() is not None, "Streamlit dropped expired sessions by itself: ui.memory's reaping may be unneeded"

    done = memory.sweep(trim_anyway=False)
    assert done["sessions"] == 1 and done["collected"] is not None  # reaped, then one full collection
    assert ref() is None  # the cycle with its 30 MB is gone
    assert memory.sweep(trim_anyway=False) == {"sessions": 0, "trainings": 0, "collected": None, "trimmed": False}


def test_reaping_without_a_runtime_is_a_no_op(monkeypatch):
    from streamlit import runtime

    monkeypatch.setattr(runtime, "exists", lambda: False)
    assert memory.reap_expired_sessions() == 0
    monkeypatch.setattr(runtime, "exists", lambda: True)
    monkeypatch.setattr(runtime, "get_instance", lambda: object())  # a Streamlit whose internals moved
    assert memory.reap_expired_sessions() == 0


@pytest.mark.skipif(memory._glibc() is None, reason="needs glibc (mallopt, malloc_trim)")
def test_malloc_is_tuned():
    assert memory.tune_malloc() is True
    assert memory.trim() is True
