"""Generation quality for MNIST: an MNIST-specific FID and Inception Score from a small MNIST classifier.

FID and IS (Heusel et al. 2017; Salimans et al. 2016) are defined with an ImageNet Inception network; on
28x28 digits the usual substitute is a classifier trained on MNIST itself.  Here that is a small CNN
(:class:`MnistClassifier`, shipped as ``checkpoints/mnist-classifier``):

* **FID** = ||m1 - m2||^2 + Tr(C1 + C2 - 2 (C1 C2)^{1/2}), the Fréchet (2-Wasserstein) distance between
  Gaussians fitted to the classifier's 128 penultimate features of two image sets.  Units: squared feature
  units; 0 for identical distributions.  Because the features are this classifier's, the numbers compare
  models with each other, not with FIDs published for other networks.
* **IS** = exp( E_x KL(p(y|x) || p(y)) ), p(y) the mean of p(y|x) over the set: 1 when every image gets the
  same class distribution, at most 10 (confident, evenly spread over the ten digits).

Usage::

    python -m vae_core train --family mnist-classifier --epochs 3 --out checkpoints/mnist-classifier
    python -m vae_core.digits.quality score checkpoints/mnist-z20 [--n 10000]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..families import Flag

FAMILY = "mnist-classifier"
FEATURE_DIM = 128


class MnistClassifier(nn.Module):
    """conv3x3(16)-ReLU-maxpool - conv3x3(32)-ReLU-maxpool - fc(128)-ReLU (the FID features) - fc(10)."""

    kind = "mnist-classifier"

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 7 * 7, FEATURE_DIM)
        self.fc2 = nn.Linear(FEATURE_DIM, 10)

    def config(self) -> dict:
        return {"kind": self.kind, "feature_dim": FEATURE_DIM, "num_classes": 10, "input_dim": 784}

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 784) or (N, 1, 28, 28) pixels in [0, 1] -> (N, 128) penultimate activations."""
        h = x.reshape(-1, 1, 28, 28).to(torch.float32)
        h = F.max_pool2d(F.relu(self.conv1(h)), 2)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        return F.relu(self.fc1(h.flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (N, 10)."""
        return self.fc2(self.features(x))


def train_classifier(images: torch.Tensor, labels: torch.Tensor, epochs: int = 3, batch_size: int = 128,
                     lr: float = 1e-3, seed: int = 0, log=None) -> MnistClassifier:
    """Train :class:`MnistClassifier` with Adam and cross-entropy (no augmentation)."""
    torch.manual_seed(seed)
    model = MnistClassifier()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    x, y = images.reshape(-1, 784).to(torch.float32), labels.long()
    steps = epochs * ((len(x) + batch_size - 1) // batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=lr * 0.05)
    model.train()
    for ep in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        total = 0.0
        for i in range(0, len(x), batch_size):
            idx = perm[i:i + batch_size]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        if log is not None:
            log(f"epoch {ep + 1}/{epochs}: cross-entropy {total / len(x):.4f} nats")
    model.eval()
    return model


@torch.no_grad()
def classify(model: MnistClassifier, images: torch.Tensor, batch_size: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """(features (N, 128), class probabilities (N, 10)) as float64 numpy arrays."""
    feats, probs = [], []
    for i in range(0, images.shape[0], batch_size):
        f = model.features(images[i:i + batch_size])
        feats.append(f)
        probs.append(torch.softmax(model.fc2(f), dim=1))
    return torch.cat(feats).double().numpy(), torch.cat(probs).double().numpy()


@torch.no_grad()
def accuracy(model: MnistClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    _, p = classify(model, images)
    return float((p.argmax(1) == labels.numpy()).mean())


# ------------------------------------------------------------------ the two scores
def feature_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased) covariance of the rows of ``features``."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError("need at least two feature vectors (N, D)")
    return f.mean(0), np.cov(f, rowvar=False)


def _psd_sqrt(c: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((c + c.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, c1: np.ndarray, mu2: np.ndarray, c2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + Tr(C1 + C2 - 2 (C1 C2)^{1/2}) for symmetric PSD covariances.

    Tr (C1 C2)^{1/2} is computed as Tr (S C2 S)^{1/2} with S = C1^{1/2} (the two matrices are similar, so
    their square roots have the same eigenvalues), where S C2 S is symmetric PSD: two eigendecompositions,
    no complex round-off as with a general matrix square root.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    c1, c2 = np.atleast_2d(np.asarray(c1, np.float64)), np.atleast_2d(np.asarray(c2, np.float64))
    s = _psd_sqrt(c1)
    m = s @ c2 @ s
    tr_sqrt = float(np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum())
    diff = mu1 - mu2
    return float(max(diff @ diff + np.trace(c1) + np.trace(c2) - 2.0 * tr_sqrt, 0.0))


def fid_from_features(f1: np.ndarray, f2: np.ndarray) -> float:
    return frechet_distance(*feature_stats(f1), *feature_stats(f2))


def inception_score(probs: np.ndarray, eps: float = 1e-12) -> float:
    """exp( mean_x KL(p(y|x) || p(y)) ) with p(y) the mean of the rows of ``probs`` (N, C)."""
    p = np.asarray(probs, dtype=np.float64)
    py = p.mean(0, keepdims=True)
    kl = (p * (np.log(p + eps) - np.log(py + eps))).sum(1)
    return float(np.exp(kl.mean()))


@dataclass(frozen=True)
class Scores:
    fid: float  # against the reference set (squared feature units)
    inception_score: float
    n: int  # images scored


def score_images(classifier: MnistClassifier, images: torch.Tensor, reference_features: np.ndarray) -> Scores:
    f, p = classify(classifier, images)
    return Scores(fid_from_features(f, reference_features), inception_score(p), int(images.shape[0]))


@torch.no_grad()
def prior_samples(model, n: int, seed: int = 0, batch_size: int = 2000, likelihood: str = "bernoulli") -> torch.Tensor:
    """n decoded prior draws z ~ N(0, I) as images in [0, 1]: the mean of the decoder's pixel distribution
    (Bernoulli: sigmoid(logits); continuous Bernoulli: its own mean).  A CVAE's draw i gets class i % 10."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(0, n, batch_size):
        k = min(batch_size, n - i)
        z = torch.randn(k, model.latent_dim, generator=g)
        y = torch.arange(i, i + k) % model.num_classes if getattr(model, "conditional", False) else None
        logits = model.decode_logits(z, y) if y is not None else model.decode_logits(z)
        if likelihood == "continuous_bernoulli":
            from ..likelihoods import continuous_bernoulli_mean

            out.append(continuous_bernoulli_mean(logits))
        else:
            out.append(torch.sigmoid(logits))
    return torch.cat(out).reshape(n, -1).clamp(0, 1)


@dataclass(frozen=True)
class ModelScores(Scores):
    """:class:`Scores` of a model's prior samples, with what the page shows beside them."""

    class_counts: np.ndarray  # (10,) how many samples the classifier puts in each class
    samples: np.ndarray  # (<= 32, 784) the first prior samples


def score_model(model, n: int, seed: int, likelihood: str, classifier: MnistClassifier,
                reference_features: np.ndarray) -> ModelScores:
    """FID against ``reference_features``, IS, predicted-class counts (10,) and the first 32 of n prior draws."""
    x = prior_samples(model, n, seed=seed, likelihood=likelihood)
    f, p = classify(classifier, x)
    return ModelScores(fid=fid_from_features(f, reference_features), inception_score=inception_score(p), n=int(n),
                       class_counts=np.bincount(p.argmax(1), minlength=10), samples=x[:32].numpy())


@dataclass(frozen=True)
class StoredScore:
    """The scores stored in a checkpoint's JSON (by scripts/update_fid.py); None where not measured."""

    name: str
    fid: float | None
    inception_score: float | None
    neg_elbo: float | None  # test -ELBO, nats per image
    neg_elbo_kind: str = "cross-entropy"  # what that -ELBO bounds: likelihoods.metric_labels(meta)["kind"]


def _number(v) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def stored_score(name: str, meta: dict) -> StoredScore:
    """FID, IS and test -ELBO from the ``test_metrics`` of one checkpoint's metadata (None where absent), with what
    that -ELBO is: a bound on -log p(x) of a density ("log-density"), on -log P(x) of binarised digits
    ("log-probability"), or the grey-pixel BCE objective ("cross-entropy"); the three are not comparable."""
    from ..likelihoods import metric_labels

    tm = meta.get("test_metrics") if isinstance(meta.get("test_metrics"), dict) else {}
    try:
        kind = metric_labels(meta)["kind"]
    except (AttributeError, TypeError, ValueError):
        kind = "cross-entropy"
    return StoredScore(name, _number(tm.get("fid")), _number(tm.get("inception_score")), _number(tm.get("neg_elbo")),
                       kind)


def stored_scores(folder) -> list[StoredScore]:
    """:func:`stored_score` of every digit checkpoint's JSON in ``folder`` (family ``mlp-vae``), sorted by FID with
    unmeasured models last."""
    import json
    from pathlib import Path

    rows = []
    for j in sorted(Path(folder).glob("*.json")):
        try:
            meta = json.loads(j.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(meta, dict) or meta.get("family", "mlp-vae") != "mlp-vae":
            continue
        rows.append(stored_score(j.stem, meta))
    return sorted(rows, key=lambda r: (r.fid is None, r.fid or 0.0))


def noise_images(n: int, seed: int = 0) -> torch.Tensor:
    """Uniform random pixels in [0, 1]: the far-away sanity reference."""
    return torch.rand(n, 784, generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------------------ checkpoint I/O
def save_classifier(path, model: MnistClassifier, metadata: dict) -> None:
    from . import checkpoint as ck

    meta = dict(metadata, family=FAMILY, model=model.config())
    state = {k: v.detach().float().contiguous().clone() for k, v in model.state_dict().items()}
    ck.write_checkpoint_pair(path, state, meta)


def default_checkpoint_dir():
    """``$VAE_CHECKPOINT_DIR`` or the repository's ``checkpoints/``."""
    import os
    from pathlib import Path

    return Path(os.environ.get("VAE_CHECKPOINT_DIR") or Path(__file__).resolve().parents[2] / "checkpoints")


def load_classifier(path=None) -> tuple[MnistClassifier, dict]:
    """The shipped classifier (``mnist-classifier`` in :func:`default_checkpoint_dir`) or the one at ``path``."""
    from . import checkpoint as ck

    if path is None:
        path = default_checkpoint_dir() / "mnist-classifier"
    state, meta = ck.read_checkpoint_pair(path, family=FAMILY)
    model = MnistClassifier()
    own = model.state_dict()
    if set(own) != set(state) or any(tuple(own[k].shape) != tuple(state[k].shape) for k in own):
        raise ck.CheckpointError("the classifier weights do not fit MnistClassifier")
    model.load_state_dict({k: state[k].to(torch.float32) for k in own})
    model.eval()
    return model, meta


# ------------------------------------------------------------------ CLI
# the classifier's own train flags (the shared ones -- epochs, batch size, lr, seed, threads, out, name -- are
# declared once in vae_core.command.SHARED)
TRAIN_FLAGS = (
    Flag("--subset", "int", 0, "train on this many training digits (0 = all 60,000)"),
    Flag("--data-dir", "str", None, "default: $VAE_DATA_DIR"),
)


def run_train(args) -> int:
    """``python -m vae_core train --family mnist-classifier``: train, measure and save the classifier."""
    import os

    from ..pair_io import checkpoint_metadata
    from .data import load_dataset

    if args.threads:
        torch.set_num_threads(args.threads)
    root = args.data_dir or os.environ.get("VAE_DATA_DIR")
    tr = load_dataset("mnist", "train", root=root)
    te = load_dataset("mnist", "test", root=root)
    if tr.is_sample:
        print("error: the full MNIST is needed (set VAE_DATA_DIR)", file=sys.stderr)
        return 2
    tr = tr.subset(args.subset or None, seed=args.seed)
    model = train_classifier(tr.images, tr.labels, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                             seed=args.seed, log=lambda s: print(s, file=sys.stderr, flush=True))
    acc = accuracy(model, te.images, te.labels)
    train_acc = accuracy(model, tr.images, tr.labels)
    meta = checkpoint_metadata(
        FAMILY, name=args.name or "mnist-classifier", command=args.command, seed=args.seed,
        recipe={"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "subset": args.subset},
        epochs=args.epochs,
        dataset={"name": "mnist", "description": tr.description, "n_train": len(tr), "n_test": len(te)},
        test_metrics={"accuracy": acc, "train_accuracy": train_acc})
    save_classifier(args.out, model, meta)
    print(f"test accuracy {acc:.4f} ({len(te):,} digits); train accuracy {train_acc:.4f}")
    return 0


def _cmd_score(args) -> int:
    from .checkpoint import load_checkpoint
    from .data import load_dataset

    clf, _ = load_classifier(args.classifier)
    import os

    ref, _ = classify(clf, load_dataset("mnist", "test", root=args.data_dir or os.environ.get("VAE_DATA_DIR")).images)
    for path in args.checkpoints:
        model, meta = load_checkpoint(path)
        x = prior_samples(model, args.n, seed=args.seed, likelihood=meta.get("likelihood", "bernoulli"))
        s = score_images(clf, x, ref)
        print(f"{meta.get('name') or path}: FID {s.fid:.2f}, IS {s.inception_score:.2f} ({s.n:,} prior samples)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """``score`` (FID / IS of digit checkpoints); ``train-classifier`` is ``python -m vae_core train --family
    mnist-classifier``."""
    p = argparse.ArgumentParser(prog="python -m vae_core.digits.quality", description="MNIST FID / IS.")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("train-classifier", add_help=False,
                   help="alias of python -m vae_core train --family mnist-classifier (its flags)")
    s = sub.add_parser("score", help="FID and IS of prior samples of digit checkpoints")
    s.add_argument("checkpoints", nargs="+")
    s.add_argument("--n", type=int, default=10_000)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--classifier", default=None)
    s.add_argument("--data-dir", default=None, help="default: $VAE_DATA_DIR")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["train-classifier"]:
        from ..command import train

        return train(argv[1:], FAMILY)
    args = build_parser().parse_args(argv)
    return _cmd_score(args)


if __name__ == "__main__":
    sys.exit(main())
