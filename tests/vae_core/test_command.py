"""The one command line (vae_core.command): shared flags parsed once, family flags from the registry, recipes as
files, the old commands as aliases, one metadata builder.  (Old command names on purpose: reshape-imports: skip-file)"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import types
from pathlib import Path

import pytest

from vae_core import command, families

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "configs").glob("*.toml"))


def test_sizes_are_parsed_in_one_place():
    assert command.sizes("512,256") == (512, 256) == command.sizes("512 256") == command.sizes([512, 256])
    assert command.sizes(600) == (600,)
    for bad in ("", "a,b", "0", "-3,4"):
        with pytest.raises(argparse.ArgumentTypeError):
            command.sizes(bad)
    assert command.number_pair("-80,15") == (-80.0, 15.0)
    for fam in families.names():  # every family's --hidden-dims goes through command.sizes
        if families.get(fam).train is None or "--hidden-dims" in families.get(fam).unused:
            continue
        args = command.parse_train(["--family", fam, "--hidden-dims", "32,16", "--out", "x"] +
                                   (["--dataset", "words"] if fam == "seq-vae" else []))
        assert args.hidden_dims == (32, 16)


def test_family_defaults_unused_flags_and_own_flags():
    seq = command.parse_train(["--family", "seq-vae", "--dataset", "words", "--out", "x"])
    assert (seq.latent_dim, seq.epochs, seq.lr, seq.kl_schedule, seq.warmup_steps, seq.threads) == \
        (16, 20, 2e-3, "linear", 2000, 1)
    assert not hasattr(seq, "hidden_dims") and seq.word_dropout == 0.0
    with pytest.raises(SystemExit):  # a shared flag the family has no use for is refused
        command.parse_train(["--family", "seq-vae", "--dataset", "words", "--hidden-dims", "8", "--out", "x"])
    spr = command.parse_train(["--family", "sprites-vae", "--out", "x"])
    assert (spr.latent_dim, spr.hidden_dims, spr.batch_size, spr.save_dtype, spr.lr_schedule) == \
        (10, (256, 128), 64, "float16", "cosine")
    digit = command.parse_train(["--out", "x"])
    assert digit.family == "mlp-vae" and digit.hidden_dims == (512, 256) and digit.iwae_k == 10
    rec = command.parse_train(["--family", "mult-vae", "--out", "x"])
    assert rec.beta is None and rec.hidden_dims == (600,) and rec.anneal_to == 0.4
    # the KL schedules are the same three everywhere
    for fam in ("mlp-vae", "seq-vae", "sprites-vae"):
        extra = ["--dataset", "words"] if fam == "seq-vae" else []
        assert command.parse_train(["--family", fam, "--kl-schedule", "cyclical", "--out", "x", *extra]).kl_schedule \
            == "cyclical"
    with pytest.raises(SystemExit, match="mlp-vae"):
        command.parse_train(["--family", "nope", "--out", "x"])


def test_recorded_command_replays_the_same_flags():
    args = command.parse_train(["--family", "seq-vae", "--dataset", "words", "--name", "a b", "--out", "x"])
    assert args.command == "python -m vae_core train --family seq-vae --dataset words --name 'a b' --out x"
    again = command.parse_train(shlex.split(args.command)[4:])
    assert vars(again) == vars(args)


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_recipe_file_is_its_shipped_checkpoints_recipe(path):
    """configs/NAME.toml parses to the same flags as the command recorded in checkpoints/NAME.json."""
    args = command.parse_train(["--config", str(path)])
    meta = json.loads((ROOT / "checkpoints" / f"{path.stem}.json").read_text())
    assert args.out == f"checkpoints/{path.stem}" and families.checkpoint_family(ROOT / args.out) == args.family
    if args.family == "mult-vae":  # made by bench.recommender: its JSON records the recipe's fields
        r = meta["recipe"]
        assert (args.latent_dim, args.hidden_dims, args.likelihood, args.epochs, args.lr, args.batch_size,
                args.seed) == (r["latent_dim"], (r["hidden"],), r["likelihood"], r["epochs"], r["lr"], r["batch"],
                               r["seed"])
        assert args.beta == r.get("fixed_beta") and (args.beta is not None or args.anneal_to == r["anneal_to"])
        return
    recorded = shlex.split(command.legacy_command(meta["command"]))
    assert recorded[1:4] == ["-m", "vae_core", "train"]
    want = command.parse_train(recorded[4:])
    got, want = vars(args), vars(want)
    got.pop("command"), want.pop("command"), got.pop("config"), want.pop("config")
    assert got == want


def test_config_flags_are_overridden_by_the_command_line_and_families_must_agree(tmp_path):
    cfg = CONFIGS[0]
    args = command.parse_train(["--config", str(cfg), "--epochs", "1", "--out", str(tmp_path / "o")])
    assert args.epochs == 1 and args.out == str(tmp_path / "o") and "--config" not in args.command
    bad = tmp_path / "bad.toml"
    bad.write_text('family = "seq-vae"\ndataset = "words"\nout = "x"\n')
    with pytest.raises(SystemExit, match="seq-vae"):
        command.parse_train(["--config", str(bad), "--family", "sprites-vae"])
    bad.write_text("this is = not toml =")
    with pytest.raises(SystemExit, match="bad.toml"):
        command.parse_train(["--config", str(bad)])


def test_legacy_commands_map_to_the_one_command_line():
    assert command.legacy_command("python -m vae_core.train_seq --dataset words --out x") == \
        "python -m vae_core train --family seq-vae --dataset words --out x"
    assert command.legacy_command("python -m vae_core.train --latent-dim 2 --out x") == \
        "python -m vae_core train --latent-dim 2 --out x"
    assert command.legacy_command("python -m bench.recommender") == "python -m bench.recommender"


def test_import_model_is_dispatched_lazily(monkeypatch):
    seen = []
    fake = types.ModuleType("vae_core.digits.import_model")
    fake.main = lambda argv: seen.append(argv) or 7
    monkeypatch.setitem(sys.modules, "vae_core.digits.import_model", fake)
    assert command.main(["import-model", "a", "--b"]) == 7 and seen == [["a", "--b"]]


def test_import_model_command_reaches_the_real_importer():
    run = subprocess.run([sys.executable, "-m", "vae_core", "import-model", "--help"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0 and "python -m vae_core import-model" in run.stdout, run.stderr


def test_unknown_verb_and_usage(capsys):
    assert command.main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err
    assert command.main([]) == 0
    assert "python -m vae_core train" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["-m", "vae_core", "train", "--help"],
                                  ["-m", "vae_core", "train", "--family", "sprites-vae", "--help"],
                                  ["-m", "vae_core.sequence.cli", "--help"],
                                  ["-m", "vae_core.digits.cli", "--help"],
                                  ["-m", "vae_core", "evaluate", "--help"]])
def test_commands_run_as_modules(argv):
    run = subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "--seed" in run.stdout or "--k" in run.stdout


def test_every_family_builds_its_metadata_with_the_one_builder():
    """No family module assembles the common metadata fields itself: each calls pair_io.checkpoint_metadata."""
    for name in families.names():
        fam = families.get(name)
        if fam.train is None:
            continue
        module = fam.train.partition(":")[0]
        src = Path(__import__(module, fromlist=["x"]).__file__).read_text()
        if name == "mlp-vae":  # the digit CLI goes through digits.checkpoint.build_metadata, which calls it
            src = (ROOT / "vae_core" / "digits" / "checkpoint.py").read_text()
        assert "checkpoint_metadata(" in src, name
        assert '"created":' not in src and "code_version()" not in src.replace("import code_version", ""), name


def test_evaluate_asks_the_checkpoints_family(capsys):
    assert command.main(["evaluate", str(ROOT / "checkpoints" / "words-z2")]) == 2
    assert "no evaluate command for checkpoint family 'seq-vae'" in capsys.readouterr().err
    assert command.main(["evaluate", str(ROOT / "checkpoints" / "no-such-model")]) == 2
    assert "missing" in capsys.readouterr().err
    args = command.evaluate_parser("mlp-vae").parse_args(["ckpt", "--binarized", "--k", "7"])
    assert args.binarized and args.k == 7 and args.likelihood is None


def test_the_package_re_exports_resolve():
    import vae_core
    from vae_core.digits import train

    for name in vae_core.__all__:
        assert getattr(vae_core, name) is not None, name
    assert vae_core.TrainConfig is train.TrainConfig and vae_core.Trainer is train.Trainer
