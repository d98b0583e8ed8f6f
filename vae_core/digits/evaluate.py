"""Test-set evaluation under a chosen likelihood, in bounded memory, with progress.

``evaluate_likelihood`` computes, per image, the one-sample ELBO pieces and (optionally) one estimate of the
importance-weighted bound L_k of Burda et al. 2016:

    L_k(x) = log (1/k) sum_{i=1..k} p(x|z_i) p(z_i) / q(z_i|x),   z_i ~ q(z|x)

E[L_k] <= log p(x) and rises with k towards it.  Images go through in chunks of ``image_chunk`` and the k
importance samples in chunks of ``sample_chunk`` combined by a running log-sum-exp, so memory is
O(image_chunk * sample_chunk * 784) floats whatever k and N are (the old path held all k decodes of a
2,000-image batch: ~3.5 GB at k = 1,000).  ``progress(done_images, total_images, averages_so_far)`` is called
after every chunk.

What the numbers are depends on the likelihood and the pixels (see :mod:`vae_core.likelihoods`):

* ``continuous_bernoulli`` on grey pixels: log p(x) is a log-*density* on [0, 1]^784 (can be positive);
* ``bernoulli`` on binary pixels (``binarize_fixed``): log P(x) is a log-probability (<= 0), the number the
  binarised-MNIST literature reports as -log p(x) in nats;
* ``bernoulli`` on grey pixels: the "bound" is built from a cross-entropy and bounds no likelihood; it is
  still returned (as the shipped models' historical ``iwae_nll``) but must not be called -log p(x).

Usage (the shipped models' long evaluations)::

    python -m vae_core evaluate checkpoints/mnist-z20-bin --binarized --k 5000 --threads 1
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

from ..families import Flag
from ..likelihoods import LIKELIHOODS, check_likelihood, neg_log_likelihood
from ..objectives import gaussian_kl_per_dim, iwae_log_weights

MAX_ROWS = 32_768  # decoder rows per forward pass: 32,768 x 784 float32 ~ 100 MB per tensor


def default_chunks(k: int, max_rows: int = MAX_ROWS) -> tuple[int, int]:
    """(image_chunk, sample_chunk) with image_chunk * sample_chunk <= max_rows."""
    sample_chunk = max(1, min(k, max_rows // 16)) if k else 1
    image_chunk = max(1, min(2000, max_rows // max(sample_chunk, 1)))
    return image_chunk, sample_chunk


@torch.no_grad()
def iwae_chunked(model, x: torch.Tensor, k: int, likelihood: str = "bernoulli", y: torch.Tensor | None = None,
                 generator: torch.Generator | None = None, sample_chunk: int = 0,
                 mu_logvar: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """One estimate of L_k per image, (N,) nats, k samples taken ``sample_chunk`` at a time (the log-weights are
    :func:`vae_core.objectives.iwae_log_weights`, combined by a running log-sum-exp)."""
    if k < 1:
        raise ValueError("k must be >= 1")
    check_likelihood(likelihood)
    if mu_logvar is None:
        mu_logvar = model.encode(x, y) if model.conditional else model.encode(x)
    n = mu_logvar[0].shape[0]
    sample_chunk = sample_chunk or k
    acc = torch.full((n,), -math.inf)
    done = 0
    while done < k:
        m = min(sample_chunk, k - done)
        lw = iwae_log_weights(model, x, m, y, generator, likelihood, mu_logvar=mu_logvar)
        acc = torch.logaddexp(acc, torch.logsumexp(lw, dim=0))
        done += m
    return acc - math.log(k)


@torch.no_grad()
def evaluate_likelihood(model, x: torch.Tensor, y: torch.Tensor | None = None, likelihood: str = "bernoulli",
                        iwae_k: int = 0, seed: int = 0, image_chunk: int = 0, sample_chunk: int = 0,
                        progress: Callable[[int, int], object] | None = None,
                        per_image: bool = False) -> dict:
    """Dataset averages in nats per image under ``likelihood``.

    Returns ``neg_elbo``, ``recon`` (E_q[-log p(x|z)] from one reparameterised draw), ``kl`` and, with
    ``iwae_k`` > 0, ``iwae_nll`` = -mean L_k and ``iwae_k``; ``likelihood`` and ``n``.  With ``per_image``
    the per-image arrays are added under ``per_image`` (``neg_elbo`` and ``iwae``).
    """
    check_likelihood(likelihood)
    model.eval()
    x = x.reshape(x.shape[0], -1).to(torch.float32)
    g = torch.Generator().manual_seed(seed)
    ic, sc = default_chunks(iwae_k)
    image_chunk = image_chunk or ic
    sample_chunk = sample_chunk or sc
    n = x.shape[0]
    tot = {"neg_elbo": 0.0, "recon": 0.0, "kl": 0.0}
    iw_sum = 0.0
    per_elbo, per_iw = [], []
    for s in range(0, n, image_chunk):
        xb = x[s:s + image_chunk]
        yb = None if y is None or not model.conditional else y[s:s + image_chunk]
        mu, logvar = model.encode(xb, yb) if model.conditional else model.encode(xb)
        z = mu + torch.randn(mu.shape, generator=g) * torch.exp(0.5 * logvar)
        logits = model.decode_logits(z, yb) if model.conditional else model.decode_logits(z)
        recon = neg_log_likelihood(logits, xb, likelihood)
        kl = gaussian_kl_per_dim(mu, logvar).sum(1)
        tot["recon"] += float(recon.sum())
        tot["kl"] += float(kl.sum())
        tot["neg_elbo"] += float((recon + kl).sum())
        if per_image:
            per_elbo.append(recon + kl)
        if iwae_k:
            lk = iwae_chunked(model, xb, iwae_k, likelihood, yb, g, sample_chunk, (mu, logvar))
            iw_sum += float(lk.sum())
            if per_image:
                per_iw.append(lk)
        if progress is not None:
            done = min(s + image_chunk, n)
            so_far = {"neg_elbo": tot["neg_elbo"] / done}
            if iwae_k:
                so_far["iwae_nll"] = -iw_sum / done
            progress(done, n, so_far)
    out: dict = {key: v / n for key, v in tot.items()}
    out["likelihood"] = likelihood
    out["n"] = n
    if iwae_k:
        out["iwae_nll"] = -iw_sum / n
        out["iwae_k"] = iwae_k
    if per_image:
        out["per_image"] = {"neg_elbo": torch.cat(per_elbo), "iwae": torch.cat(per_iw) if per_iw else None}
    return out


# ---------------------------------------------------------------------- CLI (long evaluations)
# the digit family's evaluate flags (parsed by vae_core.command after the CHECKPOINT argument)
EVALUATE_FLAGS = (
    Flag("--likelihood", "str", None, "default: the checkpoint's own", choices=tuple(LIKELIHOODS)),
    Flag("--binarized", "bool", False, "score the fixed seeded binarised test set"),
    Flag("--k", "int", 100, "importance samples (0 = ELBO only)"),
    Flag("--n", "int", 0, "first n test digits only (0 = all)"),
    Flag("--seed", "int", 0),
    Flag("--image-chunk", "int", 0),
    Flag("--sample-chunk", "int", 0),
    Flag("--threads", "int", 0),
    Flag("--data-dir", "str", None, "default: $VAE_DATA_DIR"),
    Flag("--json-out", "str", None, "also write the result here"),
    Flag("--update-checkpoint", "bool", False,
         "store this IWAE result as the checkpoint's test_metrics (iwae_nll, iwae_k; the previous figure is kept "
         "as iwae_nll_k<old k>); needs all test digits, the checkpoint's own likelihood and, for a binarised "
         "model, --binarized"),
)


def main(argv: list[str] | None = None) -> int:
    """Alias of ``python -m vae_core evaluate ARGV`` for digit checkpoints."""
    from ..command import evaluate

    return evaluate(sys.argv[1:] if argv is None else list(argv), "mlp-vae")


def run(args: argparse.Namespace) -> int:
    """Evaluate with parsed flags (``python -m vae_core evaluate`` calls this)."""
    if args.threads:
        torch.set_num_threads(args.threads)
    from .checkpoint import load_checkpoint
    from .data import TEST_BINARIZATION_SEED, binarization_fingerprint, binarize_fixed, load_dataset

    model, meta = load_checkpoint(args.checkpoint)
    likelihood = args.likelihood or meta.get("likelihood", "bernoulli")
    if meta.get("dataset", {}).get("name") == "user":  # a user's data set (#19), stored beside the checkpoint
        from .user_data import DATA_SUBDIR, find_dataset, load_user_data

        ds = meta["dataset"]
        stored = find_dataset(ds.get("sha256"), [Path(args.checkpoint).parent / DATA_SUBDIR])
        if stored is None:
            raise SystemExit(f"error: the data set this model was trained on ({ds.get('file')}) is not in "
                             f"{Path(args.checkpoint).parent / DATA_SUBDIR}")
        test = load_user_data(stored, ds.get("file")).split()[1]
    else:
        test = load_dataset(meta.get("dataset", {}).get("name", "mnist"), "test",
                            root=args.data_dir or os.environ.get("VAE_DATA_DIR"))
    x, y = test.images, test.labels
    if args.n:
        x, y = x[:args.n], y[:args.n]
    info: dict = {"checkpoint": str(args.checkpoint), "likelihood": likelihood, "k": args.k, "seed": args.seed,
                  "data": test.description}
    if args.binarized:
        x = binarize_fixed(x, TEST_BINARIZATION_SEED)
        info["binarization"] = {"seed": TEST_BINARIZATION_SEED, "sha256": binarization_fingerprint(x)}
    t0 = time.perf_counter()

    def on_progress(done: int, total: int, so_far: dict) -> None:
        el = time.perf_counter() - t0
        eta = el / done * (total - done)
        avg = ", ".join(f"{key} {v:.3f}" for key, v in so_far.items())
        print(f"{done:,}/{total:,} images ({avg} nats/image so far), {el:,.0f} s elapsed, ~{eta:,.0f} s left",
              file=sys.stderr, flush=True)

    res = evaluate_likelihood(model, x, y, likelihood, args.k, args.seed, args.image_chunk, args.sample_chunk,
                              progress=on_progress)
    res.update(info)
    res["seconds"] = round(time.perf_counter() - t0, 1)
    text = json.dumps(res, indent=2)
    print(text)
    if args.json_out:
        from .checkpoint import atomic_write_bytes

        atomic_write_bytes(Path(args.json_out), text.encode())
    if args.update_checkpoint:
        _update_checkpoint(args, model, meta, likelihood, res)
    return 0


def _update_checkpoint(args, model, meta: dict, likelihood: str, res: dict) -> None:
    from .checkpoint import save_checkpoint

    own = meta.get("likelihood", "bernoulli")
    binarised_model = meta.get("binarization", "none") != "none"
    if args.n or not args.k or likelihood != own or args.binarized != binarised_model:
        raise SystemExit("--update-checkpoint needs all test digits (--n 0), k > 0, the checkpoint's own likelihood "
                         f"({own}) and --binarized exactly when the model was trained on binarised digits")
    tm = dict(meta.get("test_metrics") or {})
    old_k = tm.get("iwae_k")
    if old_k and old_k != args.k and tm.get("iwae_nll") is not None:
        tm[f"iwae_nll_k{int(old_k)}"] = tm["iwae_nll"]
    tm["iwae_nll"], tm["iwae_k"] = res["iwae_nll"], args.k
    meta = dict(meta)
    meta["test_metrics"] = tm
    ev = dict(meta.get("evaluation") or {})
    ev.update(iwae_k=args.k, iwae_seed=args.seed, iwae_seconds=res["seconds"],
              iwae_command=args.command)
    meta["evaluation"] = ev
    save_checkpoint(args.checkpoint, model, meta, dtype=meta.get("dtype", "float32"))
    print(f"updated {args.checkpoint}.json: iwae_nll {res['iwae_nll']:.3f} at k = {args.k}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
