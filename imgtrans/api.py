"""The Python API: everything the CLI does, as functions.

>>> import imgtrans
>>> sketch = imgtrans.load("sketch", options={"sigma": 3})      # doctest: +SKIP
>>> out = sketch(rgb_uint8_array)                                # numpy in, numpy out
>>> report = imgtrans.convert("photos/", "out/", plugin="sketch")  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from imgtrans.core.discover import Plan, discover_inputs
from imgtrans.core.report import ItemResult, RunReport, check_report_path  # noqa: F401
from imgtrans.errors import PluginError, UsageError, WeightsError
from imgtrans.loading import LoadedTranslator, resolve_weights_for, translator_for_weights, translator_recipe
from imgtrans.plugins import manager
from imgtrans.translators.options import build_options, describe_options

# The rest of the public API lives beside this module, by subject, and is re-exported here.
from imgtrans.api_eval import (DEFAULT_METRICS, EvalSettings, Measure, eval_measures,  # noqa: F401
                               evaluate, generate_outputs, parse_metrics, psnr_y, write_eval_html)
from imgtrans.api_images import (IMAGE_EXTENSIONS, DecodedImage, Panel, SheetRow,  # noqa: F401
                                 decode_image, encode_image, list_image_files, max_file_bytes,
                                 pair_half, read_pixels, render_sheet, write_file_atomic,
                                 write_image_atomic)
from imgtrans.api_text import printable, shown  # noqa: F401
from imgtrans.api_translators import (check_options, export_checkpoint, list_plugins,  # noqa: F401
                                      parse_options, register_plugin_commands, translator_class,
                                      translator_names)
from imgtrans.api_weights import (DownloadProgress, WeightSpec, fetch_weights_url,  # noqa: F401
                                  find_weights, forget_verified_weights, is_weights_url,
                                  known_weights, weights_checksum, weights_location,
                                  weights_example, weights_examples, weights_on_disk,
                                  weights_path, weights_sha256)
from imgtrans.api_video import (VIDEO_EXTENSIONS, VIDEO_INSTALL_HINT, is_video, video_frames,  # noqa: F401
                                video_info, video_poster, videos_supported)


@dataclass
class ConvertSettings:
    """Everything that decides a conversion; saved in every run report."""

    plugin: str | None = None
    """Translator name; None: the one ``weights`` belong to."""
    weights: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    device: str = "auto"
    batch_size: int | str = "auto"
    """Images per forward pass, or "auto": the translator's ``cpu_batch_size`` on CPU (1 unless measured
    otherwise), measured per image size on CUDA."""
    output_format: str | None = None
    suffix: str = ""
    overwrite: bool = False
    recursive: bool = True
    dry_run: bool = False
    tile: int = 0
    tile_pad: int = 10
    seed: int | None = None
    precision: str = "exact"
    """"exact" (fp32) or "fast" (bf16/fp16 autocast where the device runs it natively;
    the measured error per translator is in ``imgtrans info``)."""
    compile: bool | None = None
    """Run the translator through ``torch.compile`` (pays off on long runs; compiled kernels
    are cached across runs). None: decided from the run (:func:`imgtrans.core.compiling.worth_compiling`:
    fast mode on CUDA with enough images; compiled fp32 is not bit-identical to exact, and on
    CPUs it was measured not to pay in fast mode)."""
    workers: int = 4
    quality: int = 95
    max_pixels: int = 178_956_970
    apply_exif: bool = True
    engine: str = "local"
    """"local" (threads of this process) or "ray" (a Ray cluster: ``pip install 'imgtrans[ray]'``)."""
    ray_address: str | None = None
    """With ``engine="ray"``: "auto" or "ray://host:10001" joins a running cluster; None starts
    a private one on 127.0.0.1."""
    allow_downloads: bool = True
    """False: no network at all: weights that are neither bundled nor downloaded already
    raise ``WeightsError`` instead of being fetched, and a default that is not here gives way
    to its bundled stand-in (see :func:`local_weights`)."""
    video_codec: str | None = None
    """Videos: an FFmpeg encoder (libx264, libx265, libvpx-vp9, libsvtav1, ffv1...); None: the
    output container's default (H.264 at CRF 18 for mp4, mkv, mov; VP9 for webm)."""
    crf: int | None = None
    """Videos: the encoder's constant rate factor; None: its default here."""
    pix_fmt: str | None = None
    """Videos: the encoded pixel format; None: the input's when the encoder takes it."""
    frames: str | None = None
    """Videos: "A:B" converts frames A (included) to B (excluded) only."""
    same_noise: bool = False
    """Videos, stochastic translators: every frame draws the same noise (less flicker)
    instead of noise from the seed, the video's name and the frame index."""
    strip_metadata: bool = False
    """Write no EXIF (GPS included), XMP, ICC profile, PNG text or provenance into outputs.
    By default an output keeps its input's (see README, "What an output keeps")."""
    provenance: bool = True
    """Record in each output how it was made (translator, weights and their sha256, options,
    seed, precision, tiling, imgtrans version, input name and sha256); ``imgtrans info
    OUTPUT`` prints it with the command that reproduces the output."""
    color: str = "keep"
    """"keep": the network sees the stored values and the output carries the input's ICC
    profile; "srgb": inputs are converted to sRGB with littleCMS first (16 bits where they
    have them) and outputs are tagged sRGB."""


