"""Procedural high-resolution images for training and scoring the bundled super-resolution
demo model (generated here, so no licence questions).

Each image mixes what makes super-resolution measurable: anti-aliased edges at all angles
(polygons, circles, lines), text, fine periodic texture (bricks, stripes) and smooth
gradients, so a learned model can beat bicubic where bicubic blurs.

    python samples/make_sr_dataset.py OUT_DIR [--train 300] [--test 30] [--size 192] [--seed 0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

_WORDS = ("imgtrans", "SRGAN", "pixel", "detail", "edge", "4x", "sharp", "CVPR", "text", "zebra")


def _color(rng: np.random.Generator) -> tuple[int, int, int]:
    return tuple(int(c) for c in rng.integers(0, 256, 3))


def render(rng: np.random.Generator, size: int) -> np.ndarray:
    """One BGR uint8 image of ``size`` x ``size``."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    a, b = rng.uniform(-1, 1, 2)
    base = np.stack([(128 + 100 * (a * xx + b * yy)) * rng.uniform(0.5, 1.2) for _ in range(3)], -1)
    img = np.clip(base, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:  # bricks or stripes in a random region
        x0, y0 = rng.integers(0, size // 2, 2)
        w, h = rng.integers(size // 4, size // 2, 2)
        period = int(rng.integers(3, 9))
        region = img[y0:y0 + h, x0:x0 + w]
        region[:] = _color(rng)
        region[::period] = _color(rng)
        if rng.random() < 0.5:
            region[:, ::period * 2] = _color(rng)
    for _ in range(int(rng.integers(6, 14))):
        kind = rng.integers(0, 4)
        color = _color(rng)
        if kind == 0:
            pts = rng.integers(0, size, (int(rng.integers(3, 6)), 2)).astype(np.int32)
            cv2.fillPoly(img, [pts], color, lineType=cv2.LINE_AA)
        elif kind == 1:
            cv2.circle(img, tuple(int(v) for v in rng.integers(0, size, 2)), int(rng.integers(5, size // 4)),
                       color, -1, lineType=cv2.LINE_AA)
        elif kind == 2:
            p1, p2 = (tuple(int(v) for v in rng.integers(0, size, 2)) for _ in range(2))
            cv2.line(img, p1, p2, color, int(rng.integers(1, 4)), lineType=cv2.LINE_AA)
        else:
            word = _WORDS[int(rng.integers(0, len(_WORDS)))]
            org = (int(rng.integers(0, size // 2)), int(rng.integers(size // 6, size)))
            cv2.putText(img, word, org, cv2.FONT_HERSHEY_SIMPLEX, float(rng.uniform(0.4, 1.2)), color,
                        int(rng.integers(1, 3)), cv2.LINE_AA)
    return img


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--train", type=int, default=300)
    parser.add_argument("--test", type=int, default=30)
    parser.add_argument("--size", type=int, default=192)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    for split, count in (("train", args.train), ("test", args.test)):
        (args.out / split).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            cv2.imwrite(str(args.out / split / f"{i:04d}.png"), render(rng, args.size))


if __name__ == "__main__":
    main()
