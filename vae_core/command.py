"""THE command line, and the one argument parser of every family:

    python -m vae_core train [--family NAME] [--config configs/X.toml] [flags]   # NAME: mlp-vae (default), ...
    python -m vae_core sample CHECKPOINT [--n 10] [--seed 0] [--out grid.png]
    python -m vae_core evaluate CHECKPOINT [family flags]
    python -m vae_core import-model ...

``train`` parses the flags every family shares once (:data:`SHARED`: sizes, KL schedule, seed, threads, out,
name, ...; a family sets its own defaults in :attr:`vae_core.families.Family.defaults` and drops the ones it has
no use for in ``Family.unused``), then the family's own flags from its :class:`~vae_core.families.Flag`
declarations, and calls the family's ``train(args)``.  ``args.command`` is the command line to record in the
checkpoint (a ``--config`` expanded into its flags, so the JSON alone replays the run).  ``sample`` and
``evaluate`` read the checkpoint's family from its JSON and ask the registry (``evaluate`` parses the family's
``evaluate_flags`` here too).

Sizes such as ``512,256`` are parsed by :func:`sizes` only; ``LO,HI`` pairs by :func:`number_pair` only.
The family modules' own commands (``python -m vae_core.sequence.cli``, ...) are aliases of ``train --family``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tomllib
from pathlib import Path

from . import families
from .families import Flag

__all__ = ["KL_SCHEDULES", "LEGACY_COMMANDS", "SHARED", "evaluate", "evaluate_parser", "legacy_command", "main",
           "number_pair", "parse_train", "sample", "sizes", "train", "train_parser"]

KL_SCHEDULES = ("constant", "linear", "cyclical")

# the flags every family's train shares (a family's defaults override these; Family.unused drops some)
SHARED: tuple[Flag, ...] = (
    Flag("--latent-dim", "int", 2, "latent dimensions"),
    Flag("--hidden-dims", "sizes", (512, 256), "hidden layer sizes, e.g. 512,256 (the decoder mirrors them)"),
    Flag("--beta", "float", 1.0, "weight of the KL term (β-VAE; 1 = the plain ELBO)"),
    Flag("--kl-schedule", "str", "constant", "how the KL weight reaches β", choices=KL_SCHEDULES),
    Flag("--warmup-steps", "int", 0, "linear: steps to reach β; cyclical: steps per cycle"),
    Flag("--free-bits", "float", 0.0, "KL floor per latent dimension, nats (0: off)"),
    Flag("--epochs", "int", 10),
    Flag("--batch-size", "int", 128),
    Flag("--lr", "float", 1e-3, "Adam learning rate"),
    Flag("--seed", "int", 0),
    Flag("--threads", "int", 0, "torch threads (0 = torch default)"),
    Flag("--save-dtype", "str", "float32", "dtype of the stored weights", choices=("float32", "float16")),
    Flag("--name", "str", None, "display name stored in the metadata"),
    Flag("--out", "str", None, "writes OUT.safetensors and OUT.json", required=True),
)

# the commands before issue #17 (recorded in shipped checkpoints' JSON) -> the one command line
# (old module names on purpose: reshape-imports: skip-file)
LEGACY_COMMANDS = {
    "vae_core.train": ("train",),
    "vae_core.cli": ("train",),
    "vae_core.train_seq": ("train", "--family", "seq-vae"),
    "vae_core.train_sprites": ("train", "--family", "sprites-vae"),
    "vae_core.sample": ("sample",),
    "vae_core.evaluation": ("evaluate",),
    "vae_core.quality train-classifier": ("train", "--family", "mnist-classifier"),
}


# ------------------------------------------------------------------ value parsers (the only ones)
def sizes(text) -> tuple[int, ...]:
    """``"512,256"`` (or ``"512 256"``, or a list) -> (512, 256); positive integers only."""
    if isinstance(text, (list, tuple)):
        text = ",".join(str(v) for v in text)
    try:
        dims = tuple(int(p) for p in str(text).replace(",", " ").split())
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes look like '512,256', got {text!r}") from None
    if not dims or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"sizes must be positive integers, got {text!r}")
    return dims


def number_pair(text) -> tuple[float, float]:
    """``"-80,15"`` -> (-80.0, 15.0)."""
    try:
        lo, hi = (float(v) for v in str(text).split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"wants two numbers LO,HI, e.g. -80,15; got {text!r}") from None
    return lo, hi


_TYPES = {"int": int, "float": float, "str": str, "sizes": sizes, "range": number_pair}


_OWN = object()


def add_flag(parser: argparse.ArgumentParser, flag: Flag, default=_OWN) -> None:
    """One :class:`Flag` as an argparse option (``default`` overrides the flag's own)."""
    default = flag.default if default is _OWN else default
    if flag.type == "bool":
        parser.add_argument(flag.name, action="store_true", default=bool(default), help=flag.help)
        return
    kwargs = {"type": _TYPES[flag.type], "default": default, "help": flag.help or None}
    if flag.choices:
        kwargs["choices"] = flag.choices
    if flag.required and default is None:
        kwargs["required"] = True
    if flag.type == "range":
        kwargs["metavar"] = "LO,HI"
    parser.add_argument(flag.name, **kwargs)


# ------------------------------------------------------------------ train
def train_parser(family: str) -> argparse.ArgumentParser:
    fam = families.get(family)
    p = argparse.ArgumentParser(prog=f"python -m vae_core train --family {family}",
                                description=f"Train a {fam.title} ({family}).")
    p.add_argument("--family", default=family, choices=[family],
                   help=f"the model family (default {families.DEFAULT_FAMILY}; known: {', '.join(families.names())})")
    p.add_argument("--config", default=None, help="a TOML recipe (configs/*.toml); flags given here override it")
    own = {f.name for f in fam.flags()}
    for flag in SHARED:
        if flag.name in fam.unused or flag.name in own:
            continue
        add_flag(p, flag, fam.defaults.get(flag.name.lstrip("-").replace("-", "_"), _OWN))
    for flag in fam.flags():
        add_flag(p, flag)
    return p


def config_argv(path: str | Path) -> list[str]:
    """A TOML recipe as flags: ``latent-dim = 2`` -> ``--latent-dim=2``; true -> ``--flag``; lists joined by
    commas; ``family`` first.  Keys are flag names (``-`` or ``_``)."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SystemExit(f"--config {path}: {exc}") from None
    out = []
    if "family" in data:
        out += ["--family", str(data.pop("family"))]
    for key, value in data.items():
        if isinstance(value, dict):
            raise SystemExit(f"--config {path}: tables are not flags ({key!r})")
        flag = "--" + key.replace("_", "-")
        if value is True:
            out.append(flag)
        elif value is False:
            continue
        elif isinstance(value, list):
            out.append(f"{flag}={','.join(str(v) for v in value)}")
        else:
            out.append(f"{flag}={value}")
    return out


def _pick_family(argv: list[str]) -> str:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--family", default=None)
    known, _ = pre.parse_known_args(argv)
    return known.family or families.DEFAULT_FAMILY


def expand_config(argv: list[str]) -> list[str]:
    """``--config X.toml`` replaced by its flags (placed first, so later flags override them)."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", default=None)
    known, rest = pre.parse_known_args(argv)
    if not known.config:
        return list(argv)
    cfg = config_argv(known.config)
    fam_cli, fam_cfg = _pick_family(rest), _pick_family(cfg)
    if "--family" in " ".join(rest) and fam_cli != fam_cfg:
        raise SystemExit(f"--config {known.config} is a {fam_cfg} recipe, not {fam_cli}")
    return cfg + [a for a in rest]


