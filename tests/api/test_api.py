"""The Python API does what the CLI does: load with options, call on arrays and tensors,
convert in one call."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

import imgtrans
from imgtrans.errors import PluginError, UsageError


def test_load_and_call_on_numpy_list_and_tensor(host):
    resize = imgtrans.load("resize", options={"scale": "2"}, device="cpu")
    rgb = np.random.default_rng(0).integers(0, 256, (10, 14, 3), dtype=np.uint8)
    out = resize(rgb)
    assert out.shape == (20, 28, 3) and out.dtype == np.uint8
    gray16 = np.full((5, 7), 40000, np.uint16)
    both = resize([rgb, gray16])
    assert both[1].shape == (10, 14) and both[1].dtype == np.uint16
    assert np.all(both[1] == 40000)  # flat image stays flat at full 16-bit precision
    tensor = torch.rand(2, 3, 8, 8)
    assert resize(tensor).shape == (2, 3, 16, 16)
    assert resize(tensor[0]).shape == (3, 16, 16)


def test_load_rejects_bad_options_and_unknown_translators(host):
    with pytest.raises(UsageError, match="out of range: expected 1 to 16"):
        imgtrans.load("resize", options={"scale": 99})
    with pytest.raises(PluginError, match="did you mean"):
        imgtrans.load("resise")


def test_numpy_call_matches_cli_conversion(host, tmp_path):
    rgb = np.random.default_rng(1).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "a.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    report = imgtrans.convert(tmp_path / "a.png", tmp_path / "out.png", plugin="sketch",
                              options={"mode": "edges"})
    assert report.summary()["done"] == 1
    written = cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED)
    direct = imgtrans.load("sketch", options={"mode": "edges"})(rgb)
    assert np.array_equal(written, direct)


def test_translator_info_lists_options_and_capabilities(host):
    info = imgtrans.translator_info("sketch")
    assert info["capabilities"]["fully_convolutional"] is True
    names = {o["name"]: o for o in info["options"]}
    assert names["mode"]["choices"] == ("pencil", "edges") and names["sigma"]["type"] == "float"
    assert {t["name"] for t in imgtrans.list_translators()} >= {"sketch", "resize"}
