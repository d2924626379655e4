#!/usr/bin/env bash
# Recipe for the bundled pix2pix and CycleGAN demo weights (CPU, a few minutes each).
#   bash pretrained/recipes/train_gan_demos.sh [WORK_DIR]
# Generates the synthetic datasets, trains both models with `imgtrans train`, copies the
# inference part of each final checkpoint into pretrained/, and scores them on held-out data.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${1:-/tmp/imgtrans-gan-demos}
python samples/make_gan_datasets.py "$work/data" --size 64 --train 400 --test 50 --seed 0

common="--opt load_size=72 --opt crop_size=64 --seed 0"
OMP_NUM_THREADS=1 imgtrans train pix2pix "$work/data/facades_synth" --out "$work/runs/pix2pix" \
    --opt depth=6 --opt ngf=16 --opt ndf=32 --opt n_epochs=10 --opt n_epochs_decay=10 \
    --batch-size 4 $common > "$work/pix2pix.log" 2>&1 &
OMP_NUM_THREADS=1 imgtrans train cyclegan "$work/data/day2night_synth" --out "$work/runs/cyclegan" \
    --opt n_blocks=6 --opt ngf=16 --opt ndf=32 --opt n_epochs=5 --opt n_epochs_decay=5 \
    --batch-size 1 $common > "$work/cyclegan.log" 2>&1 &
wait

python pretrained/recipes/bundle_checkpoint.py "$work/runs/pix2pix" pretrained/pix2pix_facades_synth G
python pretrained/recipes/bundle_checkpoint.py "$work/runs/cyclegan" pretrained/cyclegan_day2night_synth G_A G_B