def parse_train(argv: list[str], family: str | None = None) -> argparse.Namespace:
    """The parsed flags of ``python -m vae_core train ARGV`` (``family`` forces one); ``args.command`` is the
    command line to record."""
    argv = expand_config(list(argv))
    name = family or _pick_family(argv)
    try:
        families.get(name)
    except KeyError as exc:
        raise SystemExit(str(exc.args[0])) from None
    args = train_parser(name).parse_args(argv)
    recorded = [a for a in argv]
    i = 0
    while i < len(recorded):  # the family goes first in the recorded command
        if recorded[i] == "--family":
            del recorded[i:i + 2]
        elif recorded[i].startswith("--family="):
            del recorded[i]
        else:
            i += 1
    head = "python -m vae_core train" + ("" if name == families.DEFAULT_FAMILY else f" --family {name}")
    args.command = " ".join([head, *(shlex.quote(a) for a in recorded)])
    return args


def train(argv: list[str], family: str | None = None) -> int:
    args = parse_train(argv, family)
    run = families.get(args.family).resolve("train")
    if run is None:
        raise SystemExit(f"family {args.family!r} has no train command")
    return run(args)


# ------------------------------------------------------------------ sample
def sample_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m vae_core sample", description="Print prior samples of a checkpoint.")
    p.add_argument("checkpoint", help="checkpoint path (stem, .json or .safetensors)")
    p.add_argument("--n", type=int, default=10, help="number of samples (1-100000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mode", choices=("greedy", "sample"), default="greedy", help="text/SMILES decoding")
    p.add_argument("--temperature", type=float, default=1.0, help="softmax temperature for --mode sample")
    p.add_argument("--out", default=None, help="PNG grid path (image models)")
    p.add_argument("--threads", type=int, default=1)
    return p


