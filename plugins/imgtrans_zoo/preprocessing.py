"""A zoo model's size requirements as preprocessing hooks.

spandrel pads an input itself (right and bottom: reflect as far as the image allows, then
replicate) up to its architecture's size requirements: a minimum side, a multiple and for
some a square. ``pad_input`` does exactly that, in one step, so the pipeline's own padding
to ``size_multiple`` and ``min_size`` then has nothing left to do and the padded pixels are
spandrel's. ``outscale`` is Real-ESRGAN's Lanczos resize of the quantized result.

Torch-free at import; the hooks import what they use when called.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imgtrans.plugin import OutscalePreprocessing


@dataclass(frozen=True)
class ZooPreprocessing(OutscalePreprocessing):
    """``square``: the network takes square inputs only (padded, then cropped back).
    ``outscale`` (inherited): Real-ESRGAN's Lanczos resize of the quantized result."""

    square: bool = False

    def padded_size(self, height: int, width: int) -> tuple[int, int]:
        """(H, W) spandrel pads an input of this size to (``SizeRequirements.get_padding``)."""
        m, (min_h, min_w) = self.size_multiple, self.min_hw
        h = -(-max(height, min_h) // m) * m
        w = -(-max(width, min_w) // m) * m
        if self.square:
            h = w = max(h, w)
        return h, w

    def pad_input(self, images: Any) -> Any:
        height, width = images.shape[-2:]
        target_h, target_w = self.padded_size(height, width)
        pad_h, pad_w = target_h - height, target_w - width
        if not (pad_h or pad_w):
            return images
        import torch.nn.functional as F

        reflect_h, reflect_w = min(pad_h, height - 1), min(pad_w, width - 1)
        images = F.pad(images, (0, reflect_w, 0, reflect_h), mode="reflect")
        return F.pad(images, (0, pad_w - reflect_w, 0, pad_h - reflect_h), mode="replicate")
