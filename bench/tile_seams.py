"""Do tiled results show seams? Tiled (Real-ESRGAN's crop mode, ``--tile``) against untiled
output of fully convolutional translators, per tile size and tile pad.

Prints, per case: mean and max |tiled - untiled| (levels of 255) and a seam figure: the mean
jump across vertical tile borders in the tiled result divided by the same jump in the
untiled one (1.000: no seam). Usage: python bench/tile_seams.py [WEIGHTS ...]
(default: the bundled srgan weights)."""

from __future__ import annotations

import sys

import numpy as np


def image(height: int = 192, width: int = 256) -> np.ndarray:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x, y, (x + y) / 2], -1) + rng.normal(0, 20, (height, width, 3))
    return np.clip(base, 0, 255).astype(np.uint8)


def measure(weights: str, tiles=(64, 128), pads=(0, 10, 32)) -> None:
    import imgtrans

    img = image()
    full = imgtrans.load(weights=weights, device="cpu")(img).astype(np.float64)
    scale = full.shape[0] // img.shape[0]
    for tile in tiles:
        borders = [c * scale for c in range(tile, img.shape[1], tile)]
        untiled = np.mean([np.abs(full[:, c] - full[:, c - 1]).mean() for c in borders])
        for pad in pads:
            tiled = imgtrans.load(weights=weights, device="cpu", tile=tile,
                                  tile_pad=pad)(img).astype(np.float64)
            diff = np.abs(full - tiled)
            jump = np.mean([np.abs(tiled[:, c] - tiled[:, c - 1]).mean() for c in borders])
            print(f"{weights:22s} tile {tile:3d} pad {pad:2d}: mean {diff.mean():.3f} "
                  f"max {diff.max():3.0f} seam {jump / untiled:.3f}", flush=True)


if __name__ == "__main__":
    for name in sys.argv[1:] or ["srgan.synthetic_x4", "srgan.photos_x4"]:
        measure(name)
