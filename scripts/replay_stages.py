"""Replay the training stages recorded in a checkpoint's JSON, oldest first.

    python scripts/replay_stages.py checkpoints/words-z16 [--stages DIR] [--run]

A model trained in stages (``python -m vae_core train --family seq-vae --init PREVIOUS …``) records each
stage's command in its JSON: ``command`` for the last stage, ``init.command`` for the one before, and so on.
The intermediate checkpoints were written to a scratch folder when the model was made (``/tmp/…``) and are not
shipped.  This prints the chain as commands that write every intermediate stage to ``DIR`` (default
``checkpoints/.stages``, ignored by git) and the last one where the command said; with ``--run`` it also runs
them in order and stops at the first failure.  Only the JSON is read; nothing is unpickled.  Commands recorded
before the one command line (``python -m vae_core.train_seq …``) are printed and run as today's
(``python -m vae_core train --family seq-vae …``, :func:`vae_core.command.legacy_command`).
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path


def stage_chain(meta: dict) -> list[str]:
    """The recorded commands, oldest first."""
    chain, node = [], meta
    while isinstance(node, dict) and isinstance(node.get("command"), str):
        chain.append(node["command"])
        node = node.get("init")
    return chain[::-1]


def relocate(commands: list[str], stages: str) -> list[str]:
    """Point every ``--out``/``--init`` that names a path outside the repository (an intermediate stage) into
    ``stages``, keeping the file name; old module commands become today's command line."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from vae_core.command import legacy_command

    out = []
    for cmd in commands:
        args = shlex.split(legacy_command(cmd))
        for i, a in enumerate(args[:-1]):
            if a in ("--out", "--init") and Path(args[i + 1]).is_absolute():
                args[i + 1] = str(Path(stages) / Path(args[i + 1]).name)
        out.append(shlex.join(args))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", help="path without extension, e.g. checkpoints/words-z16")
    p.add_argument("--stages", default="checkpoints/.stages", help="folder for the intermediate stages")
    p.add_argument("--run", action="store_true", help="run the commands (from the repository root)")
    args = p.parse_args(argv)
    meta = json.loads(Path(args.checkpoint).with_suffix(".json").read_text())
    commands = relocate(stage_chain(meta), args.stages)
    if not commands:
        print("this checkpoint records no command", file=sys.stderr)
        return 2
    for cmd in commands:
        print(cmd)
    if args.run:
        Path(args.stages).mkdir(parents=True, exist_ok=True)
        for cmd in commands:
            args_ = shlex.split(cmd)
            if args_[:2] == ["python", "-m"]:
                args_[0] = sys.executable
            if subprocess.run(args_, check=False).returncode != 0:
                print(f"failed: {cmd}", file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
# (old command names above on purpose: reshape-imports: skip-file)
