"""Attack suite (#13), trainings: settings that would exhaust the server are refused before anything is built;
one session holds at most one slot and cannot orphan its own job; a reloaded tab finds its training again; the
job of a tab that is gone stops itself; odd but legal settings (lr 10) end with a message, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from vae_core.digits.train import TrainConfig
from vae_core.jobs import get_manager

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE = "app_pages/train_models.py"


@pytest.fixture(autouse=True)
def no_jobs_left():
    """Every test leaves the process-wide manager with no running job (and the default owner TTL)."""
    yield
    mgr = get_manager()
    for j in list(mgr.jobs.values()):
        j.stop()
    for j in list(mgr.jobs.values()):
        j.wait(60)
    mgr.owner_ttl_s = None  # the next app run sets it again from the server option
    assert not mgr.running()


def _open(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(query)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _start(at: AppTest, name: str, hidden: str = "64", epochs: int = 1, subset: int = 1000,
           lr: float | None = None) -> None:
    [t for t in at.text_input if t.label == "hidden layers"][0].set_value(hidden)
    [t for t in at.text_input if t.label == "name for the model"][0].set_value(name)
    nums = {n.label: n for n in at.number_input}
    nums["epochs"].set_value(epochs)
    if lr is not None:
        nums["learning rate"].set_value(lr)
    [s for s in at.select_slider if s.label == "training subset"][0].set_value(subset)
    [b for b in at.button if b.label == "Start training"][0].click().run()
    assert not at.exception, [e.message for e in at.exception]


def _messages(at: AppTest) -> str:
    return " | ".join(e.value.replace("\\", "") for e in list(at.error) + list(at.warning))


@pytest.mark.parametrize(("hidden", "words"), [
    ("20000,20000", "each hidden layer must have 1 to 1,024 units"),
    ("100000", "1 to 1,024 units"),
    ("64,64,64,64,64", "give 1 to 4 hidden layers"),
    ("abc", "whole numbers separated by commas"),
    ("", "whole numbers"),
    ("512;256", "whole numbers"),
    ("-5", "whole numbers"),
    ("0", "1 to 1,024 units"),
])
def test_oversized_or_malformed_hidden_layers_refused_before_anything_is_built(hidden, words):
    at = _open()
    before = set(get_manager().jobs)
    _start(at, "too-big", hidden=hidden)
    assert "Cannot start" in _messages(at) and words in _messages(at), _messages(at)
    assert set(get_manager().jobs) == before


def test_hidden_layer_field_is_length_limited():
    at = _open()
    field = [t for t in at.text_input if t.label == "hidden layers"][0]
    assert field.max_chars == 60


def test_epochs_and_latent_size_out_of_range_refused():
    at = _open()
    nums = {n.label: n for n in at.number_input}
    assert nums["epochs"].min == 1 and nums["epochs"].max == 200  # the form cannot ask for 0 epochs
    assert max(int(o) for o in [s for s in at.selectbox if s.label == "latent size"][0].options) <= 256
    # and the engine refuses what the form cannot send
    for bad, words in ((dict(epochs=0), "epochs"), (dict(latent_dim=0), "latent")):
        with pytest.raises(ValueError, match=words):
            TrainConfig(**bad)
    with pytest.raises(ValueError, match="latent size 1000"):
        import torch

        get_manager().submit("x", [("x", TrainConfig(latent_dim=1000, epochs=1))], torch.rand(8, 784), owner="t")


def test_learning_rate_10_ends_with_a_message_not_a_traceback():
    at = _open()
    _start(at, "lr-ten", lr=10.0)
    job = get_manager().get(at.session_state["train_job"])
    job.wait(120)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert job.status in ("diverged", "done"), job.message
    shown = " ".join(e.value for e in list(at.error) + list(at.success))
    assert "Test −ELBO" in shown or job.message.split(":")[0] in shown.replace("\\", "")


def test_one_slot_per_session_start_twice_keeps_the_first_job():
    at = _open()
    _start(at, "first-run", epochs=200, subset=60_000)
    first = at.session_state["train_job"]
    _start(at, "second-run", epochs=1)
    assert "already training 'first-run'" in _messages(at), _messages(at)
    assert at.session_state["train_job"] == first  # the first job was not orphaned
    at.run()
    assert [b for b in at.button if b.key == "stop_train"], "the first job lost its stop button"
    from ui.owner import SECRET_KEY, owner_hash

    mine = [j for j in get_manager().jobs.values() if j.owner == owner_hash(at.session_state[SECRET_KEY]) and j.active]
    assert len(mine) == 1


def test_a_reloaded_tab_finds_its_training_and_can_stop_it(monkeypatch):
    import ui.owner

    at = _open()
    _start(at, "survives-reload", epochs=200, subset=60_000)
    job_id, secret = at.session_state["train_job"], at.session_state[ui.owner.SECRET_KEY]
    assert ui.owner.valid_secret(secret) and get_manager().get(job_id).owner == ui.owner.owner_hash(secret)
    assert not at.query_params.get("sid"), "the secret (or any owner token) must not be in the URL"
    # a reload: a new Streamlit session (new session_state) whose browser sends the cookie the page stored
    monkeypatch.setattr(ui.owner, "browser_secret", lambda: secret)
    again = _open()
    assert again.session_state[ui.owner.SECRET_KEY] == secret
    assert again.session_state["train_job"] == job_id
    stop = [b for b in again.button if b.key == "stop_train"]
    assert stop, "no stop button after the reload"
    stop[0].click().run()
    job = get_manager().get(job_id)
    job.wait(60)
    assert job.status == "stopped"
    # another browser (another cookie) sees none of it
    monkeypatch.setattr(ui.owner, "browser_secret", lambda: None)
    other = _open()
    assert other.session_state[ui.owner.SECRET_KEY] != secret
    assert "train_job" not in other.session_state
    assert any("No training started" in i.value for i in other.info)


def test_a_leaked_link_hands_over_nothing(monkeypatch):
    """#21: browser B opening A's link, with A's old-style ?sid= token (the owner hash, or even the secret itself)
    in it, sees no curves, no Stop and no "Use this model now" of A's training; the URL token is dropped."""
    import ui.owner

    a = _open()
    _start(a, "victim-model", epochs=200, subset=60_000)
    job = get_manager().get(a.session_state["train_job"])
    secret = a.session_state[ui.owner.SECRET_KEY]
    for token in (ui.owner.owner_hash(secret), secret, job.id):
        b = _open(sid=token)
        assert "sid" not in b.query_params
        assert b.session_state[ui.owner.SECRET_KEY] != secret
        assert "train_job" not in b.session_state
        assert not [x for x in b.button if x.key in ("stop_train", "use_trained")]
        assert not any("victim-model" in m.value for m in b.markdown)
        # even a session whose state names A's job (a forged session_state) gets nothing of it
        b.session_state["train_job"] = job.id
        b.run()
        assert not [x for x in b.button if x.key in ("stop_train", "use_trained")]
        assert any("No training started" in i.value for i in b.info)
    assert job.active, "B stopped A's training"


