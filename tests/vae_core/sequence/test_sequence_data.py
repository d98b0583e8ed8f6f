"""Word and molecule corpora, RDKit helpers, generation metrics, page computations and the two CLIs."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from vae_core.sequence import explore, smiles
from vae_core.sequence.model import SeqVAE
from vae_core.sequence.vocab import Vocab
from vae_core.sequence.words import is_test_word, load_words, select_words, split_words

ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]



pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


# ------------------------------------------------------------------ words
def test_word_selection_and_split_are_deterministic_and_disjoint():
    ranked = ["the", "The", "don't", "of", "café", "x1", "the", "antidisestablishment", "and", "a"]
    assert select_words(ranked, 10, 16) == ["the", "of", "and", "a"]
    assert select_words(ranked, 2, 16) == ["the", "of"]
    words = [f"w{'abcdefghij'[i % 10]}{'klmnopqrst'[i // 10 % 10]}{'uvwxyz'[i // 100 % 6]}" for i in range(600)]
    train, test = split_words(words)
    assert set(train).isdisjoint(test) and len(train) + len(test) == 600
    assert 0.05 < len(test) / 600 < 0.16
    assert split_words(list(reversed(words)))[1] == list(reversed(test))  # membership ignores the order


def test_word_corpus_is_frequency_ranked_lowercase_and_licensed():
    c = load_words(2000)
    allw = c.train + c.test
    assert len(allw) == 2000 == len(set(allw))
    assert all(w.isalpha() and w.islower() and w.isascii() and len(w) <= 16 for w in allw)
    assert "the" in c.train and all(is_test_word(w) for w in c.test)
    assert "CC BY-SA 4.0" in c.licence and "wordfreq" in c.source


# ------------------------------------------------------------------ molecules
def test_rdkit_helpers():
    assert smiles.is_valid("CCO") and not smiles.is_valid("C(C") and not smiles.is_valid("")
    assert smiles.canonical("OCC") == "CCO"
    assert smiles.largest_fragment("CC(=O)[O-].[Na+]") == "CC(=O)[O-]"
    p = smiles.properties("CCO")
    assert abs(p["MW"] - (2 * 12.011 + 6 * 1.008 + 15.999)) < 0.01  # ethanol, from atomic masses
    assert p["heavy_atoms"] == 3 and p["rings"] == 0 and 0 < p["QED"] < 1
    assert smiles.properties("C1CC1")["rings"] == 1 and smiles.properties("xyz") is None
    svg = smiles.svg("c1ccccc1O")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "</svg>" in svg
    assert smiles.svg("C(C") is None
    r = smiles.random_smiles("c1ccccc1CC(=O)O", 0)
    assert smiles.canonical(r) == smiles.canonical("c1ccccc1CC(=O)O")


def test_generation_metrics_by_hand():
    gen = ["CCO", "OCC", "C(C", "c1ccccc1", "CCN", "xx"]
    m = smiles.generation_metrics(gen, training={"CCO"})
    # valid: CCO, OCC (= CCO), benzene, CCN -> 4 of 6; distinct: CCO, benzene, CCN -> 3 of 4; new: 2 of 3
    assert m["validity"] == pytest.approx(4 / 6) and m["uniqueness"] == pytest.approx(3 / 4)
    assert m["novelty"] == pytest.approx(2 / 3)
    assert smiles.generation_metrics([], set())["validity"] == 0.0


def test_nci_corpus():
    c = smiles.load_molecules()
    assert c.n_read == 4999 or c.n_read == 5000
    assert len(c.train) + len(c.test) + c.n_unparsable + c.n_too_long + c.n_duplicates == c.n_read
    assert set(c.train).isdisjoint(c.test) and 400 < len(c.test) < 700
    assert all("." not in s for s in c.test) and all(smiles.canonical(s) == s for s in c.test[:50])
    assert "public domain" in c.licence


# ------------------------------------------------------------------ page computations
def test_homotopy_pca_nearest_and_word_cleaning():
    path = explore.homotopy([0, 0], [2, 4], 5)
    assert path.shape == (5, 2) and np.allclose(path[2], [1, 2]) and np.allclose(path[-1], [2, 4])
    with pytest.raises(ValueError):
        explore.homotopy([0], [1], 1)
    # the great circle between two codes of equal length keeps |z_t| constant, and its angles step evenly
    a, b = np.array([3.0, 0.0, 0.0]), np.array([0.0, 3.0, 0.0])
    arc = explore.homotopy(a, b, 7, "spherical")
    assert np.allclose(np.linalg.norm(arc, axis=1), 3.0) and np.allclose(arc[[0, -1]], [a, b])
    assert np.allclose(np.degrees(np.arctan2(arc[:, 1], arc[:, 0])), np.linspace(0, 90, 7))
    assert np.linalg.norm(explore.homotopy(a, b, 7)[3]) < 2.2  # the straight line dips to 3/sqrt(2)
    with pytest.raises(ValueError, match="method"):
        explore.homotopy(a, b, 3, "zigzag")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 5)) * np.array([5, 2, 0.1, 0.1, 0.1])
    xy, mean, axes, frac = explore.pca_2d(x)
    assert np.allclose(xy, (x - mean) @ axes.T)
    assert abs(abs(axes[0, 0]) - 1) < 0.01 and frac[0] > frac[1] > 0 and frac.sum() <= 1
    assert np.allclose(np.var(xy, axis=0), np.sort(np.var(xy, axis=0))[::-1])
    assert explore.nearest(np.array([[0, 0], [1, 1], [5, 5]]), [0.9, 1.2]) == 1
    assert explore.clean_word("  Hello ") == "hello"
    for bad in ("", "two words", "<b>x</b>", "a" * 17, "naïve", "x1"):
        assert explore.clean_word(bad) is None


def test_collapse_report_on_a_tiny_model():
    torch.manual_seed(0)
    m = SeqVAE(Vocab.build("abcdefghijklmnopqrstuvwxyz"), latent_dim=3, embed_dim=8, enc_hidden=8, dec_hidden=16,
               max_len=8)
    words = ["cat", "dog", "emu", "gnu", "yak", "owl"]
    r = explore.collapse_report(m, words, n_prior=20)
    mu, sigma = explore.posterior(m, words)
    kl = (0.5 * (mu ** 2 + sigma ** 2 - 1 - np.log(sigma ** 2))).sum(1).mean()
    assert r["kl"] == pytest.approx(kl, rel=1e-4) and r["kl_per_dim"].sum() == pytest.approx(kl, rel=1e-4)
    assert r["active_units"] == int((mu.var(0, ddof=1) > 0.01).sum())
    assert 0 < r["distinct_prior"] <= 1 and len(r["decoded"]) == 6 and r["recon"] > 0
    at = explore.decode_point(m, mu[0], n_samples=4, seed=1)
    assert at == explore.decode_point(m, mu[0], n_samples=4, seed=1) and len(at["sampled"]) == 4
    assert explore.decode_path(m, explore.homotopy(mu[0], mu[1], 4))[0] == at["greedy"]
    table = explore.molecule_table(["CCO", "C(C"])
    assert table["MW"][0] > 46 and math.isnan(table["logP"][1])


# ------------------------------------------------------------------ command lines
def test_train_seq_and_sample_clis(tmp_path, capsys):
    from vae_core.command import sample
    from vae_core.sequence import cli as train_seq

    out = tmp_path / "tiny"
    assert train_seq.main(["--dataset", "words", "--subset", "300", "--epochs", "1", "--latent-dim", "3",
                           "--embed-dim", "8", "--enc-hidden", "8", "--dec-hidden", "16", "--n-prior", "20",
                           "--name", "tiny", "--out", str(out)]) == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["family"] == "seq-vae" and meta["dataset"]["n_train"] == 300
    assert {"word_accuracy", "kl"} <= set(meta["test_metrics"]) and "CC BY-SA" in meta["dataset"]["licence"]
    assert meta["command"].startswith("python -m vae_core train --family seq-vae --dataset words")
    capsys.readouterr()
    assert sample([str(out), "--n", "7", "--seed", "3"]) == 0
    first = capsys.readouterr().out
    assert sample([str(out.with_suffix(".json")), "--n", "7", "--seed", "3"]) == 0
    assert capsys.readouterr().out == first
    lines = first.splitlines()
    assert len(lines) == 7 and all(set(w) <= set("abcdefghijklmnopqrstuvwxyz") for w in lines)
    assert sample([str(tmp_path / "nope"), "--n", "2"]) == 2
    assert "missing" in capsys.readouterr().err
    assert sample([str(out), "--n", "0"]) == 2


def test_sample_module_runs_as_a_command():
    run = subprocess.run([sys.executable, "-m", "vae_core", "sample", "--help"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0 and "--seed" in run.stdout
