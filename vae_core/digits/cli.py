"""The digit family's training command: ``python -m vae_core train --latent-dim 2 --epochs 30 --out checkpoints/x``.

(``python -m vae_core.digits.cli ...`` is an alias; the flags shared by every family are parsed by
:mod:`vae_core.command`, this family's own ones are :data:`FLAGS`.)

Trains with :func:`vae_core.digits.train.train` (progress bar on stderr), evaluates the
test −ELBO and IWAE bound on exactly the weights it stores (after a float16
round trip with ``--save-dtype float16``), writes ``OUT.safetensors`` + ``OUT.json``
and prints the test figures and the training throughput.  Exit status 1 if the
training diverged.

``--likelihood continuous_bernoulli`` trains and evaluates with the continuous Bernoulli
(test figures are log-densities); ``--binarize`` trains on dynamically binarised digits
and evaluates on the fixed seeded binarisation of the test set
(:func:`vae_core.digits.data.binarize_fixed`, seed ``TEST_BINARIZATION_SEED``), where the
Bernoulli IWAE figure is a bound on -log P(x) comparable with the literature.

``--data FILE`` trains on a user's data set instead (:mod:`vae_core.digits.user_data`: .npz / .npy / .zip of
folders of images) at the data's own H×W (the model's input is H·W); the file's name, SHA-256, image shape,
size and label names go into the checkpoint JSON, and a copy of the file is stored beside the checkpoint
(``OUT's folder/datasets/<sha256>.<ext>``), where the app finds it when it opens the model.

Evaluation runs in bounded memory (:mod:`vae_core.digits.evaluate`: chunks over images and
over the k importance samples) with a progress bar.  The default ``--iwae-k`` is
``DEFAULT_IWAE_K`` = 10: on all 10,000 test digits that is 100,000 decoder passes,
less work than one training epoch (60,000 images x forward and backward through both
networks); the shipped models state their larger k in their JSON.
"""

from __future__ import annotations

import argparse
import math
import os
import sys

import torch
from tqdm import tqdm

from ..families import Flag
from ..likelihoods import LIKELIHOODS
from ..runtime import torch_threads
from .checkpoint import save_checkpoint, training_metadata
from .data import TEST_BINARIZATION_SEED, binarization_fingerprint, binarize_fixed, load_dataset
from .evaluate import evaluate_likelihood
from .train import Report, TrainConfig, train

__all__ = ["DEFAULT_IWAE_K", "FLAGS", "build_parser", "main", "run"]

DEFAULT_IWAE_K = 10


# the digit family's own flags (the shared ones -- sizes, KL schedule, seed, threads, out, name... -- are
# declared once in vae_core.command.SHARED)
FLAGS = (
    Flag("--activation", "str", "relu"),
    Flag("--conditional", "bool", False, "train a class-conditional VAE (CVAE)"),
    Flag("--lr-schedule", "str", "constant", choices=("constant", "cosine")),
    Flag("--dataset", "str", "mnist", choices=("mnist", "fashion-mnist", "kmnist")),
    Flag("--data", "str", None, "train on your own data set: .npz (x: N×H×W[×3] uint8 or float in [0,1], optional "
         "y, names), .npy, or .zip of PNG/JPEG in one folder per class (see vae_core.digits.user_data)"),
    Flag("--data-dir", "str", None, "default: $VAE_DATA_DIR"),
    Flag("--subset", "int", 0, "train on a random subset of this size (0 = all)"),
    Flag("--likelihood", "str", "bernoulli", "decoder likelihood p(x|z); continuous_bernoulli is a proper density "
         "on grey pixels", choices=tuple(LIKELIHOODS)),
    Flag("--logit-range", "range", None, "map the decoder's logits smoothly onto (LO, HI) so lambda = sigmoid(eta) "
         "stays inside (0, 1) (e.g. -80,15 for the continuous Bernoulli; default: unbounded)"),
    Flag("--binarize", "bool", False, "train on dynamically binarised digits (fresh x ~ Bernoulli(grey) every "
         f"batch) and evaluate on the test set binarised once with seed {TEST_BINARIZATION_SEED}"),
    Flag("--iwae-k", "int", DEFAULT_IWAE_K, "importance samples for the test IWAE bound (0 = skip; "
         f"default {DEFAULT_IWAE_K})"),
)


def build_parser():
    """The digit family's ``train`` parser (built by :mod:`vae_core.command`)."""
    from ..command import train_parser

    return train_parser("mlp-vae")


def _user_data(args):
    """(train, test, the checkpoint's dataset entry) of ``--data FILE``; the file is copied beside the output."""
    from pathlib import Path

    from .user_data import DATA_SUBDIR, UserDataError, dataset_meta, load_user_data, store_dataset

    if args.conditional:
        raise SystemExit("--conditional is for the ten digit classes; train a plain VAE on your own data")
    if args.binarize:
        raise SystemExit("--binarize is for MNIST; train on your own data's grey pixels")
    try:
        ud = load_user_data(args.data)
        train_data, test_data = ud.split()
        stored = store_dataset(Path(args.data).read_bytes(), Path(args.out).parent / DATA_SUBDIR, ud.file_name)
    except (UserDataError, OSError) as exc:
        raise SystemExit(f"error: {exc}") from None
    print(f"data set stored for the app: {stored}", file=sys.stderr)
    return train_data, test_data, dataset_meta(ud)


def main(argv: list[str] | None = None) -> int:
    """Alias of ``python -m vae_core train --family mlp-vae ARGV``."""
    from ..command import train

    return train(sys.argv[1:] if argv is None else list(argv), "mlp-vae")


