"""Train a sequence VAE from the command line (words or SMILES); ``python -m vae_core.sequence.cli`` is an alias.

    python -m vae_core train --family seq-vae --dataset words --latent-dim 16 --epochs 30 \
        --kl-schedule linear --warmup-steps 3000 --word-dropout 0.5 --out checkpoints/words-z16

writes NAME.safetensors + NAME.json (family "seq-vae") and prints the test
metrics: for words the whole-word reconstruction accuracy (greedy decoding of
the posterior mean) and the KL in nats; for SMILES the validity of decoded test
posterior means and the validity / uniqueness / novelty of prior samples.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from ..families import Flag
from ..pair_io import checkpoint_metadata
from .checkpoint import save_seq_checkpoint
from .metrics import seq_test_metrics
from .train import SeqTrainConfig, build_seq_model, train_seq
from .vocab import Vocab


def load_corpus(dataset: str, n_words: int, subset: int | None):
    if dataset == "words":
        from .words import load_words

        corpus = load_words(n_words)
        kind, max_len = "chars", 17
    elif dataset == "smiles":
        from .smiles import load_molecules

        corpus = load_molecules()
        kind, max_len = "smiles", 81
    else:
        raise SystemExit(f"unknown dataset {dataset!r}")
    train, test = corpus.train, corpus.test
    if subset:
        train, test = train[:subset], test[: max(subset // 5, 10)]
    return corpus, train, test, kind, max_len


# the sequence family's own flags (the shared ones are declared once in vae_core.command.SHARED)
FLAGS = (
    Flag("--dataset", "str", None, choices=("words", "smiles"), required=True),
    Flag("--embed-dim", "int", 32),
    Flag("--enc-hidden", "int", 128),
    Flag("--dec-hidden", "int", 256),
    Flag("--dec-layers", "int", 1),
    Flag("--word-dropout", "float", 0.0),
    Flag("--augment", "float", 0.0,
         "SMILES only: fraction of training molecules re-written as a random SMILES each epoch"),
    Flag("--init", "str", None,
         "continue from this seq-vae checkpoint's weights (same dataset; its architecture is used)"),
    Flag("--n-words", "int", 30_000),
    Flag("--subset", "int", None, "use only the first N training strings (tests)"),
    Flag("--n-prior", "int", 1000, "prior samples for the SMILES generation metrics"),
    Flag("--max-minutes", "float", None,
         "stop training after this many minutes of wall time, then evaluate and save"),
)


def main(argv=None) -> int:
    """Alias of ``python -m vae_core train --family seq-vae ARGV``."""
    from ..command import train

    return train(sys.argv[1:] if argv is None else list(argv), "seq-vae")


def run(args: argparse.Namespace) -> int:
    """Train, evaluate and save with parsed flags (``python -m vae_core train --family seq-vae`` calls this)."""
    torch.set_num_threads(max(1, args.threads))
    corpus, train, test, kind, max_len = load_corpus(args.dataset, args.n_words, args.subset)
    vocab = Vocab.build(train + test, kind) if kind == "smiles" else Vocab.build("abcdefghijklmnopqrstuvwxyz")
    cfg = SeqTrainConfig(latent_dim=args.latent_dim, embed_dim=args.embed_dim, enc_hidden=args.enc_hidden,
                         dec_hidden=args.dec_hidden, dec_layers=args.dec_layers, epochs=args.epochs,
                         batch_size=args.batch_size, lr=args.lr, beta=args.beta, kl_schedule=args.kl_schedule,
                         warmup_steps=args.warmup_steps, word_dropout=args.word_dropout,
                         free_bits=args.free_bits, seed=args.seed)
    cfg.validate()
    init_meta = None
    if args.init:
        from .checkpoint import load_seq_checkpoint

        model, init_meta = load_seq_checkpoint(args.init)
        if init_meta["dataset"]["name"] != args.dataset or model.vocab != vocab or model.max_len != max_len:
            raise SystemExit("--init: that checkpoint was trained on other data")
        for key in ("latent_dim", "embed_dim", "enc_hidden", "dec_hidden", "dec_layers"):
            setattr(cfg, key, getattr(model, key))
        torch.manual_seed(cfg.seed)
    else:
        model = build_seq_model(vocab, cfg, max_len)
    train_ids = vocab.batch(train, max_len)
    epoch_data = None
    if args.augment > 0 and args.dataset == "smiles":
        from .smiles import random_smiles

        def epoch_data(epoch: int) -> torch.Tensor:
            g = torch.Generator().manual_seed(args.seed * 1000 + epoch)
            pick = torch.rand(len(train), generator=g) < args.augment
            out = []
            for i, s in enumerate(train):
                r = random_smiles(s, 0) if bool(pick[i]) else s
                out.append(r if len(vocab.tokenize(r)) < max_len and all(t in vocab.stoi for t in vocab.tokenize(r))
                           else s)
            return vocab.batch(out, max_len)

    print(f"{args.dataset}: {len(train):,} train / {len(test):,} test; vocabulary {len(vocab)} tokens; "
          f"{sum(p.numel() for p in model.parameters()):,} parameters", flush=True)

    def report(row: dict) -> None:
        print(f"epoch {row['epoch']:3d}  step {row['step']:6d}  KL weight {row['kl_weight']:.3f}  "
              f"recon {row['recon']:.3f}  KL {row['kl']:.3f} nats  token acc {row['token_accuracy']:.3f}  "
              f"{row['seconds']:.0f} s", flush=True)

    if args.dataset == "smiles" and args.augment > 0:
        # the per-epoch data: python's random (used by RDKit's doRandom) seeded for reproducibility
        import random

        random.seed(args.seed)
    deadline = time.monotonic() + 60 * args.max_minutes if args.max_minutes else None
    result = train_seq(model, train_ids, cfg, callback=report, epoch_data=epoch_data,
                       should_stop=(lambda: time.monotonic() > deadline) if deadline else None)
    if result.stopped:
        print(f"stopped after {args.max_minutes} minutes, in epoch {result.epochs_done}", flush=True)
    if args.save_dtype == "float16":  # measure what is shipped
        model.load_state_dict({k: v.half().float() for k, v in model.state_dict().items()})
    t0 = time.perf_counter()
    metrics = seq_test_metrics(model, args.dataset, train, test, n_prior=args.n_prior, seed=args.seed)
    print("test metrics:", {k: (round(v, 4) if isinstance(v, float) else v) for k, v in metrics.items()},
          f"({time.perf_counter() - t0:.0f} s)", flush=True)
    meta = checkpoint_metadata(
        "seq-vae", name=args.name, recipe=cfg.to_dict(), command=args.command, seed=cfg.seed,
        beta=cfg.beta,
        kl_schedule={"kind": cfg.kl_schedule, "warmup_steps": cfg.warmup_steps},
        word_dropout=cfg.word_dropout,
        free_bits=cfg.free_bits,
        augment=args.augment,
        dataset={"name": args.dataset, "source": corpus.source, "licence": corpus.licence,
                 "description": corpus.description, "n_train": len(train), "n_test": len(test)},
        epochs=result.epochs_done,
        init=None if init_meta is None else {
            "checkpoint": args.init, "command": init_meta.get("command"), "epochs": init_meta.get("epochs"),
            "steps": init_meta.get("steps"), "history": init_meta.get("history"), "init": init_meta.get("init")},
        steps=result.steps,
        test_metrics=metrics,
        history=result.history,
        training={"train_seconds": round(result.train_seconds, 1), "threads": args.threads,
                  "stopped_early": result.stopped},
    )
    w, j = save_seq_checkpoint(args.out, model, meta, dtype=args.save_dtype)
    print(f"wrote {w} and {j}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
