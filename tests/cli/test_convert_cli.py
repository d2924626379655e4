"""``imgtrans convert`` through typer's runner: folders, skipping, bad inputs, exit codes,
image kinds, batching, tiling, reports."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from imgtrans.cli import app


def _write(path: Path, array: np.ndarray) -> Path:
    """Write an RGB(A)/gray array with OpenCV (which wants BGR)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if array.ndim == 3 and array.shape[2] >= 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR if array.shape[2] == 3 else cv2.COLOR_RGBA2BGRA)
    assert cv2.imwrite(str(path), array)
    return path


def _read(path: Path) -> np.ndarray:
    array = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert array is not None, path
    if array.ndim == 3:
        array = cv2.cvtColor(array, cv2.COLOR_BGR2RGB if array.shape[2] == 3 else cv2.COLOR_BGRA2RGBA)
    return array


def _image(h=24, w=32, c=3, seed=0, dtype=np.uint8):
    rng = np.random.default_rng(seed)
    top = 65535 if dtype == np.uint16 else 255
    shape = (h, w) if c == 1 else (h, w, c)
    return rng.integers(0, top + 1, shape).astype(dtype)


def run(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def tree(tmp_path):
    src = tmp_path / "in"
    _write(src / "a.png", _image(seed=1))
    _write(src / "sub" / "b.jpg", _image(seed=2))
    _write(src / "sub" / "deeper" / "c.png", _image(40, 20, seed=3))
    return src


def test_folder_is_walked_and_mirrored(host, tree, tmp_path):
    out = tmp_path / "out"
    result = run("convert", tree, out, "--plugin", "resize", "--opt", "scale=2")
    assert result.exit_code == 0, result.output
    assert _read(out / "a.png").shape == (48, 64, 3)
    assert (out / "sub" / "b.jpg").exists()
    assert _read(out / "sub" / "deeper" / "c.png").shape == (80, 40, 3)


def test_no_recursive_and_glob(host, tree, tmp_path):
    result = run("convert", tree, tmp_path / "flat", "--plugin", "sketch", "--no-recursive")
    assert result.exit_code == 0
    assert sorted(p.name for p in (tmp_path / "flat").rglob("*.*")) == ["a.png"]
    result = run("convert", f"{tree}/**/*.png", tmp_path / "glob", "--plugin", "sketch")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "glob" / "sub" / "deeper" / "c.png").exists()
    assert not (tmp_path / "glob" / "sub" / "b.jpg").exists()


def test_skip_existing_then_overwrite(host, tree, tmp_path):
    out = tmp_path / "out"
    assert run("convert", tree, out, "--plugin", "sketch").exit_code == 0
    marker = (out / "a.png").stat().st_mtime_ns
    report = tmp_path / "r.json"
    result = run("convert", tree, out, "--plugin", "sketch", "--report", report)
    assert result.exit_code == 0
    assert json.loads(report.read_text())["summary"]["skipped"] == 3
    assert (out / "a.png").stat().st_mtime_ns == marker
    result = run("convert", tree, out, "--plugin", "sketch", "--overwrite", "--report", report)
    assert json.loads(report.read_text())["summary"]["done"] == 3


def test_resume_converts_only_what_is_missing(host, tree, tmp_path):
    out = tmp_path / "out"
    assert run("convert", tree, out, "--plugin", "sketch").exit_code == 0
    (out / "sub" / "b.jpg").unlink()
    report = tmp_path / "r.json"
    assert run("convert", tree, out, "--plugin", "sketch", "--report", report).exit_code == 0
    items = {Path(i["input"]).name: i["status"] for i in json.loads(report.read_text())["items"]}
    assert items == {"a.png": "skipped", "b.jpg": "done", "c.png": "skipped"}


BAD_FILES = {
    "text.png": b"this is not an image",
    "empty.jpg": b"",
}


