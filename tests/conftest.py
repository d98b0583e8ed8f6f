"""Shared test set-up: data location, thread count, common fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
_shared = ROOT.parent / "shared" / "datasets"
if not os.environ.get("VAE_DATA_DIR") and (_shared / "MNIST" / "raw").is_dir():
    os.environ["VAE_DATA_DIR"] = str(_shared)
os.environ.setdefault("VAE_USER_MODELS", str(Path(os.environ.get("TMPDIR", "/tmp")) / "vae-explorer-test-models"))
torch.set_num_threads(2)

SHIPPED = ROOT / "checkpoints"
SHIPPED_NAMES = ["mnist-z2", "mnist-z20", "mnist-cvae-z2", "mnist-z2-beta0.5", "mnist-z2-beta4", "mnist-z2-beta16",
                 "mnist-z20-cb", "mnist-z20-bin"]


@pytest.fixture
def user_dir():
    """The server's user-model folder (VAE_USER_MODELS: a temporary folder under the tests), emptied before and
    after the test."""
    import ui

    d = Path(ui.USER_DIR)
    d.mkdir(parents=True, exist_ok=True)
    for f in d.iterdir():
        f.unlink()
    yield d
    for f in d.iterdir():
        f.unlink()


@pytest.fixture
def one_thread():
    """torch on one thread for the test: small models and GRUs run faster and steadier single-threaded on a busy
    2-core machine than on two threads (no oversubscription).  Modules opt in with
    ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def words():
    """The word corpus (train/test split of the wordfreq list), loaded once per module."""
    from vae_core.sequence.words import load_words

    return load_words()


@pytest.fixture
def repo_root() -> Path:
    return ROOT


@pytest.fixture
def shipped_dir() -> Path:
    return SHIPPED


def shipped(name: str) -> Path:
    """Path stem of a shipped checkpoint; fails (not skips) when it is missing — they are part of the repo."""
    p = SHIPPED / name
    assert p.with_suffix(".safetensors").is_file(), f"shipped checkpoint {name} is missing"
    return p


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI (CI=true) a skipped test is a failure: CI has the full MNIST, the shipped checkpoints and
    Chromium, so a skip there can only hide something missing."""
    outcome = yield
    rep = outcome.get_result()
    if os.environ.get("CI") and rep.skipped and not hasattr(rep, "wasxfail"):
        rep.outcome = "failed"
        rep.longrepr = f"skipped under CI, which counts as a failure: {rep.longrepr}"
