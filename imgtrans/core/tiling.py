"""Run a fully convolutional translator tile by tile, to bound memory on large images.

The tile grid follows Real-ESRGAN's ``tile_process``: the image is cut into ``tile`` x
``tile`` cores (the last row/column smaller); each core is extended by ``tile_pad`` pixels on
every side, clipped to the image; the model runs on that crop and the core's part of the
result is copied into the output. With ``tile_pad`` at least the model's receptive radius,
the tiled output equals the untiled one.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

from imgtrans.core.preprocess import pad_to_multiple


def run_tiled(fn: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, *,
              tile: int, tile_pad: int, scale: int, multiple: int = 1,
              out_device: torch.device | None = None) -> torch.Tensor:
    """Apply ``fn`` to ``images`` (B, C, H, W) tile by tile; returns (B, C_out, H*s, W*s).

    ``fn`` maps (B, C, h, w) to (B, C_out, h*scale, w*scale). When ``multiple`` > 1, each
    crop is padded to that multiple and the result cropped back. The output is assembled on
    ``out_device`` (default: the input's device), so large results can live in host memory.
    """
    if tile <= 0:
        raise ValueError("tile must be positive")
    batch, _, height, width = images.shape
    tiles_y, tiles_x = math.ceil(height / tile), math.ceil(width / tile)
    canvas: torch.Tensor | None = None
    for ty in range(tiles_y):
        for tx in range(tiles_x):
            y0, x0 = ty * tile, tx * tile
            y1, x1 = min(y0 + tile, height), min(x0 + tile, width)
            cy0, cx0 = max(y0 - tile_pad, 0), max(x0 - tile_pad, 0)
            cy1, cx1 = min(y1 + tile_pad, height), min(x1 + tile_pad, width)
            crop = images[:, :, cy0:cy1, cx0:cx1]
            ch, cw = crop.shape[-2:]
            if multiple > 1:
                crop = pad_to_multiple(crop, multiple)
            result = fn(crop)[:, :, : ch * scale, : cw * scale]
            if canvas is None:
                canvas = result.new_zeros((batch, result.shape[1], height * scale, width * scale),
                                          device=out_device or result.device)
            core = result[:, :, (y0 - cy0) * scale:(y1 - cy0) * scale,
                          (x0 - cx0) * scale:(x1 - cx0) * scale]
            canvas[:, :, y0 * scale:y1 * scale, x0 * scale:x1 * scale] = core.to(canvas.device)
    assert canvas is not None
    return canvas
