"""layout2im through `imgtrans convert`: reference-style checkpoint + vocabulary, layout
files in, seeded and diverse images out, overlay, clear errors for bad layouts."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from imgtrans_layout2im.config import Layout2ImConfig
from imgtrans_layout2im.synthetic import VOCAB
from typer.testing import CliRunner

from imgtrans.cli import app


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A small random generator saved as the reference does (plain state dict), with its
    vocabulary next to it; one training-mode pass sets non-trivial BN statistics."""
    folder = tmp_path_factory.mktemp("l2i")
    torch.manual_seed(0)
    config = Layout2ImConfig(vocab_size=len(VOCAB), embedding_dim=16, z_dim=8, clstm_layers=1, conv_dim=16,
                             n_residual=1, d_conv_dim=16)
    net = config.build()
    from imgtrans_layout2im.layouts import Layout, LayoutObject, box_masks

    layout = Layout([LayoutObject(1, (0.1, 0.1, 0.5, 0.5)), LayoutObject(2, (0.4, 0.4, 0.9, 0.9))], "x")
    objs, _, masks, owners = box_masks([layout, layout])
    with torch.no_grad():
        net.train()
        net.generate(objs, masks, owners, torch.randn(len(objs), 8))
    torch.save(net.state_dict(), folder / "netG_synth.pkl")
    (folder / "vocab.json").write_text(json.dumps(VOCAB.to_json()))
    return folder


def _layout(path, objects):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"objects": objects}))


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_layouts_to_images_seeded_diverse_and_overlaid(host, checkpoint, tmp_path):
    names = VOCAB.labels
    _layout(tmp_path / "in" / "a.json", [{"label": names[0], "box": [0.1, 0.1, 0.5, 0.6]},
                                          {"label": names[3], "box": [0.5, 0.4, 0.95, 0.9]}])
    _layout(tmp_path / "in" / "b.json", [{"label": 2, "box": [0.2, 0.2, 0.8, 0.8], "seed": 5}])
    common = ["--plugin", "layout2im", "--weights", checkpoint]
    assert run("convert", tmp_path / "in", tmp_path / "s1", *common, "--seed", "1").exit_code == 0
    assert run("convert", tmp_path / "in", tmp_path / "s1b", *common, "--seed", "1", "--batch-size", "2").exit_code == 0
    assert run("convert", tmp_path / "in", tmp_path / "s2", *common, "--seed", "2").exit_code == 0
    read = lambda p: cv2.imread(str(p))  # noqa: E731
    a1, a1b, a2 = read(tmp_path / "s1" / "a.png"), read(tmp_path / "s1b" / "a.png"), read(tmp_path / "s2" / "a.png")
    assert a1.shape == (64, 64, 3) and np.array_equal(a1, a1b) and not np.array_equal(a1, a2)
    # b's only object has its own seed: the run seed does not change it
    assert np.array_equal(read(tmp_path / "s1" / "b.png"), read(tmp_path / "s2" / "b.png"))
    result = run("convert", tmp_path / "in" / "a.json", tmp_path / "ov", *common, "--opt", "overlay=true",
                 "--opt", "samples=2", "--opt", "scale=2")
    assert result.exit_code == 0, result.output
    sample0, sample1 = read(tmp_path / "ov" / "a_s0.png"), read(tmp_path / "ov" / "a_s1.png")
    assert sample0.shape == (128, 256, 3) and not np.array_equal(sample0, sample1)


@pytest.mark.parametrize("objects, reason", [
    ([{"label": "red circel", "box": [0.1, 0.1, 0.5, 0.5]}], "red circle"),
    ([{"label": "red circle", "box": [0.6, 0.1, 0.5, 0.5]}], "box"),
    ([], "object"),
])
def test_bad_layouts_fail_with_the_file_and_the_problem(host, checkpoint, tmp_path, objects, reason):
    _layout(tmp_path / "in" / "bad.json", objects)
    _layout(tmp_path / "in" / "good.json", [{"label": 1, "box": [0.1, 0.1, 0.5, 0.5]}])
    result = run("convert", tmp_path / "in", tmp_path / "out", "--plugin", "layout2im", "--weights", checkpoint)
    assert result.exit_code == 3, result.output
    assert "bad.json" in result.output and reason in result.output
    assert (tmp_path / "out" / "good.png").exists()


def test_reference_checkpoint_without_vocabulary_is_explained(host, checkpoint, tmp_path):
    _layout(tmp_path / "in" / "a.json", [{"label": 1, "box": [0.1, 0.1, 0.5, 0.5]}])
    result = run("convert", tmp_path / "in", tmp_path / "out", "--plugin", "layout2im",
                 "--weights", checkpoint / "netG_synth.pkl")
    assert result.exit_code == 5 and "vocab" in result.output


def test_reference_file_is_recognised(checkpoint):
    from imgtrans_layout2im.translator import Layout2ImTranslator

    from imgtrans.plugin import load_state_dict

    assert Layout2ImTranslator.recognises(load_state_dict(checkpoint / "netG_synth.pkl"))


def test_python_api_takes_layout_files_and_parsed_layouts(host, checkpoint, tmp_path):
    from imgtrans_layout2im.layouts import Layout, LayoutObject

    import imgtrans

    _layout(tmp_path / "a.json", [{"label": 1, "box": [0.1, 0.1, 0.5, 0.5]}])
    model = imgtrans.load("layout2im", checkpoint, seed=3)
    from_file = model(tmp_path / "a.json", names=["a.json"])
    from_object = model([Layout([LayoutObject(1, (0.1, 0.1, 0.5, 0.5))], "x")], names=["a.json"])
    assert len(from_file) == 1 and from_file[0].shape == (64, 64, 3) and from_file[0].dtype == np.uint8
    assert np.array_equal(from_file[0], from_object[0])  # same name, same seed: same image
