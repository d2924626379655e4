"""``imgtrans eval OUTPUTS [TARGETS]``: measure a translator's outputs against targets (paired
metrics, FID/KID between the sets, plugin measures), optionally making the outputs first."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from imgtrans.cli import app, ui

EXIT_SOME_FAILED = 3
_LISTED = 10  # unmatched files named one by one before the rest is counted


@app.command("eval")
def evaluate(
    outputs: Annotated[Path, typer.Argument(help="Translated images: a folder (walked recursively) or a file. With --plugin, the folder the outputs are written to first.")],
    targets: Annotated[Optional[Path], typer.Argument(help="Reference images: a folder or a file, matched by relative path without extension.")] = None,
    metrics: Annotated[Optional[str], typer.Option("--metrics", "-m", help="Comma-separated: l1, psnr, ssim, lpips (per pair), fid, kid (between the sets), or a plugin measure (bicubic, object_accuracy, diversity...). Default l1,psnr,ssim.")] = None,
    half: Annotated[Optional[str], typer.Option(help="Targets are side-by-side A|B pairs: compare with the left (A) or right (B) half, split at int(w/2). With --plugin and no --inputs, the other half is the input.")] = None,
    y: Annotated[Optional[bool], typer.Option("--y/--rgb", help="Compare the Y channel only (BT.601, as MATLAB's rgb2ycbcr), or RGB. Default: Y with --downscale (the super-resolution protocol), else RGB.", show_default=False)] = None,
    crop_border: Annotated[Optional[int], typer.Option(min=0, help="Ignore this many pixels on every side. Default: the --downscale factor, else 0.", show_default=False)] = None,
    downscale: Annotated[Optional[int], typer.Option(min=2, help="The inputs are the targets downscaled by this factor (antialiased bicubic): super-resolution. Targets are cropped to a multiple of it.")] = None,
    resize_target: Annotated[bool, typer.Option("--resize-target", help="Resize a target whose size differs from its output (antialiased bicubic) instead of failing the pair.")] = False,
    suffix: Annotated[str, typer.Option(help="Text at the end of output names to ignore when matching (e.g. convert's --suffix, or _fake_B).")] = "",
    inputs: Annotated[Optional[Path], typer.Option(help="The translator's inputs (images or layout files), matched to outputs by name: what --plugin translates, and what measures such as object_accuracy read.")] = None,
    plugin: Annotated[Optional[str], typer.Option("--plugin", "-p", help="Make OUTPUTS first with this translator: from --inputs, from the other --half of each target, or from the targets downscaled (--downscale, default the model's scale).")] = None,
    weights: Annotated[Optional[str], typer.Option("--weights", "-w", help="Weights for --plugin (registry name, file or folder).")] = None,
    opt: Annotated[Optional[list[str]], typer.Option("--opt", "-O", help="Translator option key=value (with --plugin).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of stochastic translators (with --plugin).")] = 0,
    feature_weights: Annotated[Optional[Path], typer.Option(help="FID/KID: the InceptionV3 weights file (default: torch's hub cache; never downloaded).")] = None,
    device: Annotated[str, typer.Option(envvar="IMGTRANS_DEVICE", help="Device for the translator and the metric networks.")] = "auto",
    per_file: Annotated[bool, typer.Option("--per-file", help="Show a row per file, not just the mean.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON to stdout (infinite PSNR, i.e. identical images, is null).")] = False,
    report: Annotated[Optional[Path], typer.Option(help="Write the JSON result (settings, per-file values, means) to this file.")] = None,
    html: Annotated[Optional[Path], typer.Option("--html", help="Write an HTML report: the figures, a per-file histogram and example output/target pairs.")] = None,
) -> None:
    """Measure outputs against targets: L1, PSNR, SSIM (and LPIPS) per pair and their means,
    FID and KID between the two sets, and measures plugins add.

    Images are compared as RGB in [0, 1] (gray expanded, alpha dropped). SSIM is the
    standard one (11x11 Gaussian window, sigma 1.5, no padding). Examples:

      imgtrans eval out/ facades/test/ --half right

      imgtrans eval out/ hr/ --plugin srgan --weights W --metrics psnr,ssim,bicubic

      imgtrans eval out/ photos_b/ --metrics fid,kid
    """
    from imgtrans.api import EvalSettings, eval_measures, parse_metrics
    from imgtrans.errors import UsageError

    with ui.exit_on_errors():
        if half is not None and half not in ("left", "right"):
            raise UsageError(f"--half {half!r}: choose left or right")
        measures = eval_measures()
        names = parse_metrics(metrics, measures)
        if plugin is None and not outputs.exists():
            _hint_old_form(str(outputs))
        if plugin or weights:
            downscale = _generate(outputs, targets, inputs, plugin, weights, opt, seed, device,
                                  half, downscale)
        settings = EvalSettings(half=half, y_channel=bool(downscale) if y is None else y,  # type: ignore[arg-type]
                                crop_border=(downscale or 0) if crop_border is None else crop_border,
                                resize_target=resize_target, suffix=suffix, downscale=downscale)
    run_evaluation(outputs, targets, settings, names, measures=measures, inputs=inputs,
                   feature_weights=feature_weights, device=device, per_file=per_file,
                   json_output=json_output, report=report, html=html, title="imgtrans eval")


def _hint_old_form(first: str) -> None:
    """``imgtrans eval srgan HR`` was the super-resolution form: point to the new one."""
    from imgtrans.api import translator_names
    from imgtrans.errors import NoInputsError

    if first in translator_names():
        raise NoInputsError(f"{first}: no such file or folder; to make outputs with a translator "
                            f"and score them: imgtrans eval OUTPUT_DIR TARGETS --plugin {first} [--weights W]")


def _generate(outputs: Path, targets: Path | None, inputs: Path | None, plugin: str | None,
              weights: str | None, opt: list[str] | None, seed: int, device: str,
              half: str | None, downscale: int | None) -> int | None:
    """Load the translator, write its outputs to ``outputs``; returns the downscale factor
    (the model's scale when the inputs are made from the targets and none was given)."""
    from imgtrans.api import EvalSettings, generate_outputs, load, parse_options
    from imgtrans.errors import UsageError

    loaded = load(plugin, weights, device=device, options=parse_options(opt or []), seed=seed)
    if inputs is None and half is None and downscale is None:
        factor = _output_scale(loaded.runner.prep)
        if factor != int(factor) or int(factor) < 2:
            raise UsageError(f"{loaded.translator.name} does not upscale (scale {factor}): say where its "
                             "inputs come from with --inputs, --half or --downscale")
        downscale = int(factor)
    settings = EvalSettings(half=half, downscale=downscale)  # type: ignore[arg-type]
    with ui.err.status(f"translating with {loaded.translator.name}..."):
        written = generate_outputs(loaded, outputs, settings, targets=targets, inputs=inputs)
    ui.err.print(f"wrote {len(written)} output(s) to {ui.escape(str(outputs))}", highlight=False)
    return downscale


def _output_scale(prep: Any) -> float:
    """How much the translator enlarges an image (e.g. srgan's outscale; 1 for layouts)."""
    if prep is None:
        return 1
    return prep.output_size(1000, 1000)[1] / 1000


def run_evaluation(outputs: Path, targets: Path | None, settings: Any, names: list[str], *,
                   measures: dict[str, Any], inputs: Path | None = None,
                   feature_weights: Path | None = None, device: str = "auto",
                   per_file: bool = False, json_output: bool = False, report: Path | None = None,
                   html: Path | None = None, title: str = "imgtrans eval") -> None:
    """Evaluate, print (table or JSON), write the reports; exits 3 when a pair failed or a
    requested metric could not run. Shared by ``eval`` and its alias ``score``."""
    from imgtrans.api import evaluate as run

    with ui.exit_on_errors():
        result = run(outputs, targets, settings, metrics=names, inputs=inputs, measures=measures,
                     feature_weights=feature_weights, device=device, on_result=_print_failure)
        _warn_unmatched("output(s) without a target", result.unmatched_outputs)
        _warn_unmatched("target(s) without an output", result.unmatched_targets)
        _warn_unmatched("file(s) left out: same name with another extension", result.ambiguous)
        for name, reason in result.unavailable.items():
            ui.err.print(f"not measured: {name}: {reason}", style="yellow", highlight=False, markup=False)
        if report:
            result.write(report)
        if html:
            from imgtrans.api import write_eval_html

            write_eval_html(result, settings, html)
    if json_output:
        ui.out.print_json(result.to_json())
    else:
        if result.paired or per_file:
            ui.out.print(_table(result, settings, per_file, title))
        if result.sets or result.measures:
            ui.out.print(_values_table(result))
    if result.failed:
        ui.err.print(f"{len(result.failed)} of {len(result.files)} pair(s) could not be scored",
                     style="red", highlight=False)
    if result.failed or result.unavailable:
        raise typer.Exit(EXIT_SOME_FAILED)


def _print_failure(item: Any) -> None:
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


def _fmt(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return f"{value:.2f}" if "psnr" in key else f"{value:.4f}"


_HEADERS = {"l1": "L1", "psnr": "PSNR (dB)", "ssim": "SSIM", "lpips": "LPIPS"}


def _table(result: Any, settings: Any, per_file: bool, title: str) -> Any:
    from rich.table import Table

    parts = ["Y (BT.601)" if settings.y_channel else "RGB"]
    if settings.half:
        parts.append(f"target {settings.half} half")
    if settings.downscale:
        parts.append(f"inputs: targets / {settings.downscale}")
    if settings.crop_border:
        parts.append(f"crop {settings.crop_border}")
    if settings.resize_target:
        parts.append("target resized")
    table = Table(title=title, title_justify="left", caption=", ".join(parts), caption_justify="left")
    extra = [k for k in dict.fromkeys(k for f in result.files for k in f.values)
             if k not in result.paired] if per_file else []
    columns = result.paired + extra
    table.add_column("file")
    for column in columns:
        table.add_column(_HEADERS.get(column, column), justify="right")
    if per_file:
        for item in result.files:
            if item.ok:
                table.add_row(ui.escape(item.name), *[_fmt(c, item.values.get(c)) for c in columns])
            else:
                table.add_row(ui.escape(item.name), "[red]failed[/]", *[""] * (len(columns) - 1))
        table.add_section()
    mean = result.mean() or {}
    count = len(result.scored)
    label = f"[bold]mean[/] ({count} file{'s' if count != 1 else ''})"
    table.add_row(label, *[_fmt(c, mean.get(c)) for c in result.paired], *[""] * len(extra))
    return table


def _values_table(result: Any) -> Any:
    from rich.table import Table

    table = Table(title="over all files", title_justify="left")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in {**result.sets, **result.measures}.items():
        table.add_row(ui.escape(key), _fmt(key, value))
    return table