def list_translators() -> list[dict[str, Any]]:
    """Registered translators with their plugin, summary and capabilities."""
    host = manager.get_host()
    return [{"name": name, "plugin": host.translator_plugin[name], "summary": cls.summary,
             "capabilities": dataclasses.asdict(cls.capabilities)}
            for name, cls in sorted(host.translators.items())]


def translator_info(name: str) -> dict[str, Any]:
    """Summary, capabilities, options (name, type, default, help, choices) and known weights."""
    host = manager.get_host()
    cls = host.get_translator(name)
    weights = [spec for spec in host.known_weight_specs() if spec.plugin == name]
    return {"name": name, "plugin": host.translator_plugin[name], "summary": cls.summary,
            "capabilities": dataclasses.asdict(cls.capabilities),
            "requires_weights": cls.requires_weights,
            "options": [dataclasses.asdict(o) for o in describe_options(cls.Options)],
            "train_options": ([dataclasses.asdict(o) for o in describe_options(cls.TrainOptions)]
                              if cls.TrainOptions else []),
            "weights": [dict(dataclasses.asdict(w), local=_is_local(w)) for w in weights],
            "autocast_scope": cls.autocast_scope, "fast_mode_error": cls.fast_mode_error}


def local_weights(plugin: str | None, weights: str | Path | None) -> str | Path | None:
    """``weights`` as a run without any network uses them: unchanged when they are on this
    machine (bundled, downloaded, a file or folder); a default that is not, replaced by the
    bundled weights its registry entry names as ``fallback``; else ``WeightsError`` naming
    the registry entry. A URL always counts as a download. ``plugin`` may also be a name of
    weights, as in :func:`load`."""
    from imgtrans.weights.resolve import default_spec, find_spec, is_url, looks_like_path

    host = manager.get_host()
    known = host.known_weight_specs()
    if weights is None and plugin and plugin not in host.translators:
        plugin, weights = None, plugin  # load("srgan.realesrgan_x4plus"): a name of weights
    if weights is None:
        spec = default_spec(plugin, known) if plugin else None
        if spec is None or _is_local(spec):
            return None
        stand_in = bundled_weights(plugin)
        if stand_in is not None and stand_in != spec.name:
            return stand_in
    elif is_url(str(weights)):
        raise WeightsError("weights from a URL would be downloaded, and downloads are off")
    elif isinstance(weights, Path) or looks_like_path(str(weights)):
        return weights
    else:
        spec = find_spec(str(weights), known, plugin)
        if spec is None or _is_local(spec):
            return weights
    raise WeightsError(f"weights {spec.name} are neither bundled nor downloaded, and downloads "
                       f"are off; fetch them first (imgtrans weights fetch {spec.name})")