def test_bad_inputs_are_reported_and_the_rest_is_written(host, tmp_path):
    src = tmp_path / "in"
    for i in range(3):
        _write(src / f"good{i}.png", _image(seed=i))
    for name, data in BAD_FILES.items():
        (src / name).write_bytes(data)
    good_jpeg = cv2.imencode(".jpg", _image(64, 64))[1].tobytes()
    (src / "truncated.jpg").write_bytes(good_jpeg[: len(good_jpeg) // 2])
    report = tmp_path / "r.json"
    result = run("convert", src, tmp_path / "out", "--plugin", "sketch", "--batch-size", "2",
                 "--report", report)
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    for name in ("text.png", "empty.jpg", "truncated.jpg"):
        lines = [line for line in result.output.splitlines() if name in line and "failed" in line]
        assert len(lines) == 1, result.output
    assert "truncated" in result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good0.png", "good1.png", "good2.png"]
    data = json.loads(report.read_text())
    assert data["summary"]["failed"] == 3 and data["summary"]["done"] == 3
    assert all(i["error"] for i in data["items"] if i["status"] == "failed")


def test_too_large_input_fails_cleanly(host, tmp_path):
    _write(tmp_path / "in" / "big.png", _image(100, 100))
    result = run("convert", tmp_path / "in", tmp_path / "out", "--plugin", "sketch",
                 "--max-pixels", "5000")
    assert result.exit_code == 3 and "too large" in result.output


@pytest.mark.parametrize("args, code, message", [
    (["--plugin", "nope"], 5, "no translator named 'nope'"),
    (["--plugin", "sketch", "--opt", "mood=edges"], 2, "did you mean mode"),
    (["--plugin", "sketch", "--opt", "mode=paint"], 2, "choose one of: pencil, edges"),
    (["--plugin", "sketch", "--opt", "novalue"], 2, "key=value"),
    (["--plugin", "gain"], 5, "needs weights"),
    (["--plugin", "gain", "--weights", "no/such/file.pth"], 5, "no such file"),
    (["--plugin", "resize", "--tile", "0", "--device", "tpu"], 2, "device"),
    (["--plugin", "noise", "--tile", "64"], 2, "not fully convolutional"),
])
def test_usage_and_plugin_errors_have_exit_codes(test_translators, tree, tmp_path, args, code, message):
    result = run("convert", tree, tmp_path / "out", *args)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_nothing_matched_exits_4(host, tmp_path):
    (tmp_path / "empty").mkdir()
    assert run("convert", tmp_path / "empty", tmp_path / "out", "--plugin", "sketch").exit_code == 4
    assert run("convert", tmp_path / "missing", tmp_path / "out", "--plugin", "sketch").exit_code == 4
    assert run("convert", f"{tmp_path}/*.png", tmp_path / "out", "--plugin", "sketch").exit_code == 4


def test_single_file_to_file_and_refusing_to_overwrite_input(host, tmp_path):
    src = _write(tmp_path / "x.png", _image())
    assert run("convert", src, tmp_path / "y.webp", "--plugin", "sketch").exit_code == 0
    webp = _read(tmp_path / "y.webp")  # WebP has no gray mode: three equal channels
    assert webp.shape[:2] == (24, 32) and np.ptp(webp.astype(int), axis=-1).max() <= 2
    result = run("convert", src, tmp_path, "--plugin", "sketch")
    assert result.exit_code == 2 and "overwrite the input" in result.output


def test_dry_run_writes_nothing(host, tree, tmp_path):
    result = run("convert", tree, tmp_path / "out", "--plugin", "sketch", "--dry-run")
    assert result.exit_code == 0
    assert result.stdout.count("planned") == 3
    assert not (tmp_path / "out").exists()


def test_rgba_keeps_alpha_gray_stays_gray_16_bit_stays_16_bit(host, tmp_path):
    src = tmp_path / "in"
    rgba = _image(c=4, seed=5)
    _write(src / "rgba.png", rgba)
    _write(src / "gray.png", _image(c=1, seed=6))
    _write(src / "deep.png", _image(c=3, seed=7, dtype=np.uint16))
    _write(src / "deep.jpg", _image(c=3, seed=8))
    assert run("convert", src, tmp_path / "out", "--plugin", "resize", "--opt", "scale=1").exit_code == 0
    out_rgba = _read(tmp_path / "out" / "rgba.png")
    assert out_rgba.shape == rgba.shape and np.array_equal(out_rgba, rgba)
    assert _read(tmp_path / "out" / "gray.png").ndim == 2
    deep = _read(tmp_path / "out" / "deep.png")
    assert deep.dtype == np.uint16
    assert np.array_equal(deep, _read(src / "deep.png"))


def test_alpha_is_resized_with_the_image(host, tmp_path):
    rgba = _image(c=4, seed=5)
    rgba[..., 3] = 255
    rgba[:12, :, 3] = 0
    _write(tmp_path / "rgba.png", rgba)
    assert run("convert", tmp_path / "rgba.png", tmp_path / "o.png", "--plugin", "resize").exit_code == 0
    out = _read(tmp_path / "o.png")
    assert out.shape == (96, 128, 4)
    assert out[:40, :, 3].max() == 0 and out[56:, :, 3].min() == 255


def test_sketch_output_is_gray_and_jpg_alpha_falls_back_to_png(host, tmp_path):
    _write(tmp_path / "a.jpg", _image())
    assert run("convert", tmp_path / "a.jpg", tmp_path / "out", "--plugin", "sketch").exit_code == 0
    assert _read(tmp_path / "out" / "a.jpg").ndim == 2


def test_format_option_and_stem_collisions(host, tmp_path):
    src = tmp_path / "in"
    _write(src / "pic.png", _image(seed=1))
    _write(src / "pic.bmp", _image(seed=2))
    result = run("convert", src, tmp_path / "out", "--plugin", "sketch", "--format", "tiff")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["pic_bmp.tiff", "pic_png.tiff"]
    result = run("convert", src, tmp_path / "out2", "--plugin", "sketch", "--format", "gif")
    assert result.exit_code == 2


def _outputs(folder: Path) -> dict[str, np.ndarray]:
    return {p.name: _read(p) for p in sorted(folder.rglob("*.png"))}


@pytest.mark.parametrize("plugin", ["sketch", "noise", "resize", "pad16"])
def test_batching_never_changes_a_result(test_translators, tmp_path, plugin):
    src = tmp_path / "in"
    for i in range(7):
        _write(src / f"{i}.png", _image(24 if i % 3 else 30, 32, seed=i))
    for batch in ("1", "3", "8"):
        result = run("convert", src, tmp_path / f"b{batch}", "--plugin", plugin, "--batch-size", batch,
                     "--seed", "42")
        assert result.exit_code == 0, result.output
    reference = _outputs(tmp_path / "b1")
    assert len(reference) == 7
    for batch in ("3", "8"):
        other = _outputs(tmp_path / f"b{batch}")
        assert all(np.array_equal(reference[k], other[k]) for k in reference), (plugin, batch)


def test_seed_controls_stochastic_output(test_translators, tmp_path):
    _write(tmp_path / "in" / "a.png", _image())
    for name, seed in (("s1", "1"), ("s1b", "1"), ("s2", "2")):
        assert run("convert", tmp_path / "in", tmp_path / name, "--plugin", "noise", "--seed", seed).exit_code == 0
    a, b, c = (_read(tmp_path / n / "a.png") for n in ("s1", "s1b", "s2"))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_pad_to_multiple_and_crop_back(test_translators, tmp_path):
    img = _image(23, 37)
    _write(tmp_path / "a.png", img)
    assert run("convert", tmp_path / "a.png", tmp_path / "o.png", "--plugin", "pad16").exit_code == 0
    out = _read(tmp_path / "o.png").astype(int)
    assert out.shape == img.shape
    assert np.abs(out - (255 - img.astype(int))).max() <= 1


def test_tiled_equals_untiled_for_a_local_translator(host, tmp_path):
    _write(tmp_path / "a.png", _image(70, 90))
    common = ["--plugin", "sketch", "--opt", "sigma=2"]
    assert run("convert", tmp_path / "a.png", tmp_path / "whole.png", *common).exit_code == 0
    assert run("convert", tmp_path / "a.png", tmp_path / "tiled.png", *common,
               "--tile", "32", "--tile-pad", "8").exit_code == 0
    assert np.array_equal(_read(tmp_path / "whole.png"), _read(tmp_path / "tiled.png"))


def test_report_records_settings_and_timing(host, tree, tmp_path):
    report = tmp_path / "r.json"
    assert run("convert", tree, tmp_path / "out", "--plugin", "sketch", "--opt", "sigma=2",
               "--report", report, "--seed", "7").exit_code == 0
    data = json.loads(report.read_text())
    assert data["settings"]["plugin"] == "sketch" and data["settings"]["seed"] == 7
    assert data["settings"]["translator"]["options"]["sigma"] == 2.0
    assert data["settings"]["imgtrans"]
    assert all(i["status"] == "done" and i["seconds"] > 0 for i in data["items"])


def test_weights_from_a_local_file_reach_the_model(test_translators, tmp_path):
    import torch

    from imgtrans.weights import save_state_dict

    save_state_dict({"gain": torch.tensor(0.5)}, tmp_path / "g.safetensors")
    img = _image()
    _write(tmp_path / "a.png", img)
    result = run("convert", tmp_path / "a.png", tmp_path / "o.png", "--plugin", "gain",
                 "--weights", tmp_path / "g.safetensors")
    assert result.exit_code == 0, result.output
    assert np.abs(_read(tmp_path / "o.png").astype(int) - np.round(img * 0.5)).max() <= 1


def test_progress_modes(host, tree, tmp_path):
    quiet = run("convert", tree, tmp_path / "q", "--plugin", "sketch", "--progress", "none")
    assert quiet.exit_code == 0 and "[1/3]" not in quiet.output
    plain = run("convert", tree, tmp_path / "p", "--plugin", "sketch", "--progress", "plain")
    assert plain.exit_code == 0 and "[3/3] done" in plain.output
    fancy = run("convert", tree, tmp_path / "r", "--plugin", "sketch", "--progress", "rich")
    assert fancy.exit_code == 0 and "images/s" in fancy.output
    assert run("convert", tree, tmp_path / "x", "--plugin", "sketch", "--progress", "loud").exit_code == 2


def test_info_and_plugins_commands(host):
    info = run("info", "sketch")
    assert info.exit_code == 0 and "pencil, edges" in info.stdout and "fully_convolutional=True" in info.stdout
    assert run("info", "nothing").exit_code == 5
    listing = run("plugins")
    assert listing.exit_code == 0 and "translator:resize" in listing.stdout
    assert run("--version").stdout.startswith("imgtrans ")


def test_several_samples_per_input(test_translators, tmp_path):
    src = tmp_path / "in"
    for i in range(3):
        _write(src / f"{i}.png", _image(seed=i))
    report = tmp_path / "r.json"
    assert run("convert", src, tmp_path / "b1", "--plugin", "samples", "--seed", "1", "--report", report).exit_code == 0
    names = sorted(p.name for p in (tmp_path / "b1").iterdir())
    assert names == [f"{i}_s{k}.png" for i in range(3) for k in range(3)]
    samples = [_read(tmp_path / "b1" / f"0_s{k}.png") for k in range(3)]
    assert not np.array_equal(samples[0], samples[1]) and not np.array_equal(samples[1], samples[2])
    assert len(json.loads(report.read_text())["items"][0]["outputs"]) == 3
    assert run("convert", src, tmp_path / "b3", "--plugin", "samples", "--seed", "1", "--batch-size", "3").exit_code == 0
    assert all(np.array_equal(_read(tmp_path / "b1" / n), _read(tmp_path / "b3" / n)) for n in names)
    (tmp_path / "b1" / "1_s2.png").unlink()  # resume: only the input with a missing sample runs again
    assert run("convert", src, tmp_path / "b1", "--plugin", "samples", "--seed", "1", "--report", report).exit_code == 0
    assert [i["status"] for i in json.loads(report.read_text())["items"]].count("done") == 1
    assert (tmp_path / "b1" / "1_s2.png").exists()


def test_non_image_inputs_through_read_input_and_generate(test_translators, tmp_path):
    src = tmp_path / "specs"
    (src / "sub").mkdir(parents=True)
    (src / "a.json").write_text(json.dumps({"color": [255, 0, 0], "size": [4, 6]}))
    (src / "sub" / "b.json").write_text(json.dumps({"color": [0, 0, 255], "size": [4, 6]}))
    (src / "bad.json").write_text("{not json")
    _write(src / "ignored.png", _image())
    result = run("convert", src, tmp_path / "out", "--plugin", "flat", "--batch-size", "2")
    assert result.exit_code == 3 and "bad.json" in result.output and "not a flat-colour" in result.output
    red, blue = _read(tmp_path / "out" / "a.png"), _read(tmp_path / "out" / "sub" / "b.png")
    assert red.shape == (4, 6, 3) and (red == [255, 0, 0]).all() and (blue == [0, 0, 255]).all()
    assert not (tmp_path / "out" / "ignored.png").exists()
