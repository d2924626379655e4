"""``imgtrans score OUTPUTS TARGETS``: the paired metrics of ``imgtrans eval`` (L1, PSNR, SSIM),
kept as a short alias with the options it always had."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from imgtrans.cli import app, ui


@app.command()
def score(
    outputs: Annotated[Path, typer.Argument(help="Translated images: a folder (walked recursively) or a file.")],
    targets: Annotated[Path, typer.Argument(help="Reference images: a folder or a file, matched by relative path without extension.")],
    half: Annotated[Optional[str], typer.Option(help="Targets are side-by-side A|B pairs: compare with the left (A) or right (B) half, split at int(w/2).")] = None,
    y: Annotated[bool, typer.Option("--y", help="Compare the Y channel only (BT.601 YCbCr, as MATLAB's rgb2ycbcr), as super-resolution papers do.")] = False,
    crop_border: Annotated[int, typer.Option(min=0, help="Ignore this many pixels on every side (super-resolution: the scale).")] = 0,
    resize_target: Annotated[bool, typer.Option("--resize-target", help="Resize a target whose size differs from its output (antialiased bicubic) instead of failing the pair.")] = False,
    suffix: Annotated[str, typer.Option(help="Text at the end of output names to ignore when matching (e.g. convert's --suffix, or _fake_B).")] = "",
    per_file: Annotated[bool, typer.Option("--per-file", help="Show a row per file, not just the mean.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON to stdout (infinite PSNR, i.e. identical images, is null).")] = False,
    report: Annotated[Optional[Path], typer.Option(help="Write the JSON result (settings, per-file scores, mean) to this file.")] = None,
) -> None:
    """L1, PSNR and SSIM of outputs against targets: ``imgtrans eval OUTPUTS TARGETS`` with its
    default metrics (see ``imgtrans eval --help`` for LPIPS, FID, KID and plugin measures)."""
    from imgtrans.api import DEFAULT_METRICS, EvalSettings
    from imgtrans.cli.evaluate import run_evaluation
    from imgtrans.errors import UsageError

    with ui.exit_on_errors():
        if half is not None and half not in ("left", "right"):
            raise UsageError(f"--half {half!r}: choose left or right")
        settings = EvalSettings(half=half, y_channel=y, crop_border=crop_border,  # type: ignore[arg-type]
                                resize_target=resize_target, suffix=suffix)
    run_evaluation(outputs, targets, settings, list(DEFAULT_METRICS), measures={},
                   per_file=per_file, json_output=json_output, report=report, title="imgtrans score")