def run(args: argparse.Namespace) -> int:
    """Train, evaluate and save with parsed flags (``python -m vae_core train`` calls this)."""
    with torch_threads(args.threads):  # training and evaluation alike; restored when the command returns
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    cfg = TrainConfig(
        latent_dim=args.latent_dim, hidden_dims=args.hidden_dims, activation=args.activation,
        conditional=args.conditional, beta=args.beta, kl_schedule=args.kl_schedule,
        warmup_steps=args.warmup_steps, free_bits=args.free_bits, epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, lr_schedule=args.lr_schedule, seed=args.seed,
        num_threads=args.threads, likelihood=args.likelihood,
        binarization="dynamic" if args.binarize else "none", logit_range=args.logit_range,
    )
    if args.binarize and args.likelihood != "bernoulli":
        raise SystemExit("--binarize goes with the Bernoulli likelihood (binary pixels)")
    if args.iwae_k < 0:
        raise SystemExit("--iwae-k must be >= 0")
    user = None
    if args.data:
        train_data, test_data, user = _user_data(args)
    else:
        data_dir = args.data_dir or os.environ.get("VAE_DATA_DIR")
        train_data = load_dataset(args.dataset, "train", root=data_dir)
        test_data = load_dataset(args.dataset, "test", root=data_dir)
    if train_data.is_sample:
        print("note:", train_data.description, file=sys.stderr)
    train_data = train_data.subset(args.subset or None, seed=args.seed)
    print(f"data: {train_data.description}", file=sys.stderr)
    steps_per_epoch = math.ceil(len(train_data) / min(cfg.batch_size, len(train_data)))
    bar = tqdm(total=steps_per_epoch * cfg.epochs, unit="step", file=sys.stderr)
    last = [0]

    def on_report(r: Report) -> None:
        bar.update(r.step - last[0])
        last[0] = r.step
        bar.set_postfix(epoch=r.epoch, loss=f"{r.loss:.2f}", recon=f"{r.recon:.2f}", kl=f"{r.kl:.2f}")
        if r.kind == "epoch":
            bar.write(f"epoch {r.epoch}/{r.epochs}: loss {r.loss:.3f} recon {r.recon:.3f} "
                      f"kl {r.kl:.3f} nats/image, {r.samples_per_s:,.0f} samples/s")

    res = train(train_data.images, cfg, labels=train_data.labels, callback=on_report)
    bar.close()
    model = res.model
    if res.diverged:
        print("error:", res.message, file=sys.stderr)
    if args.save_dtype == "float16":  # evaluate exactly what is stored
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.half().float())
    x_test = test_data.images
    evaluation = {"likelihood": args.likelihood, "iwae_k": args.iwae_k, "n_test": len(test_data)}
    if args.binarize:
        x_test = binarize_fixed(x_test, TEST_BINARIZATION_SEED)
        evaluation.update(test_pixels="binarized", test_binarization_seed=TEST_BINARIZATION_SEED,
                          test_binarization_sha256=binarization_fingerprint(x_test),
                          what="test -ELBO and IWAE bound on -log P(x), a Bernoulli log-probability of binary digits")
    elif args.likelihood == "continuous_bernoulli":
        evaluation.update(test_pixels="grey",
                          what="test -ELBO and IWAE bound on -log p(x), a continuous-Bernoulli log-density")
    else:
        evaluation.update(test_pixels="grey",
                          what="Bernoulli cross-entropy objective on grey pixels: -ELBO and IWAE figures bound no "
                               "log-likelihood (grey pixels have no Bernoulli probability)")
    ebar = tqdm(total=len(test_data), unit="image", file=sys.stderr,
                desc=f"test evaluation (IWAE k={args.iwae_k})" if args.iwae_k else "test evaluation")

    def on_eval(done: int, _total: int, so_far: dict) -> None:  # evaluate_likelihood passes the total too
        ebar.update(done - ebar.n)
        ebar.set_postfix({k: f"{v:.2f}" for k, v in so_far.items()})

    metrics = evaluate_likelihood(model, x_test, test_data.labels, likelihood=args.likelihood,
                                  iwae_k=args.iwae_k, progress=on_eval)
    ebar.close()
    meta = training_metadata(cfg, res, train_data, test_data, metrics, name=args.name,
                             command=getattr(args, "command", None))
    meta["evaluation"] = evaluation
    if user is not None:
        meta["dataset"] = dict(user, n_train=len(train_data), n_test=len(test_data))
    paths = save_checkpoint(args.out, model, meta, dtype=args.save_dtype)
    if args.binarize or args.likelihood == "continuous_bernoulli":
        kind = "binarised test digits, -log P(x)" if args.binarize else "continuous-Bernoulli -log p(x), a density"
        print(f"test -ELBO: {metrics['neg_elbo']:.2f} nats/image (recon {metrics['recon']:.2f}, "
              f"KL {metrics['kl']:.2f}; {kind})")
        if "iwae_nll" in metrics:
            print(f"test IWAE bound (k={args.iwae_k}): -log p(x) <= {metrics['iwae_nll']:.2f} nats/image")
    else:
        print(f"test -ELBO: {metrics['neg_elbo']:.2f} nats/image (recon {metrics['recon']:.2f}, "
              f"KL {metrics['kl']:.2f}; recon is the Bernoulli cross-entropy of grey pixels: "
              f"a training objective, not a bound on -log p(x))")
        if "iwae_nll" in metrics:
            print(f"test IWAE bound (k={args.iwae_k}) with the same cross-entropy: {metrics['iwae_nll']:.2f} "
                  f"nats/image (not a -log p(x) either)")
    print(f"saved: {paths[0]} and {paths[1]}")
    print(f"throughput: {res.samples_per_s:.0f} samples/s")
    return 1 if res.diverged else 0


if __name__ == "__main__":
    raise SystemExit(main())
