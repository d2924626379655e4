"""The zoo translator's options, apart from the translator so that checking them never imports
torch or spandrel."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional


@dataclass(frozen=True)
class ZooOptions:
    outscale: Optional[float] = field(default=None, metadata={
        "help": "final scale; default (none): the model's own scale. Other values resize the "
                "result with Lanczos, as Real-ESRGAN's --outscale", "min": 0.1, "max": 16})
    alpha: Literal["network", "resize"] = field(default="network", metadata={
        "help": "an RGBA input's alpha: through the network as a gray image (as srgan and "
                "Real-ESRGAN do; RGB models only) or resized (bilinear)"})
