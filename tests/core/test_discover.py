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
