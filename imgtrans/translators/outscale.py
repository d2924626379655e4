"""Real-ESRGAN's ``--outscale`` as a preprocessing a translator can inherit: the quantized
result resized with OpenCV's Lanczos to any factor. srgan and the model zoo both follow it,
and plugins may not import each other, so it lives in the plugin API.

Torch-free at import, like the rest of the contract; OpenCV is imported when a result is
resized.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imgtrans.translators.base import Preprocessing


@dataclass(frozen=True)
class OutscalePreprocessing(Preprocessing):
    """``outscale``: resize the quantized result to ``int(W * outscale)`` x
    ``int(H * outscale)`` with OpenCV's Lanczos (``inference_realesrgan.py --outscale``);
    None keeps ``scale``."""

    outscale: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.outscale is not None and self.outscale <= 0:
            raise ValueError("outscale must be positive")

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
