"""Real-ESRGAN's own steps around the network, as srgan's preprocessing hooks: ``--pre_pad``
context before the padding to the network's multiple, and ``--outscale`` after quantization.

Torch-free at import (``Translator.preprocessing`` runs at load time, in the plugin's
torch-free module); the hooks import what they use when called.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imgtrans.plugin import OutscalePreprocessing


@dataclass(frozen=True)
class RealESRGANPreprocessing(OutscalePreprocessing):
    """``pre_pad``: reflect-pad this many pixels on the right and bottom before padding to
    the multiple (``RealESRGANer.pre_process``; cropped off with the rest of the padding).
    ``outscale`` (inherited): Real-ESRGAN's Lanczos resize of the quantized result."""

    pre_pad: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.pre_pad < 0:
            raise ValueError("pre_pad must not be negative")

    def pad_input(self, images: Any) -> Any:
        if not self.pre_pad:
            return images
        from imgtrans.plugin import pad_right_bottom

        return pad_right_bottom(images, self.pre_pad, "reflect")
