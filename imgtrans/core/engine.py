"""The batch engine: read in threads, batch by size, translate, write in threads.

Errors are values: every work item ends as an :class:`ItemResult`. One bad file never stops
the run, and never fails another: a batch whose forward pass raises is run again image by
image, and only the images that fail alone are failed. A ``stop`` event (set on Ctrl-C)
lets the batch in flight finish and be written; the remaining items are reported as
interrupted. Paths come from the plan and are written exactly (no late format fallback).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from imgtrans.core.discover import WorkItem
from imgtrans.core.display import bounded
from imgtrans.core.readers import DecodedImage, check_input_file, max_file_bytes, read_image
from imgtrans.core.report import ItemResult
from imgtrans.core.runner import TranslatorRunner
from imgtrans.core.writers import encode_image, fit_pixels, remove_stale_temps, write_atomic
from imgtrans.errors import InputError

log = logging.getLogger(__name__)


@dataclass
class EngineSettings:
    """How the engine schedules work; none of these change any image's result."""

    batch_size: int = 1
    workers: int = min(4, os.cpu_count() or 1)
    max_pixels: int = 178_956_970
    apply_exif: bool = True
    quality: int = 95


@dataclass
class _Pending:
    item: WorkItem
    image: DecodedImage
    seconds: float


def run_items(items: list[WorkItem], runner: TranslatorRunner, settings: EngineSettings, *,
              on_result: Callable[[ItemResult], None] = lambda r: None,
              stop: threading.Event | None = None) -> list[ItemResult]:
    """Convert ``items`` with ``runner``; returns one result per item, in input order."""
    stop = stop or threading.Event()
    _remove_stale_temps(items)
    results: dict[WorkItem, ItemResult] = {}
    batch_size = max(1, settings.batch_size)
    window = max(2 * batch_size, 2 * settings.workers)

    def record(result: ItemResult, item: WorkItem) -> None:
        results[item] = result
        on_result(result)

    with ThreadPoolExecutor(settings.workers, thread_name_prefix="imgtrans-read") as readers, \
            ThreadPoolExecutor(settings.workers, thread_name_prefix="imgtrans-write") as writers:
        queue = iter(items)
        reads: deque[tuple[WorkItem, Future]] = deque()
        buckets: dict[tuple, list[_Pending]] = {}
        writes: list[tuple[WorkItem, Future]] = []

        def top_up() -> None:
            while len(reads) < window and not stop.is_set():
                item = next(queue, None)
                if item is None:
                    return
                reads.append((item, readers.submit(_timed_read, item.source, settings, runner)))

        def flush(key: tuple) -> None:
            batch = buckets.pop(key)
            for item, future in _translate_batch(batch, runner, settings, writers, record):
                writes.append((item, future))

        top_up()
        while reads and not stop.is_set():
            item, future = reads.popleft()
            try:
                image, seconds = future.result()
            except Exception as exc:  # InputError, or a translator's read_input raising anything
                log.debug("reading failed", exc_info=not isinstance(exc, InputError))
                record(_failed(item, exc.reason if isinstance(exc, InputError) else
                               f"cannot read: {type(exc).__name__}: {exc}"), item)
                top_up()
                continue
            key = _bucket(image)
            buckets.setdefault(key, []).append(_Pending(item, image, seconds))
            if len(buckets[key]) >= batch_size:
                flush(key)
            elif sum(len(b) for b in buckets.values()) > window:
                flush(max(buckets, key=lambda k: len(buckets[k])))
            top_up()
        if not stop.is_set():
            for key in list(buckets):
                flush(key)
        for item, future in writes:
            record(future.result(), item)
        for item, future in reads:
            future.cancel()
    for item in items:
        if item not in results:
            record(ItemResult(str(item.source), str(item.output), "interrupted"), item)
    return [results[item] for item in items]


