"""Input discovery and output mapping, decided before any model loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgtrans.core.discover import discover_inputs
from imgtrans.errors import NoInputsError, UsageError


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_natural_order_mirroring_and_non_ascii(tmp_path):
    for name in ("img10.png", "img2.png", "img1.png", "façade/日本.JPG", "notes.txt", ".hidden.png",
                 ".x.png.abc.tmp"):
        _touch(tmp_path / "in" / name)
    plan = discover_inputs(tmp_path / "in", tmp_path / "out")
    assert [i.name for i in plan.todo] == ["façade/日本.JPG", "img1.png", "img2.png", "img10.png"]
    assert plan.todo[0].output == tmp_path / "out" / "façade" / "日本.jpg"


def test_output_folder_inside_input_is_not_read_back(tmp_path):
    _touch(tmp_path / "in" / "a.png")
    _touch(tmp_path / "in" / "out" / "a.png")
    plan = discover_inputs(tmp_path / "in", tmp_path / "in" / "out")
    assert [i.name for i in plan.todo] == [] and [i.name for i in plan.skipped] == ["a.png"]


def test_existing_outputs_are_skipped_unless_overwrite(tmp_path):
    _touch(tmp_path / "in" / "a.png")
    _touch(tmp_path / "in" / "b.png")
    _touch(tmp_path / "out" / "a.png")
    plan = discover_inputs(tmp_path / "in", tmp_path / "out")
    assert [i.name for i in plan.skipped] == ["a.png"] and [i.name for i in plan.todo] == ["b.png"]
    assert len(discover_inputs(tmp_path / "in", tmp_path / "out", overwrite=True).todo) == 2


def test_suffix_and_format(tmp_path):
    _touch(tmp_path / "in" / "a.gif")
    _touch(tmp_path / "in" / "b.jpg")
    plan = discover_inputs(tmp_path / "in", tmp_path / "out", suffix="_x")
    assert [i.output.name for i in plan.todo] == ["a_x.png", "b_x.jpg"]
    plan = discover_inputs(tmp_path / "in", tmp_path / "out", output_format="webp")
    assert [i.output.name for i in plan.todo] == ["a.webp", "b.webp"]


def test_errors(tmp_path):
    with pytest.raises(NoInputsError):
        discover_inputs(tmp_path / "missing", tmp_path / "out")
    _touch(tmp_path / "in" / "a.png")
    _touch(tmp_path / "in" / "b.png")
    with pytest.raises(UsageError, match="several inputs"):
        discover_inputs(tmp_path / "in/*.png", tmp_path / "one.png")
    with pytest.raises(UsageError, match="overwrite the input"):
        discover_inputs(tmp_path / "in", tmp_path / "in")


def test_16_bit_inputs_planned_as_jpeg_get_one_warning_per_run(tmp_path, caplog):
    import logging

    import cv2
    import numpy as np

    (tmp_path / "in").mkdir()
    for i in range(4):
        cv2.imwrite(str(tmp_path / "in" / f"{i}.png"), np.full((8, 8, 3), 1000 * i, np.uint16))
    cv2.imwrite(str(tmp_path / "in" / "eight.png"), np.zeros((8, 8, 3), np.uint8))
    with caplog.at_level(logging.WARNING, logger="imgtrans.core.discover"):
        discover_inputs(tmp_path / "in", tmp_path / "out", output_format="jpg")
    warnings = [r.getMessage() for r in caplog.records if "16-bit" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].startswith("4 16-bit input(s) (0.png, 1.png, 2.png and 1 more)")
    assert "jpg" in warnings[0] and "--format png or tiff" in warnings[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="imgtrans.core.discover"):
        discover_inputs(tmp_path / "in", tmp_path / "png")  # 16-bit PNGs stay 16-bit PNGs
        discover_inputs(tmp_path / "in" / "0.png", tmp_path / "one.tiff")
        discover_inputs(tmp_path / "in" / "eight.png", tmp_path / "eight.jpg")
    assert not [r for r in caplog.records if "16-bit" in r.getMessage()]
    with caplog.at_level(logging.WARNING, logger="imgtrans.core.discover"):
        discover_inputs(tmp_path / "in" / "1.png", tmp_path / "one.jpg")
    assert len([r for r in caplog.records if "16-bit input(s) (1.png)" in r.getMessage()]) == 1
