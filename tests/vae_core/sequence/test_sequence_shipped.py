"""The shipped text and molecule VAEs reach the issue's numbers, re-measured here (not read from the JSON),
and their JSON records what they are."""

from __future__ import annotations

from pathlib import Path

import pytest

from vae_core.objectives import gaussian_kl_per_dim
from vae_core.sequence.checkpoint import load_seq_checkpoint
from vae_core.sequence.metrics import prior_samples
from vae_core.sequence.smiles import canonical, generation_metrics, load_molecules
from vae_core.sequence.train import decode_all, encode_all

CKPT = Path(__file__).resolve().parents[3] / "checkpoints"


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def molecules():
    return load_molecules()


def measure_words(name: str, test: list[str]) -> tuple[float, float]:
    """(whole-word accuracy of greedy decoding of μ, mean KL in nats) on the test words."""
    model, _ = load_seq_checkpoint(CKPT / name)
    mu, logvar = encode_all(model, model.vocab.batch(test))
    decoded = decode_all(model, mu)
    acc = sum(a == b for a, b in zip(decoded, test, strict=True)) / len(test)
    return acc, float(gaussian_kl_per_dim(mu, logvar).sum(1).mean())


def test_checkpoints_folder_stays_small():
    total = sum(p.stat().st_size for p in CKPT.iterdir() if p.is_file())
    # 33 MiB of digit, word, molecule and sprite models + 23 MiB of the three MovieLens models (1,682 items wide)
    assert total < 64 * 2**20, f"checkpoints/ holds {total / 2**20:.1f} MiB"


def test_words_z16_rebuilds_test_words(words):
    acc, kl = measure_words("words-z16", words.test)
    assert acc >= 0.90 and kl > 5.0, (acc, kl)
    _, meta = load_seq_checkpoint(CKPT / "words-z16")
    assert meta["test_metrics"]["word_accuracy"] == pytest.approx(acc, abs=1e-9)
    assert meta["test_metrics"]["kl"] == pytest.approx(kl, rel=1e-3)
    assert meta["dataset"]["n_test"] == len(words.test) and "CC BY-SA 4.0" in meta["dataset"]["licence"]


def test_collapse_demo_pair_same_data_and_architecture(words):
    plain_acc, plain_kl = measure_words("words-z16-nofix", words.test)
    fixed_acc, fixed_kl = measure_words("words-z16-fix", words.test)
    free_acc, free_kl = measure_words("words-z16", words.test)
    # #12: collapse without the fixes (< 0.5 nats), > 5 nats with KL annealing + word dropout alone, and with
    # free bits on top
    assert plain_kl < 0.5 < 5.0 < fixed_kl and free_kl > 5.0, (plain_kl, fixed_kl, free_kl)
    assert fixed_acc >= plain_acc and free_acc > fixed_acc
    _, mp = load_seq_checkpoint(CKPT / "words-z16-nofix")
    _, mf = load_seq_checkpoint(CKPT / "words-z16-fix")
    _, m16 = load_seq_checkpoint(CKPT / "words-z16")
    assert mp["model"] == mf["model"] == m16["model"] and mp["dataset"] == mf["dataset"] == m16["dataset"]
    first = m16
    while first.get("init"):
        first = first["init"]
    assert m16["free_bits"] > 0 and first is not m16      # continued runs, the first one recorded
    assert "--kl-schedule linear" in first["command"] and "--word-dropout 0.25" in first["command"]
    assert mp["kl_schedule"]["kind"] == "constant" and mp["word_dropout"] == 0
    assert mf["kl_schedule"]["kind"] == "linear" and mf["word_dropout"] > 0 and mf["beta"] == mp["beta"] == 1
    assert mf["free_bits"] == 0 and mf["steps"] > mf["kl_schedule"]["warmup_steps"]  # ends at weight 1, no free bits


def test_words_z2_is_two_dimensional_and_its_json_is_true(words):
    model, meta = load_seq_checkpoint(CKPT / "words-z2")
    assert model.latent_dim == 2
    acc, kl = measure_words("words-z2", words.test)
    assert meta["test_metrics"]["word_accuracy"] == pytest.approx(acc, abs=1e-9)
    assert meta["test_metrics"]["kl"] == pytest.approx(kl, rel=1e-3)


def test_smiles_decoded_test_means_are_valid(molecules):
    model, meta = load_seq_checkpoint(CKPT / "smiles-z32")
    mu, _ = encode_all(model, model.vocab.batch(molecules.test))
    decoded = decode_all(model, mu, require_end=True)
    valid = sum(canonical(s) is not None for s in decoded) / len(decoded)
    assert valid >= 0.80, valid
    tm = meta["test_metrics"]
    assert tm["recon_validity"] == pytest.approx(valid, abs=1e-9)
    assert "public domain" in meta["dataset"]["licence"] and meta["dataset"]["n_test"] == len(molecules.test)


def test_smiles_prior_metrics_are_what_the_json_says(molecules):
    model, meta = load_seq_checkpoint(CKPT / "smiles-z32")
    tm = meta["test_metrics"]
    assert tm["n_prior"] == 1000 and tm["prior_decoding"] == "greedy"
    for k in ("validity", "uniqueness", "novelty", "sampled_validity", "sampled_uniqueness", "sampled_novelty"):
        assert 0.0 <= tm[k] <= 1.0
    got = generation_metrics(prior_samples(model, 1000, meta["seed"], require_end=True), set(molecules.train))
    for k in ("validity", "uniqueness", "novelty"):
        assert got[k] == pytest.approx(tm[k], abs=1e-9)


def test_sample_command_on_a_shipped_model(capsys):
    from vae_core.command import main

    assert main(["sample", str(CKPT / "smiles-z32"), "--n", "5", "--seed", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5


def test_staged_models_replay_from_their_json_without_scratch_paths():
    """words-z16 and smiles-z32 were trained in stages whose intermediate checkpoints lived in a scratch folder;
    scripts/replay_stages.py turns each JSON's recorded chain into commands that keep every stage in the
    repository's checkpoints/.stages and end at the shipped name."""
    import importlib.util
    import shlex

    spec = importlib.util.spec_from_file_location("replay_stages", CKPT.parent / "scripts" / "replay_stages.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for name, n_stages in (("words-z16", 4), ("smiles-z32", 2)):
        _, meta = load_seq_checkpoint(CKPT / name)
        chain = mod.stage_chain(meta)
        cmds = mod.relocate(chain, "checkpoints/.stages")
        assert len(cmds) == n_stages and "/tmp" in " ".join(chain) and "/tmp" not in " ".join(cmds)
        outs = [shlex.split(c)[shlex.split(c).index("--out") + 1] for c in cmds]
        inits = [shlex.split(c)[shlex.split(c).index("--init") + 1] for c in cmds[1:]]
        assert inits == outs[:-1] and outs[-1] == f"checkpoints/{name}"  # each stage continues the one before
        from vae_core.command import parse_train

        for c in cmds:  # recorded with the module command of before #17: replayed with today's command line
            a = shlex.split(c)
            assert a[1:4] == ["-m", "vae_core", "train"] and a[4:6] == ["--family", "seq-vae"], c
            assert parse_train(a[4:]).family == "seq-vae"
