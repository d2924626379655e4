"""``sketch``: a pencil drawing or an edge map of a photo, with Kornia.

Pencil mode is the classic "colour dodge" sketch: the gray image divided by the inverted,
blurred gray image, so flat areas go white and edges stay dark. Edge mode draws Sobel edge
magnitude as dark lines on white, the kind of input used to build edges -> photo training
pairs for pix2pix. Both look only at a bounded neighbourhood of each pixel, so the pipeline
may tile large images; with ``--tile-pad`` at least ``3 * sigma + 2`` the tiled result equals
the untiled one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from imgtrans.plugin import Capabilities, Preprocessing, TranslateContext, Translator


@dataclass(frozen=True)
class SketchOptions:
    mode: Literal["pencil", "edges"] = field(
        default="pencil", metadata={"help": "pencil drawing or edge map"})
    sigma: float = field(default=3.0, metadata={"help": "blur in pixels: stroke width (pencil) "
                                                         "or smoothing before edges"})
    strength: float = field(default=4.0, metadata={"help": "edge mode: darkness of the lines"})

    def __post_init__(self) -> None:
        if not 0.3 <= self.sigma <= 50:
            raise ValueError(f"sigma must be between 0.3 and 50, not {self.sigma}")
        if self.strength <= 0:
            raise ValueError("strength must be positive")


class SketchTranslator(Translator):
    name = "sketch"
    summary = "Pencil sketch or edge map of a photo (non-learned, Kornia)"
    capabilities = Capabilities(fully_convolutional=True)
    Options = SketchOptions

    def preprocessing(self) -> Preprocessing:
        return Preprocessing(channels=3, value_range=(0.0, 1.0), alpha="preserve")

    def translate(self, images: Any, context: TranslateContext) -> Any:
        """(B, 3, H, W) RGB in [0, 1] -> (B, 1, H, W) gray in [0, 1]."""
        import kornia

        gray = kornia.color.rgb_to_grayscale(images)
        sigma = self.options.sigma
        ksize = 2 * math.ceil(3 * sigma) + 1
        if self.options.mode == "pencil":
            blurred = kornia.filters.gaussian_blur2d(1.0 - gray, (ksize, ksize), (sigma, sigma),
                                                     border_type="reflect")
            return (gray / (1.0 - blurred).clamp_min(1e-3)).clamp(0.0, 1.0)
        smooth = kornia.filters.gaussian_blur2d(gray, (ksize, ksize), (sigma, sigma),
                                                border_type="reflect")
        magnitude = kornia.filters.sobel(smooth, normalized=True)
        return (1.0 - self.options.strength * sigma * magnitude).clamp(0.0, 1.0)
