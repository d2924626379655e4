"""On-device preparation of decoded images for a translator, and the way back.

Everything here works on a batch of images of one size. The translator's
:class:`~imgtrans.translators.base.Preprocessing` says what it needs; :func:`prepare` does
it and returns what :func:`finish` needs to undo it. Channel order is RGB(A); float values
are in [0, 1] unless a function says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import torch
import torch.nn.functional as F

from imgtrans.core.pil_resize import pil_resize
from imgtrans.translators.base import Preprocessing

# ITU-R BT.601 luma, the weights OpenCV and PIL use for RGB -> gray.
_LUMA = (0.299, 0.587, 0.114)
ArrayOrTensor = TypeVar("ArrayOrTensor", np.ndarray, torch.Tensor)


@dataclass
class Prepared:
    """A batch ready for ``translate`` plus what is needed to undo the preparation."""

    images: torch.Tensor
    height: int
    width: int
    alpha: torch.Tensor | None
    gray_input: bool


def to_float_batch(arrays: list[np.ndarray], bit_depth: int, device: torch.device) -> torch.Tensor:
    """Stack same-size HWC (or HW) uint8/uint16 arrays into a float (B, C, H, W) batch in [0, 1].

    The integer data is moved to the device and laid out as (B, C, H, W) first (fewer bytes to
    copy), then converted in place: one float copy of the batch, not three.
    """
    stacked = np.stack([a if a.ndim == 3 else a[..., None] for a in arrays])
    if stacked.dtype == np.uint16:
        stacked = stacked.astype(np.int32)  # torch's uint16 supports too few ops
    tensor = torch.from_numpy(stacked).to(device).permute(0, 3, 1, 2).contiguous()
    return tensor.float().div_(65535.0 if bit_depth == 16 else 255.0)


def prepare(batch: torch.Tensor, prep: Preprocessing, levels: int | None = None) -> Prepared:
    """Match channels, size and value range to ``prep``.

    ``batch``: float (B, C, H, W) in [0, 1], C in {1, 3, 4}; ``levels`` is 255 or 65535 when
    the batch was decoded from integers (see :func:`resize`). Returns a :class:`Prepared` whose
    ``images`` have ``prep.channels`` channels, the size the policy asks for, and values in
    ``prep.value_range``.
    """
    batch = prep.select(batch)
    _, channels, height, width = batch.shape
    alpha = None
    if prep.channels == 4:
        images = convert_channels(batch, 4)  # always RGBA; opaque alpha added if missing
    else:
        if channels == 4:
            batch, alpha = batch[:, :3], batch[:, 3:]
        images = convert_channels(batch, prep.channels)
        if alpha is not None and prep.alpha == "pass":
            images, alpha = torch.cat([images, alpha], dim=1), None
    images = _fit_size(images, prep, levels)
    low, high = prep.value_range
    if (low, high) != (0.0, 1.0):
        # (x - mean) / std, the arithmetic of torchvision's Normalize that references use
        images = (images - (-low / (high - low))) / (1.0 / (high - low))
    return Prepared(images.contiguous(), height, width, alpha, channels == 1)


def pair_half(images: ArrayOrTensor, half: str, axis: int = -1) -> ArrayOrTensor:
    """The ``"left"`` (A) or ``"right"`` (B) half of side-by-side A|B images (numpy array or
    tensor), ``axis`` being the width: split at ``W // 2``, as the reference's aligned
    dataset, so an odd width gives B the extra column. A view, not a copy. Raises
    ``ValueError`` for an image narrower than 2 pixels or another ``half``."""
    if half not in ("left", "right"):
        raise ValueError(f"half must be 'left' or 'right', not {half!r}")
    width = images.shape[axis]
    if width < 2:
        raise ValueError(f"cannot split a {width}-pixel-wide image into A|B halves")
    index: list[slice] = [slice(None)] * images.ndim
    index[axis] = slice(None, width // 2) if half == "left" else slice(width // 2, None)
    return images[tuple(index)]


def finish(output: torch.Tensor, prepared: Prepared, prep: Preprocessing, clamp: bool = True) -> torch.Tensor:
    """Undo :func:`prepare` on a translator's output: back to [0, 1], the input's size times
    ``prep.scale``, alpha re-attached, gray kept gray when the input was gray and
    ``prep.keep_gray`` is set. Returns float (B, C, H*s, W*s), clamped to [0, 1]; with
    ``clamp=False`` only where the gray conversion needs it (for a caller that quantizes
    next, which clamps: one pass over the result fewer)."""
    output = _unit_range(output, prep)
    out_h, out_w = prep.result_size(prepared.height, prepared.width)
    if prep.resize == "pad":
        output = output[:, :, :out_h, :out_w]
    elif output.shape[-2:] != (out_h, out_w):
        output = resize(output, (out_h, out_w), prep.interpolation)
    output = _clamp_gray(output, prepared, prep, clamp)
    if prepared.alpha is not None and output.shape[1] in (1, 3):
        alpha = prepared.alpha
        if alpha.shape[-2:] != (out_h, out_w):
            alpha = resize(alpha, (out_h, out_w), prep.interpolation).clamp(0.0, 1.0)
        output = torch.cat([convert_channels(output, 3), alpha], dim=1)
    return output


def finish_pixels(output: torch.Tensor, prepared: Prepared, prep: Preprocessing) -> torch.Tensor:
    """The per-pixel part of :func:`finish` (range, clamp, gray), for results assembled tile
    by tile; only valid when ``finish`` would not resize or re-attach alpha."""
    return _clamp_gray(_unit_range(output, prep), prepared, prep)


def _unit_range(output: torch.Tensor, prep: Preprocessing) -> torch.Tensor:
    low, high = prep.value_range
    return output if (low, high) == (0.0, 1.0) else (output - low) / (high - low)


def _clamp_gray(output: torch.Tensor, prepared: Prepared, prep: Preprocessing,
                clamp: bool = True) -> torch.Tensor:
    gray = prepared.gray_input and prep.keep_gray and output.shape[1] == 3
    if clamp or gray:  # gray of clamped RGB, as the result would be read back
        output = output.clamp(0.0, 1.0)
    return convert_channels(output, 1) if gray else output


def convert_channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    """Gray <-> RGB <-> RGBA. Adding alpha makes it opaque; dropping it just discards it.
    RGB -> gray is the BT.601 luma ``0.299 R + 0.587 G + 0.114 B``, summed in that order (the
    weights of OpenCV, PIL and Real-ESRGAN): the one RGB -> gray of imgtrans and its plugins."""
    have = images.shape[1]
    if have == channels:
        return images
    if channels == 1:
        r, g, b = images[:, 0:1], images[:, 1:2], images[:, 2:3]
        return _LUMA[0] * r + _LUMA[1] * g + _LUMA[2] * b
    rgb = images.expand(-1, 3, -1, -1) if have == 1 else images[:, :3]
    if channels == 3:
        return rgb
    alpha = images[:, 3:4] if have == 4 else torch.ones_like(rgb[:, :1])
    return torch.cat([rgb, alpha], dim=1)


def resize(images: torch.Tensor, size: tuple[int, int], interpolation: str = "bicubic",
           levels: int | None = None) -> torch.Tensor:
    """Resize a float (B, C, H, W) batch to ``size`` = (H, W).

    With ``levels=255`` (the batch was decoded from 8-bit pixels), bicubic and bilinear are
    PIL's ``Image.resize``, bit for bit (:mod:`imgtrans.core.pil_resize`), which is what
    reference implementations use. Otherwise they are torch's antialiased kernels, which stay
    within about one 8-bit level of PIL (kornia's resize differs by up to 14 levels).
    """
    size = (int(size[0]), int(size[1]))
    if tuple(images.shape[-2:]) == size:
        return images
    if interpolation in ("bicubic", "bilinear"):
        if levels == 255:
            return pil_resize(images, size, interpolation)
        return F.interpolate(images, size=size, mode=interpolation, align_corners=False,
                             antialias=True)
    if interpolation == "area":
        return F.interpolate(images, size=size, mode="area")
    if interpolation == "nearest":
        return F.interpolate(images, size=size, mode="nearest-exact")
    raise ValueError(f"unknown interpolation {interpolation!r}")


def pad_to_multiple(images: torch.Tensor, multiple: int, mode: str = "reflect") -> torch.Tensor:
    """Pad right and bottom so H and W are multiples of ``multiple``."""
    height, width = images.shape[-2:]
    return pad_right_bottom(images, (-height % multiple, -width % multiple), mode)


def pad_right_bottom(images: torch.Tensor, pad: int | tuple[int, int], mode: str) -> torch.Tensor:
    """Pad float (B, C, H, W) ``images`` by ``pad`` = (bottom, right) pixels (or the same on
    both) with ``mode`` (``"reflect"``, ``"replicate"``, ``"constant"``). Reflection needs the pad
    to be smaller than the side; beyond that the border is replicated (reflect as far as
    possible first, so small pads match the usual result)."""
    pad_h, pad_w = (pad, pad) if isinstance(pad, int) else pad
    while pad_h or pad_w:
        if mode == "reflect":
            step_h, step_w = min(pad_h, images.shape[-2] - 1), min(pad_w, images.shape[-1] - 1)
            if step_h == 0 and step_w == 0:
                return F.pad(images, (0, pad_w, 0, pad_h), mode="replicate")
        else:
            step_h, step_w = pad_h, pad_w
        images = F.pad(images, (0, step_w, 0, step_h), mode=mode)
        pad_h, pad_w = pad_h - step_h, pad_w - step_w
    return images


def quantize(images: torch.Tensor, bit_depth: int, clamped: bool = False) -> np.ndarray:
    """Float (B, C, H, W) in [0, 1] -> integer (B, H, W, C) numpy, rounding to nearest
    (truncation would darken the image by half a level on average). ``clamped``: the caller
    knows the values are in [0, 1] already (``finish`` clamps), which saves a pass."""
    top = 65535.0 if bit_depth == 16 else 255.0
    values = (images.mul(top) if clamped else images.clamp(0.0, 1.0).mul_(top)).round_()  # one new tensor
    if bit_depth != 16:  # torch converts on the device and in parallel; a quarter of the copy back
        return values.to(torch.uint8).permute(0, 2, 3, 1).contiguous().cpu().numpy()
    return values.permute(0, 2, 3, 1).cpu().numpy().astype(np.uint16)


def _fit_size(images: torch.Tensor, prep: Preprocessing, levels: int | None) -> torch.Tensor:
    if prep.resize == "pad":
        images = prep.pad_input(images)
        height, width = images.shape[-2:]
        target = prep.fitted_size(height, width)
        return pad_right_bottom(images, (target[0] - height, target[1] - width), prep.pad_mode)
    return resize(images, prep.fitted_size(*images.shape[-2:]), prep.interpolation, levels)
