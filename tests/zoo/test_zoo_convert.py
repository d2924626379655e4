"""Models of spandrel's architectures, built here with random weights, through
``imgtrans convert`` without ``--plugin``: outputs equal spandrel's own inference within one
level (8-bit and 16-bit), in .pth and .safetensors, batched, tiled where allowed, with alpha,
gray input and outscale."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from zoo_models import needs_spandrel

needs_spandrel()

from zoo_models import build, cases, save, spandrel_output  # noqa: E402

from imgtrans.cli import app  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """{case: model file}: .pth and .safetensors in turn."""
    folder = tmp_path_factory.mktemp("zoo_models")
    return {case: save(build(case)[0], folder, case, ("pth", "safetensors")[i % 2])
            for i, case in enumerate(cases())}


def _image(height, width, channels=3, depth=8, seed=0):
    """A smooth random image (noise upscaled), so models see image-like input."""
    rng = np.random.default_rng(seed)
    small = rng.random((max(2, height // 4), max(2, width // 4), channels)).astype(np.float32)
    image = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    image = np.clip(image if image.ndim == 3 else image[..., None], 0, 1)
    top = 65535 if depth == 16 else 255
    return np.round(image * top).astype(np.uint16 if depth == 16 else np.uint8)


def _write(path: Path, rgb: np.ndarray) -> Path:
    if rgb.ndim == 3 and rgb.shape[2] >= 3:
        order = cv2.COLOR_RGBA2BGRA if rgb.shape[2] == 4 else cv2.COLOR_RGB2BGR
        rgb = cv2.cvtColor(rgb, order)
    cv2.imwrite(str(path), rgb[..., 0] if rgb.ndim == 3 and rgb.shape[2] == 1 else rgb)
    return path


def _read(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA if image.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    return image


def _levels(a: np.ndarray, b: np.ndarray) -> int:
    assert a.shape == b.shape and a.dtype == b.dtype
    return int(np.abs(a.astype(np.int64) - b.astype(np.int64)).max())


@pytest.mark.parametrize("case", cases())
def test_convert_without_plugin_equals_spandrel_within_one_level(case, models, tmp_path):
    image = _image(30, 22)  # not a multiple of 8, below SCUNet's minimum of 40
    source = _write(tmp_path / "in.png", image)
    result = run("convert", source, tmp_path / "out", "--weights", models[case], "--progress", "none")
    assert result.exit_code == 0, result.output
    out = _read(tmp_path / "out" / "in.png")
    scale = build(case)[2]
    assert out.shape == (30 * scale, 22 * scale, 3)
    assert _levels(out, spandrel_output(models[case], image)) <= 1


def test_pth_and_safetensors_of_one_model_give_the_same_output(tmp_path):
    net = build("span_x4")[0]
    image = _image(20, 24)
    source = _write(tmp_path / "in.png", image)
    outputs = []
    for fmt in ("pth", "safetensors"):
        weights = save(net, tmp_path, "span", fmt)
        assert run("convert", source, tmp_path / fmt, "--weights", weights).exit_code == 0
        outputs.append(_read(tmp_path / fmt / "in.png"))
    assert np.array_equal(*outputs)


def test_batches_change_no_image_by_more_than_one_level(models, tmp_path):
    import imgtrans

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        _write(folder / f"{i}.png", _image(24, 20, seed=i))
    for size in (1, 3):
        report = imgtrans.convert(folder, tmp_path / f"b{size}", weights=str(models["rcan_x2"]),
                                  batch_size=size)
        assert report.count("done") == 3
    for i in range(3):
        one, three = _read(tmp_path / "b1" / f"{i}.png"), _read(tmp_path / "b3" / f"{i}.png")
        assert _levels(one, three) <= 1
        assert _levels(one, spandrel_output(models["rcan_x2"], _image(24, 20, seed=i))) <= 1


@pytest.mark.parametrize("case, tile, pad", [("span_x4", 24, 24), ("dncnn_x1", 16, 16)])
def test_tiles_equal_the_whole_image_for_tiling_models(case, tile, pad, models, tmp_path):
    source = _write(tmp_path / "in.png", _image(56, 44))
    assert run("convert", source, tmp_path / "whole", "--weights", models[case]).exit_code == 0
    result = run("convert", source, tmp_path / "tiled", "--weights", models[case],
                 "--tile", tile, "--tile-pad", pad)
    assert result.exit_code == 0, result.output
    assert _levels(_read(tmp_path / "whole" / "in.png"), _read(tmp_path / "tiled" / "in.png")) <= 1


def test_a_model_spandrel_discourages_tiling_is_tiled_with_a_warning(models, tmp_path, caplog):
    source = _write(tmp_path / "in.png", _image(40, 40))
    result = run("convert", source, tmp_path / "out", "--weights", models["swinir_x2"], "--tile", "24")
    assert result.exit_code == 0, result.output
    assert "spandrel discourages tiling SwinIR" in result.output + caplog.text
    assert _read(tmp_path / "out" / "in.png").shape == (80, 80, 3)


def test_alpha_goes_through_the_network_as_gray(models, tmp_path):
    from imgtrans.plugin import convert_channels  # noqa: F401  (the BT.601 of the pipeline)

    rgba = _image(20, 16, channels=4, seed=3)
    source = _write(tmp_path / "in.png", rgba)
    assert run("convert", source, tmp_path / "out", "--weights", models["span_x4"]).exit_code == 0
    out = _read(tmp_path / "out" / "in.png")
    assert out.shape == (80, 64, 4)
    assert _levels(out[..., :3], spandrel_output(models["span_x4"], rgba[..., :3].copy())) <= 1
    gray3 = np.repeat(rgba[..., 3:4], 3, axis=2)
    alpha_rgb = spandrel_output(models["span_x4"], gray3).astype(np.float64)
    expected = np.round(alpha_rgb @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
    assert _levels(out[..., 3], expected) <= 1


def test_sixteen_bit_in_sixteen_bit_out(models, tmp_path):
    image = _image(20, 24, depth=16, seed=4)
    source = _write(tmp_path / "in.png", image)
    assert run("convert", source, tmp_path / "out", "--weights", models["safmn_x2"]).exit_code == 0
    out = _read(tmp_path / "out" / "in.png")
    assert out.dtype == np.uint16 and out.shape == (40, 48, 3)
    assert _levels(out, spandrel_output(models["safmn_x2"], image)) <= 1


def test_gray_in_gray_out(models, tmp_path):
    gray = _image(20, 24, channels=1, seed=5)[..., 0]
    source = _write(tmp_path / "in.png", gray[..., None])
    assert run("convert", source, tmp_path / "out", "--weights", models["dncnn_x1"]).exit_code == 0
    out = _read(tmp_path / "out" / "in.png")
    assert out.ndim == 2 and out.shape == (20, 24)
    rgb = spandrel_output(models["dncnn_x1"], np.repeat(gray[..., None], 3, axis=2)).astype(np.float64)
    assert _levels(out, np.round(rgb @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)) <= 1


def test_outscale_resizes_the_result(models, tmp_path):
    source = _write(tmp_path / "in.png", _image(20, 24))
    result = run("convert", source, tmp_path / "out", "--weights", models["span_x4"],
                 "--opt", "outscale=2")
    assert result.exit_code == 0, result.output
    assert _read(tmp_path / "out" / "in.png").shape == (40, 48, 3)
