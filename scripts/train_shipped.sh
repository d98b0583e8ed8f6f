#!/usr/bin/env bash
# Re-creates the shipped checkpoints in checkpoints/ from their recipes in configs/ with the project's one
# command line (python -m vae_core train --config configs/NAME.toml; the JSON's "command" records the run).
# Needs the full MNIST training set: VAE_DATA_DIR=/path/to/folder-with-MNIST/raw.
# Weights are stored as float16 (checkpoints/ must stay small); the test metrics in each JSON are measured on
# the float16 weights actually stored.
# Two trainings run at a time, one thread each (2-core machine); then the 20-D model on two threads.
# The staged text models (words-z16, smiles-z32) are replayed by scripts/replay_stages.py, the recommender
# models by python -m bench.recommender (also its baselines).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${VAE_DATA_DIR:?set VAE_DATA_DIR to a folder holding MNIST/raw}"
PY=${PYTHON:-python}
run() { echo "+ $PY -m vae_core train --config configs/$1.toml"; $PY -m vae_core train --config "configs/$1.toml"; }
run mnist-classifier  # the CNN behind FID / IS (update_fid.py below needs it)
{
  run mnist-z2
  run mnist-z2-beta4
  run mnist-z2-beta16
} > checkpoints/.log-a 2>&1 &
{
  run mnist-z2-beta0.5
  run mnist-cvae-z2
} > checkpoints/.log-b 2>&1 &
wait
# the 20-D model alone, on both cores, for 120 epochs (60 epochs gave 97.82 nats, 120 give 97.30)
run mnist-z20 >> checkpoints/.log-b 2>&1
# the two likelihood models of #11, side by side on one thread each:
# * mnist-z20-cb: mnist-z20's architecture and 120 epochs with the continuous-Bernoulli likelihood (a density on
#   grey pixels) and logits bounded to (-80, 15) (digits.model.LogitRange: lambda stays inside (0, 1); unbounded,
#   the decoder drives black pixels' logits towards -inf because MNIST's CB density is unbounded there);
#   evaluated at k = 500 like mnist-z20: test log-density >= +2,814.9 nats/image (1,659 s of training);
# * mnist-z20-bin: trained on dynamically binarised MNIST (a fresh x ~ Bernoulli(grey) every batch) for 300 epochs
#   with the KL weight rising linearly over the first 10 epochs (4,690 steps), evaluated on the test set binarised
#   once with numpy default_rng(0) (vae_core.digits.data.binarize_fixed): -log P(x) <= 86.52 nats at k = 500; that
#   figure is then replaced by the IWAE bound at k = 5,000 (Burda et al. 2016's estimator; see the JSON's evaluation).
run mnist-z20-cb >> checkpoints/.log-a 2>&1 &
run mnist-z20-bin >> checkpoints/.log-b 2>&1 &
wait
$PY -m vae_core evaluate checkpoints/mnist-z20-bin --binarized --k 5000 --threads 2 --update-checkpoint \
    >> checkpoints/.log-b 2>&1
grep -h "saved\|test\|throughput\|updated" checkpoints/.log-a checkpoints/.log-b
rm -f checkpoints/.log-a checkpoints/.log-b
# the sprites sweep and the single-stage text models
for m in sprites-beta1 sprites-beta4 sprites-beta8 words-z2 words-z16-nofix words-z16-fix; do run "$m"; done
# FID / IS of every digit model's prior samples (with checkpoints/mnist-classifier)
$PY scripts/update_fid.py
