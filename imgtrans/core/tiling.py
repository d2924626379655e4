"""Run a fully convolutional translator tile by tile, to bound memory on large images.

The tile grid follows Real-ESRGAN's ``tile_process``: the image is cut into ``tile`` x
``tile`` cores (the last row/column smaller); each core is extended by ``tile_pad`` pixels on
every side, clipped to the image; the model runs on that crop and the core's part of the
result is copied into the output. With ``tile_pad`` at least the model's receptive radius,
the tiled output equals the untiled one.
"""

from __future__ import annotations

import math
from typing import Callable, Iterator

import torch

from imgtrans.core.preprocess import pad_to_multiple


def tile_grid(height: int, width: int, tile: int, tile_pad: int) -> Iterator[tuple[tuple[int, int, int, int], tuple[int, int, int, int]]]:
    """Yield ``(core, crop)`` boxes as (y0, y1, x0, x1): the region a tile is responsible
    for, and the region the model sees (the core plus ``tile_pad``, clipped to the image)."""
    if tile <= 0:
        raise ValueError("tile must be positive")
    for ty in range(math.ceil(height / tile)):
        for tx in range(math.ceil(width / tile)):
            y0, x0 = ty * tile, tx * tile
            y1, x1 = min(y0 + tile, height), min(x0 + tile, width)
            crop = (max(y0 - tile_pad, 0), min(y1 + tile_pad, height),
                    max(x0 - tile_pad, 0), min(x1 + tile_pad, width))
            yield (y0, y1, x0, x1), crop


def run_tile(fn: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor,
             core: tuple[int, int, int, int], crop: tuple[int, int, int, int], *,
             scale: int, multiple: int = 1) -> torch.Tensor:
    """The model's output for the ``core`` box, computed on the ``crop`` box."""
    cy0, cy1, cx0, cx1 = crop
    y0, y1, x0, x1 = core
    patch = images[:, :, cy0:cy1, cx0:cx1]
    if multiple > 1:
        patch = pad_to_multiple(patch, multiple)
    result = fn(patch)
    return result[:, :, (y0 - cy0) * scale:(y1 - cy0) * scale, (x0 - cx0) * scale:(x1 - cx0) * scale]


def run_tiled(fn: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, *,
              tile: int, tile_pad: int, scale: int, multiple: int = 1,
              out_device: torch.device | None = None,
              on_tile: Callable[[int, int], None] | None = None) -> torch.Tensor:
    """Apply ``fn`` to ``images`` (B, C, H, W) tile by tile; returns (B, C_out, H*s, W*s).

    ``fn`` maps (B, C, h, w) to (B, C_out, h*scale, w*scale). When ``multiple`` > 1, each
    crop is padded to that multiple and the result cropped back. The output is assembled on
    ``out_device`` (default: the input's device), so large results can live in host memory.
    ``on_tile(done, total)`` is called after each tile.
    """
    batch, _, height, width = images.shape
    canvas: torch.Tensor | None = None
    grid = list(tile_grid(height, width, tile, tile_pad))
    for done, (core, crop) in enumerate(grid, 1):
        part = run_tile(fn, images, core, crop, scale=scale, multiple=multiple)
        if canvas is None:
            canvas = part.new_zeros((batch, part.shape[1], height * scale, width * scale),
                                    device=out_device or part.device)
        y0, y1, x0, x1 = core
        canvas[:, :, y0 * scale:y1 * scale, x0 * scale:x1 * scale] = part.to(canvas.device)
        if on_tile:
            on_tile(done, len(grid))
    assert canvas is not None
    return canvas
