"""``--plugin`` is optional when ``--weights`` tells, and weights of another translator are
refused with exit 5 and a message naming the translator they belong to."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

import imgtrans
from imgtrans.cli import app
from imgtrans.weights.registry import pretrained_dir

ROOT = Path(__file__).resolve().parents[2]


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "in.png"
    cv2.imwrite(str(path), np.random.default_rng(0).integers(0, 256, (12, 16, 3), dtype=np.uint8))
    return path


def test_registry_name_alone_picks_the_translator(image, tmp_path):
    result = run("convert", image, tmp_path / "out", "--weights", "srgan.synthetic_x4", "--report", tmp_path / "r.json")
    assert result.exit_code == 0, result.output
    assert cv2.imread(str(tmp_path / "out" / "in.png")).shape == (48, 64, 3)
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["settings"]["plugin"] == "srgan"


def test_checkpoint_folder_alone_picks_the_translator(image, tmp_path):
    result = run("convert", image, tmp_path / "out", "--weights", pretrained_dir() / "pix2pix_facades_synth")
    assert result.exit_code == 0, result.output
    assert cv2.imread(str(tmp_path / "out" / "in.png")).shape == (12, 16, 3)


def test_python_api_takes_a_weights_name_alone():
    loaded = imgtrans.load("srgan.synthetic_x4")
    assert loaded.translator.name == "srgan" and loaded.weight_spec.name == "srgan.synthetic_x4"
    out = loaded(np.zeros((4, 5, 3), np.uint8))
    assert out.shape == (16, 20, 3)


@pytest.mark.parametrize("plugin, weights, owner", [
    ("pix2pix", "cyclegan_day2night_synth", "cyclegan"),   # ran silently before
    ("srgan", "cyclegan_day2night_synth", "cyclegan"),     # KeyError: 'sr_config' before
    ("cyclegan", "srgan_synthetic_x4", "srgan"),           # "no generator 'G_A'" before
    ("layout2im", "pix2pix_facades_synth", "pix2pix"),
    ("sdedit", "layout2im_shapes_synth", "layout2im"),
])
def test_another_translators_checkpoint_is_exit_5_naming_its_owner(image, tmp_path, plugin, weights, owner):
    result = run("convert", image, tmp_path / "out", "--plugin", plugin, "--weights", pretrained_dir() / weights)
    assert result.exit_code == 5, result.output
    assert f"these are {owner} weights" in result.output and f"use --plugin {owner}" in result.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_registry_name_of_another_translator_is_exit_5(image, tmp_path):
    result = run("convert", image, tmp_path / "out", "--plugin", "cyclegan", "--weights", "srgan.synthetic_x4")
    assert result.exit_code == 5, result.output
    assert "these are srgan weights" in result.output


def test_a_foreign_file_of_another_translator_says_whose_it_is(image, tmp_path):
    sr_file = pretrained_dir() / "srgan_synthetic_x4" / "G.safetensors"
    result = run("convert", image, tmp_path / "out", "--plugin", "cyclegan", "--weights", sr_file)
    assert result.exit_code == 5, result.output
    assert "use --plugin srgan" in result.output and str(sr_file) in result.output.replace("\n", "")
    result = run("convert", image, tmp_path / "out2", "--weights", sr_file)
    assert result.exit_code == 0, result.output


def test_neither_plugin_nor_weights_is_a_usage_error(image, tmp_path):
    result = run("convert", image, tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "--plugin" in result.output and "--weights" in result.output
