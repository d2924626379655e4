"""``imgtrans eval PLUGIN HR_IMAGES``: super-resolution quality against bicubic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from imgtrans.cli import app, ui


@app.command("eval")
def evaluate(
    plugin: Annotated[str, typer.Argument(help="A super-resolution translator, e.g. srgan.")],
    hr_images: Annotated[Path, typer.Argument(help="Folder of high-resolution images (or a test/ subfolder).")],
    weights: Annotated[Optional[str], typer.Option("--weights", "-w")] = None,
    opt: Annotated[Optional[list[str]], typer.Option("--opt", "-O", help="Translator option key=value.")] = None,
    scale: Annotated[Optional[int], typer.Option(help="Downscale factor (default: the model's scale).")] = None,
    crop_border: Annotated[Optional[int], typer.Option(help="Pixels cropped on every side (default: scale).")] = None,
    rgb: Annotated[bool, typer.Option("--rgb", help="Score RGB instead of the Y channel.")] = False,
    device: Annotated[str, typer.Option(envvar="IMGTRANS_DEVICE")] = "auto",
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON to stdout.")] = False,
) -> None:
    """Downscale HR images (bicubic, antialiased), upscale them with the translator and with
    bicubic, and report PSNR / SSIM of both against the originals."""
    from imgtrans.api import load
    from imgtrans.core.sr_eval import evaluate_sr
    from imgtrans.errors import NoInputsError, UsageError
    from imgtrans.training.datasets import list_images
    from imgtrans.translators.options import parse_option_pairs

    with ui.exit_on_errors():
        folder = hr_images / "test" if (hr_images / "test").is_dir() else hr_images
        paths = list_images(folder) if folder.is_dir() else [folder]
        if not paths or not paths[0].exists():
            raise NoInputsError(f"{hr_images}: no images")
        loaded = load(plugin, weights, device=device, options=parse_option_pairs(opt or []))
        factor = scale or loaded.runner.prep.output_scale or loaded.runner.prep.scale
        if factor != int(factor) or int(factor) < 2:
            raise UsageError(f"cannot evaluate at scale {factor}; pass --scale")
        try:
            scores = evaluate_sr(loaded, paths, int(factor), border=crop_border, y_channel=not rgb)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    mean = scores.mean()
    if json_output:
        ui.out.print_json(json.dumps({"scale": int(factor), "y_channel": not rgb, "mean": mean, "files": scores.files}))
        return
    from rich.table import Table

    table = Table(title=f"{plugin} x{int(factor)} on {len(paths)} image(s), "
                        f"{'RGB' if rgb else 'Y channel'}, border {crop_border if crop_border is not None else int(factor)}")
    for column in ("", "PSNR (dB)", "SSIM"):
        table.add_column(column, justify="right")
    table.add_row(plugin, f"{mean['psnr']:.2f}", f"{mean['ssim']:.4f}")
    table.add_row("bicubic", f"{mean['bicubic_psnr']:.2f}", f"{mean['bicubic_ssim']:.4f}")
    ui.out.print(table)
