"""``outscale`` defaults to the model's own scale; Real-ESRGAN's fixed 4 is one option away."""

from __future__ import annotations

import numpy as np
import torch

import imgtrans
from imgtrans_srgan.archs import SRConfig
from imgtrans_srgan.options import SROptions


def test_default_output_is_the_models_scale_and_outscale_4_is_explicit(host, tmp_path):
    assert SROptions().outscale is None
    torch.manual_seed(0)
    torch.save(SRConfig("msrresnet", scale=2, num_feat=8, num_block=1).build().state_dict(), tmp_path / "x2.pth")
    image = np.random.default_rng(0).integers(0, 256, (10, 14, 3), dtype=np.uint8)
    assert imgtrans.load("srgan", tmp_path / "x2.pth")(image).shape == (20, 28, 3)
    assert imgtrans.load("srgan", tmp_path / "x2.pth", options={"outscale": 4})(image).shape == (40, 56, 3)
