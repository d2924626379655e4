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


def _ink_rows(sheet: np.ndarray, left: int, right: int) -> list[int]:
    """Rows of ``sheet`` with dark text pixels between columns ``left`` and ``right``."""
    return [y for y in range(sheet.shape[0]) if (sheet[y, left:right] < 128).any()]


def test_long_descriptions_wrap_over_several_lines_and_are_all_drawn():
    from imgtrans.core.contact_sheet import _wrap, _TEXT

    words = " ".join(f"word{i}" for i in range(60))  # far wider than a 2-panel row
    row = SheetRow("title", words, [Panel(np.zeros((8, 8), np.uint8), "in")])
    short = SheetRow("title", "short", row.panels)
    sheet, plain = render_sheet([row]), render_sheet([short])
    width = sheet.shape[1]
    lines = _wrap(words, _TEXT, width - 16)
    assert len(lines) >= 3 and " ".join(lines) == words  # every word, in order, none cut
    assert _wrap("a   b", _TEXT, 500) == ["a   b"]  # spaced-out titles keep their spacing
    assert sheet.shape[:2] == sheet_size([row], 2, heading=False)
    assert sheet.shape[0] == plain.shape[0] + (len(lines) - 1) * 20  # the row grew a line per line
    assert sheet.shape[0] > sheet_size(1, 2, heading=False)[0]
    # the detail's text really is drawn on each of those lines, between the title and the panels
    detail = sheet[8 + 20:8 + 20 + 20 * len(lines), 8:width - 8]
    inked = [(detail[k * 20:(k + 1) * 20] < 160).any() for k in range(len(lines))]
    assert all(inked)
    heading = "a heading " * 40
    assert render_sheet([short], heading).shape[:2] == sheet_size([short], 2, heading)
    assert render_sheet([short], heading).shape[0] > render_sheet([short], "a heading").shape[0]


def test_white_output_on_white_paper_gets_a_visible_frame():
    white = np.full((100, 60, 3), 255, np.uint8)
    dark = np.zeros((100, 60, 3), np.uint8)
    sheet = render_sheet([SheetRow("t", "", [Panel(white, ""), Panel(dark, "")])])
    cell_top = sheet.shape[0] - 8 - CELL  # panels sit at the bottom of the row, above the margin
    y0, x0 = cell_top + (CELL - 200) // 2, 8 + (CELL - 120) // 2  # white shown x2: 200x120
    assert (sheet[y0:y0 + 200, x0:x0 + 120] == 255).all()  # the image itself is untouched
    frame = [sheet[y0 - 1, x0:x0 + 120], sheet[y0 + 200, x0:x0 + 120],
             sheet[y0:y0 + 200, x0 - 1], sheet[y0:y0 + 200, x0 + 120]]
    assert all((side.max(axis=-1) <= 200).all() for side in frame)  # gray all round
    left = 8 + CELL + 8 + (CELL - 120) // 2  # a dark image needs no frame
    assert (sheet[y0 - 1, left:left + 120] == 255).all()


def test_crop_panels_say_they_are_crops():
    from imgtrans.core.contact_sheet import _caption

    big = np.zeros((512, 400, 3), np.uint8)
    assert _caption(Panel(big, "bicubic: 24.10 dB", crop=True)) == "bicubic: 24.10 dB\n1:1 crop of 400x512"
    assert _caption(Panel(big, "bicubic", crop=False)) == "bicubic"
    assert _caption(Panel(big, "centre crop", crop=True)) == "centre crop"  # said already
    assert "whole image" in _caption(Panel(big[:50, :60], "small", crop=True))
    # drawn: the crop's caption needs a second line the fitted one does not
    cropped = render_sheet([SheetRow("t", "", [Panel(big, "bicubic: 24.10 dB", crop=True)])])
    fitted = render_sheet([SheetRow("t", "", [Panel(big, "bicubic: 24.10 dB")])])
    assert cropped.shape[0] == fitted.shape[0] + 20
    captions = _ink_rows(cropped[-(8 + CELL + 2 * 20):-(8 + CELL)], 8, 8 + CELL)
    assert captions and max(captions) - min(captions) > 20  # two lines of caption text