def sample(argv: list[str]) -> int:
    import torch

    from .pair_read import CheckpointError

    args = sample_parser().parse_args(argv)
    if not 1 <= args.n <= 100_000:
        print("error: --n must be between 1 and 100000", file=sys.stderr)
        return 2
    if not args.temperature > 0:
        print("error: --temperature must be positive", file=sys.stderr)
        return 2
    torch.set_num_threads(max(1, args.threads))
    try:
        family = families.checkpoint_family(args.checkpoint)
        fam = families.get(family) if family in families.names() else None
        sampler = fam.resolve("sampler") if fam is not None else None
        if sampler is None:
            known = ", ".join(n for n in families.names() if families.get(n).sampler)
            print(f"error: no sampler for checkpoint family {family!r} (known: {known})", file=sys.stderr)
            return 2
        return sampler(args.checkpoint, args)
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


# ------------------------------------------------------------------ evaluate
def evaluate_parser(family: str) -> argparse.ArgumentParser:
    fam = families.get(family)
    p = argparse.ArgumentParser(prog="python -m vae_core evaluate",
                                description=f"Evaluate a {fam.title} checkpoint ({family}) on its test set.")
    p.add_argument("checkpoint", help="path stem (…/name, without .json/.safetensors)")
    for flag in fam.flags("evaluate_flags"):
        add_flag(p, flag)
    return p


def evaluate(argv: list[str], family: str | None = None) -> int:
    """``evaluate CHECKPOINT ...``: the checkpoint's family (from its JSON, or ``family``) parses its flags and
    evaluates; ``args.command`` is the command line to record."""
    from .pair_read import CheckpointError

    argv = list(argv)
    pos = [a for a in argv if not a.startswith("-")]
    name = family or families.DEFAULT_FAMILY
    if pos and family is None:
        try:
            name = families.checkpoint_family(pos[0])
        except CheckpointError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    fn = families.get(name).resolve("evaluate") if name in families.names() else None
    if fn is None:
        known = ", ".join(n for n in families.names() if families.get(n).evaluate)
        print(f"error: no evaluate command for checkpoint family {name!r} (known: {known})", file=sys.stderr)
        return 2
    args = evaluate_parser(name).parse_args(argv)
    args.command = " ".join(["python -m vae_core evaluate", *(shlex.quote(a) for a in argv)])
    return fn(args)


# ------------------------------------------------------------------ import-model
def import_model(argv: list[str]) -> int:
    import importlib

    try:
        mod = importlib.import_module("vae_core.digits.import_model")
    except ModuleNotFoundError:
        print("error: this installation has no import-model command (vae_core.digits.import_model)", file=sys.stderr)
        return 2
    return mod.main(argv)


VERBS = {"train": train, "sample": sample, "evaluate": evaluate, "import-model": import_model}


def legacy_command(command: str) -> str:
    """A recorded ``python -m vae_core.train_seq ...`` (before #17) as the command that runs it today."""
    args = shlex.split(command)
    if len(args) >= 3 and args[1] == "-m":
        for n in (2, 1):  # "vae_core.quality train-classifier" before "vae_core.train"
            key = " ".join(args[2:2 + n])
            if len(args) >= 2 + n and key in LEGACY_COMMANDS:
                return shlex.join([args[0], "-m", "vae_core", *LEGACY_COMMANDS[key], *args[2 + n:]])
    return command


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in VERBS:
        print("usage:\n" + __doc__.split("\n\n")[1], file=sys.stderr)
        print(f"families: {', '.join(n for n in families.names() if families.get(n).train)}", file=sys.stderr)
        if argv and argv[0] not in ("-h", "--help"):
            print(f"error: unknown command {argv[0]!r} (train, sample, evaluate, import-model)", file=sys.stderr)
            return 2
        return 0
    return VERBS[argv[0]](argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
