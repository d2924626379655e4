"""Real-ESRGAN's own steps around the network, as srgan's preprocessing hooks: ``--pre_pad``
context before the padding to the network's multiple, and ``--outscale`` after quantization.

Torch-free at import (``Translator.preprocessing`` runs at load time, in the plugin's
torch-free module); the hooks import what they use when called.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imgtrans.plugin import Preprocessing


@dataclass(frozen=True)
class RealESRGANPreprocessing(Preprocessing):
    """``pre_pad``: reflect-pad this many pixels on the right and bottom before padding to
    the multiple (``RealESRGANer.pre_process``; cropped off with the rest of the padding).
    ``outscale``: resize the quantized result to ``int(W * outscale)`` x ``int(H * outscale)``
    with OpenCV's Lanczos (``inference_realesrgan.py --outscale``); None keeps ``scale``."""

    pre_pad: int = 0
    outscale: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.pre_pad < 0:
            raise ValueError("pre_pad must not be negative")
        if self.outscale is not None and self.outscale <= 0:
            raise ValueError("outscale must be positive")

    def pad_input(self, images: Any) -> Any:
        if not self.pre_pad:
            return images
        from imgtrans.plugin import pad_right_bottom

        return pad_right_bottom(images, self.pre_pad, "reflect")

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        if self.outscale is None:
            return self.result_size(height, width)
        return (int(height * self.outscale), int(width * self.outscale))

    def resize_result(self, image: Any, height: int, width: int) -> Any:
        out_h, out_w = self.output_size(height, width)
        if image.shape[:2] == (out_h, out_w):
            return image
        import cv2

        return cv2.resize(image, (out_w, out_h), interpolation=cv2.INTER_LANCZOS4)
