"""``imgtrans demo``: every translator with default weights (or needing none) on its sample
inputs, and contact sheets that say what each one did.

``contact_sheet.png`` has one row per translator: its weights, the input as the model sees
it (the layout drawn for layout translators, strokes and mask for SDEdit), the output
enlarged so its pixels show, and for super-resolution 1:1 crops of bicubic and the model
next to the ground truth with the PSNR of each; then two rows for the shipped video clip
(frames before and after, :mod:`imgtrans.cli.demo_video`). ``sheets/<translator>.png`` shows every
sample; ``demo.json`` has the same facts for scripts and tests.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from imgtrans.cli import app, demo_video, ui

SHEET_COLUMNS = 4  # 936 px: readable on a 1000 px wide screen, room for an SR comparison
SHEET_HEADING = ("imgtrans demo - inputs as each model sees them; small images enlarged "
                 "(nearest); super-resolution: 1:1 crops, PSNR on Y against the ground truth")


@app.command()
def demo(
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the results.")] = Path("demo-output"),
    samples: Annotated[Optional[Path], typer.Option(help=(
        "Sample folder: <samples>/<translator>/ if it exists, else <samples>/images/ "
        "(default: the samples shipped with imgtrans)."))] = None,
    translators: Annotated[Optional[list[str]], typer.Option("--translators", "-t", help=(
        "Only these translators (repeat or comma-separate); default: all that can run."))] = None,
    limit: Annotated[int, typer.Option(min=0, help="At most this many samples per translator (0: all).")] = 0,
    device: Annotated[str, typer.Option(envvar="IMGTRANS_DEVICE", help="auto, cpu, cuda or cuda:N.")] = "auto",
) -> None:
    """Run every translator that has default weights (or needs none) on its samples and write
    contact sheets that show inputs, outputs and, for super-resolution, the gain over bicubic."""
    from imgtrans.api import render_sheet, write_file_atomic, write_image_atomic

    with ui.exit_on_errors():
        root = find_samples(samples)
        names = _chosen(translators)
        demo_run = _Demo(root, output, device, limit)
        main_rows, report = [], []
        for name in names:
            ui.err.print(f"demo: {name}", highlight=False)
            rows, facts = demo_run.translator(name)
            report.append(facts)
            main_rows.append(rows[facts["featured"]])
            write_image_atomic(output / "sheets" / f"{name}.png", render_sheet(rows, SHEET_HEADING, SHEET_COLUMNS))
            for sample in facts["samples"]:
                if "psnr" in sample:
                    p = sample["psnr"]
                    ui.out.print(f"{name} {Path(sample['input']).name}: PSNR (Y, border {p['border']}) "
                                 f"bicubic {p['bicubic']:.2f} dB, {facts['weights']} {p['model']:.2f} dB",
                                 highlight=False)
            if facts.get("error"):
                ui.err.print(f"demo: {name} failed: {facts['error']}", highlight=False)
        video_rows, video = demo_video.video_rows(root, output, demo_run.device, names)
        main_rows += video_rows
        sheet_path = output / "contact_sheet.png"
        write_image_atomic(sheet_path, render_sheet(main_rows, SHEET_HEADING, SHEET_COLUMNS))
        summary = {"samples": str(root), "contact_sheet": str(sheet_path), "translators": report}
        if video is not None:
            summary["video"] = video
        write_file_atomic(output / "demo.json", json.dumps(summary, indent=2).encode())
    count = sum(len(f["samples"]) for f in report)
    ui.out.print(f"{len(names)} translator(s), {count} sample(s) under {output}/; "
                 f"contact sheet: {sheet_path}", highlight=False)
    if any(f.get("error") for f in report) or (video or {}).get("error"):
        raise typer.Exit(1)


def find_samples(given: Path | None) -> Path:
    """The sample folder: ``given``, else the one shipped in the wheel
    (``imgtrans/_samples``), else a checkout's ``samples/``, wherever the demo runs from."""
    from imgtrans.errors import UsageError

    if given is not None:
        if not given.is_dir():
            raise UsageError(f"--samples {given}: no such folder")
        return given
    import imgtrans

    package = Path(imgtrans.__file__).resolve().parent
    candidates = (package / "_samples", package.parent / "samples")
    for candidate in candidates:
        if (candidate / "images").is_dir():
            return candidate
    raise UsageError("no demo samples found (looked in " + ", ".join(map(str, candidates))
                     + "); pass --samples FOLDER (a folder with images/ and <translator>/ sub-folders)")