def _is_local(spec: Any) -> bool:
    """Whether a registry entry's file is on this machine (bundled or cached), without hashing."""
    from imgtrans.weights.resolve import is_cached

    try:
        return is_cached(spec)
    except Exception:  # a broken cache entry or Hub folder counts as absent
        return False


def bundled_weights(name: str) -> str | None:
    """The name of translator ``name``'s weights that run without a download: its default
    when bundled, else the bundled stand-in the default names (what the demo and an
    offline machine use); None when it has no default."""
    from imgtrans.weights.resolve import bundled_stand_in, default_spec

    known = manager.get_host().known_weight_specs()
    spec = default_spec(name, known)
    return bundled_stand_in(spec, known).name if spec is not None else None


def weights_info(weights: str | Path) -> dict[str, Any]:
    """What ``weights`` (registry name, URL, file or folder) are: the translator they belong
    to, their registry entry if any, and what loading them on the CPU found (the loaded
    translator's ``config()``, e.g. a zoo model's architecture, scale, channels, size
    requirements and licence). Nothing is downloaded: weights not on this machine are
    described from the registry alone (``loaded`` False)."""
    from imgtrans.weights.resolve import find_spec, is_cached, is_url, looks_like_path

    host = manager.get_host()
    value = str(weights)
    local = isinstance(weights, Path) or looks_like_path(value) and Path(value).expanduser().exists()
    spec = None if local else (next((s for s in host.known_weight_specs() if s.url == value), None)
                               if is_url(value) else find_spec(value, host.known_weight_specs()))
    facts: dict[str, Any] = {"weights": value, "registry": dataclasses.asdict(spec) if spec else None}
    if spec is not None and not is_cached(spec):
        return {**facts, "translator": spec.plugin, "loaded": False}
    if spec is None and is_url(value):
        raise WeightsError(f"{value}: not a registry URL; download it and give the file")
    loaded = load(weights=value, device="cpu")
    return {**facts, **loaded.config(), "weights": value, "loaded": True}


def image_info(path: str | Path) -> dict[str, Any]:
    """What an image file carries (size, EXIF, ICC profile, XMP) and, for an imgtrans
    output, its provenance and the ``imgtrans convert`` command that reproduces it."""
    from imgtrans.provenance import image_info as info

    return info(path)


def load(name: str | None = None, weights: str | Path | None = None, *, device: Any = "auto",
         options: dict[str, Any] | None = None, tile: int = 0, tile_pad: int = 10,
         seed: int = 0, precision: str = "exact", compile: bool = False,
         progress: Callable[[int, int | None], None] | None = None,
         should_stop: Callable[[], bool] | None = None,
         allow_downloads: bool = True) -> LoadedTranslator:
    """Load translator ``name`` with ``weights`` (registry name, file, folder or URL) on
    ``device``; ``options`` are checked against the translator's Options dataclass.

    Either may be left out when the other tells: ``load("srgan")`` uses srgan's default
    weights, ``load("srgan.realesrgan_x4plus")`` or ``load(weights="run/")`` finds the
    translator the weights belong to. Weights of another translator raise ``WeightsError``.
    ``precision``: "exact" (fp32) or "fast" (see :class:`ConvertSettings`).
    ``allow_downloads=False``: no network (see :func:`local_weights`).
    """
    if not allow_downloads:
        chosen = local_weights(name, weights)
        if weights is not None or name in manager.get_host().translators:
            weights = chosen
    return translator_recipe(name, weights, device=device, options=options, tile=tile,
                             tile_pad=tile_pad, seed=seed, precision=precision, compile=compile,
                             progress=progress,
                             should_stop=should_stop).load()


