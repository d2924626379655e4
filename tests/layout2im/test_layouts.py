"""layout2im inputs: vocabulary, layout files, the COCO reader, box masks, synthetic data."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from imgtrans_layout2im.coco import read_coco
from imgtrans_layout2im.layouts import (
    Layout,
    LayoutObject,
    box_masks,
    layouts_to_json,
    parse_layouts,
)
from imgtrans_layout2im.synthetic import (
    CLASS_NAMES,
    COLOURS,
    VOCAB,
    make_dataset,
    random_layout,
    render,
)
from imgtrans_layout2im.vocabulary import Vocabulary

from imgtrans.errors import InputError

SHAPES_VOCAB = Vocabulary(["__image__", "circle", "square", "triangle", "NONE", "red circle"])


def write(tmp_path, data, name="layout.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def reason(tmp_path, data, **kwargs) -> str:
    path = write(tmp_path, data)
    with pytest.raises(InputError) as info:
        parse_layouts(path, SHAPES_VOCAB, **kwargs)
    assert info.value.path == path
    return info.value.reason


# -- vocabulary ----------------------------------------------------------------------------

def test_vocabulary_lookup_by_name_and_index():
    v = SHAPES_VOCAB
    assert len(v) == 6 and v.index("square") == 2 and v.name(3) == "triangle"
    assert v["circle"] == 1 and v[5] == "red circle"
    assert "square" in v and 5 in v and 6 not in v and "NONE" not in v
    assert v.labels == ["circle", "square", "triangle", "red circle"]
    assert not v.is_label(0) and not v.is_label(4) and v.is_label(1)
    with pytest.raises(KeyError, match="closest: circle"):
        v.index("cirle")
    with pytest.raises(IndexError):
        v.name(6)


def test_vocabulary_rejects_duplicates_but_allows_gaps():
    with pytest.raises(ValueError, match="twice"):
        Vocabulary(["a", "b", "a"])
    assert len(Vocabulary(["__image__", "NONE", "NONE", "cat"])) == 4


def test_vocabulary_closest():
    assert SHAPES_VOCAB.closest("Circle")[0] == "circle"  # case-insensitive match first
    assert SHAPES_VOCAB.closest("squre") == ["square"]
    assert SHAPES_VOCAB.closest("xyzzy") == []
    assert "__image__" not in SHAPES_VOCAB.closest("__image_")


def test_vocabulary_json_round_trip_and_reference_forms():
    data = json.loads(json.dumps(SHAPES_VOCAB.to_json()))
    assert Vocabulary.from_json(data) == SHAPES_VOCAB
    assert Vocabulary.from_json(json.dumps(data)) == SHAPES_VOCAB
    assert Vocabulary.from_json({"object_idx_to_name": ["__image__", "a"]}).names == (
        "__image__", "a")
    v = Vocabulary.from_json({"object_name_to_idx": {"__image__": 0, "cat": 3}})
    assert v.names == ("__image__", "NONE", "NONE", "cat")


# -- layout files ----------------------------------------------------------------------------

def test_single_layout(tmp_path):
    path = write(tmp_path, {"objects": [
        {"label": "circle", "box": [0.1, 0.2, 0.5, 0.6]},
        {"label": 3, "box": [0, 0, 1, 1], "seed": 7, "_note": "ignored"}]})
    [layout] = parse_layouts(path, SHAPES_VOCAB, 1, 8)
    assert layout.source == str(path) and layout.name is None
    assert layout.objects == (LayoutObject(1, (0.1, 0.2, 0.5, 0.6)),
                              LayoutObject(3, (0.0, 0.0, 1.0, 1.0), 7))


def test_several_layouts_with_names_and_pixel_size(tmp_path):
    path = write(tmp_path, {"size": [200, 100], "layouts": [
        {"name": "a", "objects": [{"label": "square", "box": [20, 10, 100, 50]}]},
        {"size": [1, 1], "objects": [{"label": "red circle", "box": [0, 0, 0.5, 0.5]}]}]})
    a, b = parse_layouts(path, SHAPES_VOCAB, 1, 8)
    assert a.name == "a" and a.objects[0].box == (0.1, 0.1, 0.5, 0.5)
    assert b.name is None and b.source == f"{path}[1]" and b.objects[0].label == 5


def test_bare_list_and_json_round_trip(tmp_path):
    layouts = [Layout((LayoutObject(2, (0.25, 0.25, 0.75, 0.5), 3),), "x", "one"),
               Layout((LayoutObject(1, (0.0, 0.5, 0.5, 1.0)),), "y", "two")]
    path = write(tmp_path, layouts_to_json(layouts, SHAPES_VOCAB)["layouts"])
    back = parse_layouts(path, SHAPES_VOCAB)
    assert [b.objects for b in back] == [a.objects for a in layouts]
    assert [b.name for b in back] == ["one", "two"]


@pytest.mark.parametrize("objects, expected", [
    ([{"label": "cirle", "box": [0, 0, 1, 1]}],
     "object 0: unknown label 'cirle'; closest: 'circle'"),
    ([{"label": 9, "box": [0, 0, 1, 1]}], "object 0: label index 9 is out of range"),
    ([{"label": 0, "box": [0, 0, 1, 1]}], "reserved entry '__image__'"),
    ([{"label": 4, "box": [0, 0, 1, 1]}], "reserved entry 'NONE'"),
    ([{"label": "__image__", "box": [0, 0, 1, 1]}], "reserved vocabulary entry"),
    ([{"label": True, "box": [0, 0, 1, 1]}], "class name or an integer index"),
    ([{"label": 1, "box": [0, 0, 1, 1]}, {"label": 1, "box": [0, 0, 1]}],
     "object 1: box must be 4 numbers"),
    ([{"label": 1, "box": [0, 0, "1", 1]}], "box must be 4 numbers"),
    ([{"label": 1, "box": [0, 0, 1.5, 1]}], "lies outside [0, 1]"),
    ([{"label": 1, "box": [-0.1, 0, 0.5, 1]}], "lies outside [0, 1]"),
    ([{"label": 1, "box": [0.5, 0, 0.5, 1]}], "is empty"),
    ([{"label": 1, "box": [0, 0.6, 1, 0.2]}], "is empty"),
    ([{"label": 1, "box": [0, 0, 1, 1], "seed": -1}], "seed must be a non-negative integer"),
    ([{"label": 1, "boxes": [0, 0, 1, 1]}], "unknown key(s) 'boxes'"),
    ([{"box": [0, 0, 1, 1]}], "missing \"label\""),
    ([[1, [0, 0, 1, 1]]], "must be a JSON object"),
])
def test_object_errors_name_the_object_and_problem(tmp_path, objects, expected):
    assert expected in reason(tmp_path, {"objects": objects})


def test_object_count_limits(tmp_path):
    one = {"label": 1, "box": [0, 0, 1, 1]}
    assert "has 3 objects; the model takes at most 2" in reason(
        tmp_path, {"objects": [one] * 3}, min_objects=1, max_objects=2)
    assert "has 1 object(s); at least 3 needed" in reason(
        tmp_path, {"objects": [one]}, min_objects=3, max_objects=8)
    assert "has 0 object(s)" in reason(tmp_path, {"objects": []})


def test_layout_level_errors(tmp_path):
    assert "layout 1 ('b'): object 0: unknown label" in reason(tmp_path, {"layouts": [
        {"name": "a", "objects": [{"label": 1, "box": [0, 0, 1, 1]}]},
        {"name": "b", "objects": [{"label": "hexagon", "box": [0, 0, 1, 1]}]}]})
    assert "missing \"objects\"" in reason(tmp_path, {"name": "x"})
    assert "unknown key(s) 'object'" in reason(tmp_path, {"object": []})
    assert "no layouts" in reason(tmp_path, {"layouts": []})
    assert "\"size\" must be [width, height]" in reason(
        tmp_path, {"size": [0, 5], "objects": [{"label": 1, "box": [0, 0, 1, 1]}]})
    assert "used more than once: 'a'" in reason(tmp_path, [
        {"name": "a", "objects": [{"label": 1, "box": [0, 0, 1, 1]}]},
        {"name": "a", "objects": [{"label": 1, "box": [0, 0, 1, 1]}]}])
    assert "pixel" in reason(tmp_path, {"objects": [{"label": 1, "box": [0, 0, 64, 64]}]})


def test_malformed_json_reports_line_and_column(tmp_path):
    text = '{"objects": [\n  {"label": "circle", "box": [0, 0, 1, 1]},\n  ]\n}'
    assert "not valid JSON" in reason(tmp_path, text)
    assert "line 3, column 3" in reason(tmp_path, text)
    assert reason(tmp_path, "") == "empty file"
    with pytest.raises(InputError, match="cannot read"):
        parse_layouts(tmp_path / "missing.json", SHAPES_VOCAB)


# -- COCO ----------------------------------------------------------------------------------

def coco_files(tmp_path):
    instances = {
        "images": [{"id": 10, "file_name": "a.jpg", "width": 200, "height": 100},
                   {"id": 11, "file_name": "b.jpg", "width": 100, "height": 100},
                   {"id": 12, "file_name": "c.jpg", "width": 100, "height": 100}],
        "categories": [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}],
        "annotations": [
            {"id": 1, "image_id": 10, "category_id": 1, "bbox": [20, 10, 60, 40]},
            {"id": 2, "image_id": 10, "category_id": 3, "bbox": [0, 0, 20, 20]},  # 2%: dropped
            {"id": 3, "image_id": 10, "category_id": 3, "bbox": [100, 50, 100, 50]},
            {"id": 4, "image_id": 11, "category_id": 1, "bbox": [0, 0, 50, 50]},
            {"id": 5, "image_id": 12, "category_id": 1, "bbox": [0, 0, 50, 50]},
            {"id": 6, "image_id": 12, "category_id": 3, "bbox": [50, 50, 50, 50]},
        ]}
    stuff = {
        "categories": [{"id": 5, "name": "sky"}, {"id": 6, "name": "other"}],
        "annotations": [
            {"id": 7, "image_id": 10, "category_id": 5, "bbox": [0, 0, 200, 30]},
            {"id": 8, "image_id": 10, "category_id": 6, "bbox": [0, 0, 200, 100]},
            {"id": 9, "image_id": 11, "category_id": 5, "bbox": [0, 0, 100, 40]},
        ]}
    return write(tmp_path, instances, "instances.json"), write(tmp_path, stuff, "stuff.json")


def test_read_coco_follows_the_reference_filters(tmp_path):
    instances, stuff = coco_files(tmp_path)
    vocab, items = read_coco(instances, stuff, min_objects=2, max_objects=3)
    assert vocab.names == ("__image__", "person", "NONE", "car", "NONE", "sky", "other")
    # image 12 has no stuff annotation (stuff_only); image 11 has 2 objects.
    assert [name for name, _ in items] == ["a.jpg", "b.jpg"]
    a = items[0][1]
    assert [o.label for o in a.objects] == [1, 3, 5]  # instances first, then stuff; no other
    assert a.objects[0].box == (0.1, 0.1, 0.4, 0.5)
    assert a.objects[1].box == (0.5, 0.5, 1.0, 1.0)
    assert a.name == "a" and a.source == "instances.json#10"


def test_read_coco_options(tmp_path):
    instances, stuff = coco_files(tmp_path)
    _, items = read_coco(instances, stuff, min_objects=1, max_objects=8, include_other=True)
    assert [o.label for o in items[0][1].objects] == [1, 3, 5, 6]
    _, items = read_coco(instances, stuff, min_objects=1, max_objects=8, stuff_only=False)
    assert [name for name, _ in items] == ["a.jpg", "b.jpg", "c.jpg"]
    _, items = read_coco(instances, None, min_objects=1, max_objects=8, min_object_size=0.0)
    assert len(items[0][1].objects) == 3  # the 2% box is kept with a 0 threshold
    _, items = read_coco(instances, stuff, min_objects=3, max_objects=3)
    assert [name for name, _ in items] == ["a.jpg"]


def test_read_coco_with_a_given_vocabulary(tmp_path):
    instances, stuff = coco_files(tmp_path)
    vocab = Vocabulary(["__image__", "sky", "car", "person"])
    same, items = read_coco(instances, stuff, vocab, min_objects=1)
    assert same is vocab
    assert [o.label for o in items[0][1].objects] == [3, 2, 1]
    with pytest.raises(InputError, match="'sky' .* not a class"):
        read_coco(instances, stuff, Vocabulary(["__image__", "car", "person"]), min_objects=1)


def test_read_coco_rejects_broken_files(tmp_path):
    bad = write(tmp_path, {"images": []}, "bad.json")
    with pytest.raises(InputError, match="no 'categories' list"):
        read_coco(bad, None)
    instances = write(tmp_path, {"images": [], "categories": [{"id": 1, "name": "a"}],
                                 "annotations": [{"image_id": 5, "category_id": 1,
                                                  "bbox": [0, 0, 1, 1]}]}, "i.json")
    with pytest.raises(InputError, match="refers to image 5"):
        read_coco(instances, None)


# -- box masks -----------------------------------------------------------------------------

def test_box_masks_round_as_the_reference():
    layouts = [Layout((LayoutObject(1, (1.5 / 64, 0.5 / 64, 10 / 64, 20 / 64)),
                       LayoutObject(2, (0.3 / 64, 0.2 / 64, 0.4 / 64, 0.3 / 64))), "a"),
               Layout((LayoutObject(3, (0.0, 0.0, 1.0, 1.0)),), "b")]
    objs, boxes, masks, obj_to_img = box_masks(layouts, 64)
    assert objs.tolist() == [1, 2, 3] and obj_to_img.tolist() == [0, 0, 1]
    assert masks.shape == (3, 1, 64, 64) and boxes.shape == (3, 4)
    # round(1.5) == 2 and round(0.5) == 0 (halves to even), as Python's round in the loader
    expected = np.zeros((64, 64))
    expected[0:20, 2:10] = 1
    assert np.array_equal(masks[0, 0].numpy(), expected)
    assert masks[1, 0].sum() == 1 and masks[1, 0, 0, 0] == 1  # tiny box: still one pixel
    assert masks[2].sum() == 64 * 64


def test_box_masks_needs_objects():
    with pytest.raises(ValueError, match="no objects"):
        box_masks([Layout((), "empty")])


def test_layouts_module_does_not_import_torch():
    code = ("import sys, imgtrans_layout2im.layouts, imgtrans_layout2im.synthetic; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


# -- synthetic data ------------------------------------------------------------------------

def test_synthetic_vocabulary():
    assert VOCAB.names[0] == "__image__" and len(CLASS_NAMES) == 9
    assert {"red circle", "blue square", "green triangle"} <= set(VOCAB.labels)


def test_render_puts_the_class_colour_inside_each_box():
    rng = np.random.default_rng(3)
    for _ in range(6):
        layout = random_layout(rng, min_objects=1, max_objects=4)
        image = render(layout, rng)
        assert image.shape == (64, 64, 3) and image.dtype == np.uint8
        for obj in layout.objects:
            colour = VOCAB.name(obj.label).split()[0]
            channel = list(COLOURS).index(colour)
            x0, y0, x1, y1 = obj.box
            cx, cy = int((x0 + x1) / 2 * 64), int((y0 + y1) / 2 * 64)
            pixel = image[cy, cx].astype(int)  # centres are never covered by later objects
            others = [pixel[c] for c in range(3) if c != channel]
            assert pixel[channel] > max(others) + 60, (VOCAB.name(obj.label), pixel)


def test_render_shapes_differ():
    rng = np.random.default_rng(0)
    box = (0.125, 0.125, 0.875, 0.875)
    areas = {}
    for shape in ("square", "circle", "triangle"):
        image = render(Layout((LayoutObject(VOCAB.index(f"red {shape}"), box),), "t"), rng)
        red = (image[..., 0].astype(int) > image[..., 1].astype(int) + 80)
        areas[shape] = red.sum() / (48 * 48)
    assert areas["square"] > 0.95
    assert 0.7 < areas["circle"] < 0.85  # pi / 4
    assert 0.4 < areas["triangle"] < 0.6


def test_make_dataset_round_trips_through_read_coco(tmp_path):
    rng = np.random.default_rng(5)  # replay make_dataset's draws: layout i, then its image
    expected = []
    for _ in range(6):
        expected.append(random_layout(rng, VOCAB, 1, 4))
        render(expected[-1], rng)
    path = make_dataset(tmp_path / "data", 6, seed=5)
    vocab, items = read_coco(path, None, min_object_size=0.001, min_objects=1, max_objects=4)
    assert vocab == VOCAB
    assert [name for name, _ in items] == [f"{i:06d}.png" for i in range(6)]
    assert [layout.objects for _, layout in items] == [e.objects for e in expected]
    files = sorted(p.name for p in (tmp_path / "data" / "images").iterdir())
    assert files == [name for name, _ in items]
    again = make_dataset(tmp_path / "again", 6, seed=5)
    _, items2 = read_coco(again, None, min_object_size=0.001, min_objects=1, max_objects=4)
    assert [l.objects for _, l in items2] == [l.objects for _, l in items]


def test_make_dataset_layouts_match_images(tmp_path):
    import cv2

    path = make_dataset(tmp_path, 3, seed=1)
    _, items = read_coco(path, None, min_object_size=0.001, min_objects=1, max_objects=4)
    for name, layout in items:
        image = cv2.imread(str(tmp_path / "images" / name))[:, :, ::-1]
        for obj in layout.objects:
            channel = list(COLOURS).index(VOCAB.name(obj.label).split()[0])
            x0, y0, x1, y1 = obj.box
            pixel = image[int((y0 + y1) * 32), int((x0 + x1) * 32)].astype(int)
            assert pixel[channel] == pixel.max()
