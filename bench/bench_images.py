"""Test images for the benchmarks: one smooth random picture plus a little noise per copy,
so every image costs the same to decode and encode. Imported by scripts run as
``python bench/<script>.py`` (their folder is on sys.path)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def make_images(folder: Path, count: int, size: int) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    base = cv2.resize(rng.integers(0, 256, (size // 8, size // 8, 3), dtype=np.uint8), (size, size),
                      interpolation=cv2.INTER_CUBIC)
    for i in range(count):
        noise = rng.integers(0, 16, base.shape, dtype=np.uint8)
        cv2.imwrite(str(folder / f"{i:04d}.png"), cv2.add(base, noise))