def train(plugin: str, data: str | Path | None, out: str | Path, *,
          options: dict[str, Any] | None = None,
          on_progress: Callable[[Any], None] | None = None,
          on_start: Callable[[Any], None] | None = None,
          should_stop: Callable[[], bool] | None = None, **settings: Any) -> Path:
    """Train translator ``plugin`` on ``data`` into the run folder ``out``; returns the final
    checkpoint folder, which ``load(plugin, weights=...)`` accepts. ``settings`` are the
    fields of ``imgtrans.training.task.TrainSettings`` (epochs, max_steps, batch_size, seed,
    device, save_every, resume, on_bad_data); leave out (or pass None) what you do not set.

    With ``resume=True`` the run continues as it was started: ``data`` (may be None),
    options, batch size and seed come from the run, and a different value given here is a
    ``UsageError``; ``epochs``, ``max_steps`` and ``save_every`` may change. Started by
    ``torchrun``, each process trains its share (``batch_size`` is per process) and rank 0
    writes. ``on_start`` and ``on_progress`` receive :class:`imgtrans.training.task.Progress`
    (before the first step, and after each); bad settings raise ``UsageError``, unusable data
    ``DataError``, before anything is written."""
    from imgtrans.training.session import run_training

    cls = manager.get_translator(plugin)
    if not cls.capabilities.training or cls.TrainOptions is None:
        raise PluginError(f"translator {plugin!r} does not support training")
    return run_training(cls, plugin, None if data is None else Path(data), Path(out),
                        options or {}, settings,
                        on_progress=on_progress or (lambda p: None),
                        on_start=on_start or (lambda p: None),
                        should_stop=should_stop or (lambda: False))


def plan(input: str | Path | Sequence[str | Path], output: str | Path,
         settings: ConvertSettings) -> Plan:
    """Which inputs would be converted, and which skipped because their outputs exist.
    ``input``: one file, folder or glob, or a list of them (see :func:`convert`)."""
    plugin = settings.plugin or translator_for_weights(settings.weights)
    cls = manager.get_translator(plugin)
    samples = cls.outputs_per_input(build_options(cls.Options, settings.options, translator=plugin))
    extra: dict[str, Any] = {"extensions": cls.input_extensions} if cls.input_extensions else {}
    if not cls.input_extensions and cls.capabilities.input_kind != "layout":
        from imgtrans.core.video import VideoOptions, parse_frames

        extra["video"] = VideoOptions(settings.video_codec, settings.crf, settings.pix_fmt,
                                      parse_frames(settings.frames), settings.same_noise)
    return discover_inputs(input, output, recursive=settings.recursive,
                           output_format=settings.output_format, suffix=settings.suffix,
                           overwrite=settings.overwrite, samples=samples, **extra)


