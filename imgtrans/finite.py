"""One finiteness check for checkpoints and translator outputs: a NaN or infinity would
otherwise become black or saturated pixels written with exit status 0."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def all_finite(tensor: "torch.Tensor") -> bool:
    """True when no element is NaN or infinite. One reduction and no copy in the usual case
    (a NaN or infinity makes the sum non-finite); only a sum that overflows on huge but
    finite values needs the element-wise check, which allocates a mask as big as the tensor."""
    import torch

    return bool(torch.isfinite(tensor.sum())) or bool(torch.isfinite(tensor).all())
