"""Running a loaded zoo model on a batch.

The model is called through spandrel's descriptor, exactly as spandrel's own users call it
(pad to the size requirements, forward, clamp to [0, 1], crop), on the whole batch at once
(one image at a time where spandrel's call takes one; in the memory format ``layout`` chose).
An RGBA batch's alpha goes through the network as a gray image in a second call and comes
back as BT.601 gray, as srgan (and Real-ESRGAN) do. ``--precision fast`` autocasts only
models spandrel marks as supporting that dtype; the others run exact, and say so once.
"""

from __future__ import annotations

import contextlib
import logging

import torch

from imgtrans.plugin import TranslateContext, convert_channels, fast_scope
from imgtrans_zoo.models import ZooModel

log = logging.getLogger(__name__)
_warned: set[tuple[str, str]] = set()


def precision_scope(model: ZooModel, context: TranslateContext) -> contextlib.AbstractContextManager:
    """``fast_scope(context)`` when the model supports the fast dtype (spandrel's
    ``supports_bfloat16`` / ``supports_half``), else exact fp32 (logged once per model kind)."""
    dtype = context.precision
    if dtype is None:
        return contextlib.nullcontext()
    flag = {torch.bfloat16: "supports_bfloat16", torch.float16: "supports_half"}.get(dtype)
    if flag is not None and model.facts.get(flag):
        return fast_scope(context)
    key = (model.architecture, str(dtype))
    if key not in _warned:
        _warned.add(key)
        log.warning("--precision fast: spandrel marks %s as not supporting %s; running exact (fp32)",
                    model.architecture, str(dtype).replace("torch.", ""))
    return contextlib.nullcontext()


def run(model: ZooModel, images: torch.Tensor, context: TranslateContext) -> torch.Tensor:
    """float (B, C_in [+ 1 alpha], H, W) in [0, 1] -> (B, C_out [+ 1], H * s, W * s) in [0, 1],
    fp32. C_in is the model's input channels; an extra last channel is alpha."""
    channels = model.facts["input_channels"]
    with precision_scope(model, context):
        out = forward(model, images[:, :channels]).float()
        if images.shape[1] == channels:
            return out
        context.check_stop()
        gray = images[:, channels:channels + 1].expand(-1, channels, -1, -1)
        alpha = forward(model, gray).float().clamp(0.0, 1.0)
    alpha = convert_channels(alpha, 1) if alpha.shape[1] == 3 else alpha[:, :1]
    return torch.cat([out, alpha], dim=1)


def forward(model: ZooModel, images: torch.Tensor) -> torch.Tensor:
    """spandrel's call on ``images`` in the model's memory format (``layout``), one image at a
    time for architectures whose call takes a single image."""
    from imgtrans_zoo.layout import ONE_IMAGE_PER_CALL

    fmt = model.memory_format or torch.contiguous_format
    if images.shape[0] > 1 and model.facts["architecture_id"] in ONE_IMAGE_PER_CALL:
        return torch.cat([model.descriptor(image[None].contiguous(memory_format=fmt)) for image in images])
    return model.descriptor(images.contiguous(memory_format=fmt))
