"""Several inputs, as ``cp`` takes them (the last argument is the output folder), and globs
whose extension matches in any case (issue 24)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

import imgtrans
from imgtrans.api import ConvertSettings, plan
from imgtrans.cli import app
from imgtrans.core.discover import discover_inputs
from imgtrans.errors import NoInputsError, UsageError


def _image(path: Path, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (12, 16, 3), dtype=np.uint8)
    assert cv2.imwrite(str(path), pixels)
    return path


def run(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_files_and_a_folder_land_like_cp(tmp_path):
    a, b = _image(tmp_path / "a.jpg"), _image(tmp_path / "x" / "b.png")
    _image(tmp_path / "shots" / "c.png")
    _image(tmp_path / "shots" / "deep" / "d.png")
    plan = discover_inputs([a, b, tmp_path / "shots"], tmp_path / "out")
    assert sorted(str(i.output.relative_to(tmp_path / "out")) for i in plan.todo) == [
        "a.jpg", "b.png", "shots/c.png", "shots/deep/d.png"]


def test_unquoted_glob_plans_as_the_quoted_one(tmp_path):
    for k, name in enumerate(["img10.jpg", "img2.jpg", "IMG1.JPG", "notes.txt"]):
        _image(tmp_path / "in" / name, k) if name.endswith(("jpg", "JPG")) else (tmp_path / "in" / name).write_text("x")
    quoted = discover_inputs(str(tmp_path / "in" / "*.jpg"), tmp_path / "out")
    expanded = discover_inputs(sorted((tmp_path / "in").glob("*.[jJ][pP][gG]")), tmp_path / "out")
    assert [i.name for i in quoted.todo] == ["IMG1.JPG", "img2.jpg", "img10.jpg"]
    assert [(i.source, i.output) for i in expanded.todo] == [(i.source, i.output) for i in quoted.todo]


def test_glob_extension_is_case_insensitive_only_there(tmp_path):
    for name in ("IMG_1.JPG", "img_2.Jpg", "photo.jpeg", "IMG_3.png"):
        _image(tmp_path / "in" / name)
    names = lambda pattern: [i.name for i in discover_inputs(str(tmp_path / "in" / pattern), tmp_path / "o").todo]
    assert names("*.jpg") == ["IMG_1.JPG", "img_2.Jpg"]
    assert names("*.JP*G") == ["IMG_1.JPG", "img_2.Jpg", "photo.jpeg"]
    assert names("IMG_*.[jp][pn]g") == ["IMG_1.JPG", "IMG_3.png"]
    assert names("**/*.PNG") == ["IMG_3.png"]


def test_same_file_named_twice_is_converted_once(tmp_path):
    a = _image(tmp_path / "in" / "a.jpg")
    plan = discover_inputs([a, str(tmp_path / "in" / "*.JPG"), tmp_path / "in" / ".." / "in" / "a.jpg"],
                           tmp_path / "out")
    assert [i.source for i in plan.todo] == [a]


def test_several_inputs_need_an_output_folder(tmp_path):
    a, b, c = (_image(tmp_path / n) for n in ("a.jpg", "b.jpg", "c.png"))
    # `imgtrans convert *.jpg *.png` without a folder: c.png would be overwritten by cp-like rules
    with pytest.raises(UsageError, match="last argument is the output folder"):
        discover_inputs([a, b], c)
    with pytest.raises(UsageError, match="last argument is the output folder"):
        discover_inputs([a, b], tmp_path / "new.png")
    with pytest.raises(NoInputsError, match="missing.jpg"):
        discover_inputs([a, tmp_path / "missing.jpg"], tmp_path / "out")


def test_output_folder_among_the_inputs_is_left_out(tmp_path):
    a = _image(tmp_path / "p" / "a.jpg")
    _image(tmp_path / "p" / "out" / "a.jpg")  # a previous run's result
    plan = discover_inputs([a, tmp_path / "p" / "out"], tmp_path / "p" / "out")  # photos/* out/
    assert plan.excluded == [tmp_path / "p" / "out"] and [i.source for i in plan.skipped] == [a]


def test_cli_takes_several_inputs_and_the_api_a_list(host, tmp_path):
    a, b = _image(tmp_path / "a.jpg", 1), _image(tmp_path / "b.jpg", 2)
    c = _image(tmp_path / "c.png", 3)
    result = run("convert", a, b, c, tmp_path / "out", "--plugin", "resize", "--opt", "scale=2",
                 "--report", tmp_path / "run.json", "--progress", "plain")
    assert result.exit_code == 0, result.output
    for name in ("a.jpg", "b.jpg", "c.png"):
        assert cv2.imread(str(tmp_path / "out" / name)).shape == (24, 32, 3)
    report = json.loads((tmp_path / "run.json").read_text())
    assert report["settings"]["input"] == [str(a), str(b), str(c)]

    result = run("convert", a, b, tmp_path / "c.png", "--plugin", "resize")
    assert result.exit_code == 2 and "output folder" in result.output
    assert cv2.imread(str(c)).shape == (12, 16, 3)  # not overwritten

    report = imgtrans.convert([a, str(tmp_path / "*.PNG")], tmp_path / "api", plugin="resize",
                              device="cpu")
    assert sorted(Path(i.output).name for i in report.items) == ["a.jpg", "c.png"]
    assert plan([a, b], tmp_path / "api", ConvertSettings(plugin="resize")).skipped


def test_one_argument_is_missing_its_output(tmp_path):
    a = _image(tmp_path / "a.jpg")
    result = run("convert", a, "--plugin", "resize")
    assert result.exit_code == 2 and "missing OUTPUT after" in result.output, result.output
    assert run("convert", "--plugin", "resize").exit_code == 2
