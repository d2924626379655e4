"""Tensor helpers shared by the layout2im networks, translator, training and quality
measures: flat object batches (``obj_to_img``, box masks, crops, box outlines; conventions in
:mod:`imgtrans_layout2im.networks`) and the ImageNet-normalised value range the generator
works in."""

from __future__ import annotations

import itertools
from typing import Iterable, Literal, Sequence

import torch
import torch.nn.functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def object_counts(obj_to_img: torch.Tensor, num_objects: int | None = None) -> list[int]:
    """Objects per image from ``obj_to_img``, after checking it is contiguous and in order.

    The reference ConvLSTM splits the flat object list wherever ``obj_to_img`` changes, so a
    batch like ``[0, 1, 0]`` or ``[0, 2]`` would silently give wrong images; here it is a
    ``ValueError``. ``num_objects`` checks the length too.
    """
    if obj_to_img.dim() != 1 or obj_to_img.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"obj_to_img must be a 1-D integer tensor, got {obj_to_img.dtype} "
                         f"of shape {tuple(obj_to_img.shape)}")
    if num_objects is not None and obj_to_img.numel() != num_objects:
        raise ValueError(f"obj_to_img has {obj_to_img.numel()} entries for {num_objects} "
                         f"objects")
    values = obj_to_img.tolist()
    if not values:
        raise ValueError("no objects: every image needs at least one")
    if values[0] != 0 or any(b - a not in (0, 1) for a, b in itertools.pairwise(values)):
        shown = values if len(values) <= 20 else values[:20] + ["..."]
        raise ValueError(f"obj_to_img must list the objects of image 0 first, then image 1, "
                         f"and so on (contiguous, in order, every image with at least one "
                         f"object); got {shown}")
    counts = [0] * (values[-1] + 1)
    for v in values:
        counts[v] += 1
    return counts


def crop_boxes(images: torch.Tensor, boxes: torch.Tensor, obj_to_img: torch.Tensor,
               size: int = 32, align_corners: bool = True) -> torch.Tensor:
    """Differentiable bilinear crops ``(O, C, size, size)`` of ``images[obj_to_img[o]]`` inside
    ``boxes[o]`` (``(x0, y0, x1, y1)`` in [0, 1]).

    As sg2im's ``crop_bbox_batch`` that the reference uses: ``size`` sample points evenly
    spaced from edge ``x0`` to edge ``x1`` inclusive (likewise y), mapped to grid_sample
    coordinates ``2 * v - 1``, bilinear, zeros outside the image. ``align_corners=True``
    reproduces the reference's PyTorch 1.0 behaviour (grid -1 and 1 are the centres of the
    first and last pixel); newer PyTorch defaults to False.
    """
    if boxes.dim() != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must be (O, 4), got {tuple(boxes.shape)}")
    if obj_to_img.shape != boxes.shape[:1]:
        raise ValueError(f"obj_to_img {tuple(obj_to_img.shape)} does not match boxes "
                         f"{tuple(boxes.shape)}")
    count = boxes.shape[0]
    steps = torch.linspace(0.0, 1.0, size, device=boxes.device, dtype=images.dtype)
    boxes = boxes.to(images.dtype)
    x0, y0, x1, y1 = boxes.unbind(1)
    xs = (x0[:, None] + (x1 - x0)[:, None] * steps) * 2 - 1  # (O, size)
    ys = (y0[:, None] + (y1 - y0)[:, None] * steps) * 2 - 1
    grid = torch.stack([xs[:, None, :].expand(count, size, size),
                        ys[:, :, None].expand(count, size, size)], dim=3)
    return F.grid_sample(images[obj_to_img], grid, mode="bilinear", padding_mode="zeros",
                         align_corners=align_corners)


