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
        "help": "how much of the look to apply: 0 keeps the photo, 1 is the trained look",
        "min": 0.0, "max": 2.0})


@dataclass(frozen=True)
class ToneTrainOptions:
    width: int = field(default=16, metadata={"help": "hidden units of the per-pixel network",
                                             "min": 1, "max": 256})
    lr: float = field(default=0.01, metadata={"help": "Adam learning rate", "min": 1e-8, "max": 1.0})
    load_size: int = field(default=64, metadata={"help": "training images are resized to this",
                                                 "min": 1, "max": 4096})
    n_epochs: int = field(default=30, metadata={"help": "epochs when --epochs is not given",
                                                "min": 1, "max": 100_000})
