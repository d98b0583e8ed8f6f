"""AppTests of the text and molecule pages (Word Map, Posterior Collapse (Text), Molecule VAE) on the shipped
sequence models; the numbers on the pages are recomputed here independently."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from apptest_helpers import SHIPPED, ok, open_page

from vae_core.sequence import smiles
from vae_core.sequence.checkpoint import load_seq_checkpoint
from vae_core.sequence.metrics import prior_samples
from vae_core.sequence.smiles import load_molecules
from vae_core.sequence.words import load_words

NEEDED = ["words-z2", "words-z16", "words-z16-fix", "words-z16-nofix", "smiles-z32"]


@pytest.fixture(scope="module", autouse=True)
def shipped_sequence_models():
    missing = [n for n in NEEDED if not (SHIPPED / f"{n}.safetensors").exists()]
    assert not missing, f"shipped sequence checkpoints missing: {missing}"


def load(name):
    return load_seq_checkpoint(SHIPPED / name)


def test_word_map_decodes_the_slider_point_and_interpolates():
    at = open_page("app_pages/words_map.py", "mnist-z2")
    model, meta = load("words-z2")
    metrics = [m.value for m in at.metric]
    assert f"{100 * meta['test_metrics']['word_accuracy']:.1f} %" in metrics
    assert f"{meta['test_metrics']['kl']:.2f} nats" in metrics
    at.slider(key="wm_z1").set_value(1.0)
    at.slider(key="wm_z2").set_value(-0.5).run()
    ok(at)
    point = at.session_state["wm_point"]
    assert point["z"] == [1.0, -0.5]
    assert point["greedy"] == model.decode(torch.tensor([[1.0, -0.5]]))[0]
    assert len(point["sampled"]) == 6 and all(set(w) <= set("abcdefghijklmnopqrstuvwxyz") for w in point["sampled"])
    test = load_words().test
    with torch.no_grad():
        mu = model.encode(test)[0].numpy()
    assert point["nearest"] == test[int(np.argmin(((mu - [1.0, -0.5]) ** 2).sum(1)))]
    path = at.session_state["wm_path"]
    assert path["model"] == "words-z16" and (path["a"], path["b"]) == ("water", "fire")
    m16, _ = load("words-z16")
    with torch.no_grad():
        ends = m16.decode(m16.encode(["water", "fire"])[0])
    assert [path["words"][0], path["words"][-1]] == ends
    assert len(path["words"]) == path["steps"] == 8


def test_word_map_refuses_non_words_as_plain_text():
    at = open_page("app_pages/words_map.py", "mnist-z2")
    at.text_input(key="wm_b").input("<b>fire</b>").run()
    ok(at)
    assert any("1–16 letters" in w.value for w in at.warning)
    assert "<b>fire</b>" in [t.value for t in at.text]  # shown verbatim as plain text, never as markup
    assert not any("<b>" in m.value for m in at.markdown)
    at.selectbox(key="wm_interp_model").set_value("words-z2")
    at.text_input(key="wm_b").input("Fire").run()
    ok(at)
    assert at.session_state["wm_path"]["b"] == "fire" and at.session_state["wm_path"]["model"] == "words-z2"
    at.radio(key="wm_path_kind").set_value("spherical").run()
    ok(at)
    path = at.session_state["wm_path"]
    z = np.asarray(path["z"])
    n = np.linalg.norm(z, axis=1)
    assert path["method"] == "spherical" and n.min() >= min(n[0], n[-1]) - 1e-6  # no dip towards z = 0


def test_collapse_page_shows_collapse_and_its_fix():
    at = open_page("app_pages/words_collapse.py", "mnist-z2")
    rep = at.session_state["wc_report"]
    plain, fixed, free = rep["words-z16-nofix"], rep["words-z16-fix"], rep["words-z16"]
    assert plain["kl"] < 0.5 and fixed["kl"] > 5.0      # collapse, and annealing + word dropout against it (#12)
    assert free["kl"] > 5 and free["word_accuracy"] >= 0.90 > fixed["word_accuracy"]   # the numbers
    assert plain["distinct_prior"] < fixed["distinct_prior"]
    # independent KL: closed form from the encoder's outputs
    model, _ = load("words-z16-nofix")
    test = load_words().test
    with torch.no_grad():
        mu, logvar = model.encode(test)
    kl = float((0.5 * (mu ** 2 + logvar.exp() - 1 - logvar)).sum(1).mean())
    assert plain["kl"] == pytest.approx(kl, rel=1e-4, abs=1e-5)
    values = [m.value for m in at.metric]
    assert f"{plain['kl']:.2f} nats" in values and f"{100 * fixed['word_accuracy']:.1f} %" in values
    assert len(at.get("plotly_chart")) == 2 and len(rep) == 3
    assert any("Gumbel-softmax" in m.value for m in at.markdown)


def test_molecule_page_pick_path_and_prior_metrics():
    at = open_page("app_pages/molecules.py", "mnist-z2")
    model, meta = load("smiles-z32")
    corpus = load_molecules()
    pick = at.session_state["mol_pick"]
    assert pick["index"] == 0 and pick["smiles"] == corpus.test[0]
    with torch.no_grad():
        mu = model.encode(corpus.test[:2])[0]
    assert pick["decoded"] == model.decode(mu[:1], require_end=True)[0]
    assert pick["valid"] == smiles.is_valid(pick["decoded"])
    path = at.session_state["mol_path"]
    assert path["decoded"][0] == pick["decoded"] and path["decoded"][-1] == model.decode(mu[1:2], require_end=True)[0]
    assert path["valid"] == [smiles.is_valid(s) for s in path["decoded"]]
    prior = at.session_state["mol_prior"]
    ref = smiles.generation_metrics(prior_samples(model, 200, 0, require_end=True), set(corpus.train))
    for k in ("validity", "uniqueness", "novelty"):
        assert prior[k] == pytest.approx(ref[k])
    assert f"{100 * meta['test_metrics']['recon_validity']:.1f} %" in [m.value for m in at.metric]
    at.selectbox(key="mol_prop").set_value("MW")
    at.slider(key="mol_steps").set_value(4)
    at.radio(key="mol_mode").set_value("sample").run()
    ok(at)
    assert len(at.session_state["mol_path"]["decoded"]) == 4 and at.session_state["mol_prior"]["mode"] == "sample"
    assert not at.error
