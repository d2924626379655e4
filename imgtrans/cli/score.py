"""``imgtrans score OUTPUTS TARGETS``: L1, PSNR and SSIM of translated images against
references, per file and on average."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from imgtrans.cli import app, ui

EXIT_SOME_FAILED = 3
_LISTED = 10  # unmatched files named one by one before the rest is counted


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
    """Score outputs against targets: L1, PSNR and SSIM per file and the mean.

    Images are compared as RGB in [0, 1] (gray is expanded, alpha dropped). SSIM is the
    standard one (11x11 Gaussian window, sigma 1.5, no padding).
    """
    from imgtrans.core.scoring import ScoreSettings
    from imgtrans.core.scoring import score as run_score
    from imgtrans.errors import UsageError

    with ui.exit_on_errors():
        if half is not None and half not in ("left", "right"):
            raise UsageError(f"--half {half!r}: choose left or right")
        settings = ScoreSettings(half=half, y_channel=y, crop_border=crop_border,  # type: ignore[arg-type]
                                 resize_target=resize_target, suffix=suffix)
        result = run_score(outputs, targets, settings, on_result=_print_failure)
        _warn_unmatched("output(s) without a target", result.unmatched_outputs)
        _warn_unmatched("target(s) without an output", result.unmatched_targets)
        _warn_unmatched("file(s) left out: same name with another extension", result.ambiguous)
        if report:
            result.write(report)
    if json_output:
        ui.out.print_json(result.to_json())
    else:
        ui.out.print(_table(result, settings, per_file))
    if result.failed:
        ui.err.print(f"{len(result.failed)} of {len(result.files)} pair(s) could not be scored",
                     style="red", highlight=False)
        raise typer.Exit(EXIT_SOME_FAILED)


def _print_failure(item) -> None:
    if not item.ok:
        ui.err.print(f"failed: {item.name}: {item.error}", style="red", highlight=False, markup=False)


def _warn_unmatched(what: str, files: list[str]) -> None:
    if not files:
        return
    ui.err.print(f"warning: {len(files)} {what}:", style="yellow", highlight=False)
    for name in files[:_LISTED]:
        ui.err.print(f"  {name}", highlight=False, markup=False)
    if len(files) > _LISTED:
        ui.err.print(f"  ... and {len(files) - _LISTED} more (see --json or --report)", highlight=False)


def _fmt_psnr(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:.2f}"


def _table(result, settings, per_file: bool) -> Table:
    parts = ["Y (BT.601)" if settings.y_channel else "RGB"]
    if settings.half:
        parts.append(f"target {settings.half} half")
    if settings.crop_border:
        parts.append(f"crop {settings.crop_border}")
    if settings.resize_target:
        parts.append("target resized")
    table = Table(title="imgtrans score", title_justify="left", caption=", ".join(parts),
                  caption_justify="left")
    table.add_column("file")
    for column in ("L1", "PSNR (dB)", "SSIM"):
        table.add_column(column, justify="right")
    if per_file:
        for item in result.files:
            if item.ok:
                table.add_row(ui.escape(item.name), f"{item.l1:.4f}", _fmt_psnr(item.psnr),
                              f"{item.ssim:.4f}")
            else:
                table.add_row(ui.escape(item.name), "[red]failed[/]", "", "")
        table.add_section()
    mean = result.mean()
    label = f"[bold]mean[/] ({len(result.scored)} file{'s' if len(result.scored) != 1 else ''})"
    if mean is None:
        table.add_row(label, "-", "-", "-")
    else:
        table.add_row(label, f"{mean['l1']:.4f}", _fmt_psnr(mean["psnr"]), f"{mean['ssim']:.4f}")
    return table
