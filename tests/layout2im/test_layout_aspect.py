"""Pixel-unit layouts keep their canvas's aspect ratio; layouts of different shapes are never
forced into one batch."""

from __future__ import annotations

import json

import numpy as np
import pytest

import imgtrans
from imgtrans_layout2im.layouts import parse_layouts
from imgtrans_layout2im.synthetic import VOCAB


def _layout(path, size=None, box=(0.1, 0.2, 0.6, 0.9)):
    data = {"objects": [{"label": "red square", "box": list(box)}]}
    if size:
        data["size"] = list(size)
        data["objects"][0]["box"] = [box[0] * size[0], box[1] * size[1], box[2] * size[0], box[3] * size[1]]
    path.write_text(json.dumps(data))
    return path


@pytest.fixture(scope="module")
def generator():
    return imgtrans.load("layout2im", options={"overlay": True})


def test_wide_and_tall_canvases_keep_their_aspect(generator, tmp_path):
    wide = _layout(tmp_path / "wide.json", size=(200, 100))
    tall = _layout(tmp_path / "tall.json", size=(90, 270))
    square = _layout(tmp_path / "square.json")
    images = generator([wide, tall, square])
    # model grid 64: the longer side stays 64; the overlay doubles the width
    assert [img.shape for img in images] == [(32, 128, 3), (64, 42, 3), (64, 128, 3)]


def test_the_aspect_survives_the_file_round_trip(tmp_path):
    [layout] = parse_layouts(_layout(tmp_path / "w.json", size=(300, 100)), VOCAB)
    assert layout.aspect == pytest.approx(3.0) and layout.batch_key == 3.0
    (tmp_path / "again.json").write_text(json.dumps(layout.to_json(VOCAB)))
    [again] = parse_layouts(tmp_path / "again.json", VOCAB)
    assert again.aspect == pytest.approx(3.0)
    assert np.allclose(again.objects[0].box, layout.objects[0].box)


def test_convert_batches_layouts_by_shape(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i, size in enumerate([(200, 100), None, (200, 100), None]):
        _layout(src / f"l{i}.json", size=size)
    report = imgtrans.convert(src, tmp_path / "out", plugin="layout2im", batch_size=4, seed=0)
    assert report.count("done") == 4, [i.error for i in report.items]
    import cv2

    shapes = [cv2.imread(str(tmp_path / "out" / f"l{i}.png")).shape[:2] for i in range(4)]
    assert shapes == [(32, 64), (64, 64), (32, 64), (64, 64)]
