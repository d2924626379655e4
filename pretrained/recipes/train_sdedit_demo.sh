#!/usr/bin/env bash
# Recipe for the bundled SDEdit demo model (32 px DDPM with EMA, CPU).
#   bash pretrained/recipes/train_sdedit_demo.sh [WORK_DIR]
# Generates facade renderings and held-out stroke paintings, trains with `imgtrans train
# sdedit`, copies the EMA model's diffusers folder into pretrained/sdedit_facades_synth/ and
# scores faithfulness/realism against strength.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${1:-/tmp/imgtrans-sdedit-demo}
(cd samples && python make_sdedit_dataset.py "$work/data" --train 600 --strokes 40 --seed 0)
OMP_NUM_THREADS=1 imgtrans train sdedit "$work/data" --out "$work/run" \
    --opt n_epochs=100 --batch-size 16 --seed 0 > "$work/train.log" 2>&1
rm -rf pretrained/sdedit_facades_synth
cp -r "$work/run/checkpoints/latest/diffusers" pretrained/sdedit_facades_synth
python pretrained/recipes/score_sdedit_demo.py "$work/data"
