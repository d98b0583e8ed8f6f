#!/usr/bin/env bash
# Re-creates every shipped checkpoint in checkpoints/ with the project's own CLI.
# Needs the full MNIST training set: VAE_DATA_DIR=/path/to/folder-with-MNIST/raw.
# Weights are stored as float16 (checkpoints/ must stay under 20 MB); the test
# metrics in each JSON are measured on the float16 weights actually stored.
# Two trainings run at a time, one thread each (2-core machine); then the 20-D model on two threads.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${VAE_DATA_DIR:?set VAE_DATA_DIR to a folder holding MNIST/raw}"
PY=${PYTHON:-python}
Z2="--latent-dim 2 --hidden-dims 512,256 --epochs 60 --lr-schedule cosine --batch-size 128 --lr 1e-3 --seed 0"
COMMON="--save-dtype float16 --iwae-k 500 --threads 1"
run() { echo "+ $PY -m vae_core.train $*"; $PY -m vae_core.train "$@"; }
{
  run $Z2 --beta 1 $COMMON --name mnist-z2 --out checkpoints/mnist-z2
  run $Z2 --beta 4 $COMMON --name mnist-z2-beta4 --out checkpoints/mnist-z2-beta4
  run $Z2 --beta 16 $COMMON --name mnist-z2-beta16 --out checkpoints/mnist-z2-beta16
} > checkpoints/.log-a 2>&1 &
{
  run $Z2 --beta 0.5 $COMMON --name mnist-z2-beta0.5 --out checkpoints/mnist-z2-beta0.5
  run $Z2 --beta 1 --conditional $COMMON --name mnist-cvae-z2 --out checkpoints/mnist-cvae-z2
} > checkpoints/.log-b 2>&1 &
wait
# the 20-D model alone, on both cores, for 120 epochs (60 epochs gave 97.82 nats, 120 give 97.30)
run --latent-dim 20 --hidden-dims 512,256 --epochs 120 --lr-schedule cosine --batch-size 128 --lr 1e-3 --seed 0 \
    --beta 1 --save-dtype float16 --iwae-k 500 --threads 2 --name mnist-z20 --out checkpoints/mnist-z20 \
    >> checkpoints/.log-b 2>&1
grep -h "saved\|test\|throughput" checkpoints/.log-a checkpoints/.log-b
rm -f checkpoints/.log-a checkpoints/.log-b
