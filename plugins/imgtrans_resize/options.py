"""The resize options, apart from the translator so that checking them never imports torch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class ResizeOptions:
    scale: int = field(default=4, metadata={"help": "integer upscaling factor (1-16)"})
    interpolation: Literal["bicubic", "bilinear", "nearest"] = field(
        default="bicubic", metadata={"help": "interpolation filter"})

    def __post_init__(self) -> None:
        if not 1 <= self.scale <= 16:
            raise ValueError(f"scale must be between 1 and 16, not {self.scale}")
