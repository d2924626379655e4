"""Convert one video work item: frames stream from a decoder thread through the image
stages' :func:`~imgtrans.core.stages.translate_batch` (batches of consecutive frames, the
same preprocessing, precision, out-of-memory fallbacks and pixel limits as images) to an
encoder thread, segment by segment (:mod:`imgtrans.core.video.segments`).

Memory does not grow with the video's length: the queues between the threads are bounded.
A stop finishes the batch in flight and keeps the finished segments for the next run; a
failure (one clear reason naming the problem) leaves nothing at the output path.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from imgtrans.core import stages
from imgtrans.core.discover import WorkItem
from imgtrans.core.readers import DecodedImage
from imgtrans.core.report import ItemResult
from imgtrans.core.video import VideoTarget, frame_name, file_identity, work_folder
from imgtrans.core.video.segments import (Segment, frame_span, plan_segments,
                                          prepare_work_folder, remove_work_folder)
from imgtrans.core.video.source import Frame, VideoInfo, decode_frames, import_av, probe_video
from imgtrans.errors import ImgtransError, InputError, Stopped, UsageError

if TYPE_CHECKING:
    from imgtrans.core.batching import BatchSizer
    from imgtrans.core.runner import TranslatorRunner

log = logging.getLogger(__name__)

QUEUE_FRAMES = 8
"""Decoded frames waiting for the translator, and translated ones waiting for the encoder,
beyond one batch."""

Progress = Callable[[str, int, int], None]
"""``(input, frames done, frames in total)`` after each batch; ``input`` is the video's path
as its result's ``ItemResult.input`` gives it."""


def convert_video(item: WorkItem, runner: TranslatorRunner, sizer: BatchSizer,
                  settings: stages.EngineSettings, stop: threading.Event,
                  on_frames: Progress | None = None) -> ItemResult:
    """Convert ``item`` (a work item with ``item.video``) with ``runner``; its result."""
    target: VideoTarget = item.video
    started = time.perf_counter()
    frames = FrameTranslator(item, runner, sizer, settings, stop, on_frames)
    try:
        if item.samples != 1:
            raise InputError(item.source, "several samples per input cannot be made from a video")
        if target.source == "animation":
            from imgtrans.core.video.animated import convert_animation

            written = convert_animation(item, frames)
        else:
            written = _convert(item, frames)
    except Exception as exc:
        return unfinished(item, exc)
    return finished(item, started, written)


def finished(item: WorkItem, started: float, facts: dict[str, Any]) -> ItemResult:
    """A converted video's result (``started``: its ``time.perf_counter()`` at the start)."""
    return ItemResult(str(item.source), str(item.output), "done", None,
                      round(time.perf_counter() - started, 4), None, facts)


def unfinished(item: WorkItem, exc: Exception) -> ItemResult:
    """A video's result after ``exc``: interrupted by a stop, or failed with one reason."""
    if isinstance(exc, Stopped):
        return stages.interrupted(item)
    log.debug("video failed", exc_info=exc)
    if isinstance(exc, (InputError, UsageError)):
        return stages.failed(item, exc.reason if isinstance(exc, InputError) else str(exc))
    # an encoder or muxer refusing: the item fails alone
    return stages.failed(item, f"{type(exc).__name__}: {exc}")


class FrameTranslator:
    """Decoded frames of one item -> translated pixels, in order, in batches. ``stop`` is
    anything with ``is_set()``; ``done`` and ``total`` count frames for ``on_frames``."""

    def __init__(self, item: WorkItem, runner: TranslatorRunner, sizer: BatchSizer,
                 settings: stages.EngineSettings, stop: threading.Event,
                 on_frames: Progress | None) -> None:
        self.item, self.runner, self.sizer, self.settings = item, runner, sizer, settings
        self.stop, self.on_frames = stop, on_frames
        self.done = 0
        self.total = 0

    def translate(self, frames: Iterable[Frame], bit_depth: int) -> Iterator[tuple[Frame, Any]]:
        """(frame, translated pixels) for each of ``frames``, decoded in a background thread."""
        options = self.item.video.options
        batch: list[Frame] = []
        for frame in prefetch(frames, QUEUE_FRAMES, self.stop):
            batch.append(frame)
            if len(batch) >= self.sizer.size_for(_key(frame, bit_depth)):
                yield from self._run(batch, bit_depth, options)
                batch = []
        if batch:
            yield from self._run(batch, bit_depth, options)

    def _run(self, batch: list[Frame], bit_depth: int, options: Any) -> Iterator[tuple[Frame, Any]]:
        if self.stop.is_set():
            raise Stopped("stopped")
        loaded = [stages.Loaded(WorkItem(self.item.source, self.item.output,
                                         frame_name(self.item.name, f.index, options)),
                                DecodedImage(f.pixels, bit_depth, "video"), 0.0) for f in batch]
        outcomes = stages.translate_batch(loaded, self.runner, self.sizer)
        for frame, outcome in zip(batch, outcomes):
            if isinstance(outcome, ItemResult):
                if outcome.status == "interrupted":
                    raise Stopped("stopped")
                raise InputError(self.item.source, f"frame {frame.index}: {outcome.error}")
            self.done += 1
            yield frame, outcome.pixels[0]
        if self.on_frames:
            self.on_frames(str(self.item.source), self.done, self.total)