def _remove_stale_temps(items: list[WorkItem]) -> None:
    """Temporary files of a killed earlier run, in the folders this run writes to."""
    started = time.time()
    folders = {out.parent for item in items for out in item.outputs}
    removed = sum(remove_stale_temps(folder, started) for folder in sorted(folders))
    if removed:
        log.info("removed %d temporary file(s) left by an interrupted run", removed)


def _failed(item: WorkItem, reason: str) -> ItemResult:
    return ItemResult(str(item.source), str(item.output), "failed", bounded(reason))


def _timed_read(path: Path, settings: EngineSettings, runner: TranslatorRunner) -> tuple[Any, float]:
    """An image (``DecodedImage``), or for translators of other input kinds (layouts...)
    whatever their ``read_input`` parses, once the file is known to be a regular one of
    bounded size."""
    start = time.perf_counter()
    if runner.takes_images:
        loaded = read_image(path, max_pixels=settings.max_pixels, apply_exif=settings.apply_exif)
    else:
        check_input_file(path, max_file_bytes(settings.max_pixels))
        loaded = runner.translator.read_input(path)
    return loaded, time.perf_counter() - start


def _bucket(loaded: Any) -> tuple:
    """Items that may share a forward pass: images of one size and layout; any other input."""
    if isinstance(loaded, DecodedImage):
        return (loaded.height, loaded.width, loaded.channels, loaded.bit_depth)
    return ("input",)


def _translate_batch(batch: list[_Pending], runner: TranslatorRunner, settings: EngineSettings,
                     writers: ThreadPoolExecutor,
                     record: Callable[[ItemResult, WorkItem], None]) -> list[tuple[WorkItem, Future]]:
    """Translate one same-size batch and queue its writes. When the batch fails, each image
    is tried alone (results are batch-invariant), so one bad image fails only itself."""
    start = time.perf_counter()
    try:
        outputs = _forward(batch, runner)
    except Exception as exc:  # e.g. out of memory, or one image the translator rejects
        log.debug("translation failed", exc_info=True)
        if len(batch) == 1:
            record(_failed(batch[0].item, f"translation failed: {type(exc).__name__}: {exc}"),
                   batch[0].item)
            return []
        log.info("a batch of %d failed (%s); trying its images one by one", len(batch),
                 type(exc).__name__)
        return [queued for p in batch
                for queued in _translate_batch([p], runner, settings, writers, record)]
    share = (time.perf_counter() - start) / len(batch)
    per_item = len(outputs) // len(batch)
    return [(p.item, writers.submit(_write, p, outputs[i * per_item:(i + 1) * per_item], share, settings))
            for i, p in enumerate(batch)]


def _forward(batch: list[_Pending], runner: TranslatorRunner) -> list[np.ndarray]:
    names = [p.item.name for p in batch]
    if runner.takes_images:
        bit_depth = batch[0].image.bit_depth
        return runner.run_arrays([p.image.pixels for p in batch], bit_depth, names,
                                 out_bit_depth=bit_depth)
    return runner.run_inputs([p.image for p in batch], names)


def _write(pending: _Pending, results: list[np.ndarray], seconds: float,
           settings: EngineSettings) -> ItemResult:
    """Write an item's result (or its samples) to the planned ``item.outputs``, fitting the
    pixels to the planned format; all or nothing per file."""
    item = pending.item
    start = time.perf_counter()
    written = []
    for pixels, target in zip(results, item.outputs):
        ext = target.suffix.lstrip(".").lower()
        try:
            write_atomic(target, encode_image(fit_pixels(pixels, ext), ext, quality=settings.quality))
        except Exception as exc:
            return ItemResult(str(item.source), str(target), "failed",
                              bounded(f"cannot write: {exc}"))
        written.append(str(target))
    total = pending.seconds + seconds + time.perf_counter() - start
    return ItemResult(str(item.source), written[0], "done", None, round(total, 4),
                      written if len(written) > 1 else None)
