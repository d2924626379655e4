"""``imgtrans convert INPUT OUTPUT --plugin NAME``: batch conversion with progress and a summary."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from imgtrans.cli import app, ui
from imgtrans.api_text import printable, shown

EXIT_SOME_FAILED = 3
EXIT_INTERRUPTED = 130


@app.command()
def convert(
    input: Annotated[Optional[list[str]], typer.Argument(help="Image or video files, folders (recursive) or globs ('*.jpg' also finds IMG_1.JPG); several work like cp.", show_default=False, metavar="INPUT...")] = None,
    output: Annotated[Optional[Path], typer.Argument(help="Output folder, or file for one input (for one video, a folder holds its frames); with several inputs, a folder.", show_default=False, metavar="OUTPUT")] = None,
    plugin: Annotated[Optional[str], typer.Option("--plugin", "-p", help="Translator name (see `imgtrans plugins`); optional when --weights tells.")] = None,
    weights: Annotated[Optional[str], typer.Option("--weights", "-w", help="Registry name, file, folder or https URL.")] = None,
    opt: Annotated[Optional[list[str]], typer.Option("--opt", "-O", help="Translator option key=value (repeatable).")] = None,
    device: Annotated[str, typer.Option(envvar="IMGTRANS_DEVICE", help="auto, cpu, cuda or cuda:N.")] = "auto",
    batch_size: Annotated[str, typer.Option("--batch-size", "-b", help="Images per forward pass (same-size images only): a number, or auto (on CPU the translator's measured choice, usually 1; on CUDA what fits, smaller on out-of-memory).")] = "auto",
    format: Annotated[Optional[str], typer.Option("--format", "-f", help="Output format (png, jpg, webp, tiff...); default keeps the input's when it can hold the result.")] = None,
    suffix: Annotated[str, typer.Option(help="Added to output file names before the extension.")] = "",
    overwrite: Annotated[bool, typer.Option("--overwrite/--skip-existing", help="Replace existing outputs (default: skip them, so an interrupted run resumes).")] = False,
    recursive: Annotated[bool, typer.Option("--recursive/--no-recursive", help="Walk sub-folders; the output mirrors the tree.")] = True,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be converted and skipped, then stop.")] = False,
    report: Annotated[Optional[Path], typer.Option(help="Write a JSON report (per-file status, timing, settings).")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed for stochastic translators (default: random, recorded in the report).")] = None,
    precision: Annotated[str, typer.Option(help="exact (fp32, the default) or fast (bf16/fp16 where the device runs it natively; the error per translator is in `imgtrans info`).")] = "exact",
    compile: Annotated[Optional[bool], typer.Option("--compile/--no-compile", help="Run the translator through torch.compile: the first batch of each size compiles (time reported once), later ones run faster; compiled kernels are cached across runs. Default: only with --precision fast on CUDA, on runs long enough to repay it (bench/RESULTS.md).", show_default=False)] = None,
    tile: Annotated[int, typer.Option(min=0, help="Tile size in input pixels (0: whole image); fully convolutional translators only.")] = 0,
    tile_pad: Annotated[int, typer.Option(min=0, help="Context each tile borrows from its neighbours, in input pixels.")] = 10,
    workers: Annotated[int, typer.Option(min=1, help="Threads for reading and for writing.")] = 4,
    quality: Annotated[int, typer.Option(min=1, max=100, help="JPEG/WebP quality.")] = 95,
    max_pixels: Annotated[int, typer.Option(help="Refuse inputs, and results, with more pixels than this.")] = 178_956_970,
    exif: Annotated[bool, typer.Option("--exif/--no-exif", help="Apply EXIF orientation.")] = True,
    strip_metadata: Annotated[bool, typer.Option("--strip-metadata", help="Write no EXIF (GPS included), XMP, ICC profile, PNG text or provenance (default: outputs keep their input's; README: What an output keeps).")] = False,
    provenance: Annotated[bool, typer.Option("--provenance/--no-provenance", help="Record in each output how it was made (imgtrans info OUTPUT prints it and the command that reproduces it).")] = True,
    color: Annotated[str, typer.Option("--color", help="keep (the network sees the stored values; the output carries the input's ICC profile) or srgb (convert with littleCMS first; sRGB-tagged output).")] = "keep",
    progress: Annotated[str, typer.Option(help="auto, rich, plain or none.")] = "auto",
    engine: Annotated[str, typer.Option(help="local (this process) or ray (a Ray cluster; pip install 'imgtrans[ray]').")] = "local",
    ray_address: Annotated[Optional[str], typer.Option(help="With --engine ray: auto or ray://host:10001 joins a running cluster; default: a private one on 127.0.0.1.")] = None,
    video_codec: Annotated[Optional[str], typer.Option("--video-codec", help="Videos: an FFmpeg encoder (libx264, libx265, libvpx-vp9, libsvtav1, ffv1...); default: the container's (H.264 for mp4/mkv/mov, VP9 for webm).", rich_help_panel="Video")] = None,
    crf: Annotated[Optional[int], typer.Option(min=0, help="Videos: constant rate factor (default 18 for H.264: visually lossless).", rich_help_panel="Video")] = None,
    pix_fmt: Annotated[Optional[str], typer.Option("--pix-fmt", help="Videos: encoded pixel format (default: the input's when the encoder takes it).", rich_help_panel="Video")] = None,
    frames: Annotated[Optional[str], typer.Option(help="Videos: only frames A:B (A included, B not; 100: or :50 work).", rich_help_panel="Video")] = None,
    same_noise: Annotated[bool, typer.Option("--same-noise", help="Videos, stochastic translators: the same noise for every frame (less flicker).", rich_help_panel="Video")] = False,
) -> None:
    """Translate images: files, folders or globs into a folder (one input: into a file, too).

    Like cp, the last argument is where results go: `imgtrans convert a.jpg b.png shots/ out/`
    writes out/a.jpg, out/b.png and out/shots/..., so an unquoted shell glob works.
    """
    from imgtrans.cli import process

    with ui.exit_on_errors(), process.startup() as started:
        from imgtrans.api import ConvertSettings
        from imgtrans.api import convert as run_convert
        from imgtrans.api import check_report_path, parse_options

        if not input:  # one argument (click gives it to OUTPUT) or none
            from imgtrans.errors import UsageError

            raise UsageError((f"missing OUTPUT after {printable(str(output))}" if output else
                              "missing INPUT and OUTPUT") + ": the last argument is where "
                             "results go (imgtrans convert INPUT... OUTPUT)")
        if report:
            check_report_path(report)
        settings = ConvertSettings(
            plugin=plugin, weights=weights, options=parse_options(opt or []), device=device,
            batch_size=batch_size, output_format=format, suffix=suffix, overwrite=overwrite,
            recursive=recursive, dry_run=dry_run, tile=tile, tile_pad=tile_pad, seed=seed,
            precision=precision, compile=compile,
            workers=workers, quality=quality, max_pixels=max_pixels, apply_exif=exif,
            engine=engine, ray_address=ray_address, video_codec=video_codec, crf=crf,
            pix_fmt=pix_fmt, frames=frames, same_noise=same_noise,
            strip_metadata=strip_metadata, provenance=provenance, color=color)
        stop = threading.Event()
        reporter = _Reporter(progress, started)
        with _sigint_sets(stop), reporter:
            result = run_convert(input[0] if len(input) == 1 else input, output, settings, on_plan=reporter.plan,
                                 on_start=reporter.start, on_result=reporter.result, on_frames=reporter.frames,
                                 stop=stop)
        report_error = _write_report(result, report) if report else None
        if dry_run:
            _print_plan(result)
        else:
            _print_summary(result)
        if report_error:
            from imgtrans.errors import UsageError

            raise UsageError(report_error)
    if dry_run:
        return
    if result.interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    if result.count("failed"):
        raise typer.Exit(EXIT_SOME_FAILED)


def _write_report(result, path: Path) -> str | None:
    """Write the report; a failure (checked for before the run, so rare: disk full...) is
    returned as a message, after the summary is shown, instead of a traceback."""
    try:
        result.write(path)
    except OSError as exc:
        return f"--report {shown(path)}: cannot write the report ({shown(exc.strerror or exc)})"
    return None


class _Reporter:
    """Rich progress bar on a terminal, one plain line per file otherwise. Videos count
    frames and tiled images tiles: a bar of their own (frames/s or tiles/s, ETA) under the
    files' bar, or a plain line every few seconds."""

    PLAIN_EVERY = 5.0
    """Seconds between two plain progress lines of one video."""

    def __init__(self, mode: str, started: Any = lambda: None) -> None:
        if mode not in ("auto", "rich", "plain", "none"):
            from imgtrans.errors import UsageError

            raise UsageError(f"--progress {mode!r}: choose auto, rich, plain or none")
        self.mode = ("rich" if ui.err.is_terminal else "plain") if mode == "auto" else mode
        self.total = 0
        self.finished = 0  # done, failed (and finished videos): what the bar counts
        self.done = 0
        self.interrupted = 0
        self.began = time.perf_counter()  # as the summary's wall time: images/s agree
        self.bar: Any = None  # a rich Progress, imported when a run starts
        self.task = None
        self.videos: dict[str, Any] = {}  # input -> its rich task, or when its last line was
        self.video_inputs: set[str] = set()  # the others' progress inside the item is tiles
        self.started = started  # called once the translator is loaded: start-up is over

    def __enter__(self) -> "_Reporter":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def plan(self, plan) -> None:
        self.total = len(plan.todo)
        self.video_inputs = {str(item.source) for item in plan.todo if item.video is not None}
        if plan.skipped:
            ui.err.print(f"skipping {len(plan.skipped)} existing output(s) (use --overwrite to replace)",
                         highlight=False)
        if plan.excluded:
            ui.err.print(f"not reading {len(plan.excluded)} file(s) that are outputs of this run",
                         highlight=False)
        if self.mode == "rich" and self.total:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn,
                                       TextColumn, TimeElapsedColumn, TimeRemainingColumn)

            self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
                                TimeElapsedColumn(), TimeRemainingColumn(), console=ui.err)
            self.task = self.bar.add_task("converting", total=self.total, rate="")
            self.bar.start()

    def start(self, info: dict) -> None:
        """Once, when the translator is ready: which weights, where, in what batches."""
        self.started()
        weights = info.get("weight_name") or info.get("weights")
        if info.get("weight_name") and info.get("weights"):
            weights = f"{info['weight_name']} ({info['weights']})"
        where = info.get("device")
        if info.get("engine") == "ray":
            where = f"{where} on Ray ({info.get('ray_address')}, {info.get('actors')} actor(s))"
        line = (f"{info.get('translator')} with "
                f"{f'weights {printable(weights)}' if weights else 'no weights'} "
                f"on {where}, batch size {info.get('batch_size')}"
                + (f", {info['precision']}" if str(info.get("precision", "exact")).startswith("fast") else "")
                + (f"\n  weights trained on: {info['trained_on']}" if info.get("trained_on") else ""))
        (self.bar.console if self.bar else ui.err).print(line, highlight=False, markup=False)

    def frames(self, source: str, done: int, total: int) -> None:
        """A video's frames, or a tiled image's tiles, done so far (from ``convert``'s
        ``on_frames``); an image of one tile has no bar of its own."""
        unit = "frames" if source in self.video_inputs else "tiles"
        if unit == "tiles" and total <= 1:
            return
        if self.bar is not None:
            if source not in self.videos:
                self.videos[source] = self.bar.add_task(f"  {printable(Path(source).name)}",
                                                        total=total, rate="")
            task = self.videos[source]
            elapsed = next(t.elapsed for t in self.bar.tasks if t.id == task) or 0.0
            rate = f"{done / elapsed:.1f} {unit}/s" if elapsed > 0 else ""
            self.bar.update(task, completed=done, total=total, rate=rate)
        elif self.mode == "plain":
            now = time.monotonic()
            first, last = self.videos.setdefault(source, [now, 0.0])
            if done < total and now - last < self.PLAIN_EVERY:
                return
            self.videos[source][1] = now
            rate = done / (now - first) if now > first else 0.0
            eta = f", {(total - done) / rate:.0f} s left" if rate > 0 and done < total else ""
            ui.err.print(f"  {printable(source)}: {done}/{total} {unit}"
                         + (f", {rate:.1f} {unit}/s" if rate > 0 else "") + eta,
                         highlight=False, markup=False)

    def result(self, item) -> None:
        """One item's result. Interrupted items (after Ctrl-C) are not progress: the bar
        stays at what was finished and says "interrupted"; its rate is images done per
        second since the run started, the summary's images/s."""
        if item.status == "interrupted":
            self.interrupted += 1
            if self.bar is not None and self.interrupted == 1:
                self.bar.update(self.task, description="interrupted")
            return
        self.finished += 1
        self.done += item.status == "done"
        video = self.videos.pop(item.input, None)
        if self.bar is not None and video is not None:
            self.bar.remove_task(video)
        if item.status == "failed":
            line = f"failed: {shown(item.input)}: {shown(item.error)}"
            (self.bar.console if self.bar else ui.err).print(line, style="red", highlight=False,
                                                             markup=False)
        elif self.mode == "plain":
            ui.err.print(f"[{self.finished}/{self.total}] {item.status}: {printable(item.input)} -> "
                         f"{printable(item.output)}", highlight=False, markup=False)
        if self.bar is not None:
            elapsed = time.perf_counter() - self.began
            rate = f"{self.done / elapsed:.2f} img/s" if elapsed > 0 else ""
            self.bar.update(self.task, advance=1, rate=rate)


