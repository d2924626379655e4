"""Contact sheets that explain themselves: one titled row per translator (or per sample),
each a line of captioned panels (input as the model sees it, output, comparisons).

Small images are enlarged by whole-number nearest-neighbour factors so their pixels stay
honest; panels marked ``crop`` are shown 1:1 (a centre crop), for judging fine detail, and
their captions say so. Text wraps (rows grow to fit); pale images get a thin frame.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import cv2
import numpy as np

CELL = 224
"""Panel size in pixels: four panels and their gaps fit in 1000 px."""
GAP = 8
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_TITLE, _TEXT = 0.62, 0.45  # font scales
_LINE = 20  # height of one line of text
_INK, _MUTED, _PAPER = (0, 0, 0), (90, 90, 90), (255, 255, 255)


@dataclass
class Panel:
    """One image with a caption. ``image``: any layout :func:`to_rgb8` takes, or None (a gray
    "missing" panel). ``crop``: show 1:1, cropped to the panel around ``centre`` ((y, x) in
    image pixels; None: the image centre) instead of fitting the whole image."""

    image: np.ndarray | None
    caption: str = ""
    crop: bool = False
    centre: tuple[int, int] | None = None


@dataclass
class SheetRow:
    title: str
    detail: str = ""
    panels: list[Panel] = field(default_factory=list)


def to_rgb8(pixels: np.ndarray) -> np.ndarray:
    """Any decoded image (gray/RGB/RGBA, 8 or 16 bit) as RGB uint8, alpha over white."""
    img = pixels.astype(np.float32) / (65535.0 if pixels.dtype == np.uint16 else 255.0)
    if img.ndim == 2:
        img = img[..., None]
    if img.shape[-1] == 1:
        img = np.repeat(img, 3, axis=-1)
    if img.shape[-1] == 4:
        alpha = img[..., 3:]
        img = img[..., :3] * alpha + (1.0 - alpha)
    return (img * 255.0).round().astype(np.uint8)


def fit(rgb: np.ndarray, cell: int = CELL) -> np.ndarray:
    """Whole image inside ``cell`` x ``cell``: enlarged by the largest whole factor that fits
    (nearest neighbour), or reduced with area averaging when it is larger."""
    height, width = rgb.shape[:2]
    factor = min(cell // height, cell // width)
    if factor >= 1:
        return rgb.repeat(factor, 0).repeat(factor, 1) if factor > 1 else rgb
    ratio = min(cell / height, cell / width)
    size = (max(1, round(width * ratio)), max(1, round(height * ratio)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def crop(rgb: np.ndarray, cell: int = CELL, centre: tuple[int, int] | None = None) -> np.ndarray:
    """A 1:1 window of at most ``cell`` x ``cell`` around ``centre`` (kept inside the image)."""
    height, width = rgb.shape[:2]
    cy, cx = centre if centre is not None else (height // 2, width // 2)
    top = min(max(0, cy - cell // 2), max(0, height - cell))
    left = min(max(0, cx - cell // 2), max(0, width - cell))
    return rgb[top:top + cell, left:left + cell]


def render_sheet(rows: list[SheetRow], heading: str = "", min_columns: int = 2, cell: int = CELL,
                 gap: int = GAP) -> np.ndarray:
    """The rows stacked under an optional heading; RGB uint8 (H, W, 3) of
    :func:`sheet_size` ``(rows, columns, heading)``, where ``columns`` is the longest row's
    number of panels, at least ``min_columns`` (room for titles). Text is wrapped over as many
    lines as it needs (a row grows to fit), never cut. Images whose edges are near white get a
    thin gray frame so they do not vanish into the paper; crops say so in their caption.
    """
    columns = max([min_columns, *(len(r.panels) for r in rows)])
    width = gap + columns * (cell + gap)
    parts = [_heading(heading, width, gap)] if heading else []
    for row in rows:
        parts.append(_row(row, width, cell, gap))
    return np.concatenate(parts, axis=0) if parts else np.full((1, width, 3), 255, np.uint8)


def sheet_size(rows: int | list[SheetRow], columns: int, heading: bool | str = True, cell: int = CELL,
               gap: int = GAP) -> tuple[int, int]:
    """(H, W) of :func:`render_sheet`. ``rows``: the rows themselves (exact, text wrapped as
    drawn), or a count of rows whose title, detail and captions fit on one line each (the
    smallest a row can be). ``heading``: its text (exact), or whether there is a one-line one."""
    width = gap + columns * (cell + gap)
    if isinstance(heading, str):
        top = _LINE * len(_wrap(heading, _TEXT, width - 2 * gap)) + gap if heading else 0
    else:
        top = _LINE + gap if heading else 0
    if isinstance(rows, int):
        return top + rows * _row_height(cell, gap), width
    return top + sum(_row_height(cell, gap, *_row_lines(r, width, cell, gap)) for r in rows), width


def _row_height(cell: int, gap: int = GAP, title: int = 1, detail: int = 1, captions: int = 1) -> int:
    return (title + detail + captions) * _LINE + cell + 2 * gap  # text lines, panels, margins


def _row_lines(row: SheetRow, width: int, cell: int, gap: int) -> tuple[int, int, int]:
    """Lines of (title, detail, the longest caption) for ``row`` as drawn."""
    return (len(_wrap(row.title, _TITLE, width - 2 * gap, 2)),
            len(_wrap(row.detail, _TEXT, width - 2 * gap)),
            max([1, *(len(_wrap(_caption(p, cell), _TEXT, cell)) for p in row.panels)]))


def _caption(panel: Panel, cell: int = CELL) -> str:
    """The caption as drawn: a crop panel says it is a crop (and of what) unless it already does."""
    if not panel.crop or panel.image is None or "crop" in panel.caption.lower():
        return panel.caption
    height, width = panel.image.shape[:2]
    if height <= cell and width <= cell:  # nothing cut: shown whole, 1:1
        return f"{panel.caption} - 1:1 (whole image)" if panel.caption else "1:1 (whole image)"
    note = f"1:1 crop of {width}x{height}"
    return f"{panel.caption}\n{note}" if panel.caption else note  # a line of its own


def _row(row: SheetRow, width: int, cell: int, gap: int) -> np.ndarray:
    title_n, detail_n, caption_n = _row_lines(row, width, cell, gap)
    strip = np.full((_row_height(cell, gap, title_n, detail_n, caption_n), width, 3), 255, np.uint8)
    strip[0] = 200  # a thin rule between rows
    y = gap
    for line in _wrap(row.title, _TITLE, width - 2 * gap, 2):
        y += _LINE
        cv2.putText(strip, line, (gap, y - 6), _FONT, _TITLE, _INK, 2, cv2.LINE_AA)
    for line in _wrap(row.detail, _TEXT, width - 2 * gap):
        y += _LINE
        cv2.putText(strip, line, (gap, y - 4), _FONT, _TEXT, _MUTED, 1, cv2.LINE_AA)
    top = y + caption_n * _LINE
    for i, panel in enumerate(row.panels):
        left = gap + i * (cell + gap)
        lines = _wrap(_caption(panel, cell), _TEXT, cell)
        for k, line in enumerate(lines):  # captions sit right above their panel
            base = top - 6 - (len(lines) - 1 - k) * _LINE
            cv2.putText(strip, line, (left, base), _FONT, _TEXT, _INK, 1, cv2.LINE_AA)
        if panel.image is None:
            strip[top:top + cell, left:left + cell] = 200
            continue
        rgb = to_rgb8(panel.image)
        shown = crop(rgb, cell, panel.centre) if panel.crop else fit(rgb, cell)
        h, w = shown.shape[:2]
        y0, x0 = top + (cell - h) // 2, left + (cell - w) // 2
        strip[y0:y0 + h, x0:x0 + w] = shown
        if _pale_edges(shown):  # white on white: a thin frame just outside the image
            cv2.rectangle(strip, (x0 - 1, y0 - 1), (x0 + w, y0 + h), _FRAME, 1)
    return strip


_FRAME = (150, 150, 150)


def _pale_edges(rgb: np.ndarray, near: int = 230, share: float = 0.05) -> bool:
    """Whether at least ``share`` of the image's outermost pixels are close to the white paper."""
    edges = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    return bool((edges.min(axis=-1) >= near).mean() >= share)


def _heading(text: str, width: int, gap: int = GAP) -> np.ndarray:
    lines = _wrap(text, _TEXT, width - 2 * gap)
    strip = np.full((_LINE * len(lines) + gap, width, 3), 255, np.uint8)
    for k, line in enumerate(lines):
        cv2.putText(strip, line, (gap, _LINE * (k + 1)), _FONT, _TEXT, _INK, 1, cv2.LINE_AA)
    return strip


def _wrap(text: str, scale: float, max_width: int, thickness: int = 1) -> list[str]:
    """``text`` broken at spaces into lines at most ``max_width`` px wide (a word longer than
    a line is split; runs of spaces inside a line are kept); always at least one line."""
    def fits(s: str) -> bool:
        return cv2.getTextSize(s, _FONT, scale, thickness)[0][0] <= max_width

    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for space, word in re.findall(r"(\s*)(\S+)", paragraph):
            candidate = f"{line}{space}{word}" if line else word
            if fits(candidate):
                line = candidate
                continue
            if line:
                lines.append(line)
            while not fits(word) and len(word) > 1:
                cut = len(word) - 1
                while cut > 1 and not fits(word[:cut]):
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    return lines or [""]
