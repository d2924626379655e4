"""PIL's ``Image.resize`` for 8-bit images, bit for bit, by calling PIL.

Reference implementations (pix2pix/CycleGAN) resize with PIL, and a model amplifies even
one-level input differences, so matching their outputs needs PIL's exact fixed-point
arithmetic. That arithmetic (and even the order of its two passes) changes between Pillow
releases, so instead of re-implementing it we hand the 8-bit channels to the installed PIL,
as the reference does. Each channel is resized as an "L" image: PIL resamples RGB channels
independently, so this equals resizing the RGB image.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

_FILTERS = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR}


def pil_resize(images: torch.Tensor, size: tuple[int, int], mode: str = "bicubic") -> torch.Tensor:
    """Resize float (B, C, H, W) images holding 8-bit values (multiples of 1/255 in [0, 1])
    to ``size`` = (H, W) exactly as ``PIL.Image.resize(..., BICUBIC|BILINEAR)``.
    Returns float32 in [0, 1] on the input's device."""
    pixels = (images.detach().float().clamp(0, 1) * 255.0).round().to(torch.uint8).cpu().numpy()
    batch, channels = pixels.shape[:2]
    out = np.empty((batch, channels, size[0], size[1]), np.uint8)
    for b in range(batch):
        for c in range(channels):
            out[b, c] = np.asarray(Image.fromarray(pixels[b, c]).resize((size[1], size[0]), _FILTERS[mode]))
    return torch.from_numpy(out).to(images.device).float() / 255.0
