"""Regenerate the sample images in samples/images/ (procedural, so no licence questions).

    python samples/make_samples.py
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).parent / "images"


def facade(h: int = 256, w: int = 256) -> np.ndarray:
    """A building front: wall, rows of windows, a door; the kind of scene pix2pix's facades show."""
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = (200, 170, 140)
    img[: h // 6] = (235, 205, 170)  # sky
    for row in range(4):
        for col in range(5):
            y, x = h // 5 + row * 40, 18 + col * 48
            cv2.rectangle(img, (x, y), (x + 26, y + 26), (60, 80, 120), -1)
            cv2.rectangle(img, (x, y), (x + 26, y + 26), (245, 245, 245), 3)
    cv2.rectangle(img, (w // 2 - 20, h - 50), (w // 2 + 20, h - 1), (40, 60, 90), -1)
    return img


def shapes(h: int = 192, w: int = 256) -> np.ndarray:
    """Overlapping shapes on a gradient, non-square."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([xx / w * 255, yy / h * 200 + 30, np.full_like(xx, 120)], -1).astype(np.uint8)
    img = np.ascontiguousarray(img)
    cv2.circle(img, (80, 90), 50, (20, 160, 230), -1)
    cv2.rectangle(img, (130, 40), (230, 150), (240, 220, 40), -1)
    pts = np.array([[40, 180], [120, 110], [200, 185]], np.int32)
    cv2.fillPoly(img, [pts], (200, 40, 60))
    return img


def landscape(h: int = 160, w: int = 240) -> np.ndarray:
    """Sky, hills and a sun, with texture from seeded noise."""
    rng = np.random.default_rng(7)
    img = np.zeros((h, w, 3), np.float32)
    img[:] = (235, 200, 140)  # BGR sky
    xs = np.arange(w)
    ridge = (h * 0.55 + 14 * np.sin(xs / 23.0) + 8 * np.sin(xs / 7.0)).astype(int)
    for x in range(w):
        img[ridge[x]:, x] = (60, 140, 70)
    cv2.circle(img, (190, 40), 18, (80, 220, 250), -1)
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(HERE / "facade.png"), facade())
    cv2.imwrite(str(HERE / "shapes.png"), shapes())
    cv2.imwrite(str(HERE / "landscape.jpg"), landscape(), [cv2.IMWRITE_JPEG_QUALITY, 92])


if __name__ == "__main__":
    main()
