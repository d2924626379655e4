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


def _band(x, y, width, height, base):
    return (x - 1, y - height - 1, x + width, y + base)


def _overlap(a, b):
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))


def test_a_label_moves_off_the_label_it_would_cover():
    from imgtrans_layout2im.translator import _label_place

    size = (40, 8, 3)  # label width, height, baseline
    first = _band(*_label_place((2, 10, 30, 40), *size, 64, 64, []), *size)
    assert first[1] >= 10  # inside the top edge of its box
    # the neighbour's top edge is level with the first box's: its label goes to the bottom
    x, y = _label_place((20, 10, 60, 44), *size, 64, 64, [first])
    assert _overlap(first, _band(x, y, *size)) == 0 and y <= 44
    # nowhere free: the least covered place, inside the image
    crowded = [(0, 0, 64, 64)]
    x, y = _label_place((20, 10, 60, 44), *size, 64, 64, crowded)
    band = _band(x, y, *size)
    assert band[0] >= -1 and band[2] <= 64 and band[1] >= 0 and band[3] <= 64


def test_overlay_labels_of_touching_boxes_do_not_overlap(tmp_path):
    """Drawn labels: with two side-by-side boxes, each label's dark band is found whole."""
    data = {"objects": [{"label": "red circle", "box": [0.05, 0.3, 0.45, 0.7]},
                        {"label": "blue square", "box": [0.4, 0.3, 0.9, 0.75]}]}
    (tmp_path / "two.json").write_text(json.dumps(data))
    model = imgtrans.load("layout2im", options={"overlay": True, "scale": 4})
    [image] = model(tmp_path / "two.json")
    drawn = image[:, image.shape[1] // 2:].astype(int)
    black = (drawn.max(axis=-1) == 0)
    rows = np.flatnonzero(black.sum(axis=1) > 20)  # rows crossed by a label band
    # two bands at different heights: rows with band pixels form two separate runs
    runs = np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1)
    assert len(runs) == 2, [(r[0], r[-1]) for r in runs]