def convert(input: str | Path | Sequence[str | Path], output: str | Path,
            settings: ConvertSettings | None = None, *,
            on_plan: Callable[[Plan], None] | None = None,
            on_start: Callable[[dict[str, Any]], None] | None = None,
            on_result: Callable[[ItemResult], None] | None = None,
            on_frames: Callable[[str, int, int], None] | None = None,
            stop: threading.Event | None = None, **kwargs: Any) -> RunReport:
    """Convert INPUT (file, folder or glob) into OUTPUT (file or folder).

    ``input`` may also be a list of these, as ``cp`` takes them
    (``convert(["a.jpg", "b.png", "shots/"], "out/")``): OUTPUT is then a folder; files land
    in it by name, a folder's files under ``out/<folder name>/``, a glob's relative to its
    fixed leading folder; a glob's extension matches in any case (``"*.jpg"`` finds
    ``IMG_1.JPG``).

    Give a :class:`ConvertSettings` or its fields as keyword arguments
    (``convert("in/", "out/", plugin="sketch", batch_size=4)``). Returns the run report;
    failed files are in it, not raised. ``on_start`` gets the translator's settings (weights,
    device, engine, batch size) once it is ready; ``on_result`` each item's result as soon as
    the item is finished, on the calling thread; ``on_frames(input, done, total)`` a
    video's frames done so far (``input`` as in its result), after each batch (each segment
    with ``engine="ray"``), on the calling thread too; with ``tile``, likewise a tiled
    image's tiles after each tile (with ``engine="ray"``: as the actors report them, at
    most every 0.2 s and the last tile always; a video is known by its plan item's
    ``video``).
    """
    from imgtrans import __version__
    from imgtrans.core.batching import parse_batch_size
    from imgtrans.core.stages import EngineSettings
    from imgtrans.engines import get_engine

    started = time.perf_counter()  # the wall time of the summary: everything, weights included
    settings = settings or ConvertSettings(**kwargs)
    settings = dataclasses.replace(settings, batch_size=parse_batch_size(settings.batch_size))
    engine = get_engine(settings.engine)  # before any work: a missing dependency is a usage error
    if settings.ray_address and settings.engine != "ray":
        raise UsageError("--ray-address is for --engine ray")
    if settings.precision not in ("exact", "fast"):
        raise UsageError(f"--precision {settings.precision!r}: choose exact or fast")
    if settings.color not in ("keep", "srgb"):
        raise UsageError(f"--color {settings.color!r}: choose keep or srgb")
    if not settings.allow_downloads:
        settings = dataclasses.replace(settings, weights=local_weights(settings.plugin, settings.weights))
    weights = None
    if settings.plugin is None:  # resolved once: identification and loading share what it read
        weights = resolve_weights_for(settings.weights, None, should_stop=stop.is_set if stop else None)
        settings = dataclasses.replace(settings, plugin=weights.owner if weights else None)
    if settings.seed is None:
        settings = dataclasses.replace(settings, seed=random.SystemRandom().randrange(2**31))
    # Fail on an unknown translator or option before scanning folders or loading a model.
    build_options(manager.get_translator(settings.plugin).Options, settings.options,
                  translator=settings.plugin)
    work = plan(input, output, settings)
    if on_plan:
        on_plan(work)
    report = RunReport(settings={"imgtrans": __version__, "input": _input_setting(input),
                                 "output": str(output), **dataclasses.asdict(settings)})
    report.items.extend(ItemResult(str(i.source), str(i.output), "skipped") for i in work.skipped)
    if settings.dry_run:
        report.items.extend(ItemResult(str(i.source), str(i.output), "planned") for i in work.todo)
        return report
    from imgtrans.core.stages import prepare_outputs

    prepare_outputs(work.todo + work.skipped)  # a killed run's temporary files, even when all is done
    if work.todo:
        if settings.compile is None:
            from imgtrans.core.compiling import worth_compiling

            from imgtrans.core.device import resolve_device

            settings = dataclasses.replace(settings, compile=worth_compiling(
                len(work.todo), settings.precision, resolve_device(settings.device)))
            report.settings["compile"] = settings.compile
        recipe = translator_recipe(settings.plugin, weights or settings.weights, device=settings.device,
                                   options=settings.options, tile=settings.tile,
                                   tile_pad=settings.tile_pad, seed=settings.seed,
                                   precision=settings.precision, compile=settings.compile,
                                   should_stop=stop.is_set if stop else None)
        record = None
        if settings.provenance and not settings.strip_metadata:
            from imgtrans.provenance import run_record

            record = run_record(settings, recipe)
            report.settings["provenance"] = record
        engine_settings = EngineSettings(batch_size=settings.batch_size, workers=settings.workers,
                                         max_pixels=settings.max_pixels,
                                         apply_exif=settings.apply_exif, quality=settings.quality,
                                         address=settings.ray_address,
                                         metadata=not settings.strip_metadata, provenance=record,
                                         color=settings.color)

        def ready(info: dict[str, Any]) -> None:
            report.settings["translator"] = info
            if on_start:
                on_start(info)

        report.items.extend(engine.run(work.todo, recipe, engine_settings, on_start=ready,
                                       on_result=on_result or (lambda r: None),
                                       on_frames=on_frames, stop=stop))
    report.interrupted = bool(stop and stop.is_set())
    report.wall_seconds = time.perf_counter() - started
    return report


def _input_setting(input: str | Path | Sequence[str | Path]) -> str | list[str]:
    """INPUT as the run report records it: a string, or a list for several inputs."""
    return str(input) if isinstance(input, (str, Path)) else [str(one) for one in input]
