"""Faults (#21), with real processes and a real small disk:

* ``kill -9`` of a process in the middle of saving models (the same writer "Save on this server" uses), at
  spread-out moments: afterwards no half-written model is listed, every listed model loads, the model saved
  before is byte for byte intact, the next save cleans the debris, and the app starts cleanly on that folder;
* ``VAE_USER_MODELS`` on a full 1 MiB tmpfs and on a read-only one (mounted for the test; needs root, which the
  test says when it falls back to a simulated ENOSPC / EROFS): a message, nothing half-written, nothing lost.

(``kill -9`` of the server during a training: tests/browser/test_faults_browser.py.)
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE = "app_pages/train_models.py"

_SAVER = """
import os, sys, time, torch
from vae_core.digits.checkpoint import save_checkpoint
from vae_core.digits.model import VAE
folder = sys.argv[1]
_fsync, _n = os.fsync, [0]
def fsync(fd):  # says where the save is, and lingers there so the kill lands inside it
    _fsync(fd)
    _n[0] += 1
    print(f"fsync {_n[0]}", flush=True)
    time.sleep(0.3)
os.fsync = fsync
torch.manual_seed(1)
model = VAE(latent_dim=8, hidden_dims=(1024, 1024, 1024))  # ~17 MB of float32: a save takes a while
print("ready", flush=True)
i = 0
while True:
    save_checkpoint(f"{folder}/victim-{i}", model, {"name": f"victim-{i}"}, overwrite=False)
    i += 1
