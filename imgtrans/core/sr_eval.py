"""Super-resolution evaluation: downscale HR images, upscale them back with a translator
and with bicubic, and compare both to the HR originals (PSNR / SSIM, by default on the Y
channel with a border of ``scale`` pixels cropped, the usual protocol)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from imgtrans.core.metrics import crop_border, psnr, rgb_to_y, ssim
from imgtrans.core.readers import read_image


@dataclass
class SRScores:
    """Mean and per-file PSNR / SSIM of the model and of bicubic upscaling."""

    files: list[dict[str, Any]] = field(default_factory=list)

    def mean(self) -> dict[str, float]:
        keys = ("psnr", "ssim", "bicubic_psnr", "bicubic_ssim")
        return {k: float(np.mean([f[k] for f in self.files])) for k in keys}


def _to_tensor(pixels: np.ndarray) -> torch.Tensor:
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], 3, -1)
    top = 65535.0 if pixels.dtype == np.uint16 else 255.0
    return torch.from_numpy(pixels[..., :3].astype(np.float64) / top).permute(2, 0, 1)[None]


def downscale(hr: np.ndarray, scale: int) -> np.ndarray:
    """HR uint8 (H, W, 3) -> LR uint8 by antialiased bicubic, as training makes its inputs."""
    tensor = torch.from_numpy(hr).permute(2, 0, 1)[None].float() / 255.0
    size = (hr.shape[0] // scale, hr.shape[1] // scale)
    lr = F.interpolate(tensor, size=size, mode="bicubic", antialias=True, align_corners=False)
    return (lr.clamp(0, 1) * 255).round().to(torch.uint8)[0].permute(1, 2, 0).numpy()


def evaluate_sr(upscale: Callable[[np.ndarray], np.ndarray], hr_paths: list[Path], scale: int, *,
                border: int | None = None, y_channel: bool = True) -> SRScores:
    """Score ``upscale`` (uint8 (h, w, 3) -> uint8 (h*scale, w*scale, 3)) on ``hr_paths``."""
    border = scale if border is None else border
    scores = SRScores()
    for path in hr_paths:
        hr = read_image(path).pixels
        hr = np.repeat(hr[..., None], 3, -1) if hr.ndim == 2 else hr[..., :3]
        if hr.dtype != np.uint8:
            hr = (hr.astype(np.float64) / 257.0).round().astype(np.uint8)
        hr = np.ascontiguousarray(hr[: hr.shape[0] // scale * scale, : hr.shape[1] // scale * scale])
        lr = downscale(hr, scale)
        sr = upscale(lr)
        if sr.shape[:2] != hr.shape[:2]:
            raise ValueError(f"{path}: the translator returned {sr.shape[1]}x{sr.shape[0]} for a "
                             f"{lr.shape[1]}x{lr.shape[0]} input; expected x{scale} (check --opt outscale)")
        lr_t = torch.from_numpy(lr).permute(2, 0, 1)[None].double() / 255.0
        bicubic = F.interpolate(lr_t, size=hr.shape[:2], mode="bicubic", align_corners=False).clamp(0, 1)
        bicubic = (bicubic * 255).round() / 255
        row: dict[str, Any] = {"file": str(path)}
        for prefix, candidate in (("", _to_tensor(sr)), ("bicubic_", bicubic)):
            a, b = candidate, _to_tensor(hr)
            if y_channel:
                a, b = rgb_to_y(a), rgb_to_y(b)
            a, b = crop_border(a, border), crop_border(b, border)
            row[prefix + "psnr"] = float(psnr(a, b).item())
            row[prefix + "ssim"] = float(ssim(a, b).item())
        scores.files.append(row)
    return scores
