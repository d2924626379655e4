"""The bundled x4 demo model loads by name and beats bicubic on fresh procedural images
(pretrained/RESULTS.md has the held-out figures)."""

from __future__ import annotations

import sys

import numpy as np
import torch

import imgtrans
from imgtrans.eval.generate import generate_outputs
from imgtrans.eval.run import evaluate
from imgtrans.eval.types import EvalSettings
from imgtrans.plugins.measures import get_measures
from imgtrans_testenv import ROOT

sys.path.insert(0, str(ROOT / "samples"))
import make_sr_dataset  # noqa: E402


def test_bundled_x4_beats_bicubic(host, tmp_path):
    import cv2

    torch.set_num_threads(1)
    rng = np.random.default_rng(2024)
    paths = []
    for i in range(4):
        paths.append(tmp_path / "hr" / f"{i}.png")
        paths[-1].parent.mkdir(exist_ok=True)
        cv2.imwrite(str(paths[-1]), make_sr_dataset.render(rng, 96))
    model = imgtrans.load("srgan.synthetic_x4", seed=0)  # no longer the default (srgan.photos_x4 is)
    assert model.weight_spec.name == "srgan.synthetic_x4"
    settings = EvalSettings(downscale=4, y_channel=True, crop_border=4)  # `imgtrans eval`'s SR defaults
    generate_outputs(model, tmp_path / "out", settings, targets=tmp_path / "hr")
    report = evaluate(tmp_path / "out", tmp_path / "hr", settings, metrics=["psnr", "ssim", "bicubic"],
                      measures=get_measures())
    mean = {**report.mean(), **report.measures}
    assert mean["psnr"] > mean["bicubic_psnr"] + 0.3
    assert mean["ssim"] > mean["bicubic_ssim"]
