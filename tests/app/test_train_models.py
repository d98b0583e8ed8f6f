"""AppTest of the Train & Models page: a real (tiny) background training with live curves and a result that
joins the model list; stop; name validation; save, upload (valid, corrupt, pickled) and download."""

from __future__ import annotations

import io
import pickle
import time
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE = "app_pages/train_models.py"


def _open() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _start(at: AppTest, name: str, epochs: int = 1, subset: int = 1000, lr: float | None = None) -> None:
    at.text_input[0].set_value("64")  # hidden layers: small, so the test is quick
    nums = {n.label: n for n in at.number_input}
    nums["epochs"].set_value(epochs)
    if lr is not None:
        nums["learning rate"].set_value(lr)
    at.select_slider[1].set_value(subset)
    at.text_input[1].set_value(name)
    at.button[0].click().run()
    assert not at.exception, [e.message for e in at.exception]


def _wait_job(at: AppTest, timeout: float = 90.0):
    from vae_core.jobs import get_manager

    job = get_manager().get(at.session_state["train_job"])
    assert job is not None
    deadline = time.time() + timeout
    while job.active and time.time() < deadline:
        time.sleep(0.2)
    assert not job.active, "training did not finish in time"
    return job


def test_train_a_tiny_model_and_use_it(user_dir):
    at = _open()
    _start(at, "tiny-test-model")
    job = _wait_job(at)
    assert job.status == "done", job.message
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    text = " ".join(m.value for m in at.success)
    assert "Test −ELBO" in text
    # the live curves: one chart for reconstruction, one for KL
    assert len(at.get("plotly_chart")) >= 2
    import ui

    assert "tiny-test-model" in at.session_state["session_models"]
    model, meta = at.session_state["session_models"]["tiny-test-model"]
    assert meta["dataset"]["n_train"] == 1000
    assert meta["test_metrics"]["neg_elbo"] > 0
    assert model.hidden_dims == (64,)
    # a second run under the same name replaces the session model (it used to keep the first one)
    _start(at, "tiny-test-model")
    _wait_job(at)
    at.run()
    model2, _ = at.session_state["session_models"]["tiny-test-model"]
    assert model2 is not model
    assert ui.SHIPPED_DIR.is_dir()
    # "Use this model now" (it used to raise StreamlitAPIException: the picker's key was set after the picker
    # existed): the sidebar now shows the trained model, on this page and the next
    [b for b in at.button if b.key == "use_trained"][0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.session_state["model_key"] == "session/tiny-test-model"
    assert at.selectbox(key="model_key").value == "session/tiny-test-model"
    at.switch_page("app_pages/latent_map.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="model_key").value == "session/tiny-test-model"


def test_upload_then_use_it_now(user_dir):
    """Upload a valid pair through the page's two uploaders, then "Use it now" (it used to crash)."""
    import ui

    am = ui.get_model("shipped/mnist-z2-beta4")
    w, j = ui.checkpoint_files(am)
    at = _open()
    at.file_uploader(key="up_w").upload("mnist-z2-beta4.safetensors", w)
    at.file_uploader(key="up_j").upload("mnist-z2-beta4.json", j, "application/json")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("Loaded" in s.value for s in at.success), [e.value for e in at.error]
    at.button(key="use_uploaded").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.session_state["model_key"] == "session/mnist-z2-beta4"
    assert at.selectbox(key="model_key").value == "session/mnist-z2-beta4"
    # read once: further reruns reuse the loaded model instead of parsing the upload again
    first = at.session_state["session_models"]["mnist-z2-beta4"][0]
    at.run()
    assert at.session_state["session_models"]["mnist-z2-beta4"][0] is first


def test_stop_button_stops_training(user_dir):
    at = _open()
    _start(at, "to-be-stopped", epochs=200, subset=60_000)
    from vae_core.jobs import get_manager

    job = get_manager().get(at.session_state["train_job"])
    deadline = time.time() + 30
    while not job.snapshot()["members"][0]["reports"] and time.time() < deadline:
        time.sleep(0.1)
    at.run()
    stop = [b for b in at.button if b.key == "stop_train"]
    assert stop, "no stop button while training"
    stop[0].click().run()
    job = _wait_job(at, 60)
    assert job.status == "stopped"
    assert job.progress < 0.5


def test_bad_name_is_refused(user_dir):
    at = _open()
    _start(at, "../escape")
    assert any("Cannot start" in e.value for e in at.error)
    assert "train_job" not in at.session_state or at.session_state["train_job"] is None


def _save_as(at: AppTest, name: str) -> None:
    """Type a name in the Models tab's "save as" box and press Save (elements fetched afresh after each run)."""
    [t for t in at.text_input if t.key == "save_name"][0].set_value(name)
    [b for b in at.button if b.label == "Save on this server"][0].click().run()
    assert not at.exception, [e.message for e in at.exception]


def test_save_refuses_path_tricks_and_duplicates(user_dir):
    at = _open()
    for bad in ("../x", "/etc/passwd", "a/b", ""):
        _save_as(at, bad)
        assert any("model name" in e.value for e in at.error), bad
    assert list(user_dir.iterdir()) == []
    _save_as(at, "my-copy")
    assert not at.error, [e.value for e in at.error]
    assert (user_dir / "my-copy.safetensors").is_file() and (user_dir / "my-copy.json").is_file()
    # the same name again is refused: another session's model is never overwritten silently
    _save_as(at, "my-copy")
    assert any("already saved" in e.value for e in at.error)
    # shipped names are reserved
    _save_as(at, "mnist-z2")
    assert any("shipped model" in e.value for e in at.error)
    # the saved model is offered in the picker
    import ui

    assert "saved/my-copy" in ui.available_models()


def test_download_bytes_load_back():
    import ui
    from vae_core.digits.checkpoint import load_checkpoint_bytes

    am = ui.get_model("shipped/mnist-z2")
    w, j = ui.checkpoint_files(am)
    model, meta = load_checkpoint_bytes(w, j)
    x = torch.rand(4, 784)
    assert torch.equal(model.decode(model.encode(x)[0]), am.model.decode(am.model.encode(x)[0]))


class _Boom:
    def __reduce__(self):
        return (Path.touch, (Path("/tmp/vae-explorer-pwned"),))


@pytest.mark.parametrize("kind", ["corrupt", "pickled"])
def test_bad_uploads_are_rejected(kind):
    """The upload path (ui.load_uploaded) rejects corrupt and pickled files with a clear message and never
    unpickles anything."""
    import ui
    from vae_core import CheckpointError

    am = ui.get_model("shipped/mnist-z2")
    w, j = ui.checkpoint_files(am)
    marker = Path("/tmp/vae-explorer-pwned")
    marker.unlink(missing_ok=True)
    if kind == "corrupt":
        bad = bytearray(w)
        bad[len(bad) // 2] ^= 0xFF
        w = bytes(bad)
    else:
        buf = io.BytesIO()
        torch.save({"x": _Boom()}, buf, pickle_protocol=pickle.HIGHEST_PROTOCOL)
        w = buf.getvalue()
    with pytest.raises(CheckpointError) as err:
        ui.load_uploaded(w, j)
    assert any(w in str(err.value) for w in ("zip archive", "pickle", "checksum", "truncated"))
    assert not marker.exists()


def test_a_job_whose_weights_were_released_still_says_how_it_ended(user_dir):
    """A finished job whose weights were released (its session was gone) keeps its curves and says how it ended
    and that the model is gone, instead of showing nothing below the curves."""
    at = _open()
    _start(at, "released-model")
    job = _wait_job(at)
    assert job.status == "done"
    job.release_models()  # (or the janitor thread already did)
    assert job.released
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    info = " ".join(m.value for m in at.info)
    assert "released with its browser session" in info and "Test −ELBO" in info and "train again" in info
    assert len(at.get("plotly_chart")) >= 2
    assert not [b for b in at.button if b.key == "use_trained"]
