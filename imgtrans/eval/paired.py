"""Per-pair metrics: L1, PSNR and SSIM (see :mod:`imgtrans.eval.metrics` for the
conventions) and, when its network is available, LPIPS; on files or on arrays."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from imgtrans.eval import metrics
from imgtrans.eval.pairs import array_to_tensor, read_rgb, read_target
from imgtrans.eval.types import EvalSettings

Perceptual = Callable[[torch.Tensor, torch.Tensor], float]
"""LPIPS of two (1, 3, H, W) float images in [0, 1]."""


def compare(output: torch.Tensor, target: torch.Tensor, settings: EvalSettings,
            names: Sequence[str] = ("l1", "psnr", "ssim"),
            lpips: Perceptual | None = None) -> dict[str, float]:
    """The requested metrics of one aligned pair ((1, 3, H, W) in [0, 1], same size).

    L1/PSNR/SSIM see the Y channel when ``settings.y_channel``; all see the border crop.
    LPIPS always compares RGB. Raises ``ValueError`` with a one-line reason (too small...).
    """
    values: dict[str, float] = {}
    a, b = output, target
    if settings.y_channel and any(n in names for n in ("l1", "psnr", "ssim")):
        a, b = metrics.rgb_to_y(a), metrics.rgb_to_y(b)
    a, b = metrics.crop_border(a, settings.crop_border), metrics.crop_border(b, settings.crop_border)
    for name, fn in (("l1", metrics.l1), ("psnr", metrics.psnr), ("ssim", metrics.ssim)):
        if name in names:
            values[name] = float(fn(a, b)[0])
    if "lpips" in names and lpips is not None:
        values["lpips"] = lpips(metrics.crop_border(output, settings.crop_border),
                                metrics.crop_border(target, settings.crop_border))
    return values


def _size(x: torch.Tensor) -> str:
    return f"{x.shape[-1]}x{x.shape[-2]}"


def aligned_pair(output_path: Path, target_path: Path, settings: EvalSettings
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Output and target read and brought to the same size (the target's half, its crop to
    a multiple of ``downscale``, and with ``resize_target`` a resize to the output)."""
    from imgtrans.core.preprocess import resize

    output, _ = read_rgb(output_path)
    target, levels = read_target(target_path, settings)
    if output.shape[-2:] != target.shape[-2:]:
        what = f"{settings.half} half of the target" if settings.half else "target"
        if not settings.resize_target:
            raise ValueError(f"size differs: output {_size(output)}, {what} {_size(target)} "
                             "(use --resize-target to resize the target to the output)")
        target = resize(target.float(), tuple(output.shape[-2:]), "bicubic", levels=levels)
        target = ((target.clamp(0.0, 1.0) * levels).round() / levels).double()
    return output, target


def score_pair(output_path: Path, target_path: Path, settings: EvalSettings,
               names: Sequence[str] = ("l1", "psnr", "ssim"),
               lpips: Perceptual | None = None) -> dict[str, float]:
    """The requested metrics for one pair of files; raises ``ImgtransError``/``ValueError``
    with a one-line reason when the pair cannot be compared."""
    output, target = aligned_pair(output_path, target_path, settings)
    return compare(output, target, settings, names, lpips)


def score_arrays(outputs: Sequence[np.ndarray], targets: Sequence[np.ndarray],
                 settings: EvalSettings | None = None,
                 names: Sequence[str] = ("l1", "psnr", "ssim")) -> list[dict[str, float]]:
    """Per-image metrics of uint8/uint16 (H, W[, C]) RGB(A) arrays against their targets
    (same sizes pairwise; the half and crop settings apply to the targets), for scripts
    that keep images in memory."""
    settings = settings or EvalSettings()
    rows = []
    for output, target in zip(outputs, targets, strict=True):
        from imgtrans.eval.pairs import crop_to_multiple, split_half

        out, _ = array_to_tensor(output)
        tgt = crop_to_multiple(split_half(array_to_tensor(target)[0], settings.half), settings.downscale)
        rows.append(compare(out, tgt, settings, names))
    return rows


def mean_rows(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    """The mean of each value over rows (all rows have the same keys)."""
    import math

    return {key: math.fsum(row[key] for row in rows) / len(rows) for key in rows[0]} if rows else {}