def _chosen(wanted: list[str] | None) -> list[str]:
    from imgtrans.api import known_weights, list_translators
    from imgtrans.errors import UsageError

    known = known_weights()
    runnable = [t["name"] for t in list_translators() if _runs_unattended(t["name"], known)]
    if not wanted:
        return runnable
    names = [n.strip() for item in wanted for n in item.split(",") if n.strip()]
    unknown = [n for n in names if n not in runnable]
    if unknown:
        raise UsageError(f"--translators: {', '.join(unknown)} cannot run in the demo; "
                         f"choose from {', '.join(runnable)}")
    return names


def _runs_unattended(name: str, known: list[Any]) -> bool:
    """Translators the demo can run: image or layout input, with default weights or none."""
    from imgtrans.api import translator_class

    cls = translator_class(name)
    if cls.capabilities.input_kind not in ("image", "layout") or not cls.capabilities.inference:
        return False
    has_default = any(s.default for s in known if s.plugin == name)
    return has_default or not cls.requires_weights


LAYOUT_SCALE = 4
"""Layout translators' outputs enlarged this many times (nearest), so drawn labels are legible."""
LAYOUT_SAMPLES = 3
"""Samples per layout for a stochastic layout translator: one layout, different codes."""


class _Demo:
    """One demo run: loads each translator, runs its samples, builds its sheet rows."""

    def __init__(self, root: Path, output: Path, device: str, limit: int) -> None:
        self.root, self.output, self.device, self.limit = root, output, device, limit
        self._bicubic: dict[int, Any] = {}

    def translator(self, name: str) -> tuple[list, dict[str, Any]]:
        """(sheet rows, one per sample; facts for demo.json). A translator that fails to load
        or run gives one row saying why, so the others still run."""
        import imgtrans
        from imgtrans.api import Panel, SheetRow, translator_class
        from imgtrans.errors import ImgtransError

        cls = translator_class(name)
        folder = self.root / name if (self.root / name).is_dir() else self.root / "images"
        fields = {f.name for f in dataclasses.fields(cls.Options)}
        layouts = cls.capabilities.input_kind == "layout"
        options: dict[str, Any] = {}
        if layouts:  # the translator draws its own layout, large enough to read; several
            # samples of one layout show what the per-object codes change
            wanted = {"overlay": True, "scale": LAYOUT_SCALE,
                      "samples": LAYOUT_SAMPLES if cls.capabilities.stochastic else 1}
            options.update({k: v for k, v in wanted.items() if k in fields})
        if "mask" in fields and (folder / "masks").is_dir():
            options["mask"] = str(folder / "masks")
        facts: dict[str, Any] = {"name": name, "folder": str(folder), "weights": None,
                                 "samples": [], "featured": 0}
        try:
            # the bundled weights, never a download (a default may be a published model)
            model = imgtrans.load(name, imgtrans.bundled_weights(name), device=self.device,
                                  seed=0, options=options)
            spec = model.weight_spec
            facts["weights"] = spec.name if spec else (model.weights.path.name if model.weights else None)
            title = f"{name}   weights: {facts['weights'] or 'none (not a learned model)'}"
            detail = (spec.description if spec and spec.description else cls.summary)
            rows = []
            for path in self._sample_files(folder, cls):
                panels, sample = self._run_sample(model, name, path, options)
                rows.append(SheetRow(f"{title}   sample: {path.name}", detail, panels))
                facts["samples"].append(sample)
            if not rows:
                raise ImgtransError(f"no samples in {folder}")
        except (ImgtransError, OSError, RuntimeError, ValueError) as exc:
            facts["error"] = str(exc)
            return [SheetRow(f"{name}   failed", str(exc), [Panel(None, "no result")])], facts
        # the main sheet's row: a sample with a ground truth, else the busiest layout
        with_truth = [i for i, s in enumerate(facts["samples"]) if "psnr" in s]
        objects = [s.get("objects", 0) for s in facts["samples"]]
        facts["featured"] = with_truth[0] if with_truth else objects.index(max(objects))
        return rows, facts

    def _sample_files(self, folder: Path, cls: Any) -> list[Path]:
        """The inputs at the top of ``folder`` (its truth/ and masks/ are not samples), as
        convert would find them."""
        from imgtrans.api import IMAGE_EXTENSIONS, list_image_files

        files = list_image_files(folder, recursive=False,
                                 extensions=cls.input_extensions or IMAGE_EXTENSIONS)
        return files[:self.limit] if self.limit else files

    def _run_sample(self, model: Any, name: str, path: Path,
                    options: dict[str, Any]) -> tuple[list, dict[str, Any]]:
        from imgtrans.api import Panel, read_pixels, write_image_atomic

        sample: dict[str, Any] = {"input": str(path)}
        if model.translator.capabilities.input_kind == "layout":
            return self._layout_sample(model, name, path, options, sample)
        pixels = read_pixels(path)
        result = model(pixels)
        result = result[0] if isinstance(result, list) else result
        height, width = pixels.shape[:2]
        scale = result.shape[0] / height
        if scale >= 2 and float(scale).is_integer():
            return self._upscaled(model, name, path, pixels, result, int(scale), sample)
        panels = [Panel(pixels, f"input {width}x{height}")]
        mask = _mask_for(path, options.get("mask"))
        if mask is not None:
            panels.append(Panel(read_pixels(mask), "mask (white: repaint)"))
        out_path = self.output / name / f"{path.stem}.png"
        write_image_atomic(out_path, result)
        sample["output"] = str(out_path)
        panels.append(Panel(result, f"output {result.shape[1]}x{result.shape[0]}"))
        return panels, sample

    def _layout_sample(self, model: Any, name: str, path: Path, options: dict[str, Any],
                       sample: dict[str, Any]) -> tuple[list, dict[str, Any]]:
        """Panels for a layout translator: the layout drawn by the translator (with
        ``overlay``), then each sample; the first is ``<stem>.png``, others ``<stem>_s<k>.png``."""
        from imgtrans.api import Panel, pair_half, write_image_atomic

        layout = model.translator.read_input(path)
        sample["objects"] = len(getattr(layout, "objects", ()))
        results = model(layout)
        panels = [Panel(None, "input: layout file")]
        if options.get("overlay"):  # each result is [generated | generated with boxes]
            panels = [Panel(pair_half(results[0], "right", axis=1), "input: layout (boxes, labels)")]
            results = [pair_half(r, "left", axis=1) for r in results]
        outputs = []
        for k, result in enumerate(results):
            outputs.append(self.output / name / (f"{path.stem}_s{k}.png" if k else f"{path.stem}.png"))
            write_image_atomic(outputs[-1], result)
            caption = f"output {result.shape[1]}x{result.shape[0]}"
            panels.append(Panel(result, caption if len(results) == 1 else f"sample {k + 1}: {caption}"))
        sample.update(output=str(outputs[0]), outputs=[str(p) for p in outputs])
        return panels, sample

    def _upscaled(self, model: Any, name: str, path: Path, pixels: Any, result: Any, scale: int,
                  sample: dict[str, Any]) -> tuple[list, dict[str, Any]]:
        """Panels for an upscaler: 1:1 crops of the input (enlarged, nearest), the result and,
        when ``truth/<name>`` exists, bicubic and the truth with the PSNR of each."""
        from imgtrans.api import Panel, psnr_y, read_pixels, write_image_atomic

        out_path = self.output / name / f"{path.stem}.png"
        write_image_atomic(out_path, result)
        sample["output"] = str(out_path)
        height, width = pixels.shape[:2]
        panels = [Panel(pixels.repeat(scale, 0).repeat(scale, 1), f"input {width}x{height}, x{scale} nearest",
                        crop=True)]
        truth_path = path.parent / "truth" / path.name
        truth = read_pixels(truth_path) if truth_path.is_file() else None
        if truth is None or truth.shape[:2] != result.shape[:2]:
            panels.append(Panel(result, f"output x{scale}", crop=True))
            return panels, sample
        bicubic = self._bicubic_model(scale)(pixels)
        scores = {"border": scale, "bicubic": psnr_y(bicubic, truth, scale),
                  "model": psnr_y(result, truth, scale), "truth": str(truth_path)}
        sample["psnr"] = scores
        label = model.weight_spec.name if model.weight_spec else name
        panels += [Panel(bicubic, f"bicubic: {scores['bicubic']:.2f} dB", crop=True),
                   Panel(result, f"{label}: {scores['model']:.2f} dB", crop=True),
                   Panel(truth, "ground truth", crop=True)]
        return panels, sample

    def _bicubic_model(self, scale: int) -> Any:
        """The built-in ``resize`` translator: bicubic, as ``imgtrans eval`` compares with."""
        import imgtrans

        if scale not in self._bicubic:
            self._bicubic[scale] = imgtrans.load("resize", device=self.device,
                                                 options={"scale": scale, "interpolation": "bicubic"})
        return self._bicubic[scale]


def _mask_for(path: Path, masks: str | None) -> Path | None:
    if masks is None:
        return None
    found = sorted(Path(masks).glob(f"{path.stem}.*"))
    return found[0] if found else None

