"""Writing leaves nothing behind: short temporary names, stale ones removed safely, results
fitted to the planned format, report paths checked up front; shown text escaped and bounded."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from imgtrans.core.display import bounded, printable, shown
from imgtrans.core.report import check_report_path
from imgtrans.core.writers import (check_writable, fit_pixels, planned_extension,
                                   remove_stale_temps, write_atomic)
from imgtrans.errors import UsageError


def test_a_255_byte_target_name_can_be_written(tmp_path):
    for length in (242, 250, 255):
        target = tmp_path / ("n" * (length - 4) + ".png")
        write_atomic(target, b"data")
        assert target.read_bytes() == b"data"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def make_temp(folder, name, age: float):
    path = folder / name
    path.write_bytes(b"partial")
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def test_stale_temps_are_removed_only_when_ours_and_old(tmp_path):
    old = make_temp(tmp_path, ".imgtrans-0123abcd.tmp", 3600)
    fresh = make_temp(tmp_path, ".imgtrans-89abcdef.tmp", 0)
    foreign = make_temp(tmp_path, ".photo.png.1234.tmp", 3600)
    lookalike = make_temp(tmp_path, ".imgtrans-0123abcd.tmp.keep", 3600)
    (tmp_path / "sub").mkdir()
    nested = make_temp(tmp_path / "sub", ".imgtrans-00000000.tmp", 3600)
    streamed = make_temp(tmp_path, ".imgtrans-0123abce.tmp.png", 3600)  # OpenCV-written
    assert remove_stale_temps(tmp_path, time.time()) == 2
    assert not old.exists() and not streamed.exists()
    assert fresh.exists() and foreign.exists() and lookalike.exists() and nested.exists()
    assert remove_stale_temps(tmp_path / "missing", time.time()) == 0


@pytest.mark.skipif(os.name != "posix", reason="symlinks")
def test_stale_cleanup_never_follows_a_symlink(tmp_path):
    target = make_temp(tmp_path, "precious.png", 3600)
    link = tmp_path / ".imgtrans-deadbeef.tmp"
    link.symlink_to(target)
    then = time.time() - 3600
    os.utime(link, (then, then), follow_symlinks=False)
    assert remove_stale_temps(tmp_path, time.time()) == 0 and target.exists() and link.is_symlink()


def test_fit_pixels_to_the_planned_format():
    gray = np.zeros((2, 3), np.uint8)
    assert fit_pixels(gray, "ppm").shape == (2, 3, 3)
    assert fit_pixels(gray, "png").shape == (2, 3)
    deep = np.full((2, 3, 3), 65535, np.uint16)
    assert fit_pixels(deep, "jpg").dtype == np.uint8 and fit_pixels(deep, "jpg").max() == 255
    assert fit_pixels(deep, "tiff").dtype == np.uint16
    opaque = np.full((2, 3, 4), 255, np.uint8)
    assert fit_pixels(opaque, "bmp").shape == (2, 3, 3)
    clear = opaque.copy()
    clear[0, 0, 3] = 0
    with pytest.raises(ValueError, match="transparency, which jpg cannot store"):
        fit_pixels(clear, "jpg")
    assert fit_pixels(clear, "webp").shape == (2, 3, 4)


@pytest.mark.parametrize("args, expected", [
    (("bmp", True, 8, None), "png"), (("bmp", False, 8, None), "bmp"),
    (("jpg", False, 16, None), "png"), (("tif", True, 16, None), "tif"),
    (("pgm", False, 8, None), "png"), (("png", True, 8, "jpg"), "png"),
    (("png", False, 16, "jpg"), "jpg"), (("png", False, 8, ".WEBP"), "webp"),
    (("png", False, 8, "gif"), "png"),
])
def test_planned_extension(args, expected):
    assert planned_extension(*args) == expected


def test_report_path_checks(tmp_path):
    check_report_path(tmp_path / "new" / "deeper" / "r.json")  # folders are created later
    assert not (tmp_path / "new").exists()
    (tmp_path / "r.json").write_text("{}")
    check_report_path(tmp_path / "r.json")
    with pytest.raises(UsageError, match="is a folder"):
        check_report_path(tmp_path)
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="not a folder"):
        check_report_path(tmp_path / "file" / "r.json")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs a read-only /proc")
def test_report_in_a_read_only_place_is_refused():
    with pytest.raises(UsageError, match="cannot write the report there"):
        check_report_path("/proc/self/imgtrans-report.json")
    with pytest.raises(OSError):
        check_writable("/proc/imgtrans-report.json")


def test_display_escapes_and_bounds():
    assert printable("a\x1b[31mred\x07.png") == "a\\x1b[31mred\\x07.png"
    assert printable("caf\udce9\n.png") == "caf\\xe9\\n.png"
    assert printable("façade 日本.png") == "façade 日本.png"
    assert printable("zero\u200bwidth") == "zero\\u200bwidth"
    text = shown("x" * 1000)
    assert len(text) == 300 and text.endswith("…")
    assert bounded("short\n" + "y" * 400, 10).split("\n") == ["short", "y" * 9 + "…"]
