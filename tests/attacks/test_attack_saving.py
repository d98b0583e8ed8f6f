"""Attack suite (#13), saving across sessions: one session can never overwrite, shadow or block another's saved
model; a full or read-only disk gives a message and leaves nothing; killed saves leave nothing that blocks a name;
hostile files put into the shared folder never reach the pages."""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE = "app_pages/train_models.py"


def _open(pick: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page(PAGE).run()
    if pick:
        at.selectbox(key="save_pick").set_value(pick).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _save(at: AppTest, name: str) -> tuple[list[str], list[str]]:
    at.text_input(key="save_name").set_value(name)
    [b for b in at.button if b.label == "Save on this server"][0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    return [e.value.replace("\\", "") for e in at.error], [s.value.replace("\\", "") for s in at.success]


def _snapshot(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


def test_no_session_overwrites_or_shadows_another(user_dir):
    a = _open()
    errors, ok = _save(a, "victim")
    assert not errors and ok and "Saved as victim" in ok[0]
    before = _snapshot(user_dir)
    assert sorted(before) == [".victim.owner", "victim.json", "victim.safetensors"]  # + who saved it (#21)

    b = _open(pick="shipped/mnist-z2-beta4")  # another browser session, another model
    attempts = {
        "victim.json": "must not end in",  # the old bug: stripped to 'victim' after checking 'victim.json'
        "victim.safetensors": "must not end in",
        "victim": "already saved",
        "VICTIM": "already saved",  # look-alike (and the same file on case-insensitive disks)
        " victim ": "already saved",
        "mnist-z2.json": "must not end in",  # the old bug published a saved model called mnist-z2
        "mnist-z2": "shipped model",
        "MNIST-Z2": "shipped model",
        "../victim": "model name",
        "victim/../x": "model name",
    }
    for name, words in attempts.items():
        errors, ok = _save(b, name)
        assert not ok, (name, ok)
        assert errors and words in errors[0], (name, errors)
    assert _snapshot(user_dir) == before  # both of A's files byte for byte
    meta = json.loads((user_dir / "victim.json").read_text())
    assert meta["model"]["hidden_dims"] == [512, 256] and meta["beta"] == 1.0  # still A's model (mnist-z2)
    # A's session is unaffected: it still works and still lists its save
    a.run()
    assert not a.exception and "victim (saved)" in a.selectbox(key="save_pick").options


@pytest.mark.parametrize(("code", "words"), [(errno.ENOSPC, "the disk is full"),
                                            (errno.EROFS, "read-only file system"),
                                            (errno.EDQUOT, "quota")])
def test_full_or_read_only_disk_gives_a_message_and_leaves_nothing(user_dir, monkeypatch, code, words):
    from vae_core import pair_io

    def no_space(folder, final_name, data):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(pair_io, "_write_tmp", no_space)
    at = _open()
    errors, ok = _save(at, "wont-fit")
    assert not ok and errors and words in errors[0] and "nothing was saved" in errors[0]
    assert list(user_dir.iterdir()) == []
    monkeypatch.undo()
    errors, ok = _save(at, "wont-fit")  # space again: the same name works (nothing was left to block it)
    assert not errors and ok


def _delete_buttons(at: AppTest) -> list:
    return [b for b in at.button if b.key == "delete_saved"]


def test_a_saved_model_is_deleted_only_by_the_browser_that_saved_it(user_dir, monkeypatch):
    """#21: the saver's browser (its owner secret) may delete its model; another browser, or a link, may not; the
    folder holds the secret's SHA-256, never the secret; a model saved again under a freed name is not the old
    saver's to delete."""
    import ui.owner

    a = _open()
    errors, ok = _save(a, "mine")
    assert not errors and ok
    secret = a.session_state[ui.owner.SECRET_KEY]
    record = json.loads((user_dir / ".mine.owner").read_text())
    assert record["owner_sha256"] == ui.owner.owner_hash(secret)
    assert all(secret.encode() not in p.read_bytes() for p in user_dir.iterdir())  # the hash only
    assert "owner" not in (user_dir / "mine.json").read_text()  # the download carries nothing of it

    b = _open(pick="saved/mine")  # another browser
    assert not _delete_buttons(b)
    assert (user_dir / "mine.json").exists()
    b2 = _open(pick="saved/mine")
    b2.session_state[ui.owner.SECRET_KEY] = "f" * 64  # a guessed secret
    b2.run()
    assert not _delete_buttons(b2)

    a.run()  # the list as it is now
    a.selectbox(key="save_pick").set_value("saved/mine").run()
    (button,) = _delete_buttons(a)
    button.click().run()
    assert not a.exception, [e.message for e in a.exception]
    assert any("Deleted mine" in x.value for x in a.success)
    assert list(user_dir.iterdir()) == []  # JSON, weights and the owner record
    assert "saved/mine" not in a.selectbox(key="save_pick").options

    # the name is free again: B saves its own "mine"; A's stale record (if one were left) would not match it
    (user_dir / ".mine.owner").write_text(json.dumps(record))
    errors, ok = _save(b, "mine")
    assert not errors and ok
    assert json.loads((user_dir / ".mine.owner").read_text())["owner_sha256"] != record["owner_sha256"]
    (user_dir / ".mine.owner").write_text(json.dumps(record))  # A's hash over B's weights: still not A's
    a.run()  # the list as it is now
    a.selectbox(key="save_pick").set_value("saved/mine").run()
    assert not _delete_buttons(a)


def test_debris_of_killed_saves_neither_blocks_a_name_nor_survives(user_dir):
    old = time.time() - 3600
    (user_dir / "ghost.safetensors").write_bytes(b"weights of a save killed before its JSON")
    (user_dir / ".ghost.json.k1ll3d.tmp").write_bytes(b"{")
    (user_dir / ".other.safetensors.x.tmp").write_bytes(b"\0" * 100)
    for p in user_dir.iterdir():
        os.utime(p, (old, old))
    at = _open()
    assert "saved/ghost" not in at.selectbox(key="save_pick").options  # an orphan is not a model
    errors, ok = _save(at, "ghost")
    assert not errors and ok
    assert sorted(p.name for p in user_dir.iterdir()) == [".ghost.owner", "ghost.json", "ghost.safetensors"]
    from vae_core import load_checkpoint

    load_checkpoint(user_dir / "ghost")  # complete and valid


def _hostile_saved(user_dir: Path, name: str, change: dict, model_change: dict | None = None) -> None:
    """A pair in the shared folder as an older version (or a hand copy) might have left it: not schema-checked."""
    from vae_core.digits.checkpoint import checkpoint_bytes
    from vae_core.digits.model import VAE

    torch.manual_seed(0)
    w, j = checkpoint_bytes(VAE(latent_dim=2, hidden_dims=(16,)), {"name": name})
    d = json.loads(j)
    d.update(change)
    if model_change:
        d["model"].update(model_change)
    (user_dir / f"{name}.safetensors").write_bytes(w)
    (user_dir / f"{name}.json").write_text(json.dumps(d))


def test_hostile_saved_models_never_reach_the_pages(user_dir):
    _hostile_saved(user_dir, "evil-beta", {"beta": "abc"})
    _hostile_saved(user_dir, "evil-epochs", {"epochs": "![](http://127.0.0.1:9/x.png)"})
    _hostile_saved(user_dir, "evil-input", {}, {"input_dim": 100})
    _hostile_saved(user_dir, "fine", {})
    (user_dir / "![x](y).safetensors").write_bytes(b"x")
    (user_dir / "![x](y).json").write_text("{}")
    import ui

    models = ui.available_models()
    assert "saved/fine" in models
    assert not [k for k in models if "evil" in k or "!" in k]
    # a session that had picked one (e.g. before the file was replaced) falls back to the default model
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["model_key"] = "saved/evil-beta"
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="model_key").value == "shipped/mnist-z2"
    for page in ("app_pages/latent_map.py", "app_pages/decoder_sliders.py", PAGE):
        at.switch_page(page).run()
        assert not at.exception, (page, [e.message for e in at.exception])


def test_save_limit_of_the_shared_folder(user_dir, monkeypatch):
    import ui.state

    monkeypatch.setattr(ui.state, "MAX_SAVED_MODELS", 1)
    at = _open()
    assert _save(at, "first")[1]
    errors, ok = _save(at, "second")
    assert not ok and "its limit" in errors[0]
    assert sorted(p.name for p in user_dir.iterdir()) == [".first.owner", "first.json", "first.safetensors"]
