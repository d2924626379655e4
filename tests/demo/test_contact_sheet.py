"""Contact sheet layout: whole-number nearest enlargement, 1:1 crops, fixed row heights."""

from __future__ import annotations

import numpy as np

from imgtrans.core.contact_sheet import CELL, Panel, SheetRow, crop, fit, render_sheet, sheet_size


def test_small_images_grow_by_whole_factors_and_large_ones_shrink():
    tiny = np.arange(64 * 48 * 3, dtype=np.uint8).reshape(64, 48, 3)
    grown = fit(tiny)
    assert grown.shape == (192, 144, 3)  # x3: x4 would be 256 > 224
    assert np.array_equal(grown[::3, ::3], tiny)
    assert fit(np.zeros((1000, 500, 3), np.uint8)).shape == (CELL, 112, 3)


def test_crop_is_one_to_one_and_stays_inside():
    image = np.random.default_rng(0).integers(0, 256, (256, 300, 3), dtype=np.uint8)
    assert np.array_equal(crop(image), image[16:240, 38:262])
    assert np.array_equal(crop(image, centre=(0, 299)), image[:224, 76:300])
    assert crop(image[:50, :60]).shape == (50, 60, 3)


def test_sheet_size_and_missing_panels():
    rows = [SheetRow("a", "detail", [Panel(np.zeros((8, 8), np.uint8), "in"), Panel(None, "missing")]),
            SheetRow("b", "", [Panel(np.zeros((4, 4, 4), np.uint16), "rgba16", crop=True)] * 3)]
    sheet = render_sheet(rows, "heading")
    assert sheet.shape[:2] == sheet_size(2, 3) and sheet.dtype == np.uint8
    assert render_sheet(rows[:1]).shape[:2] == sheet_size(1, 2, heading=False)
    assert render_sheet(rows[:1], min_columns=4).shape[:2] == sheet_size(1, 4, heading=False)
