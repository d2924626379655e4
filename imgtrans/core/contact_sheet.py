"""Side-by-side contact sheets: one row per input, one column per translator."""

from __future__ import annotations

import cv2
import numpy as np

_LABEL_HEIGHT = 22


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


def make_contact_sheet(rows: list[list[np.ndarray | None]], labels: list[str],
                       cell_height: int = 160, gap: int = 4,
                       row_labels: list[str] | None = None) -> np.ndarray:
    """Grid of thumbnails, ``cell_height`` pixels high, with a label above each column and,
    if given, one on the left of each row.

    ``rows[r][c]`` is an image (any layout :func:`to_rgb8` takes) or None for a missing
    result (drawn as a gray cell). Returns RGB uint8 (H, W, 3).
    """
    if row_labels:
        strips = [_label_strip(text, cell_height) for text in row_labels]
        return make_contact_sheet([[strip, *row] for strip, row in zip(strips, rows)],
                                  ["", *labels], cell_height, gap)
    widths = [0] * len(labels)
    thumbs = []
    for row in rows:
        thumb_row = []
        for col, image in enumerate(row):
            if image is None:
                thumb = np.full((cell_height, cell_height, 3), 200, np.uint8)
            else:
                rgb = to_rgb8(image)
                width = max(1, round(rgb.shape[1] * cell_height / rgb.shape[0]))
                thumb = cv2.resize(rgb, (width, cell_height), interpolation=cv2.INTER_AREA)
            widths[col] = max(widths[col], thumb.shape[1])
            thumb_row.append(thumb)
        thumbs.append(thumb_row)
    total_w = sum(widths) + gap * (len(widths) + 1)
    total_h = _LABEL_HEIGHT + len(rows) * (cell_height + gap) + gap
    sheet = np.full((total_h, total_w, 3), 255, np.uint8)
    x = gap
    for col, label in enumerate(labels):
        cv2.putText(sheet, label[:40], (x, _LABEL_HEIGHT - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (0, 0, 0), 1, cv2.LINE_AA)
        for r, thumb_row in enumerate(thumbs):
            thumb = thumb_row[col]
            y = _LABEL_HEIGHT + gap + r * (cell_height + gap)
            sheet[y:y + cell_height, x:x + thumb.shape[1]] = thumb
        x += widths[col] + gap
    return sheet


def _label_strip(text: str, height: int, width: int = 110) -> np.ndarray:
    strip = np.full((height, width, 3), 255, np.uint8)
    cv2.putText(strip, text[:14], (4, height // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return strip
