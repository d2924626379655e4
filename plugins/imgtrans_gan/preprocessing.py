"""The reference test script's own steps, as pix2pix/CycleGAN's preprocessing hooks: one
half of an aligned A|B image (``--dataset_mode aligned``), and results kept at the
processed size (the test script saves what the network made, without resizing back).

Torch-free at import, like the translators.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from imgtrans.plugin import Preprocessing


@dataclass(frozen=True)
class ReferencePreprocessing(Preprocessing):
    """``half``: the input is a side-by-side A|B pair; the translator reads only its left
    or right half (split at ``W // 2``), before anything else. ``restore_size``: with
    ``resize="resize"``/``"fixed"``, False keeps the output at the processed size (the
    reference test modes ``resize_and_crop`` and ``none``)."""

    half: Literal["left", "right"] | None = None
    restore_size: bool = True

    def select(self, images: Any) -> Any:
        if self.half is None:
            return images
        from imgtrans.plugin import pair_half

        return pair_half(images, self.half)

    def result_size(self, height: int, width: int) -> tuple[int, int]:
        if self.restore_size or self.resize == "pad":
            return super().result_size(height, width)
        fitted_h, fitted_w = self.fitted_size(height, width)
        return (fitted_h * self.scale, fitted_w * self.scale)
