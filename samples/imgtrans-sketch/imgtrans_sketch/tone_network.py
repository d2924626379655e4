"""The ``tone`` network: a colour grade learned per pixel.

Imports torch at the top, so only ``ToneTranslator.load`` and the training task import this
module, never the plugin hook.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import torch
from torch import nn

from imgtrans.plugin import NetworkConfig


@dataclass(frozen=True)
class ToneConfig(NetworkConfig):
    """What rebuilds the network; saved in each checkpoint's ``imgtrans.json``."""

    width: int = 16

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Any]) -> "ToneConfig":
        """For a bare weights file, which has no ``imgtrans.json``: read the width off it."""
        return cls(width=int(state["tone_hidden.weight"].shape[0]))

    def build(self) -> "ToneNet":
        """The network (what ``imgtrans.plugin.build_network`` calls)."""
        return ToneNet(self)

    def describe(self) -> str:
        return f"tone network ({self.width} hidden units)"


class ToneNet(nn.Module):
    """``x + mlp(x)`` on each pixel (1x1 convolutions 3 -> width -> 3).

    The residual and the zero-initialised output layer make an untrained network the
    identity, so training only has to learn how the look differs from the photo. Each pixel
    is graded alone: results never depend on batching or tiling. The layer names are
    distinctive so that ``ToneTranslator.recognises`` claims no other network's weights.
    """

    def __init__(self, config: ToneConfig) -> None:
        super().__init__()
        self.tone_hidden = nn.Conv2d(3, config.width, kernel_size=1)
        self.tone_out = nn.Conv2d(config.width, 3, kernel_size=1)
        nn.init.zeros_(self.tone_out.weight)
        nn.init.zeros_(self.tone_out.bias)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return images + self.tone_out(torch.tanh(self.tone_hidden(images)))
