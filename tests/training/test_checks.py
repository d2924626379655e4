"""Bad settings and bad data stop a run before its first step with one clear line each:
exit 2 for settings, 3 for data, no traceback (``-v`` shows it), nothing written."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from imgtrans.cli import app
from imgtrans.training.checks import Checks
from imgtrans_testenv import ROOT

sys.path.insert(0, str(ROOT / "samples"))
import make_gan_datasets  # noqa: E402

TINY = ["--opt", "ngf=8", "--opt", "ndf=8", "--opt", "load_size=36", "--max-steps", "1"]


@pytest.fixture(scope="module")
def facades(tmp_path_factory):
    root = tmp_path_factory.mktemp("data") / "facades"
    make_gan_datasets.make_facades(root, 32, 3, 1, seed=0)
    return root


def _train(*args):
    return CliRunner().invoke(app, ["train", *map(str, args)])


def _error_lines(output: str) -> list[str]:
    assert "Traceback" not in output, output
    return [line for line in output.splitlines() if line.strip()]


def test_a_crop_the_unet_cannot_halve_is_one_line_and_verbose_shows_the_traceback(host, facades, tmp_path):
    result = _train("pix2pix", facades, "--out", tmp_path / "run", "--opt", "crop_size=32", *TINY)
    assert result.exit_code == 2
    assert _error_lines(result.output) == [
        "error: invalid options for translator 'pix2pix': crop_size 32 does not fit a U-Net of depth "
        "8, which halves it 8 times: use a multiple of 256 (or use depth=5)"]
    assert not (tmp_path / "run").exists()
    verbose = CliRunner().invoke(app, ["-v", "train", "pix2pix", str(facades), "--out", str(tmp_path / "run"),
                                       "--opt", "crop_size=32", *TINY])
    assert verbose.exit_code == 2 and "Traceback" in verbose.output


def test_networks_that_cannot_take_the_crop_are_named(host, facades, tmp_path):
    result = _train("pix2pix", facades, "--out", tmp_path / "run", "--opt", "crop_size=32",
                    "--opt", "depth=5", "--opt", "discriminator=n_layers", "--opt", "n_layers_d=5", *TINY)
    assert result.exit_code == 2, result.output
    (line,) = _error_lines(result.output)
    assert line.startswith("error: network D cannot train on 1x6x32x32 inputs: ")
    assert "fewer discriminator layers" in line
    assert not (tmp_path / "run").exists()


def test_a_batch_larger_than_the_data_is_a_setting(host, facades, tmp_path):
    result = _train("pix2pix", facades, "--out", tmp_path / "run", "--batch-size", 4,
                    "--opt", "crop_size=32", "--opt", "depth=5", *TINY)
    assert result.exit_code == 2
    assert _error_lines(result.output) == [
        "error: a step takes 4 items but the data holds only 3: lower --batch-size to at most 3"]


def test_images_smaller_than_the_crop_are_data_errors(host, tmp_path):
    data = tmp_path / "hr"
    data.mkdir()
    for i, size in enumerate((64, 40, 96, 100)):
        cv2.imwrite(str(data / f"{i}.png"), np.full((size, size + 8, 3), 128, np.uint8))
    result = _train("srgan", data, "--out", tmp_path / "run", "--opt", "num_feat=8", "--opt", "num_block=1",
                    "--max-steps", 1)
    assert result.exit_code == 3
    (line,) = _error_lines(result.output)
    assert line.startswith("error: 2 of 4 training image(s) are smaller than crop_size 96 (smallest: ")
    assert "1.png, 48x40" in line and line.endswith("use larger images or --opt crop_size=32")


@pytest.mark.parametrize("plugin, layout", [("cyclegan", {"trainA": 2}), ("layout2im", {"images": 2})])
def test_a_wrong_dataset_layout_is_a_data_error(host, tmp_path, plugin, layout):
    for folder, count in layout.items():
        (tmp_path / "data" / folder).mkdir(parents=True)
        for i in range(count):
            cv2.imwrite(str(tmp_path / "data" / folder / f"{i}.png"), np.zeros((8, 8, 3), np.uint8))
    result = _train(plugin, tmp_path / "data", "--out", tmp_path / "run", "--max-steps", 1)
    assert result.exit_code == 3
    assert len(_error_lines(result.output)) == 1 and not (tmp_path / "run").exists()


def test_the_network_probe_finds_a_lone_value_per_channel_without_touching_the_network():
    net = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), nn.BatchNorm2d(4)).eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    checks = Checks(batch_size=1)
    assert not checks.network("N", net, (1, 3, 3, 3), hint="more pixels")
    assert checks.network("N", net, (2, 3, 3, 3))
    (problem,) = checks.settings
    assert problem.startswith("network N cannot train on 1x3x3x3 inputs: 1 (BatchNorm2d): "
                              "Expected more than 1 value per channel when training")
    assert problem.endswith("; more pixels")
    assert not net.training and all(torch.equal(before[k], v) for k, v in net.state_dict().items())
