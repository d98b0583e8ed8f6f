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


def metric(at, label: str, i: int = 0) -> str:
    """The value shown by the i-th metric called ``label`` on the page."""
    return [m.value for m in at.metric if m.label == label][i]


def table(at, column: str):
    """The shown table that has ``column``."""
    return next(df.value for df in at.dataframe if column in df.value.columns)


def test_word_map_decodes_the_slider_point_and_interpolates():
    at = open_page("app_pages/words_map.py", "mnist-z2")
    model, meta = load("words-z2")
    metrics = [m.value for m in at.metric]
    assert f"{100 * meta['test_metrics']['word_accuracy']:.1f} %" in metrics
    assert f"{meta['test_metrics']['kl']:.2f} nats" in metrics
    at.slider(key="wm_z1").set_value(1.0)
    at.slider(key="wm_z2").set_value(-0.5).run()
    ok(at)
    assert metric(at, "greedy decoding") == model.decode(torch.tensor([[1.0, -0.5]]))[0]
    sampled = list(table(at, "sampled word")["sampled word"])
    assert len(sampled) == 6 and all(set(w) <= set("abcdefghijklmnopqrstuvwxyz") for w in sampled)
    test = load_words().test
    with torch.no_grad():
        mu = model.encode(test)[0].numpy()
    assert test[int(np.argmin(((mu - [1.0, -0.5]) ** 2).sum(1)))] in [t.value for t in at.text]  # nearest μ
    assert at.selectbox(key="wm_interp_model").value == "words-z16"
    assert (at.text_input(key="wm_a").value, at.text_input(key="wm_b").value) == ("water", "fire")
    m16, _ = load("words-z16")
    with torch.no_grad():
        ends = m16.decode(m16.encode(["water", "fire"])[0])
    words = list(table(at, "decoded word")["decoded word"])
    assert [words[0], words[-1]] == ends
    assert len(words) == at.slider(key="wm_steps").value == 8


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
    m2, _ = load("words-z2")
    with torch.no_grad():
        fire = m2.decode(m2.encode(["fire"])[0])[0]
    assert list(table(at, "decoded word")["decoded word"])[-1] == fire  # "Fire" read as "fire", by words-z2
    at.radio(key="wm_path_kind").set_value("spherical").run()
    ok(at)
    n = np.asarray(table(at, "|z_t|")["|z_t|"])  # the norms the page shows (2 decimals)
    assert n.min() >= min(n[0], n[-1]) - 0.01  # no dip towards z = 0
    np.testing.assert_allclose(n, great_circle_norms(m2, "water", "fire", len(n)), atol=0.0051)


def great_circle_norms(model, a: str, b: str, steps: int) -> np.ndarray:
    """|z_t| on z_t = [sin((1 - t)Ω) μ_a + sin(tΩ) μ_b] / sin Ω between two words' posterior means, computed
    here independently of the page."""
    with torch.no_grad():
        mu = model.encode([a, b])[0].numpy().astype(np.float64)
    om = np.arccos(np.clip(mu[0] @ mu[1] / np.linalg.norm(mu[0]) / np.linalg.norm(mu[1]), -1, 1))
    t = np.linspace(0, 1, steps)[:, None]
    return np.linalg.norm((np.sin((1 - t) * om) * mu[0] + np.sin(t * om) * mu[1]) / np.sin(om), axis=1)


def test_collapse_page_shows_collapse_and_its_fix():
    at = open_page("app_pages/words_collapse.py", "mnist-z2")
    names = ["words-z16-nofix", "words-z16-fix", "words-z16"]  # the page's three columns, left to right
    rep = {n: {"kl": float(metric(at, "rate KL(q‖p)", i).split()[0]),
               "word_accuracy": float(metric(at, "test words rebuilt exactly", i).split()[0]) / 100,
               "distinct_prior": float(metric(at, "distinct words from 200 prior draws", i).split()[0]) / 100}
           for i, n in enumerate(names)}
    plain, fixed, free = rep["words-z16-nofix"], rep["words-z16-fix"], rep["words-z16"]
    assert plain["kl"] < 0.5 and fixed["kl"] > 5.0      # collapse, and annealing + word dropout against it (#12)
    assert free["kl"] > 5 and free["word_accuracy"] >= 0.90 > fixed["word_accuracy"]   # the numbers
    assert plain["distinct_prior"] < fixed["distinct_prior"]
    # independent KL: closed form from the encoder's outputs, as the page shows it
    model, _ = load("words-z16-nofix")
    test = load_words().test
    with torch.no_grad():
        mu, logvar = model.encode(test)
    kl = float((0.5 * (mu ** 2 + logvar.exp() - 1 - logvar)).sum(1).mean())
    assert metric(at, "rate KL(q‖p)", 0) == f"{kl:.2f} nats"
    assert len(at.get("plotly_chart")) == 2 and len([m for m in at.metric if m.label == "rate KL(q‖p)"]) == 3
    assert any("Gumbel-softmax" in m.value for m in at.markdown)


def test_molecule_page_pick_path_and_prior_metrics():
    at = open_page("app_pages/molecules.py", "mnist-z2")
    model, meta = load("smiles-z32")
    corpus = load_molecules()
    steps = at.slider(key="mol_steps").value
    codes = [c.value for c in at.code]  # every drawn molecule's SMILES, in page order: path, pick, prior samples
    with torch.no_grad():
        mu = model.encode(corpus.test[:2])[0]
    ends = [model.decode(mu[i:i + 1], require_end=True)[0] for i in (0, 1)]
    path = codes[:steps]
    assert path[0] == ends[0] and path[-1] == ends[1]
    n_valid = sum(smiles.is_valid(s) for s in path)
    assert any(c.value.startswith(f"{n_valid} of {steps} points") for c in at.caption)
    assert codes[steps:steps + 2] == [corpus.test[0], ends[0]]  # the picked molecule (the first by default)
    ref = smiles.generation_metrics(prior_samples(model, 200, 0, require_end=True), set(corpus.train))
    for k in ("validity", "uniqueness", "novelty"):
        assert metric(at, k) == f"{100 * ref[k]:.1f} %"
    assert f"{100 * meta['test_metrics']['recon_validity']:.1f} %" in [m.value for m in at.metric]
    at.selectbox(key="mol_prop").set_value("MW")
    at.slider(key="mol_steps").set_value(4)
    at.radio(key="mol_mode").set_value("sample").run()
    ok(at)
    assert len([c for c in at.code]) >= 4 and any(" of 4 points" in c.value for c in at.caption)
    ref = smiles.generation_metrics(prior_samples(model, 200, 0, mode="sample", require_end=True), set(corpus.train))
    assert metric(at, "validity") == f"{100 * ref['validity']:.1f} %"
    assert not at.error
