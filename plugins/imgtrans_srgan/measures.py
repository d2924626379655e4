"""srgan's evaluation measure: the bicubic baseline, what super-resolution must beat.

``imgtrans eval OUTPUTS TARGETS --downscale 4 --metrics psnr,ssim,bicubic`` (or with
``--plugin srgan`` to make the outputs first) scores each target's bicubic upscaling from the
same low-resolution input the model received (``downscale`` of the target), under the same
settings (Y channel, border crop) as the model's outputs.
"""

from __future__ import annotations

from typing import Any

from imgtrans.plugin import Measure, UsageError, hookimpl


def bicubic_baseline(context: Any) -> dict[str, float]:
    """Mean PSNR/SSIM of bicubic upscaling against the targets (``bicubic_psnr``,
    ``bicubic_ssim``), per file too."""
    import numpy as np

    from imgtrans.plugin import bicubic_upscale, downscale

    scale = context.settings.downscale
    if not scale:
        raise UsageError("bicubic needs the factor the inputs were downscaled by: --downscale N")
    rows = []
    for item in context.items:
        target = context.read_target(item)
        hr = (target[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        upscaled = bicubic_upscale(downscale(hr, scale), hr.shape[:2])
        values = context.compare(upscaled, target)
        for key in ("psnr", "ssim"):
            context.add_file_value(item, f"bicubic_{key}", values[key])
        rows.append(values)
    if not rows:
        raise UsageError("bicubic: no output was scored against a target")
    return {f"bicubic_{key}": float(np.mean([row[key] for row in rows])) for key in ("psnr", "ssim")}


@hookimpl
def register_measures(register: Any) -> None:
    register(Measure(name="bicubic", compute=bicubic_baseline,
                     summary="PSNR/SSIM of bicubic upscaling from the same downscaled input "
                             "(the super-resolution baseline; needs --downscale)"))
