"""The stages of a conversion, shared by every engine: decode one item, translate a batch of
decoded items, write one translated item.

An engine only schedules these (threads in this process, or tasks and actors on a Ray
cluster); what happens to an image is decided here, so the engines cannot disagree. Planning
(discovery, output names, skip-existing) happens before, in :mod:`imgtrans.core.discover`.

Errors are values: each stage returns an :class:`ItemResult` for an item it gives up on, and
the others go on. A batch whose forward pass fails is run again image by image, so one bad
image fails only itself; a batch that runs out of memory is split in halves, and a single
image that still does not fit is tiled (see :mod:`imgtrans.core.batching`). Paths come from
the plan and are written exactly, each file all or nothing.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Union

import numpy as np

from imgtrans.core.batching import AUTO, BatchSizer, is_out_of_memory, release_memory
from imgtrans.core.discover import WorkItem
from imgtrans.core.display import bounded
from imgtrans.core.input_files import check_input_file, max_file_bytes
from imgtrans.core.metadata import ImageMetadata
from imgtrans.core.metadata_embed import embed
from imgtrans.core.readers import DecodedImage, read_image
from imgtrans.core.report import ItemResult
from imgtrans.core.writers import (encode_buffer, fit_pixels, remove_stale_temps, write_atomic,
                                   write_pixels)
from imgtrans.core import budget
from imgtrans.errors import InputError, Stopped

if TYPE_CHECKING:  # decode and write workers never import torch
    from imgtrans.core.runner import TranslatorRunner

log = logging.getLogger(__name__)


@dataclass
class EngineSettings:
    """How an engine schedules work; none of these change any image's result."""

    batch_size: int | str = AUTO
    workers: int = min(4, os.cpu_count() or 1)
    max_pixels: int = 178_956_970
    apply_exif: bool = True
    quality: int = 95
    address: str | None = None
    """The cluster a distributed engine joins; None: one started on this machine."""
    metadata: bool = True
    """Carry each input's EXIF, ICC, XMP and PNG text into its outputs (False: write none)."""
    provenance: dict[str, Any] | None = None
    """The run's part of each output's provenance record (translator, weights, options,
    seed...); None: no record is written. Each item adds its input's name and sha256."""
    color: str = "keep"
    """"keep" the stored values and the ICC profile, or convert inputs to "srgb"."""


@dataclass
class Loaded:
    """A decoded input: a :class:`DecodedImage`, or what a translator's ``read_input``
    parsed (layouts...)."""

    item: WorkItem
    data: Any
    seconds: float


@dataclass
class Translated:
    """An item's result pixels (one array per planned output), not yet written."""

    item: WorkItem
    pixels: list[np.ndarray]
    seconds: float
    metadata: ImageMetadata | None = None
    """The input's metadata, carried to the writer beside the pixels."""


Outcome = Union[Translated, ItemResult]


def prepare_outputs(items: list[WorkItem]) -> None:
    """Remove temporary files of a killed earlier run, in the folders this run writes to."""
    started = time.time()
    folders = {out.parent for item in items for out in item.outputs}
    removed = sum(remove_stale_temps(folder, started) for folder in sorted(folders))
    if removed:
        log.info("removed %d temporary file(s) left by an interrupted run", removed)


def failed(item: WorkItem, reason: str, target: Path | None = None) -> ItemResult:
    return ItemResult(str(item.source), str(target or item.output), "failed", bounded(reason))


def interrupted(item: WorkItem) -> ItemResult:
    return ItemResult(str(item.source), str(item.output), "interrupted")


def decode(item: WorkItem, settings: EngineSettings,
           read_input: Callable[[Path], Any] | None = None) -> Loaded | ItemResult:
    """Read ``item``: an image, or with ``read_input`` (translators of other input kinds)
    whatever that parses, once the file is known to be a regular one of bounded size."""
    start = time.perf_counter()
    try:
        if read_input is None:
            data = read_image(item.source, max_pixels=settings.max_pixels,
                              apply_exif=settings.apply_exif,
                              metadata=(settings.metadata or settings.provenance is not None
                                        or settings.color != "keep"))
            if settings.color == "srgb":
                from imgtrans.core.colour import to_srgb

                data = to_srgb(data, item.source)
            for warning in data.metadata.warnings if data.metadata else ():
                log.warning("%s: %s", item.source, warning)
        else:
            check_input_file(item.source, max_file_bytes(settings.max_pixels))
            data = read_input(item.source)
    except Exception as exc:  # InputError, or a translator's read_input raising anything
        log.debug("reading failed", exc_info=not isinstance(exc, InputError))
        return failed(item, exc.reason if isinstance(exc, InputError) else
                      f"cannot read: {type(exc).__name__}: {exc}")
    return Loaded(item, data, time.perf_counter() - start)


def batch_key(data: Any) -> tuple:
    """Inputs that may share a forward pass: images of one size and layout; other inputs
    (parsed by ``read_input``) by their own ``batch_key`` attribute when they have one."""
    if isinstance(data, DecodedImage):
        return (data.height, data.width, data.channels, data.bit_depth)
    return ("input", getattr(data, "batch_key", None))


