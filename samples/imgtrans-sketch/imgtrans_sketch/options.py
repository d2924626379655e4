"""Options of the ``tone`` translator, for converting and for training.

Torch-free on purpose: ``imgtrans info tone`` and ``imgtrans plugins`` read these dataclasses
without loading torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TONE = "tone"


@dataclass(frozen=True)
class ToneOptions:
    strength: float = field(default=1.0, metadata={
        "help": "how much of the look to apply: 0 keeps the photo, 1 is the trained look"})

    def __post_init__(self) -> None:
        if not 0.0 <= self.strength <= 2.0:
            raise ValueError(f"strength must be between 0 and 2, not {self.strength}")


@dataclass(frozen=True)
class ToneTrainOptions:
    width: int = field(default=16, metadata={"help": "hidden units of the per-pixel network"})
    lr: float = field(default=0.01, metadata={"help": "Adam learning rate"})
    load_size: int = field(default=64, metadata={"help": "training images are resized to this"})
    n_epochs: int = field(default=30, metadata={"help": "epochs when --epochs is not given"})

    def __post_init__(self) -> None:
        if not 1 <= self.width <= 256:
            raise ValueError(f"width must be between 1 and 256, not {self.width}")
        if self.lr <= 0 or self.load_size < 1 or self.n_epochs < 1:
            raise ValueError("lr, load_size and n_epochs must be positive")
