#!/usr/bin/env bash
# Recipe for the bundled x4 super-resolution demo model (MSRResNet, MSE loss, CPU).
#   bash pretrained/recipes/train_sr_demo.sh [WORK_DIR]
# Generates procedural HR images, trains with `imgtrans train srgan`, bundles the generator
# into pretrained/srgan_synthetic_x4/ and scores it against bicubic on the held-out images.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${1:-/tmp/imgtrans-sr-demo}
python samples/make_sr_dataset.py "$work/data" --train 300 --test 30 --size 192 --seed 0
OMP_NUM_THREADS=1 imgtrans train srgan "$work/data" --out "$work/run" \
    --opt arch=msrresnet --opt num_feat=32 --opt num_block=8 --opt lr=3e-4 --opt n_epochs=100 \
    --batch-size 16 --seed 0 > "$work/train.log" 2>&1
python pretrained/recipes/bundle_checkpoint.py "$work/run" pretrained/srgan_synthetic_x4 G
imgtrans eval "$work/eval" "$work/data/test" --plugin srgan --weights pretrained/srgan_synthetic_x4 --metrics psnr,ssim,bicubic
