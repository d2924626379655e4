"""``sketch``: a pencil drawing or an edge map of a photo, with Kornia.

Pencil mode is the classic "colour dodge" sketch: the gray image divided by the inverted,
blurred gray image, so flat areas go white and edges stay dark. Edge mode draws Sobel edge
magnitude as dark lines on white, the kind of input used to build edges -> photo training
pairs for pix2pix. Both look only at a bounded neighbourhood of each pixel, so the pipeline
may tile large images; with ``--tile-pad`` at least ``3 * sigma + 2`` the tiled result equals
the untiled one.

Under ``--precision fast`` only the blur runs in bf16/fp16 (``autocast_scope = "parts"``),
to show how a translator scopes it; measured, autocasting the whole call errs the same here
(the blur's rounding dominates), so the default ``"call"`` would do as well.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from imgtrans.plugin import Capabilities, Preprocessing, TranslateContext, Translator, fast_scope


@dataclass(frozen=True)
class SketchOptions:
    mode: Literal["pencil", "edges"] = field(
        default="pencil", metadata={"help": "pencil drawing or edge map"})
    sigma: float = field(default=3.0, metadata={"help": "blur in pixels: stroke width (pencil) "
                                                         "or smoothing before edges",
                                                 "min": 0.3, "max": 50.0})
    strength: float = field(default=4.0, metadata={"help": "edge mode: darkness of the lines",
                                                    "min": 0.01, "max": 100.0})


class SketchTranslator(Translator):
    name = "sketch"
    summary = "Pencil sketch or edge map of a photo (non-learned, Kornia)"
    capabilities = Capabilities(fully_convolutional=True)
    Options = SketchOptions
    autocast_scope = "parts"  # --precision fast: the blur only; see translate
    fast_mode_error = ("bf16 (emulated on CPU), 8-bit levels vs exact: mean 0.6-0.9, "
                       "99.9th pct 4-5, max 6 (pencil and edges, four 64x64 images; "
                       "tests/test_imgtrans_sketch.py)")

    def preprocessing(self) -> Preprocessing:
        return Preprocessing(channels=3, value_range=(0.0, 1.0), alpha="preserve")

    def translate(self, images: Any, context: TranslateContext) -> Any:
        """(B, 3, H, W) RGB in [0, 1] -> (B, 1, H, W) gray in [0, 1]."""
        import kornia

        gray = kornia.color.rgb_to_grayscale(images)
        sigma = self.options.sigma
        ksize = 2 * math.ceil(3 * sigma) + 1
        pencil = self.options.mode == "pencil"
        with fast_scope(context):  # the blur, the costly part, may run in bf16/fp16
            blurred = kornia.filters.gaussian_blur2d(1.0 - gray if pencil else gray, (ksize, ksize),
                                                     (sigma, sigma), border_type="reflect").float()
        # Dividing and differentiating amplify rounding: fp32 from here.
        if pencil:
            return (gray / (1.0 - blurred).clamp_min(1e-3)).clamp(0.0, 1.0)
        magnitude = kornia.filters.sobel(blurred, normalized=True)
        return (1.0 - self.options.strength * sigma * magnitude).clamp(0.0, 1.0)
