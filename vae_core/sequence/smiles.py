"""Molecules for the SMILES VAE: RDKit's NCI sample, validity, properties, drawings.

Data: ``rdkit/Data/NCI/first_5K.smi`` ships inside the ``rdkit`` wheel (the
first 5,000 structures of the NCI open database, public domain; RDKit itself
is BSD-3-Clause).  Each SMILES is parsed by RDKit, reduced to its largest
fragment (salts and counter-ions dropped), written as RDKit's canonical SMILES
and kept if it has at most ``max_tokens`` tokens; duplicates are dropped.  The
split is deterministic: a molecule is in the test split when the first byte of
the SHA-1 digest of its canonical SMILES is below 26 (≈ 10 %).

Metrics of generated strings (Gómez-Bombarelli et al. 2018; the MOSES
definitions): *validity* = valid / generated; *uniqueness* = distinct valid
canonical SMILES / valid; *novelty* = distinct valid molecules not in the
training set / distinct valid molecules.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from .vocab import smiles_tokens

SOURCE = "RDKit 2026.9.1 wheel: rdkit/Data/NCI/first_5K.smi (first 5,000 structures of the NCI open database)"
LICENCE = "NCI open database: public domain (U.S. government work); RDKit: BSD-3-Clause"


def _rdkit():
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")  # invalid SMILES are expected here; do not spam the log
    return Chem


def mol_from_smiles(smiles: str):
    """An RDKit molecule, or None when the string is not a valid SMILES."""
    if not isinstance(smiles, str) or not smiles or len(smiles) > 500:
        return None
    return _rdkit().MolFromSmiles(smiles)


def is_valid(smiles: str) -> bool:
    return mol_from_smiles(smiles) is not None


def canonical(smiles: str) -> str | None:
    """RDKit's canonical SMILES, or None when invalid."""
    mol = mol_from_smiles(smiles)
    return None if mol is None else _rdkit().MolToSmiles(mol)


def largest_fragment(smiles: str) -> str | None:
    """Canonical SMILES of the fragment with most heavy atoms (salts dropped), or None."""
    mol = mol_from_smiles(smiles)
    if mol is None:
        return None
    chem = _rdkit()
    frags = chem.GetMolFrags(mol, asMols=True, sanitizeFrags=True)
    best = max(frags, key=lambda m: (m.GetNumHeavyAtoms(), chem.MolToSmiles(m)))
    return chem.MolToSmiles(best)


def random_smiles(smiles: str, seed: int) -> str:
    """Another valid SMILES of the same molecule (random atom order), for augmentation."""
    mol = mol_from_smiles(smiles)
    if mol is None:
        return smiles
    return _rdkit().MolToSmiles(mol, canonical=False, doRandom=True) if seed >= 0 else smiles


PROPERTIES = {
    "logP": "Wildman–Crippen logP (octanol/water partition coefficient, log10 units)",
    "MW": "molecular weight (g/mol)",
    "QED": "quantitative estimate of drug-likeness (0–1)",
    "heavy_atoms": "number of heavy (non-hydrogen) atoms",
    "rings": "number of rings",
}


def properties(smiles: str) -> dict[str, float] | None:
    """RDKit properties of a molecule (see PROPERTIES), or None when invalid."""
    mol = mol_from_smiles(smiles)
    if mol is None:
        return None
    from rdkit.Chem import QED, Crippen, Descriptors

    return {"logP": float(Crippen.MolLogP(mol)), "MW": float(Descriptors.MolWt(mol)),
            "QED": float(QED.qed(mol)), "heavy_atoms": float(mol.GetNumHeavyAtoms()),
            "rings": float(mol.GetRingInfo().NumRings())}


def svg(smiles: str, width: int = 300, height: int = 220) -> str | None:
    """An SVG drawing of the molecule by RDKit, or None when invalid."""
    mol = mol_from_smiles(smiles)
    if mol is None:
        return None
    from rdkit.Chem.Draw import rdMolDraw2D

    d = rdMolDraw2D.MolDraw2DSVG(int(width), int(height))
    rdMolDraw2D.PrepareAndDrawMolecule(d, mol)
    d.FinishDrawing()
    return d.GetDrawingText()


def generation_metrics(generated: list[str], training: set[str]) -> dict:
    """Validity, uniqueness and novelty of generated strings (fractions; see the module doc).

    ``training`` holds canonical SMILES of the training set."""
    canon = [canonical(s) for s in generated]
    valid = [c for c in canon if c is not None]
    unique = set(valid)
    novel = unique - set(training)
    n = len(generated)
    return {"n": n, "validity": len(valid) / n if n else 0.0,
            "uniqueness": len(unique) / len(valid) if valid else 0.0,
            "novelty": len(novel) / len(unique) if unique else 0.0,
            "n_valid": len(valid), "n_unique": len(unique), "n_novel": len(novel)}


@dataclass(frozen=True)
class MoleculeCorpus:
    train: list[str]
    test: list[str]
    n_read: int
    n_unparsable: int
    n_too_long: int
    n_duplicates: int
    source: str = SOURCE
    licence: str = LICENCE

    @property
    def description(self) -> str:
        return (f"{len(self.train) + len(self.test):,} NCI molecules as canonical SMILES, largest fragment "
                f"({len(self.train):,} train / {len(self.test):,} test; of {self.n_read:,} read, "
                f"{self.n_unparsable} unparsable, {self.n_too_long} too long, {self.n_duplicates} duplicates dropped)")


def is_test_molecule(smiles: str) -> bool:
    return hashlib.sha1(smiles.encode()).digest()[0] < 26


def nci_path() -> Path:
    from rdkit import RDConfig

    return Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"


def load_molecules(max_tokens: int = 80, path: str | None = None) -> MoleculeCorpus:
    """The NCI sample as canonical SMILES (largest fragment), split train/test."""
    with Path(path or nci_path()).open(encoding="utf-8") as f:
        raw = [line.split()[0] for line in f if line.strip()]
    seen: set[str] = set()
    kept: list[str] = []
    bad = long_ = dup = 0
    for s in raw:
        c = largest_fragment(s)
        if c is None:
            bad += 1
        elif len(smiles_tokens(c)) > max_tokens:
            long_ += 1
        elif c in seen:
            dup += 1
        else:
            seen.add(c)
            kept.append(c)
    train = [s for s in kept if not is_test_molecule(s)]
    test = [s for s in kept if is_test_molecule(s)]
    return MoleculeCorpus(train, test, len(raw), bad, long_, dup)