"""


def _listed_and_loadable(folder: Path) -> list[str]:
    from vae_core import load_checkpoint
    from vae_core.digits.checkpoint import list_checkpoints

    names = []
    for stem in list_checkpoints(folder):
        load_checkpoint(stem)  # whole and valid, or this raises
        names.append(stem.name)
    return names


def _app_starts_cleanly(folder: Path, monkeypatch) -> AppTest:
    import ui
    import ui.state

    monkeypatch.setattr(ui.state, "USER_DIR", folder)
    monkeypatch.setattr(ui, "USER_DIR", folder)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_kill_9_during_saves_leaves_only_whole_models(tmp_path, monkeypatch):
    from vae_core.digits.checkpoint import save_checkpoint
    from vae_core.digits.model import VAE
    from vae_core.pair_io import reap_orphans

    torch.manual_seed(0)
    save_checkpoint(tmp_path / "keeper", VAE(latent_dim=2, hidden_dims=(32,)), {"name": "keeper"})
    keeper = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    debris_seen = 0
    # killed while the weights' temporary file is written (fsync 1), with both temporary files written (2), right
    # after the commit (3), in the second save (4, 5), and at plain times
    points = [("fsync", 1), ("fsync", 2), ("fsync", 3), ("fsync", 4), ("fsync", 5), ("time", 0.1), ("time", 0.9)]
    for k, (how, when) in enumerate(points):
        proc = subprocess.Popen([sys.executable, "-c", _SAVER, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE,
                                text=True, start_new_session=True)
        try:
            assert proc.stdout.readline().strip() == "ready"
            if how == "time":
                time.sleep(when)
            else:
                while proc.stdout.readline().strip() != f"fsync {when}":
                    pass
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(30)
        debris_seen += len(list(tmp_path.glob(".*.tmp"))) + len(
            [p for p in tmp_path.glob("*.safetensors") if not p.with_suffix(".json").exists()])
        names = _listed_and_loadable(tmp_path)  # nothing half-written is listed; all listed load
        assert "keeper" in names
        assert {n: (tmp_path / n).read_bytes() for n in keeper} == keeper, f"kill {k}: the earlier model changed"
        for p in tmp_path.glob("victim-*.json"):
            p.rename(p.with_name(f"done{k}-{p.name}"))  # free the names for the next round (JSON first ...)
        for p in tmp_path.glob("victim-*.safetensors"):
            if (tmp_path / f"done{k}-{p.stem}.json").exists():
                p.rename(p.with_name(f"done{k}-{p.name}"))  # ... then its weights: both renamed, no orphan
    # the debris of the kills does not survive the next write (it is old enough to be reaped)
    old = time.time() - 3600
    for p in tmp_path.iterdir():
        os.utime(p, (old, old))
    reap_orphans(tmp_path)
    assert not list(tmp_path.glob(".*.tmp"))
    assert all(p.with_suffix(".json").exists() for p in tmp_path.glob("*.safetensors"))
    listed = len(_listed_and_loadable(tmp_path))
    print(f"\n{len(points)} kills, debris files seen after them: {debris_seen}; models listed (all load): {listed}")
    assert debris_seen >= 3  # the kills did land inside saves
    at = _app_starts_cleanly(tmp_path, monkeypatch)
    assert "keeper (saved)" in at.selectbox(key="save_pick").options


@contextlib.contextmanager
def _small_tmpfs(where: Path, size: str = "1m"):
    """A real tmpfs of ``size`` mounted at ``where`` (root only); yields False when it cannot be mounted."""
    where.mkdir(parents=True, exist_ok=True)
    ok = os.geteuid() == 0 and subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                                              capture_output=True).returncode == 0
    try:
        yield ok
    finally:
        if ok:
            subprocess.run(["umount", "-l", str(where)], capture_output=True)


def _save(at: AppTest, name: str) -> tuple[list[str], list[str]]:
    at.text_input(key="save_name").set_value(name)
    [b for b in at.button if b.label == "Save on this server"][0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    return [e.value.replace("\\", "") for e in at.error], [s.value.replace("\\", "") for s in at.success]


def _simulate(monkeypatch, code: int) -> None:
    from vae_core import pair_io

    def fail(folder, final_name, data):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(pair_io, "_write_tmp", fail)


def test_a_full_small_tmpfs_and_a_read_only_one(tmp_path, monkeypatch):
    disk = tmp_path / "disk"
    with _small_tmpfs(disk) as real:
        if not real:
            print("\n(no root: ENOSPC and EROFS are simulated)")
        at = _app_starts_cleanly(disk, monkeypatch)
        errors, ok = _save(at, "small-one")  # mnist-z2 (the default pick) saved as float32: ~2.7 MB
        if real:
            assert not ok and errors and "the disk is full" in errors[0] and "nothing was saved" in errors[0], errors
            assert list(disk.iterdir()) == []
            from vae_core.digits.checkpoint import save_checkpoint
            from vae_core.digits.model import VAE

            save_checkpoint(disk / "tiny", VAE(latent_dim=2, hidden_dims=(8,)), {"name": "tiny"})  # ~50 kB: fits
            with (disk / "filler").open("wb") as f, contextlib.suppress(OSError):  # fill what is left
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            at.run()
            at.selectbox(key="save_pick").set_value("saved/tiny").run()
            errors, ok = _save(at, "tiny-copy")
            assert not ok and "the disk is full" in errors[0], errors
            assert sorted(p.name for p in disk.iterdir()) == ["filler", "tiny.json", "tiny.safetensors"]
            (disk / "filler").unlink()
            errors, ok = _save(at, "tiny-copy")  # space again: the same name works
            assert not errors and ok
            subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        else:
            _simulate(monkeypatch, errno.ENOSPC)
            assert not ok
        before = {p.name: p.read_bytes() for p in disk.iterdir()}
        # read-only: the app starts, lists and loads what is there, a save says why it did not happen
        if not real:
            _simulate(monkeypatch, errno.EROFS)
        fresh = _app_starts_cleanly(disk, monkeypatch)
        errors, ok = _save(fresh, "on-read-only")
        assert not ok and errors and "read-only file system" in errors[0], errors
        assert {p.name: p.read_bytes() for p in disk.iterdir()} == before
        if real:
            assert {"tiny (saved)", "tiny-copy (saved)"} <= set(fresh.selectbox(key="save_pick").options)
            # the browser that saved tiny-copy may delete it, but the disk says no: a message, nothing lost
            at.run()
            at.selectbox(key="save_pick").set_value("saved/tiny-copy").run()
            (delete,) = [b for b in at.button if b.key == "delete_saved"]
            delete.click().run()
            assert not at.exception, [e.message for e in at.exception]
            assert any("Could not delete tiny-copy" in e.value.replace("\\", "") for e in at.error), at.error
            assert {p.name: p.read_bytes() for p in disk.iterdir()} == before