def translate_batch(batch: list[Loaded], runner: TranslatorRunner, sizer: BatchSizer,
                    max_pixels: int | None = None) -> list[Outcome]:
    """Translate same-key ``batch``; one outcome per item, in order. With ``max_pixels``,
    images whose result would be larger, or that would not fit in memory, fail before
    running (:mod:`imgtrans.core.budget`); a stop (``runner.should_stop``) leaves the batch
    interrupted."""
    data = batch[0].data
    if max_pixels is not None and isinstance(data, DecodedImage):
        shape = (data.height, data.width, data.channels)
        reason = budget.refusal(runner, *shape, max_pixels)
        if reason is not None:
            return [failed(one.item, reason) for one in batch]
        if len(batch) > 1 and not budget.fits(runner, *shape, len(batch)):
            return [out for one in batch for out in translate_batch([one], runner, sizer, max_pixels)]
    key = batch_key(data)
    tile = sizer.tile_for(key)
    start = time.perf_counter()
    try:
        outputs = sizer.run(key, len(batch), lambda: _forward(batch, runner, tile))
    except Stopped:
        return [interrupted(one.item) for one in batch]
    except Exception as exc:  # out of memory, or an image the translator rejects
        log.debug("translation failed", exc_info=True)
        if is_out_of_memory(exc):
            return _after_out_of_memory(batch, runner, sizer, key, tile or runner.tile, exc)
        if len(batch) == 1:
            return [failed(batch[0].item, f"translation failed: {type(exc).__name__}: {exc}")]
        log.info("a batch of %d failed (%s); trying its images one by one", len(batch),
                 type(exc).__name__)
        return [out for one in batch for out in translate_batch([one], runner, sizer, max_pixels)]
    share = (time.perf_counter() - start) / len(batch)
    per_item = len(outputs) // len(batch)
    return [Translated(one.item, outputs[i * per_item:(i + 1) * per_item], one.seconds + share,
                       getattr(one.data, "metadata", None))
            for i, one in enumerate(batch)]


def _after_out_of_memory(batch: list[Loaded], runner: TranslatorRunner, sizer: BatchSizer,
                         key: tuple, tile: int, exc: Exception) -> list[Outcome]:
    """Halve the batch; for a single image, try smaller tiles; then give up on it."""
    release_memory(runner.device)
    if len(batch) > 1:
        log.info("out of memory with %d images of %s; trying %d at a time", len(batch),
                 _size_text(key), sizer.shrink(key, len(batch)))
        outcomes: list[Outcome] = []
        while batch:  # the size may shrink again on the way
            size = sizer.size_for(key)
            outcomes += translate_batch(batch[:size], runner, sizer)
            batch = batch[size:]
        return outcomes
    data = batch[0].data
    smaller = (sizer.smaller_tile(key, data.height, data.width, tile)
               if runner.can_tile and isinstance(data, DecodedImage) else None)
    if smaller is not None:
        log.info("out of memory on one image of %s; trying tiles of %d pixels", _size_text(key),
                 smaller)
        return translate_batch(batch, runner, sizer)
    hint = " even in tiles" if tile else ""
    return [failed(batch[0].item, f"out of memory{hint}: {type(exc).__name__}: {exc}")]


def _size_text(key: tuple) -> str:
    return f"{key[1]}x{key[0]}" if len(key) == 4 else "this kind"


def _forward(batch: list[Loaded], runner: TranslatorRunner, tile: int | None) -> list[np.ndarray]:
    names = [one.item.name for one in batch]
    if runner.takes_images:
        bit_depth = batch[0].data.bit_depth
        return runner.run_arrays([one.data.pixels for one in batch], bit_depth, names,
                                 out_bit_depth=bit_depth, tile=tile)
    return runner.run_inputs([one.data for one in batch], names)


def write(done: Translated, settings: EngineSettings) -> ItemResult:
    """Write an item's result (or its samples) to the planned ``item.outputs``, fitting the
    pixels to the planned format; all or nothing per file."""
    item = done.item
    start = time.perf_counter()
    written = []
    meta = done.metadata if settings.metadata else None
    for sample, (pixels, target) in enumerate(zip(done.pixels, item.outputs)):
        ext = target.suffix.lstrip(".").lower()
        if pixels.shape[0] * pixels.shape[1] > settings.max_pixels:
            return failed(item, f"the result is {pixels.shape[1]}×{pixels.shape[0]} pixels, more "
                                f"than the limit of {settings.max_pixels} (--max-pixels)", target)
        provenance = _provenance(settings, done, sample)
        try:  # the result is written once and then dropped: encode it in place
            fitted = fit_pixels(pixels, ext)
            if meta is None and provenance is None:
                write_pixels(target, fitted, quality=settings.quality, reuse_pixels=True)
            else:  # metadata is added to the encoded file
                height, width = fitted.shape[:2]
                channels = 1 if fitted.ndim == 2 else fitted.shape[2]
                encoded = encode_buffer(fitted, ext, quality=settings.quality,
                                        reuse_pixels=True).tobytes()
                write_atomic(target, embed(encoded, ext, meta, provenance, width, height, channels))
        except Exception as exc:
            return failed(item, f"cannot write: {exc}", target)
        written.append(str(target))
    total = done.seconds + time.perf_counter() - start
    return ItemResult(str(item.source), written[0], "done", None, round(total, 4),
                      written if len(written) > 1 else None,
                      input_sha256=done.metadata.sha256 if done.metadata else None)


def _provenance(settings: EngineSettings, done: Translated, sample: int) -> dict[str, Any] | None:
    """The record written into one output: the run's part plus this input's name, sha256
    and (several samples per input) the sample's index."""
    if settings.provenance is None:
        return None
    record = dict(settings.provenance)
    record["input"] = {"name": done.item.name,
                       "sha256": done.metadata.sha256 if done.metadata else None}
    if len(done.item.outputs) > 1:
        record["sample"] = sample
    return record
