"""The example plugin's own tests: it is listed, it translates, and it runs through the CLI."""

from __future__ import annotations


import numpy as np
import pytest
import torch

from imgtrans.plugins import manager
from imgtrans.translators.base import TranslateContext


@pytest.fixture
def sketch_host():
    import imgtrans_sketch

    manager.reset()
    host = manager.get_host()
    if "sketch" not in host.translators:
        host.register(imgtrans_sketch, name="imgtrans_sketch", source="test")
    yield host
    manager.reset()


def test_listed(sketch_host):
    assert "sketch" in sketch_host.translators


def test_flat_image_gives_white_paper(sketch_host):
    from imgtrans_sketch.translator import SketchOptions, SketchTranslator

    translator = SketchTranslator(SketchOptions(), torch.device("cpu"))
    flat = torch.full((2, 3, 32, 32), 0.4)
    out = translator.translate(flat, TranslateContext(device=torch.device("cpu")))
    assert out.shape == (2, 1, 32, 32)
    assert torch.allclose(out, torch.ones_like(out), atol=1e-3)


def test_edge_is_dark(sketch_host):
    from imgtrans_sketch.translator import SketchOptions, SketchTranslator

    translator = SketchTranslator(SketchOptions(mode="edges", sigma=1.0), torch.device("cpu"))
    step = torch.zeros(1, 3, 32, 32)
    step[..., 16:] = 1.0
    out = translator.translate(step, TranslateContext(device=torch.device("cpu")))[0, 0]
    assert out[:, 15:17].mean() < 0.5 < out[:, :8].mean()


def test_cli_convert(sketch_host, tmp_path):
    import cv2
    from typer.testing import CliRunner

    from imgtrans.cli import app

    image = np.zeros((40, 48, 3), np.uint8)
    image[:, 24:] = 255
    cv2.imwrite(str(tmp_path / "a.png"), image)
    result = CliRunner().invoke(app, ["convert", str(tmp_path / "a.png"), str(tmp_path / "out.png"),
                                      "--plugin", "sketch", "--opt", "mode=edges"])
    assert result.exit_code == 0, result.output
    out = cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED)
    assert out.shape == (40, 48) and out[:, 22:26].min() < 128 and out[:, :8].min() > 200
