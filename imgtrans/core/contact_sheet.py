"""Contact sheets that explain themselves: one titled row per translator (or per sample),
each a line of captioned panels (input as the model sees it, output, comparisons).

Small images are enlarged by whole-number nearest-neighbour factors so their pixels stay
honest; panels marked ``crop`` are shown 1:1 (a centre crop), for judging fine detail.
"""

from __future__ import annotations

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
    :func:`sheet_size` ``(len(rows), columns)``, where ``columns`` is the longest row's number
    of panels, at least ``min_columns`` (room for titles). Text that does not fit is
    shortened with "...".
    """
    columns = max([min_columns, *(len(r.panels) for r in rows)])
    width = gap + columns * (cell + gap)
    parts = [_heading(heading, width)] if heading else []
    for row in rows:
        parts.append(_row(row, width, cell, gap))
    return np.concatenate(parts, axis=0) if parts else np.full((1, width, 3), 255, np.uint8)


def sheet_size(rows: int, columns: int, heading: bool = True, cell: int = CELL, gap: int = GAP) -> tuple[int, int]:
    """(H, W) of :func:`render_sheet` for ``rows`` rows, ``columns`` panels wide."""
    width = gap + columns * (cell + gap)
    return (_LINE + gap if heading else 0) + rows * _row_height(cell, gap), width


def _row_height(cell: int, gap: int = GAP) -> int:
    return 2 * _LINE + _LINE + cell + 2 * gap  # title, detail, captions, panels, margins


def _row(row: SheetRow, width: int, cell: int, gap: int) -> np.ndarray:
    strip = np.full((_row_height(cell, gap), width, 3), 255, np.uint8)
    strip[0] = 200  # a thin rule between rows
    _text(strip, row.title, (gap, gap + _LINE - 6), _TITLE, width - 2 * gap, thickness=2)
    _text(strip, row.detail, (gap, gap + 2 * _LINE - 4), _TEXT, width - 2 * gap, color=_MUTED)
    top = gap + 3 * _LINE
    for i, panel in enumerate(row.panels):
        left = gap + i * (cell + gap)
        _text(strip, panel.caption, (left, top - 6), _TEXT, cell)
        if panel.image is None:
            strip[top:top + cell, left:left + cell] = 200
            continue
        rgb = to_rgb8(panel.image)
        shown = crop(rgb, cell, panel.centre) if panel.crop else fit(rgb, cell)
        h, w = shown.shape[:2]
        y, x = top + (cell - h) // 2, left + (cell - w) // 2
        strip[y:y + h, x:x + w] = shown
    return strip


def _heading(text: str, width: int) -> np.ndarray:
    strip = np.full((_LINE + GAP, width, 3), 255, np.uint8)
    _text(strip, text, (GAP, _LINE), _TEXT, width - 2 * GAP)
    return strip


def _text(image: np.ndarray, text: str, origin: tuple[int, int], scale: float, max_width: int,
          color: tuple[int, int, int] = _INK, thickness: int = 1) -> None:
    """Draw ``text`` at ``origin`` (baseline), shortened with "..." to fit ``max_width``."""
    def width_of(s: str) -> int:
        return cv2.getTextSize(s, _FONT, scale, thickness)[0][0]

    if width_of(text) > max_width:
        while text and width_of(text + "...") > max_width:
            text = text[:-1]
        text += "..."
    cv2.putText(image, text, origin, _FONT, scale, color, thickness, cv2.LINE_AA)