class _sigint_sets:
    """First Ctrl-C: finish the batch in flight, write what is done, then exit 130.
    Second Ctrl-C: stop at once."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.previous = None

    def _handler(self, signum, frame) -> None:
        if self.stop.is_set():
            raise KeyboardInterrupt
        self.stop.set()
        ui.err.print("interrupt: finishing the batch in flight (Ctrl-C again to abort)",
                     style="yellow", highlight=False)

    def __enter__(self) -> "_sigint_sets":
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def _print_plan(result) -> None:
    for item in result.items:
        ui.out.print(f"{item.status}\t{printable(item.input)}\t{printable(item.output)}",
                     highlight=False, markup=False)
    ui.err.print(f"{result.count('planned')} to convert, {result.count('skipped')} to skip",
                 highlight=False)


def _print_summary(result) -> None:
    summary = result.summary()
    from rich.table import Table

    table = Table(title="imgtrans convert", title_justify="left")
    for column in ("done", "skipped", "failed", "time", "images/s"):
        table.add_column(column, justify="right")
    row = [str(summary["done"]), str(summary["skipped"]), str(summary["failed"]),
           f"{summary['wall_seconds']:.1f} s", f"{summary['images_per_second']:.2f}"]
    if summary["interrupted"]:
        table.add_column("interrupted", justify="right")
        row.append(str(summary["interrupted"]))
    table.add_row(*row)
    ui.err.print(table)
