"""pyproject.toml declares what requirements.txt installs, and the version comes from vae_core alone."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _requirements() -> list[str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def test_dependencies_mirror_requirements():
    proj = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = proj["dependencies"] + proj["optional-dependencies"]["test"]
    assert sorted(declared) == sorted(_requirements())


def test_one_version_string():
    import vae_core

    toml = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in toml["project"] and "version" in toml["project"]["dynamic"]
    assert toml["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "vae_core.__version__"}
    assert vae_core.__version__.count(".") == 2
    assert set(toml["tool"]["setuptools"]["packages"]["find"]["include"]) == {"vae_core*", "ui*"}
