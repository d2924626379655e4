"""The resize options, apart from the translator so that checking them never imports torch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class ResizeOptions:
    scale: int = field(default=4, metadata={"help": "integer upscaling factor", "min": 1, "max": 16})
    interpolation: Literal["bicubic", "bilinear", "nearest"] = field(
        default="bicubic", metadata={"help": "interpolation filter"})