def test_a_forged_cookie_is_replaced_not_trusted(monkeypatch):
    import ui.owner

    monkeypatch.setattr(ui.owner, "browser_secret", lambda: None)  # what browser_secret makes of a bad cookie
    at = _open(sid="../../etc/passwd")
    assert ui.owner.valid_secret(at.session_state[ui.owner.SECRET_KEY])
    for bad in ("../../etc/passwd", "A" * 64, "0" * 63, True, 7, None, "0" * 64 + "\n"):
        assert not ui.owner.valid_secret(bad)


def test_the_owner_ttl_follows_streamlits_disconnected_session_ttl():
    import streamlit as st

    from ui.jobs_view import HEARTBEAT_S

    _open()
    assert get_manager().owner_ttl_s == st.get_option("server.disconnectedSessionTTL") + 2 * HEARTBEAT_S


def test_the_job_of_a_closed_tab_stops_itself():
    at = _open()
    _start(at, "abandoned", epochs=200, subset=60_000)
    job = get_manager().get(at.session_state["train_job"])
    assert job.active
    get_manager().owner_ttl_s = 0.5  # as if server.disconnectedSessionTTL were 0.5 s; the tab is never run again
    job.wait(60)
    assert job.status == "stopped" and "browser session was closed" in job.message
    assert job.members[0].model is None and job.members[0].reports  # the weights go with the session, the curves stay
    # the slot is free again for everyone
    assert not get_manager().running()
