"""Hostile layout files fail alone, with a short message naming the file: deep nesting,
huge numbers, huge boxes, pipes, oversized files."""

from __future__ import annotations

import json
import os

import pytest

from imgtrans.core.jsonfile import nesting_depth, read_json_file
from imgtrans.errors import MAX_REASON_CHARS, InputError
from imgtrans_layout2im.layouts import parse_layouts
from imgtrans_layout2im.synthetic import VOCAB


def _fails(path, match):
    with pytest.raises(InputError, match=match) as info:
        parse_layouts(path, VOCAB)
    assert str(path) in str(info.value)
    assert len(str(info.value)) <= len(str(path)) + 2 + MAX_REASON_CHARS
    return info.value


def test_deep_nesting_is_refused_without_recursion(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    _fails(path, "nested 100000 levels deep")


def test_a_5000_digit_integer_is_refused(tmp_path):
    path = tmp_path / "big.json"
    path.write_text('{"objects": [{"label": 1, "box": [0, 0, 1, ' + "9" * 5000 + "]}]}")
    _fails(path, "integer of 5000 digits")


def test_a_box_of_two_million_numbers_gives_a_short_message(tmp_path):
    path = tmp_path / "box.json"
    path.write_text(json.dumps({"objects": [{"label": "red square", "box": [0.5] * 2_000_000}]}))
    _fails(path, "box")


def test_a_fifo_named_json_is_refused_at_once(tmp_path):
    path = tmp_path / "x.json"
    os.mkfifo(path)
    _fails(path, "not a regular file")


def test_size_limit(tmp_path):
    path = tmp_path / "large.json"
    path.write_text(json.dumps({"objects": [], "pad": "x" * 200}))
    with pytest.raises(InputError, match="larger than the limit"):
        read_json_file(path, max_bytes=100)


def test_nesting_depth_ignores_brackets_in_strings():
    assert nesting_depth('{"a": "[[[{{{", "b": [1, [2]]}') == 3
    assert nesting_depth(r'["\"[[[", []]') == 2
