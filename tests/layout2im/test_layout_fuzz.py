"""Fuzzing the layout parser: whatever a layout file holds, parsing ends in a layout or in
an InputError naming the file, never in another exception."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imgtrans.errors import InputError
from imgtrans_layout2im.layouts import parse_layouts
from imgtrans_layout2im.synthetic import VOCAB

scalars = (st.none() | st.booleans() | st.integers(-10**6, 10**6)
           | st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(["red square", "blue circle", "", "x"])
           | st.text(max_size=20))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=6)
                           | st.dictionaries(st.sampled_from(["objects", "label", "box", "size", "seed", "name",
                                                              "layouts", "labels", "x"]) | st.text(max_size=8),
                                             inner, max_size=6), max_leaves=40)
objects = st.fixed_dictionaries({"label": scalars, "box": st.lists(scalars, max_size=5)},
                                optional={"seed": scalars, "size": scalars})
layouts = st.fixed_dictionaries({"objects": st.lists(objects, max_size=10)}, optional={"size": scalars})

FOLDER = Path(tempfile.mkdtemp(prefix="imgtrans-layout-fuzz-"))
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parse(data: bytes) -> None:
    path = FOLDER / "layout.json"
    path.write_bytes(data)
    try:
        parse_layouts(path, VOCAB)
    except InputError as exc:
        assert str(path) in str(exc)


@FUZZ
@given(json_values)
def test_any_json_value(value):
    _parse(json.dumps(value, allow_nan=True).encode())


@FUZZ
@given(layouts)
def test_layout_shaped_values(value):
    _parse(json.dumps(value, allow_nan=True).encode())


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes(data):
    _parse(data)
