"""The demo's super-resolution samples: held-out photographs whose low-resolution inputs are
exactly what ``imgtrans eval`` makes from the ground truth, and on which the default model
(``srgan.photos_x4``) beats bicubic."""

from __future__ import annotations

import cv2
import numpy as np

import imgtrans
from imgtrans.eval.generate import downscale
from imgtrans.eval.generate import generate_outputs
from imgtrans.eval.run import evaluate
from imgtrans.eval.types import EvalSettings
from imgtrans.plugins.measures import get_measures
from imgtrans_testenv import ROOT

SR_SAMPLES = ROOT / "samples" / "srgan"


def _rgb(path):
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def test_inputs_are_the_eval_downscale_of_the_truth():
    truths = sorted((SR_SAMPLES / "truth").glob("*.png"))
    assert len(truths) >= 1
    for truth in truths:
        assert np.array_equal(_rgb(SR_SAMPLES / truth.name), downscale(_rgb(truth), 4))


def test_default_model_beats_bicubic_on_the_held_out_crops(host, tmp_path):
    model = imgtrans.load("srgan", device="cpu", seed=0)
    assert model.weight_spec.name == "srgan.photos_x4"
    settings = EvalSettings(downscale=4, y_channel=True, crop_border=4)  # `imgtrans eval`'s SR defaults
    generate_outputs(model, tmp_path, settings, targets=SR_SAMPLES / "truth")
    report = evaluate(tmp_path, SR_SAMPLES / "truth", settings, metrics=["psnr", "ssim", "bicubic"],
                      measures=get_measures())
    assert len(report.scored) >= 1
    for row in report.scored:
        assert row.values["psnr"] > row.values["bicubic_psnr"], row
