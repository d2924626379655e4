"""Videos on Ray: keyframe segments are the unit of parallelism.

The driver probes each video and cuts it into segments (:func:`~imgtrans.core.video.job.plan_video`),
keeps the segments an earlier run finished (the same work folder and ``plan.json`` as the
local engine), and hands the others to a pool of actors, each of which loaded the translator
once and converts a segment with :func:`~imgtrans.core.video.job.encode_segment` into its
file in the work folder. When a video's segments are all there, the driver joins them
(:func:`~imgtrans.core.video.job.join_segments`). A segment's file does not depend on which
process made it, so the output is the local engine's, byte for byte; the nodes must see the
input and output folders under the same paths.

Videos written as folders of frames or as animations (GIF/WebP/APNG) are not cut into
segments: they are converted on the driver with the local engine.
"""

from __future__ import annotations

import pickle
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from imgtrans.core import stages
from imgtrans.core.batching import BatchSizer
from imgtrans.core.discover import WorkItem
from imgtrans.core.report import ItemResult
from imgtrans.core.stages import EngineSettings
from imgtrans.core.video import work_folder
from imgtrans.core.video.job import (FrameTranslator, Progress, encode_segment, finished,
                                     join_segments, plan_video, segment_plan,
                                     translator_fingerprint, unfinished)
from imgtrans.core.video.segments import prepare_work_folder
from imgtrans.core.video.source import import_av
from imgtrans.engines.ray_channel import StopFlag


def in_segments(item: WorkItem) -> bool:
    """Whether ``item`` is converted segment by segment on the actors (a video decoded and
    encoded by PyAV), not on the driver."""
    return item.video is not None and item.video.kind == "video" and item.video.source == "video"


@dataclass
class _Video:
    """One video being converted: its plan, and the segments not back yet."""

    item: WorkItem
    plan: tuple
    started: float
    waiting: int
    done_frames: int
    encoder: Any = None
    result: ItemResult | None = None
    running: set = field(default_factory=set)


def run(ray: Any, videos: list[WorkItem], recipe: Any, settings: EngineSettings,
        placement: tuple[str, float, int, int], flag: Any, stop: threading.Event,
        on_result: Callable[[ItemResult], None],
        on_frames: Progress | None = None) -> dict[WorkItem, ItemResult]:
    """Convert ``videos`` (all :func:`in_segments`) on a pool of actors; their results,
    each given to ``on_result`` as soon as the video is joined or has failed."""
    device, gpus, cpus, count = placement
    actor_class = ray.remote(num_cpus=cpus, num_gpus=gpus)(_SegmentActor)
    blob = pickle.dumps(recipe)
    actors = [actor_class.remote(blob, settings, device, flag) for _ in range(count)]
    try:
        return _convert(ray, videos, settings, actors, stop, on_result, on_frames)
    finally:  # their resources are free for what comes next
        for actor in actors:
            ray.kill(actor)


def _convert(ray: Any, videos: list[WorkItem], settings: EngineSettings, actors: list[Any],
             stop: threading.Event, on_result: Callable[[ItemResult], None],
             on_frames: Progress | None) -> dict[WorkItem, ItemResult]:
    from imgtrans.engines.ray import _Failure

    fingerprint = ray.get(actors[0].fingerprint.remote())
    if isinstance(fingerprint, _Failure):
        raise fingerprint.error()
    results: dict[WorkItem, ItemResult] = {}

    def report(video: _Video, result: ItemResult) -> None:
        video.result = results[video.item] = result
        on_result(result)

    queue: deque = deque()
    for item in videos:
        try:
            info, span, segments, facts = plan_video(item, settings.max_pixels)
            done = prepare_work_folder(work_folder(item.output),
                                       segment_plan(item, span, segments, fingerprint))
        except Exception as exc:
            results[item] = unfinished(item, exc)
            on_result(results[item])
            continue
        todo = [s for s in segments if s.file_name not in done]
        video = _Video(item, (info, span, segments, facts), time.perf_counter(), len(todo),
                       sum(s.frames for s in segments if s.file_name in done))
        queue.extend((video, segment) for segment in todo)
        if not todo:
            _join(video, report)
    idle = list(actors)
    running: dict[Any, tuple[Any, _Video, Any]] = {}
    while queue or running:
        while queue and idle and not stop.is_set():
            video, segment = queue.popleft()
            if video.result is not None:  # failed meanwhile: its other segments are not made
                continue
            actor = idle.pop()
            ref = actor.convert.remote(pickle.dumps(video.item), video.plan[0], segment)
            running[ref] = (actor, video, segment)
        if not running:
            break
        ready, _ = ray.wait(list(running), num_returns=1, timeout=0.5)
        for ref in ready:
            actor, video, segment = running.pop(ref)
            idle.append(actor)
            outcome = ray.get(ref)
            if isinstance(outcome, _Failure):
                raise outcome.error()
            if video.result is not None:
                continue
            if isinstance(outcome, ItemResult):  # failed or interrupted: the video with it
                report(video, outcome)
                continue
            video.encoder, video.waiting = video.encoder or outcome, video.waiting - 1
            video.done_frames += segment.frames
            if on_frames:
                on_frames(str(video.item.source), video.done_frames, video.plan[3]["frames"])
            if video.waiting == 0:
                _join(video, report)
    for item in videos:
        results.setdefault(item, stages.interrupted(item))
    return results


def _join(video: _Video, report: Callable[[_Video, ItemResult], None]) -> None:
    info, span, segments, facts = video.plan
    try:
        described = join_segments(import_av(), video.item, info, span, segments, video.encoder)
    except Exception as exc:
        report(video, unfinished(video.item, exc))
        return
    report(video, finished(video.item, video.started, {**facts, **described}))


class _SegmentActor:
    """Loads the translator once; converts segments of videos into their work folders.

    Loading and every segment run on one translator thread of the actor, as in the local
    engine (:func:`~imgtrans.engines.local.translator_thread`): forwards on a process's main
    thread can run several times slower (glibc's main malloc arena; bench/RESULTS.md,
    "Videos on --engine ray")."""

    def __init__(self, recipe: bytes, settings: EngineSettings, device: str, flag: Any) -> None:
        from imgtrans.engines.local import translator_thread
        from imgtrans.engines.ray import _Failure

        self.settings, self.stop, self.failure = settings, StopFlag(flag), None
        self.worker = translator_thread()
        try:
            self.runner = self.worker.submit(lambda: pickle.loads(recipe).load(device).runner).result()
        except Exception as exc:  # reported by the driver, with the local engine's exit code
            self.failure = _Failure.of(exc)
            return
        self.runner.should_stop = self.stop.is_set  # a stop reaches into a batch
        self.sizer = BatchSizer.of(settings.batch_size, self.runner.device, self.runner.translator.capabilities)

    def fingerprint(self) -> Any:
        return self.failure or translator_fingerprint(self.runner)

    def convert(self, item_blob: bytes, info: Any, segment: Any) -> Any:
        """The segment's encoder (done), an ``ItemResult`` (failed, interrupted) or the
        failure to load the translator."""
        if self.failure is not None:
            return self.failure
        return self.worker.submit(self._convert, item_blob, info, segment).result()

    def _convert(self, item_blob: bytes, info: Any, segment: Any) -> Any:
        item = pickle.loads(item_blob)
        self.runner.keep_weight_casts()
        frames = FrameTranslator(item, self.runner, self.sizer, self.settings, self.stop, None)
        try:
            return encode_segment(import_av(), item, info, segment, frames)
        except Exception as exc:
            return unfinished(item, exc)