def _key(frame: Frame, bit_depth: int) -> tuple:
    return (frame.pixels.shape[0], frame.pixels.shape[1], 3, bit_depth)


def _convert(item: WorkItem, frames: FrameTranslator) -> dict[str, Any]:
    """A PyAV-decoded video to a video file or a folder of frames."""
    av = import_av()
    info, span, segments, facts = plan_video(item, frames.settings.max_pixels)
    frames.total = facts["frames"]
    if item.video.kind == "frames":
        from imgtrans.core.video.frames import write_frames

        write_frames(item, info, span, frames)
        return facts
    folder = work_folder(item.output)
    finished = prepare_work_folder(folder, segment_plan(item, span, segments,
                                                        translator_fingerprint(frames.runner)))
    frames.done = sum(s.frames for s in segments if s.file_name in finished)
    encoder = None
    for segment in segments:
        if segment.file_name not in finished:
            encoder = encode_segment(av, item, info, segment, frames, encoder)
    return {**facts, **join_segments(av, item, info, span, segments, encoder)}


def plan_video(item: WorkItem, max_pixels: int) -> tuple[VideoInfo, tuple[int, int | None],
                                                         list[Segment], dict[str, Any]]:
    """Probe ``item``'s video and cut its frames (within ``--frames``) into segments: (info,
    span, segments, the facts that go into its result). ``InputError`` for a bad video."""
    info = probe_video(item.source, max_pixels)
    try:
        span = frame_span(info, item.video.options.frames)
    except ValueError as exc:
        raise InputError(item.source, str(exc)) from None
    segments = plan_segments(info, span)
    facts = {"frames": sum(s.frames for s in segments), "time_base": str(info.time_base),
             "rotation": info.rotation, "input_codec": info.codec, "input_pix_fmt": info.pix_fmt,
             "copied_streams": info.other_streams, "segments": len(segments)}
    return info, span, segments, facts


def segment_plan(item: WorkItem, span: tuple[int, int | None], segments: list[Segment],
                 fingerprint: str) -> dict[str, Any]:
    """What a work folder's segments are made from (its ``plan.json``): a resume reuses them
    only when this is unchanged."""
    return {"input": file_identity(item.source), "span": list(span),
            "segments": [[s.first, s.stop] for s in segments],
            "options": item.video.options.__dict__, "translator": fingerprint}


def encode_segment(av: Any, item: WorkItem, info: VideoInfo, segment: Segment, frames: FrameTranslator,
                   encoder: Any = None) -> Any:
    """Decode, translate and encode ``segment`` into its file in the work folder; returns the
    encoder (chosen from the first result when ``encoder`` is None). The file is the same
    whichever process makes it."""
    from imgtrans.core.video.encode import SegmentWriter, choose_encoder

    folder = work_folder(item.output)
    ext = item.output.suffix.lstrip(".").lower()
    writer = None
    count = 0
    try:
        decoded = decode_frames(item.source, info, segment.first, segment.stop)
        with Background(lambda job: job[0].add(*job[1:]), QUEUE_FRAMES) as encoding:
            for frame, pixels in frames.translate(decoded, info.bit_depth):
                if writer is None:
                    height, width = pixels.shape[:2]
                    deep = 16 if pixels.dtype.itemsize == 2 else 8
                    encoder = encoder or choose_encoder(av, ext, info, width, height, deep,
                                                        item.video.options)
                    writer = SegmentWriter(av, folder / segment.file_name, encoder, info,
                                           width, height)
                encoding.put((writer, pixels, frame.pts, frame.duration))
                count += 1
        if count != segment.frames:
            raise InputError(item.source, f"decoded {count} of the {segment.frames} frames "
                                          f"from timestamp {segment.first} on: the video "
                                          "is damaged or truncated there")
        writer.finish()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    return encoder


