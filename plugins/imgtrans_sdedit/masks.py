"""Masks for sdedit (white = edit, black = keep): reading them, finding the one of an input
in a mask folder, and fitting them to the input and to the model."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from imgtrans.plugin import IMAGE_EXTENSIONS, InputError, UsageError, convert_channels, read_image, resize


def read_mask(path: Path) -> torch.Tensor:
    """A mask file as float (1, 1, H, W) in [0, 1]: white = 1 = edit. Colour masks are read
    as BT.601 luma; an alpha channel is ignored."""
    decoded = read_image(Path(path))
    pixels = decoded.pixels.astype(np.float32) / float(np.iinfo(decoded.pixels.dtype).max)
    mask = torch.from_numpy(np.ascontiguousarray(pixels))
    if mask.ndim == 3:
        mask = convert_channels(mask[..., :3].permute(2, 0, 1)[None], 1)[0, 0]
    return mask[None, None].clamp(0.0, 1.0)


def mask_arguments(mask: str | None, device: Any) -> dict[str, Any]:
    """The translators' ``mask_file``/``mask_dir`` constructor arguments for the ``mask``
    option: nothing, a folder of masks (read per input), or one mask read now (a
    ``UsageError`` naming the file if it cannot be)."""
    if mask is None:
        return {}
    path = Path(mask).expanduser()
    if path.is_dir():
        return {"mask_dir": path}
    try:
        return {"mask_file": read_mask(path).to(device)}
    except InputError as exc:
        raise UsageError(f"mask {mask!r}: {exc.reason}") from None


def find_mask(mask_dir: Path, name: str) -> Path:
    """The mask in ``mask_dir`` for the input ``name`` (its path relative to the input root):
    ``mask_dir/<folders>/<stem>.<image ext>``, else ``mask_dir/<stem>.<image ext>``. Raises
    ``InputError`` when there is none or more than one."""
    rel = PurePosixPath(name)
    places = [mask_dir / rel.parent, mask_dir] if str(rel.parent) not in ("", ".") else [mask_dir]
    for place in places:
        if not place.is_dir():
            continue
        found = sorted(p for p in place.iterdir() if p.stem == rel.stem and p.is_file()
                       and p.suffix.lower().lstrip(".") in IMAGE_EXTENSIONS)
        if len(found) > 1:
            raise InputError(name, f"several masks match it: {', '.join(p.name for p in found)} in {place}")
        if found:
            return found[0]
    looked = " or ".join(f"{(p / rel.stem).as_posix()}.<ext>" for p in places)
    raise InputError(name, f"no mask for it: looked for {looked}")


def fit_mask(mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """A (1, 1, h, w) mask at ``size`` = (H, W), nearest neighbour."""
    return resize(mask, size, "nearest")


def model_mask(mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The mask for the diffusion loop at the model's resolution: 1 wherever the area-resized
    mask is above 0 (any overlap with the edit region), else 0."""
    if tuple(mask.shape[-2:]) != tuple(size):
        mask = F.interpolate(mask, size=size, mode="area")
    return (mask > 0).to(mask.dtype)
