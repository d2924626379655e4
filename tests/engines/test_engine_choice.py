"""Choosing an engine: unknown names, Ray options without Ray, and a missing Ray are usage
errors (exit 2) that say what to do."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from imgtrans.cli import app


@pytest.fixture
def one_image(tmp_path):
    (tmp_path / "in").mkdir()
    cv2.imwrite(str(tmp_path / "in" / "a.png"), np.zeros((8, 8, 3), np.uint8))
    return tmp_path / "in"


def _convert(src, out, *extra):
    return CliRunner().invoke(app, ["convert", str(src), str(out), "--plugin", "sketch", *extra])


def test_engine_ray_without_ray_says_how_to_install_it(host, one_image, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    result = _convert(one_image, tmp_path / "out", "--engine", "ray")
    assert result.exit_code == 2, result.output
    assert "pip install 'imgtrans[ray]'" in result.output
    assert not (tmp_path / "out").exists()


def test_unknown_engine_and_misplaced_ray_address_are_usage_errors(host, one_image, tmp_path):
    unknown = _convert(one_image, tmp_path / "out", "--engine", "spark")
    assert unknown.exit_code == 2 and "choose local or ray" in unknown.output
    address = _convert(one_image, tmp_path / "out", "--ray-address", "auto")
    assert address.exit_code == 2 and "--engine ray" in address.output
