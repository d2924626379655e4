"""Loading SR weights (for inference and for training's ``init``) and running the network.

Weights are a published checkpoint file (any wrapper or naming, see ``layout``) or an
imgtrans checkpoint or run folder written by ``imgtrans train``.
"""

from __future__ import annotations

import torch
from torch import nn

from imgtrans.plugin import ResolvedWeights, UsageError, WeightsError, build_network, convert_channels
from imgtrans_srgan.archs import SRConfig
from imgtrans_srgan.layout import load_sr_model

TRANSLATOR = "srgan"


def load_sr_weights(weights: ResolvedWeights, act_type: str | None) -> tuple[nn.Module, SRConfig]:
    """(network in eval mode, SRConfig) from resolved weights: an imgtrans checkpoint (its
    saved configuration) or a published checkpoint file (architecture read off the keys)."""
    if weights.kind == "checkpoint":
        weights.checkpoint.expect(TRANSLATOR)
        saved, state = weights.network("G")
        config = SRConfig.from_dict(saved)
        return build_network(config, state), config
    if weights.kind == "folder":
        raise WeightsError(f"{weights.path}: a folder that is not an imgtrans checkpoint or run "
                           f"folder; srgan needs a checkpoint file (.pth/.safetensors)")
    return load_sr_model(weights.state_dict(), act_type=act_type)


def place(net: nn.Module, device: torch.device, precision: str) -> tuple[nn.Module, torch.dtype]:
    """The network on ``device`` in the dtype ``precision`` asks for (fp16 is CUDA-only)."""
    half = precision == "fp16" or (precision == "auto" and device.type == "cuda")
    if half and device.type != "cuda":
        raise UsageError("precision=fp16 needs a CUDA device; on CPU use fp32")
    dtype = torch.float16 if half else torch.float32
    return net.to(device=device, dtype=dtype), dtype


def upscale(net: nn.Module, images: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(B, 3|4, H, W) in [0, 1] -> (B, 3|4, H*s, W*s), the whole batch in one forward (the
    networks have no batch statistics in eval mode). Alpha (4th channel) goes through the
    network as a gray image in a second forward, as Real-ESRGAN does, and comes back as
    BT.601 gray."""
    rgb = net(images[:, :3].to(dtype)).float()
    if images.shape[1] == 3:
        return rgb
    gray = images[:, 3:4].expand(-1, 3, -1, -1).contiguous().to(dtype)
    alpha = net(gray).float().clamp(0.0, 1.0)
    alpha = convert_channels(alpha, 1)
    return torch.cat([rgb, alpha], dim=1)