def masks_from_boxes(boxes: torch.Tensor, size: int) -> torch.Tensor:
    """Box masks (O, 1, size, size) of boxes (O, 4) ``(x0, y0, x1, y1)`` in [0, 1]: ones in
    rows ``round(y0*size)`` to ``max(that + 1, round(y1*size))`` (exclusive; round half to
    even on ``boxes.double()``, as Python's ``round`` in the reference COCO loader), columns
    alike, clipped to the grid; zeros elsewhere. The one drawing of box masks, for layouts
    (``layouts.box_masks``) and training batches. dtype: ``boxes``' when floating, else
    float32."""
    scaled = torch.round(boxes.double() * size)
    x0, y0, x1, y1 = scaled.unbind(1)
    x1, y1 = torch.maximum(x1, x0 + 1), torch.maximum(y1, y0 + 1)
    x0, y0, x1, y1 = (v.clamp(0, size) for v in (x0, y0, x1, y1))
    grid = torch.arange(size, device=boxes.device, dtype=torch.float64)
    rows = (grid[None, :] >= y0[:, None]) & (grid[None, :] < y1[:, None])
    cols = (grid[None, :] >= x0[:, None]) & (grid[None, :] < x1[:, None])
    return (rows[:, :, None] & cols[:, None, :]).to(boxes.dtype if boxes.is_floating_point()
                                                    else torch.float32)[:, None]


def box_pixels(box: Sequence[float], height: int, width: int) -> tuple[int, int, int, int]:
    """The pixels ``(x0, y0, x1, y1)`` (inclusive) where the edges of ``box`` (fractions in
    [0, 1]) are outlined on a ``height`` x ``width`` image: ``round(v * (side - 1))``, so 0
    and 1 land on the first and last pixel, clipped to the image."""
    sides = (width, height, width, height)
    return tuple(min(max(int(round(v * (n - 1))), 0), n - 1)  # type: ignore[return-value]
                 for v, n in zip(box, sides))


def outline_boxes(images: torch.Tensor, boxes: Iterable[Sequence[float]],
                  obj_to_img: Iterable[int], colours: Iterable[Sequence[int]]) -> torch.Tensor:
    """A copy of ``images`` (N, 3, H, W) in [0, 1] with each object's box outlined, 1 pixel
    wide at :func:`box_pixels`, in its colour (8-bit RGB), on image ``obj_to_img[o]``. Boxes
    are drawn in order, later ones over earlier ones."""
    out = images.clone()
    height, width = images.shape[-2:]
    for box, owner, colour in zip(boxes, obj_to_img, colours):
        x0, y0, x1, y1 = box_pixels(box, height, width)
        value = out.new_tensor(colour)[:, None] / 255
        out[owner, :, y0, x0:x1 + 1] = value
        out[owner, :, y1, x0:x1 + 1] = value
        out[owner, :, y0:y1 + 1, x0] = value
        out[owner, :, y0:y1 + 1, x1] = value
    return out


def imagenet_normalize(images: torch.Tensor) -> torch.Tensor:
    """[0, 1] RGB (B, 3, H, W) to the model's ImageNet-normalised values."""
    mean = images.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = images.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (images - mean) / std


def to_unit_range(images: torch.Tensor,
                  mode: Literal["reference", "clamp"] = "reference") -> torch.Tensor:
    """Generator output (ImageNet-normalised, unbounded) to [0, 1] RGB.

    Both modes first undo the normalisation (``x * std + mean``). Then:

    * ``"reference"``: min-max rescale each image over all its channels and pixels to
      exactly [0, 1], as the reference ``test.py`` saves images (``imagenet_deprocess_batch``
      with ``rescale=True``). Contrast is stretched per image, so the same layout can look
      different in brightness across samples. A constant image (where the reference divides
      by zero) gives 0. The reference then writes ``uint8(x * 255)`` truncating, not
      rounding.
    * ``"clamp"``: clip to [0, 1]; colours keep their absolute meaning (what the training
      L1 loss compares against), values outside the range saturate.
    """
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"expected (B, 3, H, W) images, got {tuple(images.shape)}")
    mean = images.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = images.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
    x = images * std + mean
    if mode == "clamp":
        return x.clamp(0.0, 1.0)
    if mode != "reference":
        raise ValueError(f"mode must be 'reference' or 'clamp', not {mode!r}")
    flat = x.flatten(1)
    lo = flat.min(dim=1).values.view(-1, 1, 1, 1)
    hi = flat.max(dim=1).values.view(-1, 1, 1, 1)
    span = hi - lo
    return torch.where(span > 0, (x - lo) / span.clamp_min(torch.finfo(x.dtype).tiny),
                       torch.zeros_like(x))
