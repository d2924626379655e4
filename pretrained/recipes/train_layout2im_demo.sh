#!/usr/bin/env bash
# Recipe for the bundled layout2im demo model (small generator, synthetic shapes, CPU).
#   bash pretrained/recipes/train_layout2im_demo.sh [WORK_DIR]
# Generates 1000 synthetic layouts + renderings (COCO-format annotations; each object in a
# shade and pattern of its own, see imgtrans_layout2im/synthetic.py), trains with
# `imgtrans train layout2im`, bundles the run's final checkpoint (generator only) into
# pretrained/layout2im_shapes_synth/, and measures object accuracy and diversity.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${1:-/tmp/imgtrans-layout2im-demo}
PYTHONPATH=plugins python -c "from pathlib import Path; from imgtrans_layout2im.synthetic import make_dataset; make_dataset(Path('$work/data'), 1000, 0)"
OMP_NUM_THREADS=1 imgtrans train layout2im "$work/data" --out "$work/run" --batch-size 8 --epochs 18 --seed 0 \
    --opt conv_dim=16 --opt d_conv_dim=16 --opt clstm_layers=1 --opt n_residual=2 \
    --opt z_dim=16 --opt embedding_dim=16 --opt min_objects=1 --opt max_objects=4 --opt lr=2e-4 \
    --opt lambda_ms=0.3 --opt lambda_obj_cls=2 > "$work/train.log" 2>&1
python pretrained/recipes/bundle_checkpoint.py "$work/run" pretrained/layout2im_shapes_synth G
PYTHONPATH=plugins python -m imgtrans_layout2im.quality --weights pretrained/layout2im_shapes_synth
