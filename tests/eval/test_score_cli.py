"""``imgtrans score``: matching, A|B halves, size mismatches, resizing, gray/RGBA, Y and
crop, JSON and report output, exit codes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import imgtrans.cli.score  # noqa: F401  (registers the command until the CLI imports it)
from imgtrans.cli import app
from imgtrans.eval import metrics
from imgtrans.core.preprocess import resize


def _write(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if array.ndim == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR if array.shape[2] == 3 else cv2.COLOR_RGBA2BGRA)
    assert cv2.imwrite(str(path), array)
    return path


def _image(h=32, w=40, c=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w) if c == 1 else (h, w, c)).astype(np.uint8)


def _noisy(array, seed=1, amount=12):
    rng = np.random.default_rng(seed)
    return np.clip(array.astype(int) + rng.integers(-amount, amount + 1, array.shape), 0, 255).astype(np.uint8)


def _t(array: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(array.astype(np.float64) / 255)
    return (x[..., None] if x.dim() == 2 else x).permute(2, 0, 1)[None]


def _expected(out: np.ndarray, tgt: np.ndarray) -> dict[str, float]:
    a, b = _t(out), _t(tgt)
    return {"l1": metrics.l1(a, b).item(), "psnr": metrics.psnr(a, b).item(),
            "ssim": metrics.ssim(a, b).item()}


def run(*args):
    return CliRunner().invoke(app, ["score", *[str(a) for a in args]])


def run_json(*args):
    result = run(*args, "--json")
    return result, (json.loads(result.stdout) if result.stdout.strip() else None)


@pytest.fixture
def pairs(tmp_path):
    """out/{a.png, sub/b.png, extra.png} against targets/{a.bmp, sub/b.png, lonely.png}."""
    images = {}
    for i, key in enumerate(("a", "sub/b")):
        target = _image(seed=10 + i)
        output = _noisy(target, seed=20 + i)
        images[key] = (output, target)
        _write(tmp_path / "out" / f"{key}.png", output)
        _write(tmp_path / "targets" / f"{key}{'.bmp' if key == 'a' else '.png'}", target)
    _write(tmp_path / "out" / "extra.png", _image(seed=3))
    _write(tmp_path / "targets" / "lonely.png", _image(seed=4))
    return tmp_path / "out", tmp_path / "targets", images


def test_folders_match_by_relative_path_without_extension(pairs):
    out, targets, images = pairs
    result, data = run_json(out, targets)
    assert result.exit_code == 0, result.output
    by_name = {f["name"]: f for f in data["files"]}
    assert sorted(by_name) == ["a", "sub/b"]
    assert by_name["a"]["target"].endswith("a.bmp")
    for key, (output, target) in images.items():
        for metric, value in _expected(output, target).items():
            assert by_name[key][metric] == pytest.approx(value, rel=1e-9), (key, metric)
    for metric in ("l1", "psnr", "ssim"):
        assert data["mean"][metric] == pytest.approx(np.mean([f[metric] for f in data["files"]]))
    assert data["scored"] == 2 and data["failed"] == 0
    assert [Path(p).name for p in data["unmatched_outputs"]] == ["extra.png"]
    assert [Path(p).name for p in data["unmatched_targets"]] == ["lonely.png"]
    assert "extra.png" in result.stderr and "lonely.png" in result.stderr


def test_table_shows_mean_and_optional_rows(pairs):
    out, targets, images = pairs
    result = run(out, targets)
    assert result.exit_code == 0, result.output
    assert "mean" in result.stdout and "sub/b" not in result.stdout
    mean_psnr = np.mean([_expected(*images[k])["psnr"] for k in images])
    assert f"{mean_psnr:.2f}" in result.stdout
    result = run(out, targets, "--per-file")
    assert "sub/b" in result.stdout and "mean (2 files)" in result.stdout


def test_half_right_scores_against_b_of_an_aligned_pair(tmp_path):
    a_half, b_half = _image(32, 32, seed=1), _image(32, 32, seed=2)
    _write(tmp_path / "test" / "1.png", np.concatenate([a_half, b_half], axis=1))
    output = _noisy(b_half)
    _write(tmp_path / "out" / "1.png", output)
    result, data = run_json(tmp_path / "out", tmp_path / "test", "--half", "right")
    assert result.exit_code == 0, result.output
    assert data["files"][0]["psnr"] == pytest.approx(_expected(output, b_half)["psnr"])
    assert data["files"][0]["ssim"] == pytest.approx(_expected(output, b_half)["ssim"])
    _, left = run_json(tmp_path / "out", tmp_path / "test", "--half", "left")
    assert left["files"][0]["psnr"] == pytest.approx(_expected(output, a_half)["psnr"])
    # without --half the 64-wide pair does not fit the 32-wide output
    result, data = run_json(tmp_path / "out", tmp_path / "test")
    assert result.exit_code == 3 and "size differs" in data["files"][0]["error"]


def test_half_splits_odd_widths_at_int_w_over_2(tmp_path):
    pair = _image(24, 51, seed=5)  # left 25 wide, right 26 wide
    _write(tmp_path / "t.png", pair)
    _write(tmp_path / "left.png", pair[:, :25])
    _write(tmp_path / "right.png", pair[:, 25:])
    result, data = run_json(tmp_path / "left.png", tmp_path / "t.png", "--half", "left")
    assert result.exit_code == 0 and data["files"][0]["psnr"] is None  # identical: infinite
    assert data["files"][0]["ssim"] == pytest.approx(1.0) and data["files"][0]["l1"] == 0.0
    result, data = run_json(tmp_path / "right.png", tmp_path / "t.png", "--half", "right")
    assert result.exit_code == 0 and data["files"][0]["ssim"] == pytest.approx(1.0)
    assert "inf" in run(tmp_path / "right.png", tmp_path / "t.png", "--half", "right").stdout


def test_size_mismatch_fails_that_pair_unless_resize_target(tmp_path):
    target_big = _image(64, 80, seed=6)
    output_small = _image(32, 40, seed=7)
    _write(tmp_path / "out" / "x.png", output_small)
    _write(tmp_path / "out" / "y.png", _noisy(_image(seed=8)))
    _write(tmp_path / "tgt" / "x.png", target_big)
    _write(tmp_path / "tgt" / "y.png", _image(seed=8))
    result = run(tmp_path / "out", tmp_path / "tgt", "--per-file")
    assert result.exit_code == 3
    assert "x: size differs: output 40x32, target 80x64" in result.stderr
    assert "--resize-target" in result.stderr and "mean (1 file)" in result.stdout

    result, data = run_json(tmp_path / "out", tmp_path / "tgt", "--resize-target")
    assert result.exit_code == 0, result.output
    resized = resize(_t(target_big).float(), (32, 40), "bicubic", levels=255)
    resized = ((resized.clamp(0, 1) * 255).round() / 255).double()
    x = next(f for f in data["files"] if f["name"] == "x")
    assert x["psnr"] == pytest.approx(metrics.psnr(_t(output_small), resized).item())
    assert x["ssim"] == pytest.approx(metrics.ssim(_t(output_small), resized).item())


def test_gray_and_rgba_are_compared_as_rgb(tmp_path):
    gray = _image(c=1, seed=9)
    _write(tmp_path / "out" / "g.png", gray)
    _write(tmp_path / "tgt" / "g.png", np.repeat(gray[..., None], 3, axis=2))
    rgb = _image(seed=10)
    rgba = np.concatenate([rgb, _image(c=1, seed=11)[..., None]], axis=2)
    _write(tmp_path / "out" / "r.png", rgba)
    _write(tmp_path / "tgt" / "r.png", rgb)
    result, data = run_json(tmp_path / "out", tmp_path / "tgt")
    assert result.exit_code == 0, result.output
    for f in data["files"]:
        assert f["l1"] == 0.0 and f["ssim"] == pytest.approx(1.0), f


def test_y_channel_and_crop_border(pairs):
    out, targets, images = pairs
    result, data = run_json(out, targets, "--y", "--crop-border", "4")
    assert result.exit_code == 0, result.output
    output, target = images["a"]
    ya = metrics.crop_border(metrics.rgb_to_y(_t(output)), 4)
    yb = metrics.crop_border(metrics.rgb_to_y(_t(target)), 4)
    a = next(f for f in data["files"] if f["name"] == "a")
    assert a["psnr"] == pytest.approx(metrics.psnr(ya, yb).item())
    assert a["ssim"] == pytest.approx(metrics.ssim(ya, yb).item())
    assert data["settings"]["y_channel"] is True and data["settings"]["crop_border"] == 4
    assert run(out, targets, "--crop-border", "20").exit_code == 3  # nothing left: pair fails


def test_report_file_and_suffix(tmp_path):
    target = _image(seed=12)
    _write(tmp_path / "tgt" / "photo.jpg", target)
    _write(tmp_path / "out" / "photo_fake_B.png", target)
    report = tmp_path / "score.json"
    assert run(tmp_path / "out", tmp_path / "tgt").exit_code == 4
    result = run(tmp_path / "out", tmp_path / "tgt", "--suffix", "_fake_B", "--report", report)
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert data["files"][0]["name"] == "photo" and data["mean"]["ssim"] > 0.5


def test_nothing_matches_exits_4(tmp_path):
    _write(tmp_path / "out" / "a.png", _image())
    _write(tmp_path / "tgt" / "b.png", _image())
    result = run(tmp_path / "out", tmp_path / "tgt")
    assert result.exit_code == 4
    assert "no output" in result.stderr and "Traceback" not in result.output
    (tmp_path / "empty").mkdir()
    assert run(tmp_path / "empty", tmp_path / "tgt").exit_code == 4
    assert run(tmp_path / "missing", tmp_path / "tgt").exit_code == 4


def test_unreadable_file_fails_only_its_pair(tmp_path):
    _write(tmp_path / "out" / "a.png", _image())
    _write(tmp_path / "tgt" / "a.png", _image())
    (tmp_path / "out" / "b.png").write_bytes(b"not an image")
    _write(tmp_path / "tgt" / "b.png", _image())
    result, data = run_json(tmp_path / "out", tmp_path / "tgt")
    assert result.exit_code == 3
    assert data["scored"] == 1 and data["failed"] == 1
    assert "not an image" in result.stderr
    assert not math.isnan(data["mean"]["ssim"])


def test_bad_half_is_a_usage_error(pairs):
    out, targets, _ = pairs
    result = run(out, targets, "--half", "middle")
    assert result.exit_code == 2 and "left or right" in result.stderr
