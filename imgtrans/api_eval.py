"""The Python API for evaluation: measure outputs against targets (paired metrics, FID/KID,
plugin measures), optionally making the outputs with a translator first. Re-exported by
:mod:`imgtrans.api`; ``imgtrans eval`` and ``imgtrans score`` are built on it.

Importing this module does not import torch; the functions do.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from imgtrans.eval.types import DEFAULT_METRICS, EvalSettings, Measure, parse_metrics

if TYPE_CHECKING:
    from imgtrans.eval.report import EvalReport, FileScore

__all__ = ["DEFAULT_METRICS", "EvalSettings", "Measure", "parse_metrics", "eval_measures",
           "generate_outputs", "evaluate", "write_eval_html", "psnr_y"]


def eval_measures() -> dict[str, Measure]:
    """The measures plugins add to ``imgtrans eval`` (bicubic, object_accuracy, diversity...),
    by name; pass them to :func:`parse_metrics` and :func:`evaluate`."""
    from imgtrans.plugins.measures import get_measures

    return get_measures()


def generate_outputs(loaded: Any, outputs: str | Path, settings: EvalSettings, *,
                     targets: str | Path | None = None,
                     inputs: str | Path | None = None) -> list[Path]:
    """Translate with ``loaded`` (an :func:`imgtrans.api.load` result) into the folder
    ``outputs``; returns the files written. Inputs come from ``inputs``, else from the
    targets' other half (``settings.half``), else from the targets downscaled
    (``settings.downscale``, antialiased bicubic)."""
    from imgtrans.eval.generate import generate_outputs as generate

    return generate(loaded, Path(outputs), settings,
                    targets=None if targets is None else Path(targets),
                    inputs=None if inputs is None else Path(inputs))


def evaluate(outputs: str | Path, targets: str | Path | None = None,
             settings: EvalSettings | None = None, *,
             metrics: Sequence[str] = DEFAULT_METRICS, inputs: str | Path | None = None,
             measures: dict[str, Measure] | None = None, feature_weights: Path | None = None,
             device: str = "auto",
             on_result: Callable[[FileScore], None] | None = None) -> EvalReport:
    """Evaluate the images in ``outputs`` (a folder, walked recursively, or a file) against
    ``targets``, matched by relative path without extension. ``metrics``: l1, psnr, ssim,
    lpips (per pair), fid, kid (between the sets) and names of ``measures``. Images are
    compared as RGB in [0, 1]. ``device``: "auto", "cpu", "cuda"...; ``on_result`` gets each
    pair's score as it is done. A pair that cannot be scored is in the report with its
    error; a metric that cannot run is in ``report.unavailable``."""
    from imgtrans.core.device import resolve_device
    from imgtrans.eval.run import evaluate as run

    return run(outputs, targets, settings, metrics=metrics, inputs=inputs, measures=measures,
               feature_weights=feature_weights, device=str(resolve_device(device)),
               on_result=on_result)


def write_eval_html(report: EvalReport, settings: EvalSettings, path: str | Path) -> None:
    """Write ``report`` as an HTML page: the figures, a per-file histogram and example
    output/target pairs."""
    from imgtrans.eval.html import write_html

    write_html(report, settings, Path(path))


def psnr_y(image: Any, truth: Any, border: int) -> float:
    """PSNR in dB of uint8 ``image`` (H, W[, C] numpy, RGB or gray) against ``truth`` on the
    BT.601 Y channel with ``border`` pixels cropped from every side: the protocol of
    ``imgtrans eval --y --crop-border``."""
    import numpy as np
    import torch

    from imgtrans.core.contact_sheet import to_rgb8
    from imgtrans.eval.metrics import crop_border, psnr, rgb_to_y

    def y(pixels: Any) -> Any:
        rgb = torch.from_numpy(to_rgb8(np.asarray(pixels)).astype(np.float64) / 255.0)
        return crop_border(rgb_to_y(rgb.permute(2, 0, 1)[None]), border)

    return float(psnr(y(image), y(truth)).item())