def join_segments(av: Any, item: WorkItem, info: VideoInfo, span: tuple[int, int | None],
                  segments: list[Segment], encoder: Any = None) -> dict[str, Any]:
    """Join the finished segments with the input's other streams into ``item.output``
    (atomically) and remove the work folder; the effective encoding settings."""
    from imgtrans.core.video.encode import join

    folder = work_folder(item.output)
    if encoder is None:  # every segment was finished by an earlier run (or elsewhere)
        encoder = _encoder_of(av, folder / segments[0].file_name)
    try:
        temp = folder / f"joined.tmp{item.output.suffix}"
        join(av, item.source, info, [folder / s.file_name for s in segments], temp,
             None if item.video.options.frames is None else span)
        item.output.parent.mkdir(parents=True, exist_ok=True)
        temp.replace(item.output)
    except (InputError, Stopped):
        raise
    except Exception as exc:
        raise InputError(item.source, f"cannot write {item.output.name}: {exc}") from None
    remove_work_folder(folder)
    return encoder.describe() if hasattr(encoder, "describe") else encoder


def _encoder_of(av: Any, segment: Path) -> dict[str, Any]:
    with av.open(str(segment)) as container:
        ctx = container.streams.video[0].codec_context
        return {"video_codec": ctx.name, "pix_fmt": ctx.pix_fmt}


def translator_fingerprint(runner: TranslatorRunner) -> str:
    """What of the translator a segment's pixels depend on (for :func:`segment_plan`)."""
    config = runner.translator.config()
    return json.dumps([config, runner.seed, runner.precision.description, runner.tile,
                       runner.tile_pad], sort_keys=True, default=str)


_END = object()


def prefetch(items: Iterable[Any], size: int, stop: threading.Event) -> Iterator[Any]:
    """``items`` produced by a background thread, at most ``size`` ahead; its exceptions are
    raised here. Closing the iterator (or a stop) ends the thread."""
    buffer: queue.Queue = queue.Queue(size)
    quit = threading.Event()

    def produce() -> None:
        try:
            for value in items:
                while not _put(buffer, (value, None), quit):
                    if quit.is_set():
                        return
                if quit.is_set() or stop.is_set():
                    break
            _put(buffer, (_END, None), quit)
        except BaseException as exc:  # handed to the consumer
            _put(buffer, (_END, exc), quit)
        finally:
            close = getattr(items, "close", None)
            if close:
                close()

    thread = threading.Thread(target=produce, name="imgtrans-video-decode", daemon=True)
    thread.start()
    try:
        while True:
            value, error = buffer.get()
            if error is not None:
                raise error
            if value is _END:
                return
            yield value
    finally:
        quit.set()
        thread.join()


def _put(buffer: queue.Queue, value: Any, quit: threading.Event) -> bool:
    while not quit.is_set():
        try:
            buffer.put(value, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


class Background:
    """``work(job)`` for each ``put`` job, in order, on one background thread (the encoder),
    at most ``size`` jobs behind. Leaving the ``with`` block waits for the jobs and raises
    the first error one of them raised."""

    def __init__(self, work: Callable[[Any], None], size: int) -> None:
        self.work, self.jobs = work, queue.Queue(size)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._loop, name="imgtrans-video-encode", daemon=True)

    def __enter__(self) -> "Background":
        self.thread.start()
        return self

    def put(self, job: Any) -> None:
        if self.error is not None:
            raise self.error
        self.jobs.put(job)

    def _loop(self) -> None:
        while True:
            job = self.jobs.get()
            if job is _END:
                return
            if self.error is None:
                try:
                    self.work(job)
                except BaseException as exc:
                    self.error = exc

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        self.jobs.put(_END)
        self.thread.join()
        if exc is None and self.error is not None:
            raise self.error if isinstance(self.error, ImgtransError) else \
                InputError("", f"cannot encode: {type(self.error).__name__}: {self.error}")
