"""The ``sketch`` translator: listed, translates as it claims, runs through the pipeline and
the CLI, and ``--precision fast`` errs no more than it declares."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from imgtrans.cli import app
from imgtrans.plugin import TranslateContext, read_image, write_image
from imgtrans.testing import measure_fast_mode, run_translator, sample_image


def test_listed(sample_host):
    assert "sketch" in sample_host.translators


def test_flat_image_gives_white_paper(sample_host):
    from imgtrans_sketch.sketch import SketchOptions, SketchTranslator

    translator = SketchTranslator(SketchOptions(), torch.device("cpu"))
    flat = torch.full((2, 3, 32, 32), 0.4)
    out = translator.translate(flat, TranslateContext(device=torch.device("cpu")))
    assert out.shape == (2, 1, 32, 32)
    assert torch.allclose(out, torch.ones_like(out), atol=1e-3)


def test_edge_is_dark(sample_host):
    from imgtrans_sketch.sketch import SketchOptions, SketchTranslator

    translator = SketchTranslator(SketchOptions(mode="edges", sigma=1.0), torch.device("cpu"))
    step = torch.zeros(1, 3, 32, 32)
    step[..., 16:] = 1.0
    out = translator.translate(step, TranslateContext(device=torch.device("cpu")))[0, 0]
    assert out[:, 15:17].mean() < 0.5 < out[:, :8].mean()


def test_cli_convert(sample_host, tmp_path):
    image = np.zeros((40, 48, 3), np.uint8)
    image[:, 24:] = 255
    write_image(tmp_path / "a.png", image)
    result = CliRunner().invoke(app, ["convert", str(tmp_path / "a.png"), str(tmp_path / "out.png"),
                                      "--plugin", "sketch", "--opt", "mode=edges"])
    assert result.exit_code == 0, result.output
    out = read_image(tmp_path / "out.png").pixels
    assert out.shape == (40, 48) and out[:, 22:26].min() < 128 and out[:, :8].min() > 200


def test_pipeline_gives_gray_drawings_and_batching_changes_nothing(sample_host):
    """As `imgtrans convert` runs it; run_translator also runs the three as one batch and
    fails if any result changes."""
    images = [sample_image(40, 48, seed=seed) for seed in range(3)]
    for mode in ("pencil", "edges"):
        drawings = run_translator("sketch", images, options={"mode": mode})
        assert [d.shape for d in drawings] == [(40, 48)] * 3
        assert all(np.median(d) > 150 and d.min() < 170 for d in drawings)  # light, dark strokes


@pytest.mark.parametrize("mode", ["pencil", "edges"])
def test_fast_mode_errs_no_more_than_declared(sample_host, mode):
    """The figures of SketchTranslator.fast_mode_error (`imgtrans info sketch`) come from
    these inputs; a change that makes fast mode worse fails here."""
    images = [sample_image(64, 64, seed=seed) for seed in range(4)]
    measured = measure_fast_mode("sketch", images, options={"mode": mode})
    assert measured.dtype == "bf16"
    assert measured.mean <= 1.0 and measured.max <= 6, measured
